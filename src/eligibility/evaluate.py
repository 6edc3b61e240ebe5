"""Evaluate rules against a patient: three-valued (Kleene) logic with reasons and evidence.

A rules file is compiled once into closures (names resolved against the vocabulary, units
normalised); a patient is indexed once into ``Facts``. Evaluating is then a pure function of
(compiled rules, facts, as-of date): no I/O, no printing, no hidden ``today()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from . import __version__, derive, vocab
from .facts import (
    DEFAULT_MAX_LAB_AGE_DAYS,
    Facts,
    Observation,
    Options,
    Resolved,
    age_disagreement,
    anniversary,
    build_facts,
    completed_years,
    fmt,
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
    IfAbsent,
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
    iter_rules,
)
from .patient import Patient, Review
from .result import (
    EVIDENCE_MARK,
    CriterionResult,
    Evidence,
    Outcome,
    ScreeningResult,
    Status,
    Truth,
    Verdict,
)

T, F, U, R = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN, Truth.REVIEW

# The indexing half lives in facts.py; these names stay importable from here.
__all__ = [
    "DEFAULT_MAX_LAB_AGE_DAYS",
    "CompiledTrial",
    "Facts",
    "Observation",
    "Options",
    "Where",
    "anniversary",
    "build_facts",
    "compile_rule",
    "compile_rules",
    "evaluate",
    "review_warnings",
]

# --- helpers ------------------------------------------------------------------------------

Check = Callable[[Facts], Outcome]

_SYMBOL = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def compare(a: float, op: str, b: float) -> bool:
    """Comparison with equality by relative tolerance, so 3 × 40 U/L is exactly 120 U/L."""
    if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        return op in ("<=", ">=")
    return {"<": a < b, "<=": a < b, ">": a > b, ">=": a > b}[op]


def _on(d: date | None) -> str:
    return f" on {d.isoformat()}" if d else ""


def _join(outcomes: Iterable[Outcome]) -> str:
    """Children's reasons, each once (several manual parts may share one recorded review)."""
    return "; ".join(dict.fromkeys(o.reason for o in outcomes))


def _combine_missing(outcomes: Iterable[Outcome]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for o in outcomes:
        for m in o.missing:
            seen.setdefault(m, None)
    return tuple(seen)


def _evidence(outcomes: Iterable[Outcome]) -> tuple[Evidence, ...]:
    seen: dict[tuple[str, str], Evidence] = {}
    for o in outcomes:
        for e in o.evidence:
            seen.setdefault((e.path, e.label), e)
    return tuple(seen.values())


# --- compilation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Which criterion a rule belongs to, and whether it sits under an odd number of NOTs."""

    trial: str = ""
    criterion: str = ""
    section: str = "inclusion"
    negated: bool = False


def compile_rule(rule: Rule, where: Where | None = None) -> Check:
    """Turn a rule into a closure over facts; vocabulary lookups happen here, once."""
    where = where or Where()
    match rule:
        case AllRule():
            return _compile_all([compile_rule(r, where) for r in rule.rules])
        case AnyRule():
            return _compile_any([compile_rule(r, where) for r in rule.rules])
        case NotRule():
            flipped = Where(where.trial, where.criterion, where.section, not where.negated)
            return _compile_not(compile_rule(rule.rule, flipped))
        case AgeRule():
            return _compile_age(rule)
        case SexRule():
            return _compile_sex(rule)
        case PerformanceRule():
            return _compile_performance(rule)
        case ChildPughRule():
            return _compile_child_pugh(rule)
        case LabRule():
            return _compile_lab(rule)
        case VitalRule() | MeasureRule():
            return _compile_numeric(rule)
        case ConditionRule():
            return _compile_condition(rule)
        case TherapyRule():
            return _compile_therapy(rule)
        case PregnancyRule():
            return _compile_flag("pregnant", "pregnancy status")
        case BreastfeedingRule():
            return _compile_flag("breastfeeding", "breastfeeding status")
        case ManualRule():
            return _compile_manual(rule, where)
    raise TypeError(f"no evaluator for rule kind {type(rule).__name__}")  # pragma: no cover


def _compile_manual(rule: ManualRule, where: Where) -> Check:
    """Needs review, unless the profile records a coordinator's decision on this criterion.

    A manual rule's ``evidence`` (assisted review) is evaluated and shown — its reason, facts
    and missing data join the outcome — but never decides: the truth stays review.
    """
    pending = Outcome(R, f"needs review: {rule.reason}", ("reviewer's decision",))
    key = (where.trial, where.criterion)
    assist = compile_rule(rule.evidence, where) if rule.evidence is not None else None

    def check(facts: Facts) -> Outcome:
        found = facts.reviews.get(key)
        if found is None:
            if assist is None:
                return pending
            o = assist(facts)
            line = o.reason + (f" (to collect: {', '.join(o.missing)})" if o.missing else "")
            return Outcome(
                R,
                f"{pending.reason}{EVIDENCE_MARK}{line}",
                _combine_missing((pending, o)),
                o.evidence,
                (line,),
            )
        evidence = tuple(
            Evidence(f"$.reviews[{i}]", "review", r.status, None, r.date) for i, r in found
        )
        said = "; ".join(_review_text(r) for _, r in found)
        if len({r.status for _, r in found}) > 1:
            # which one counts would depend on the order they are listed in: neither does
            return Outcome(
                U,
                f"{len(found)} reviews of this criterion disagree: {said}",
                ("one agreed reviewer's decision",),
                evidence,
            )
        status = found[0][1].status
        holds = (status == "pass") == (where.section == "inclusion")
        truth = T if holds != where.negated else F
        agree = f" ({len(found)} reviews agree)" if len(found) > 1 else ""
        return Outcome(truth, f"{said}{agree}", (), evidence)

    return check


def _review_text(review: Review) -> str:
    who = f" by {review.by}" if review.by else ""
    when = f" on {review.date.isoformat()}" if review.date else ""
    note = f": {review.note}" if review.note else ""
    return f"reviewed{who}{when} as {review.status}{note}"


def _assisted(outcomes: Iterable[Outcome]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line for o in outcomes for line in o.assisted))


