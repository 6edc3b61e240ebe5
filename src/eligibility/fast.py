"""Truth-only evaluation: statuses and verdicts without reasons, for cohort summaries.

The detailed evaluator (``evaluate.py``) formats a reason, missing items and evidence for every
rule it visits; a CSV row, a funnel or a verdict count needs none of that. Here each rule
compiles to a predicate returning a small int (Kleene truth), composites short-circuit, unit
factors and concept sets are resolved at compile time, and nothing is allocated per rule.
Reasons are built by the detailed path only for outputs that show them.

The two paths must agree on every status: ``tests/test_fast.py`` compares them on the example
patients and on generated profiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from operator import attrgetter

from . import derive, vocab
from .evaluate import _CP_SCORES, Where, event_concepts
from .facts import (
    Observation,
    Options,
    _analyte_id,
    _derived_creatinine_clearance,
    _drug_id,
    age_disagreement,
    anniversary,
    entry_concept,
    foreign_unit,
    oldest_result_date,
)
from .model import (
    AgeRule,
    AllRule,
    AnyRule,
    BreastfeedingRule,
    ChildPughRule,
    ConditionRule,
    LabRule,
    ManualRule,
    MeasureRule,
    NotRule,
    PerformanceRule,
    PregnancyRule,
    Rule,
    RuleSet,
    SexRule,
    TherapyRule,
    VitalRule,
    Window,
)
from .patient import ChildPugh, Lab, Patient
from .result import Status, Verdict

# Kleene truth as ints: cheap to return and compare; REVIEW is the manual-rule value.
FALSE, TRUE, UNKNOWN, REVIEW = 0, 1, 2, 3
# Status by truth, indexed by the int above; exclusions invert at the criterion level.
_INCLUSION: tuple[Status, ...] = ("fail", "pass", "unknown", "review")
_EXCLUSION: tuple[Status, ...] = ("pass", "fail", "unknown", "review")


class FastFacts:
    """A profile indexed for truth-only evaluation: just what the predicates read.

    Unlike ``facts.Facts`` it keeps no paths, labels or unresolved names (only reasons use
    them), and it holds the newest result per analyte rather than all of them; ``ties`` has all
    results of the newest date, only for the (rare) analytes that have several on that date, and
    is None when there are none (then no predicate looks at it: see ``fast_status``).
    """

    __slots__ = (
        "absent",
        "age",
        "as_of",
        "condition_ids",
        "conditions",
        "drug_ids",
        "latest",
        "patient",
        "reviews",
        "ties",
        "treatments",
    )

    def __init__(
        self,
        patient: Patient,
        as_of: date,
        age: int | None,
        latest: dict[str, Lab | Observation],
        ties: dict[str, list[Lab | Observation]] | None,
        conditions: tuple[tuple[frozenset[str], date | None, date | None, bool], ...] | None,
        condition_ids: frozenset[str],
        treatments: tuple[tuple[str | None, date | None, date | None], ...] | None,
        drug_ids: frozenset[str | None],
        reviews: dict[tuple[str, str], str | None],
        absent: int,
    ) -> None:
        self.patient = patient
        self.as_of = as_of
        self.age = age
        self.latest = latest
        self.ties = ties
        self.conditions = conditions  # None: the profile has no conditions list (not recorded)
        # Most rules name something the patient does not have: one set test says so.
        self.condition_ids = condition_ids
        self.treatments = treatments  # None: not recorded
        self.drug_ids = drug_ids
        self.reviews = reviews
        self.absent = absent  # what a missing condition or therapy means: FALSE or UNKNOWN


_NONE: frozenset[str] = frozenset()
_LOW = date.min


def index_fast(patient: Patient, as_of: date, options: Options | None = None) -> FastFacts:
    """Same selection as ``facts.build_facts``: the newest dated result per analyte on or
    before the as-of date and within the age limit (first listed in ``latest``, all of them in
    ``ties`` when several share that date), names resolved through the same cached lookups."""
    options = options or Options()
    earliest = oldest_result_date(as_of, options)
    latest: dict[str, Lab | Observation] = {}
    ties: dict[str, list[Lab | Observation]] | None = None
    seen_of = latest.get
    analyte_id = _analyte_id
    for lab in patient.labs:
        aid = analyte_id(lab.test)
        if aid is None:
            continue
        d = lab.date
        if d is None or d > as_of or d < earliest:
            continue
        seen = seen_of(aid)
        if seen is None:
            latest[aid] = lab
        elif d > seen.date:  # type: ignore[operator]
            latest[aid] = lab
            if ties:
                ties.pop(aid, None)
        elif d == seen.date:
            if ties is None:
                ties = {}
            ties.setdefault(aid, [seen]).append(lab)
    for v in patient.vitals:
        aid = analyte_id(v.name)
        if aid is None:
            continue
        d = v.date
        if d is None or d > as_of or d < earliest:
            continue
        seen = seen_of(aid)
        if seen is None or d > seen.date:  # type: ignore[operator]
            latest[aid] = _observation(v.name, v.value, v.unit, d)
            if ties:
                ties.pop(aid, None)
        elif d == seen.date:
            if ties is None:
                ties = {}
            ties.setdefault(aid, [seen]).append(_observation(v.name, v.value, v.unit, d))
    birth = patient.birth_date
    if age_disagreement(patient, as_of) is not None:
        age = None
    elif birth is not None:
        if birth > as_of:
            age = None
        else:  # completed years, as ``facts.completed_years``
            age = as_of.year - birth.year
            if (as_of.month, as_of.day) < (birth.month, birth.day):
                age -= 1
    else:
        age = None if patient.age is None else int(patient.age)
    if "creatinine" in latest and "creatinine_clearance" not in latest:
        crcl = _derived_crcl(patient, as_of, latest)
        if crcl is not None:
            latest["creatinine_clearance"] = crcl
    entries = patient.conditions
    conditions: tuple[tuple[frozenset[str], date | None, date | None, bool], ...] | None
    if entries:
        conditions = tuple(
            [
                (
                    _entry_hits(c.code, c.name),
                    c.onset,
                    c.end,
                    c.status == "active" and not vocab.inactive_code(c.code),
                )
                for c in entries
            ]
        )
        condition_ids = (
            conditions[0][0]
            if len(conditions) == 1
            else frozenset().union(*[c[0] for c in conditions])
        )
    else:
        conditions, condition_ids = (None if entries is None else ()), _NONE
    treatments: tuple[tuple[str | None, date | None, date | None], ...] | None
    if patient.treatments:
        treatments = tuple([(_drug_id(t.name), t.start, t.end) for t in patient.treatments])
        drug_ids: frozenset[str | None] = frozenset([t[0] for t in treatments])
    else:
        treatments, drug_ids = (None if patient.treatments is None else ()), _NONE
    # reviews of one criterion that disagree decide nothing (None), as in ``_compile_manual``
    reviews: dict[tuple[str, str], str | None] = {}
    for r in patient.reviews:
        key = (r.trial, r.criterion)
        reviews[key] = r.status if reviews.get(key, r.status) == r.status else None
    return FastFacts(
        patient,
        as_of,
        age,
        latest,
        ties,
        conditions,
        condition_ids,
        treatments,
        drug_ids,
        reviews,
        UNKNOWN if options.if_absent == "unknown" else FALSE,
    )


def _observation(label: str, value: float, unit: str | None, d: date | None) -> Observation:
    """``Observation("", label, value, unit, d)`` without the Python-level ``__new__``."""
    return _tuple_new(Observation, ("", label, value, unit, d, *_DEFAULTS))


_tuple_new = tuple.__new__
_DEFAULTS = tuple(Observation._field_defaults[f] for f in Observation._fields[5:])


@lru_cache(maxsize=4096)
def _entry_hits(code: str | None, name: str | None) -> frozenset[str]:
    """What a condition entry counts as: its code's concept, else its name's (as
    ``facts._resolve_conditions``), with the groups above it and its code's own matches."""
    concept = entry_concept(code, name)
    return _hits(concept, code)


