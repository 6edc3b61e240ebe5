"""Reasons, data to collect and evidence, rendered from a compiled rule and its finding.

The evaluator (``evaluate.py``) returns truths and findings as small values; this module turns
them into the words a coordinator reads ("ALT 165 U/L = 4.12 × ULN (40 U/L) on 2024-02-20;
needs ≤ 3 × ULN"), only for the rows a report shows. A composite's reason joins its children's:
they are rendered from their own findings (the evaluator short-circuits, so a child it did not
need is checked here), and the composite's truth is always the evaluator's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta
from operator import is_
from typing import Any

from . import __version__, vocab
from .compiled import FALSE, TRUE, Finding, Node
from .evaluate import CompiledTrial, LabInfo, life_expectancy_truth, review_warnings, verdict_of
from .facts import (
    Facts,
    Result,
    age_disagreement,
    fmt,
    foreign_unit,
    oldest_result_date,
    result_evidence,
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
    NotRule,
    PerformanceRule,
    PregnancyRule,
    SexRule,
    TherapyRule,
)
from .patient import Review
from .reasons_entries import condition_outcome, therapy_outcome, unrecognised_outcome
from .result import (
    EVIDENCE_MARK,
    TRUTHS,
    CriterionResult,
    Evidence,
    Outcome,
    ScreeningResult,
    Truth,
    combine_evidence,
    combine_missing,
    join_reasons,
)

T, F, U, R = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN, Truth.REVIEW
_SYMBOL = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}


def evaluate(
    compiled: CompiledTrial,
    facts: Facts,
    screened: Collection[str] = (),
    warnings: tuple[str, ...] | None = None,
) -> ScreeningResult:
    """Every criterion with its reason, the verdict, and warnings (``review_warnings``;
    ``screened``: the ids of the other trials screened in the same run; ``warnings``: those
    warnings when the caller knows them already, as a cohort run does for most profiles)."""
    results = []
    counts = {"pass": 0, "fail": 0, "unknown": 0, "review": 0}
    for c in compiled.criteria:
        node = c.node
        found = node.check(facts)
        status = c.statuses[found[0]]
        counts[status] += 1
        o = (node.render or _renderer(node))(node, facts, found)
        cache = node.cache
        seen = cache.get("last")  # the criterion's latest outcome and result, held
        if seen is not None and seen[0] is o and seen[1].status == status:
            results.append(seen[1])  # an outcome kept per node, as for the patient before
            continue
        result = CriterionResult(
            c.id,
            c.section,
            c.text,
            status,
            o.reason,
            o.missing if status == "unknown" or status == "review" else (),
            o.evidence,
            o.assisted,
        )
        cache["last"] = (o, result)
        results.append(result)
    return ScreeningResult(
        compiled.trial_id,
        facts.patient.id,
        facts.as_of,
        verdict_of(s for s, k in counts.items() if k),
        counts,
        tuple(results),
        __version__,
        compiled.rules_sha256,
        review_warnings(facts.patient, compiled, screened) if warnings is None else warnings,
        tuple(f"{i.resource}: {i.reason}" for i in ignored)
        if (ignored := facts.patient.ignored)
        else (),
    )


def explain(node: Node, facts: Facts, found: Finding | None = None) -> Outcome:
    """The reason, missing data and evidence of one compiled rule on these facts."""
    if found is None:
        found = node.check(facts)
    return (node.render or _renderer(node))(node, facts, found)


def _renderer(node: Node) -> Any:
    """The node's renderer (``_RENDER``, by the rule's kind), looked up once per node."""
    render = node.render = _RENDER.get(type(node.rule), _lab)
    return render


# --- composites and manual rules ----------------------------------------------------------


def _assisted(outcomes: Iterable[Outcome]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line for o in outcomes for line in o.assisted))


def _composite(node: Node, facts: Facts, found: Finding) -> Outcome:
    """All: a false one's reasons when false, else every child's. Any: a true one's when true."""
    truth = TRUTHS[found[0]]
    decisive = node.cache.get("decisive")
    if decisive is None:  # the truth that decides: looked up once per node
        decisive = node.cache["decisive"] = FALSE if isinstance(node.rule, AllRule) else TRUE
    if found[0] == decisive:  # only the decisive children are shown: only they are rendered
        shown = [
            (k.render or _renderer(k))(k, facts, f)
            for k in node.children
            if (f := k.check(facts))[0] == decisive
        ]
        if len(shown) == 1:  # the usual case: one child decides, nothing to merge
            o = shown[0]
            if o.truth is truth and len(o.evidence) < 2 and len(o.assisted) < 2 and not o.missing:
                return o
        return _merged_kept(node, truth, shown, False, True)
    outs = [(k.render or _renderer(k))(k, facts, k.check(facts)) for k in node.children]
    return _merged_kept(node, truth, outs, truth not in (T, F))