def _compile_all(children: list[Check]) -> Check:
    def check(facts: Facts) -> Outcome:
        outs = [c(facts) for c in children]
        truths = {o.truth for o in outs}
        if F in truths:
            bad = [o for o in outs if o.truth is F]
            return Outcome(F, _join(bad), (), _evidence(bad), _assisted(bad))
        if truths == {T}:
            return Outcome(T, _join(outs), (), _evidence(outs), _assisted(outs))
        truth = U if U in truths else R
        return Outcome(truth, _join(outs), _combine_missing(outs), _evidence(outs), _assisted(outs))

    return check


def _compile_any(children: list[Check]) -> Check:
    def check(facts: Facts) -> Outcome:
        outs = [c(facts) for c in children]
        truths = {o.truth for o in outs}
        if T in truths:
            good = [o for o in outs if o.truth is T]
            return Outcome(T, _join(good), (), _evidence(good), _assisted(good))
        if truths == {F}:
            return Outcome(F, _join(outs), (), _evidence(outs), _assisted(outs))
        truth = R if R in truths else U
        return Outcome(truth, _join(outs), _combine_missing(outs), _evidence(outs), _assisted(outs))

    return check


def _compile_not(child: Check) -> Check:
    def check(facts: Facts) -> Outcome:
        o = child(facts)
        if o.truth is T:
            return Outcome(F, o.reason, o.missing, o.evidence, o.assisted)
        if o.truth is F:
            return Outcome(T, o.reason, o.missing, o.evidence, o.assisted)
        return o

    return check


def _bounds_text(lo: float | None, hi: float | None, lo_inc: bool, hi_inc: bool, unit: str) -> str:
    if lo is not None and hi is not None and lo_inc and hi_inc:
        return f"{fmt(lo)}–{fmt(hi)} {unit}"
    parts = []
    if lo is not None:
        parts.append(f"{'≥' if lo_inc else '>'} {fmt(lo)}")
    if hi is not None:
        parts.append(f"{'≤' if hi_inc else '<'} {fmt(hi)}")
    return " and ".join(parts) + f" {unit}"


def _age_truth(
    rule: AgeRule, completed: int, birth: date | None, as_of: date
) -> tuple[Truth, str | None]:
    """Each bound on its own: an inclusive bound compares completed years, a strict one exact
    age (``birth`` known: the as-of date against the birthday the bound names; only completed
    years: decided when every exact age they allow agrees). Any false is false, then any
    unknown; the note says what exact age showed or could not show."""
    truths, notes = [], []
    if rule.min is not None:
        # inclusive whole years: completed years; strict or fractional ("18 months"): exact age
        op = ">=" if rule.min_inclusive else ">"
        if rule.min_inclusive and float(rule.min).is_integer():
            truths.append(T if compare(completed, ">=", rule.min) else F)
        elif birth is not None:
            day = anniversary(birth, rule.min)
            truths.append(T if compare(as_of.toordinal(), op, day.toordinal()) else F)
            if as_of == day and not rule.min_inclusive:
                notes.append(f"exactly {fmt(rule.min)} years on {as_of.isoformat()}")
        elif compare(completed, op, rule.min):
            truths.append(T)
        elif compare(completed + 1, "<=", rule.min):
            truths.append(F)
        else:
            truths.append(U)
            notes.append(f"completed years cannot tell whether exact age is {op} {fmt(rule.min)}")
    if rule.max is not None:
        if rule.max_inclusive:
            truths.append(T if compare(completed, "<=", rule.max) else F)
        elif birth is not None:
            day = anniversary(birth, rule.max)
            truths.append(T if as_of < day else F)
            if as_of == day:
                notes.append(f"exactly {fmt(rule.max)} years on {as_of.isoformat()}")
        elif compare(completed + 1, "<=", rule.max):
            truths.append(T)
        elif compare(completed, ">=", rule.max):
            truths.append(F)
        else:
            truths.append(U)
            notes.append(f"completed years cannot tell whether exact age is < {fmt(rule.max)}")
    truth = F if F in truths else U if U in truths else T
    return truth, "; ".join(notes) or None


