"""Lab rules with a time window ("within 14 days prior to randomization"): the evaluator on
both sections and both paths, the reasons, the parser's readings (including those that must
stay manual) and a window in a lead-in."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from eligibility.evaluate import (
    Options,
    Where,
    build_facts,
    compile_rule,
    compile_rules,
    statuses,
)
from eligibility.evaluate import criterion_status as _status
from eligibility.model import RuleSet
from eligibility.patient import Patient
from eligibility.reasons import explain

AS_OF = date(2024, 3, 1)
HB14 = {
    "kind": "lab",
    "analyte": "hemoglobin",
    "comparator": ">=",
    "value": 9,
    "unit": "g/dL",
    "within": {"amount": 14, "unit": "days"},
    "before": "randomization",
}
ALT14 = {
    "kind": "lab",
    "analyte": "alt",
    "comparator": "<=",
    "multiple": 3,
    "of": "ULN",
    "within": {"amount": 14, "unit": "days"},
}


def hb(value: float, d: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"test": "hemoglobin", "value": value, "unit": "g/dL"}
    if d is not None:
        out["date"] = d
    return out


def run(rule: dict[str, Any], labs: list[dict[str, Any]], section: str = "inclusion", **opts):
    """Status and outcome; the truth-only path (a cohort's) must give the same status."""
    rs = RuleSet.model_validate(
        {
            "trial": {"id": "T"},
            "criteria": [{"id": "C1", "section": section, "text": "t", "rule": rule}],
        }
    )
    facts = build_facts(Patient.model_validate({"id": "p", "labs": labs}), AS_OF, Options(**opts))
    outcome = explain(compile_rule(rs.criteria[0].rule, Where("T", "C1", section)), facts)
    status = _status(section, outcome.truth)
    assert statuses(compile_rules(rs), facts) == [status], outcome.reason
    return status, outcome


# (labs, status of "Hb ≥ 9 g/dL within 14 days" as an inclusion, of "Hb < 9 g/dL within 14
# days" as an exclusion: the same patient passes or fails both)
WINDOW_CASES = [
    ("in window, passes", [hb(10, "2024-02-20")], "pass", "pass"),
    ("in window, fails", [hb(8, "2024-02-20")], "fail", "fail"),
    ("first day of the window counts", [hb(10, "2024-02-16")], "pass", "pass"),
    ("a day before the window", [hb(10, "2024-02-15")], "unknown", "unknown"),
    # the latest in the window decides, not an older one in it
    ("latest in window decides", [hb(8, "2024-02-18"), hb(10, "2024-02-25")], "pass", "pass"),
    ("latest in window fails", [hb(10, "2024-02-18"), hb(8, "2024-02-25")], "fail", "fail"),
    # a failing result outside the window does not decide either way
    ("only an old fail", [hb(7, "2024-01-10")], "unknown", "unknown"),
    ("old fail, newer pass", [hb(7, "2024-01-10"), hb(10, "2024-02-29")], "pass", "pass"),
    ("no result", [], "unknown", "unknown"),
    ("undated only", [hb(10, None)], "unknown", "unknown"),
    ("after the as-of date ignored", [hb(10, "2024-03-05")], "unknown", "unknown"),
    ("same day disagree", [hb(8, "2024-02-20"), hb(10, "2024-02-20")], "unknown", "unknown"),
]


@pytest.mark.parametrize(
    "labs,inclusion,exclusion", [c[1:] for c in WINDOW_CASES], ids=[c[0] for c in WINDOW_CASES]
)
def test_window_on_both_sections(labs, inclusion, exclusion):
    assert run(HB14, labs)[0] == inclusion
    low = {**HB14, "comparator": "<"}  # "Hemoglobin < 9 g/dL within 14 days" as an exclusion
    assert run(low, labs, "exclusion")[0] == exclusion


def test_stricter_limit_wins():
    """The 90-day look-back and a longer window: the shorter decides (here the look-back)."""
    rule = {**HB14, "within": {"amount": 120, "unit": "days"}}
    status, out = run(rule, [hb(10, "2023-11-20")])
    assert status == "unknown"
    assert "older than 90 days" in out.reason
    assert out.missing == ("current hemoglobin result (on or after 2023-12-02)",)
    # with no look-back, the 120-day window alone
    assert run(rule, [hb(10, "2023-11-20")], max_lab_age_days=None)[0] == "pass"
    assert run(rule, [hb(10, "2023-10-20")], max_lab_age_days=None)[0] == "unknown"
    # a 14-day window inside the 90 days: the window's first day is asked for
    status, out = run(HB14, [hb(10, "2023-11-20")])
    assert out.missing == ("current hemoglobin result (on or after 2024-02-16)",)


def test_reasons_render_the_window():
    _, out = run(HB14, [hb(10, "2024-02-20")])
    assert out.reason == (
        "hemoglobin 10 g/dL on 2024-02-20, within 14 days before screening (2024-03-01; text: "
        "before randomization); needs ≥ 9 g/dL"
    )
    _, out = run(HB14, [hb(10, "2024-02-01")])
    assert out.reason == (
        "hemoglobin 10 g/dL on 2024-02-01 is not within 14 days before screening (2024-03-01; "
        "text: before randomization); needs ≥ 9 g/dL"
    )
    assert out.missing == ("hemoglobin result on or after 2024-02-16",)
    assert len(out.evidence) == 1
    _, out = run(HB14, [])
    assert out.reason.endswith(
        "needs ≥ 9 g/dL, within 14 days before screening (2024-03-01; text: before randomization)"
    )
    assert out.missing[0].startswith("hemoglobin result, within 14 days")
    _, out = run(HB14, [hb(10, None)])
    assert out.missing[0].startswith("dated hemoglobin result, within 14 days")


def test_relative_rule_with_window():
    alt = {"test": "ALT", "value": 40, "unit": "U/L", "ref_high": 40, "date": "2024-02-20"}
    status, out = run(ALT14, [alt])
    assert status == "pass"
    assert out.reason == (
        "ALT 40 U/L = 1.00 × ULN (40 U/L) on 2024-02-20, within 14 days before screening "
        "(2024-03-01); needs ≤ 3 × ULN"
    )
    assert run(ALT14, [{**alt, "date": "2024-01-02"}])[0] == "unknown"


def test_window_in_the_model():
    from pydantic import ValidationError

    from eligibility.model import LabRule

    r = LabRule.model_validate(HB14)
    assert r.within is not None and r.within.days() == 14
    assert r.model_dump(exclude_none=True)["within"] == {"amount": 14.0, "unit": "days"}
    with pytest.raises(ValidationError, match="needs 'within'"):
        LabRule.model_validate({k: v for k, v in HB14.items() if k != "within"})
    with pytest.raises(ValidationError):
        LabRule.model_validate({**HB14, "before": "lunch"})


def test_omop_refuses_a_lab_window():
    from eligibility.omop.compiler import compile_trial

    rs = RuleSet.model_validate(
        {
            "trial": {"id": "T"},
            "criteria": [{"id": "C1", "section": "inclusion", "text": "t", "rule": HB14}],
        }
    )
    q = compile_trial(rs, AS_OF)
    assert "window" in q.refused["C1"]
