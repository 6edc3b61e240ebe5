"""Section headings and criteria blocks: where a record's inclusion and exclusion text lie.

Why apart from the record formats: every format (text pages, API JSON, corpus lines) ends in the
same search for heading lines, and the splitter reads headings again inside a block
(``heading_kind``, ``heading_prefix``, ``heading_group``); neither needs to know how a file was
read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict

from eligibility.model import Section

HeadingKind = Literal["inclusion", "exclusion", "neutral"]


class Block(BaseModel):
    """One inclusion or exclusion block: ``text[start:end]`` of its record. ``group`` is the
    heading line when it names whom the block is for ("EXCLUSION CRITERIA - Donor:")."""

    section: Section
    start: int
    end: int
    group: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True)


# Possessive quantifiers: runs of "*" or "#" must not be retried split many ways.
_DECOR_LEFT = (
    r"^[\s#>*_]*+(?:[-•·]\s++)?"
    r"(?:(?:\d{1,2}(?:\.\d{1,2})*|[IVX]{1,4}(?:\.[IVX]{1,4})*)[.)]?\s++)?[*_]*+"
)
_DECOR_RIGHT = r"[*_\s]*+(?P<colon>:)?[*_\s]*+$"
_KEYWORDS = ("inclu", "exclu", "criteri", "eligib", "required", "allowed")
_KEYWORD_RE = re.compile("|".join(_KEYWORDS), re.IGNORECASE)
_HEADING_RE = re.compile(
    _DECOR_LEFT + r"(?P<pre>(?:[^\W\d_][\w'/-]*\s+){0,3}?)"
    r"(?P<kind>non-?inclusion|in-?eligibility|inclusion\s*(?:/|and|&|or)\s*exclusion|inclusions?|exclusions?"
    r"|eligibility|criteria)"
    r"(?:\s+(?:criteria|criterion|conditions|requirements))?"
    r"(?P<post>(?:\s*[-–(]|\s+(?:for|in|of|to|are|include|includes)\b)[^:\n]{0,60})?"
    + _DECOR_RIGHT,
    re.IGNORECASE,
)
_HEADING_PREFIX_RE = re.compile(
    _DECOR_LEFT + r"(?:key\s+)?(?P<kind>inclusion|exclusion)\s+criteria[*_]*\s*:[*_]*(?=\s*\S)",
    re.IGNORECASE,
)
_CRITERIA_FOR_RE = re.compile(
    _DECOR_LEFT + r"criteria\s+for\s+(?P<kind>inclusion|exclusion)" + _DECOR_RIGHT, re.IGNORECASE
)
_BARE_RE = re.compile(
    _DECOR_LEFT + r"(?P<kind>excluded|included|required|allowed)\s*:\s*$", re.IGNORECASE
)
_EXCLUDED_LEAD_RE = re.compile(
    r"^\s*(?:-\s+)?(?:patients|subjects|participants|persons|individuals)\s+with\s+the\s+following"
    r"\b[^:\n]{0,60}?\s+(?:are|will\s+be)\s+excluded\s*:\s*$",
    re.IGNORECASE,
)
# "Patients must qualify as follows:" in old NCI records opens the requirements, even inside
# an exclusion field ("Patients must not have:" opens exclusions).
_REQUIRED_LEAD_RE = re.compile(
    r"^\s*(?:patients|subjects|participants)\s+must\s+(?P<no>not\s+)?"
    r"(?:have|qualify|meet|fulfil|fulfill)\b(?:\s+(?:as\s+follows|the\s+following"
    r"(?:\s+criteria)?))?\s*:\s*$",
    re.IGNORECASE,
)
_PAREN_POST_RE = re.compile(r"\s*\([^()]{1,60}\)")
# Words that make "… inclusion criteria" a sentence about the criteria, not a heading.
_NOT_HEADING_WORDS = frozenset(
    {"not", "no", "meet", "meets", "meeting", "met", "fail", "fails", "failure", "see", "under"}
    | {"the", "all", "any", "listed", "with", "of", "to", "who", "that", "which", "must"}
)


def heading_kind(line: str) -> HeadingKind | None:
    """Classify a whole line as a section heading: inclusion, exclusion, neutral, or not one.

    ``neutral`` headings ("Eligibility Criteria:", "INCLUSION/EXCLUSION CRITERIA:") are not
    criteria but do not change the section.
    """
    ascii_ = line.isascii()
    low = line.lower() if ascii_ else ""
    # (on ASCII text a match holds "must" in some case; most lines do not)
    m = _REQUIRED_LEAD_RE.match(line) if not ascii_ or "must" in low else None
    if m:
        return "exclusion" if m.group("no") else "inclusion"
    if len(line) > 160:
        return None
    if ascii_:  # the same answer as the pattern on ASCII text, without the regex
        for k in _KEYWORDS:  # (a loop: cheaper than ``any`` over a generator)
            if k in low:
                break
        else:
            return None
    elif _KEYWORD_RE.search(line) is None:
        return None
    m = _CRITERIA_FOR_RE.match(line)
    if m:
        return "inclusion" if m.group("kind").lower() == "inclusion" else "exclusion"
    m = _HEADING_RE.match(line)
    if m:
        pre = m.group("pre").split()
        if any(w.lower() in _NOT_HEADING_WORDS for w in pre):
            return None
        colon = m.group("colon") is not None
        post = m.group("post")
        # "Exclusion Criteria (All Participants)" (NCT03369600) is a heading without its colon;
        # "Exclusion criteria for the study include …" is a sentence.
        if post and not colon and post.strip() in ("-", "–", "—"):
            post = None  # "Exclusion -" (NCT05973773): a dash for the colon
        if post and not colon and (pre or not _PAREN_POST_RE.fullmatch(post)):
            return None
        kind = m.group("kind").lower()
        if kind.startswith(("non", "in-", "inel")):  # "Ineligibility Criteria"
            return "exclusion"
        if kind == "criteria" and len(pre) == 1 and (fixed := _misspelt(pre[0])) is not None:
            return fixed  # "Exlcusion Criteria:" (NCT00005778, fresh audit 41)
        if "/" in kind or " " in kind or "&" in kind or kind in ("eligibility", "criteria"):
            return "neutral" if (colon or not pre) else None
        return "inclusion" if kind.startswith("inclusion") else "exclusion"
    m = _BARE_RE.match(line)
    if m:
        return "exclusion" if m.group("kind").lower() == "excluded" else "inclusion"
    if _EXCLUDED_LEAD_RE.match(line):
        return "exclusion"
    return None


def _misspelt(word: str) -> HeadingKind | None:
    """The section a heading word one letter off names ("Exlcusion", "Inclsion")."""
    low = word.lower()
    for right in ("exclusion", "inclusion"):
        if low != right and low[0] == right[0] and _edits(low, right) == 1:
            return right  # type: ignore[return-value]
    return None


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance (a swap of two letters is one edit)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


# Words after "… criteria" that name no group ("Inclusion criteria are:", "… for this study:").
_GROUP_GLUE = frozenset(
    [
        # "Exclusion Criteria - General exclusion:", "Key inclusion criteria (additional):"
        "general",
        "key",
        "additional",
        "other",
        "main",
        "major",
        "specific",
        "common",
        "basic",
        "overall",
        "standard",
        "are",
        "is",
        "include",
        "includes",
        "the",
        "study",
        "trial",
        "all",
        # "Exclusion Criteria (both groups)" (NCT03869281): everyone's
        "both",
        "groups",
        "cohorts",
        "arms",
        "patients",
        "patient",
        "participants",
        "participant",
        "subjects",
        "subject",
        "for",
        "of",
        "in",
        "to",
        "this",
        "protocol",
        "following",
        "as",
        "follows",
        "will",
        "be",
        "must",
        "meet",
        "criteria",
        "inclusion",
        "exclusion",
        "and",
        "any",
        "a",
        "an",
        "who",
        "entry",
        "enrollment",
        "enrolment",
        "registration",
        "eligibility",
        "populations",
        "population",
    ]
)


def heading_group(line: str) -> str | None:
    """The heading line when it names whom its criteria are for ("INCLUSION CRITERIA - Donor:",
    "Exclusion criteria for controls:"), else None: such criteria may not apply to the patient."""
    if heading_kind(line) not in ("inclusion", "exclusion"):
        return None
    bare = _BARE_RE.match(line)
    if bare and bare.group("kind").lower() == "allowed":
        # "Allowed: - Basal cell carcinoma of the skin, …": what a patient may have, never what
        # every patient must have (read as requirements they failed everyone; fresh audit 13)
        return line.strip()
    m = _HEADING_RE.match(line)
    if m is None or not m.group("post"):
        return None
    words = [w.lower() for w in re.findall(r"[A-Za-z]{2,}", m.group("post"))]
    return line.strip() if any(w not in _GROUP_GLUE for w in words) else None


def heading_prefix(line: str) -> tuple[Section, int] | None:
    """For "Inclusion Criteria: text…" on one line: the section and where the heading ends."""
    head = line[:300]
    if head.isascii() and "criteria" not in head.lower():  # (what every match holds)
        return None
    m = _HEADING_PREFIX_RE.match(head)
    if m is None:
        return None
    section: Section = "inclusion" if m.group("kind").lower() == "inclusion" else "exclusion"
    return section, m.end()


def _line_section(line: str) -> HeadingKind | None:
    kind = heading_kind(line)
    if kind is not None:
        return kind
    pre = heading_prefix(line)
    return pre[0] if pre else None


def _iter_lines(text: str, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each line in text[lo:hi], end excluding the newline."""
    pos = lo
    while pos < hi:
        nl = text.find("\n", pos, hi)
        end = hi if nl < 0 else nl
        yield pos, end
        pos = end + 1


