"""Bounded, deterministic fuzzing of the loaders, validate and the evaluator (hypothesis).

Properties: loading any bytes raises nothing but ``InputError``; ``rules_problems`` never
raises; a profile or rules file that loads can be screened and reported without an exception;
text that loads comes back unchanged. ``derandomize=True`` makes every run draw the same
examples, and the example counts keep the whole file to a few seconds. For a longer, random
run: ``ELIGIBILITY_FUZZ_SCALE=50 pytest tests/test_fuzz_loaders.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rich.console import Console

from eligibility import load_patient, load_rules, screen, yamlcore
from eligibility.errors import InputError
from eligibility.evaluate import build_facts, compile_rules, statuses
from eligibility.loaders import (
    iter_patients,
    parse_json,
    patient_from_data,
    rules_problems,
    tree_problem,
)
from eligibility.reasons import evaluate
from eligibility.report import render_table, to_json

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [load_rules(ROOT / "rules/NCT03859128.yaml"), load_rules(ROOT / "rules/NCT04669496.yaml")]
SEED_DATA = yaml.safe_load((ROOT / "rules/NCT04669496.yaml").read_text(encoding="utf-8"))
P01 = load_patient(ROOT / "examples/patients/p01_eligible_hcc.json")
EXAMPLES = [load_patient(p) for p in sorted((ROOT / "examples/patients").glob("*.json"))]
AS_OF = date(2024, 3, 1)


SCALE = int(os.environ.get("ELIGIBILITY_FUZZ_SCALE", "0"))
"""0 (CI): fixed examples, the same every run. N > 0: N times as many, freshly random."""


def fuzz(n: int) -> settings:
    return settings(
        max_examples=n * max(SCALE, 1),
        derandomize=SCALE == 0,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --- strategies -----------------------------------------------------------------------------

# Criteria and chart text as it arrives from registries, PDFs and spreadsheets.
FRAGMENTS = [
    "０１２３４５６７８９", "\u00a0", "\u2009", "\u202f", "≤", "≥", "⩽", "⩾", "≦", "≧", "<=", ">=", "=<",
    "×", "✕", "x", "X", "*", "µ", "μ", "u", "mcg", "10⁹/L", "10^9/L", "10*9/l", "×10³/µL", "/mm³",
    "&lt;", "&gt;", "&amp;", "&#8804;", "&le;", "\\>", "\\<", "\\*", "**", "__", "`", "[x](y)",
    "ULN", "× ULN", "3 x ULN", "ECOG 0–1", "−5", "—", "'", '"', "\\", ":", "- ", "#", "&a", "*a",
    "!!python/object", "{", "}", "[", "]", "\t", "\n", "\r\n", "\ufeff", "\u200b", "\u202e",
    "ALT", "AST", "bilirubin", "creatinine", "HIV", "nivolumab", "年龄", "≥ 18 岁", "é", "🙂",
]  # fmt: skip
tricky_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=25).map(
    "".join
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    tricky_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

TESTS = ["ALT", "SGPT", "AST", "total bilirubin", "TBIL", "platelets", "ANC", "hemoglobin",
         "albumin", "INR", "creatinine", "creatinine clearance", "T3", "T4", "CA19-9",
         "HBV DNA", "1742-6", "foo", ""]  # fmt: skip
UNITS = ["U/L", "IU/L", "mg/dL", "µmol/L", "umol/L", "g/dL", "g/L", "10^9/L", "10^3/uL", "/mm3",
         "mL/min", "nmol/L", "1", "", "furlongs", "%", "copies/mL", "IU/mL"]  # fmt: skip
iso_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)).map(date.isoformat)
numbers = st.one_of(
    st.floats(min_value=-1e6, max_value=1e12, allow_nan=False),
    st.integers(min_value=-10, max_value=10**6),
)


# Numbers a rules file may hold that overflow date arithmetic or make a bound meaningless.
EXTREMES = [0, -1, -100, 1e-300, 150, 151, 54750, 54751, 10**9, 1e300, -1e300, 10**30]
rule_numbers = st.one_of(numbers, st.sampled_from(EXTREMES))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly well-typed, sometimes anything: a fuzzer that only sends junk tests nothing."""
    return st.integers(0, 15).flatmap(lambda i: json_values if i == 7 else strategy)