def _merged_kept(
    node: Node, truth: Truth, outs: list[Outcome], with_missing: bool, decisive: bool = False
) -> Outcome:
    """``_merged``, or this node's outcome for the patient before when its children gave the
    very same outcome objects (those kept per node: "nothing recorded", a review, a pending
    part). The last children are held here, so comparing them by identity is exact.
    ``decisive``: the decisive children only, where one of them is shown as it is (without
    its data to collect) unless it brings several evidence or assisted lines."""
    cache = node.cache
    last = cache.get("merged")
    if last is not None and last[0] is truth and _same(last[1], outs):
        return last[2]  # type: ignore[no-any-return]
    if decisive and len(outs) == 1:  # one decisive child, with data to collect
        o = outs[0]
        if o.truth is truth and len(o.evidence) < 2 and len(o.assisted) < 2:
            out = Outcome(truth, o.reason, (), o.evidence, o.assisted)
        else:
            out = _merged(truth, outs, with_missing)
    else:
        out = _merged(truth, outs, with_missing)
    cache["merged"] = (truth, outs, out)
    return out


def _same(a: list[Outcome], b: list[Outcome]) -> bool:
    """The same outcome objects in the same order (compared in C)."""
    return len(a) == len(b) and all(map(is_, a, b))


def _merged(truth: Truth, outs: list[Outcome], with_missing: bool) -> Outcome:
    """The children's reasons, data to collect, evidence and assisted lines, each once and in
    order (``_join``, ``_combine_missing``, ``_evidence``, ``_assisted`` in one pass)."""
    reasons: dict[str, None] = {}
    missing: dict[str, None] = {}
    evidence: dict[tuple[str, str], Evidence] = {}
    assisted: dict[str, None] = {}
    for o in outs:
        reasons[o.reason] = None
        if with_missing:
            for m in o.missing:
                missing[m] = None
        for e in o.evidence:
            evidence.setdefault((e.path, e.label), e)
        for line in o.assisted:
            assisted[line] = None
    return Outcome(
        truth, "; ".join(reasons), tuple(missing), tuple(evidence.values()), tuple(assisted)
    )


def _not(node: Node, facts: Facts, found: Finding) -> Outcome:
    o = explain(node.children[0], facts)
    return Outcome(TRUTHS[found[0]], o.reason, o.missing, o.evidence, o.assisted)


def _manual(node: Node, facts: Facts, found: Finding) -> Outcome:
    """Needs review (with what an ``evidence`` rule found, which never decides), or what the
    recorded reviews said."""
    rule: ManualRule = node.rule  # type: ignore[assignment]
    truth, case = TRUTHS[found[0]], found[1]
    if case == "pending":
        pending = node.cache.get("pending")
        if pending is None:  # the same for every patient: built once
            pending = Outcome(R, f"needs review: {rule.reason}", ("reviewer's decision",))
            node.cache["pending"] = pending
        if not node.children:
            return pending
        o = explain(node.children[0], facts)
        line = o.reason + (f" (to collect: {', '.join(o.missing)})" if o.missing else "")
        return Outcome(
            R,
            f"{pending.reason}{EVIDENCE_MARK}{line}",
            combine_missing((pending, o)),
            o.evidence,
            (line,),
        )
    where = node.where
    reviews = facts.reviews_of(where.trial, where.criterion)
    if len(reviews) != 1:
        return _reviewed(truth, case, reviews)
    # One review, the usual case: a cohort's reviews repeat the same few words (a status, a
    # reviewer, a date), so the outcome is kept per node for each review's values (bounded).
    i, r = reviews[0]
    key = (truth, case, i, r.status, r.by, r.date, r.note)
    memo = node.cache.get("reviewed")
    if memo is None:
        memo = node.cache["reviewed"] = {}
    out = memo.get(key)
    if out is None:
        out = _reviewed(truth, case, reviews)
        if len(memo) < 256:
            memo[key] = out
    return out


