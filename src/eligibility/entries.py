"""Condition and therapy rules compiled to checks on a profile's entries (see ``evaluate``).

Concept sets are resolved here, once per rule; a profile's entries arrive as concept sets
(``facts.condition_hits``), so a rule naming something the patient does not have is one set
test. Findings name entries by their index in the profile; ``reasons.py`` words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from . import vocab
from .compiled import FALSE, REVIEW, TRUE, UNKNOWN, Finding, Node, Where, constant
from .facts import MAYBE, Facts
from .model import ConditionRule, TherapyRule, Window

# --- conditions and therapies -------------------------------------------------------------


def in_window(
    start: date | None, end: date | None, active: bool, window: timedelta | None, as_of: date
) -> int:
    """Was the entry present at some time in [as_of - window, as_of]?"""
    if start is not None and start > as_of:
        return FALSE  # begins after the as-of date
    if window is None:
        return TRUE
    since = as_of - window
    if end is not None:
        return TRUE if end >= since else FALSE
    if active:
        return TRUE  # ongoing, no end recorded
    if start is not None and start >= since:
        return TRUE
    return UNKNOWN  # resolved at an unknown date


def onset_in_window(start: date | None, window: timedelta, as_of: date) -> int:
    """For an event (MI, stroke): did it happen in [as_of - window, as_of]? Only the onset
    says; being recorded as active says nothing about when. No onset: unknown."""
    if start is None:
        return UNKNOWN
    if start > as_of:
        return FALSE
    return TRUE if start >= as_of - window else FALSE


def event_concepts(concept_id: str) -> frozenset[str]:
    """The event concepts (``nature: event``) a condition rule on ``concept_id`` covers: the
    concept itself and its members. An entry recorded as one of them (by name or ICD-10 code)
    is dated by its onset in a window; any other entry is a state."""
    return frozenset(
        x.id
        for x in vocab.conditions()
        if x.nature == "event" and vocab.condition_matches(concept_id, x.id)
    )


def _since(window: Window | None) -> timedelta | None:
    return None if window is None else timedelta(days=window.days())


_NO_LIST = (UNKNOWN, "no list")  # the profile has no such list: nothing about it is known


def _absent_findings(
    if_absent: str | None, findings: tuple[Finding, Finding]
) -> tuple[int | None, tuple[Finding, ...], Finding | tuple[()]]:
    """For "nothing matched": the rule's own ``if_absent`` truth (None: the run's setting
    decides), the findings indexed by truth (FALSE or UNKNOWN), and the rule's own finding."""
    absent = (findings[0], (), findings[1])
    if if_absent is None:
        return None, absent, ()
    own = UNKNOWN if if_absent == "unknown" else FALSE
    return own, absent, absent[own]


@dataclass(frozen=True, slots=True)
class ConditionInfo:
    concept: vocab.Concept
    exceptions: tuple[vocab.Concept, ...]


def compile_condition(rule: ConditionRule, where: Where) -> Node:
    """``(TRUE, "hit", index, event)``; ``(UNKNOWN, "unsure", ((why, index), …))`` with why
    ``"maybe"`` (broader or coded without saying), ``"maybe active"`` (a carrier code
    under "active"), ``"maybe excepted"`` (it may be one of the
    rule's exceptions), ``"history"`` (resolved, and whether a past
    one counts is not in the words), ``"no onset"`` (an event without a date), ``"no end"``,
    ``"episode"`` (an acute episode begun long ago with no end, ``vocab.episode_days``);
    else ``(absent, "absent", ((index, event), …))`` naming entries that ended before the
    window. An entry is dated by its onset when it is an event and the rule has a window."""
    c = vocab.condition(rule.condition)
    bad = [e for e in rule.except_ if vocab.condition(e) is None]
    if c is None or bad:
        name = rule.condition if c is None else bad[0]
        return constant(rule, where, (REVIEW, "unrecognised", name))
    excepted = tuple(vocab.condition(e) for e in rule.except_)
    info = ConditionInfo(c, excepted)  # type: ignore[arg-type]
    cid, maybe_id = c.id, MAYBE + c.id
    exceptions = frozenset(x.id for x in excepted)  # type: ignore[union-attr]
    active_only = rule.active or vocab.is_current(c.id)  # "active infection"
    window = _since(rule.within)
    past_review = rule.history == "review"
    events = event_concepts(cid) if window is not None else frozenset()
    by_onset = bool(rule.onset) and window is not None  # "diagnosed within 3 years"
    later = bool(c.extra.get("icd10_later"))
    present = active_only or past_review or window is not None  # not "history of"
    nothing = ((FALSE, "absent", ()), (UNKNOWN, "absent", ()))
    own, absent, fixed = _absent_findings(rule.if_absent, nothing)

    def check(facts: Facts) -> Finding:
        ids = facts.condition_ids
        if cid not in ids and maybe_id not in ids:
            if facts.conditions is None:
                return _NO_LIST
            return fixed or absent[facts.absent]
        if facts.conditions is None:  # pragma: no cover - ids come from the list
            return _NO_LIST
        as_of = facts.as_of
        unsure: list[tuple[str, int]] = []
        outside: list[tuple[int, bool]] = []
        for hits, start, end, active, i in facts.conditions:
            maybe = cid not in hits
            if maybe and maybe_id not in hits:
                continue
            if not exceptions.isdisjoint(hits) or (active_only and not active):
                continue
            excepted = bool(exceptions) and _maybe_excepted(exceptions, hits, facts, i)
            event = by_onset or (bool(events) and not events.isdisjoint(hits))
            if event:
                if later and vocab.dated_elsewhere(cid, facts.patient.conditions[i].code):  # type: ignore[index]
                    start = None  # T86.12 dates the graft's failure, not the transplant
                timing = onset_in_window(start, window, as_of)  # type: ignore[arg-type]
            else:
                timing = in_window(start, end, active, window, as_of)
            if maybe:
                if timing != FALSE:
                    unsure.append(("maybe", i))
            elif active_only and vocab.activity_unsure(facts.patient.conditions[i].code):  # type: ignore[index]
                if timing != FALSE:
                    unsure.append(("maybe active", i))
            elif past_review and not active:
                if timing != FALSE:
                    unsure.append(("history", i))
            elif (
                timing == TRUE and present and not event and _past_episode(hits, start, end, as_of)
            ):
                unsure.append(("episode", i))  # an acute episode long ago the chart left open
            elif timing == TRUE and excepted:
                unsure.append(("maybe excepted", i))
            elif timing == TRUE:
                return (TRUE, "hit", i, event)
            elif timing == UNKNOWN:
                unsure.append(("no onset" if event else "no end", i))
            elif window is not None and not (start and start > as_of):
                outside.append((i, event))
        if unsure:
            return (UNKNOWN, "unsure", tuple(unsure))
        truth = facts.absent if own is None else own
        return (truth, "absent", tuple(outside)) if outside else absent[truth]

    return Node(rule, check, (), where, info)


