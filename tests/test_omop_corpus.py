"""The compiled SQL agrees with the evaluator on rules it was not written for.

Beyond the two seed trials: a seeded sample of 40 corpus trials (oncology trials that mention
the upper limit of normal, ``tests/data/omop/corpus_sample.jsonl``, parsed as ``eligibility
parse`` parses them), the seed trials, and a file of rules aimed at the evaluator's condition
and therapy semantics (``semantics.yaml``: T86, own maybe codes, maybe-excepted entries,
systemic chemotherapy's maybe agents, biosimilars). ``synth_rules`` writes an extract whose
rows hit what those rules name; DuckDB must give the evaluator's status for every person ×
criterion the compiler accepts, and every refusal must read ``review`` with a reason.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from eligibility.batch import Trial
from eligibility.coverage import parse_records
from eligibility.evaluate import compile_rules
from eligibility.facts import Options
from eligibility.loaders import load_rules
from eligibility.model import ConditionRule, Criterion, LabRule, RuleSet, Window
from eligibility.omop import engines, extract, synth
from eligibility.omop.compiler import compile_trial
from eligibility.omop.synth_rules import synthesize_for

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "omop"
AS_OF = date(2024, 3, 1)
PERSONS = 300


def corpus_rules() -> list[RuleSet]:
    parsed = list(parse_records(DATA / "corpus_sample.jsonl"))
    assert all(isinstance(r, RuleSet) for r in parsed)
    seeds = [ROOT / "rules" / "NCT03859128.yaml", ROOT / "rules" / "NCT04669496.yaml"]
    return [*parsed, *[load_rules(p) for p in (*seeds, DATA / "semantics.yaml")]]  # type: ignore[list-item]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Trial], Path]:
    rules = corpus_rules()
    assert len(rules) == 43
    out = tmp_path_factory.mktemp("omop_corpus")
    synth.write(synthesize_for(rules, PERSONS, seed=3), out)
    return [Trial(r.trial.id, r, compile_rules(r), "0") for r in rules], out


def compare(trials: list[Trial], folder: Path, options: Options) -> tuple[Counter, Counter]:
    """Statuses compared (by status) and refusals (by reason); asserts they agree."""
    con = extract.open_duckdb(folder)
    screened = engines.run_duckdb(con, trials, extract.distinct_terms(con), AS_OF, options, "x")
    sql = {(r.trial, r.patient): r.statuses for s in screened for r in s.rows}
    python = list(engines.run_python(con, trials, AS_OF, options, "x"))
    assert not [r for r in python if r.error]
    seen: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    wrong = []
    for s in screened:
        q = s.query
        assert q is not None
        refused.update(why.split(" (")[0] for why in q.refused.values())
        ids = [c for c, _ in q.criteria]
        for row in python:
            if row.trial != q.trial_id:
                continue
            for cid, a, b in zip(ids, row.statuses, sql[(row.trial, row.patient)], strict=True):
                if cid in q.refused:
                    assert b == "review", (row.trial, cid)
                    continue
                seen[a] += 1
                if a != b:
                    wrong.append(f"{row.trial} {cid} person {row.patient}: python {a}, sql {b}")
    assert not wrong, "\n".join(wrong[:20])
    return seen, refused


@pytest.mark.parametrize("options", [Options(), Options("unknown", 30)])
def test_duckdb_matches_the_evaluator_on_corpus_rules(
    corpus: tuple[list[Trial], Path], options: Options
) -> None:
    trials, folder = corpus
    seen, refused = compare(trials, folder, options)
    criteria = sum(len(t.rules.criteria) for t in trials)
    assert sum(seen.values()) == PERSONS * (criteria - sum(refused.values()))
    assert all(seen[s] > 1000 for s in ("pass", "fail", "unknown", "review")), seen
    # what is refused, and why: pregnancy, breastfeeding and Child-Pugh (no such data in an
    # extract), creatinine clearance (derived), strict or fractional ages, log10 units
    assert sum(refused.values()) < criteria * 0.05, refused


def test_the_semantics_rules_meet_every_outcome(corpus: tuple[list[Trial], Path]) -> None:
    """The hand-written rules are not vacuous: each gets at least two different statuses."""
    trials, folder = corpus
    con = extract.open_duckdb(folder)
    semantic = [t for t in trials if t.trial_id == "OMOP-SEMANTICS"]
    rows = list(engines.run_python(con, semantic, AS_OF, Options(), "x"))
    for i, cid in enumerate(semantic[0].compiled.ids):
        assert len({r.statuses[i] for r in rows}) >= 2, cid


def test_t86_does_not_date_a_transplant(tmp_path: Path) -> None:
    """T86.12 (kidney graft failure) last month says a transplant happened, not when: a
    transplant "within 5 years" is unknown (vocab.dated_elsewhere), Z94.0 last month a hit."""
    t = synth.tables()
    for pid, code in ((1, "T86.12"), (2, "Z94.0"), (3, "T8612")):
        synth.add_person(random.Random(pid), t["person"], pid)
        synth.add_entry(t["condition_occurrence"], pid, code, date(2024, 2, 1), None)
    synth.write(t, tmp_path)
    rules = load_rules(DATA / "semantics.yaml")
    trial = Trial("x", rules, compile_rules(rules), "0")
    con = extract.open_duckdb(tmp_path)
    screened = engines.run_duckdb(con, [trial], extract.distinct_terms(con), AS_OF, Options(), "x")
    sql = [r.statuses[0] for r in screened[0].rows]
    python = [r.statuses[0] for r in engines.run_python(con, [trial], AS_OF, Options(), "x")]
    assert sql == python == ["unknown", "fail", "unknown"]


def test_an_acute_episode_left_open_long_ago(tmp_path: Path) -> None:
    """Sepsis of 2020 with no end is not known to be current (``episode_days``): unknown under
    "evidence of sepsis", a hit under "history of sepsis"; last month's is a hit, one that
    ended in 2020 unknown under "evidence of" (resolved: whether a past one counts); pneumonia
    of 2020 with no end is unknown "within 3 months". "Active infection" (E7) leaves every
    sepsis or pneumonia code open (an infection code may or may not be what it means)."""
    t = synth.tables()
    rows = (
        (1, "A41.9", date(2020, 3, 1), None),
        (2, "A41.9", date(2024, 2, 1), None),
        (3, "A41.9", date(2020, 3, 1), date(2020, 4, 1)),
        (4, "J18.9", date(2020, 3, 1), None),
    )
    for pid, code, start, end in rows:
        synth.add_person(random.Random(pid), t["person"], pid)
        synth.add_entry(t["condition_occurrence"], pid, code, start, end)
    synth.write(t, tmp_path)
    rules = load_rules(DATA / "semantics.yaml")
    trial = Trial("x", rules, compile_rules(rules), "0")
    con = extract.open_duckdb(tmp_path)
    screened = engines.run_duckdb(con, [trial], extract.distinct_terms(con), AS_OF, Options(), "x")
    at = [trial.compiled.ids.index(c) for c in ("E7", "E14", "E15", "E16")]
    sql = [[r.statuses[i] for i in at] for r in screened[0].rows]
    python = [
        [r.statuses[i] for i in at] for r in engines.run_python(con, [trial], AS_OF, Options(), "x")
    ]
    assert (
        sql
        == python
        == [
            ["unknown", "unknown", "pass", "fail"],
            ["unknown", "fail", "pass", "fail"],
            ["pass", "unknown", "pass", "fail"],
            ["unknown", "pass", "unknown", "pass"],
        ]
    )


class _LabWithin(LabRule):
    """A lab rule with a time window of its own, as another branch adds one."""

    within: Window | None = None


def test_a_lab_rule_with_its_own_window_is_refused() -> None:
    lab = _LabWithin(analyte="alt", comparator="<=", multiple=3.0, of="ULN")
    windowed = lab.model_copy(update={"within": Window(amount=4, unit="weeks")})
    rules = RuleSet(
        trial={"id": "T"},
        criteria=[
            Criterion(id="I1", section="inclusion", text="ALT", rule=lab),
            Criterion(id="I2", section="inclusion", text="ALT in 4 weeks", rule=windowed),
        ],
    )
    query = compile_trial(rules, AS_OF)
    assert list(query.refused) == ["I2"] and "within" in query.refused["I2"]


def test_concept_tables_read_as_the_source_codes(
    corpus: tuple[list[Trial], Path], tmp_path: Path
) -> None:
    """The same extract coded by concept id (LOINC, UCUM, ICD-10-CM source concepts, SNOMED
    CT, RxNorm ingredients and clinical drugs), with ``concept`` and ``concept_relationship``:
    the SQL agrees with the evaluator on it, and both give the statuses of the source codes."""
    trials, _ = corpus
    rules = [t.rules for t in trials]
    tables = synthesize_for(rules, 150, seed=5)
    coded = synth.with_concepts(tables)
    kinds = Counter(coded["concept"]["vocabulary_id"])
    assert all(kinds[v] > 0 for v in ("LOINC", "UCUM", "ICD10CM", "SNOMED", "RxNorm")), kinds
    assert "RxNorm has ing" in coded["concept_relationship"]["relationship_id"]
    synth.write(tables, tmp_path / "source")
    synth.write(coded, tmp_path / "concepts")
    seen, _ = compare(trials, tmp_path / "concepts", Options())
    assert seen["fail"] > 100 and seen["unknown"] > 100
    by_source, by_concept = (
        {
            (r.trial, r.patient): r.statuses
            for r in engines.run_python(
                extract.open_duckdb(tmp_path / name), trials, AS_OF, Options(), "x"
            )
        }
        for name in ("source", "concepts")
    )
    assert by_source == by_concept
    con = extract.open_duckdb(tmp_path / "concepts")
    blank = con.sql(
        "select count(*) from raw_condition_occurrence where condition_source_value is null"
    )
    assert blank.fetchall()[0][0] > 100


def _one_rule(folder: Path, criterion: Criterion) -> tuple[list[str], list[str]]:
    """The criterion's status per person of the extract in ``folder``: DuckDB's, the
    evaluator's (the criterion must compile, not be refused)."""
    rules = RuleSet(trial={"id": "T"}, criteria=[criterion])
    trial = Trial("x", rules, compile_rules(rules), "0")
    con = extract.open_duckdb(folder)
    screened = engines.run_duckdb(con, [trial], extract.distinct_terms(con), AS_OF, Options(), "x")
    assert screened[0].query is not None and not screened[0].query.refused
    sql = [r.statuses[0] for r in screened[0].rows]
    python = [r.statuses[0] for r in engines.run_python(con, [trial], AS_OF, Options(), "x")]
    return sql, python