@lru_cache(maxsize=4096)
def _hits(concept: str | None, code: str | None) -> frozenset[str]:
    """Every condition a profile entry counts as: by its concept (and the groups above it) or
    by its ICD-10 code (B18.0 is both HBV and HDV), as ``evaluate._condition_hit`` decides;
    and, marked ``?id``, the concepts it may or may not be (``vocab.condition_may_be``)."""
    hits = [
        c.id
        for c in vocab.conditions()
        if (concept is not None and vocab.condition_matches(c.id, concept))
        or (code is not None and vocab.code_matches(c.id, code))
    ]
    found = set(hits)
    maybe = [
        MAYBE + c.id
        for c in vocab.conditions()
        if c.id not in found and vocab.condition_may_be(c.id, concept, code)
    ]
    return frozenset(hits + maybe)


MAYBE = "?"  # prefix of a concept an entry may or may not be, in ``_hits``


def _derived_crcl(
    patient: Patient, as_of: date, latest: dict[str, Lab | Observation]
) -> Observation | None:
    """Cockcroft-Gault when not measured: the detailed path's own function, on the same values."""
    scr, weight = latest.get("creatinine"), latest.get("body_weight")
    if scr is None or weight is None:
        return None
    obs = {
        "creatinine": (Observation("", "", scr.value, scr.unit, scr.date),),
        "body_weight": (Observation("", "", weight.value, weight.unit, weight.date),),
    }
    return _derived_creatinine_clearance(patient, as_of, obs)


