"""Reasons for condition and therapy rules: what a profile's entries say about a named
concept or drug, rendered from a compiled rule and its finding (``entries.py`` holds their
checks; ``reasons.py`` dispatches to these renderers, one a rule kind, as to its own).

Kept apart from ``reasons.py`` because entries carry the most wording (onsets, windows, "may
be", resolved history, unrecognised names) and the least shared with the other kinds.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from . import vocab
from .compiled import Finding, Node
from .entries import ConditionInfo
from .facts import Facts, condition_label
from .model import ConditionRule, IfAbsent, Window
from .result import (
    Evidence,
    Outcome,
    Truth,
    combine_evidence,
    combine_missing,
    join_reasons,
)

T, F, U, R = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN, Truth.REVIEW
_UNRECOGNISED = {
    "lab": "analyte",
    "vital": "measurement",
    "measure": "measurement",
    "condition": "condition",
    "therapy": "drug or class",
}


def unrecognised_outcome(node: Node, found: Finding) -> Outcome:
    """A name the vocabulary does not know (``(REVIEW, "unrecognised", name)``, a constant
    finding): a person decides. The renderers of the kinds that name things ask first."""
    what = _UNRECOGNISED[node.rule.kind]
    return Outcome(R, f"needs review: unrecognised {what} {found[2]!r}", ("reviewer's judgement",))


def _not_recorded(field_name: str, what: str) -> Outcome:
    """A list the profile does not have at all (no ``conditions`` key): nothing about it is
    known, so absence cannot pass or fail a rule (an empty list ``[]`` says there is none)."""
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


def _absent_cached(node: Node, facts: Facts, what: str, unresolved: tuple[str, ...]) -> Outcome:
    """``_absent``, built once per node for each (what, run option, unrecognised names): most
    patients of a cohort share it."""
    key = (what, facts.options.if_absent, unresolved)
    memo = node.cache.setdefault("absent", {})
    found = memo.get(key)
    if found is None:
        found = _absent(node.rule.if_absent, facts, what, unresolved)  # type: ignore[union-attr]
        if len(memo) < 64:
            memo[key] = found
    return found


def _none_recorded(node: Node, facts: Facts, unresolved: tuple[str, ...]) -> Outcome:
    """Nothing the rule names is recorded: ``_absent_cached`` of the rule's words, kept per
    node for each (as-of date, run option, unrecognised names) without building the words."""
    key = (facts.as_of, facts.options.if_absent, unresolved)
    memo = node.cache.get("none")
    if memo is None:
        memo = node.cache["none"] = {}
    out = memo.get(key)
    if out is None:
        what, window = _named(node, facts)
        out = _absent_cached(node, facts, f"{what}{window}", unresolved)
        if len(memo) < 64:  # unrecognised names come from profiles: bounded
            memo[key] = out
    return out


def _window_text(w: Window | None, facts: Facts) -> str:
    return f" within {w.describe()} before {facts.as_of.isoformat()}" if w else ""


def _named(node: Node, facts: Facts) -> tuple[str, str]:
    """What a condition or therapy rule names ("active HIV infection (except …)", "prior
    nivolumab") and its window text: built once per node and as-of date, not per patient."""
    texts = node.cache.get("named")
    if texts is None or texts[0] != facts.as_of:
        rule = node.rule
        if isinstance(rule, ConditionRule):
            info: ConditionInfo = node.info
            what = ("active " if rule.active else "") + info.concept.name
            if info.exceptions:
                what += " (except " + ", ".join(x.name for x in info.exceptions) + ")"
        else:
            what = "prior " + ", ".join(x.name for x in node.info)
        texts = (facts.as_of, what, _window_text(rule.within, facts))  # type: ignore[union-attr]
        node.cache["named"] = texts
    return texts[1], texts[2]


def _period(start: date | None, end: date | None) -> str:
    if start and end:
        return f" ({start.isoformat()} to {end.isoformat()})"
    if start:
        return f" (since {start.isoformat()})"
    if end:
        return f" (until {end.isoformat()})"
    return ""


def _may_be(label: str, name: str, ev: Evidence | None = None) -> Outcome:
    """An entry broader than the criterion, or coded without saying: a person decides."""
    return Outcome(
        U,
        f"{label} may or may not be {name}: the record does not say",
        (f"whether {label} is {name}",),
        (ev,) if ev else (),
    )


def condition_outcome(node: Node, facts: Facts, found: Finding) -> Outcome:
    case = found[1]
    if case == "unrecognised":
        return unrecognised_outcome(node, found)
    if case != "hit" and case != "unsure" and case != "no list" and not found[2]:
        return _none_recorded(node, facts, facts.unresolved_conditions)  # the usual case
    info: ConditionInfo = node.info
    c = info.concept
    what, window = _named(node, facts)
    if case == "no list":
        return _not_recorded("conditions", f"{what}{window}")
    entries = facts.patient.conditions or []

    def entry(i: int) -> tuple[str, str, Any]:
        e = entries[i]
        active = facts.conditions[i][3]  # type: ignore[index]
        status = "active" if active else "resolved"
        label = condition_label(e)
        return label, status, Evidence(f"$.conditions[{i}]", label, status, None, e.onset)

    if case == "hit":
        i, event = found[2], found[3]
        label, status, ev = entry(i)
        e = entries[i]
        when = f", onset {e.onset.isoformat()}" if event else _period(e.onset, e.end)  # type: ignore[union-attr]
        return Outcome(T, f"{label} recorded ({status}){when}{window}", (), (ev,))
    if case == "unsure":
        outs = []
        for why, i in found[2]:
            label, status, ev = entry(i)
            e = entries[i]
            if why == "maybe":
                outs.append(_may_be(label, c.name, ev))
            elif why == "maybe active":
                outs.append(
                    Outcome(
                        U,
                        f"{label} recorded: the code does not say whether the {c.name} is active",
                        (f"whether {label} is active {c.name}",),
                        (ev,),
                    )
                )
            elif why == "maybe excepted":
                # name only the exceptions its code leaves open (C56.9: not a skin cancer)
                maybe = [
                    x for x in info.exceptions if e.code is None or vocab.code_may_be(x.id, e.code)
                ]
                others = " or ".join(x.name for x in maybe or info.exceptions)
                outs.append(
                    Outcome(
                        U,
                        f"{label} recorded ({status}): it may be {others}, which the criterion"
                        " excepts",
                        (f"whether {label} is {others}",),
                        (ev,),
                    )
                )
            elif why == "history":
                outs.append(
                    Outcome(
                        U,
                        f"{label} recorded as resolved{_period(e.onset, e.end)}:"
                        f" whether a past {c.name} counts here is not in the words",
                        (f"whether the resolved {label} counts",),
                        (ev,),
                    )
                )
            elif why == "episode":
                days = vocab.episode_days(facts.conditions[i][0])  # type: ignore[index]
                outs.append(
                    Outcome(
                        U,
                        f"{label} recorded since {e.onset.isoformat()} with no end: an episode"  # type: ignore[union-attr]
                        f" lasts less than {days} days, so whether it is current is not known",
                        (f"end date of {label}",),
                        (ev,),
                    )
                )
            elif why == "no onset":
                outs.append(
                    Outcome(
                        U,
                        f"{label} recorded ({status}) without an onset date: when it "
                        f"happened decides{window}",
                        (f"onset date of {label}",),
                        (ev,),
                    )
                )
            else:
                outs.append(
                    Outcome(
                        U,
                        f"{label} resolved at an unknown date{window}",
                        (f"end date of {label}",),
                        (ev,),
                    )
                )
        return Outcome(U, join_reasons(outs), combine_missing(outs), combine_evidence(outs))
    absent = _absent_cached(node, facts, f"{what}{window}", facts.unresolved_conditions)
    if not found[2]:
        return absent
    notes, evidence = [], []
    for i, event in found[2]:
        label, status, ev = entry(i)
        e = entries[i]
        day = e.onset if event else e.end
        notes.append(
            f"{label} recorded ({status}), {'onset' if event else 'ended'} {day.isoformat()}, "  # type: ignore[union-attr]
            "before the window"
        )
        evidence.append(ev)
    return Outcome(
        absent.truth,
        f"{absent.reason}; " + "; ".join(dict.fromkeys(notes)),
        absent.missing,
        tuple(evidence),
    )


def therapy_outcome(node: Node, facts: Facts, found: Finding) -> Outcome:
    case = found[1]
    if case == "unrecognised":
        return unrecognised_outcome(node, found)
    concepts: tuple[vocab.Concept, ...] = node.info
    what, window = _named(node, facts)
    if case == "no list":
        return _not_recorded("treatments", f"{what}{window}")
    if case == "absent":
        return _none_recorded(node, facts, facts.unresolved_treatments)
    i = found[2]
    t = facts.patient.treatments[i]  # type: ignore[index]
    ev = Evidence(f"$.treatments[{i}]", t.name, "treatment", None, t.start)
    if case == "hit":
        return Outcome(T, f"received {t.name}{_period(t.start, t.end)}{window}", (), (ev,))
    if case == "undated":
        return Outcome(U, f"{t.name} recorded without dates{window}", (f"dates of {t.name}",))
    named = " or ".join(x.name for x in concepts)
    if case == "unknown name":
        return Outcome(
            U,
            f"{t.name} recorded{_period(t.start, t.end)}: a name the vocabulary does not know,"
            f" so it may be {named}{window}",
            (f"whether {t.name} is {named}",),
            (ev,),
        )
    return _may_be(t.name, named, ev)