def _compile_age(rule: AgeRule) -> Check:
    """Inclusive bounds compare completed years; strict ones exact age (see ``_age_truth``)."""
    needs = _bounds_text(rule.min, rule.max, rule.min_inclusive, rule.max_inclusive, "years")

    def check(facts: Facts) -> Outcome:
        p = facts.patient
        conflict = age_disagreement(p, facts.as_of)
        if conflict is not None:
            return Outcome(
                U,
                f"{conflict}; needs {needs}",
                ("confirmed birth date",),
                (
                    Evidence("$.age", "age", p.age, "years"),
                    Evidence("$.birth_date", "birth date", str(p.birth_date)),
                ),
            )
        if p.birth_date is not None:
            if p.birth_date > facts.as_of:
                return Outcome(
                    U, f"birth date {p.birth_date} is after the as-of date", ("birth date",)
                )
            age = completed_years(p.birth_date, facts.as_of)
            ev = Evidence("$.birth_date", "age", age, "years", p.birth_date, derived=True)
            source = f"age {age} (born {p.birth_date.isoformat()}, as of {facts.as_of.isoformat()})"
        elif p.age is not None:
            age = int(p.age)
            ev = Evidence("$.age", "age", p.age, "years")
            source = f"age {fmt(p.age)} (as recorded)"
        else:
            return Outcome(U, "age not recorded", ("birth date or age",))
        truth, note = _age_truth(rule, age, p.birth_date, facts.as_of)
        shown = f"{source}; {note}" if note else source
        if truth is U:
            return Outcome(U, f"{shown}; needs {needs}", ("birth date",), (ev,))
        return Outcome(truth, f"{shown}; needs {needs}", (), (ev,))

    return check


def _compile_sex(rule: SexRule) -> Check:
    allowed = set(rule.allowed)
    needs = " or ".join(rule.allowed)

    def check(facts: Facts) -> Outcome:
        sex = facts.patient.sex
        if sex is None:
            return Outcome(U, "sex not recorded", ("sex",))
        ev = (Evidence("$.sex", "sex", sex),)
        return Outcome(T if sex in allowed else F, f"sex {sex}; needs {needs}", (), ev)

    return check


def _compile_performance(rule: PerformanceRule) -> Check:
    name = "ECOG" if rule.scale == "ecog" else "Karnofsky"
    unit = "" if rule.scale == "ecog" else "%"
    parts = []
    if rule.allowed is not None:
        parts.append(" or ".join(str(v) for v in rule.allowed))
    if rule.min is not None:
        parts.append(f"≥ {rule.min}{unit}")
    if rule.max is not None:
        parts.append(f"≤ {rule.max}{unit}")
    needs = f"{name} " + " and ".join(parts)

    def ok(value: int) -> bool:
        return (
            (rule.allowed is None or value in rule.allowed)
            and (rule.min is None or value >= rule.min)
            and (rule.max is None or value <= rule.max)
        )

    other = "karnofsky" if rule.scale == "ecog" else "ecog"

    def check(facts: Facts) -> Outcome:
        value = getattr(facts.patient, rule.scale)
        if value is not None:
            ev = (Evidence(f"$.{rule.scale}", name, value),)
            return Outcome(T if ok(value) else F, f"{name} {value}{unit}; needs {needs}", (), ev)
        given = getattr(facts.patient, other)
        if given is None:
            missing = (f"{name} performance status",)
            return Outcome(U, f"{name} performance status not recorded", missing)
        lo, hi = (
            derive.ecog_range_from_karnofsky(given)
            if other == "karnofsky"
            else derive.karnofsky_range_from_ecog(given)
        )
        step = 1 if rule.scale == "ecog" else 10
        hits = {ok(v) for v in range(lo, hi + 1, step)}
        shown = f"Karnofsky {given}%" if other == "karnofsky" else f"ECOG {given}"
        mapped = f"{name} {lo}{unit}" if lo == hi else f"{name} {lo}–{hi}{unit}"
        reason = f"{shown} corresponds to {mapped}; needs {needs}"
        label = f"{name} (derived from {shown})"
        ev = (Evidence(f"$.{other}", label, f"{lo}-{hi}", derived=True),)
        if hits == {True}:
            return Outcome(T, reason, (), ev)
        if hits == {False}:
            return Outcome(F, reason, (), ev)
        return Outcome(
            U, reason + " (the mapping is not exact)", (f"{name} performance status",), ev
        )

    return check


_CP_SCORES = {"A": (5, 6), "B": (7, 9), "C": (10, 15)}