Predicate = Callable[[FastFacts], int]


def _constant(value: int) -> Predicate:
    return lambda facts: value


# --- comparisons: identical to evaluate.compare, without building a dict per call ---------


def _isclose(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _lt(a: float, b: float) -> bool:
    return a < b and not _isclose(a, b)


def _le(a: float, b: float) -> bool:
    return a < b or _isclose(a, b)


def _gt(a: float, b: float) -> bool:
    return a > b and not _isclose(a, b)


def _ge(a: float, b: float) -> bool:
    return a > b or _isclose(a, b)


COMPARE: dict[str, Callable[[float, float], bool]] = {"<": _lt, "<=": _le, ">": _gt, ">=": _ge}


# The same comparisons returning a truth, with the tolerance test inlined: one call per lab
# rule instead of three. ``a <= b`` covers ``a == b``, which is always close.
def _lt_truth(a: float, b: float, close: Callable[..., bool] = math.isclose) -> int:
    return TRUE if a < b and not close(a, b, rel_tol=1e-9, abs_tol=1e-12) else FALSE


def _le_truth(a: float, b: float, close: Callable[..., bool] = math.isclose) -> int:
    return TRUE if a <= b or close(a, b, rel_tol=1e-9, abs_tol=1e-12) else FALSE


def _gt_truth(a: float, b: float, close: Callable[..., bool] = math.isclose) -> int:
    return TRUE if a > b and not close(a, b, rel_tol=1e-9, abs_tol=1e-12) else FALSE


def _ge_truth(a: float, b: float, close: Callable[..., bool] = math.isclose) -> int:
    return TRUE if a >= b or close(a, b, rel_tol=1e-9, abs_tol=1e-12) else FALSE


_TRUTH: dict[str, Callable[[float, float], int]] = {
    "<": _lt_truth,
    "<=": _le_truth,
    ">": _gt_truth,
    ">=": _ge_truth,
}


# --- compilation --------------------------------------------------------------------------


def compile_predicate(rule: Rule, where: Where | None = None, ties: bool = True) -> Predicate:
    """Mirror of ``evaluate.compile_rule`` returning truths only.

    With ``ties=False`` lab and vital rules read only ``latest`` and never ``ties``: such a
    predicate is right only for facts whose ``ties`` is empty (``fast_status`` picks it then).
    """
    where = where or Where()
    match rule:
        case AllRule():
            return _all([compile_predicate(r, where, ties) for r in rule.rules])
        case AnyRule():
            return _any([compile_predicate(r, where, ties) for r in rule.rules])
        case NotRule():
            flipped = Where(where.trial, where.criterion, where.section, not where.negated)
            return _not(compile_predicate(rule.rule, flipped, ties))
        case AgeRule():
            return _age(rule)
        case SexRule():
            return _sex(rule)
        case PerformanceRule():
            return _performance(rule)
        case ChildPughRule():
            return _child_pugh(rule)
        case LabRule():
            return _lab(rule, ties)
        case VitalRule() | MeasureRule():
            a = vocab.analyte(rule.name)
            if a is None:
                return _constant(REVIEW)
            return _lab(
                LabRule(
                    analyte=a.id,
                    comparator=rule.comparator,
                    value=rule.value,
                    unit=rule.unit or a.unit,
                ),
                ties,
            )
        case ConditionRule():
            return _condition(rule)
        case TherapyRule():
            return _therapy(rule)
        case PregnancyRule():
            return _flag("pregnant")
        case BreastfeedingRule():
            return _flag("breastfeeding")
        case ManualRule():
            return _manual(where)
    raise TypeError(f"no evaluator for rule kind {type(rule).__name__}")  # pragma: no cover


def _all(children: list[Predicate]) -> Predicate:
    """FALSE if any child is; TRUE if all are; else UNKNOWN before REVIEW."""
    kids = tuple(children)
    if len(kids) == 1:
        return kids[0]
    if len(kids) == 2:  # the common shape ("condition and a manual part"): no loop
        first, second = kids

        def pair(facts: FastFacts) -> int:
            a = first(facts)
            if a == FALSE:
                return FALSE
            b = second(facts)
            if b == FALSE:
                return FALSE
            if a == UNKNOWN or b == UNKNOWN:
                return UNKNOWN
            return REVIEW if a == REVIEW or b == REVIEW else TRUE

        return pair

    def check(facts: FastFacts) -> int:
        result = TRUE
        for child in kids:
            v = child(facts)
            if v == FALSE:
                return FALSE
            if v == UNKNOWN:
                result = UNKNOWN
            elif v == REVIEW and result == TRUE:
                result = REVIEW
        return result

    return check


def _any(children: list[Predicate]) -> Predicate:
    """TRUE if any child is; FALSE if all are; else REVIEW before UNKNOWN."""
    kids = tuple(children)
    if len(kids) == 1:
        return kids[0]
    if len(kids) == 2:
        first, second = kids

        def pair(facts: FastFacts) -> int:
            a = first(facts)
            if a == TRUE:
                return TRUE
            b = second(facts)
            if b == TRUE:
                return TRUE
            if a == REVIEW or b == REVIEW:
                return REVIEW
            return UNKNOWN if a == UNKNOWN or b == UNKNOWN else FALSE

        return pair

    def check(facts: FastFacts) -> int:
        result = FALSE
        for child in kids:
            v = child(facts)
            if v == TRUE:
                return TRUE
            if v == REVIEW:
                result = REVIEW
            elif v == UNKNOWN and result == FALSE:
                result = UNKNOWN
        return result

    return check


def _not(child: Predicate) -> Predicate:
    flip = (TRUE, FALSE, UNKNOWN, REVIEW)
    return lambda facts: flip[child(facts)]


def _manual(where: Where) -> Predicate:
    key = (where.trial, where.criterion)
    inclusion = where.section == "inclusion"
    # holds = (status == "pass") == inclusion; truth = holds != negated
    on_pass = TRUE if inclusion != where.negated else FALSE
    on_fail = FALSE if on_pass == TRUE else TRUE

    def check(facts: FastFacts) -> int:
        if key not in facts.reviews:
            return REVIEW
        found = facts.reviews[key]
        if found is None:
            return UNKNOWN  # reviews that disagree
        return on_pass if found == "pass" else on_fail

    return check


_MAX_MEMO = 256  # bound per-rule memo tables: their keys come from untrusted profiles


def _age(rule: AgeRule) -> Predicate:
    """Inclusive bounds on completed years (memoised); a strict bound on exact age, as
    ``evaluate._age_truth``: the as-of date against the birthday the bound names, or, with only
    completed years recorded, decided when all the exact ages they allow agree."""
    lo, hi, lo_inc, hi_inc = rule.min, rule.max, rule.min_inclusive, rule.max_inclusive
    whole = lo is None or float(lo).is_integer()
    if (lo is None or lo_inc) and (hi is None or hi_inc) and whole:
        return _completed_age(lo, hi)

    def check(facts: FastFacts) -> int:
        age = facts.age
        if age is None:
            return UNKNOWN
        birth = facts.patient.birth_date
        result = TRUE
        if lo is not None:  # inclusive whole years: completed; strict or fractional: exact
            if lo_inc and whole:
                ok = _ge(age, lo)
            elif birth is not None:
                day = anniversary(birth, lo)
                ok = facts.as_of >= day if lo_inc else facts.as_of > day
            elif _ge(age, lo) if lo_inc else _gt(age, lo):
                ok = True
            elif _le(age + 1, lo):
                ok = False
            else:
                result = UNKNOWN
                ok = True
            if not ok:
                return FALSE
        if hi is not None:
            if hi_inc:
                ok = _le(age, hi)
            elif birth is not None:
                ok = facts.as_of < anniversary(birth, hi)
            elif _le(age + 1, hi):
                ok = True
            elif _ge(age, hi):
                ok = False
            else:
                result = UNKNOWN
                ok = True
            if not ok:
                return FALSE
        return result

    return check


def _completed_age(lo: float | None, hi: float | None) -> Predicate:
    """Inclusive bounds only: completed years decide."""
    memo: dict[int, int] = {}  # completed years -> truth: a cohort has few distinct ages

    def check(facts: FastFacts) -> int:
        age = facts.age
        if age is None:
            return UNKNOWN
        truth = memo.get(age)
        if truth is None:
            truth = TRUE if (lo is None or _ge(age, lo)) and (hi is None or _le(age, hi)) else FALSE
            if len(memo) < _MAX_MEMO:
                memo[age] = truth
        return truth

    return check


def _sex(rule: SexRule) -> Predicate:
    allowed = frozenset(rule.allowed)

    def check(facts: FastFacts) -> int:
        sex = facts.patient.sex
        if sex is None:
            return UNKNOWN
        return TRUE if sex in allowed else FALSE

    return check


def _performance(rule: PerformanceRule) -> Predicate:
    scale, allowed, lo, hi = rule.scale, rule.allowed, rule.min, rule.max
    other = "karnofsky" if scale == "ecog" else "ecog"
    mapped = (
        derive.ecog_range_from_karnofsky
        if other == "karnofsky"
        else derive.karnofsky_range_from_ecog
    )
    step = 1 if scale == "ecog" else 10
    own_of, other_of = attrgetter(scale), attrgetter(other)
    memo: dict[int, int] = {}  # recorded value -> truth

    def ok(value: int) -> bool:
        return (
            (allowed is None or value in allowed)
            and (lo is None or value >= lo)
            and (hi is None or value <= hi)
        )

    def check(facts: FastFacts) -> int:
        p = facts.patient
        value = own_of(p)
        if value is not None:
            truth = memo.get(value)
            if truth is None:
                truth = TRUE if ok(value) else FALSE
                if len(memo) < _MAX_MEMO:
                    memo[value] = truth
            return truth
        given = other_of(p)
        if given is None:
            return UNKNOWN
        low, high = mapped(given)  # the other scale's range, as the detailed path maps it
        hits = {ok(v) for v in range(low, high + 1, step)}
        return TRUE if hits == {True} else FALSE if hits == {False} else UNKNOWN

    return check


def _child_pugh(rule: ChildPughRule) -> Predicate:
    classes = rule.classes
    scored = rule.min_score is not None or rule.max_score is not None
    rmin = rule.min_score if rule.min_score is not None else 5
    rmax = rule.max_score if rule.max_score is not None else 15
    memo: dict[tuple[str | None, int | None], int] = {}  # (class, score) as recorded -> truth

    def derived(facts: FastFacts) -> int:
        """Not recorded: score it from labs and grades, as ``evaluate._derive_child_pugh``."""
        p = facts.patient
        cp = derive.child_pugh_partial(
            _value(facts, "total_bilirubin", "mg/dL"),
            _value(facts, "albumin", "g/dL"),
            _value(facts, "inr", "1"),
            p.ascites,
            p.encephalopathy,
        )
        truths = set()
        if classes:
            inside = {c in classes for c in cp.classes}
            truths.add(TRUE if inside == {True} else FALSE if inside == {False} else UNKNOWN)
        if scored:
            if rmin <= cp.min_score and cp.max_score <= rmax:
                truths.add(TRUE)
            elif cp.max_score < rmin or cp.min_score > rmax:
                truths.add(FALSE)
            else:
                truths.add(UNKNOWN)
        if FALSE in truths:
            return FALSE
        return TRUE if truths == {TRUE} else UNKNOWN

    def recorded(cp: ChildPugh) -> int:
        cls = cp.resolved_class()
        if classes and cls not in classes:
            return FALSE
        if not scored:
            return TRUE
        lo, hi = (cp.score, cp.score) if cp.score else _CP_SCORES[cls or "C"]
        if rmin <= lo and hi <= rmax:
            return TRUE
        if hi < rmin or lo > rmax:
            return FALSE
        return UNKNOWN

    def check(facts: FastFacts) -> int:
        cp = facts.patient.child_pugh
        if cp is None:
            return derived(facts)
        key = (cp.class_, cp.score)
        truth = memo.get(key)
        if truth is None:
            truth = recorded(cp)
            if len(memo) < _MAX_MEMO:
                memo[key] = truth
        return truth

    return check


def _value(facts: FastFacts, analyte_id: str, unit: str) -> float | None:
    o = facts.latest.get(analyte_id)
    if o is None:
        return None
    try:
        return vocab.convert(o.value, o.unit, unit, analyte_id)
    except vocab.UnitError:
        return None


_MAX_CACHED_UNITS = 256  # bound the per-rule cache: unit strings come from untrusted profiles


def _lab(rule: LabRule, ties: bool = True) -> Predicate:
    """The rule on the newest result (reading ``facts.latest`` only); with ``ties``, several
    results on that date decide only together (see ``_on_latest_day``)."""
    a = vocab.analyte(rule.analyte)
    if a is None:
        return _constant(REVIEW)
    aid = a.id
    truth = _TRUTH[rule.comparator]

    if rule.of is not None:
        upper = rule.of == "ULN"
        multiple = float(rule.multiple or 1.0)

        def relative(facts: FastFacts) -> int:
            o = facts.latest.get(aid)
            if o is None or foreign_unit(o.unit, aid) is not None:
                return UNKNOWN
            ref = o.ref_high if upper else o.ref_low
            if ref is None or ref <= 0:
                return UNKNOWN
            return truth(o.value, multiple * ref)

        return _on_latest_day(aid, relative) if ties else relative

    target = rule.unit if rule.unit is not None else a.unit
    threshold = float(rule.value)  # type: ignore[arg-type]
    # unit as charted -> (slope, offset) when one multiplication converts (nearly always),
    # else -> the Conversion, or None when it does not convert; filled on first sight
    factors: dict[str | None, tuple[float, float]] = {}
    others: dict[str | None, vocab.Conversion | None] = {}
    needs_unit = vocab.unit(a.unit) != "1"

    def conversion(unit: str | None) -> vocab.Conversion | None:
        """None when the unit does not convert, or is missing where the analyte has one."""
        c: vocab.Conversion | None = None
        if not (needs_unit and not (unit or "").strip()):
            try:
                c = vocab.conversion(unit, target, aid)
            except vocab.UnitError:
                c = None
        if len(factors) + len(others) < _MAX_CACHED_UNITS:
            if c is not None and c.is_factor:
                factors[unit] = (c.slope, c.offset)
            else:
                others[unit] = c
        return c

    def converted(o: Lab | Observation) -> int:
        """The first result in a unit, or one that does not convert by a single factor."""
        unit = o.unit
        c = others[unit] if unit in others else conversion(unit)
        if c is None:
            return UNKNOWN
        if c.is_factor:
            value = c.slope * o.value + c.offset
        else:
            try:
                value = c.apply(o.value)
            except vocab.UnitError:
                return UNKNOWN
        return truth(value, threshold)

    def absolute(facts: FastFacts) -> int:
        o = facts.latest.get(aid)
        if o is None:
            return UNKNOWN
        f = factors.get(o.unit)
        if f is None:
            return converted(o)
        return truth(f[0] * o.value + f[1], threshold)

    return _on_latest_day(aid, absolute) if ties else absolute


class _Single:
    """Stands in for the facts when a lab predicate is applied to one of several results."""

    __slots__ = ("latest",)

    def __init__(self, aid: str, o: Lab | Observation) -> None:
        self.latest = {aid: o}


def _on_latest_day(aid: str, one: Predicate) -> Predicate:
    """``one`` on the newest result; several on that date decide only together, else unknown
    (as ``evaluate._same_day``)."""

    def check(facts: FastFacts) -> int:
        tied = facts.ties.get(aid) if facts.ties else None
        if tied is None:
            return one(facts)
        truths = {one(_Single(aid, t)) for t in tied}  # type: ignore[arg-type]
        return truths.pop() if len(truths) == 1 else UNKNOWN

    return check


def _when(
    start: date | None, end: date | None, active: bool, window: timedelta | None, as_of: date
) -> int:
    """``evaluate._in_window`` on plain values: present at some time in [as_of - window, as_of]?"""
    if start is not None and start > as_of:
        return FALSE
    if window is None:
        return TRUE
    since = as_of - window
    if end is not None:
        return TRUE if end >= since else FALSE
    if active:
        return TRUE
    if start is not None and start >= since:
        return TRUE
    return UNKNOWN


def _onset(start: date | None, window: timedelta, as_of: date) -> int:
    """``evaluate._onset_in_window``: did the event happen in [as_of - window, as_of]?"""
    if start is None:
        return UNKNOWN
    if start > as_of:
        return FALSE
    return TRUE if start >= as_of - window else FALSE


def _absent_value(if_absent: str | None) -> int | None:
    """What no matching entry means by the rule's own setting; None: the run's (facts.absent)."""
    if if_absent is None:
        return None
    return UNKNOWN if if_absent == "unknown" else FALSE


def _members(
    concepts: list[vocab.Concept], targets: list[str], excepted: list[str], kind: str
) -> frozenset[str]:
    """Concept ids that match one of ``targets`` and none of ``excepted`` (precomputed once)."""
    matches = vocab.condition_matches if kind == "condition" else vocab.drug_matches
    return frozenset(
        c.id
        for c in concepts
        if any(matches(t, c.id) for t in targets) and not any(matches(x, c.id) for x in excepted)
    )


def _since(window: Window | None) -> timedelta | None:
    return None if window is None else timedelta(days=window.days())


def _condition(rule: ConditionRule) -> Predicate:
    c = vocab.condition(rule.condition)
    if c is None or any(vocab.condition(e) is None for e in rule.except_):
        return _constant(REVIEW)
    cid = c.id
    maybe_id = MAYBE + cid
    exceptions = frozenset(vocab.condition(e).id for e in rule.except_)  # type: ignore[union-attr]
    active_only, window, own = rule.active, _since(rule.within), _absent_value(rule.if_absent)
    past_review = rule.history == "review"
    active_only = active_only or vocab.is_current(cid)  # "active infection"
    # with a window, an entry recorded as an event is dated by its onset (``_onset``)
    events = event_concepts(cid) if window is not None else _NONE

    def check(facts: FastFacts) -> int:
        if cid not in facts.condition_ids and maybe_id not in facts.condition_ids:
            if facts.conditions is None:
                return UNKNOWN  # no conditions list: not recorded
            return facts.absent if own is None else own
        unsure = False
        for hits, start, end, active in facts.conditions:
            maybe = cid not in hits
            if maybe and maybe_id not in hits:
                continue
            if not exceptions.isdisjoint(hits) or (active_only and not active):
                continue
            if events and not events.isdisjoint(hits):
                timing = _onset(start, window, facts.as_of)  # type: ignore[arg-type]
            else:
                timing = _when(start, end, active, window, facts.as_of)
            if maybe or (past_review and not active):
                unsure = unsure or timing != FALSE
            elif timing == TRUE:
                return TRUE
            elif timing == UNKNOWN:
                unsure = True
        if unsure:
            return UNKNOWN
        return facts.absent if own is None else own

    return check


def _therapy(rule: TherapyRule) -> Predicate:
    concepts = [vocab.drug(a) for a in rule.agents]
    if any(x is None for x in concepts):
        return _constant(REVIEW)
    ids = [x.id for x in concepts]  # type: ignore[union-attr]
    members = _members(vocab.drugs(), ids, [], "drug")
    maybes = frozenset(
        d.id
        for d in vocab.drugs()
        if d.id not in members and any(vocab.drug_may_be(i, d.id) for i in ids)
    )
    window, own = _since(rule.within), _absent_value(rule.if_absent)

    def check(facts: FastFacts) -> int:
        if members.isdisjoint(facts.drug_ids) and maybes.isdisjoint(facts.drug_ids):
            if facts.treatments is None:
                return UNKNOWN  # no treatments list: not recorded
            return facts.absent if own is None else own
        unsure = False
        for concept, start, end in facts.treatments:
            if concept in maybes:
                unsure = unsure or _when(start, end, True, window, facts.as_of) != FALSE
                continue
            if concept not in members:
                continue
            if window is not None and start is None and end is None:
                unsure = True
                continue
            if _when(start, end, True, window, facts.as_of) == TRUE:
                return TRUE
        if unsure:
            return UNKNOWN
        return facts.absent if own is None else own

    return check


def _flag(field_name: str) -> Predicate:
    flag_of = attrgetter(field_name)

    def check(facts: FastFacts) -> int:
        p = facts.patient
        value = flag_of(p)
        if value is not None:
            return TRUE if value else FALSE
        return FALSE if p.sex == "male" else UNKNOWN

    return check


# --- trials -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FastTrial:
    """A rules file compiled to predicates, each paired with its truth -> status table.

    ``checks`` is for facts with no same-date results (nearly all profiles): its lab rules
    never look at ``ties``; ``tied`` is the same criteria for facts that have some.
    """

    trial_id: str
    ids: tuple[str, ...]
    checks: tuple[tuple[Predicate, tuple[Status, ...]], ...]
    tied: tuple[tuple[Predicate, tuple[Status, ...]], ...]


def compile_fast(rules: RuleSet) -> FastTrial:
    tid = rules.trial.id

    def compiled(ties: bool) -> tuple[tuple[Predicate, tuple[Status, ...]], ...]:
        return tuple(
            (
                compile_predicate(c.rule, Where(tid, c.id, c.section), ties),
                _INCLUSION if c.section == "inclusion" else _EXCLUSION,
            )
            for c in rules.criteria
        )

    return FastTrial(tid, tuple(c.id for c in rules.criteria), compiled(False), compiled(True))


def fast_status(trial: FastTrial, facts: FastFacts) -> list[Status]:
    """Each criterion's status, in rules-file order."""
    checks = trial.tied if facts.ties else trial.checks
    return [table[predicate(facts)] for predicate, table in checks]


def verdict_of(statuses: list[Status]) -> Verdict:
    """Same rule as ``evaluate.verdict_of``: any fail, else all pass, else indeterminate."""
    if "fail" in statuses:
        return "ineligible"
    if "unknown" in statuses or "review" in statuses:
        return "indeterminate"
    return "eligible"


def fast_screen(trial: FastTrial, facts: FastFacts) -> tuple[Verdict, list[Status]]:
    statuses = fast_status(trial, facts)
    return verdict_of(statuses), statuses