def _content(text: str, s: int, e: int) -> tuple[int, int]:
    """Offsets of text[s:e] without surrounding whitespace (empty span at s when blank)."""
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


_BULLET_RE = re.compile(r"^\s*(?:[-•·*]|\d{1,2}[.)])\s")
# A section heading at the end of a line after a full stop ("… prior immunotherapy. Exclusion
# Criteria"): the heading capitalised as one, with nothing after it.
_GLUED_HEADING = re.compile(
    r"[.;]\s+((?:Exclusion|EXCLUSION|Inclusion|INCLUSION) (?:Criteria|CRITERIA))\s*:?\s*$"
)


# "-  Age 18-30 Exclusion Criteria", "Able to provide informed consent Exclusion Criteria" (fresh
# audit 51): the other section's heading glued to an item with no stop between; not "any of the
# Exclusion Criteria", "as listed under Inclusion Criteria"
_GLUED_BARE = re.compile(
    r"(?<=[\w)%])\s+((?:Exclusion|EXCLUSION|Inclusion|INCLUSION) (?:Criteria|CRITERIA))\s*:?\s*$"
)
_NOT_GLUED = re.compile(
    r"(?i)\b(?:the|all|any|of|per|see|these|following|above|below|listed|in|under|meet|meets"
    r"|meeting|met|other|and|or|no|and/or)\s*$"
)