def _compile_child_pugh(rule: ChildPughRule) -> Check:
    parts = []
    if rule.classes:
        parts.append("class " + " or ".join(rule.classes))
    if rule.min_score is not None or rule.max_score is not None:
        parts.append(
            "score " + _bounds_text(rule.min_score, rule.max_score, True, True, "").strip()
        )
    needs = "Child-Pugh " + " and ".join(parts)

    def derived(facts: Facts) -> Outcome:
        cp = _derive_child_pugh(facts)
        span = f"{cp.min_score}-{cp.max_score}"
        ev = (Evidence("$.labs", "Child-Pugh (derived)", span, derived=True),)
        items = ", ".join(f"{k} {v}" for k, v in cp.points.items())
        if cp.score is not None:
            shown = f"Child-Pugh {cp.classes[0]}{cp.score} derived ({items} points)"
        else:
            shown = f"Child-Pugh score {cp.min_score}–{cp.max_score} from {items or 'nothing'}"
        truths = set()
        if rule.classes:
            inside = {c in rule.classes for c in cp.classes}
            truths.add(T if inside == {True} else F if inside == {False} else U)
        if rule.min_score is not None or rule.max_score is not None:
            rmin = rule.min_score if rule.min_score is not None else 5
            rmax = rule.max_score if rule.max_score is not None else 15
            if rmin <= cp.min_score and cp.max_score <= rmax:
                truths.add(T)
            elif cp.max_score < rmin or cp.min_score > rmax:
                truths.add(F)
            else:
                truths.add(U)
        if F in truths:
            return Outcome(F, f"{shown}; needs {needs}", (), ev)
        if truths == {T}:
            return Outcome(T, f"{shown}; needs {needs}", (), ev)
        missing = cp.missing or ("Child-Pugh class and score",)
        return Outcome(U, f"Child-Pugh not recorded; {shown}; needs {needs}", missing, ev)

    def check(facts: Facts) -> Outcome:
        cp = facts.patient.child_pugh
        if cp is None:
            return derived(facts)
        cls = cp.resolved_class()
        shown = f"Child-Pugh {cls}{cp.score or ''}"
        ev = (Evidence("$.child_pugh", "Child-Pugh", f"{cls}{cp.score or ''}"),)
        if rule.classes and cls not in rule.classes:
            return Outcome(F, f"{shown}; needs {needs}", (), ev)
        if rule.min_score is None and rule.max_score is None:
            return Outcome(T, f"{shown}; needs {needs}", (), ev)
        lo, hi = (cp.score, cp.score) if cp.score else _CP_SCORES[cls or "C"]
        rmin = rule.min_score if rule.min_score is not None else 5
        rmax = rule.max_score if rule.max_score is not None else 15
        if rmin <= lo and hi <= rmax:
            return Outcome(T, f"{shown}; needs {needs}", (), ev)
        if hi < rmin or lo > rmax:
            return Outcome(F, f"{shown}; needs {needs}", (), ev)
        return Outcome(U, f"{shown} without a score; needs {needs}", ("Child-Pugh score",), ev)

    return check


def display_name(a: vocab.Analyte) -> str:
    """The name a coordinator reads: "platelet count", but "ALT" rather than the long form."""
    if len(a.name) <= 20:
        return a.name
    return min(a.synonyms, key=len) if a.synonyms else a.name


def _derive_child_pugh(facts: Facts) -> derive.ChildPugh:
    """Score Child-Pugh from the latest bilirubin, albumin and INR and the recorded grades."""

    def value(analyte_id: str, unit: str) -> float | None:
        o = _latest(facts, analyte_id)
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


def _latest(facts: Facts, analyte_id: str) -> Observation | None:
    found = facts.observations.get(analyte_id)
    return found[0] if found else None


def _latest_day(facts: Facts, analyte_id: str) -> tuple[Observation, ...]:
    """Every result of the newest date."""
    found = facts.observations.get(analyte_id, ())
    n = 1
    while n < len(found) and found[n].date == found[0].date:
        n += 1
    return found[:n]


def _values(results: Iterable[Observation]) -> str:
    return ", ".join(f"{fmt(o.value)} {o.unit or ''}".rstrip() for o in results)


def _same_day(short: str, needs: str, day: tuple[Observation, ...], outs: list[Outcome]) -> Outcome:
    """Several results on the newest date: which one counts would be a guess, so they decide
    only together: their common truth, else ``unknown`` naming the conflict."""
    values = _values(day)
    results = f"{len(day)} {short} results{_on(day[0].date)}"
    missing, evidence = _combine_missing(outs), _evidence(outs)
    truths = {o.truth for o in outs}
    if len(truths) == 1:
        agree = " agree" if outs[0].truth is not U else ""
        return Outcome(
            outs[0].truth, f"{outs[0].reason} ({results}{agree}: {values})", missing, evidence
        )
    if {T, F} <= truths:
        reason = f"{results} disagree: {values}; needs {needs}"
        return Outcome(U, reason, (f"confirmed {short} result", *missing), evidence)
    undecided = _join(o for o in outs if o.truth is U)
    return Outcome(U, f"{results} ({values}), not all decidable: {undecided}", missing, evidence)


