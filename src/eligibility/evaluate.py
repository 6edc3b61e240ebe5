"""Evaluate rules against a patient: three-valued (Kleene) logic, compiled once, no strings.

A rules file is compiled once into a tree of ``Node``s whose ``check`` is a closure over the
patient's ``Facts`` (names resolved against the vocabulary, unit factors and concept sets
computed here, once). A check returns a *finding*: a small tuple whose first item is the truth
(``FALSE``, ``TRUE``, ``UNKNOWN``, ``REVIEW``) and whose others say which case decided and with
which values (the result, the entry, the derived score) — never a string. Reasons, the data to
collect and evidence are rendered from rule + finding by ``reasons.py``, only for the rows a
report shows; a cohort CSV reads the truths alone. Evaluating is a pure function of (compiled
rules, facts): no I/O, no printing, no hidden ``today()``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter
from typing import Any

from . import derive, vocab
from .compiled import (
    _CMP,
    FALSE,
    FLIP,
    ONLY,
    REVIEW,
    TRUE,
    UNKNOWN,
    Check,
    Finding,
    Node,
    Where,
    _ge,
    _le,
    constant,
)
from .entries import compile_condition, compile_therapy
from .facts import (
    DEFAULT_MAX_LAB_AGE_DAYS,
    Facts,
    Observation,
    Options,
    Result,
    age_disagreement,
    anniversary,
    build_facts,
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
    LifeExpectancyRule,
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
    iter_rules,
)
from .patient import Patient
from .result import Status, Truth, Verdict

__all__ = [
    "DEFAULT_MAX_LAB_AGE_DAYS",
    "CompiledTrial",
    "Facts",
    "Node",
    "Observation",
    "Options",
    "Where",
    "anniversary",
    "build_facts",
    "compile_rule",
    "compile_rules",
    "review_warnings",
    "statuses",
]

_INCLUSION: tuple[Status, ...] = ("fail", "pass", "unknown", "review")
_EXCLUSION: tuple[Status, ...] = ("pass", "fail", "unknown", "review")
_MAX_MEMO = 256  # bound per-rule memo tables: their keys come from untrusted profiles
CP_SCORES = {"A": (5, 6), "B": (7, 9), "C": (10, 15)}
_TRUTH_INDEX = {Truth.FALSE: FALSE, Truth.TRUE: TRUE, Truth.UNKNOWN: UNKNOWN, Truth.REVIEW: REVIEW}
# Status by truth; exclusions invert at the criterion level, once.


def compile_rule(rule: Rule, where: Where | None = None) -> Node:
    """Turn a rule into a ``Node``; vocabulary lookups happen here, once."""
    where = where or Where()
    match rule:
        case AllRule() | AnyRule():
            kids = tuple(compile_rule(r, where) for r in rule.rules)
            combine = _all if isinstance(rule, AllRule) else _any
            return Node(rule, combine([k.check for k in kids]), kids, where)
        case NotRule():
            flipped = Where(where.trial, where.criterion, where.section, not where.negated)
            kid = compile_rule(rule.rule, flipped)
            inner = kid.check
            return Node(rule, lambda facts: ONLY[FLIP[inner(facts)[0]]], (kid,), where)
        case ManualRule():
            assist = (compile_rule(rule.evidence, where),) if rule.evidence is not None else ()
            return Node(rule, _manual(where), assist, where)
        case LabRule() | VitalRule() | MeasureRule():
            return _lab_node(rule, where)
        case ConditionRule():
            return compile_condition(rule, where)
        case TherapyRule():
            return compile_therapy(rule, where)
    leaf = _LEAVES.get(type(rule))
    if leaf is None:  # pragma: no cover
        raise TypeError(f"no evaluator for rule kind {type(rule).__name__}")
    return Node(rule, leaf(rule), (), where)


def _junction(decides: int, neutral: int, strong: int, weak: int) -> Callable[[list[Check]], Check]:
    """``all`` and ``any`` in Kleene logic, with this project's order of the open values: a
    child equal to ``decides`` decides; else ``strong`` if any child is, else ``weak`` if any
    is, else ``neutral``."""

    def build(checks: list[Check]) -> Check:
        kids = tuple(checks)
        if len(kids) == 1:
            return kids[0]
        if len(kids) == 2:  # the common shape ("condition and a manual part"): no loop
            first, second = kids

            def pair(facts: Facts) -> Finding:
                a = first(facts)[0]
                if a == decides:
                    return ONLY[decides]
                b = second(facts)[0]
                if b == decides:
                    return ONLY[decides]
                if a == strong or b == strong:
                    return ONLY[strong]
                return ONLY[weak if a == weak or b == weak else neutral]

            return pair

        def check(facts: Facts) -> Finding:
            result = neutral
            for child in kids:
                v = child(facts)[0]
                if v == decides:
                    return ONLY[decides]
                if v == strong:
                    result = strong
                elif v == weak and result == neutral:
                    result = weak
            return ONLY[result]

        return check

    return build


# all: FALSE if any child is; TRUE if all are; else UNKNOWN before REVIEW.
_all = _junction(FALSE, TRUE, UNKNOWN, REVIEW)
# any: TRUE if any child is; FALSE if all are; else REVIEW before UNKNOWN.
_any = _junction(TRUE, FALSE, REVIEW, UNKNOWN)


def _manual(where: Where) -> Check:
    """Needs review, unless the profile records a coordinator's decision on this criterion.
    Reviews that disagree decide nothing (which counts would depend on their order). An
    ``evidence`` rule (assisted review) is shown by the renderer, never evaluated here."""
    key = (where.trial, where.criterion)
    on_pass = TRUE if (where.section == "inclusion") != where.negated else FALSE
    decided = {"pass": (on_pass, "review"), "fail": (FLIP[on_pass], "review")}
    pending, disagree = (REVIEW, "pending"), (UNKNOWN, "disagree")

    def check(facts: Facts) -> Finding:
        reviews = facts.reviews
        if key not in reviews:
            return pending
        status = reviews[key]
        return disagree if status is None else decided[status]

    return check


# --- age, sex, performance, Child-Pugh, flags ---------------------------------------------

AgeNote = tuple[Any, ...]
"""``("exactly", years)`` or ``("cannot", op, years)``: what exact age showed or could not."""


def age_parts(
    rule: AgeRule, completed: int, birth: date | None, as_of: date
) -> tuple[int, tuple[AgeNote, ...]]:
    """Each bound on its own: an inclusive whole-year bound compares completed years, a strict
    or fractional one exact age (``birth`` known: the as-of date against the birthday the bound
    names; only completed years: decided when every exact age they allow agrees). Any false is
    false, then any unknown; the notes say what exact age showed or could not show."""
    truths, notes = [], []
    if rule.min is not None:
        op = ">=" if rule.min_inclusive else ">"
        if rule.min_inclusive and float(rule.min).is_integer():
            truths.append(_ge(completed, rule.min))
        elif birth is not None:
            day = anniversary(birth, rule.min)
            truths.append(TRUE if (as_of >= day if rule.min_inclusive else as_of > day) else FALSE)
            if as_of == day and not rule.min_inclusive:
                notes.append(("exactly", rule.min))
        elif _CMP[op](completed, rule.min):
            truths.append(TRUE)
        elif _le(completed + 1, rule.min):
            truths.append(FALSE)
        else:
            truths.append(UNKNOWN)
            notes.append(("cannot", op, rule.min))
    if rule.max is not None:
        if rule.max_inclusive and float(rule.max).is_integer():
            truths.append(_le(completed, rule.max))
        elif rule.max_inclusive:
            # "13-17.5 years" (NCT05486611, fresh audit 89): up to the day exact age reaches 17.5;
            # completed years alone decide only below or above the whole year it falls in
            if birth is not None:
                truths.append(TRUE if anniversary(birth, rule.max) >= as_of else FALSE)
            elif completed < int(rule.max):
                truths.append(TRUE)
            elif completed > int(rule.max):
                truths.append(FALSE)
            else:
                truths.append(UNKNOWN)
                notes.append(("cannot", "<=", rule.max))
        elif birth is not None:
            day = anniversary(birth, rule.max)
            truths.append(TRUE if as_of < day else FALSE)
            if as_of == day:
                notes.append(("exactly", rule.max))
        elif _le(completed + 1, rule.max):
            truths.append(TRUE)
        elif _ge(completed, rule.max):
            truths.append(FALSE)
        else:
            truths.append(UNKNOWN)
            notes.append(("cannot", "<", rule.max))
    truth = FALSE if FALSE in truths else UNKNOWN if UNKNOWN in truths else TRUE
    return truth, tuple(notes)


def _age(rule: AgeRule) -> Check:
    """``(truth, "age", notes)`` on completed years (``facts.age``), memoised when only
    inclusive whole-year bounds are set; else ``"conflict"``, ``"born later"``, ``"none"``."""
    simple = (rule.min is None or (rule.min_inclusive and float(rule.min).is_integer())) and (
        rule.max is None or (rule.max_inclusive and float(rule.max).is_integer())
    )
    memo: dict[int, Finding] = {}
    conflict, later, none = (UNKNOWN, "conflict"), (UNKNOWN, "born later"), (UNKNOWN, "none")

    def check(facts: Facts) -> Finding:
        age = facts.age
        if age is None:
            p = facts.patient
            if age_disagreement(p, facts.as_of) is not None:
                return conflict
            return later if p.birth_date is not None else none
        if simple:
            found = memo.get(age)
            if found is None:
                truth, notes = age_parts(rule, age, None, facts.as_of)
                found = (truth, "age", notes)
                if len(memo) < _MAX_MEMO:
                    memo[age] = found
            return found
        truth, notes = age_parts(rule, age, facts.patient.birth_date, facts.as_of)
        return (truth, "age", notes)

    return check


def _sex(rule: SexRule) -> Check:
    allowed = frozenset(rule.allowed)
    yes, no, none = (TRUE, "sex"), (FALSE, "sex"), (UNKNOWN, "none")

    def check(facts: Facts) -> Finding:
        sex = facts.patient.sex
        if sex is None:
            return none
        return yes if sex in allowed else no

    return check


def performance_ok(rule: PerformanceRule, value: int) -> bool:
    return (
        (rule.allowed is None or value in rule.allowed)
        and (rule.min is None or value >= rule.min)
        and (rule.max is None or value <= rule.max)
    )


def _performance(rule: PerformanceRule) -> Check:
    """``(truth, "value")`` on the recorded scale (memoised); ``(truth, "mapped", lo, hi)``
    from the other scale's range (``derive``); ``"none"`` with neither."""
    other = "karnofsky" if rule.scale == "ecog" else "ecog"
    mapped = (
        derive.ecog_range_from_karnofsky
        if other == "karnofsky"
        else derive.karnofsky_range_from_ecog
    )
    step = 1 if rule.scale == "ecog" else 10
    own_of, other_of = attrgetter(rule.scale), attrgetter(other)
    memo: dict[int, Finding] = {}
    none = (UNKNOWN, "none")

    def check(facts: Facts) -> Finding:
        p = facts.patient
        value = own_of(p)
        if value is not None:
            found = memo.get(value)
            if found is None:
                found = (TRUE if performance_ok(rule, value) else FALSE, "value")
                if len(memo) < _MAX_MEMO:
                    memo[value] = found
            return found
        given = other_of(p)
        if given is None:
            return none
        lo, hi = mapped(given)
        hits = {performance_ok(rule, v) for v in range(lo, hi + 1, step)}
        truth = TRUE if hits == {True} else FALSE if hits == {False} else UNKNOWN
        return (truth, "mapped", lo, hi)

    return check