dates = maybe(iso_dates)


labs = st.fixed_dictionaries(
    {"test": maybe(st.sampled_from(TESTS)), "value": maybe(numbers)},
    optional={
        "unit": maybe(st.sampled_from(UNITS)),
        "ref_low": maybe(numbers),
        "ref_high": maybe(numbers),
        "date": maybe(iso_dates),
    },
)
profiles = st.fixed_dictionaries(
    {"id": maybe(st.text(min_size=1, max_size=10))},
    optional={
        "sex": maybe(st.sampled_from(["female", "male"])),
        "birth_date": maybe(dates),
        "age": maybe(st.floats(0, 130)),
        "screening_date": maybe(iso_dates),
        "ecog": maybe(st.integers(0, 5)),
        "karnofsky": maybe(st.integers(0, 12).map(lambda k: k * 10)),
        "child_pugh": maybe(
            st.one_of(st.sampled_from(["A", "b", "C", "D"]), st.fixed_dictionaries({}, optional={"class": st.sampled_from("ABC"), "score": st.integers(3, 16)}))
        ),
        "labs": maybe(st.lists(labs, max_size=6)),
        "vitals": maybe(st.lists(st.fixed_dictionaries({"name": st.sampled_from(["systolic blood pressure", "weight", "x"]), "value": numbers}, optional={"unit": st.sampled_from(["mmHg", "kg", "cm", ""])}), max_size=3)),
        "conditions": maybe(st.lists(st.fixed_dictionaries({}, optional={"name": maybe(st.sampled_from(["HIV", "hepatitis B", "autoimmune disease", "cirrhosis", "x"])), "code": maybe(st.sampled_from(["B20", "C22.0", "K74", "Z99"])), "status": maybe(st.sampled_from(["active", "resolved"])), "onset": dates, "end": dates}), max_size=4)),
        "treatments": maybe(st.lists(st.fixed_dictionaries({"name": maybe(st.sampled_from(["nivolumab", "sorafenib", "PD-1 inhibitor", "prednisone", "x"]))}, optional={"start": dates, "end": dates}), max_size=4)),
        "pregnant": maybe(st.booleans()),
        "breastfeeding": maybe(st.booleans()),
        "reviews": maybe(st.lists(st.fixed_dictionaries({"trial": st.sampled_from(["NCT03859128", "NCT04669496"]), "criterion": st.sampled_from(["I1", "I5", "E2", "x"]), "status": maybe(st.sampled_from(["pass", "fail"]))}), max_size=3)),
    },
)  # fmt: skip
junk_profiles = st.integers(0, 7).flatmap(
    lambda i: json_values if i == 3
    else st.builds(lambda p, k, v: {**p, k: v}, profiles, st.text(max_size=6), json_values) if i == 4
    else profiles
)  # fmt: skip