def _on_latest_day(
    facts: Facts, analyte_id: str, short: str, needs: str, one: Callable[[Observation], Outcome]
) -> Outcome:
    """``one`` applied to the newest result; see ``_same_day`` when there are several.

    Undated results and results older than the age limit never decide: with nothing else the
    rule is ``unknown``, naming them and asking for a current (dated) result."""
    day = _latest_day(facts, analyte_id)
    undated = facts.undated.get(analyte_id, ())
    ignored = ""
    if undated:
        plural = "s" if len(undated) > 1 else ""
        ignored = f" ({len(undated)} undated {short} result{plural} ignored: {_values(undated)})"
    if not day:
        stale = facts.stale.get(analyte_id)
        if stale is not None:
            since = oldest_result_date(facts.as_of, facts.options).isoformat()
            reason = (
                f"{short} {fmt(stale.value)} {stale.unit or ''}".rstrip()
                + f"{_on(stale.date)} is older than {facts.options.max_lab_age_days} days before "
                f"{facts.as_of.isoformat()}{ignored}; needs {needs}"
            )
            missing = (f"current {short} result (on or after {since})",)
            return Outcome(U, reason, missing, (stale.evidence(), *(o.evidence() for o in undated)))
        if undated:
            reason = f"no dated {short} result{ignored}; needs {needs}"
            evidence = tuple(o.evidence() for o in undated)
            return Outcome(U, reason, (f"dated {short} result",), evidence)
        reason = f"no {short} result{_unrecognised(facts)}; needs {needs}"
        return Outcome(U, reason, (f"{short} result",))
    out = one(day[0]) if len(day) == 1 else _same_day(short, needs, day, [one(o) for o in day])
    if ignored:
        return Outcome(out.truth, out.reason + ignored, out.missing, out.evidence, out.assisted)
    return out


def _unrecognised(facts: Facts) -> str:
    """Unknown tests are never matched, but a "no result" reason says they were there."""
    names = facts.unresolved_tests
    if not names:
        return ""
    shown = ", ".join(repr(n) for n in names[:3]) + ("…" if len(names) > 3 else "")
    return f" ({len(names)} unrecognised test{'s' if len(names) > 1 else ''} not matched: {shown})"


def _compile_lab(rule: LabRule) -> Check:
    a = vocab.analyte(rule.analyte)
    if a is None:
        outcome = Outcome(
            R, f"needs review: unrecognised analyte {rule.analyte!r}", ("reviewer's judgement",)
        )
        return lambda facts: outcome
    op = _SYMBOL[rule.comparator]
    short = display_name(a)

    if rule.of is not None:
        limit, multiple = rule.of, float(rule.multiple or 1.0)
        needs = f"{op} {fmt(multiple)} × {limit}"
        missing_limit = (f"{short} {'upper' if limit == 'ULN' else 'lower'} limit of normal",)

        def relative(o: Observation) -> Outcome:
            ref = o.ref_high if limit == "ULN" else o.ref_low
            shown = f"{short} {fmt(o.value)} {o.unit or ''}".rstrip()
            foreign = foreign_unit(o.unit, a.id)
            if foreign is not None:
                # a ratio of two numbers in a unit that is not ALT's says nothing about ALT
                return Outcome(
                    U,
                    f"{shown}{_on(o.date)}: {foreign}; needs {needs}",
                    (f"{short} in {a.unit}",),
                    (o.evidence(),),
                )
            if ref is None or ref <= 0:
                return Outcome(
                    U,
                    f"{shown}{_on(o.date)} but no {limit} given; needs {needs}",
                    missing_limit,
                    (o.evidence(),),
                )
            ratio = o.value / ref
            ok = compare(o.value, rule.comparator, multiple * ref)
            reason = (
                f"{shown} = {ratio:.2f} × {limit} ({fmt(ref)} {o.unit or ''}".rstrip()
                + f"){_on(o.date)}; needs {needs}"
            )
            return Outcome(T if ok else F, reason, (), (o.evidence(),))

        return lambda facts: _on_latest_day(facts, a.id, short, needs, relative)

    target_unit = rule.unit if rule.unit is not None else a.unit
    threshold = float(rule.value)  # type: ignore[arg-type]
    shown_unit = "" if vocab.unit(target_unit) == "1" else target_unit or ""
    needs = f"{op} {fmt(threshold)} {shown_unit}".rstrip()
    needs_unit = vocab.unit(a.unit) != "1"

    def absolute(o: Observation) -> Outcome:
        shown = f"{short} {fmt(o.value)} {o.unit or ''}".rstrip()
        if not (o.unit or "").strip() and needs_unit:
            # vocab.unit(None) means "1": for ALT that would be a guess, not a conversion
            return Outcome(
                U,
                f"{shown}{_on(o.date)} has no unit; needs {needs}",
                (f"{short} unit",),
                (o.evidence(),),
            )
        try:
            value = vocab.convert(o.value, o.unit, target_unit, a.id)
        except vocab.UnitError as exc:
            return Outcome(
                U,
                f"{shown}{_on(o.date)}: {exc}; needs {needs}",
                (f"{short} in {target_unit}",),
                (o.evidence(),),
            )
        converted = (
            ""
            if vocab.unit(o.unit) == vocab.unit(target_unit)
            else f" = {fmt(value)} {target_unit}"
        )
        ok = compare(value, rule.comparator, threshold)
        return Outcome(
            T if ok else F, f"{shown}{converted}{_on(o.date)}; needs {needs}", (), (o.evidence(),)
        )

    return lambda facts: _on_latest_day(facts, a.id, short, needs, absolute)


