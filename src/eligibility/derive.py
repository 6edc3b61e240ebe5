"""Derived values: facts computed from others when a profile does not state them.

Every function is pure (no clock, no I/O) and documents its formula and source; the tests check
each on a published worked example. The evaluator marks a value it derives as derived in the
evidence ("creatinine clearance 80 mL/min (Cockcroft-Gault from ...)"), and uses the
``*_partial`` / range variants to report which inputs are missing instead of guessing.

Units are fixed per argument (mg/dL, g/dL, kg, cm): convert with ``eligibility.vocab.convert``
before calling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Sex = Literal["female", "male"]

__all__ = [
    "DERIVATIONS",
    "ChildPugh",
    "Derivation",
    "age_years",
    "bmi",
    "bsa_mosteller",
    "child_pugh",
    "child_pugh_class",
    "child_pugh_partial",
    "creatinine_clearance_cg",
    "ecog_from_karnofsky",
    "ecog_range_from_karnofsky",
    "karnofsky_from_ecog",
    "karnofsky_range_from_ecog",
    "qtc_bazett",
    "qtc_fridericia",
]


@dataclass(frozen=True)
class Derivation:
    """What a derived analyte needs and where its formula comes from (for evidence text)."""

    target: str
    inputs: tuple[str, ...]
    formula: str
    source: str


DERIVATIONS: dict[str, Derivation] = {
    "creatinine_clearance": Derivation(
        "creatinine_clearance",
        ("age", "body_weight", "creatinine", "sex"),
        "Cockcroft-Gault: (140 - age) x weight / (72 x SCr) [x 0.85 if female]",
        "Cockcroft DW, Gault MH. Nephron 1976;16:31-41",
    ),
    "child_pugh": Derivation(
        "child_pugh",
        ("total_bilirubin", "albumin", "inr", "ascites", "hepatic_encephalopathy"),
        "Child-Pugh score 5-15: A 5-6, B 7-9, C 10-15",
        "Pugh RNH et al. Br J Surg 1973;60:646-649",
    ),
    "bmi": Derivation(
        "bmi", ("body_weight", "body_height"), "weight (kg) / height (m)^2", "WHO BMI definition"
    ),
    "bsa": Derivation(
        "bsa",
        ("body_weight", "body_height"),
        "Mosteller: sqrt(height (cm) x weight (kg) / 3600)",
        "Mosteller RD. N Engl J Med 1987;317:1098",
    ),
    "qtcf": Derivation(
        "qtcf",
        ("qt", "heart_rate"),
        "Fridericia: QT / RR^(1/3), RR = 60 / heart rate (s)",
        "Fridericia LS. Acta Med Scand 1920;53:469-486",
    ),
    "qtcb": Derivation(
        "qtcb",
        ("qt", "heart_rate"),
        "Bazett: QT / RR^(1/2), RR = 60 / heart rate (s)",
        "Bazett HC. Heart 1920;7:353-370",
    ),
}


# --- age ----------------------------------------------------------------------------------


def age_years(birth_date: date, as_of: date) -> int:
    """Completed years of age on ``as_of``.

    The birthday counts on its calendar day; someone born on 29 February turns a year older
    on 1 March in common years (the day after 28 February), which is how registry age bounds
    "18 Years" are read: the 18th birthday itself is admitted.
    Raises ValueError when ``as_of`` is before ``birth_date``.
    """
    if as_of < birth_date:
        raise ValueError(f"as-of date {as_of} is before birth date {birth_date}")
    before_birthday = (as_of.month, as_of.day) < (birth_date.month, birth_date.day)
    return as_of.year - birth_date.year - int(before_birthday)


# --- renal --------------------------------------------------------------------------------


def creatinine_clearance_cg(
    age: float, weight_kg: float, creatinine_mg_dl: float, sex: Sex
) -> float:
    """Creatinine clearance (mL/min) by Cockcroft-Gault.

    CrCl = (140 - age) x weight (kg) / (72 x serum creatinine (mg/dL)), x 0.85 for women.
    Source: Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine.
    Nephron 1976;16:31-41. Uses actual body weight, as the original paper did; a protocol that
    asks for ideal or adjusted weight needs that weight passed in.
    """
    if creatinine_mg_dl <= 0:
        raise ValueError("serum creatinine must be positive")
    if weight_kg <= 0:
        raise ValueError("weight must be positive")
    if sex not in ("female", "male"):
        raise ValueError(f"sex must be 'female' or 'male', not {sex!r}")
    crcl = (140.0 - age) * weight_kg / (72.0 * creatinine_mg_dl)
    return crcl * 0.85 if sex == "female" else crcl


# --- Child-Pugh ---------------------------------------------------------------------------

_ASCITES_WORDS: dict[str, int] = {
    "none": 1, "absent": 1, "no": 1, "no ascites": 1,
    "mild": 2, "slight": 2, "minimal": 2, "small": 2, "controlled": 2, "grade 1": 2,
    "moderate": 3, "severe": 3, "moderate-severe": 3, "moderate to severe": 3, "large": 3,
    "tense": 3, "gross": 3, "refractory": 3, "uncontrolled": 3, "grade 2": 3, "grade 3": 3,
}  # fmt: skip
_ENCEPHALOPATHY_WORDS: dict[str, int] = {
    "none": 1, "absent": 1, "no": 1, "grade 0": 1,
    "grade 1": 2, "grade 2": 2, "grade 1-2": 2, "mild": 2, "controlled": 2, "suppressed": 2,
    "grade 3": 3, "grade 4": 3, "grade 3-4": 3, "severe": 3, "refractory": 3, "coma": 3,
}  # fmt: skip

Severity = str | int | bool | None


def _ascites_points(value: Severity) -> int | None:
    """Points for ascites: none 1, mild 2, moderate-severe 3.

    Integers are International Ascites Club grades (0 none, 1 mild, 2 moderate, 3 large).
    ``True`` / "present" says ascites exists but not how much, so it cannot be scored.
    """
    if value is None or value is True:
        return None
    if value is False:
        return 1
    if isinstance(value, int):
        return {0: 1, 1: 2, 2: 3, 3: 3}.get(value)
    return _ASCITES_WORDS.get(" ".join(value.strip().lower().replace("–", "-").split()))


def _encephalopathy_points(value: Severity) -> int | None:
    """Points for encephalopathy: none 1, grade 1-2 2, grade 3-4 3 (West Haven grade ints)."""
    if value is None or value is True:
        return None
    if value is False:
        return 1
    if isinstance(value, int):
        return {0: 1, 1: 2, 2: 2, 3: 3, 4: 3}.get(value)
    return _ENCEPHALOPATHY_WORDS.get(" ".join(value.strip().lower().replace("–", "-").split()))


def _band(value: float, low: float, high: float) -> int:
    """1 below ``low``, 2 from ``low`` to ``high`` inclusive, 3 above ``high``."""
    if value < low:
        return 1
    return 2 if value <= high else 3


def child_pugh_class(score: int) -> str:
    """A for 5-6, B for 7-9, C for 10-15."""
    if not 5 <= score <= 15:
        raise ValueError(f"Child-Pugh score {score} is outside 5-15")
    return "A" if score <= 6 else "B" if score <= 9 else "C"


@dataclass(frozen=True)
class ChildPugh:
    """A Child-Pugh assessment, possibly incomplete.

    ``points`` holds the items that could be scored; ``missing`` names the rest (what to
    collect). With items missing, ``min_score``..``max_score`` bounds the score and ``classes``
    lists the classes still possible: a known sum of 10 is class C whatever is missing.
    """

    points: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def min_score(self) -> int:
        return sum(self.points.values()) + len(self.missing)

    @property
    def max_score(self) -> int:
        return sum(self.points.values()) + 3 * len(self.missing)

    @property
    def score(self) -> int | None:
        return None if self.missing else self.min_score

    @property
    def classes(self) -> tuple[str, ...]:
        found = {child_pugh_class(s) for s in range(self.min_score, self.max_score + 1)}
        return tuple(sorted(found))

    @property
    def letter(self) -> str | None:
        """The class when it is determined (even if the exact score is not), else None."""
        return self.classes[0] if len(self.classes) == 1 else None


def child_pugh_partial(
    bilirubin_mg_dl: float | None = None,
    albumin_g_dl: float | None = None,
    inr: float | None = None,
    ascites: Severity = None,
    encephalopathy: Severity = None,
    *,
    cholestatic: bool = False,
) -> ChildPugh:
    """Score what is known; list what is missing (see :func:`child_pugh` for the cut-offs)."""
    points: dict[str, int] = {}
    missing: list[str] = []
    if bilirubin_mg_dl is None:
        missing.append("total bilirubin")
    elif cholestatic:
        points["total bilirubin"] = _band(bilirubin_mg_dl, 4.0, 10.0)
    else:
        points["total bilirubin"] = _band(bilirubin_mg_dl, 2.0, 3.0)
    if albumin_g_dl is None:
        missing.append("albumin")
    else:
        # Albumin scores the other way round: > 3.5 is 1 point, < 2.8 is 3.
        points["albumin"] = 1 if albumin_g_dl > 3.5 else 2 if albumin_g_dl >= 2.8 else 3
    if inr is None:
        missing.append("INR")
    else:
        points["INR"] = _band(inr, 1.7, 2.3)
    asc = _ascites_points(ascites)
    if asc is None:
        missing.append("ascites grade (none / mild / moderate-severe)")
    else:
        points["ascites"] = asc
    enc = _encephalopathy_points(encephalopathy)
    if enc is None:
        missing.append("hepatic encephalopathy grade (none / 1-2 / 3-4)")
    else:
        points["hepatic encephalopathy"] = enc
    return ChildPugh(points, tuple(missing))


def child_pugh(
    bilirubin_mg_dl: float,
    albumin_g_dl: float,
    inr: float,
    ascites: Severity,
    encephalopathy: Severity,
    *,
    cholestatic: bool = False,
) -> tuple[int, str]:
    """Child-Pugh score and class.

    ==================  =========  ==============  ===============
    item                1 point    2 points        3 points
    ==================  =========  ==============  ===============
    bilirubin (mg/dL)   < 2        2-3             > 3
    (cholestatic)       < 4        4-10            > 10
    albumin (g/dL)      > 3.5      2.8-3.5         < 2.8
    INR                 < 1.7      1.7-2.3         > 2.3
    ascites             none       mild            moderate-severe
    encephalopathy      none       grade 1-2       grade 3-4
    ==================  =========  ==============  ===============

    Class A 5-6, B 7-9, C 10-15. Source: Pugh RNH, Murray-Lyon IM, Dawson JL, Pietroni MC,
    Williams R. Br J Surg 1973;60:646-649 (INR bands as in current use, e.g. EASL guidelines;
    the cholestatic bilirubin bands for PBC/PSC are the usual modification).
    Raises ValueError when an item cannot be scored; use :func:`child_pugh_partial` then.
    """
    result = child_pugh_partial(
        bilirubin_mg_dl, albumin_g_dl, inr, ascites, encephalopathy, cholestatic=cholestatic
    )
    if result.score is None:
        raise ValueError(f"cannot score Child-Pugh: {', '.join(result.missing)}")
    return result.score, child_pugh_class(result.score)


# --- performance status -------------------------------------------------------------------
#
# Published Karnofsky -> ECOG mappings disagree at most Karnofsky levels:
#   conventional (Oken MM et al., Am J Clin Oncol 1982;5:649-655, as tabulated side by side by
#     ECOG-ACRIN): 100-90 -> 0, 80-70 -> 1, 60-50 -> 2, 40-30 -> 3, 20-10 -> 4, 0 -> 5
#   Ma C et al., Eur J Cancer 2010;46:3175-3183: 100 -> 0, 80-90 -> 1, 60-70 -> 2,
#     40-50 -> 3, 10-30 -> 4
#   Prasad KT et al., World J Clin Oncol 2018;9:140-147: 100 -> 0, 80-90 -> 1, 70 -> 2,
#     50-60 -> 3, 10-40 -> 4
# A single value is given only where all three agree; otherwise the range they span.

_KPS_TO_ECOG: dict[int, tuple[int, ...]] = {
    100: (0, 0, 0), 90: (0, 1, 1), 80: (1, 1, 1), 70: (1, 2, 2), 60: (2, 2, 3), 50: (2, 3, 3),
    40: (3, 3, 4), 30: (3, 4, 4), 20: (4, 4, 4), 10: (4, 4, 4), 0: (5, 5, 5),
}  # fmt: skip


def _check_kps(kps: int) -> None:
    if kps not in _KPS_TO_ECOG:
        raise ValueError(f"Karnofsky score {kps} is not one of 0, 10, ..., 100")


def ecog_range_from_karnofsky(kps: int) -> tuple[int, int]:
    """The ECOG grades the published mappings give for a Karnofsky score (low, high)."""
    _check_kps(kps)
    grades = _KPS_TO_ECOG[kps]
    return min(grades), max(grades)


def ecog_from_karnofsky(kps: int) -> int | None:
    """ECOG grade where every published mapping agrees (KPS 100, 80, 20, 10, 0), else None."""
    low, high = ecog_range_from_karnofsky(kps)
    return low if low == high else None


def karnofsky_range_from_ecog(ecog: int) -> tuple[int, int]:
    """The Karnofsky scores any published mapping assigns to an ECOG grade (low, high)."""
    if ecog not in range(6):
        raise ValueError(f"ECOG grade {ecog} is not 0-5")
    scores = [k for k, grades in _KPS_TO_ECOG.items() if ecog in grades]
    return min(scores), max(scores)


def karnofsky_from_ecog(ecog: int) -> int | None:
    """A single Karnofsky score exists only for ECOG 5 (dead = 0); otherwise None."""
    low, high = karnofsky_range_from_ecog(ecog)
    return low if low == high else None


# --- body measures and ECG ----------------------------------------------------------------


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body-mass index, kg/m^2 (WHO definition)."""
    if height_cm <= 0 or weight_kg <= 0:
        raise ValueError("weight and height must be positive")
    return weight_kg / (height_cm / 100.0) ** 2


