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
from functools import lru_cache, partial

from . import vocab
from .evaluate import (
    _CP_SCORES,
    Facts,
    Observation,
    Options,
    Where,
    _analyte_id,
    _condition_id,
    _drug_id,
    build_facts,
    compile_rule,
    completed_years,
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
from .patient import Lab, Patient
from .result import Status, Truth, Verdict

# Kleene truth as ints: cheap to return and compare; REVIEW is the manual-rule value.
FALSE, TRUE, UNKNOWN, REVIEW = 0, 1, 2, 3
# Status by truth, indexed by the int above; exclusions invert at the criterion level.
_INCLUSION: tuple[Status, ...] = ("fail", "pass", "unknown", "review")
_EXCLUSION: tuple[Status, ...] = ("pass", "fail", "unknown", "review")


class FastFacts:
    """A profile indexed for truth-only evaluation: just what the predicates read.

    Unlike ``evaluate.Facts`` it keeps no paths, labels or unresolved names (only reasons use
    them), and it holds the newest result per analyte rather than all of them.
    """

    __slots__ = (
        "_full",
        "absent_unknown",
        "age",
        "as_of",
        "coded",
        "condition_ids",
        "conditions",
        "drug_ids",
        "latest",
        "options",
        "patient",
        "reviews",
        "treatments",
    )

    def __init__(
        self,
        patient: Patient,
        as_of: date,
        age: int | None,
        latest: dict[str, Lab | Observation],
        conditions: tuple[tuple[str | None, date | None, date | None, bool, str | None], ...],
        treatments: tuple[tuple[str | None, date | None, date | None], ...],
        reviews: dict[tuple[str, str], str],
        absent_unknown: bool,
        options: Options | None = None,
    ) -> None:
        self.patient = patient
        self.as_of = as_of
        self.age = age
        self.latest = latest
        self.conditions = conditions
        self.treatments = treatments
        self.reviews = reviews
        self.absent_unknown = absent_unknown
        self.options = options
        self._full: Facts | None = None
        # ICD-10 codes can name several concepts (B18.0 is HBV and HDV): coded entries are
        # matched by code as well, so the concept-set shortcut is only for uncoded profiles.
        self.coded = any(c[4] for c in conditions)
        # Most rules name something the patient does not have: one set test says so.
        self.condition_ids = frozenset(c[0] for c in conditions)
        self.drug_ids = frozenset(t[0] for t in treatments)


def index_fast(patient: Patient, as_of: date, options: Options | None = None) -> FastFacts:
    """Same selection as ``evaluate.build_facts``: the newest result per analyte on or before
    the as-of date (first listed wins a tie), names resolved through the same cached lookups."""
    options = options or Options()
    oldest = as_of - timedelta(days=options.max_lab_age_days) if options.max_lab_age_days else None
    latest: dict[str, Lab | Observation] = {}
    low = date.min
    for lab in patient.labs:
        aid = _analyte_id(lab.test)
        if aid is None:
            continue
        d = lab.date
        if d is not None and (d > as_of or (oldest and d < oldest)):
            continue
        seen = latest.get(aid)
        if seen is None or (d or low) > (seen.date or low):
            latest[aid] = lab
    for v in patient.vitals:
        aid = _analyte_id(v.name)
        if aid is None:
            continue
        d = v.date
        if d is not None and (d > as_of or (oldest and d < oldest)):
            continue
        seen = latest.get(aid)
        if seen is None or (d or low) > (seen.date or low):
            latest[aid] = Observation("", v.name, v.value, v.unit, d)
    birth = patient.birth_date
    if birth is not None:
        age = None if birth > as_of else completed_years(birth, as_of)
    else:
        age = None if patient.age is None else int(patient.age)
    conditions = tuple(
        (
            (_condition_id(c.code) if c.code else None)
            or (_condition_id(c.name) if c.name else None),
            c.onset,
            c.end,
            c.status == "active",
            c.code,
        )
        for c in patient.conditions
    )
    treatments = tuple((_drug_id(t.name), t.start, t.end) for t in patient.treatments)
    reviews: dict[tuple[str, str], str] = {}
    for r in patient.reviews:
        reviews[(r.trial, r.criterion)] = r.status  # the last one recorded wins, as in Facts
    return FastFacts(
        patient,
        as_of,
        age,
        latest,
        conditions,
        treatments,
        reviews,
        options.if_absent == "unknown",
        options,
    )


_TRUTH_INT = {Truth.FALSE: FALSE, Truth.TRUE: TRUE, Truth.UNKNOWN: UNKNOWN, Truth.REVIEW: REVIEW}


def _full_facts(facts: FastFacts) -> Facts:
    """The detailed index, built at most once per profile, for the rare cases derived here."""
    if facts._full is None:
        facts._full = build_facts(facts.patient, facts.as_of, facts.options)
    return facts._full


def _detailed(rule: Rule) -> Predicate:
    """Truth from the detailed evaluator: one implementation of derived values, not two."""
    check = compile_rule(rule)

    def run(facts: FastFacts) -> int:
        return _TRUTH_INT[check(_full_facts(facts)).truth]

    return run


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


# --- compilation --------------------------------------------------------------------------


def compile_predicate(rule: Rule, where: Where | None = None) -> Predicate:
    """Mirror of ``evaluate.compile_rule`` returning truths only."""
    where = where or Where()
    match rule:
        case AllRule():
            return _all([compile_predicate(r, where) for r in rule.rules])
        case AnyRule():
            return _any([compile_predicate(r, where) for r in rule.rules])
        case NotRule():
            flipped = Where(where.trial, where.criterion, where.section, not where.negated)
            return _not(compile_predicate(rule.rule, flipped))
        case AgeRule():
            return _age(rule)
        case SexRule():
            return _sex(rule)
        case PerformanceRule():
            return _performance(rule)
        case ChildPughRule():
            return _child_pugh(rule)
        case LabRule():
            return _lab(rule)
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
                )
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
        found = facts.reviews.get(key)
        if found is None:
            return REVIEW
        return on_pass if found == "pass" else on_fail

    return check