COMPARATORS = maybe(st.sampled_from(["<", "<=", ">", ">="]))
leaf_rules = st.one_of(
    st.fixed_dictionaries({"kind": st.just("age"), "min": maybe(st.one_of(st.integers(0, 60), rule_numbers))}, optional={"max": maybe(st.one_of(st.integers(40, 120), rule_numbers)), "min_inclusive": st.booleans(), "max_inclusive": st.booleans()}),
    st.fixed_dictionaries({"kind": st.just("sex"), "allowed": maybe(st.lists(st.sampled_from(["female", "male", "x"]), max_size=2))}),
    st.fixed_dictionaries({"kind": st.just("performance"), "scale": st.sampled_from(["ecog", "karnofsky", "x"])}, optional={"allowed": st.lists(st.integers(-1, 110), max_size=3), "min": st.integers(-1, 110), "max": st.integers(-1, 110)}),
    st.fixed_dictionaries({"kind": st.just("child_pugh")}, optional={"classes": st.lists(st.sampled_from("ABCD"), max_size=2), "min_score": st.integers(3, 16), "max_score": st.integers(3, 16)}),
    st.fixed_dictionaries({"kind": st.just("lab"), "analyte": maybe(st.sampled_from(TESTS)), "comparator": COMPARATORS}, optional={"value": maybe(rule_numbers), "unit": maybe(st.sampled_from(UNITS)), "multiple": maybe(rule_numbers), "of": st.sampled_from(["ULN", "LLN", "x"])}),
    st.fixed_dictionaries({"kind": st.sampled_from(["vital", "measure"]), "name": maybe(st.sampled_from([*TESTS, "systolic blood pressure"])), "comparator": COMPARATORS, "value": maybe(rule_numbers)}, optional={"unit": maybe(st.sampled_from([*UNITS, "mmHg"]))}),
    st.fixed_dictionaries({"kind": st.just("condition"), "condition": maybe(st.sampled_from(["HIV", "hepatitis B", "autoimmune disease", "x"]))}, optional={"active": st.booleans(), "within": st.fixed_dictionaries({"amount": rule_numbers, "unit": st.sampled_from(["days", "months", "x"])}), "except": st.lists(st.sampled_from(["vitiligo", "x"]), max_size=2), "if_absent": st.sampled_from(["absent", "unknown", "x"])}),
    st.fixed_dictionaries({"kind": st.just("therapy"), "agents": maybe(st.lists(st.sampled_from(["PD-1 inhibitor", "sorafenib", "x"]), max_size=2))}, optional={"within": st.fixed_dictionaries({"amount": rule_numbers, "unit": st.sampled_from(["weeks", "years"])})}),
    st.fixed_dictionaries({"kind": st.sampled_from(["pregnancy", "breastfeeding"])}),
    st.fixed_dictionaries({"kind": st.just("manual"), "reason": maybe(tricky_text.map(lambda t: t + "r"))}),
)  # fmt: skip
leaf_rules = maybe(leaf_rules)
rules = st.recursive(
    leaf_rules,
    lambda inner: st.one_of(
        st.fixed_dictionaries({"kind": st.sampled_from(["all", "any"]), "rules": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"kind": st.just("not"), "rule": inner}),
    ),
    max_leaves=6,
)  # fmt: skip
criteria = st.fixed_dictionaries(
    {"id": maybe(st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=4)), "section": st.sampled_from(["inclusion", "exclusion"]), "text": maybe(tricky_text), "rule": rules},
    optional={"span": maybe(st.tuples(st.integers(0, 15000), st.integers(0, 500)).map(lambda t: {"start": t[0], "end": t[0] + t[1]})), "context": tricky_text, "note": tricky_text},
)  # fmt: skip


def nested(depth: int, in_objects: bool) -> Any:
    """A value ``depth`` containers deep, around a string with brackets that are not nesting."""
    value: Any = "[{"
    for _ in range(depth):
        value = {"a": value} if in_objects else [value]
    return value


def rules_data(crits: list[dict[str, Any]], replace: bool) -> dict[str, Any]:
    data = json.loads(json.dumps(SEED_DATA))
    data["criteria"] = crits if replace else data["criteria"][:3] + crits
    return data


def screened_ok(ruleset: Any, patient: Any) -> None:
    """Screening and both reporters run to the end, and the output is valid UTF-8."""
    result = screen(ruleset, patient, AS_OF)
    text = to_json(result)
    text.encode("utf-8")
    assert json.loads(text)["verdict"] == result.verdict
    render_table(result, Console(file=io.StringIO(), width=120))


def screens_everyone(ruleset: Any) -> None:
    """Every example profile screens, with reasons and without, to the same statuses."""
    compiled = compile_rules(ruleset)
    for patient in EXAMPLES:
        facts = build_facts(patient, AS_OF)
        detailed = [c.status for c in evaluate(compiled, facts).criteria]
        assert statuses(compiled, facts) == detailed, patient.id


# --- properties -----------------------------------------------------------------------------


@fuzz(300)
@given(junk_profiles)
def test_any_profile_loads_or_fails_cleanly_and_screens(data):
    try:
        patient = patient_from_data(data, "p.json")
    except InputError as exc:
        assert exc.file == "p.json" and exc.message
        return
    for ruleset in SEEDS:
        screened_ok(ruleset, patient)


@fuzz(200)
@given(st.lists(criteria, min_size=1, max_size=4), st.booleans())
def test_any_rules_load_or_fail_cleanly_and_screen(scratch, crits, replace):
    path = scratch / "r.yaml"
    path.write_text(
        yaml.safe_dump(rules_data(crits, replace), allow_unicode=True), encoding="utf-8"
    )
    problems = rules_problems(path)
    assert all(isinstance(p, str) and "\n" not in p for p in problems)
    assert not any("internal error" in p for p in problems), problems
    try:
        ruleset = load_rules(path)
    except InputError as exc:
        assert exc.message and problems, "what screen refuses, validate reports"
        return
    screened_ok(ruleset, P01)
    screens_everyone(ruleset)


