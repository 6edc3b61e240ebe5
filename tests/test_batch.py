"""Cohort orchestration: input classification, streaming, error rows, audit fields, exit codes."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

from conftest import HCC, HCC_PATIENTS, ICC, ICC_PATIENTS, PATIENTS, RULES
from eligibility import __version__, load_patient
from eligibility.batch import (
    classify,
    compile_file,
    exit_code,
    iter_records,
    load_trials,
    screen_many,
    screen_records,
)
from eligibility.report import to_json


def test_classify_sorts_files_by_type_and_expands_directories(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    inputs = classify(
        [
            PATIENTS / "p01_eligible_hcc.json",
            RULES,
            tmp_path / "missing.yaml",
            tmp_path / "notes.txt",
            tmp_path / "empty_dir_not_there.json",
        ]
    )
    assert inputs.rules == [HCC, ICC, tmp_path / "missing.yaml"]
    assert inputs.patients[0].name == "p01_eligible_hcc.json"
    assert len(inputs.errors) == 1 and "not a rules" in str(inputs.errors[0])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no .yaml" in str(classify([empty]).errors[0])


def test_records_are_numbered_in_jsonl_and_lists(tmp_path: Path, cohort_jsonl: Path) -> None:
    records = list(iter_records([cohort_jsonl]))
    assert [r.source.rsplit("#", 1)[1] for r in records] == ["1", "2", "3", "4", "5", "6", "7"]
    listed = tmp_path / "two.json"
    listed.write_text(json.dumps([{"id": "a"}, {"id": "b"}]))
    assert [r.source for r in iter_records([listed])] == [f"{listed}#1", f"{listed}#2"]
    single = PATIENTS / "p01_eligible_hcc.json"
    assert [r.source for r in iter_records([single])] == [str(single)]


def test_bad_record_in_the_middle_is_an_error_row_and_the_rest_are_screened(
    cohort_jsonl: Path,
) -> None:
    trials, bad = load_trials([ICC])
    assert not bad
    rows = list(screen_records(trials, iter_records([cohort_jsonl]), detail=False))
    assert [r.verdict for r in rows] == [
        "ineligible",
        "ineligible",
        "error",
        "error",
        "ineligible",
        "indeterminate",
        "eligible",
    ]
    errors = [r for r in rows if r.error]
    assert "line 3" in errors[0].error and "$.ecog" in errors[0].error
    assert "line 4" in errors[1].error and "malformed JSON" in errors[1].error
    assert exit_code(r.verdict for r in rows) == 2


def test_bad_rules_file_is_an_error_row(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema_version: 1\ntrial: {id: X}\ncriteria: [{id: a}]\n")
    trials, bad = load_trials([broken, HCC])
    assert [t.trial_id for t in trials] == ["NCT03859128"]
    assert bad[0].verdict == "error" and str(broken) in bad[0].error


def test_exit_code_policy() -> None:
    assert exit_code(["eligible", "eligible"]) == 0
    assert exit_code(["eligible", "indeterminate"]) == 3
    assert exit_code(["indeterminate", "ineligible", "eligible"]) == 1
    assert exit_code(["eligible", "error"]) == 2
    assert exit_code([]) == 2


def test_rules_sha256_is_the_file_digest_and_recorded_everywhere() -> None:
    digest = hashlib.sha256(ICC.read_bytes()).hexdigest()
    trial = compile_file(ICC)
    assert trial.sha256 == digest
    patient = load_patient(ICC_PATIENTS[-1])
    (result,) = screen_many([trial], [patient], detail=True)
    data = result.to_dict()
    assert data["rules_sha256"] == digest
    assert data["engine_version"] == __version__
    assert data["as_of"] == "2024-03-01"
    (row,) = screen_many([trial], [patient], detail=False)
    assert row.to_dict()["rules_sha256"] == digest


def test_same_inputs_give_byte_identical_json() -> None:
    trials = [compile_file(HCC), compile_file(ICC)]
    patients = [load_patient(p) for p in HCC_PATIENTS + ICC_PATIENTS]

    def run() -> list[str]:
        return [to_json(r) for r in screen_many(trials, patients, as_of=date(2024, 3, 1))]

    first, second = run(), run()
    assert first == second
    assert len(first) == 20


def test_detail_and_summary_rows_agree(cohort_jsonl: Path) -> None:
    trials, _ = load_trials([HCC, ICC])
    fast = list(screen_records(trials, iter_records([cohort_jsonl]), detail=False))
    slow = list(screen_records(trials, iter_records([cohort_jsonl]), detail=True))
    assert [(r.verdict, r.statuses, r.failed) for r in fast] == [
        (r.verdict, r.statuses, r.failed) for r in slow
    ]


def test_screening_streams_one_record_at_a_time(tmp_path: Path) -> None:
    """The JSONL reader is lazy: the first row arrives before later lines are even valid."""
    path = tmp_path / "big.jsonl"
    line = json.dumps(json.loads((PATIENTS / "p10_eligible_icc.json").read_text()))
    path.write_text(line + "\n" + line + "\n")
    trials, _ = load_trials([ICC])
    rows = screen_records(trials, iter_records([path]), detail=False)
    first = next(rows)
    with path.open("a") as fh:  # appended after the first row was produced
        fh.write(line + "\n")
    assert first.verdict == "eligible"
    assert len(list(rows)) == 2


def test_duplicate_ids_are_found_among_many() -> None:
    """The repeated-id check keeps a flat table of hashes (memory stays small for a large
    cohort): every repeat is found across the table's growth, and no first sighting warns."""
    from eligibility.batch import DuplicateIds, Record
    from eligibility.patient import Patient

    seen = DuplicateIds()
    patients = [Patient(id=f"P{i}") for i in range(20_000)]
    assert not any(seen.note(Record(p.id, p)) for p in patients)
    repeats = [seen.note(Record(f"again#{p.id}", p)) for p in patients[::101]]
    assert all(r and "was already read in this run" in r for r in repeats)
    assert len(seen._slots) * 8 <= 32 * len(patients)  # at most 32 bytes an id