def _within(value: float, lo: float | None, hi: float | None, lo_inc: bool, hi_inc: bool) -> bool:
    if lo is not None and not (_ge(value, lo) if lo_inc else _gt(value, lo)):
        return False
    return hi is None or (_le(value, hi) if hi_inc else _lt(value, hi))


def _age(rule: AgeRule) -> Predicate:
    lo, hi, lo_inc, hi_inc = rule.min, rule.max, rule.min_inclusive, rule.max_inclusive

    def check(facts: FastFacts) -> int:
        age = facts.age
        if age is None:
            return UNKNOWN
        return TRUE if _within(age, lo, hi, lo_inc, hi_inc) else FALSE

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
    derived = _detailed(rule)  # ECOG <-> Karnofsky ranges when only the other scale is given

    def check(facts: FastFacts) -> int:
        value = getattr(facts.patient, scale)
        if value is None:
            return derived(facts)
        ok = (
            (allowed is None or value in allowed)
            and (lo is None or value >= lo)
            and (hi is None or value <= hi)
        )
        return TRUE if ok else FALSE

    return check


def _child_pugh(rule: ChildPughRule) -> Predicate:
    classes = rule.classes
    scored = rule.min_score is not None or rule.max_score is not None
    rmin = rule.min_score if rule.min_score is not None else 5
    rmax = rule.max_score if rule.max_score is not None else 15

    derived = _detailed(rule)  # scored from bilirubin, albumin, INR and the recorded grades

    def check(facts: FastFacts) -> int:
        cp = facts.patient.child_pugh
        if cp is None:
            return derived(facts)
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

    return check


_NOT_CONVERTIBLE = -1.0  # a cached "this unit cannot be converted" (factors are positive)
_MAX_CACHED_UNITS = 256  # bound the per-rule cache: unit strings come from untrusted profiles


def _lab(rule: LabRule) -> Predicate:
    a = vocab.analyte(rule.analyte)
    if a is None:
        return _constant(REVIEW)
    aid = a.id
    cmp = COMPARE[rule.comparator]

    if rule.of is not None:
        upper = rule.of == "ULN"
        multiple = float(rule.multiple or 1.0)

        def relative(facts: FastFacts) -> int:
            o = facts.latest.get(aid)
            if o is None:
                return UNKNOWN
            ref = o.ref_high if upper else o.ref_low
            if ref is None or ref <= 0:
                return UNKNOWN
            return TRUE if cmp(o.value, multiple * ref) else FALSE

        return relative

    target = rule.unit if rule.unit is not None else a.unit
    threshold = float(rule.value)  # type: ignore[arg-type]
    factors: dict[str | None, float] = {}

    def factor(unit: str | None) -> float:
        try:
            f = vocab.conversion_factor(unit, target, aid)
        except vocab.UnitError:
            f = _NOT_CONVERTIBLE
        if len(factors) < _MAX_CACHED_UNITS:
            factors[unit] = f
        return f

    def absolute(facts: FastFacts) -> int:
        o = facts.latest.get(aid)
        if o is None:
            return UNKNOWN
        f = factors.get(o.unit)
        if f is None:
            f = factor(o.unit)
        if f == _NOT_CONVERTIBLE:
            return UNKNOWN
        return TRUE if cmp(o.value * f, threshold) else FALSE

    return absolute


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