def test_a_free_text_condition_is_read_as_a_name(tmp_path: Path) -> None:
    """A condition term that is no ICD-10 code is a profile's free-text name, on both engines:
    "rheumatic heart failure" may be heart failure (unknown), "heart failure" is it."""
    t = synth.tables()
    terms = ("rheumatic heart failure", "heart failure", "I50.9", "no heart failure")
    for pid, term in enumerate(terms, start=1):
        synth.add_person(random.Random(pid), t["person"], pid)
        synth.add_entry(t["condition_occurrence"], pid, term, date(2024, 2, 1), None)
    synth.write(t, tmp_path)
    hf = ConditionRule(condition="heart_failure")
    sql, python = _one_rule(tmp_path, Criterion(id="E1", section="exclusion", text="hf", rule=hf))
    assert sql == python
    assert python[:3] == ["unknown", "fail", "fail"]


@pytest.mark.parametrize(
    ("unit", "values", "expected"),
    [
        # 10 ** 3000 is no float: the evaluator says unknown (a unit problem), DuckDB would
        # give infinity (so "fail" for < 50 copies/mL) without the query's test of the exponent
        ("copies/mL", [3000.0, 308.0, 1.5, 2.0], ["unknown", "fail", "pass", "fail"]),
        # into log10 units: the log10 of 0 copies is unknown too
        ("log10 copies/mL", [0.0, 3.0, 100.0, 10.0], ["unknown", "pass", "fail", "pass"]),
    ],
)
def test_log10_viral_loads(
    tmp_path: Path, unit: str, values: list[float], expected: list[str]
) -> None:
    """A viral load in log10 units converts by a power of 10, one in copies into log10 units
    by a logarithm: the same statuses on both engines, unknown where no float results."""
    given = "log10 copies/mL" if unit == "copies/mL" else "copies/mL"
    t = synth.tables()
    for pid, value in enumerate(values, start=1):
        synth.add_person(random.Random(pid), t["person"], pid)
        synth.add_measurement(
            t["measurement"], pid, "HIV-1 RNA", date(2024, 2, 1), value, given, None, None
        )
    synth.write(t, tmp_path)
    bound = 50.0 if unit == "copies/mL" else 1.5
    rule = LabRule(analyte="hiv_rna", comparator="<", value=bound, unit=unit)
    criterion = Criterion(id="I1", section="inclusion", text="viral load", rule=rule)
    sql, python = _one_rule(tmp_path, criterion)
    assert sql == python == expected
