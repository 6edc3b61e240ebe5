"""JSONL lines, encoded from the result structs in C, against ``json.dumps(row.to_dict())``.

The structs declare their fields in the order ``to_dict`` writes them and leave out, when
empty, exactly the fields ``to_dict`` leaves out (``result.py``): so each line, read back and
written with ``json.dumps``, is byte for byte what ``to_dict`` gives, on every bundled rules
file and example profile, on the benchmark's synthetic profiles and on error rows.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import date
from pathlib import Path

from eligibility.batch import Record, iter_records, load_trials, screen_records
from eligibility.batch_report import write_jsonl
from eligibility.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from screen_cohort import profiles  # noqa: E402


def _lines_agree(rows: list) -> int:  # type: ignore[type-arg]
    out = io.StringIO()
    list(write_jsonl(rows, out))
    lines = out.getvalue().splitlines()
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        expected = json.dumps(row.to_dict(), ensure_ascii=False)
        assert json.dumps(json.loads(line), ensure_ascii=False) == expected
    return len(lines)


def test_every_example_against_every_rules_file() -> None:
    trials, errors = load_trials(sorted((ROOT / "rules").glob("*.yaml")))
    assert not errors
    paths = sorted((ROOT / "examples" / "patients").glob("*.json"))
    paths.append(ROOT / "examples" / "cohort.jsonl")
    for as_of in (None, date(2024, 3, 1), date(2019, 6, 30)):
        rows = list(screen_records(trials, iter_records(paths, fast=True), as_of=as_of))
        assert _lines_agree(rows) >= 2 * 21


def test_synthetic_profiles_and_error_rows(tmp_path: Path) -> None:
    trials, _ = load_trials([ROOT / "rules/NCT03859128.yaml", ROOT / "rules/NCT04669496.yaml"])
    path = tmp_path / "c.jsonl"
    lines = [json.dumps(d) for d in profiles(300)] + ['{"id": "x", "ecog": 9}', "{"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = [*iter_records([path], fast=True), Record("odd", InputError("bad", "odd"))]
    rows = list(screen_records(trials, records, as_of=date(2024, 3, 1)))
    assert _lines_agree(rows) == 2 * 300 + 3


def test_renderer_caches_do_not_depend_on_order() -> None:
    """Texts built once per node (what a rule needs, a charted unit's conversion, the decisive
    truth) hold for every patient: two compilations rendering the same profiles in opposite
    orders give each patient the same result, as does a fresh one for a single patient."""
    from eligibility.batch import compile_file
    from eligibility.evaluate import Options, build_facts
    from eligibility.patient_fast import read_clean
    from eligibility.reasons import evaluate

    rules = [ROOT / "rules/NCT03859128.yaml", ROOT / "rules/NCT04669496.yaml"]
    as_of, options = date(2024, 3, 1), Options()
    facts = [build_facts(read_clean(json.dumps(d)), as_of, options) for d in profiles(400)]
    for path in rules:
        forward, backward = compile_file(path).compiled, compile_file(path).compiled
        ahead = [evaluate(forward, f) for f in facts]
        behind = [evaluate(backward, f) for f in reversed(facts)][::-1]
        assert ahead == behind
        for i in (0, 7, 399):
            assert evaluate(compile_file(path).compiled, facts[i]) == ahead[i]


def test_kept_outcomes_follow_the_as_of_date_and_the_patient_before() -> None:
    """Outcomes kept per node ("nothing recorded" per as-of date, a lab window's words, a
    review's words, a composite or criterion result reused when its parts are the very objects
    of the patient before) give each screening what a compilation of its own gives: patients
    interleaved at two as-of dates (one inside a lab window of the other, one with the labs
    too old), each patient twice in a row, against one fresh compilation per date."""
    from eligibility.batch import compile_file
    from eligibility.evaluate import Options, build_facts
    from eligibility.patient_fast import read_clean
    from eligibility.reasons import evaluate

    options = Options()
    days = (date(2024, 3, 1), date(2024, 6, 1))
    clean = [read_clean(json.dumps(d)) for d in profiles(120)]
    for path in (ROOT / "rules/NCT03859128.yaml", ROOT / "rules/NCT04669496.yaml"):
        mixed = compile_file(path).compiled
        alone = {day: compile_file(path).compiled for day in days}
        expected = {
            (i, day): evaluate(alone[day], build_facts(p, day, options))
            for day in days
            for i, p in enumerate(clean)
        }
        for i, p in enumerate(clean):
            for day in (days[i % 2], days[i % 2], days[1 - i % 2]):
                assert evaluate(mixed, build_facts(p, day, options)) == expected[(i, day)]


def test_a_kept_review_outcome_is_that_review_s_own() -> None:
    """A review's outcome is kept per node for the review's values: reviews of one criterion
    differing only in who, when or the note each read as their own, in either order."""
    from eligibility import Patient
    from eligibility.batch import compile_file
    from eligibility.evaluate import Options, build_facts
    from eligibility.reasons import evaluate

    path = ROOT / "rules/NCT04669496.yaml"
    variants = [
        {},
        {"by": "Dr A"},
        {"by": "Dr B"},
        {"date": "2024-02-01"},
        {"note": "seen in clinic"},
        {"by": "Dr A", "note": "seen in clinic"},
        {"status": "fail"},
    ]
    patients = [
        Patient.model_validate(
            {
                "id": f"p{i}",
                "reviews": [{"trial": "NCT04669496", "criterion": "I1", "status": "pass", **v}],
            }
        )
        for i, v in enumerate(variants)
    ]
    kept = compile_file(path).compiled
    reasons = {}
    for p in patients + patients[::-1]:
        facts = build_facts(p, date(2024, 3, 1), Options())
        result = evaluate(kept, facts)
        assert result == evaluate(compile_file(path).compiled, facts)
        reasons[p.id] = next(c.reason for c in result.criteria if c.id == "I1")
    assert reasons["p5"] == "reviewed by Dr A as pass: seen in clinic"
    assert len(set(reasons.values())) == len(variants)


def test_a_sink_writes_the_bytes_its_text_layer_would(tmp_path: Path) -> None:
    """``Sink.write_bytes`` (JSONL lines past the text layer) gives the bytes ``write`` gives,
    after what was written as text; a line-buffered stream (a terminal) keeps the text path,
    so each line still shows as it is screened."""
    from eligibility.output import Output, Sink

    trials, _ = load_trials(sorted((ROOT / "rules").glob("*.yaml")))
    records = list(iter_records([ROOT / "examples" / "cohort.jsonl"], fast=True))
    rows = list(screen_records(trials, records))
    text = io.StringIO()
    list(write_jsonl(rows, text))
    expected = ("head\n" + text.getvalue()).encode()
    target = tmp_path / "out.jsonl"
    with Output(str(target)) as sink:
        sink.write("head\n")
        list(write_jsonl(rows, sink))
    assert target.read_bytes() == expected
    raw = io.BytesIO()
    terminal = io.TextIOWrapper(raw, encoding="utf-8", line_buffering=True)
    sink = Sink(terminal, "t")
    sink.write("head\n")
    list(write_jsonl(rows, sink))
    assert sink._binary is False
    terminal.flush()
    assert raw.getvalue() == expected