def _child_pugh(rule: ChildPughRule) -> Check:
    """``(truth, "recorded")`` from the recorded class and score (memoised), else
    ``(truth, "derived", cp)`` scored from the labs and grades (``derive.ChildPugh``)."""
    classes = rule.classes
    scored = rule.min_score is not None or rule.max_score is not None
    rmin = rule.min_score if rule.min_score is not None else 5
    rmax = rule.max_score if rule.max_score is not None else 15
    memo: dict[tuple[str | None, int | None], Finding] = {}

    def span(lo: int, hi: int) -> int:
        if rmin <= lo and hi <= rmax:
            return TRUE
        return FALSE if hi < rmin or lo > rmax else UNKNOWN

    def derived(facts: Facts) -> Finding:
        cp = derive_child_pugh(facts)
        truths = set()
        if classes:
            inside = {c in classes for c in cp.classes}
            truths.add(TRUE if inside == {True} else FALSE if inside == {False} else UNKNOWN)
        if scored:
            truths.add(span(cp.min_score, cp.max_score))
        truth = FALSE if FALSE in truths else TRUE if truths == {TRUE} else UNKNOWN
        return (truth, "derived", cp)

    def check(facts: Facts) -> Finding:
        cp = facts.patient.child_pugh
        if cp is None:
            return derived(facts)
        key = (cp.class_, cp.score)
        found = memo.get(key)
        if found is None:
            cls = cp.resolved_class()
            if classes and cls not in classes:
                truth = FALSE
            elif not scored:
                truth = TRUE
            else:
                truth = span(*((cp.score, cp.score) if cp.score else CP_SCORES[cls or "C"]))
            found = (truth, "recorded")
            if len(memo) < _MAX_MEMO:
                memo[key] = found
        return found

    return check


