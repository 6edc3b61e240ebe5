"""Hostile rules files, semantic checks, evaluation of doubtful data, JSONL, determinism.

Rows are named after the hostile-input table in README.md. Rules-file errors are checked through
both ``eligibility screen`` (stderr, exit 2) and ``eligibility validate`` (stdout, exit 2).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from eligibility import load_rules, screen, yamlcore
from eligibility.cli import main
from eligibility.errors import InputError
from eligibility.evaluate import build_facts
from eligibility.loaders import iter_patients, rules_problems
from eligibility.patient import Patient

ROOT = Path(__file__).resolve().parent.parent
HCC = str(ROOT / "rules/NCT03859128.yaml")
ICC = str(ROOT / "rules/NCT04669496.yaml")
P01 = str(ROOT / "examples/patients/p01_eligible_hcc.json")
HEAD = "schema_version: 1\ntrial:\n  id: T\n  source: src.txt\ncriteria:\n"


def criterion(rule: str, cid: str = "I1", text: str = "t", extra: str = "") -> str:
    """One criterion whose ``rule:`` is on a line of its own (line 9 for the first)."""
    return f"  - id: {cid}\n    section: inclusion\n    text: '{text}'\n{extra}    rule: {rule}\n"


def write(tmp_path: Path, text: str | bytes, name: str = "r.yaml") -> str:
    path = tmp_path / name
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return str(path)


BILLION_LAUGHS = (
    'lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    + "".join(
        f"l{i}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(9)
    )
)

RULES_ERRORS = [
    # (name, file text, where, message)
    (
        "billion laughs",
        BILLION_LAUGHS,
        "line 2, column 9",
        "alias *a is not allowed in a rules file",
    ),
    (
        "a single alias",
        HEAD + criterion("&r {kind: pregnancy}") + criterion("*r", cid="I2"),
        "line 13, column 11",
        "alias *r is not allowed",
    ),
    (
        "nesting 100 deep",
        "a: " + "[" * 100 + "]" * 100,
        "line 1, column 67",
        "nested deeper than 64 levels",
    ),
    (
        "nesting 100000 deep",
        "a: " + "[" * 100_000 + "]" * 100_000,
        "line 1, column 67",
        "nested deeper than 64 levels",
    ),
    (
        "duplicate YAML key",
        HEAD + criterion("{kind: age, min: 18, min: 21}"),
        "line 9, column 32",
        "duplicate key 'min' (first on line 9)",
    ),
    (
        "python object tag",
        HEAD + criterion("!!python/object/apply:os.system ['touch pwned']"),
        "line 9, column 11",
        "unsupported YAML (could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system')",
    ),
    (
        "YAML timestamp tag",
        HEAD
        + criterion("{kind: manual, reason: x}", text="x")
        + "    note: !!timestamp 2024-01-01\n",
        "line 10, column 11",
        "unsupported YAML (could not determine a constructor for the tag 'tag:yaml.org,2002:timestamp')",
    ),
    (
        "YAML integer of 5000 digits",
        HEAD + criterion("{kind: age, max: " + "1" * 5000 + "}"),
        "line 9, column 28",
        "cannot read '1111111111111111111111111111111111111111'…: Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits",
    ),
    # YAML 1.1 implicit types are text under the YAML 1.2 core schema, and text is not a number
    # or a flag (1:15 was 75, yes was true, 1_000 was 1000)
    (
        "YAML 1.1 sexagesimal 1:15",
        HEAD + criterion("{kind: age, max: 1:15}"),
        "criterion I1: line 9: $.criteria[0].rule.max",
        "Input should be a valid number (got '1:15')",
    ),
    (
        "YAML 1.1 boolean yes",
        HEAD + criterion("{kind: condition, condition: HIV, active: yes}"),
        "criterion I1: line 9: $.criteria[0].rule.active",
        "Input should be a valid boolean (got 'yes')",
    ),
    (
        "YAML 1.1 number 1_000",
        HEAD
        + criterion(
            "{kind: lab, analyte: platelets, comparator: '>=', value: 1_000, unit: 10^9/L}"
        ),
        "criterion I1: line 9: $.criteria[0].rule.value",
        "Input should be a valid number (got '1_000')",
    ),
    (
        "quoted number",
        HEAD + criterion("{kind: age, min: '18'}"),
        "criterion I1: line 9: $.criteria[0].rule.min",
        "Input should be a valid number (got '18')",
    ),
    (
        "YAML !!bool yes",
        HEAD + criterion("{kind: condition, condition: HIV, active: !!bool yes}"),
        "line 9, column 53",
        "cannot read 'yes': not a YAML 1.2 bool",
    ),
    (
        "bidi override in a criterion id",
        HEAD + criterion("{kind: age, minn: 18}", cid="I\u202e1"),
        "criterion I<U+202E>1: line 9: $.criteria[0].rule.minn",
        "unknown field",
    ),
    (
        "byte order mark starting a line",
        HEAD + criterion("{kind: pregnancy}") + "\ufeff" + criterion("{kind: pregnancy}", "I2"),
        "line 10, column 1",
        "byte order mark (U+FEFF) at the start of a line; remove it",
    ),
    # what validate accepted and screen could not evaluate (overflow, or a bound anything meets)
    (
        "window of 10^9 days",
        HEAD
        + criterion("{kind: condition, condition: HIV, within: {amount: 1000000000, unit: days}}"),
        "criterion I1: line 9: $.criteria[0].rule.within",
        "a window of 1000000000 days is longer than 54750 days (150 years)",
    ),
    (
        "window of 151 years",
        HEAD
        + criterion("{kind: therapy, agents: [sorafenib], within: {amount: 151, unit: years}}"),
        "criterion I1: line 9: $.criteria[0].rule.within",
        "a window of 151 years is longer than 54750 days",
    ),
    (
        "window of 1e309 months",
        HEAD
        + criterion("{kind: therapy, agents: [sorafenib], within: {amount: 1e309, unit: months}}"),
        "criterion I1: line 9: $.criteria[0].rule.within.amount",
        "number out of range (inf is not a finite number)",
    ),
    (
        "age max 1e309",
        HEAD + criterion("{kind: age, max: 1e309}"),
        "criterion I1: line 9: $.criteria[0].rule.max",
        "number out of range (inf is not a finite number)",
    ),
    (
        "age max 1e300",
        HEAD + criterion("{kind: age, max: 1e300}"),
        "criterion I1: line 9: $.criteria[0].rule.max",
        "Input should be less than or equal to 150",
    ),
    (
        "negative platelet bound",
        HEAD
        + criterion("{kind: lab, analyte: platelets, comparator: '>=', value: -100, unit: 10^9/L}"),
        "criterion I1: line 9: $.criteria[0].rule.value",
        "a bound on platelet count cannot be negative (got -100)",
    ),
    (
        "negative vital bound",
        HEAD
        + criterion(
            "{kind: vital, name: systolic blood pressure, comparator: '<', value: -5, unit: mmHg}"
        ),
        "criterion I1: line 9: $.criteria[0].rule.value",
        "a bound on systolic blood pressure cannot be negative (got -5)",
    ),
    (
        "YAML .nan",
        HEAD + criterion("{kind: lab, analyte: alt, comparator: '<', value: .nan, unit: U/L}"),
        "criterion I1: line 9: $.criteria[0].rule.value",
        "not a finite number",
    ),
    (
        "YAML .inf",
        HEAD + criterion("{kind: age, max: .inf}"),
        "criterion I1: line 9: $.criteria[0].rule.max",
        "not a finite number",
    ),
    (
        "non-text key",
        HEAD + criterion("{kind: pregnancy, 1: x}"),
        "criterion I1: line 9: $.criteria[0].rule",
        "mapping keys must be text (got 1)",
    ),
    (
        "control character in text",
        HEAD + criterion("{kind: pregnancy}").replace("'t'", '"\\e[2J"'),
        "criterion I1: line 8: $.criteria[0].text",
        "contains a control character (U+001B",
    ),
    (
        "malformed YAML",
        "trial: [unclosed\n",
        "line 2, column 1",
        "malformed YAML: expected ',' or ']', but got '<stream end>'",
    ),
    ("top-level list", "- 1\n", None, "expected a mapping with schema_version, trial and criteria"),
    ("empty rules file", "", None, "file is empty"),
    ("non-UTF-8 rules file", b"trial: caf\xe9\n", "line 1", "not UTF-8 text (byte 0xe9"),
    (
        "unknown kind",
        HEAD + criterion("{kind: magic}"),
        "criterion I1: line 9: $.criteria[0].rule",
        "Input tag 'magic' found using 'kind' does not match",
    ),
    (
        "empty any",
        HEAD + criterion("{kind: any, rules: []}"),
        "criterion I1: line 9: $.criteria[0].rule.rules",
        "List should have at least 1 item after validation, not 0",
    ),
    (
        "empty all",
        HEAD + criterion("{kind: all, rules: []}"),
        "criterion I1: line 9: $.criteria[0].rule.rules",
        "List should have at least 1 item",
    ),
    (
        "min age above max age",
        HEAD + criterion("{kind: age, min: 80, max: 18}"),
        "criterion I1: line 9: $.criteria[0].rule",
        "min age 80 is above max age 18",
    ),
    (
        "duplicate criterion ids",
        HEAD + criterion("{kind: pregnancy}") + criterion("{kind: pregnancy}"),
        "criterion I1: line 10: $.criteria[1].id",
        "criterion id 'I1' is used twice (first at $.criteria[0])",
    ),
    (
        "unknown field in a rule",
        HEAD + criterion("{kind: age, minn: 18}"),
        "criterion I1: line 9: $.criteria[0].rule.minn",
        "unknown field",
    ),
]


@pytest.mark.parametrize(
    "name,text,where,message", RULES_ERRORS, ids=[row[0] for row in RULES_ERRORS]
)
def test_rules_error(tmp_path, capsys, name, text, where, message):
    path = write(tmp_path, text)
    assert main(["screen", path, P01]) == 2
    err = capsys.readouterr().err
    prefix = f"error: {path}: " + (f"{where}: " if where else "")
    assert err.startswith(prefix) and message in err, err[:400]
    assert err.count("\n") == 1 and "Traceback" not in err
    assert main(["validate", path]) == 2
    out = capsys.readouterr().out
    assert out.startswith(prefix[len("error: ") :]) and message in out, out[:400]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


LOADERS = sorted(yamlcore.LOADERS)  # ["c", "pure"], or ["pure"] where PyYAML lacks libyaml

YAML_12 = [
    # (plain scalar as written, value read): the YAML 1.2 core schema, not PyYAML's YAML 1.1
    ("1:15", "1:15"),  # YAML 1.1: 75 (base 60)
    ("012", 12),  # YAML 1.1: 10 (octal)
    ("0o14", 12),
    ("0x0C", 12),
    ("1_000", "1_000"),  # YAML 1.1: 1000
    ("1e3", 1000.0),  # YAML 1.1: the text "1e3"
    ("-.5", -0.5),
    ("1e309", math.inf),  # then refused as not finite
    ("yes", "yes"),  # YAML 1.1: true
    ("off", "off"),  # YAML 1.1: false
    ("True", True),
    ("FALSE", False),
    ("~", None),
    ("", None),
    ("2024-01-01", "2024-01-01"),  # YAML 1.1: a date
    ("2024-13-45", "2024-13-45"),  # YAML 1.1: an error
    ("'012'", "012"),
    ("!!float 12", 12.0),
    ("!!str 12", "12"),
]


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("written,value", YAML_12, ids=[row[0] or "empty" for row in YAML_12])
def test_rules_yaml_is_read_as_yaml_1_2(loader, written, value):
    data, _ = yamlcore.load(f"v: {written}\n", 64, loader)
    assert data["v"] == value and type(data["v"]) is type(value)


SAME_READING = [(row[0], row[1]) for row in RULES_ERRORS] + [
    ("seed " + p.name, p.read_text(encoding="utf-8"))
    for p in sorted((ROOT / "rules").glob("*.yaml"))
]


@pytest.mark.skipif("c" not in yamlcore.LOADERS, reason="PyYAML is built without libyaml")
@pytest.mark.parametrize("name,text", SAME_READING, ids=[row[0] for row in SAME_READING])
def test_rules_read_the_same_with_and_without_libyaml(tmp_path, monkeypatch, name, text):
    """libyaml is only faster: the same data, lines and refusals as PyYAML's pure parser."""
    path = write(tmp_path, text)
    monkeypatch.setattr(yamlcore, "DEFAULT", "pure")
    expected = rules_problems(path)
    monkeypatch.setattr(yamlcore, "DEFAULT", "c")
    assert rules_problems(path) == expected
    if not expected:
        pure, pure_nodes = yamlcore.load(text, 64, "pure")
        data, nodes = yamlcore.load(text, 64, "c")
        assert data == pure and _marks(nodes) == _marks(pure_nodes)


