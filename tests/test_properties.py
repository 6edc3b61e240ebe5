"""Hypothesis properties of the evaluator and the rules format."""

from __future__ import annotations

from datetime import date

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility.evaluate import build_facts, compile_rule
from eligibility.loaders import load_rules
from eligibility.model import LabRule, RuleSet
from eligibility.patient import Patient
from eligibility.reasons import explain
from eligibility.result import Truth

AS_OF = date(2024, 3, 1)
values = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


def truth(rule: LabRule, value: float, unit: str, uln: float | None = None) -> Truth:
    lab = {"test": rule.analyte, "value": value, "unit": unit, "date": "2024-02-01"}
    if uln is not None:
        lab["ref_high"] = uln
    facts = build_facts(Patient.model_validate({"id": "p", "labs": [lab]}), AS_OF)
    return explain(compile_rule(rule), facts).truth


@settings(max_examples=200, deadline=None)
@given(
    threshold=st.floats(min_value=0.01, max_value=1000, allow_nan=False),
    a=values,
    b=values,
    unit=st.sampled_from(["mg/dL", "umol/L", "µmol/L"]),
)
def test_raising_a_value_never_turns_fail_into_pass_under_le(threshold, a, b, unit):
    """For `value <= threshold`: if the lower value fails, the higher one must fail too."""
    rule = LabRule(analyte="total_bilirubin", comparator="<=", value=threshold, unit="mg/dL")
    lo, hi = sorted((a, b))
    if truth(rule, lo, unit) is Truth.FALSE:
        assert truth(rule, hi, unit) is Truth.FALSE


@settings(max_examples=200, deadline=None)
@given(multiple=st.floats(min_value=0.5, max_value=10), a=values, b=values,
       uln=st.floats(min_value=1, max_value=500))  # fmt: skip
def test_uln_multiple_is_monotonic(multiple, a, b, uln):
    rule = LabRule(analyte="alt", comparator="<=", multiple=multiple, of="ULN")
    lo, hi = sorted((a, b))
    if truth(rule, lo, "U/L", uln) is Truth.FALSE:
        assert truth(rule, hi, "U/L", uln) is Truth.FALSE


@settings(max_examples=100, deadline=None)
@given(threshold=st.floats(min_value=0.01, max_value=1000, allow_nan=False), a=values, b=values)
def test_lowering_a_value_never_turns_fail_into_pass_under_ge(threshold, a, b):
    rule = LabRule(analyte="platelets", comparator=">=", value=threshold, unit="10^9/L")
    lo, hi = sorted((a, b))
    if truth(rule, hi, "10^3/uL") is Truth.FALSE:
        assert truth(rule, lo, "10^3/uL") is Truth.FALSE


def test_seed_rules_round_trip(root):
    """Rules -> YAML -> rules is lossless for the hand-written seed files."""
    for path in sorted((root / "rules").glob("*.yaml")):
        rules = load_rules(path)
        dumped = yaml.safe_dump(rules.model_dump(mode="json", by_alias=True, exclude_defaults=True))
        assert RuleSet.model_validate(yaml.safe_load(dumped)) == rules


def test_seed_spans_point_at_the_text(root):
    for path in sorted((root / "rules").glob("*.yaml")):
        rules = load_rules(path)
        source = (root / rules.trial.source).read_text(encoding="utf-8")
        for c in rules.criteria:
            assert c.span is not None, c.id
            assert source[c.span.start : c.span.end] == c.text, c.id