def derive_child_pugh(facts: Facts) -> derive.ChildPugh:
    """Score Child-Pugh from the latest bilirubin, albumin and INR and the recorded grades."""

    def value(analyte_id: str, unit: str) -> float | None:
        o = facts.latest.get(analyte_id)
        if o is None:
            return None
        try:
            return vocab.convert(o.value, o.unit, unit, analyte_id)
        except vocab.UnitError:
            return None

    p = facts.patient
    return derive.child_pugh_partial(
        value("total_bilirubin", "mg/dL"),
        value("albumin", "g/dL"),
        value("inr", "1"),
        p.ascites,
        p.encephalopathy,
    )


def _flag(field_name: str) -> Callable[[Rule], Check]:
    """Pregnancy, breastfeeding: the recorded yes/no; a male patient is neither."""
    flag_of = attrgetter(field_name)
    yes, no, male, none = (TRUE, "value"), (FALSE, "value"), (FALSE, "male"), (UNKNOWN, "none")

    def make(rule: Rule) -> Check:
        def check(facts: Facts) -> Finding:
            p = facts.patient
            value = flag_of(p)
            if value is not None:
                return yes if value else no
            return male if p.sex == "male" else none

        return check

    return make


# --- life expectancy ----------------------------------------------------------------------

MONTH_DAYS = (28.0, 31.0)
"""The lengths a month may be taken to have where weeks or days meet months or years: "12
weeks" and "3 months" are written for one another (4 weeks a month), and the mean month is 30.4
days, so such a comparison decides only when it holds for a month of 28 days and of 31 alike."""
_PER_UNIT = {"days": (1.0, 0.0), "weeks": (7.0, 0.0), "months": (0.0, 1.0), "years": (0.0, 12.0)}