def _marks(node: object) -> list[tuple[int, int]]:
    """Line and column of every node, depth first."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append((n.start_mark.line, n.start_mark.column))
        if isinstance(n.value, list):
            stack.extend(
                v for item in n.value for v in (item if isinstance(item, tuple) else (item,))
            )
    return out


def test_rules_file_over_the_size_limit(tmp_path, capsys):
    path = write(tmp_path, HEAD + "# " + "x" * (1024 * 1024) + "\n")
    assert main(["validate", path]) == 2
    assert "file is larger than the 1 MiB limit for a rules file" in capsys.readouterr().out


def test_rules_file_at_the_size_limit_reads_in_bounded_time(tmp_path):
    """Worst realistic case: 1 MiB of criteria, read and validated in a few seconds."""
    one = criterion("{kind: lab, analyte: alt, comparator: '<=', multiple: 3, of: ULN}", "ID")
    body = "".join(one.replace("ID", f"C{i}") for i in range(1024 * 1024 // len(one) - 1000))
    path = write(tmp_path, HEAD + body)
    assert rules_problems(path) == []  # timing lives in bench/, not in a unit test


def test_validate_lists_every_problem(tmp_path):
    path = write(
        tmp_path, HEAD + criterion("{kind: age, min: 80, max: 18}") + criterion("{kind: sex}", "I2")
    )
    problems = rules_problems(path)
    assert len(problems) == 2
    assert (
        problems[1]
        == f"{path}: criterion I2: line 13: $.criteria[1].rule.allowed: required field is missing"
    )


# --- semantic checks (validate only: the file loads and screens) ---------------------------

SEMANTIC = [
    # (name, rule, extra criterion lines, path, message)
    (
        "lab with an unknown analyte",
        "{kind: lab, analyte: XYZ, comparator: '<=', value: 3, unit: U/L}",
        "",
        "$.criteria[0].rule.analyte",
        "unknown analyte 'XYZ' (not in the vocabulary)",
    ),
    (
        "unknown measurement",
        "{kind: vital, name: aura, comparator: '<', value: 3}",
        "",
        "$.criteria[0].rule.name",
        "unknown measurement 'aura'",
    ),
    (
        "condition not in the vocabulary",
        "{kind: condition, condition: dragon pox}",
        "",
        "$.criteria[0].rule.condition",
        "unknown condition 'dragon pox'",
    ),
    (
        "exception not in the vocabulary",
        "{kind: condition, condition: HIV, except: [spattergroit]}",
        "",
        "$.criteria[0].rule.except[0]",
        "unknown condition 'spattergroit'",
    ),
    (
        "drug not in the vocabulary",
        "{kind: therapy, agents: [nivolumab, felix felicis]}",
        "",
        "$.criteria[0].rule.agents[1]",
        "unknown drug or drug class 'felix felicis'",
    ),
    (
        "ULN multiple without a normal range",
        "{kind: lab, analyte: creatinine clearance, comparator: '>=', multiple: 1, of: LLN}",
        "",
        "$.criteria[0].rule.of",
        "creatinine clearance is a measure without a laboratory normal range",
    ),
    (
        "unit not convertible",
        "{kind: lab, analyte: ALT, comparator: '<=', value: 3, unit: mg/dL}",
        "",
        "$.criteria[0].rule.unit",
        "unit mg/dL cannot be converted to U/L for alanine aminotransferase",
    ),
    (
        "unit unknown",
        "{kind: lab, analyte: ALT, comparator: '<=', value: 3, unit: furlongs}",
        "",
        "$.criteria[0].rule.unit",
        "unknown unit 'furlongs'",
    ),
    (
        "absolute bound without a unit",
        "{kind: lab, analyte: platelets, comparator: '>=', value: 100}",
        "",
        "$.criteria[0].rule.unit",
        "no unit given for platelet count (measured in 10^9/L)",
    ),
    (
        "not of a manual",
        "{kind: not, rule: {kind: manual, reason: consent}}",
        "",
        "$.criteria[0].rule.rule",
        "`not` of a manual rule",
    ),
    (
        "age bounds meet exclusively",
        "{kind: age, min: 18, max: 18, max_inclusive: false}",
        "",
        "$.criteria[0].rule",
        "no age satisfies both bounds at 18 years",
    ),
    (
        "ECOG set outside the bounds",
        "{kind: performance, scale: ecog, allowed: [0, 1], min: 2}",
        "",
        "$.criteria[0].rule",
        "no ecog value satisfies",
    ),
    (
        "Karnofsky off the 10-point scale",
        "{kind: performance, scale: karnofsky, allowed: [75]}",
        "",
        "$.criteria[0].rule.allowed",
        "Karnofsky is given in steps of 10; 75 can never match",
    ),
    (
        "Child-Pugh class outside the score bounds",
        "{kind: child_pugh, classes: [A], min_score: 7}",
        "",
        "$.criteria[0].rule",
        "no Child-Pugh class and score satisfy",
    ),
    (
        "span outside the source",
        "{kind: pregnancy}",
        "    span: {start: 5, end: 500}\n",
        "$.criteria[0].span",
        "span 5–500 is outside the source (24 characters)",
    ),
    (
        "text differs from the source",
        "{kind: pregnancy}",
        "    span: {start: 0, end: 8}\n",
        "$.criteria[0].text",
        "text differs from the source at span 0–8",
    ),
]


@pytest.mark.parametrize("name,rule,extra,path,message", SEMANTIC, ids=[row[0] for row in SEMANTIC])
def test_semantic_problem(tmp_path, capsys, name, rule, extra, path, message):
    (tmp_path / "src.txt").write_text("Inclusion: ECOG 0-1 only", encoding="utf-8")
    file = write(tmp_path, HEAD + criterion(rule, text="ECOG 0-2", extra=extra))
    assert main(["validate", file]) == 2
    out = capsys.readouterr().out
    line = (
        9 + extra.count("\n")
        if path.startswith("$.criteria[0].rule")
        else 8 + (path.endswith("span") and 1)
    )
    assert (
        out
        == f"{file}: criterion I1: line {line}: {path}: {message}"
        + out[out.index(message) + len(message) :]
    )
    assert out.count("\n") == 1
    load_rules(file)  # loads: these are for validate, screen still works


def test_span_matching_the_source_is_fine(tmp_path):
    (tmp_path / "src.txt").write_text("Inclusion: ECOG 0-1 only", encoding="utf-8")
    extra = "    span: {start: 11, end: 19}\n"
    file = write(
        tmp_path,
        HEAD + criterion("{kind: performance, scale: ecog, max: 1}", text="ECOG 0-1", extra=extra),
    )
    assert rules_problems(file) == []


def test_source_outside_the_tree_is_not_read(tmp_path):
    """``trial.source: ../x`` or an absolute path is not followed, so no span is checked."""
    (tmp_path / "secret.txt").write_text("x", encoding="utf-8")
    sub = tmp_path / "rules"
    sub.mkdir()
    for source in ("../secret.txt", str(tmp_path / "secret.txt")):
        text = HEAD.replace("src.txt", source) + criterion(
            "{kind: pregnancy}", extra="    span: {start: 0, end: 99}\n"
        )
        assert rules_problems(write(sub, text)) == []


def test_seed_rules_validate_clean():
    assert rules_problems(HCC) == [] and rules_problems(ICC) == []


# --- evaluation of doubtful but valid data: unknown with a reason, never a guess -----------

AS_OF = date(2024, 3, 1)


def run(tmp_path: Path, rule: str, **fields: object):
    rules = load_rules(write(tmp_path, HEAD + criterion(rule)))
    patient = Patient.model_validate({"id": "x", **fields})
    return screen(rules, patient, AS_OF).criteria[0]


ALT_LE_120 = "{kind: lab, analyte: ALT, comparator: '<=', value: 120, unit: U/L}"
BILI_LE_2 = "{kind: lab, analyte: bilirubin, comparator: '<=', value: 2, unit: mg/dL}"
ALT_3ULN = "{kind: lab, analyte: ALT, comparator: '<=', multiple: 3, of: ULN}"

EVALUATION = [
    # (name, rule, profile fields, status, reason fragment)
    (
        "lab without a unit",
        ALT_LE_120,
        {"labs": [{"test": "ALT", "value": 85, "date": "2024-02-20"}]},
        "unknown",
        "ALT 85 on 2024-02-20 has no unit; needs ≤ 120 U/L",
    ),
    (
        "lab with an empty unit",
        ALT_LE_120,
        {"labs": [{"test": "ALT", "value": 85, "unit": " ", "date": "2024-02-20"}]},
        "unknown",
        "has no unit",
    ),
    (
        "unitless analyte without a unit",
        "{kind: lab, analyte: INR, comparator: '<', value: 1.5}",
        {"labs": [{"test": "INR", "value": 1.1, "date": "2024-02-20"}]},
        "pass",
        "INR 1.1",
    ),
    (
        "lab in an unknown unit",
        ALT_LE_120,
        {"labs": [{"test": "ALT", "value": 85, "unit": "furlongs", "date": "2024-02-20"}]},
        "unknown",
        "unknown unit 'furlongs'",
    ),
    (
        "lab in a unit that does not convert",
        ALT_LE_120,
        {"labs": [{"test": "ALT", "value": 85, "unit": "mg/dL", "date": "2024-02-20"}]},
        "unknown",
        "cannot convert mg/dL to U/L",
    ),
    (
        "mixed units, newest counts",
        BILI_LE_2,
        {
            "labs": [
                {"test": "TBIL", "value": 1.0, "unit": "mg/dL", "date": "2024-01-01"},
                {"test": "bilirubin", "value": 51.3, "unit": "µmol/L", "date": "2024-02-20"},
            ]
        },
        "fail",
        "total bilirubin 51.3 µmol/L = 2.999 mg/dL on 2024-02-20; needs ≤ 2 mg/dL",
    ),
    (
        "unknown test",
        ALT_LE_120,
        {"labs": [{"test": "SGPT-x", "value": 85, "unit": "U/L", "date": "2024-02-20"}]},
        "unknown",
        "no ALT result (1 unrecognised test not matched: 'SGPT-x')",
    ),
    (
        "lab dated after the as-of date",
        ALT_LE_120,
        {"labs": [{"test": "ALT", "value": 85, "unit": "U/L", "date": "2024-06-01"}]},
        "unknown",
        "no ALT result",
    ),
    (
        "absurdly high but possible lab",
        ALT_LE_120,
        {"labs": [{"test": "ALT", "value": 50000, "unit": "U/L", "date": "2024-02-20"}]},
        "fail",
        "ALT 50000 U/L",
    ),
    (
        "ULN multiple without ref_high",
        ALT_3ULN,
        {"labs": [{"test": "ALT", "value": 85, "unit": "U/L", "date": "2024-02-20"}]},
        "unknown",
        "no ULN given",
    ),
    (
        "ULN multiple with ref_high 0",
        ALT_3ULN,
        {
            "labs": [
                {"test": "ALT", "value": 85, "unit": "U/L", "ref_high": 0, "date": "2024-02-20"}
            ]
        },
        "unknown",
        "no ULN given",
    ),
    (
        "birth date after the as-of date",
        "{kind: age, min: 18}",
        {"birth_date": "2030-01-01"},
        "unknown",
        "birth date 2030-01-01 is after the as-of date",
    ),
    ("no birth date or age", "{kind: age, min: 18}", {}, "unknown", "age not recorded"),
]


@pytest.mark.parametrize(
    "name,rule,fields,status,reason", EVALUATION, ids=[row[0] for row in EVALUATION]
)
def test_evaluation_of_doubtful_data(tmp_path, name, rule, fields, status, reason):
    result = run(tmp_path, rule, **fields)
    assert result.status == status and reason in result.reason, result.reason


def test_unknown_tests_are_kept_and_listed():
    patient = Patient.model_validate(
        {"id": "x", "labs": [{"test": "SGPT-x", "value": 85, "unit": "U/L"}]}
    )
    assert patient.labs[0].test == "SGPT-x"
    assert build_facts(patient, AS_OF).unresolved_tests == ("SGPT-x",)


# --- JSONL and JSON lists -------------------------------------------------------------------


def outcomes(path: str) -> list[str]:
    return [str(x) if isinstance(x, InputError) else f"ok {x.id}" for x in iter_patients(path)]


def test_jsonl_bad_lines_are_located_and_skipped(tmp_path):
    lines = [
        b'\xef\xbb\xbf{"id": "a"}',  # BOM on the first line: accepted
        b"",
        b'{"id": "b", "ecog": 9}',
        b'{"id": "caf\xe9"}',
        b'{"id": "' + b"x" * (1024 * 1024 + 10) + b'"}',
        b"[1]",
        b'{"id": "c"}',
    ]
    path = write(tmp_path, b"\n".join(lines) + b"\n", "c.jsonl")
    assert outcomes(path) == [
        "ok a",
        f"{path}: line 3: $.ecog: Input should be less than or equal to 5 (got 9)",
        f"{path}: line 4: not UTF-8 text (byte 0xe9 at column 12)",
        f"{path}: line 5: line is longer than the 1 MiB limit",
        f"{path}: line 6: expected a JSON object (one patient profile), got an array",
        "ok c",
    ]


def test_empty_cohort_files(tmp_path):
    assert outcomes(write(tmp_path, b"\n\n", "c.jsonl")) == [
        f"{tmp_path / 'c.jsonl'}: file is empty"
    ]
    assert outcomes(write(tmp_path, b"[]", "c.json")) == [
        f"{tmp_path / 'c.json'}: the list of profiles is empty"
    ]


def test_json_list_errors_name_the_item(tmp_path):
    path = write(
        tmp_path, b'[{"id": "a"}, {"id": "b", "labs": [{"test": "ALT", "value": -1}]}]', "c.json"
    )
    assert (
        outcomes(path)[1]
        == f"{path}: $[1].labs[0].value: ALT cannot be negative (alanine aminotransferase) (got -1)"
    )


# --- determinism ----------------------------------------------------------------------------


def test_same_inputs_give_byte_identical_json_across_processes():
    """Two processes with different hash seeds: set iteration order must not leak into output."""
    outputs = []
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        args = ["screen", ICC, str(ROOT / "examples/patients/p09_indeterminate_missing_labs.json")]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "eligibility",
                *args,
                "--format",
                "json",
                "--as-of",
                "2024-03-01",
            ],
            capture_output=True,
            env=env,
            check=False,
        )
        assert proc.returncode == 3, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]


def test_no_clock_below_screen():
    """Only the entry points (``screen()`` and the CLI) may read today's date."""
    for path in sorted((ROOT / "src/eligibility").rglob("*.py")):
        if path.parent.name == "eligibility" and path.name in ("__init__.py", "cli.py"):
            continue
        code = path.read_text(encoding="utf-8")
        found = re.findall(r"\.(?:today|now|utcnow)\(|\btime\.time\(", code)
        assert not found, f"{path.relative_to(ROOT)} reads the clock: {found}"