def _compile_numeric(rule: VitalRule | MeasureRule) -> Check:
    a = vocab.analyte(rule.name)
    if a is None:
        outcome = Outcome(
            R, f"needs review: unrecognised measurement {rule.name!r}", ("reviewer's judgement",)
        )
        return lambda facts: outcome
    lab = LabRule(
        analyte=a.id, comparator=rule.comparator, value=rule.value, unit=rule.unit or a.unit
    )
    inner = _compile_lab(lab)
    return inner


def _not_recorded(facts: Facts, field_name: str, what: str) -> Outcome | None:
    """A list the profile does not have at all (no ``conditions`` key): nothing about it is
    known, so absence cannot pass or fail a rule (an empty list ``[]`` says there is none)."""
    if getattr(facts.patient, field_name) is not None:
        return None
    return Outcome(
        U,
        f"{field_name} not recorded (no {field_name} list): {what} unknown",
        (f"{field_name} list",),
    )


def _absent(
    rule_if_absent: IfAbsent | None, facts: Facts, what: str, unresolved: tuple[str, ...]
) -> Outcome:
    mode = rule_if_absent or facts.options.if_absent
    note = ""
    if unresolved:
        shown = ", ".join(repr(u) for u in unresolved[:3]) + ("…" if len(unresolved) > 3 else "")
        entries = "entry" if len(unresolved) == 1 else "entries"
        note = f" ({len(unresolved)} unrecognised {entries} not matched: {shown})"
    if mode == "unknown":
        return Outcome(
            U, f"{what} not recorded; absence is not taken as negative{note}", (f"{what} status",)
        )
    return Outcome(F, f"no {what} recorded{note}", ())


def _window_text(w: Window | None, facts: Facts) -> str:
    return f" within {w.describe()} before {facts.as_of.isoformat()}" if w else ""


def _period(start: date | None, end: date | None) -> str:
    if start and end:
        return f" ({start.isoformat()} to {end.isoformat()})"
    if start:
        return f" (since {start.isoformat()})"
    if end:
        return f" (until {end.isoformat()})"
    return ""


def _in_window(entry: Resolved, window: Window | None, facts: Facts) -> Truth:
    """Was the entry present at some time in [as_of - window, as_of]?"""
    if entry.start and entry.start > facts.as_of:
        return F  # begins after the as-of date
    if window is None:
        return T
    since = facts.as_of - timedelta(days=window.days())
    if entry.end is not None:
        return T if entry.end >= since else F
    if entry.active:
        return T  # ongoing, no end recorded
    if entry.start is not None and entry.start >= since:
        return T
    return U  # resolved at an unknown date


def _onset_in_window(entry: Resolved, window: Window, facts: Facts) -> Truth:
    """For an event (MI, stroke): did it happen in [as_of - window, as_of]? Only the onset
    says; being recorded as active says nothing about when. No onset: unknown."""
    if entry.start is None:
        return U
    if entry.start > facts.as_of:
        return F
    return T if entry.start >= facts.as_of - timedelta(days=window.days()) else F


def event_concepts(concept_id: str) -> frozenset[str]:
    """The event concepts (``nature: event``) a condition rule on ``concept_id`` covers: the
    concept itself and its members. An entry recorded as one of them (by name or ICD-10 code)
    is dated by its onset in a window; any other entry is a state."""
    return frozenset(
        x.id
        for x in vocab.conditions()
        if x.nature == "event" and vocab.condition_matches(concept_id, x.id)
    )


def _condition_hit(concept_id: str, entry: Resolved) -> bool:
    """By concept, or by any ICD-10 code the entry carries (B18.0 is both HBV and HDV)."""
    if entry.concept is not None and vocab.condition_matches(concept_id, entry.concept):
        return True
    return entry.code is not None and vocab.code_matches(concept_id, entry.code)


def _may_be(label: str, name: str, ev: Evidence | None = None) -> Outcome:
    """An entry broader than the criterion, or coded without saying: a person decides."""
    return Outcome(
        U,
        f"{label} may or may not be {name}: the record does not say",
        (f"whether {label} is {name}",),
        (ev,) if ev else (),
    )


