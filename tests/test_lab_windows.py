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


# --- the parser's readings -------------------------------------------------------------------

W14 = {"amount": 14.0, "unit": "days"}
# (text, section, lead-in, the window and anchor expected on every numeric leaf, or None when
# the criterion must stay wholly manual)
PHRASINGS: list[tuple[str, str, str | None, dict | None, str | None]] = [
    (
        "Hemoglobin ≥ 9 g/dL (within 14 days prior to randomization)",
        "inclusion",
        None,
        W14,
        "randomization",
    ),
    (
        "Platelets >= 100,000/mm^3 (within 14 days of registration)",
        "inclusion",
        None,
        W14,
        "registration",
    ),
    (
        "Creatinine =< 1.5 x ULN (=< 7 days prior to registration)",
        "inclusion",
        None,
        {"amount": 7.0, "unit": "days"},
        "registration",
    ),
    (
        "Absolute neutrophil count >= 1,500/mm3 obtained within 14 days prior to enrollment",
        "inclusion",
        None,
        W14,
        "enrollment",
    ),
    ("Total bilirubin ≤ 1.5 × ULN within 14 days", "inclusion", None, W14, None),
    (
        "ANC > 2000/µl and platelets > 50,000/µl within 4 weeks of registration.",
        "inclusion",
        None,
        {"amount": 4.0, "unit": "weeks"},
        "registration",
    ),
    (
        "Creatinine ≤ 1.5 mg/dL or creatinine clearance ≥ 60 mL/min within 14 days prior to first dose of study drug",
        "inclusion",
        None,
        W14,
        "first dose",
    ),
    (
        "Hemoglobin < 8 g/dL within 14 days prior to randomization",
        "exclusion",
        None,
        W14,
        "randomization",
    ),
    (
        "CD4 count > 200 cells/mm3 within 6 months prior to study entry",
        "inclusion",
        None,
        {"amount": 6.0, "unit": "months"},
        "study entry",
    ),
    # a lead-in's window reaches every lab item under it
    (
        "Hemoglobin ≥ 9 g/dL",
        "inclusion",
        "Laboratory values obtained ≤ 14 days prior to registration:",
        W14,
        "registration",
    ),
    (
        "Creatinine clearance ≥ 60 mL/min",
        "inclusion",
        "Adequate organ function within 28 days:",
        {"amount": 28.0, "unit": "days"},
        None,
    ),
    (
        "ANC ≥ 1.5 × 10^9/L",
        "inclusion",
        "Adequate hematologic and end-organ function, defined by the following laboratory test results, obtained within 14 days prior to initiation of study treatment:",
        W14,
        "first dose",
    ),
    (
        "Platelets ≥ 100 × 10^9/L",
        "inclusion",
        "Adequate hematologic and organ function within 14 days before the first study treatment on Cycle 1 Day 1 (C1D1), defined by the following parameters:",
        W14,
        "first dose",
    ),
    (
        "Hemoglobin < 9 g/dL",
        "exclusion",
        "Patients with any of the following laboratory values within 14 days prior to registration:",
        W14,
        "registration",
    ),
    # must stay manual: a window that is not the lab's, one that cannot be read exactly, or a
    # lead-in whose other words are not list glue
    ("Hemoglobin ≥ 9 g/dL without transfusion within 14 days", "inclusion", None, None, None),
    (
        "Hb ≥ 9 g/dL within 2 weeks of day 1 of cycle 1 and repeated on day 1",
        "inclusion",
        None,
        None,
        None,
    ),
    ("ANC ≥ 1500/mm3 on two occasions at least 7 days apart", "inclusion", None, None, None),
    ("Hemoglobin ≥ 9 g/dL within 72 hours prior to registration", "inclusion", None, None, None),
    ("Hemoglobin ≥ 9 g/dL within 14 days after surgery", "inclusion", None, None, None),
    (
        "Platelets ≥ 100,000/µL (no platelet transfusion within 7 days prior to the laboratory sample)",
        "inclusion",
        None,
        None,
        None,
    ),
    (
        "No HIV infection",
        "inclusion",
        "Laboratory values obtained ≤ 14 days prior to registration:",
        None,
        None,
    ),
    (
        "Hemoglobin ≥ 9 g/dL",
        "inclusion",
        "Adequate organ function (assessed within 8 days prior to initiation of protocol treatment, unless otherwise indicated) as follows:",
        None,
        None,
    ),
    (
        "Hemoglobin ≥ 9 g/dL",
        "inclusion",
        "Patients must have adequate bone marrow, renal and hepatic function per local laboratory reference ranges as follows within 14 days of registration:",
        None,
        None,
    ),
    (
        "Hemoglobin ≥ 9 g/dL (within 7 days)",
        "inclusion",
        "Laboratory values within 14 days prior to registration:",
        None,
        None,
    ),
]


def _numeric_leaves(rule) -> list:  # type: ignore[no-untyped-def]
    from eligibility.model import iter_rules

    return [r for r in iter_rules(rule) if r.kind in ("lab", "measure", "vital")]


@pytest.mark.parametrize(
    "text,section,lead,window,anchor",
    PHRASINGS,
    ids=[f"{p[0][:50]}|{p[2] or ''}"[:90] for p in PHRASINGS],
)
def test_window_phrasings(text, section, lead, window, anchor):
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, lead)
    if window is None:
        assert rule.kind == "manual", rule
        return
    leaves = _numeric_leaves(rule)
    assert leaves and all(r.within is not None for r in leaves), rule
    assert all(r.within.model_dump() == window for r in leaves), rule
    assert all(r.before == anchor for r in leaves)
    assert "manual" not in {r.kind for r in _all_nodes(rule)}


def _all_nodes(rule) -> list:  # type: ignore[no-untyped-def]
    from eligibility.model import iter_rules

    return list(iter_rules(rule))


def test_screening_a_parsed_windowed_criterion():
    """End to end: parsed text → rule → status, on both sides of the window."""
    from eligibility.transform import parse_criterion

    rule = parse_criterion(
        "Hemoglobin ≥ 9 g/dL (within 14 days prior to randomization)", "inclusion"
    )
    data = rule.model_dump(mode="json", exclude_none=True)
    assert run(data, [hb(10, "2024-02-20")])[0] == "pass"
    assert run(data, [hb(10, "2024-02-01")])[0] == "unknown"


def test_rules_file_round_trip(tmp_path):
    """A windowed rule written as YAML (as ``parse -o`` writes it) loads back unchanged, and a
    misspelt anchor is an input error naming the field."""
    from eligibility import load_rules
    from eligibility.errors import InputError
    from eligibility.yamlcore import dump

    rs = RuleSet.model_validate(
        {
            "trial": {"id": "T"},
            "criteria": [{"id": "I1", "section": "inclusion", "text": "t", "rule": HB14}],
        }
    )
    path = tmp_path / "T.yaml"
    data = rs.model_dump(mode="json", by_alias=True, exclude_none=True)
    path.write_text(dump({"schema_version": 1, **data}), encoding="utf-8")
    assert "before: randomization" in path.read_text(encoding="utf-8")
    assert load_rules(path) == rs
    path.write_text(path.read_text(encoding="utf-8").replace("randomization", "lunch"))
    with pytest.raises(InputError, match="before"):
        load_rules(path)