def life_expectancy_truth(rule: LifeExpectancyRule, value: float, unit: str, elapsed: int) -> int:
    """The rule on an estimate of ``value unit`` made ``elapsed`` days before the as-of date.

    In the rule's unit and made that day, the numbers are compared as written: no conversion
    moves "6 months" against "≥ 6 months". Otherwise in days: an estimate made earlier implies,
    at the as-of date, anything from itself less the days since to itself, and a month is 28 to
    31 days; the truth is the one every such reading gives, else unknown.
    """
    cmp = _CMP[rule.comparator]
    if unit == rule.unit and not elapsed:
        return cmp(value, rule.value)
    (d, m), (bd, bm) = _PER_UNIT[unit], _PER_UNIT[rule.unit]
    truths = {
        cmp(value * (d + m * month) - since, rule.value * (bd + bm * month))
        for month in MONTH_DAYS
        for since in (0, elapsed)
    }
    return truths.pop() if len(truths) == 1 else UNKNOWN


def _life_expectancy(rule: LifeExpectancyRule) -> Check:
    """``(truth, "value", days since the estimate)``; ``"none"``, ``"undated"``, ``"later"``
    (made after the as-of date) and ``"stale"`` (older than the lab age limit) decide nothing,
    as for a lab result."""
    none, undated, later, stale = (
        (UNKNOWN, "none"),
        (UNKNOWN, "undated"),
        (UNKNOWN, "later"),
        (UNKNOWN, "stale"),
    )

    def check(facts: Facts) -> Finding:
        le = facts.patient.life_expectancy
        if le is None:
            return none
        made, as_of = le.date, facts.as_of
        if made is None:
            return undated
        if made > as_of:
            return later
        if made < oldest_result_date(as_of, facts.options):
            return stale
        elapsed = (as_of - made).days
        return (life_expectancy_truth(rule, le.value, le.unit, elapsed), "value", elapsed)

    return check


