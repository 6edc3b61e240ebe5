"""Derived values on published worked examples and at every cut-off."""

from __future__ import annotations

from datetime import date

import pytest

from eligibility.derive import (
    DERIVATIONS,
    age_years,
    bmi,
    bsa_mosteller,
    child_pugh,
    child_pugh_class,
    child_pugh_partial,
    creatinine_clearance_cg,
    ecog_from_karnofsky,
    ecog_range_from_karnofsky,
    karnofsky_from_ecog,
    karnofsky_range_from_ecog,
    qtc_bazett,
    qtc_fridericia,
)
from eligibility.vocab import analyte

# --- age ----------------------------------------------------------------------------------

AGES = [
    # birth, as of, completed years
    (date(1970, 6, 15), date(2025, 6, 14), 54),  # day before the birthday
    (date(1970, 6, 15), date(2025, 6, 15), 55),  # on the birthday
    (date(1970, 6, 15), date(2025, 6, 16), 55),
    (date(2007, 3, 1), date(2025, 3, 1), 18),  # 18th birthday: "18 Years" admits
    (date(1949, 3, 2), date(2025, 3, 1), 75),  # last day at 75 before turning 76
    (date(2000, 2, 29), date(2018, 2, 28), 17),  # leap-day birthday, common year
    (date(2000, 2, 29), date(2018, 3, 1), 18),  # counts from 1 March in common years
    (date(2000, 2, 29), date(2020, 2, 28), 19),
    (date(2000, 2, 29), date(2020, 2, 29), 20),  # leap year: on the day itself
    (date(2000, 12, 31), date(2001, 1, 1), 0),
    (date(2000, 1, 1), date(2000, 1, 1), 0),
]


@pytest.mark.parametrize(("birth", "as_of", "years"), AGES)
def test_age_years(birth: date, as_of: date, years: int) -> None:
    assert age_years(birth, as_of) == years


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError, match="before birth"):
        age_years(date(2000, 1, 2), date(2000, 1, 1))


# --- Cockcroft-Gault ----------------------------------------------------------------------

CRCL = [
    # age, weight kg, SCr mg/dL, sex, mL/min
    (60, 72, 1.0, "male", 80.0),  # worked example: (140-60) x 72 / (72 x 1.0)
    (60, 72, 1.0, "female", 68.0),  # x 0.85
    (40, 72, 1.0, "male", 100.0),
    (60, 72, 2.0, "male", 40.0),
    (80, 60, 1.2, "female", 35.4167),
]


@pytest.mark.parametrize(("age", "weight", "scr", "sex", "expected"), CRCL)
def test_cockcroft_gault(age: float, weight: float, scr: float, sex: str, expected: float) -> None:
    assert creatinine_clearance_cg(age, weight, scr, sex) == pytest.approx(expected, rel=1e-4)  # type: ignore[arg-type]


