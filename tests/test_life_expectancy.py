"""Life expectancy (issue 13): the rule kind, the profile field, the evaluator and its reasons.

The evaluator table names its boundary cases; the phrasings are in tests/data/phrasings.yaml
(real corpus lines, including those that must stay manual).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from eligibility.compiled import FALSE, TRUE, UNKNOWN
from eligibility.coverage import Coverage, add_rule
from eligibility.errors import InputError
from eligibility.evaluate import life_expectancy_truth
from eligibility.loaders import patient_from_data
from eligibility.model import UNIT_DAYS, LifeExpectancyRule
from eligibility.omop.compiler import Refused, _rule
from eligibility.patient_fast import read_clean
from eligibility.transform import parse_criterion
from test_evaluate import AS_OF, run

TODAY = AS_OF.isoformat()


def le(value: float, unit: str, d: str | None = TODAY) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value, "unit": unit}
    if d is not None:
        out["date"] = d
    return {"life_expectancy": out}


def bound(op: str, value: float, unit: str) -> dict[str, Any]:
    return {"kind": "life_expectancy", "comparator": op, "value": value, "unit": unit}


GE12W, GT3M, LT3M = bound(">=", 12, "weeks"), bound(">", 3, "months"), bound("<", 3, "months")
DAYS_AGO = (AS_OF - timedelta(days=30)).isoformat()

CASES = [
    # id, rule, patient, section, expected
    ("≥ 12 weeks: 12 weeks is in", GE12W, le(12, "weeks"), "inclusion", "pass"),
    ("≥ 12 weeks: 11 weeks is out", GE12W, le(11, "weeks"), "inclusion", "fail"),
    ("≥ 12 weeks: 84 days is in", GE12W, le(84, "days"), "inclusion", "pass"),
    ("≥ 12 weeks: 83 days is out", GE12W, le(83, "days"), "inclusion", "fail"),
    ("≥ 12 weeks: 3 months is in (≥ 84 days at any month length)", GE12W, le(3, "months"),
     "inclusion", "pass"),
    ("≥ 12 weeks: 6 months is in", GE12W, le(6, "months"), "inclusion", "pass"),
    ("≥ 12 weeks: 2 months is out (≤ 62 days)", GE12W, le(2, "months"), "inclusion", "fail"),
    ("> 3 months: 3 months is out (strict, same unit)", GT3M, le(3, "months"), "inclusion", "fail"),
    ("> 3 months: 4 months is in", GT3M, le(4, "months"), "inclusion", "pass"),
    ("> 3 months: 1 year is in", GT3M, le(1, "years"), "inclusion", "pass"),
    ("> 3 months: 13 weeks depends on the month", GT3M, le(13, "weeks"), "inclusion", "unknown"),
    ("≥ 3 months: 12 weeks depends on the month", bound(">=", 3, "months"), le(12, "weeks"),
     "inclusion", "unknown"),
    ("≥ 3 months: 14 weeks is in (98 days > 93)", bound(">=", 3, "months"), le(14, "weeks"),
     "inclusion", "pass"),
    ("≥ 6 months: 0.5 years is in (same family, exact)", bound(">=", 6, "months"), le(0.5, "years"),
     "inclusion", "pass"),
    ("exclusion < 3 months: 2 months excludes", LT3M, le(2, "months"), "exclusion", "fail"),
    ("exclusion < 3 months: 3 months passes", LT3M, le(3, "months"), "exclusion", "pass"),
    ("exclusion < 3 months: 6 months passes", LT3M, le(6, "months"), "exclusion", "pass"),
    ("exclusion < 3 months: 12 weeks depends on the month", LT3M, le(12, "weeks"), "exclusion",
     "unknown"),
    ("exclusion < 3 months: not recorded", LT3M, {}, "exclusion", "unknown"),
    ("not recorded", GE12W, {}, "inclusion", "unknown"),
    ("undated estimate decides nothing", GE12W, le(6, "months", None), "inclusion", "unknown"),
    ("estimate after the as-of date", GE12W, le(6, "months", "2024-03-02"), "inclusion",
     "unknown"),
    ("estimate older than the lab age limit", GE12W, le(6, "months", "2023-11-01"), "inclusion",
     "unknown"),
    ("old estimate, limit lifted: 6 months 4 months ago still ≥ 12 weeks is not sure",
     GE12W, le(6, "months", "2023-11-01"), "inclusion", "unknown", {"max_lab_age_days": None}),
    ("estimate 30 days old: 6 months leaves ≥ 12 weeks", GE12W, le(6, "months", DAYS_AGO),
     "inclusion", "pass"),
    ("estimate 30 days old: 12 weeks may no longer be ≥ 12 weeks", GE12W,
     le(12, "weeks", DAYS_AGO), "inclusion", "unknown"),
    ("estimate 30 days old: 2 months is still < 3 months", LT3M, le(2, "months", DAYS_AGO),
     "exclusion", "fail"),
    ("estimate 30 days old: 3 months may now be < 3 months", LT3M, le(3, "months", DAYS_AGO),
     "exclusion", "unknown"),
    ("range 3-6 months: 4 months is in",
     {"kind": "all", "rules": [bound(">=", 3, "months"), bound("<=", 6, "months")]},
     le(4, "months"), "inclusion", "pass"),
    ("range 3-6 months: 7 months is out",
     {"kind": "all", "rules": [bound(">=", 3, "months"), bound("<=", 6, "months")]},
     le(7, "months"), "inclusion", "fail"),
]  # fmt: skip


@pytest.mark.parametrize(
    "rule,patient,section,expected,opts",
    [(c[1], c[2], c[3], c[4], c[5] if len(c) > 5 else {}) for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_life_expectancy_status(rule, patient, section, expected, opts) -> None:
    status, outcome = run(rule, patient, section, **opts)
    assert status == expected, outcome.reason
    assert outcome.reason
    if status == "unknown":
        assert outcome.missing, "unknown must name the data to collect"


def test_reasons_say_what_was_used_and_what_to_collect() -> None:
    _, o = run(GE12W, {})
    assert o.reason == "life expectancy not recorded; needs ≥ 12 weeks"
    assert o.missing == ("life expectancy estimate",)
    _, o = run(GE12W, le(6, "months"))
    assert o.reason == f"life expectancy 6 months (estimated {TODAY}); needs ≥ 12 weeks"
    assert o.evidence[0].path == "$.life_expectancy" and o.evidence[0].unit == "months"
    _, o = run(bound(">=", 3, "months"), le(12, "weeks"))
    assert "depends on the length of a month" in o.reason
    assert o.missing == ("current life expectancy estimate",)
    _, o = run(GE12W, le(12, "weeks", DAYS_AGO))
    assert "made 30 days before 2024-03-01, so less may remain" in o.reason
    _, o = run(GE12W, le(6, "months", "2023-11-01"))
    assert "older than 90 days before 2024-03-01" in o.reason
    _, o = run(GE12W, le(6, "months", None))
    assert "undated" in o.reason


def test_same_unit_compares_as_written() -> None:
    """No conversion moves a bound stated in the estimate's own unit."""
    for op, v, expected in (
        (">=", 6, TRUE),
        (">", 6, FALSE),
        ("<=", 6, TRUE),
        ("<", 6, FALSE),
        (">=", 6.5, FALSE),
    ):
        rule = LifeExpectancyRule(comparator=op, value=v, unit="months")
        assert life_expectancy_truth(rule, 6, "months", 0) == expected