_LEAVES: dict[type, Callable[[Any], Check]] = {
    AgeRule: _age,
    SexRule: _sex,
    PerformanceRule: _performance,
    ChildPughRule: _child_pugh,
    PregnancyRule: _flag("pregnant"),
    BreastfeedingRule: _flag("breastfeeding"),
    LifeExpectancyRule: _life_expectancy,
}


# --- labs, vitals, measures ---------------------------------------------------------------

_MAX_CACHED_UNITS = 256  # bound the per-rule cache: unit strings come from untrusted profiles


@dataclass(frozen=True, slots=True)
class LabInfo:
    """What a lab rule resolved at compile time, for the renderer."""

    analyte: vocab.Analyte
    rule: LabRule
    target_unit: str | None = None
    threshold: float = 0.0


def _lab_node(rule: LabRule | VitalRule | MeasureRule, where: Where) -> Node:
    """The rule on the newest current result of the analyte (``facts.latest``); several on
    that date decide only together: ``(truth, "ties", findings)``, one per result of
    ``facts.ties`` in order. Results undated or older than the age limit never decide:
    ``"stale"`` (with the newest such result), ``"undated"``, else ``"none"``. On one result:
    relative rules give ``"foreign"`` (a unit the analyte is not measured in), ``"no ref"`` or
    ``(truth, "ratio")``; absolute rules ``"no unit"``, ``"bad unit"``, ``"rounding"`` (converted
    to within the conversion's rounding of the bound) or ``(truth, "value")``.
    The result itself is not copied into the finding: the renderer reads it from the facts."""
    if isinstance(rule, LabRule):
        a = vocab.analyte(rule.analyte)
        lab = rule
    else:
        a = vocab.analyte(rule.name)
        lab = None
        if a is not None:
            lab = LabRule(
                analyte=a.id,
                comparator=rule.comparator,
                value=rule.value,
                unit=rule.unit or a.unit,
                within=rule.within,
                before=rule.before,
            )
    if a is None or lab is None:
        name = rule.analyte if isinstance(rule, LabRule) else rule.name
        return constant(rule, where, (REVIEW, "unrecognised", name))
    aid = a.id
    truth = _CMP[lab.comparator]
    if lab.of is not None:
        info = LabInfo(a, lab)
        upper = lab.of == "ULN"
        multiple = float(lab.multiple or 1.0)

        def one(o: Result) -> Finding:
            if foreign_unit(o.unit, aid) is not None:
                return _FOREIGN
            ref = o.ref_high if upper else o.ref_low
            if ref is None or ref <= 0:
                return _NO_REF
            return _RATIO[truth(o.value, multiple * ref)]

        def relative(facts: Facts) -> Finding:
            o = facts.latest.get(aid)
            if o is None:
                return _no_result(facts, aid)
            ties = facts.ties
            if ties is not None and aid in ties:
                return _tied(one, ties[aid])
            ref = o.ref_high if upper else o.ref_low  # ``one``, inlined: the common path
            if ref is None or ref <= 0 or foreign_unit(o.unit, aid) is not None:
                return one(o)
            return _RATIO[truth(o.value, multiple * ref)]

        return Node(rule, _windowed(lab, aid, relative), (), where, info)

    target = lab.unit if lab.unit is not None else a.unit
    threshold = float(lab.value)  # type: ignore[arg-type]
    info = LabInfo(a, lab, target, threshold)
    converted, factors = _absolute(aid, target, threshold, truth, vocab.unit(a.unit) != "1")

    def absolute(facts: Facts) -> Finding:
        o = facts.latest.get(aid)
        if o is None:
            return _no_result(facts, aid)
        ties = facts.ties
        if ties is not None and aid in ties:
            return _tied(converted, ties[aid])
        f = factors.get(o.unit)  # the unit as charted converts by one factor: nearly always
        if f is not None:
            v = f[0] * o.value + f[1]
            if f[2] and abs(v - threshold) <= f[2]:
                return _ROUNDING
            return _VALUE[truth(v, threshold)]
        return converted(o)

    return Node(rule, _windowed(lab, aid, absolute), (), where, info)