def test_cockcroft_gault_from_umol() -> None:
    """88.4 umol/L is 1.0 mg/dL: the worked example through the unit lexicon."""
    from eligibility.vocab import convert

    scr = convert(88.4, "umol/L", "mg/dL", "creatinine")
    assert creatinine_clearance_cg(60, 72, scr, "male") == pytest.approx(80.0, rel=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [((60, 72, 0.0, "male"), "creatinine"), ((60, 0, 1.0, "male"), "weight"),
     ((60, 72, 1.0, "x"), "sex")],
)  # fmt: skip
def test_cockcroft_gault_rejects_impossible_input(args: tuple, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        creatinine_clearance_cg(*args)


# --- Child-Pugh ---------------------------------------------------------------------------

# bilirubin mg/dL, albumin g/dL, INR, ascites, encephalopathy -> score, class
CHILD_PUGH = [
    ((1.0, 4.0, 1.0, "none", "none"), 5, "A"),  # best possible
    ((1.99, 3.51, 1.69, "none", "none"), 5, "A"),  # just inside every 1-point band
    ((2.0, 4.0, 1.0, "none", "none"), 6, "A"),  # bilirubin exactly 2 -> 2 points
    ((3.0, 4.0, 1.0, "none", "none"), 6, "A"),  # bilirubin exactly 3 -> still 2 points
    ((3.01, 4.0, 1.0, "none", "none"), 7, "B"),  # above 3 -> 3 points
    ((1.0, 3.5, 1.0, "none", "none"), 6, "A"),  # albumin exactly 3.5 -> 2 points
    ((1.0, 2.8, 1.0, "none", "none"), 6, "A"),  # albumin exactly 2.8 -> 2 points
    ((1.0, 2.79, 1.0, "none", "none"), 7, "B"),  # below 2.8 -> 3 points
    ((1.0, 4.0, 1.7, "none", "none"), 6, "A"),  # INR exactly 1.7 -> 2 points
    ((1.0, 4.0, 2.3, "none", "none"), 6, "A"),  # INR exactly 2.3 -> 2 points
    ((1.0, 4.0, 2.31, "none", "none"), 7, "B"),
    ((1.0, 4.0, 1.0, "mild", "none"), 6, "A"),
    ((1.0, 4.0, 1.0, "moderate", "none"), 7, "B"),
    ((1.0, 4.0, 1.0, "none", "grade 1-2"), 6, "A"),
    ((1.0, 4.0, 1.0, "none", "grade 3"), 7, "B"),
    ((2.5, 3.0, 1.2, "none", "none"), 7, "B"),
    ((2.5, 3.0, 2.0, "mild", "none"), 9, "B"),  # top of B
    ((3.5, 3.0, 2.0, "mild", "none"), 10, "C"),  # bottom of C
    ((4.0, 2.0, 2.5, "severe", "grade 4"), 15, "C"),  # worst possible
    ((1.0, 4.0, 1.0, False, False), 5, "A"),  # booleans: absent
    ((1.0, 4.0, 1.0, 0, 0), 5, "A"),  # IAC ascites grade, West Haven grade
    ((1.0, 4.0, 1.0, 1, 2), 7, "B"),
    ((1.0, 4.0, 1.0, 3, 4), 9, "B"),
]


@pytest.mark.parametrize(("inputs", "score", "cls"), CHILD_PUGH)
def test_child_pugh(inputs: tuple, score: int, cls: str) -> None:  # type: ignore[type-arg]
    assert child_pugh(*inputs) == (score, cls)


def test_child_pugh_cholestatic_bilirubin_bands() -> None:
    assert child_pugh(3.9, 4.0, 1.0, "none", "none", cholestatic=True) == (5, "A")
    assert child_pugh(5.0, 4.0, 1.0, "none", "none", cholestatic=True) == (6, "A")
    assert child_pugh(10.5, 4.0, 1.0, "none", "none", cholestatic=True) == (7, "B")


@pytest.mark.parametrize(
    ("score", "cls"), [(5, "A"), (6, "A"), (7, "B"), (9, "B"), (10, "C"), (15, "C")]
)
def test_child_pugh_class_boundaries(score: int, cls: str) -> None:
    assert child_pugh_class(score) == cls


@pytest.mark.parametrize("score", [4, 16])
def test_child_pugh_class_out_of_range(score: int) -> None:
    with pytest.raises(ValueError):
        child_pugh_class(score)


def test_child_pugh_partial_lists_missing_items() -> None:
    result = child_pugh_partial(bilirubin_mg_dl=1.0, inr=1.0, ascites="none")
    assert result.score is None and result.letter is None
    assert result.missing == (
        "albumin",
        "hepatic encephalopathy grade (none / 1-2 / 3-4)",
    )
    assert (result.min_score, result.max_score) == (5, 9)
    assert result.classes == ("A", "B")


def test_child_pugh_partial_class_can_be_certain_without_the_score() -> None:
    result = child_pugh_partial(4.0, None, 2.5, "severe", 3)
    assert result.missing == ("albumin",)
    assert (result.min_score, result.max_score) == (13, 15)
    assert result.letter == "C"


def test_child_pugh_present_without_severity_is_missing() -> None:
    result = child_pugh_partial(1.0, 4.0, 1.0, True, "none")
    assert result.missing == ("ascites grade (none / mild / moderate-severe)",)
    assert result.classes == ("A", "B")
    with pytest.raises(ValueError, match="ascites"):
        child_pugh(1.0, 4.0, 1.0, "present", "none")


def test_child_pugh_complete_partial_equals_full() -> None:
    result = child_pugh_partial(2.5, 3.0, 1.2, "none", "none")
    assert result.missing == () and result.score == 7 and result.letter == "B"


# --- Karnofsky <-> ECOG -------------------------------------------------------------------

KPS_TO_ECOG = [
    (100, 0, (0, 0)),
    (90, None, (0, 1)),
    (80, 1, (1, 1)),
    (70, None, (1, 2)),
    (60, None, (2, 3)),
    (50, None, (2, 3)),
    (40, None, (3, 4)),
    (30, None, (3, 4)),
    (20, 4, (4, 4)),
    (10, 4, (4, 4)),
    (0, 5, (5, 5)),
]


@pytest.mark.parametrize(("kps", "ecog", "span"), KPS_TO_ECOG)
def test_ecog_from_karnofsky(kps: int, ecog: int | None, span: tuple[int, int]) -> None:
    assert ecog_from_karnofsky(kps) == ecog
    assert ecog_range_from_karnofsky(kps) == span


ECOG_TO_KPS = [(0, (90, 100)), (1, (70, 90)), (2, (50, 70)), (3, (30, 60)), (4, (10, 40)),
               (5, (0, 0))]  # fmt: skip


@pytest.mark.parametrize(("ecog", "span"), ECOG_TO_KPS)
def test_karnofsky_range_from_ecog(ecog: int, span: tuple[int, int]) -> None:
    assert karnofsky_range_from_ecog(ecog) == span
    assert karnofsky_from_ecog(ecog) == (0 if ecog == 5 else None)


def test_mapping_is_consistent_both_ways() -> None:
    for kps, _, (low, high) in KPS_TO_ECOG:
        for ecog in range(low, high + 1):
            k_low, k_high = karnofsky_range_from_ecog(ecog)
            assert k_low <= kps <= k_high


@pytest.mark.parametrize("bad", [75, -10, 110])
def test_karnofsky_must_be_a_scale_value(bad: int) -> None:
    with pytest.raises(ValueError):
        ecog_from_karnofsky(bad)


def test_ecog_must_be_0_to_5() -> None:
    with pytest.raises(ValueError):
        karnofsky_range_from_ecog(6)


# --- body measures and QTc ----------------------------------------------------------------


def test_bmi_and_bsa() -> None:
    assert bmi(70, 175) == pytest.approx(22.857, abs=1e-3)
    assert bsa_mosteller(80, 180) == pytest.approx(2.0)  # sqrt(180 x 80 / 3600) = 2
    assert bsa_mosteller(64, 160) == pytest.approx(1.6865, abs=1e-4)
    with pytest.raises(ValueError):
        bmi(70, 0)


QTC = [
    # QT ms, heart rate, Bazett, Fridericia
    (400, 60, 400.0, 400.0),  # RR = 1 s: no correction
    (400, 75, 447.21, 430.89),  # RR = 0.8 s
    (360, 100, 464.76, 426.83),  # RR = 0.6 s
    (440, 50, 401.66, 414.06),  # RR = 1.2 s: correction goes down
]


@pytest.mark.parametrize(("qt", "hr", "bazett", "fridericia"), QTC)
def test_qtc(qt: float, hr: float, bazett: float, fridericia: float) -> None:
    assert qtc_bazett(qt, hr) == pytest.approx(bazett, abs=0.01)
    assert qtc_fridericia(qt, hr) == pytest.approx(fridericia, abs=0.01)


def test_derivation_targets_are_lexicon_analytes() -> None:
    for target, d in DERIVATIONS.items():
        assert d.source and d.formula
        if target != "child_pugh":
            assert analyte(target) is not None, target


# --- the evaluator uses the derivation ----------------------------------------------------


def _crcl_status(patient: dict, threshold: float = 60) -> tuple[str, str, list]:  # type: ignore[type-arg]
    from eligibility.evaluate import build_facts, compile_rule
    from eligibility.model import MeasureRule
    from eligibility.patient import Patient
    from eligibility.reasons import explain

    node = compile_rule(
        MeasureRule(name="creatinine clearance", comparator=">=", value=threshold, unit="mL/min")
    )
    outcome = explain(node, build_facts(Patient.model_validate(patient), date(2025, 1, 1)))
    return outcome.truth.name, outcome.reason, [e.to_dict() for e in outcome.evidence]


def test_evaluator_derives_creatinine_clearance_when_not_measured() -> None:
    patient = {
        "id": "cg",
        "sex": "male",
        "birth_date": "1964-06-01",  # 60 on 2025-01-01
        "labs": [{"test": "creatinine", "value": 88.4, "unit": "µmol/L", "date": "2024-12-20"}],
        "vitals": [{"name": "weight", "value": 72, "unit": "kg", "date": "2024-12-20"}],
    }
    truth, reason, evidence = _crcl_status(patient)
    assert truth == "TRUE" and "80" in reason
    assert evidence[0]["derived"] is True and "Cockcroft-Gault" in evidence[0]["label"]
    assert _crcl_status(patient, threshold=81)[0] == "FALSE"


def test_evaluator_prefers_a_measured_clearance_and_needs_all_inputs() -> None:
    base = {"id": "cg", "sex": "female", "age": 60}
    measured = {
        **base,
        "labs": [
            {"test": "CrCl", "value": 55, "unit": "mL/min", "date": "2024-12-01"},
            {"test": "creatinine", "value": 0.5, "unit": "mg/dL", "date": "2024-12-20"},
        ],
        "vitals": [{"name": "weight", "value": 90, "unit": "kg"}],
    }
    assert _crcl_status(measured)[0] == "FALSE"  # measured 55, not the derived 180
    no_weight = {**base, "labs": [{"test": "creatinine", "value": 1.0, "unit": "mg/dL"}]}
    assert _crcl_status(no_weight)[0] == "UNKNOWN"