def _past_episode(hits: frozenset[str], start: date | None, end: date | None, as_of: date) -> bool:
    """An entry of an acute concept (``episode_days``) with no end, begun longer ago than the
    episode lasts: it may be a past episode that nobody closed."""
    if end is not None or start is None:
        return False
    days = vocab.episode_days(hits)
    return days is not None and start < as_of - timedelta(days=days)


def _maybe_excepted(exceptions: frozenset[str], hits: frozenset[str], facts: Facts, i: int) -> bool:
    """C22.9 "liver cancer" where the trial's own HCC is excepted: the entry may be the
    exception. A coded entry must say so by its code (C50.912 is no skin cancer, though a
    "malignancy" may be one); an uncoded one by being broader."""
    code = facts.patient.conditions[i].code  # type: ignore[index]
    return any(
        MAYBE + x in hits and (code is None or vocab.code_may_be(x, code)) for x in exceptions
    )


def compile_therapy(rule: TherapyRule, where: Where) -> Node:
    """``(TRUE, "hit", index)``; ``(UNKNOWN, "undated", index)`` for a matching treatment
    without dates under a window; ``(UNKNOWN, "maybe", index)`` for one that may or may not be
    the agent; else ``(absent, "absent")``. Concept sets are computed here, once."""
    concepts = [vocab.drug(a) for a in rule.agents]
    if any(x is None for x in concepts):
        bad = next(a for a, x in zip(rule.agents, concepts, strict=True) if x is None)
        return constant(rule, where, (REVIEW, "unrecognised", bad))
    ids = [x.id for x in concepts]  # type: ignore[union-attr]
    members = frozenset(
        d.id for d in vocab.drugs() if any(vocab.drug_matches(i, d.id) for i in ids)
    )
    maybes = frozenset(
        d.id
        for d in vocab.drugs()
        if d.id not in members and any(vocab.drug_may_be(i, d.id) for i in ids)
    )
    window = _since(rule.within)
    own, absent, fixed = _absent_findings(rule.if_absent, ((FALSE, "absent"), (UNKNOWN, "absent")))
    # A class is open: a treatment whose name the vocabulary does not know ("HAART", a new
    # kinase inhibitor) may be one of its members, so it cannot count as "none" (an agent's
    # rule only misses its unlisted brand names, which its synonyms are for).
    open_class = any(x.kind == "drug_class" for x in concepts)  # type: ignore[union-attr]

    def check(facts: Facts) -> Finding:
        if (
            members.isdisjoint(facts.drug_ids)
            and maybes.isdisjoint(facts.drug_ids)
            and not (open_class and None in facts.drug_ids)
        ):
            if facts.treatments is None:
                return _NO_LIST
            return fixed or absent[facts.absent]
        if facts.treatments is None:  # pragma: no cover - ids come from the list
            return _NO_LIST
        as_of = facts.as_of
        undated = maybe = unknown = None
        for concept, start, end, i in facts.treatments:
            if concept is None:
                if (
                    open_class
                    and unknown is None
                    and not vocab.not_a_drug(facts.patient.treatments[i].name)  # type: ignore[index]
                    and in_window(start, end, True, window, as_of) != FALSE
                ):
                    unknown = i
                continue
            if concept in maybes:
                if maybe is None and in_window(start, end, True, window, as_of) != FALSE:
                    maybe = i
                continue
            if concept not in members:
                continue
            if window is not None and start is None and end is None:
                undated = i if undated is None else undated
                continue
            if in_window(start, end, True, window, as_of) == TRUE:
                return (TRUE, "hit", i)
        if undated is not None:
            return (UNKNOWN, "undated", undated)
        if maybe is not None:
            return (UNKNOWN, "maybe", maybe)
        if unknown is not None:
            return (UNKNOWN, "unknown name", unknown)
        return absent[facts.absent if own is None else own]

    return Node(rule, check, (), where, tuple(concepts))