# Plain YAML scalars as people write them (YAML 1.1 forms, overflow, implausible sizes), in
# each number or yes/no slot of a rule.
SCALARS = ["1:15", "012", "0o17", "0x1F", "1_000", "1e309", "-1e309", "1e300", "10e9", "1e-300",
           "1000000000", "54751", "-100", "0", "151", "18", "18.5", ".inf", "-.inf", ".nan", "~",
           "yes", "off", "true", "2024-01-01", "'18'", "!!float 1e3", "!!int 0x10", "!!int 1_0"]  # fmt: skip
SLOTS = [
    "{kind: age, max: X}",
    "{kind: age, min: X, min_inclusive: false}",
    "{kind: condition, condition: HIV, within: {amount: X, unit: days}}",
    "{kind: therapy, agents: [PD-1 inhibitor], within: {amount: X, unit: years}}",
    "{kind: condition, condition: HIV, active: X}",
    "{kind: lab, analyte: platelets, comparator: '>=', value: X, unit: 10^9/L}",
    "{kind: lab, analyte: ALT, comparator: '<=', multiple: X, of: ULN}",
    "{kind: measure, name: creatinine clearance, comparator: '>=', value: X, unit: mL/min}",
    "{kind: performance, scale: ecog, max: X}",
    "{kind: child_pugh, max_score: X}",
]


def test_what_validate_accepts_screens(scratch):
    """Every slot × scalar: a rule ``validate`` accepts loads and screens every example profile
    with both evaluators; a rule ``screen`` refuses, ``validate`` refuses too."""
    path = scratch / "slot.yaml"
    accepted = 0
    for slot in SLOTS:
        for scalar in SCALARS:
            rule = slot.replace("X", scalar)
            path.write_text(
                "schema_version: 1\ntrial: {id: T}\ncriteria:\n"
                f"  - {{id: I1, section: inclusion, text: t, rule: {rule}}}\n",
                encoding="utf-8",
            )
            problems = rules_problems(path)
            assert not any("internal error" in p for p in problems), problems
            try:
                ruleset = load_rules(path)
            except InputError:
                assert problems, rule
                continue
            if not problems:
                accepted += 1
                screens_everyone(ruleset)
    assert accepted > len(SLOTS)  # the table is not all refusals


@fuzz(300)
@given(
    st.one_of(
        st.binary(max_size=300), tricky_text.map(lambda t: t.encode("utf-8", "surrogatepass"))
    )
)
def test_any_bytes_as_a_file(scratch, raw):
    """Profiles, cohorts and rules files from arbitrary bytes: only InputError, ever."""
    for name in ("p.json", "c.jsonl", "r.yaml"):
        path = scratch / name
        path.write_bytes(raw)
        if name == "r.yaml":
            assert isinstance(rules_problems(path), list)
            loaders = [load_rules]
        else:
            loaders = [load_patient, lambda p: list(iter_patients(p))]
        for load in loaders:
            with contextlib.suppress(InputError):
                load(path)


@fuzz(80)
@given(json_values)
def test_any_json_value_as_a_profile_file(scratch, value):
    path = scratch / "v.json"
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8", errors="surrogatepass")
    try:
        patient = load_patient(path)
    except InputError:
        return
    screened_ok(SEEDS[0], patient)


