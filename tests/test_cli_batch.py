"""``eligibility screen`` with many inputs, ``funnel``, and the single-screen behaviour kept."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from conftest import HCC, HCC_PATIENTS, ICC, ICC_PATIENTS, PATIENTS, RULES
from eligibility.batch_report import CSV_COLUMNS
from eligibility.cli import main

Cap = pytest.CaptureFixture[str]


def run(capsys: Cap, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_single_screen_is_unchanged_apart_from_the_audit_digest(capsys: Cap) -> None:
    code, out, _ = run(capsys, "screen", str(HCC), str(HCC_PATIENTS[0]), "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert list(data)[:4] == ["trial", "patient", "as_of", "verdict"]
    assert data["rules_sha256"] == hashlib.sha256(HCC.read_bytes()).hexdigest()
    assert {"id", "section", "text", "status", "reason", "missing"} <= set(data["criteria"][0])
    code, out, _ = run(capsys, "screen", str(HCC), str(HCC_PATIENTS[1]))
    assert code == 1 and "INELIGIBLE" in out
    code, out, err = run(capsys, "screen", str(HCC), str(PATIENTS / "nope.json"))
    assert (code, out) == (2, "") and err.startswith("error: ") and "file not found" in err
    code, out, err = run(capsys, "screen", str(PATIENTS / "nope.yaml"), str(HCC_PATIENTS[0]))
    assert (code, out) == (2, "") and "nope.yaml: file not found" in err


def test_csv_has_a_row_per_input_and_the_documented_columns(
    capsys: Cap, cohort_jsonl: Path
) -> None:
    code, out, err = run(capsys, "screen", str(ICC), str(cohort_jsonl), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 7
    assert code == 2
    bad = [r for r in rows if r["verdict"] == "error"]
    assert len(bad) == 2 and "line 3" in bad[0]["error"] and "$.ecog" in bad[0]["error"]
    assert "skipped:" in err and "line 4" in err
    p05 = next(r for r in rows if r["patient"] == "P05-alt-4x-uln")
    assert (p05["verdict"], p05["fail"], p05["failed"]) == ("ineligible", "1", "I6.4b")
    assert p05["rules_sha256"] == hashlib.sha256(ICC.read_bytes()).hexdigest()


def test_jsonl_lines_have_the_single_screen_fields(capsys: Cap, cohort_jsonl: Path) -> None:
    code, out, _ = run(
        capsys, "screen", str(ICC), str(cohort_jsonl), "--format", "jsonl", "--as-of", "2024-03-01"
    )
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 7 and code == 2
    _, out, _ = run(
        capsys,
        "screen",
        str(ICC),
        str(ICC_PATIENTS[-1]),
        "--format",
        "json",
        "--as-of",
        "2024-03-01",
    )
    single = json.loads(out)
    good = [x for x in lines if x["verdict"] != "error"]
    assert set(single) <= set(good[-1])
    assert {k: v for k, v in good[-1].items() if k != "source"} == single


def test_json_list_and_directories(capsys: Cap) -> None:
    code, out, _ = run(capsys, "screen", str(RULES), str(PATIENTS), "--format", "json")
    data = json.loads(out)
    assert len(data) == 20 and code == 1
    assert {d["trial"] for d in data} == {"NCT03859128", "NCT04669496"}


def test_exit_codes_by_verdict_when_nothing_was_skipped(capsys: Cap) -> None:
    eligible = [str(HCC_PATIENTS[0])]
    assert run(capsys, "screen", str(HCC), *eligible, *eligible, "--format", "csv")[0] == 0
    undecided = str(PATIENTS / "p09_indeterminate_missing_labs.json")
    assert (
        run(capsys, "screen", str(ICC), undecided, str(ICC_PATIENTS[-1]), "--format", "csv")[0] == 3
    )
    assert run(capsys, "screen", str(ICC), *map(str, ICC_PATIENTS), "--format", "csv")[0] == 1


def test_bad_rules_file_is_reported_and_skipped(capsys: Cap, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema_version: 1\ncriteria: nope\n")
    code, out, err = run(
        capsys, "screen", str(broken), str(HCC), str(HCC_PATIENTS[0]), "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 2 and str(broken) in err
    assert [r["verdict"] for r in rows] == ["error", "eligible"]


def test_table_output_has_one_row_per_screening(capsys: Cap, cohort_jsonl: Path) -> None:
    code, out, _ = run(capsys, "screen", str(ICC), str(cohort_jsonl))
    assert code == 2
    assert "P10-eligible-icc" in out and "ERROR" in out
    assert "5 screening(s): 1 eligible, 3 ineligible, 1 indeterminate; 2 input(s)" in out


def test_output_file_and_no_inputs(capsys: Cap, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, out, _ = run(
        capsys, "screen", str(HCC), *map(str, HCC_PATIENTS), "--format", "csv", "-o", str(target)
    )
    assert code == 1 and out == ""
    assert target.read_text().count("\n") == 6
    code, _, err = run(capsys, "screen", str(HCC_PATIENTS[0]), "--format", "csv")
    assert code == 2 and "no rules file" in err


def test_funnel_json(capsys: Cap) -> None:
    code, out, _ = run(capsys, "funnel", str(ICC), *map(str, ICC_PATIENTS), "--format", "json")
    data = json.loads(out)
    assert code == 0
    (funnel,) = data["funnels"]
    assert funnel["screened"] == 5 and funnel["criteria"][-1]["remaining"] == 2
    code, out, _ = run(capsys, "funnel", str(ICC), *map(str, ICC_PATIENTS))
    assert "Remaining" in out and "I6.4b" in out


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_stray_reviews_are_warned_once_per_record(capsys: Cap, tmp_path: Path, fmt: str) -> None:
    """A review of another trial screened in the same run is not a stray; one of a trial not
    screened is, and is named once per record (not once per trial), on both paths."""
    profile = json.loads(HCC_PATIENTS[0].read_text())
    profile["reviews"] = [
        {"trial": "NCT04669496", "criterion": "E1", "status": "pass"},
        {"trial": "NCT00000000", "criterion": "I1", "status": "pass"},
    ]
    cohort = tmp_path / "c.jsonl"
    cohort.write_text(json.dumps(profile) + "\n" + json.dumps({**profile, "id": "two"}) + "\n")
    code, out, err = run(capsys, "screen", str(HCC), str(ICC), str(cohort), "--format", fmt)
    assert code in (0, 1, 3)  # everything screened: a warning is not a skipped input
    stray = "$.reviews[1]: trial 'NCT00000000' is not among the rules screened; review not used"
    assert [line for line in err.splitlines() if line.startswith("warning: ")] == [
        f"warning: {cohort}#1: {stray}",
        f"warning: {cohort}#2: {stray}",
    ]
    if fmt == "jsonl":
        assert all(json.loads(line)["warnings"] == [stray] for line in out.splitlines())