TIME_UNITS = st.sampled_from(["days", "weeks", "months", "years"])
OPS = st.sampled_from(["<", "<=", ">", ">="])


@given(
    op=OPS,
    b=st.integers(1, 120),
    bu=TIME_UNITS,
    v=st.integers(1, 120),
    vu=TIME_UNITS,
    since=st.integers(0, 200),
)
def test_a_decided_truth_holds_at_every_reading(op, b, bu, v, vu, since) -> None:
    """Whatever the evaluator decides holds for a month of any length from 28 to 31 days and
    for any remaining time from the estimate less the days since it was made to the estimate
    itself; and an older estimate never decides what a fresh one of the same value leaves open."""
    rule = LifeExpectancyRule(comparator=op, value=b, unit=bu)
    truth = life_expectancy_truth(rule, v, vu, since)
    if truth == UNKNOWN:
        return
    cmp = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[op]
    for month in (28.0, 29.5, 30.4375, 31.0):
        per = {**UNIT_DAYS, "months": month, "years": 12 * month}
        for left in (0, since / 2, since):
            got = cmp(float(v * per[vu] - left), float(b * per[bu]))
            if abs(v * per[vu] - left - b * per[bu]) > 1e-6:  # ties: tolerance decides
                assert got == (truth == TRUE), (month, left)
    assert life_expectancy_truth(rule, v, vu, 0) == truth