def _glued_heading(line: str, section: Section) -> re.Match[str] | None:
    glued = _GLUED_HEADING.search(line)
    if glued is not None:
        return glued
    bare = _GLUED_BARE.search(line)
    if bare is None or _NOT_GLUED.search(line[: bare.start()]):
        return None
    other = "exclusion" if bare.group(1)[0] in "Ee" else "inclusion"
    return bare if other != section else None


def find_blocks(
    text: str, lo: int = 0, hi: int | None = None, *, leading: Section | None = "inclusion"
) -> list[Block]:
    """Split ``text[lo:hi]`` into inclusion/exclusion blocks at section heading lines.

    Text before the first section heading becomes a ``leading`` block, or is skipped as preamble
    when ``leading`` is None.
    """
    hi = len(text) if hi is None else hi
    blocks: list[Block] = []
    section: Section | None = None
    outer: Section | None = None  # the section of the last heading that was not a bare one
    bare = bulleted = False  # under "Required:"/"Excluded:"; its items so far were bulleted
    group: str | None = None
    outer_group: str | None = None  # the group of the last heading that was not a bare one
    allowed = False  # under a bare "Allowed:": its items are permissions
    allowed_bullet: str | None = None
    start = 0
    last_end = 0
    for ls, le in _iter_lines(text, lo, hi):
        cs, ce = _content(text, ls, le)
        if cs == ce:
            continue
        line = text[cs:ce]
        kind = _line_section(line)
        if kind == "inclusion" or kind == "exclusion":
            if section is not None:
                blocks.append(Block(section=section, start=start, end=last_end, group=group))
            section, start = kind, cs
            bare, bulleted = _BARE_RE.match(line) is not None, False
            outer = outer if bare else kind
            if not bare:
                outer_group = heading_group(line)
            allowed = bare and heading_group(line) is not None
            group = heading_group(line) if allowed else outer_group
            # "-  Allowed:" with its items nested below it: a line at the heading's own bullet
            # ends the list
            lead = text[ls:cs] + (line[:2] if _BULLET_RE.match(line) else "")
            allowed_bullet = lead if allowed and _BULLET_RE.match(line) else None
        elif section is None and leading is not None:
            section, start = leading, cs
            outer = section
        elif allowed and allowed_bullet is not None and text[ls:cs] + line[:2] == allowed_bullet:
            blocks.append(Block(section=section, start=start, end=last_end, group=group))  # type: ignore[arg-type]
            section, start, bare, allowed, group = outer, cs, False, False, outer_group  # type: ignore[assignment]
        elif bare and _BULLET_RE.match(line):
            bulleted = True
        elif (
            bare
            and bulleted
            and kind is None
            and outer is not None
            and (section != outer or allowed)
            and not _BULLET_RE.match(line)
        ):
            # Old NCI records: "Required: - At least 10 days of acyclovir." then "Substance
            # abuse." unbulleted: the bare heading's list has ended, the field's section resumes
            blocks.append(Block(section=section, start=start, end=last_end, group=group))  # type: ignore[arg-type]
            section, start, bare, allowed, group = outer, cs, False, False, outer_group
        last_end = ce
        glued = _glued_heading(line, section) if section is not None and kind is None else None
        if glued is not None:
            # "-  At least 4 weeks since other prior immunotherapy. Exclusion Criteria": the
            # source lost the line break before the heading
            cut = end = cs + glued.start(1)
            while end > start and text[end - 1].isspace():
                end -= 1  # (the block ends at its last character, not the space before the heading)
            blocks.append(Block(section=section, start=start, end=end, group=group))  # type: ignore[arg-type]
            found = "exclusion" if glued.group(1)[0] in "Ee" else "inclusion"
            section, start, bare, allowed, group = found, cut, False, False, None  # type: ignore[assignment]
            outer, outer_group = section, None
    if section is not None:
        blocks.append(Block(section=section, start=start, end=last_end, group=group))
    return blocks