def _compile_condition(rule: ConditionRule) -> Check:
    c = vocab.condition(rule.condition)
    bad_exceptions = [e for e in rule.except_ if vocab.condition(e) is None]
    if c is None or bad_exceptions:
        name = rule.condition if c is None else bad_exceptions[0]
        outcome = Outcome(
            R, f"needs review: unrecognised condition {name!r}", ("reviewer's judgement",)
        )
        return lambda facts: outcome
    exceptions = [vocab.condition(e).id for e in rule.except_]  # type: ignore[union-attr]
    what = ("active " if rule.active else "") + c.name
    except_text = (
        " (except " + ", ".join(vocab.condition(e).name for e in rule.except_) + ")"  # type: ignore[union-attr]
        if rule.except_
        else ""
    )

    events = event_concepts(c.id)
    current = vocab.is_current(c.id)  # "active infection": a resolved entry is not one

    def check(facts: Facts) -> Outcome:
        window = _window_text(rule.within, facts)
        none = _not_recorded(facts, "conditions", f"{what}{except_text}{window}")
        if none is not None:
            return none
        unsure: list[Outcome] = []
        outside: list[tuple[Resolved, bool]] = []
        for entry in facts.conditions:
            maybe = not _condition_hit(c.id, entry)
            if maybe and not vocab.condition_may_be(c.id, entry.concept, entry.code):
                continue
            if any(_condition_hit(x, entry) for x in exceptions):
                continue
            if (rule.active or current) and not entry.active:
                continue
            event = bool(events) and any(_condition_hit(x, entry) for x in events)
            if event and rule.within is not None:
                timing = _onset_in_window(entry, rule.within, facts)
            else:
                timing = _in_window(entry, rule.within, facts)
            status = "active" if entry.active else "resolved"
            ev = Evidence(entry.path, entry.label, status, None, entry.start)
            if maybe:
                if timing is not F:
                    unsure.append(_may_be(entry.label, c.name, ev))
                continue
            if rule.history == "review" and not entry.active:
                if timing is not F:
                    unsure.append(
                        Outcome(
                            U,
                            f"{entry.label} recorded as resolved{_period(entry.start, entry.end)}:"
                            f" whether a past {c.name} counts here is not in the words",
                            (f"whether the resolved {entry.label} counts",),
                            (ev,),
                        )
                    )
                continue
            if timing is T:
                when = (
                    f", onset {entry.start.isoformat()}"  # type: ignore[union-attr]
                    if event and rule.within is not None
                    else _period(entry.start, entry.end)
                )
                return Outcome(T, f"{entry.label} recorded ({status}){when}{window}", (), (ev,))
            if timing is U and event:
                unsure.append(
                    Outcome(
                        U,
                        f"{entry.label} recorded ({status}) without an onset date: when it "
                        f"happened decides{window}",
                        (f"onset date of {entry.label}",),
                        (ev,),
                    )
                )
            elif timing is U:
                unsure.append(
                    Outcome(
                        U,
                        f"{entry.label} resolved at an unknown date{window}",
                        (f"end date of {entry.label}",),
                        (ev,),
                    )
                )
            elif rule.within is not None and not (entry.start and entry.start > facts.as_of):
                outside.append((entry, event))
        if unsure:
            return Outcome(U, _join(unsure), _combine_missing(unsure), _evidence(unsure))
        absent = _absent(
            rule.if_absent, facts, f"{what}{except_text}{window}", facts.unresolved_conditions
        )
        if not outside:
            return absent
        notes, evidence = [], []
        for entry, event in outside:
            status = "active" if entry.active else "resolved"
            day = entry.start if event else entry.end
            when = f"{'onset' if event else 'ended'} {day.isoformat()}"  # type: ignore[union-attr]
            notes.append(f"{entry.label} recorded ({status}), {when}, before the window")
            evidence.append(Evidence(entry.path, entry.label, status, None, entry.start))
        return Outcome(
            absent.truth,
            f"{absent.reason}; " + "; ".join(dict.fromkeys(notes)),
            absent.missing,
            tuple(evidence),
        )

    return check