def test_the_review_shortcut_warns_as_review_warnings() -> None:
    """``screen_one`` skips ``review_warnings`` when every review is one the run's trials use:
    on every subset of reviews of each kind, the rows are the same as without the shortcut."""
    from itertools import combinations

    from eligibility.batch import compile_file, review_keys, screen_one
    from eligibility.evaluate import build_facts
    from eligibility.patient import Patient, Review

    trials = [compile_file(HCC), compile_file(ICC)]
    hcc, icc = (t.compiled for t in trials)
    kinds = [
        Review(trial=hcc.trial_id, criterion=sorted(hcc.reviewable)[0], status="pass"),
        Review(trial=icc.trial_id, criterion=sorted(icc.reviewable)[0], status="fail"),
        Review(trial=hcc.trial_id, criterion="Z99", status="pass"),  # no such criterion
        Review(trial=hcc.trial_id, criterion=sorted(hcc.criterion_ids - hcc.reviewable)[0],
               status="pass"),  # nothing to review
        Review(trial="NCT00000000", criterion="I1", status="pass"),  # a trial not screened
    ]  # fmt: skip
    base = load_patient(PATIENTS / "p01_eligible_hcc.json")
    screened = frozenset(t.trial_id for t in trials)
    for k in range(len(kinds) + 1):
        for chosen in combinations(kinds, k):
            patient = Patient.model_validate({**base.model_dump(), "reviews": list(chosen)})
            facts = build_facts(patient, date(2024, 3, 1))
            for t in trials:
                plain = screen_one(t, facts, "s", detail=False, screened=screened)
                quick = screen_one(
                    t, facts, "s", detail=False, screened=screened, quiet=review_keys(trials)
                )
                assert quick == plain
