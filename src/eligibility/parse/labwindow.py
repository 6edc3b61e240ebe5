"""A lab's time window: "Hemoglobin ≥ 9 g/dL (within 14 days prior to randomization)", or a
lead-in "Laboratory values obtained ≤ 14 days prior to registration:" over a list of labs.

The window is cut off the words and the rest is read as usual; the window then goes on every
lab, vital and measure rule the rest gives, but only when the rest is wholly such rules joined
by ``all``/``any`` (no manual part, no other kind): the window's words are then the only words
the reading left out, and they can only be about those results. Anything else — a window on a
transfusion ("without transfusion within 14 days"), a repeat ("… and repeated on day 1"), "at
least 7 days apart", hours, a window relative to something not listed in ``_ANCHORS`` — is read
exactly as before, which keeps it manual. A window counted back from randomization,
registration, enrolment, study entry or the first dose is read against the screening (as-of)
date, and the rule's ``before`` keeps what the text said so that reasons name it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from eligibility import grammar, vocab
from eligibility.model import (
    AllRule,
    AnyRule,
    LabRule,
    MeasureRule,
    Rule,
    VitalRule,
    Window,
    WindowAnchor,
)
from eligibility.parse.base import may_hold

_STUDY = r"(?:the\s+)?(?:study|protocol|trial)"
_TREATMENT = r"(?:treatment|therapy|drug|medication|agent|intervention)"
_DAY1 = r"(?:cycle\s+1,?\s+day\s+1|day\s+1\s+of\s+cycle\s+1|C1D1)"
# what a window may count back from -> the rule's ``before``
_ANCHORS: tuple[tuple[str, WindowAnchor], ...] = (
    (r"randomi[sz]ation|being\s+randomi[sz]ed", "randomization"),
    (rf"(?:{_STUDY}\s+)?registration|being\s+registered", "registration"),
    (rf"(?:{_STUDY}\s+)?enrol(?:l)?ment|being\s+enrol(?:l)?ed|enrol(?:l)?ing", "enrollment"),
    (rf"(?:{_STUDY}\s+)?entry|entry\s+in(?:to)?\s+{_STUDY}|entering\s+{_STUDY}", "study entry"),
    (r"(?:the\s+)?screening(?:\s+visit)?", "screening"),
    (
        rf"(?:the\s+)?(?:day\s+of\s+)?(?:first|initial)\s+(?:{_STUDY}\s+)?(?:dose|dosing|infusion|"
        rf"administration|{_TREATMENT})(?:\s+of\s+(?:{_STUDY}\s+)?{_TREATMENT}s?)?(?:\s+on\s+{_DAY1})?"
        rf"(?:\s*\(C1D1\))?"
        rf"|(?:the\s+)?(?:start|initiation|beginning|commencement)\s+of\s+(?:{_STUDY}\s+)?"
        rf"(?:{_TREATMENT}|dosing)"
        rf"|(?:{_STUDY}\s+)?{_TREATMENT}(?:\s+(?:initiation|start))?"
        rf"|administration\s+of\s+(?:{_STUDY}\s+)?{_TREATMENT}s?"
        rf"|(?:taking|receiving|starting)\s+(?:{_STUDY}\s+)?{_TREATMENT}"
        rf"|{_DAY1}|(?:study\s+)?day\s+1",
        "first dose",
    ),
)
_ANCHOR = "|".join(f"(?P<a{i}>{p})" for i, (p, _) in enumerate(_ANCHORS))
_PHRASE = (
    r"(?i)(?P<open>[(\[]\s*)?"
    r"(?:(?:must\s+be\s+|to\s+be\s+|were\s+|are\s+|is\s+)?"
    r"(?:obtained|performed|done|measured|drawn|collected|assessed|tested|taken|determined)\s+)?"
    r"(?:within(?:\s+(?:the\s+)?(?:last|past|previous|preceding))?|≤|no\s+more\s+than"
    r"|in\s+the\s+(?:last|past))\s+"
    r"(?P<n>\d{1,3})\s*(?P<unit>days?|weeks?|months?)"
    rf"(?:\s+(?:prior\s+to|before|of|preceding)\s+(?:{_ANCHOR}))?"
    r"\s*(?P<close>[)\]])?"
)
_WINDOW = re.compile(_PHRASE + r"[\s.;,]*$")  # at the end of an item
_LEAD_WINDOW = re.compile(_PHRASE + r"(?=[\s.;,:]|$)")  # anywhere in a lead-in
# what the words before a window must end with: the end of a lab clause (a number, a unit, a
# limit of normal), never another noun ("without transfusion within 14 days")
_MAY_HAVE_ONE = re.compile(r"(?i)day|week|month")
_UNIT_WORDS = ("day", "week", "month")
# every match of ``_PHRASE`` holds one ("≤" is beyond ASCII: the text is then searched)
_PHRASE_WORDS = ("within", "more", "last", "past")
_CLAUSE_END = re.compile(r"(?i)(?:\d|%|\buln|\blln|\bnormal|\blimits?)\)?$")


def _found(
    text: str, pattern: re.Pattern[str] = _WINDOW
) -> tuple[str, Window, WindowAnchor | None] | None:
    """The words without the window, the window and what it counts back from, or None."""
    if not may_hold(text, _PHRASE_WORDS):
        return None
    m = pattern.search(text, _search_from(text))
    if m is None or bool(m.group("open")) != bool(m.group("close")):
        return None
    anchor = next((a for i, (_, a) in enumerate(_ANCHORS) if m.group(f"a{i}") is not None), None)
    unit = {"d": "days", "w": "weeks", "m": "months"}[m.group("unit")[0].lower()]
    n = int(m.group("n"))
    if n == 0:
        return None
    rest = (text[: m.start()].rstrip(" ,;:-–") + " " + text[m.end() :].lstrip(" ,;")).strip()
    return rest, Window(amount=n, unit=unit), anchor


# the keywords of ``_PHRASE``, lower-case with single spaces, and the most characters its words
# before one can take when every space is single: "[ " + "must be " + "determined "
_KEYS = ("within", "no more than", "in the last", "in the past")
_BEFORE_KEY = 21


def _search_from(text: str) -> int:
    """Where a search for ``_PHRASE`` may start: no match begins earlier than ``_BEFORE_KEY``
    characters before the first keyword when the text is ASCII, printable (no tab, form feed or
    other control character) and without double spaces; otherwise at 0. Why: the pattern opens
    with optional words, so a search tries every position of the text."""
    if not (text.isascii() and text.isprintable()) or "  " in text:
        return 0
    low = text.lower()
    at = [k for k in map(low.find, _KEYS) if k >= 0]
    return max(0, min(at) - _BEFORE_KEY) if at else len(text)


def _may_have_one(text: str) -> bool:
    """``_MAY_HAVE_ONE.search(text)``, by substring tests where they give the same answer."""
    return may_hold(text, _UNIT_WORDS) and _MAY_HAVE_ONE.search(text) is not None


@lru_cache(maxsize=1024)  # every item under a lead-in asks again
def _lead_window(context: str) -> tuple[str, Window, WindowAnchor | None] | None:
    """The window of a lead-in (``_found`` over it, normalised), or None."""
    return _found(grammar.normalise(context), _LEAD_WINDOW)


def _ends_a_clause(words: str) -> bool:
    tail = words.rstrip(" ,;:-–").rsplit(None, 1)[-1] if words.strip() else ""
    if not tail:
        return False
    if _CLAUSE_END.search(tail):
        return True
    return vocab.unit(re.sub(r"^[\d.,]+", "", tail)) is not None


def _windowed(rule: Rule, window: Window, anchor: WindowAnchor | None) -> Rule | None:
    """The rule with the window on every numeric leaf, or None when any part is not one."""
    if isinstance(rule, AllRule | AnyRule):
        kids = [_windowed(r, window, anchor) for r in rule.rules]
        if any(k is None for k in kids):
            return None
        return rule.model_copy(update={"rules": kids})
    if isinstance(rule, LabRule | VitalRule | MeasureRule) and rule.within is None:
        return rule.model_copy(update={"within": window, "before": anchor})
    return None


def read(text: str, context: str | None, parse: Callable[[str, str | None], Rule]) -> Rule:
    """The criterion's rule, with a window read where it can be (``parse(text, context)`` is
    the ordinary reading)."""
    plain = parse(text, context)
    if not _may_have_one(text) and not (context and _may_have_one(context)):
        return plain  # (nearly every criterion: no regex search of the whole text)
    if context:
        found = _lead_window(context)
        if found is not None:
            # the lead-in without its window must still be mere list glue (``parse`` says)
            rest, window, anchor = found
            lead = rest if rest.strip(" :") else None
            return _windowed(parse(text, lead), window, anchor) or plain
    norm = grammar.normalise(text)
    found = _found(norm)
    if found is None or not _ends_a_clause(found[0]):
        return plain
    rest, window, anchor = found
    return _windowed(parse(rest, context), window, anchor) or plain