def _reviewed(truth: Truth, case: str, reviews: list[tuple[int, Review]]) -> Outcome:
    """What the recorded reviews of a criterion said (``case``: ``review`` or ``disagree``)."""
    evidence = tuple(
        Evidence(f"$.reviews[{i}]", "review", r.status, None, r.date) for i, r in reviews
    )
    said = "; ".join(_review_text(r) for _, r in reviews)
    if case == "disagree":
        return Outcome(
            U,
            f"{len(reviews)} reviews of this criterion disagree: {said}",
            ("one agreed reviewer's decision",),
            evidence,
        )
    agree = f" ({len(reviews)} reviews agree)" if len(reviews) > 1 else ""
    return Outcome(truth, f"{said}{agree}", (), evidence)


def _review_text(review: Review) -> str:
    who = f" by {review.by}" if review.by else ""
    when = f" on {review.date.isoformat()}" if review.date else ""
    note = f": {review.note}" if review.note else ""
    return f"reviewed{who}{when} as {review.status}{note}"


# --- age, sex, performance, Child-Pugh, flags ---------------------------------------------


def _bounds_text(lo: float | None, hi: float | None, lo_inc: bool, hi_inc: bool, unit: str) -> str:
    if lo is not None and hi is not None and lo_inc and hi_inc:
        return f"{fmt(lo)}–{fmt(hi)} {unit}"
    parts = []
    if lo is not None:
        parts.append(f"{'≥' if lo_inc else '>'} {fmt(lo)}")
    if hi is not None:
        parts.append(f"{'≤' if hi_inc else '<'} {fmt(hi)}")
    return " and ".join(parts) + f" {unit}"


def _age(node: Node, facts: Facts, found: Finding) -> Outcome:
    rule: AgeRule = node.rule  # type: ignore[assignment]
    needs = node.cache.get("needs")
    if needs is None:
        needs = node.cache["needs"] = _bounds_text(
            rule.min, rule.max, rule.min_inclusive, rule.max_inclusive, "years"
        )
    p, case = facts.patient, found[1]
    if case == "conflict":
        return Outcome(
            U,
            f"{age_disagreement(p, facts.as_of)}; needs {needs}",
            ("confirmed birth date",),
            (
                Evidence("$.age", "age", p.age, "years"),
                Evidence("$.birth_date", "birth date", str(p.birth_date)),
            ),
        )
    if case == "born later":
        return Outcome(U, f"birth date {p.birth_date} is after the as-of date", ("birth date",))
    if case == "none":
        return Outcome(U, "age not recorded", ("birth date or age",))
    age = facts.age
    if p.birth_date is not None:
        ev = Evidence("$.birth_date", "age", age, "years", p.birth_date, derived=True)
        source = f"age {age} (born {p.birth_date.isoformat()}, as of {facts.as_of.isoformat()})"
    else:
        ev = Evidence("$.age", "age", p.age, "years")
        source = f"age {fmt(p.age)} (as recorded)"  # type: ignore[arg-type]
    notes = (
        "; ".join(
            f"exactly {fmt(n[1])} years on {facts.as_of.isoformat()}"
            if n[0] == "exactly"
            else f"completed years cannot tell whether exact age is {n[1]} {fmt(n[2])}"
            for n in found[2]
        )
        if found[2]
        else ""
    )
    shown = f"{source}; {notes}" if notes else source
    truth = TRUTHS[found[0]]
    return Outcome(truth, f"{shown}; needs {needs}", ("birth date",) if truth is U else (), (ev,))