# A line that introduces a list: "… the following:", "… as follows", "… any of".
_LEAD_IN_RE = re.compile(
    r"(?:\bthe\s+following(?:\s+[\w-]+){0,3}|\bas\s+follows|\b(?:any|one|all|each|both)\s+of"
    r"|\bfollowing\s+(?:requirements|criteria|conditions))[\s*_]*[:.]?[\s*_]*$",
    re.IGNORECASE,
)


def looks_like_lead_in(text: str) -> bool:
    """True for text that introduces a list: ends with ":" or with "the following …"."""
    tail = text[-160:].rstrip(" \t\n*_")
    if tail.endswith(":"):
        return True
    low = tail.lower()  # every reading of _LEAD_IN_RE holds "follow" or "of": most lines neither
    if "follow" not in low and tail.isascii():  # (case folding beyond ASCII: the pattern's)
        # then only "… any of", "… one of" can be read, and nothing but spaces, "*", "_" and
        # one ":" or "." may follow it ("of" is in most lines, at their end in few)
        end = len(low)
        while end and (low[end - 1] in "*_:." or low[end - 1].isspace()):
            end -= 1
        if not low.endswith("of", 0, end):
            return False
    return ("follow" in low or "of" in low) and _LEAD_IN_RE.search(tail) is not None