# --- the documentation's table is backed by tests -------------------------------------------

SHORTHAND = {
    "E": "test_errors.py::test_profile_error",
    "R": "test_hardening.py::test_rules_error",
    "S": "test_hardening.py::test_semantic_problem",
    "V": "test_hardening.py::test_evaluation_of_doubtful_data",
    "N": "test_evaluate.py::test_results_never_mislead",
}


def test_every_documented_row_names_an_existing_test(request):
    """Each test named in the README's hostile-input table exists, so a row cannot outlive its
    evidence."""
    doc = ROOT / "README.md"
    collected = {item.nodeid.split("/")[-1] for item in request.session.items}
    named = {item.nodeid.split("::")[-1].split("[")[0] for item in request.session.items}
    if not any("::test_profile_error[" in n for n in collected):
        pytest.skip("run with the whole suite to see every test")
    missing = []
    text = doc.read_text(encoding="utf-8")
    table = text[text.index("## Hostile input") :].split("\n## ")[0]
    # line by line: a code fence elsewhere must not pair one row's backticks with the next's
    ticks = [t for line in table.splitlines() for t in re.findall(r"`([^`]+)`", line)]
    assert any(t.startswith("E[") for t in ticks) and any(t.startswith("N[") for t in ticks)
    for tick in ticks:
        short = re.fullmatch(r"([ERSVN])\[(.+)\]", tick)
        if short and short.group(2) != "...":
            if f"{SHORTHAND[short.group(1)]}[{short.group(2)}]" not in collected:
                missing.append(tick)
        elif (
            re.fullmatch(r"(tests/\S+::)?test_\w+", tick)
            and "grammar" not in tick
            and tick.split("::")[-1] not in named
        ):
            missing.append(tick)
    assert not missing, f"README.md names tests that do not exist: {missing}"