def _sex(node: Node, facts: Facts, found: Finding) -> Outcome:
    rule: SexRule = node.rule  # type: ignore[assignment]
    sex = facts.patient.sex
    if found[1] == "none":
        return Outcome(U, "sex not recorded", ("sex",))
    needs = node.cache.get("needs")
    if needs is None:
        needs = node.cache["needs"] = f"; needs {' or '.join(rule.allowed)}"
    ev = (Evidence("$.sex", "sex", sex),)
    return Outcome(TRUTHS[found[0]], f"sex {sex}{needs}", (), ev)


def _performance(node: Node, facts: Facts, found: Finding) -> Outcome:
    rule: PerformanceRule = node.rule  # type: ignore[assignment]
    name = "ECOG" if rule.scale == "ecog" else "Karnofsky"
    unit = "" if rule.scale == "ecog" else "%"
    needs = node.cache.get("needs")
    if needs is None:  # what the rule needs, built once per node
        parts = []
        if rule.allowed is not None:
            parts.append(" or ".join(str(v) for v in rule.allowed))
        if rule.min is not None:
            parts.append(f"≥ {rule.min}{unit}")
        if rule.max is not None:
            parts.append(f"≤ {rule.max}{unit}")
        needs = node.cache["needs"] = f"{name} " + " and ".join(parts)
    truth, case = TRUTHS[found[0]], found[1]
    if case == "value":
        value = getattr(facts.patient, rule.scale)
        ev = (Evidence(f"$.{rule.scale}", name, value),)
        return Outcome(truth, f"{name} {value}{unit}; needs {needs}", (), ev)
    if case == "none":
        return Outcome(
            U, f"{name} performance status not recorded", (f"{name} performance status",)
        )
    other = "karnofsky" if rule.scale == "ecog" else "ecog"
    given, lo, hi = getattr(facts.patient, other), found[2], found[3]
    shown = f"Karnofsky {given}%" if other == "karnofsky" else f"ECOG {given}"
    mapped = f"{name} {lo}{unit}" if lo == hi else f"{name} {lo}–{hi}{unit}"
    reason = f"{shown} corresponds to {mapped}; needs {needs}"
    ev = (Evidence(f"$.{other}", f"{name} (derived from {shown})", f"{lo}-{hi}", derived=True),)
    if truth is U:
        return Outcome(
            U, reason + " (the mapping is not exact)", (f"{name} performance status",), ev
        )
    return Outcome(truth, reason, (), ev)


def _child_pugh(node: Node, facts: Facts, found: Finding) -> Outcome:
    rule: ChildPughRule = node.rule  # type: ignore[assignment]
    needs = node.cache.get("needs")
    if needs is None:  # what the rule needs, built once per node
        parts = []
        if rule.classes:
            parts.append("class " + " or ".join(rule.classes))
        if rule.min_score is not None or rule.max_score is not None:
            parts.append(
                "score " + _bounds_text(rule.min_score, rule.max_score, True, True, "").strip()
            )
        needs = node.cache["needs"] = "Child-Pugh " + " and ".join(parts)
    truth = TRUTHS[found[0]]
    if found[1] == "derived":
        cp = found[2]
        ev = (
            Evidence(
                "$.labs", "Child-Pugh (derived)", f"{cp.min_score}-{cp.max_score}", derived=True
            ),
        )
        items = ", ".join(f"{k} {v}" for k, v in cp.points.items())
        if cp.score is not None:
            shown = f"Child-Pugh {cp.classes[0]}{cp.score} derived ({items} points)"
        else:
            shown = f"Child-Pugh score {cp.min_score}–{cp.max_score} from {items or 'nothing'}"
        if truth is U:
            missing = cp.missing or ("Child-Pugh class and score",)
            return Outcome(U, f"Child-Pugh not recorded; {shown}; needs {needs}", missing, ev)
        return Outcome(truth, f"{shown}; needs {needs}", (), ev)
    cp = facts.patient.child_pugh
    cls = cp.resolved_class()  # type: ignore[union-attr]
    shown = f"Child-Pugh {cls}{cp.score or ''}"  # type: ignore[union-attr]
    ev = (Evidence("$.child_pugh", "Child-Pugh", f"{cls}{cp.score or ''}"),)  # type: ignore[union-attr]
    if truth is U:
        return Outcome(U, f"{shown} without a score; needs {needs}", ("Child-Pugh score",), ev)
    return Outcome(truth, f"{shown}; needs {needs}", (), ev)


