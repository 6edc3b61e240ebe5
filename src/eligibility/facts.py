"""A patient profile indexed once for evaluation at one as-of date, and the options that shape it.

Shared by both evaluators (``evaluate.py`` with reasons, ``fast.py`` truth-only), so they select
the same results: the newest dated result per analyte on or before the as-of date and within the
age limit; undated and stale results are kept aside (they never decide, but reasons name them).
Names are resolved against the vocabulary through cached lookups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from . import vocab
from .limits import DEFAULT_MAX_LAB_AGE_DAYS
from .model import IfAbsent
from .patient import ConditionEntry, Patient, Review, Treatment
from .result import Evidence


@dataclass(frozen=True)
class Options:
    """User-switchable assumptions, stated in every reason they affect.

    ``if_absent``: what a condition or therapy missing from a recorded list means — ``absent``
    (the lists are complete: "no HIV infection recorded" passes) or ``unknown``. A list that
    is not in the profile at all is never complete: its rules are ``unknown``.
    ``max_lab_age_days``: results older than this before the as-of date do not decide; the
    rule is ``unknown``, naming the stale result (None: any age).
    """

    if_absent: IfAbsent = "absent"
    max_lab_age_days: int | None = DEFAULT_MAX_LAB_AGE_DAYS

    def __post_init__(self) -> None:
        if self.max_lab_age_days is not None and self.max_lab_age_days < 0:
            raise ValueError(f"max_lab_age_days cannot be negative ({self.max_lab_age_days})")


class Observation(NamedTuple):
    """A lab or vital result. A named tuple rather than a frozen dataclass: a cohort run builds
    one per result per patient, and tuples are several times cheaper to construct."""

    path: str
    label: str
    value: float
    unit: str | None
    date: date | None
    ref_low: float | None = None
    ref_high: float | None = None
    derived: bool = False

    def evidence(self) -> Evidence:
        return Evidence(self.path, self.label, self.value, self.unit, self.date, self.derived)


class Resolved(NamedTuple):
    """A profile entry (condition or treatment) with the vocabulary concept it names, if any."""

    concept: str | None
    path: str
    label: str
    start: date | None
    end: date | None
    active: bool
    code: str | None = None


@dataclass(frozen=True)
class Facts:
    """A patient indexed for evaluation at one as-of date."""

    patient: Patient
    as_of: date
    options: Options
    observations: dict[str, tuple[Observation, ...]]
    unresolved_tests: tuple[str, ...]
    conditions: tuple[Resolved, ...]
    unresolved_conditions: tuple[str, ...]
    treatments: tuple[Resolved, ...]
    unresolved_treatments: tuple[str, ...]
    # (trial, criterion) -> every review of it with its index, in profile order
    reviews: dict[tuple[str, str], tuple[tuple[int, Review], ...]]
    # per analyte: the newest result older than the age limit, and the undated results; such
    # results never decide, but a reason names them
    stale: dict[str, Observation]
    undated: dict[str, tuple[Observation, ...]]


def completed_years(birth: date, on: date) -> int:
    """Age in completed years; a 29 February birthday falls on 1 March in common years."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def anniversary(birth: date, years: float) -> date:
    """The day on which exact age reaches ``years``: the birthday of that year, where a
    29 February birthday falls on 1 March in common years (as in ``completed_years``: the
    patient born 29 February 2008 is exactly 18 on 1 March 2026, and over 18 from 2 March).
    A fraction of a year counts as whole months when it is one (1.5 years: 18 months), else as
    days (365.25 a year, rounded up); a month end that does not exist rolls to the 1st.
    Dates beyond the calendar are ``date.max``."""
    whole = int(years)
    months = round((years - whole) * 12)
    extra_days = 0
    if not math.isclose((years - whole) * 12, months, abs_tol=1e-9):
        months, extra_days = 0, math.ceil((years - whole) * 365.25)
    year, month = birth.year + whole, birth.month + months
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    if year > date.max.year:
        return date.max
    try:
        day = date(year, month, birth.day)
    except ValueError:  # 29 February in a common year, 31 April, …: the next 1st
        day = date(year + month // 12, month % 12 + 1, 1) if year < date.max.year else date.max
    try:
        return day + timedelta(days=extra_days)
    except OverflowError:
        return date.max


@lru_cache(maxsize=8192)
def _analyte_id(term: str) -> str | None:
    """Charted test name -> analyte id, cached: a cohort repeats the same few spellings."""
    a = vocab.analyte(term)
    return a.id if a else None


@lru_cache(maxsize=8192)
def _condition_id(term: str) -> str | None:
    c = vocab.condition(term)
    return c.id if c else None


@lru_cache(maxsize=8192)
def entry_concept(code: str | None, name: str | None) -> str | None:
    """The concept a condition entry names: its code's, unless its name is a member of that
    (C79.49 is only "a malignancy"; "spinal cord metastasis" says which one)."""
    by_code = _condition_id(code) if code else None
    by_name = _condition_id(name) if name else None
    if by_code and by_name and by_name != by_code and vocab.condition_matches(by_code, by_name):
        return by_name
    return by_code or by_name


@lru_cache(maxsize=8192)
def _drug_id(term: str) -> str | None:
    d = vocab.drug(term)
    return d.id if d else None


def _newest_first(o: Observation) -> date:
    return o.date or date.min


def oldest_result_date(as_of: date, options: Options) -> date:
    """The first day a result may be dated and still decide (``date.min``: no limit)."""
    days = options.max_lab_age_days
    if days is None or days >= as_of.toordinal():
        return date.min
    return as_of - timedelta(days=days)


def age_disagreement(patient: Patient, as_of: date) -> str | None:
    """Why the recorded ``age`` and ``birth_date`` cannot both be right at the as-of date, or
    None. With a ``screening_date`` in the file the loader has already compared them there;
    without one they can be compared only now, and either would be a guess."""
    born, age = patient.birth_date, patient.age
    if born is None or age is None or patient.screening_date is not None or born > as_of:
        return None
    years = completed_years(born, as_of)
    if math.floor(age) == years:
        return None
    return (
        f"age {fmt(age)} as recorded disagrees with birth date {born.isoformat()} "
        f"({years} completed years on {as_of.isoformat()})"
    )


def build_facts(patient: Patient, as_of: date, options: Options | None = None) -> Facts:
    """Index a profile once: observations by analyte (newest first), concepts resolved.

    Results dated after the as-of date are left out; undated ones, and those older than the
    age limit, are kept aside (they never decide, but reasons name them)."""
    options = options or Options()
    oldest = oldest_result_date(as_of, options)
    obs: dict[str, list[Observation]] = {}
    stale: dict[str, Observation] = {}
    undated: dict[str, list[Observation]] = {}
    unresolved: list[str] = []

    def add(aid: str, o: Observation) -> None:
        d = o.date
        if d is None:
            undated.setdefault(aid, []).append(o)
        elif d < oldest:
            if aid not in stale or d > stale[aid].date:  # type: ignore[operator]
                stale[aid] = o
        elif d <= as_of:
            found = obs.get(aid)
            if found is None:
                obs[aid] = [o]
            else:
                found.append(o)

    for i, lab in enumerate(patient.labs):
        aid = _analyte_id(lab.test)
        if aid is None:
            unresolved.append(lab.test)
            continue
        path = f"$.labs[{i}]"
        add(
            aid,
            Observation(path, lab.test, lab.value, lab.unit, lab.date, lab.ref_low, lab.ref_high),
        )
    for i, v in enumerate(patient.vitals):
        aid = _analyte_id(v.name)
        if aid is None:
            unresolved.append(v.name)
            continue
        add(aid, Observation(f"$.vitals[{i}]", v.name, v.value, v.unit, v.date))
    ordered = {
        k: (v[0],) if len(v) == 1 else tuple(sorted(v, key=_newest_first, reverse=True))
        for k, v in obs.items()
    }
    # Derived values (vocab branch, issue 4): creatinine clearance by Cockcroft-Gault when the
    # profile has no measured value; the observation is marked derived in the evidence.
    if "creatinine_clearance" not in ordered:
        crcl = _derived_creatinine_clearance(patient, as_of, ordered)
        if crcl is not None:
            ordered["creatinine_clearance"] = (crcl,)
    conds, bad_conds = _resolve_conditions(patient.conditions or [])
    treats, bad_treats = _resolve_treatments(patient.treatments or [])
    reviews: dict[tuple[str, str], tuple[tuple[int, Review], ...]] = {}
    for i, r in enumerate(patient.reviews):
        key = (r.trial, r.criterion)
        reviews[key] = (*reviews.get(key, ()), (i, r))
    return Facts(
        patient,
        as_of,
        options,
        ordered,
        tuple(unresolved),
        conds,
        bad_conds,
        treats,
        bad_treats,
        reviews,
        stale,
        {k: tuple(v) for k, v in undated.items()},
    )


def _derived_creatinine_clearance(
    patient: Patient, as_of: date, obs: dict[str, tuple[Observation, ...]]
) -> Observation | None:
    """Cockcroft-Gault from the latest creatinine and weight, age and sex; None if any is
    missing or in a unit that does not convert (the rule then reports the measured value as
    missing)."""
    from .derive import age_years, creatinine_clearance_cg

    scr, weight = obs.get("creatinine"), obs.get("body_weight")
    if not scr or not weight or patient.sex is None or age_disagreement(patient, as_of):
        return None
    if patient.birth_date is not None and patient.birth_date <= as_of:
        age: float = age_years(patient.birth_date, as_of)
    elif patient.age is not None:
        age = patient.age
    else:
        return None
    try:
        scr_mg_dl = vocab.convert(scr[0].value, scr[0].unit, "mg/dL", "creatinine")
        kg = vocab.convert(weight[0].value, weight[0].unit, "kg", "body_weight")
        value = creatinine_clearance_cg(age, kg, scr_mg_dl, patient.sex)
    except (vocab.UnitError, ValueError):
        return None
    label = (
        f"creatinine clearance (Cockcroft-Gault: age {fmt(age)}, {fmt(round(kg, 1))} kg, "
        f"creatinine {fmt(round(scr_mg_dl, 2))} mg/dL, {patient.sex})"
    )
    return Observation(scr[0].path, label, round(value, 1), "mL/min", scr[0].date, derived=True)


def _resolve_conditions(
    entries: list[ConditionEntry],
) -> tuple[tuple[Resolved, ...], tuple[str, ...]]:
    out, bad = [], []
    for i, c in enumerate(entries):
        cid = entry_concept(c.code, c.name)
        if c.name:
            label = c.name
        elif cid:
            label = f"{c.code} ({vocab.condition(cid).name})"  # type: ignore[union-attr]
        else:
            label = c.code or "?"
        if cid is None:
            bad.append(label)
        path = f"$.conditions[{i}]"
        active = c.status == "active" and not vocab.inactive_code(c.code)
        out.append(Resolved(cid, path, label, c.onset, c.end, active, c.code))
    return tuple(out), tuple(bad)


def _resolve_treatments(entries: list[Treatment]) -> tuple[tuple[Resolved, ...], tuple[str, ...]]:
    out, bad = [], []
    for i, t in enumerate(entries):
        did = _drug_id(t.name)
        if did is None:
            bad.append(t.name)
        out.append(Resolved(did, f"$.treatments[{i}]", t.name, t.start, t.end, True))
    return tuple(out), tuple(bad)


def fmt(x: float) -> str:
    """Numbers as a coordinator writes them: 1.5, 90, 0.25, 150000 (no exponent, no .0)."""
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.0f}"


@lru_cache(maxsize=1024)
def foreign_unit(unit: str | None, analyte_id: str) -> str | None:
    """Why a result's unit is not one the analyte is measured in (it does not convert to the
    analyte's own unit), or None. A missing unit is not foreign: a multiple of the lab's own
    normal range needs no unit when both are in the same one."""
    if not (unit or "").strip():
        return None
    a = vocab.analyte(analyte_id)
    try:
        vocab.conversion(unit, a.unit if a else None, analyte_id)
    except vocab.UnitError as exc:
        return str(exc)
    return None