def _compile_therapy(rule: TherapyRule) -> Check:
    concepts = [vocab.drug(a) for a in rule.agents]
    if any(x is None for x in concepts):
        bad = next(a for a, x in zip(rule.agents, concepts, strict=True) if x is None)
        outcome = Outcome(
            R, f"needs review: unrecognised drug or class {bad!r}", ("reviewer's judgement",)
        )
        return lambda facts: outcome
    ids = [x.id for x in concepts]  # type: ignore[union-attr]
    what = "prior " + ", ".join(x.name for x in concepts)  # type: ignore[union-attr]

    def check(facts: Facts) -> Outcome:
        window = _window_text(rule.within, facts)
        none = _not_recorded(facts, "treatments", f"{what}{window}")
        if none is not None:
            return none
        unsure: list[Resolved] = []
        maybe: list[Resolved] = []
        for entry in facts.treatments:
            if entry.concept is None:
                continue
            if not any(vocab.drug_matches(i, entry.concept) for i in ids):
                if any(vocab.drug_may_be(i, entry.concept) for i in ids):
                    maybe.append(entry)
                continue
            if rule.within is not None and entry.start is None and entry.end is None:
                unsure.append(entry)
                continue
            if _in_window(entry, rule.within, facts) is T:
                return Outcome(
                    T,
                    f"received {entry.label}{_period(entry.start, entry.end)}{window}",
                    (),
                    (Evidence(entry.path, entry.label, "treatment", None, entry.start),),
                )
        if unsure:
            e = unsure[0]
            return Outcome(U, f"{e.label} recorded without dates{window}", (f"dates of {e.label}",))
        for e in maybe:
            if _in_window(e, rule.within, facts) is not F:
                ev = Evidence(e.path, e.label, "treatment", None, e.start)
                return _may_be(e.label, " or ".join(x.name for x in concepts), ev)  # type: ignore[union-attr]
        return _absent(rule.if_absent, facts, f"{what}{window}", facts.unresolved_treatments)

    return check


def _compile_flag(field_name: str, what: str) -> Check:
    def check(facts: Facts) -> Outcome:
        p = facts.patient
        value = getattr(p, field_name)
        if value is not None:
            ev = (Evidence(f"$.{field_name}", field_name, value),)
            return Outcome(T if value else F, f"{field_name}: {'yes' if value else 'no'}", (), ev)
        if p.sex == "male":
            return Outcome(
                F,
                f"not applicable (sex male): not {field_name}",
                (),
                (Evidence("$.sex", "sex", "male"),),
            )
        return Outcome(U, f"{what} not recorded", (what,))

    return check


# --- criteria and trials ------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledCriterion:
    id: str
    section: str
    text: str
    check: Check


@dataclass(frozen=True)
class CompiledTrial:
    """A rules file ready to screen many patients."""

    trial_id: str
    criteria: tuple[CompiledCriterion, ...]
    rules_sha256: str | None = None
    # criteria with a manual part, which a recorded review answers; every criterion id
    reviewable: frozenset[str] = frozenset()
    criterion_ids: frozenset[str] = frozenset()


def compile_rules(rules: RuleSet, rules_sha256: str | None = None) -> CompiledTrial:
    return CompiledTrial(
        rules.trial.id,
        tuple(
            CompiledCriterion(
                c.id,
                c.section,
                c.text,
                compile_rule(c.rule, Where(rules.trial.id, c.id, c.section)),
            )
            for c in rules.criteria
        ),
        rules_sha256,
        frozenset(
            c.id
            for c in rules.criteria
            if any(isinstance(r, ManualRule) for r in iter_rules(c.rule))
        ),
        frozenset(c.id for c in rules.criteria),
    )


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
        where = f"$.reviews[{i}]"
        if r.trial == trial.trial_id:
            if r.criterion not in trial.criterion_ids:
                out.append(f"{where}: {r.trial} has no criterion {r.criterion!r}; review not used")
            elif r.criterion not in trial.reviewable:
                out.append(
                    f"{where}: {r.trial} {r.criterion} has no part for a reviewer to decide "
                    "(its rules are all computed); review not used"
                )
        elif r.trial not in screened:
            out.append(
                f"{where}: trial {r.trial!r} is not among the rules screened; review not used"
            )
    return tuple(out)


def criterion_status(section: str, truth: Truth) -> Status:
    """Exclusions invert here, once: an exclusion that holds is a fail."""
    if truth is R:
        return "review"
    if truth is U:
        return "unknown"
    holds = truth is T
    return "pass" if holds == (section == "inclusion") else "fail"


def verdict_of(statuses: Iterable[Status]) -> Verdict:
    seen = set(statuses)
    if "fail" in seen:
        return "ineligible"
    if seen <= {"pass"}:
        return "eligible"
    return "indeterminate"


def evaluate(
    compiled: CompiledTrial, facts: Facts, screened: Collection[str] = ()
) -> ScreeningResult:
    """Every criterion, the verdict, and warnings (``review_warnings``; ``screened``: the ids of
    the other trials screened in the same run, whose reviews are not this trial's concern)."""
    results = []
    for c in compiled.criteria:
        o = c.check(facts)
        status = criterion_status(c.section, o.truth)
        results.append(
            CriterionResult(
                c.id,
                c.section,
                c.text,
                status,
                o.reason,
                o.missing if status in ("unknown", "review") else (),
                o.evidence,
                o.assisted,
            )
        )
    counts = {s: 0 for s in ("pass", "fail", "unknown", "review")}
    for r in results:
        counts[r.status] += 1
    return ScreeningResult(
        compiled.trial_id,
        facts.patient.id,
        facts.as_of,
        verdict_of(r.status for r in results),
        tuple(results),
        __version__,
        compiled.rules_sha256,
        counts,
        review_warnings(facts.patient, compiled, screened),
    )