_OUTSIDE = (UNKNOWN, "window")


def _windowed(lab: LabRule, aid: str, check: Check) -> Check:
    """A rule with ``within`` decides on the newest result only when it is dated in the window
    (the age limit has already left out older ones: the stricter wins); a newest result before
    the window means none in it, ``"window"``, whatever older results say."""
    if lab.within is None:
        return check
    span = timedelta(days=lab.within.days())

    def windowed(facts: Facts) -> Finding:
        o = facts.latest.get(aid)
        if o is not None and o.date < facts.as_of - span:  # type: ignore[operator]
            return _OUTSIDE
        return check(facts)

    return windowed


_RATIO = ((FALSE, "ratio"), (TRUE, "ratio"))
_VALUE = ((FALSE, "value"), (TRUE, "value"))
_FOREIGN, _NO_REF = (UNKNOWN, "foreign"), (UNKNOWN, "no ref")
_NO_UNIT, _BAD_UNIT = (UNKNOWN, "no unit"), (UNKNOWN, "bad unit")
_ROUNDING = (UNKNOWN, "rounding")  # converted to within the conversion's rounding of the bound


def _tied(one: Callable[[Result], Finding], results: list[Result]) -> Finding:
    found = tuple([one(o) for o in results])
    truths = {f[0] for f in found}
    return (truths.pop() if len(truths) == 1 else UNKNOWN, "ties", found)


def _absolute(
    aid: str, target: str | None, threshold: float, truth: Callable[[float, float], int], unit: bool
) -> tuple[Callable[[Result], Finding], dict[str | None, tuple[float, float, float]]]:
    """One result against a threshold in ``target``, and the table of units as charted that
    convert by one factor (filled as they are first seen, bounded: units come from profiles),
    each with the band around the threshold where its rounding decides nothing (0: exact)."""
    factors: dict[str | None, tuple[float, float, float]] = {}
    others: dict[str | None, vocab.Conversion | None] = {}

    def conversion(u: str | None) -> vocab.Conversion | None:
        c: vocab.Conversion | None = None
        try:
            c = vocab.conversion(u, target, aid)
        except vocab.UnitError:
            c = None
        if len(factors) + len(others) < _MAX_CACHED_UNITS:
            if c is not None and c.is_factor:
                factors[u] = (c.slope, c.offset, c.band(threshold))
            else:
                others[u] = c
        return c

    def one(o: Result) -> Finding:
        u = o.unit
        f = factors.get(u)
        if f is not None:
            v = f[0] * o.value + f[1]
            if f[2] and abs(v - threshold) <= f[2]:
                return _ROUNDING
            return _VALUE[truth(v, threshold)]
        if unit and not (u or "").strip():
            return _NO_UNIT  # no unit would be a guess for ALT, not a conversion
        c = others[u] if u in others else conversion(u)
        if c is None:
            return _BAD_UNIT
        try:
            value = c.slope * o.value + c.offset if c.is_factor else c.apply(o.value)
        except vocab.UnitError:
            return _BAD_UNIT
        band = c.band(threshold)
        if band and abs(value - threshold) <= band:
            return _ROUNDING
        return _VALUE[truth(value, threshold)]

    return one, factors