def bsa_mosteller(weight_kg: float, height_cm: float) -> float:
    """Body-surface area, m^2: sqrt(height (cm) x weight (kg) / 3600).

    Source: Mosteller RD. Simplified calculation of body-surface area. N Engl J Med
    1987;317:1098.
    """
    if height_cm <= 0 or weight_kg <= 0:
        raise ValueError("weight and height must be positive")
    return math.sqrt(height_cm * weight_kg / 3600.0)


def _rr_seconds(heart_rate_bpm: float) -> float:
    if heart_rate_bpm <= 0:
        raise ValueError("heart rate must be positive")
    return 60.0 / heart_rate_bpm


def qtc_bazett(qt_ms: float, heart_rate_bpm: float) -> float:
    """QTc (ms) by Bazett: QT / sqrt(RR), RR in seconds. Bazett HC. Heart 1920;7:353-370."""
    return qt_ms / math.sqrt(_rr_seconds(heart_rate_bpm))


def qtc_fridericia(qt_ms: float, heart_rate_bpm: float) -> float:
    """QTc (ms) by Fridericia: QT / RR^(1/3), RR in seconds.

    Source: Fridericia LS. Acta Med Scand 1920;53:469-486. The correction most oncology
    protocols name ("QTcF").
    """
    return qt_ms / _rr_seconds(heart_rate_bpm) ** (1.0 / 3.0)