@fuzz(200)
@given(
    st.one_of(
        st.recursive(
            st.one_of(
                json_scalars, st.text(st.characters(codec=None, exclude_categories=[]), max_size=4)
            ),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=3), inner, max_size=3)
            ),
            max_leaves=30,
        ),
        st.tuples(st.integers(60, 68), st.booleans()).map(lambda t: nested(*t)),
    ),
    st.booleans(),
)
def test_fast_json_checks_agree_with_the_full_walk(value, ascii_only):
    """``parse_json`` skips the per-node walk on clean text; it must refuse exactly what the walk
    would (control characters, surrogates, nesting), escaped or raw."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    expected = tree_problem(value)
    try:
        parse_json(text, "f")
    except InputError as exc:
        assert expected is not None and exc.message == expected[1], (exc, expected)
    else:
        assert expected is None


YAML_FRAGMENTS = [
    "a", "b", ": ", "- ", "? ", "\n", "\r\n", "\r", "  ", "\t", "[", "]", "{", "}", ",", "'", '"', "''",
    "#", "|", ">", "|-", "---", "...", "&x ", "*x", "!!str ", "!!int ", "!!map ", "!t ", "%YAML 1.1\n",
    "\\", "\\n", "1:15", "012", "0x1F", "1_000", ".inf", "~", "yes", "é", "\x85", "\u2028", "\ufeff",
    "\nx: ", "\n- ", "\n  ",
]  # fmt: skip
yaml_texts = st.lists(
    st.one_of(st.sampled_from(YAML_FRAGMENTS), st.text(max_size=3)), max_size=30
).map("".join)


def _read(text: str, loader: str) -> tuple[str, str]:
    try:
        data, _ = yamlcore.load(text, 64, loader)
    except yaml.YAMLError as exc:
        return "error", type(exc).__name__
    return "data", repr(data)  # repr: NaN equals NaN


@pytest.mark.skipif("c" not in yamlcore.LOADERS, reason="PyYAML is built without libyaml")
@fuzz(400)
@given(yaml_texts)
def test_libyaml_reads_what_the_pure_parser_reads(text):
    """What PyYAML's pure parser reads, libyaml reads to the same data (libyaml also accepts
    some YAML that PyYAML wrongly refuses, such as a tab after a value)."""
    pure = _read(text, "pure")
    if pure[0] == "data":
        assert _read(text, "c") == pure


@fuzz(300)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([*YAML_FRAGMENTS, "1e3", "0o14", "1.0e3", "-2E5"]), st.text(max_size=3)
        ),
        max_size=8,
    ).map("".join),
    st.sampled_from(sorted(yamlcore.LOADERS)),
)
def test_rules_written_by_the_tool_read_back_unchanged(text, loader):
    """``parse`` writes with ``yamlcore.dump``: text that YAML 1.2 would read as a number
    (``1e3``, ``0o14``, which PyYAML's dumper leaves plain) is quoted, so it reads back as text."""
    assume(not any(c in text for c in "\x85\u2028\u2029"))  # YAML folds these (see below)
    data = {"text": text, "n": [1, 1.5, -0.0, None, True]}
    assert yamlcore.load(yamlcore.dump(data), 64, loader)[0] == data


@fuzz(80)
@given(tricky_text, tricky_text)
def test_text_survives_loading_unchanged(scratch, text, reason):
    """Criterion text and reasons come back exactly as written, or the file is refused."""
    # YAML reads NEL, LS and PS as line breaks and folds them to spaces, and PyYAML's dumper
    # writes them raw inside quotes: a round trip through YAML itself cannot keep them.
    assume(not any(c in text + reason for c in "\x85\u2028\u2029"))
    crit = {
        "id": "I1",
        "section": "inclusion",
        "text": text,
        "rule": {"kind": "manual", "reason": reason or "r"},
    }
    path = scratch / "t.yaml"
    path.write_text(yaml.safe_dump(rules_data([crit], True), allow_unicode=True), encoding="utf-8")
    try:
        ruleset = load_rules(path)
    except InputError as exc:
        assert "control character" in exc.message or "surrogate" in exc.message, exc
        return
    assert ruleset.criteria[0].text == text
    result = screen(ruleset, P01, AS_OF)
    assert json.loads(to_json(result))["criteria"][0]["text"] == text


def test_hundred_kilobyte_run_on_line(scratch):
    """A 100 KB criterion (no line breaks) loads, validates and screens."""
    text = ("ALT ≤ 3 × ULN and platelets ≥ 100 × 10⁹/L, " * 2400)[:100_000]
    crit = {
        "id": "I1",
        "section": "inclusion",
        "text": text,
        "rule": {"kind": "manual", "reason": text},
    }
    path = scratch / "long.yaml"
    path.write_text(
        yaml.safe_dump(rules_data([crit], True), allow_unicode=True, width=10**7), encoding="utf-8"
    )
    ruleset = load_rules(path)
    assert ruleset.criteria[0].text == text and rules_problems(path) == []
    screened_ok(ruleset, P01)