_NO_RESULT, _UNDATED = (UNKNOWN, "none"), (UNKNOWN, "undated")


def _no_result(facts: Facts, aid: str) -> Finding:
    if facts.aside is None or aid not in facts.aside:
        return _NO_RESULT
    stale = facts.stale.get(aid)
    if stale is not None:
        return (UNKNOWN, "stale", stale)
    return _UNDATED if aid in facts.undated else _NO_RESULT


# --- criteria and trials ------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledCriterion:
    id: str
    section: str
    text: str
    node: Node
    statuses: tuple[Status, ...]  # status by truth (an exclusion that holds is a fail)


@dataclass(frozen=True)
class CompiledTrial:
    """A rules file ready to screen many patients."""

    trial_id: str
    criteria: tuple[CompiledCriterion, ...]
    rules_sha256: str | None = None
    # criteria with a manual part, which a recorded review answers; every criterion id
    reviewable: frozenset[str] = frozenset()
    criterion_ids: frozenset[str] = frozenset()
    ids: tuple[str, ...] = ()
    checks: tuple[tuple[Check, tuple[Status, ...]], ...] = ()


def compile_rules(rules: RuleSet, rules_sha256: str | None = None) -> CompiledTrial:
    tid = rules.trial.id
    criteria = tuple(
        CompiledCriterion(
            c.id,
            c.section,
            c.text,
            compile_rule(c.rule, Where(tid, c.id, c.section)),
            _INCLUSION if c.section == "inclusion" else _EXCLUSION,
        )
        for c in rules.criteria
    )
    return CompiledTrial(
        tid,
        criteria,
        rules_sha256,
        frozenset(
            c.id
            for c in rules.criteria
            if any(isinstance(r, ManualRule) for r in iter_rules(c.rule))
        ),
        frozenset(c.id for c in rules.criteria),
        tuple(c.id for c in rules.criteria),
        tuple((c.node.check, c.statuses) for c in criteria),
    )


def statuses(compiled: CompiledTrial, facts: Facts) -> list[Status]:
    """Each criterion's status, in rules-file order: truths only, nothing rendered."""
    return [table[check(facts)[0]] for check, table in compiled.checks]


def criterion_status(section: str, truth: int | Truth) -> Status:
    """Exclusions invert here, once: an exclusion that holds is a fail (``truth`` as checked,
    or as a rendered ``Outcome`` carries it)."""
    if isinstance(truth, Truth):
        truth = _TRUTH_INDEX[truth]
    return (_INCLUSION if section == "inclusion" else _EXCLUSION)[truth]


def verdict_of(statuses: Iterable[Status]) -> Verdict:
    seen = set(statuses)
    if "fail" in seen:
        return "ineligible"
    if seen <= {"pass"}:
        return "eligible"
    return "indeterminate"


def review_warnings(
    patient: Patient, trial: CompiledTrial, screened: Collection[str] = ()
) -> tuple[str, ...]:
    """Recorded reviews this screening cannot use, said rather than silently dropped: one of
    this trial naming a criterion it does not have (or one with nothing to review), and one of
    a trial that is not being screened (``screened``: the run's other trial ids)."""
    if not patient.reviews:
        return ()
    out = []
    for i, r in enumerate(patient.reviews):
        if r.trial == trial.trial_id:
            if r.criterion in trial.reviewable:
                continue  # the usual case, checked first and with no text built
            if r.criterion not in trial.criterion_ids:
                out.append(
                    f"$.reviews[{i}]: {r.trial} has no criterion {r.criterion!r}; review not used"
                )
            else:
                out.append(
                    f"$.reviews[{i}]: {r.trial} {r.criterion} has no part for a reviewer to "
                    "decide (its rules are all computed); review not used"
                )
        elif r.trial not in screened:
            out.append(
                f"$.reviews[{i}]: trial {r.trial!r} is not among the rules screened; "
                "review not used"
            )
    return tuple(out)