# --- the profile field ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,message",
    [
        (
            {"value": -6, "unit": "months"},
            "$.life_expectancy.value: Input should be greater than 0",
        ),
        ({"value": 0, "unit": "months"}, "$.life_expectancy.value: Input should be greater than 0"),
        (
            {"value": 6, "unit": "fortnights"},
            "$.life_expectancy.unit: Input should be 'days', "
            "'weeks', 'months' or 'years' (got 'fortnights')",
        ),
        ({"value": 6, "unit": "month"}, "$.life_expectancy.unit: Input should be"),
        ({"value": 6}, "$.life_expectancy.unit: required field is missing"),
        (
            {"value": "6", "unit": "months"},
            "$.life_expectancy.value: Input should be a valid number",
        ),
        ({"value": 200, "unit": "years"}, "$.life_expectancy: 200 years is longer than 150 years"),
        ({"value": 6, "unit": "months", "date": "2024-13-01"}, "$.life_expectancy.date:"),
        ({"value": 6, "unit": "months", "by": "Dr X"}, "$.life_expectancy.by: unknown field"),
        ("6 months", "$.life_expectancy: Input should be a valid dictionary"),
    ],
)
def test_bad_profile_field_is_one_located_line(field, message) -> None:
    data = {"id": "p", "life_expectancy": field}
    with pytest.raises(InputError) as err:
        patient_from_data(data, "p.json")
    text = str(err.value)
    assert "\n" not in text and message in text, text
    assert read_clean(json.dumps(data)) is None  # the fast reader leaves it to the reference


def test_fast_reader_reads_the_field_as_the_reference_does() -> None:
    text = '{"id": "p", "life_expectancy": {"value": 6, "unit": "months", "date": "2024-01-02"}}'
    fast, ref = read_clean(text), patient_from_data(json.loads(text), "p.json")
    assert fast is not None and fast.life_expectancy is not None
    assert (fast.life_expectancy.value, fast.life_expectancy.unit, fast.life_expectancy.date) == (
        ref.life_expectancy.value,  # type: ignore[union-attr]
        ref.life_expectancy.unit,  # type: ignore[union-attr]
        ref.life_expectancy.date,  # type: ignore[union-attr]
    )
    dup = '{"id": "p", "life_expectancy": {"value": 6, "unit": "months", "unit": "weeks"}}'
    assert read_clean(dup) is None


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "life_expectancy", "comparator": ">=", "value": 0, "unit": "weeks"},
        {"kind": "life_expectancy", "comparator": ">=", "value": 3, "unit": "hours"},
        {"kind": "life_expectancy", "comparator": ">=", "value": 151, "unit": "years"},
        {"kind": "life_expectancy", "comparator": "=", "value": 3, "unit": "months"},
        {"kind": "life_expectancy", "comparator": ">=", "value": "3", "unit": "months"},
    ],
)
def test_rule_refuses_what_no_estimate_can_mean(rule) -> None:
    with pytest.raises(ValidationError):
        LifeExpectancyRule.model_validate(rule)


# --- parsing beyond the table, OMOP -----------------------------------------------------------


def test_investigator_opinion_is_read_only_beside_a_life_expectancy() -> None:
    """The OPINION words make a life expectancy computable; anywhere else they stay unread."""
    text = "Any condition that, in the opinion of the investigator, would interfere with the study"
    assert parse_criterion(text, "exclusion").kind == "manual"
    rule = parse_criterion(
        "Life expectancy ≥ 3 months in the opinion of the investigator", "inclusion"
    )
    assert rule == LifeExpectancyRule(comparator=">=", value=3, unit="months")


def test_omop_refuses_life_expectancy_with_a_reason() -> None:
    with pytest.raises(Refused, match="life expectancy"):
        _rule(None, LifeExpectancyRule(comparator=">=", value=3, unit="months"))  # type: ignore[arg-type]


def test_coverage_counts_the_new_kind() -> None:
    cov = Coverage()
    add_rule(cov, parse_criterion("Life expectancy of at least 12 weeks", "inclusion"))
    add_rule(cov, parse_criterion("Life expectancy < 3 months or in hospice care", "exclusion"))
    assert (cov.computable, cov.partial) == (1, 1)
    assert cov.by_kind["life_expectancy"] == 2