def _flag(node: Node, facts: Facts, found: Finding) -> Outcome:
    field_name = node.rule.kind.replace("pregnancy", "pregnant")
    what = "pregnancy status" if field_name == "pregnant" else "breastfeeding status"
    case = found[1]
    if case == "value":
        value = getattr(facts.patient, field_name)
        ev = (Evidence(f"$.{field_name}", field_name, value),)
        return Outcome(TRUTHS[found[0]], f"{field_name}: {'yes' if value else 'no'}", (), ev)
    if case == "male":
        return Outcome(
            F,
            f"not applicable (sex male): not {field_name}",
            (),
            (Evidence("$.sex", "sex", "male"),),
        )
    return Outcome(U, f"{what} not recorded", (what,))


# --- labs, vitals, measures ---------------------------------------------------------------


def display_name(a: vocab.Analyte) -> str:
    """The name a coordinator reads: "platelet count", but "ALT" rather than the long form."""
    if len(a.name) <= 20:
        return a.name
    return min(a.synonyms, key=len) if a.synonyms else a.name


def _on(d: date | None) -> str:
    return f" on {d.isoformat()}" if d else ""


def _values(results: Iterable[Result]) -> str:
    return ", ".join(f"{fmt(o.value)} {o.unit or ''}".rstrip() for o in results)


def _lab_texts(node: Node) -> tuple[str, str]:
    """The analyte's short name and what the rule needs ("≤ 3 × ULN"), built once per node."""
    texts = node.cache.get("texts")
    if texts is None:
        info: LabInfo = node.info
        rule = info.rule
        op = _SYMBOL[rule.comparator]
        if rule.of is not None:
            needs = f"{op} {fmt(float(rule.multiple or 1.0))} × {rule.of}"
        else:
            shown = "" if vocab.unit(info.target_unit) == "1" else info.target_unit or ""
            needs = f"{op} {fmt(info.threshold)} {shown}".rstrip()
        texts = node.cache["texts"] = (display_name(info.analyte), needs)
    return texts


def _lab(node: Node, facts: Facts, found: Finding) -> Outcome:
    """The newest result's outcome, with undated results of the analyte named (they never
    decide); or why there is no current result."""
    case = found[1]
    if case == "unrecognised":
        return unrecognised_outcome(node, found)
    info: LabInfo = node.info
    aid = info.analyte.id
    aside = facts.aside  # analytes with an undated or too old result: most have neither
    undated = facts.undated.get(aid, ()) if aside and aid in aside else ()
    window, since = _lab_window(node, facts)
    if not undated and (case == "value" or case == "ratio"):  # the usual case, first
        return _one_result(node, facts, found, facts.latest[aid], window)
    short, needs = _lab_texts(node)
    ignored = ""
    if undated:
        plural = "s" if len(undated) > 1 else ""
        ignored = f" ({len(undated)} undated {short} result{plural} ignored: {_values(undated)})"
    within = f", {window}" if window else ""
    if case == "window":
        o = facts.latest[aid]
        reason = (
            f"{short} {fmt(o.value)} {o.unit or ''}".rstrip()
            + f"{_on(o.date)} is not {window}{ignored}; needs {needs}"
        )
        missing = (f"{short} result on or after {since}",)
        return Outcome(U, reason, missing, (result_evidence(facts, o),))
    if case == "stale":
        stale = found[2]
        oldest = oldest_result_date(facts.as_of, facts.options).isoformat()
        reason = (
            f"{short} {fmt(stale.value)} {stale.unit or ''}".rstrip()
            + f"{_on(stale.date)} is older than {facts.options.max_lab_age_days} days before "
            f"{facts.as_of.isoformat()}{ignored}; needs {needs}{within}"
        )
        missing = (f"current {short} result (on or after {max(oldest, since or oldest)})",)
        evidence = (result_evidence(facts, stale), *(result_evidence(facts, o) for o in undated))
        return Outcome(U, reason, missing, evidence)
    if case == "undated":
        reason = f"no dated {short} result{ignored}; needs {needs}{within}"
        evidence = tuple(result_evidence(facts, o) for o in undated)
        return Outcome(U, reason, (f"dated {short} result{within}",), evidence)
    if case == "none":
        reason = f"no {short} result{_unrecognised(facts.unresolved_tests)}; needs {needs}{within}"
        return Outcome(U, reason, (f"{short} result{within}",))
    if case == "ties":
        out = _same_day(node, facts, found[2], facts.ties[aid], window)  # type: ignore[index]
    else:
        out = _one_result(node, facts, found, facts.latest[aid], window)
    if ignored:
        return Outcome(out.truth, out.reason + ignored, out.missing, out.evidence, out.assisted)
    return out


