"""End-to-end: the console script on the bundled examples, exit codes and error lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eligibility.cli import main

ROOT = Path(__file__).resolve().parent.parent
HCC = str(ROOT / "rules/NCT03859128.yaml")
ICC = str(ROOT / "rules/NCT04669496.yaml")
P = ROOT / "examples/patients"

EXAMPLES = [
    (HCC, "p01_eligible_hcc.json", 0, "eligible", None),
    (HCC, "p02_ineligible_age.json", 1, "ineligible", "age"),
    (HCC, "p03_ineligible_ecog.json", 1, "ineligible", "I4"),
    (HCC, "p04_ineligible_child_pugh.json", 1, "ineligible", "I3"),
    (HCC, "p08_ineligible_prior_pd1.json", 1, "ineligible", "E1"),
    (ICC, "p05_ineligible_alt_uln.json", 1, "ineligible", "I6.4b"),
    (ICC, "p06_ineligible_platelets_mm3.json", 1, "ineligible", "I6.1b"),
    (ICC, "p07_ineligible_hiv.json", 1, "ineligible", "E9"),
    (ICC, "p09_indeterminate_missing_labs.json", 3, "indeterminate", None),
    (ICC, "p10_eligible_icc.json", 0, "eligible", None),
]


@pytest.mark.parametrize("rules,patient,code,verdict,failing", EXAMPLES)
def test_examples(rules, patient, code, verdict, failing, capsys):
    assert main(["screen", rules, str(P / patient), "--format", "json"]) == code
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == verdict
    assert set(out) >= {"trial", "patient", "as_of", "verdict", "criteria"}
    fails = [c["id"] for c in out["criteria"] if c["status"] == "fail"]
    if failing:
        assert fails == [failing]
    for c in out["criteria"]:
        assert set(c) >= {"id", "section", "text", "status", "reason", "missing"}


def test_indeterminate_lists_what_to_collect(capsys):
    main(["screen", ICC, str(P / "p09_indeterminate_missing_labs.json"), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    missing = {m for c in out["criteria"] for m in c["missing"]}
    assert {"INR result", "ALT upper limit of normal", "AST result"} <= missing


def test_as_of_changes_age(capsys):
    # P01 was born 1968-05-14: 75 until the day before the 76th birthday.
    args = ["screen", HCC, str(P / "p01_eligible_hcc.json"), "--format", "json"]
    assert main([*args, "--as-of", "2044-05-13"]) == 0
    assert main([*args, "--as-of", "2044-05-14"]) == 1
    capsys.readouterr()


def test_table_output(capsys):
    assert main(["screen", HCC, str(P / "p02_ineligible_age.json")]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "INELIGIBLE" in out and "needs 18–75 years" in out


def test_json_is_deterministic(capsys):
    args = ["screen", ICC, str(P / "p09_indeterminate_missing_labs.json"), "--format", "json"]
    main(args)
    first = capsys.readouterr().out
    main(args)
    assert capsys.readouterr().out == first


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


ERRORS = [
    ("missing file", None, "nope.json", "nope.json: file not found"),
    ("malformed JSON", "p.json", '{"id": "x",', "malformed JSON"),
    (
        "ECOG 9",
        "p.json",
        '{"id": "x", "ecog": 9}',
        "$.ecog: Input should be less than or equal to 5",
    ),
    ("unknown field", "p.json", '{"id": "x", "ecgo": 1}', "$.ecgo: unknown field"),
    (
        "wrong type",
        "p.json",
        '{"id": "x", "labs": [{"test": "ALT", "value": "high"}]}',
        "$.labs[0].value",
    ),
    ("NaN", "p.json", '{"id": "x", "age": NaN}', "NaN is not a number JSON allows"),
    ("duplicate key", "p.json", '{"id": "x", "id": "y"}', "duplicate key 'id'"),
    ("empty file", "p.json", "", "file is empty"),
]


@pytest.mark.parametrize("name,fname,text,expected", ERRORS, ids=[e[0] for e in ERRORS])
def test_patient_errors_are_one_line(tmp_path, capsys, name, fname, text, expected):
    path = write(tmp_path, fname, text) if fname else str(tmp_path / "nope.json")
    assert main(["screen", HCC, path]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


RULE_ERRORS = [
    ("unknown kind", "kind: magic", "$.criteria[0].rule: Input tag 'magic'"),
    (
        "bad comparator",
        "kind: lab\n      analyte: alt\n      comparator: '=='\n      value: 1",
        "line 11: $.criteria[0].rule.comparator",
    ),
    ("min above max", "kind: age\n      min: 80\n      max: 18", "min age 80 is above max age 18"),
]


@pytest.mark.parametrize("name,rule,expected", RULE_ERRORS, ids=[e[0] for e in RULE_ERRORS])
def test_rules_errors_name_the_location(tmp_path, capsys, name, rule, expected):
    text = (
        "schema_version: 1\ntrial:\n  id: T\ncriteria:\n  - id: I1\n    section: inclusion\n"
        f"    text: t\n    rule:\n      {rule}\n"
    )
    path = write(tmp_path, "r.yaml", text)
    assert main(["screen", path, str(P / "p01_eligible_hcc.json")]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert main(["validate", path]) == 2
    assert expected in capsys.readouterr().out


def test_malformed_yaml(tmp_path, capsys):
    path = write(tmp_path, "r.yaml", "trial: [unclosed\n")
    assert main(["validate", path]) == 2
    assert "malformed YAML" in capsys.readouterr().out


def test_validate_seed_rules(capsys):
    assert main(["validate", HCC, ICC]) == 0
    assert capsys.readouterr().out.count(": OK") == 2


OPTION_ERRORS = [
    (
        "as-of not a date",
        ["--as-of", "yesterday"],
        "error: --as-of: not an ISO date (YYYY-MM-DD): 'yesterday'",
    ),
    (
        "as-of year 1",
        ["--as-of", "0001-03-01"],
        "error: --as-of: 0001-03-01 is outside the plausible range 1900-01-01 to 2200-12-31",
    ),
    ("as-of before 1900", ["--as-of", "1899-12-31"], "outside the plausible range"),
    ("as-of after 2200", ["--as-of", "2201-01-01"], "outside the plausible range"),
    ("as-of year 9999", ["--as-of", "9999-12-31"], "outside the plausible range"),
    (
        "max-lab-age 10^9",
        ["--max-lab-age", "1000000000"],
        "error: --max-lab-age: 1000000000 days is more than the 54750 (150 years) allowed",
    ),
    (
        "max-lab-age negative",
        ["--max-lab-age", "-1"],
        "error: --max-lab-age: must not be negative (got -1)",
    ),
    (
        "max-lab-age not a number",
        ["--max-lab-age", "1e309"],
        "error: --max-lab-age: not a whole number of days: '1e309'",
    ),
]


@pytest.mark.parametrize("name,extra,message", OPTION_ERRORS, ids=[e[0] for e in OPTION_ERRORS])
@pytest.mark.parametrize("cohort", [False, True], ids=["single", "cohort"])
def test_bad_option_is_one_line(capsys, name, extra, message, cohort):
    """--as-of outside 1900-01-01..2200-12-31 (limits.py), --max-lab-age negative or past 150
    years: exit 2 and one line, before anything is read or screened."""
    inputs = [HCC, str(P / "p01_eligible_hcc.json")] + ([str(P)] if cohort else [])
    assert main(["screen", *inputs, *extra]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and err.count("\n") == 1, err


def test_plausible_options_at_the_limits_are_accepted(capsys):
    args = ["screen", HCC, str(P / "p01_eligible_hcc.json"), "--format", "json"]
    for extra in (["--as-of", "1900-01-01"], ["--as-of", "2200-12-31"], ["--max-lab-age", "54750"]):
        assert main([*args, *extra]) in (0, 1, 3), extra
    capsys.readouterr()


def test_console_script_runs():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "eligibility",
            "screen",
            HCC,
            str(P / "p03_ineligible_ecog.json"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["verdict"] == "ineligible"


def test_markup_in_criteria_text_is_shown_literally(tmp_path, capsys):
    text = (
        "schema_version: 1\ntrial:\n  id: T\ncriteria:\n  - id: I1\n    section: inclusion\n"
        "    text: '[bold]ECOG[/] [/nope] 0-1'\n    rule: {kind: manual, reason: '[red]x'}\n"
    )
    path = write(tmp_path, "r.yaml", text)
    assert main(["screen", path, str(P / "p01_eligible_hcc.json")]) == 3
    out = capsys.readouterr().out
    assert "[bold]ECOG[/]" in out and "[red]x" in out


def test_synonym_twin_screens_like_its_canonical_twin(capsys):
    """p11 is p10 written with synonyms, LOINC codes, other units and an ICD-10 code only."""
    statuses = []
    for path in (
        P / "p10_eligible_icc.json",
        ROOT / "examples/twins/p11_eligible_icc_synonyms.json",
    ):
        assert main(["screen", ICC, str(path), "--format", "json"]) == 0
        out = json.loads(capsys.readouterr().out)
        statuses.append([(c["id"], c["status"]) for c in out["criteria"]])
    assert statuses[0] == statuses[1]


# --- results must never mislead (issue 11) ---------------------------------------------------


def test_profile_without_lists_is_not_ineligible(tmp_path, capsys):
    """No conditions or treatments key: not recorded, so nothing fails from their absence."""
    path = tmp_path / "x.json"
    path.write_text('{"id": "x"}')
    assert main(["screen", ICC, str(path), "--format", "json"]) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "indeterminate"
    assert [c["id"] for c in out["criteria"] if c["status"] == "fail"] == []
    [icc] = [c for c in out["criteria"] if c["id"] == "I4"]
    assert icc["status"] == "unknown"
    assert icc["reason"].startswith("conditions not recorded (no conditions list)")
    assert "conditions list" in icc["missing"]


def test_stray_and_conflicting_reviews_are_reported(tmp_path, capsys):
    """A review naming a criterion or trial that is not screened is a warning on stderr and in
    the JSON, never dropped silently; two reviews that disagree leave the criterion unknown."""
    profile = json.loads((P / "p01_eligible_hcc.json").read_text())
    profile["reviews"] = [
        {"trial": "NCT03859128", "criterion": "E99", "status": "pass"},
        {"trial": "NCT00000000", "criterion": "I1", "status": "pass"},
        {"trial": "NCT03859128", "criterion": "age", "status": "pass"},
        {"trial": "NCT03859128", "criterion": "E1", "status": "pass", "by": "A"},
        {"trial": "NCT03859128", "criterion": "E1", "status": "fail", "by": "B"},
    ]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile))
    assert main(["screen", HCC, str(path), "--format", "json"]) == 3
    captured = capsys.readouterr()
    warnings = [
        "$.reviews[0]: NCT03859128 has no criterion 'E99'; review not used",
        "$.reviews[1]: trial 'NCT00000000' is not among the rules screened; review not used",
        "$.reviews[2]: NCT03859128 age has no part for a reviewer to decide (its rules are all "
        "computed); review not used",
    ]
    assert captured.err.splitlines() == [f"warning: {path}: {w}" for w in warnings]
    out = json.loads(captured.out)
    assert out["warnings"] == warnings
    [e1] = [c for c in out["criteria"] if c["id"] == "E1"]
    assert e1["status"] == "unknown"
    assert (
        "2 reviews of this criterion disagree: reviewed by A as pass; reviewed by B as fail"
        in e1["reason"]
    )


def test_old_labs_do_not_decide_unless_the_limit_is_raised(tmp_path, capsys):
    """Results older than 90 days before the as-of date do not decide; --max-lab-age overrides."""
    path = tmp_path / "p.json"
    path.write_text((P / "p10_eligible_icc.json").read_text())  # labs of 2024-02-20
    args = ["screen", ICC, str(path), "--format", "json", "--as-of", "2028-03-01"]
    assert main(args) == 3
    out = json.loads(capsys.readouterr().out)
    unknown = [c for c in out["criteria"] if c["status"] == "unknown"]
    assert unknown and all(
        "is older than 90 days before 2028-03-01" in c["reason"] for c in unknown
    )
    assert any(m.startswith("current ") for c in unknown for m in c["missing"])
    assert main([*args, "--max-lab-age", "2000"]) == 0
    capsys.readouterr()
