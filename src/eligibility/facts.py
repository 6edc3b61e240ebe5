"""A patient profile indexed once for evaluation at one as-of date, and the options that shape it.

The evaluator (``evaluate.py``) reads only what decides: the newest dated result per analyte on
or before the as-of date and within the age limit, condition and treatment entries as concept
sets, reviews by criterion. Undated and stale results are kept aside (they never decide, but
reasons name them); paths and labels are not built here: ``reasons.py`` derives them from the
profile for the rows a report shows. Names are resolved through cached lookups.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from . import vocab
from .limits import DEFAULT_MAX_LAB_AGE_DAYS
from .model import IfAbsent
from .patient import ConditionEntry, Lab, Patient
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


Result = Lab | Observation
"""A lab result as validated (a reason finds its path by identity) or a vital or derived value
as an ``Observation``."""

_NONE: frozenset[str] = frozenset()
MAYBE = "?"  # prefix of a concept an entry may or may not be, in ``condition_hits``
Entry = tuple[frozenset[str], date | None, date | None, bool, int]


class Facts:
    """A patient indexed for evaluation at one as-of date (see ``build_facts``).

    ``latest``: the newest result per analyte (the first listed on its date); ``ties``: all
    results of that date for the (rare) analytes with several, else None. ``conditions``: per
    entry (concepts it counts as, onset, end, active, index in the profile), and
    ``condition_ids`` their union, so a rule naming something absent is one set test;
    ``treatments``: (drug concept, start, end, index). Either is None when the profile has no
    such list. ``reviews``: (trial, criterion) -> what its reviews said, None when they disagree.
    """

    __slots__ = (
        "_memo",
        "_stale",
        "_undated",
        "absent",
        "age",
        "as_of",
        "aside",
        "condition_ids",
        "conditions",
        "drug_ids",
        "latest",
        "options",
        "patient",
        "reviews",
        "ties",
        "treatments",
    )

    def __init__(self, patient: Patient, as_of: date, options: Options) -> None:
        self.patient = patient
        self.as_of = as_of
        self.options = options
        self.age: int | None = None  # completed years, when age and birth date allow
        self.latest: dict[str, Result] = {}
        self.ties: dict[str, list[Result]] | None = None
        self.aside: set[str] | None = None  # analytes with an undated or too old result
        self._stale: dict[str, Result] | None = None
        self._undated: dict[str, list[Result]] = {}
        self.conditions: tuple[Entry, ...] | None = ()
        self.condition_ids: frozenset[str] = _NONE
        self.treatments: tuple[tuple[str | None, date | None, date | None, int], ...] | None = ()
        self.drug_ids: frozenset[str | None] = _NONE
        self.reviews: dict[tuple[str, str], str | None] = {}
        self.absent = 2 if options.if_absent == "unknown" else 0  # evaluate.UNKNOWN / FALSE
        # what only reasons read, built on first use and kept for every trial of the run
        self._memo: dict[str, Any] = {}

    @property
    def stale(self) -> dict[str, Result]:
        """Per analyte, the newest result older than the age limit (it never decides)."""
        if self._stale is None:
            self._set_aside()
        return self._stale  # type: ignore[return-value]

    @property
    def undated(self) -> dict[str, list[Result]]:
        """Per analyte, the undated results in profile order (they never decide)."""
        if self._stale is None:
            self._set_aside()
        return self._undated

    def _set_aside(self) -> None:
        self._stale = {}
        if not self.aside:
            return
        earliest = oldest_result_date(self.as_of, self.options)
        p = self.patient
        results: list[tuple[str | None, Result]] = [
            (_analyte_id(x.test), x) for x in p.labs if x.date is None or x.date < earliest
        ]
        results += [
            (_analyte_id(v.name), Observation(f"$.vitals[{i}]", v.name, v.value, v.unit, v.date))
            for i, v in enumerate(p.vitals)
            if v.date is None or v.date < earliest
        ]
        for aid, o in results:
            d = o.date
            if aid is None:
                continue
            if d is None:
                self._undated.setdefault(aid, []).append(o)
            else:
                seen = self._stale.get(aid)
                if seen is None or d > seen.date:  # type: ignore[operator]
                    self._stale[aid] = o

    @property
    def unresolved_tests(self) -> tuple[str, ...]:
        """Charted test names the vocabulary does not know (only reasons name them)."""
        found = self._memo.get("tests")
        if found is None:
            p = self.patient
            found = self._memo["tests"] = tuple(
                [x.test for x in p.labs if _analyte_id(x.test) is None]
                + [v.name for v in p.vitals if _analyte_id(v.name) is None]
            )
        return found  # type: ignore[no-any-return]

    @property
    def unresolved_conditions(self) -> tuple[str, ...]:
        found = self._memo.get("conditions")
        if found is None:
            found = self._memo["conditions"] = tuple(
                condition_label(c)
                for c in self.patient.conditions or ()
                if entry_concept(c.code, c.name) is None
            )
        return found  # type: ignore[no-any-return]

    @property
    def unresolved_treatments(self) -> tuple[str, ...]:
        found = self._memo.get("treatments")
        if found is None:
            found = self._memo["treatments"] = tuple(
                t.name for t in self.patient.treatments or () if None in drug_ids(t.name)
            )
        return found  # type: ignore[no-any-return]

    def reviews_of(self, trial: str, criterion: str) -> list[tuple[int, Any]]:
        """(index in the profile, review) of every review of one criterion."""
        index = self._memo.get("reviews")
        if index is None:
            index = self._memo["reviews"] = {}
            for i, r in enumerate(self.patient.reviews):
                index.setdefault((r.trial, r.criterion), []).append((i, r))
        return index.get((trial, criterion), [])  # type: ignore[no-any-return]

    def lab_path(self, lab: Lab) -> str:
        """Where a lab result is in the profile, found by identity (equal labs are distinct)."""
        index = self._memo.get("labs")
        if index is None:
            index = self._memo["labs"] = {id(x): i for i, x in enumerate(self.patient.labs)}
        return f"$.labs[{index[id(lab)]}]"


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
    # (a bound the parser stored to 4 decimals, "2 months" as 0.1667, NCT00455468, fresh audit
    # 87, is within a thousandth of a month of whole months)
    if not math.isclose((years - whole) * 12, months, abs_tol=1e-3):
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
    """The agent a treatment names; a biosimilar's four-letter suffix ("rituximab-abbs", FDA
    naming) or a dosage form ("docetaxel injection") does not hide it (fresh audit 19)."""
    d = vocab.drug(term)
    if d is None:
        base = _FORM_WORDS.sub("", _BIOSIMILAR.sub("", term.strip())).strip()
        d = vocab.drug(base) if base and base != term.strip() else None
        if d is None and base:
            # "imatinib mesylate", "pamidronate disodium" (USAN salt names), "Videx EC",
            # "Zerit XR" (release forms): the agent without the salt or the form's letters
            bare = _SALT_OR_RELEASE.sub("", base).strip()
            d = vocab.drug(bare) if bare and bare != base else None
    return d.id if d else None


@lru_cache(maxsize=8192)
def drug_ids(term: str) -> tuple[str | None, ...]:
    """The agents a treatment entry names: one, or the parts of a combination written out
    ("carboplatin/paclitaxel", "TC (paclitaxel, carboplatin)"), or the agent under a route,
    schedule or brand in brackets ("IV foscarnet", "weekly paclitaxel", "foscarnet
    (Foscavir)"). None stands for a part the vocabulary does not know."""
    d = _drug_id(term)
    if d is not None:
        return (d,)
    plain = _SCHEDULE.sub("", _PAREN.sub(" ", term)).strip(" ,;")
    d = _drug_id(plain) if plain and plain != term else None
    if d is not None:
        return (d,)
    inner = " ".join(_PAREN.findall(term))
    for text in (plain, inner.strip("() ")):
        parts = [_SCHEDULE.sub("", p).strip() for p in _COMBO.split(text) if p.strip()]
        if len(parts) > 1:
            ids = tuple(dict.fromkeys(_drug_id(p) for p in parts))
            if any(x is not None for x in ids):
                return ids
    return (None,)


_PAREN = re.compile(r"\([^()]*\)")
_SCHEDULE = re.compile(
    r"(?i)^(?:\s*(?:iv|i\.v\.|oral|po|sc|subcutaneous|intravenous|weekly|daily|maintenance|"
    r"adjuvant|neoadjuvant|low-dose|high-dose|dose-dense|single-agent|topical)\b)+"
)
_COMBO = re.compile(r"\s*(?:/|\+|,|&|\band\b|\bwith\b|\bplus\b|(?<=[a-z])-(?=[a-z]{4,}))\s*", re.I)


_SALT_OR_RELEASE = re.compile(
    r"(?i)(?:\s+(?:(?:di|tri)?sodium|(?:di)?potassium|calcium|magnesium|(?:di)?hydrochloride|"
    r"hcl|hydrobromide|mesylate|mesilate|besylate|besilate|tosylate|maleate|fumarate|"
    r"hemifumarate|tartrate|bitartrate|succinate|citrate|acetate|sulfate|sulphate|phosphate|"
    r"(?:mono|di|tri|sesqui)?hydrate|malate|lactate|gluconate|bromide|chloride|nitrate|"
    r"onpro|(?:EC|XR|ER|SR|XL|CR|LA|DR|ODT)))+\s*$"
)
_BIOSIMILAR = re.compile(r"(?<=[a-z])-[a-z]{4}\b(?=\s|$)")
_FORM_WORDS = re.compile(
    r"(?i)\s+(?:injection|infusion|tablets?|capsules?|oral|iv|intravenous|subcutaneous|"
    r"solution|for\s+injection|\d+(?:\.\d+)?\s*(?:mg|g|mcg|ml)(?:/\w+)?)\b.*$"
)


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
    """Index a profile once: the newest result per analyte, entries as concept sets.

    Results dated after the as-of date are left out; undated ones, and those older than the
    age limit, are kept aside (they never decide, but reasons name them)."""
    options = options or Options()
    facts = Facts(patient, as_of, options)
    earliest = oldest_result_date(as_of, options)
    latest = facts.latest
    seen_of = latest.get
    analyte_id = _analyte_id
    results = [(analyte_id(lab.test), lab.date, lab) for lab in patient.labs]
    results += [
        (analyte_id(v.name), v.date, Observation(f"$.vitals[{i}]", v.name, v.value, v.unit, v.date))
        for i, v in enumerate(patient.vitals)
    ]
    for aid, d, result in results:
        if aid is None:
            continue
        if d is None or d < earliest:
            if facts.aside is None:  # never decides; ``stale``, ``undated`` find it for a reason
                facts.aside = set()
            facts.aside.add(aid)
            continue
        if d > as_of:
            continue
        seen = seen_of(aid)
        if seen is None or d > seen.date:  # type: ignore[operator]
            latest[aid] = result
            if facts.ties:
                facts.ties.pop(aid, None)
        elif d == seen.date:
            facts.ties = facts.ties or {}
            facts.ties.setdefault(aid, [seen]).append(result)
    born = patient.birth_date
    if age_disagreement(patient, as_of) is not None:
        pass  # neither can be trusted: the age rule says why
    elif born is not None:
        if born <= as_of:
            facts.age = completed_years(born, as_of)
    elif patient.age is not None:
        facts.age = int(patient.age)
    if "creatinine" in latest and "creatinine_clearance" not in latest:
        crcl = _derived_creatinine_clearance(patient, as_of, latest)
        if crcl is not None:
            latest["creatinine_clearance"] = crcl
    _index_entries(facts, patient)
    return facts


def _index_entries(facts: Facts, patient: Patient) -> None:
    """Conditions and treatments as concept sets, reviews by criterion."""
    entries = patient.conditions
    if entries:
        conditions = tuple(
            [
                (
                    condition_hits(c.code, c.name),
                    c.onset,
                    c.end,
                    c.status == "active" and not vocab.inactive_code(c.code),
                    i,
                )
                for i, c in enumerate(entries)
            ]
        )
        facts.conditions = conditions
        facts.condition_ids = (
            conditions[0][0]
            if len(conditions) == 1
            else frozenset().union(*[c[0] for c in conditions])
        )
    elif entries is None:
        facts.conditions = None
    treatments = patient.treatments
    if treatments:
        facts.treatments = tuple(
            [(d, t.start, t.end, i) for i, t in enumerate(treatments) for d in drug_ids(t.name)]
        )
        facts.drug_ids = frozenset([t[0] for t in facts.treatments])
    elif treatments is None:
        facts.treatments = None
    if patient.reviews:
        reviews = facts.reviews
        for r in patient.reviews:
            key = (r.trial, r.criterion)
            # reviews of one criterion that disagree decide nothing (None)
            reviews[key] = r.status if reviews.get(key, r.status) == r.status else None


@lru_cache(maxsize=4096)
def condition_hits(code: str | None, name: str | None) -> frozenset[str]:
    """Every condition a profile entry counts as: by its concept (and the groups above it) or
    by its ICD-10 code (B18.0 is both HBV and HDV); and, marked ``?id``, the concepts it may or
    may not be (``vocab.condition_may_be``)."""
    concept = entry_concept(code, name)
    # a group's own maybe code overrides a member's match unless the name says which one
    named = concept is not None and name is not None and _condition_id(name) == concept
    hits = [
        c.id
        for c in vocab.conditions()
        if (
            concept is not None
            and vocab.condition_matches(c.id, concept)
            and (named or not vocab.own_maybe(c.id, code))
        )
        or (code is not None and vocab.code_matches(c.id, code))
    ]
    found = set(hits)
    maybe = [
        MAYBE + c.id
        for c in vocab.conditions()
        if c.id not in found and vocab.condition_may_be(c.id, concept, code)
    ]
    if name:  # "rheumatic heart failure" may be heart failure, whatever it resolves to
        named = vocab.conditions_named_in(name)
        maybe += [
            MAYBE + cid
            for cid in (*named, *(k for n in named for k in vocab.uncoded_kinds(n, concept, code)))
            if cid not in found and not (code and vocab.code_ruled_out(cid, code))
        ]
    return frozenset(hits + maybe)


def condition_label(c: ConditionEntry) -> str:
    """How a reason names a condition entry: its name, else its code and the concept's name."""
    if c.name:
        return c.name
    cid = entry_concept(c.code, c.name)
    if cid:
        return f"{c.code} ({vocab.condition(cid).name})"  # type: ignore[union-attr]
    return c.code or "?"


def result_path(patient: Patient, o: Result) -> str:
    """Where a result is in the profile (a lab is found by identity: equal labs are distinct)."""
    if isinstance(o, Observation):
        return o.path
    return next(f"$.labs[{i}]" for i, x in enumerate(patient.labs) if x is o)


def result_label(o: Result) -> str:
    return o.label if isinstance(o, Observation) else o.test


def result_evidence(facts: Facts, o: Result) -> Evidence:
    if isinstance(o, Observation):
        return o.evidence()
    return Evidence(facts.lab_path(o), o.test, o.value, o.unit, o.date)


def _derived_creatinine_clearance(
    patient: Patient, as_of: date, latest: dict[str, Result]
) -> Observation | None:
    """Cockcroft-Gault from the latest creatinine and weight, age and sex; None if any is
    missing or in a unit that does not convert (the rule then reports the measured value as
    missing)."""
    from .derive import age_years, creatinine_clearance_cg

    scr, weight = latest.get("creatinine"), latest.get("body_weight")
    if not scr or not weight or patient.sex is None or age_disagreement(patient, as_of):
        return None
    if patient.birth_date is not None and patient.birth_date <= as_of:
        age: float = age_years(patient.birth_date, as_of)
    elif patient.age is not None:
        age = patient.age
    else:
        return None
    try:
        scr_mg_dl = vocab.convert(scr.value, scr.unit, "mg/dL", "creatinine")
        kg = vocab.convert(weight.value, weight.unit, "kg", "body_weight")
        value = creatinine_clearance_cg(age, kg, scr_mg_dl, patient.sex)
    except (vocab.UnitError, ValueError):
        return None
    label = (
        f"creatinine clearance (Cockcroft-Gault: age {fmt(age)}, {fmt(round(kg, 1))} kg, "
        f"creatinine {fmt(round(scr_mg_dl, 2))} mg/dL, {patient.sex})"
    )
    path = result_path(patient, scr)
    return Observation(path, label, round(value, 1), "mL/min", scr.date, derived=True)


def fmt(x: float) -> str:
    """Numbers as a coordinator writes them: 1.5, 90, 0.25, 150000 (no exponent, no .0);
    an infinite derived value (Cockcroft-Gault of a creatinine near 0) as ``inf``."""
    if abs(x) < 1e15 and x == int(x):
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