def _lab_window(node: Node, facts: Facts) -> tuple[str, str | None]:
    """A window's words ("within 14 days before screening (…)", with what the text counted back
    from when that was not screening) and its first day; ("", None) without one. Built once per
    node and as-of date: every patient of a run with ``--as-of`` shares them."""
    cached = node.cache.get("window")
    if cached is not None and cached[0] == facts.as_of:
        return cached[1]  # type: ignore[no-any-return]
    rule: LabRule = node.info.rule
    w = rule.within
    words: tuple[str, str | None] = ("", None)
    if w is not None:
        since = (facts.as_of - timedelta(days=w.days())).isoformat()
        anchor = f"; text: before {rule.before}" if rule.before not in (None, "screening") else ""
        words = (
            f"within {w.describe()} before screening ({facts.as_of.isoformat()}{anchor})",
            since,
        )
    node.cache["window"] = (facts.as_of, words)
    return words


def _one_result(node: Node, facts: Facts, found: Finding, o: Result, window: str) -> Outcome:
    """One result's outcome (``window``: the rule's window words, or "")."""
    info: LabInfo = node.info
    short, needs = _lab_texts(node)
    case = found[1]
    day = o.date
    on = (f" on {day.isoformat()}" if day else "") + (f", {window}" if window else "")
    ev = (result_evidence(facts, o),)
    unit = o.unit
    shown = f"{short} {fmt(o.value)} {unit or ''}".rstrip()
    if case == "ratio":
        rule = info.rule
        ref = o.ref_high if rule.of == "ULN" else o.ref_low
        reason = (
            f"{shown} = {o.value / ref:.2f} × {rule.of} ({fmt(ref)} {unit or ''}".rstrip()
            + f"){on}; needs {needs}"
        )
        return Outcome(TRUTHS[found[0]], reason, (), ev)
    target = info.target_unit
    if case == "value" or case == "rounding":
        units = node.cache.get("units")
        if units is None:
            units = node.cache["units"] = {}
        conv = units.get(unit)
        if conv is None:  # per unit as charted: the conversion, and whether it changes the unit
            a = info.analyte
            conv = (vocab.conversion(unit, target, a.id), vocab.unit(unit) == vocab.unit(target))
            if len(units) < 64:  # units come from profiles: bounded
                units[unit] = conv
        converted = "" if conv[1] else f" = {fmt(conv[0].apply(o.value))} {target}"
        if case == "rounding":
            return Outcome(
                U,
                f"{shown}{converted}{on}: within the conversion's rounding of the bound; "
                f"needs {needs}",
                (f"{short} in {target}",),
                ev,
            )
        return Outcome(TRUTHS[found[0]], f"{shown}{converted}{on}; needs {needs}", (), ev)
    rule, a = info.rule, info.analyte
    if case == "foreign":
        # a ratio of two numbers in a unit that is not ALT's says nothing about ALT
        foreign = foreign_unit(unit, a.id)
        return Outcome(U, f"{shown}{on}: {foreign}; needs {needs}", (f"{short} in {a.unit}",), ev)
    if case == "no ref":
        lower = "upper" if rule.of == "ULN" else "lower"
        return Outcome(
            U,
            f"{shown}{on} but no {rule.of} given; needs {needs}",
            (f"{short} {lower} limit of normal",),
            ev,
        )
    if case == "no unit":
        return Outcome(U, f"{shown}{on} has no unit; needs {needs}", (f"{short} unit",), ev)
    try:  # "bad unit"
        vocab.convert(o.value, unit, target, a.id)
        problem = "does not convert"  # pragma: no cover - the evaluator found it does not
    except vocab.UnitError as exc:
        problem = str(exc)
    return Outcome(U, f"{shown}{on}: {problem}; needs {needs}", (f"{short} in {target}",), ev)