def _absent(if_absent: str | None) -> Callable[[FastFacts], int]:
    """What no matching entry means: the rule's own setting, else the run's option."""
    if if_absent is not None:
        value = UNKNOWN if if_absent == "unknown" else FALSE
        return lambda facts: value
    return lambda facts: UNKNOWN if facts.absent_unknown else FALSE


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
    exceptions = [vocab.condition(e).id for e in rule.except_]  # type: ignore[union-attr]
    members = _members(vocab.conditions(), [c.id], exceptions, "condition")
    active_only, window, absent = rule.active, _since(rule.within), _absent(rule.if_absent)
    matched = _members(vocab.conditions(), [c.id], [], "condition")
    excepted = (
        _members(vocab.conditions(), exceptions, [], "condition") if exceptions else frozenset()
    )
    code_in = lru_cache(maxsize=1024)(partial(vocab.code_matches, c.id))
    code_out = lru_cache(maxsize=1024)(
        lambda code: any(vocab.code_matches(x, code) for x in exceptions)
    )

    def hit(concept: str | None, code: str | None) -> bool:
        """As ``evaluate._condition_hit``: by concept or by code, and not by an exception."""
        if concept in members and not (code and code_out(code)):
            return True
        if not code or not code_in(code):
            return False
        return concept not in excepted and not code_out(code)

    def check(facts: FastFacts) -> int:
        if not facts.coded and members.isdisjoint(facts.condition_ids):
            return absent(facts)
        unsure = False
        for concept, start, end, active, code in facts.conditions:
            if not hit(concept, code) or (active_only and not active):
                continue
            timing = _when(start, end, active, window, facts.as_of)
            if timing == TRUE:
                return TRUE
            if timing == UNKNOWN:
                unsure = True
        return UNKNOWN if unsure else absent(facts)

    return check


def _therapy(rule: TherapyRule) -> Predicate:
    concepts = [vocab.drug(a) for a in rule.agents]
    if any(x is None for x in concepts):
        return _constant(REVIEW)
    members = _members(vocab.drugs(), [x.id for x in concepts], [], "drug")  # type: ignore[union-attr]
    window, absent = _since(rule.within), _absent(rule.if_absent)

    def check(facts: FastFacts) -> int:
        if members.isdisjoint(facts.drug_ids):
            return absent(facts)
        unsure = False
        for concept, start, end in facts.treatments:
            if concept not in members:
                continue
            if window is not None and start is None and end is None:
                unsure = True
                continue
            if _when(start, end, True, window, facts.as_of) == TRUE:
                return TRUE
        return UNKNOWN if unsure else absent(facts)

    return check


def _flag(field_name: str) -> Predicate:
    def check(facts: FastFacts) -> int:
        p = facts.patient
        value = getattr(p, field_name)
        if value is not None:
            return TRUE if value else FALSE
        return FALSE if p.sex == "male" else UNKNOWN

    return check


# --- trials -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FastTrial:
    """A rules file compiled to predicates, each paired with its truth -> status table."""

    trial_id: str
    ids: tuple[str, ...]
    checks: tuple[tuple[Predicate, tuple[Status, ...]], ...]


def compile_fast(rules: RuleSet) -> FastTrial:
    tid = rules.trial.id
    return FastTrial(
        tid,
        tuple(c.id for c in rules.criteria),
        tuple(
            (
                compile_predicate(c.rule, Where(tid, c.id, c.section)),
                _INCLUSION if c.section == "inclusion" else _EXCLUSION,
            )
            for c in rules.criteria
        ),
    )


def fast_status(trial: FastTrial, facts: FastFacts) -> list[Status]:
    """Each criterion's status, in rules-file order."""
    return [table[predicate(facts)] for predicate, table in trial.checks]


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