def _same_day(node: Node, facts: Facts, found: Finding, day: list[Result], window: str) -> Outcome:
    """Several results on the newest date: which one counts would be a guess, so they decide
    only together: their common truth, else ``unknown`` naming the conflict."""
    short, needs = _lab_texts(node)
    outs = [_one_result(node, facts, f, o, window) for f, o in zip(found, day, strict=True)]
    values = _values(day)
    results = f"{len(day)} {short} results{_on(day[0].date)}"
    missing, evidence = combine_missing(outs), combine_evidence(outs)
    truths = {o.truth for o in outs}
    if len(truths) == 1:
        agree = " agree" if outs[0].truth is not U else ""
        return Outcome(
            outs[0].truth, f"{outs[0].reason} ({results}{agree}: {values})", missing, evidence
        )
    if {T, F} <= truths:
        reason = f"{results} disagree: {values}; needs {needs}"
        return Outcome(U, reason, (f"confirmed {short} result", *missing), evidence)
    undecided = join_reasons(o for o in outs if o.truth is U)
    return Outcome(U, f"{results} ({values}), not all decidable: {undecided}", missing, evidence)


def _unrecognised(names: tuple[str, ...]) -> str:
    """Unknown tests are never matched, but a "no result" reason says they were there."""
    if not names:
        return ""
    shown = ", ".join(repr(n) for n in names[:3]) + ("…" if len(names) > 3 else "")
    return f" ({len(names)} unrecognised test{'s' if len(names) > 1 else ''} not matched: {shown})"


def _life_expectancy(node: Node, facts: Facts, found: Finding) -> Outcome:
    rule: LifeExpectancyRule = node.rule  # type: ignore[assignment]
    needs = f"needs {_SYMBOL[rule.comparator]} {fmt(rule.value)} {rule.unit}"
    le, case, as_of = facts.patient.life_expectancy, found[1], facts.as_of.isoformat()
    if le is None:
        return Outcome(U, f"life expectancy not recorded; {needs}", ("life expectancy estimate",))
    made = f" (estimated {le.date.isoformat()})" if le.date else " (undated)"
    shown = f"life expectancy {fmt(le.value)} {le.unit}{made}"
    ev = (Evidence("$.life_expectancy", "life expectancy", le.value, le.unit, le.date),)
    why = {
        "undated": "an undated estimate cannot be placed before the as-of date",
        "later": f"made after {as_of}",
        "stale": f"older than {facts.options.max_lab_age_days} days before {as_of}",
    }.get(case)
    if why is None and found[0] != TRUE and found[0] != FALSE:
        why = (
            f"made {found[2]} days before {as_of}, so less may remain"
            if life_expectancy_truth(rule, le.value, le.unit, 0) in (TRUE, FALSE)
            else f"{le.unit} against {rule.unit} depends on the length of a month (28-31 days)"
        )
    if why is not None:
        return Outcome(U, f"{shown}: {why}; {needs}", ("current life expectancy estimate",), ev)
    return Outcome(TRUTHS[found[0]], f"{shown}; {needs}", (), ev)


_RENDER: dict[type, Any] = {
    AllRule: _composite,
    AnyRule: _composite,
    NotRule: _not,
    ManualRule: _manual,
    AgeRule: _age,
    SexRule: _sex,
    PerformanceRule: _performance,
    ChildPughRule: _child_pugh,
    ConditionRule: condition_outcome,
    TherapyRule: therapy_outcome,
    PregnancyRule: _flag,
    BreastfeedingRule: _flag,
    LifeExpectancyRule: _life_expectancy,
}
