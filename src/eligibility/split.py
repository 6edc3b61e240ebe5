"""Split criteria blocks into single criteria, keeping each one's exact place in the source.

Every non-blank character of a block ends up in exactly one segment, or in a list marker (a
bullet such as ``-`` or a label such as ``6)``) that sits between segments, so no word of the
record is lost. Segments are criteria, headings ("Inclusion Criteria:", "DISEASE
CHARACTERISTICS:") or lead-ins ("… meet the following requirements"); only criteria are to be
parsed, the other two are returned so that the text is accounted for and so children can cite
them as context.

The rules, in the order they apply:

1. Lines. A line starting with a bullet (``- * • ·`` …) or a label (``1.`` ``1)`` ``(1)``
   ``a)`` ``iv.`` ``2.1.``, markdown-escaped ``1\\)`` too) starts an item. A plain line starts
   an item too, unless it continues the previous one: it starts with a lower-case letter (or
   "(" and one) after a line that does not end in ``. ; : ! ?``, or it is indented under a
   bulleted line.
2. Nesting. An item is the sibling of the nearest open item with the same marker style and
   indentation; otherwise it is a child of the item above it. Plain lines are children only of a
   lead-in (a line ending with ":" or "the following …").
3. Inline labels. Inside an item, ``N)`` ``(N)`` ``N.`` start a new item only when N continues an
   open list of the same style (the label sequence must increase by one, so "T3", "1.5",
   "RECIST1.1", "HIV1/2" never split) and the label follows the start, white space, ``;`` or
   ``:``. ``N.`` also needs a preceding ``. ; :``; a bare ``N)`` after a word needs balanced
   parentheses before it. A continued outer list closes the inner ones, so "5. … 7) …" goes back
   to the top level. A new list may start inline only right after ":" with "1" when a "2"
   follows.
4. Semicolons. An item is split at ``;`` (outside parentheses) only when it is a list: a sub-item,
   or a top-level item with at least three pieces, and only when every piece has at least two
   words, none starts with a joining word ("or", "and", "unless", "except", …) or with a limit
   that has no subject ("≤ 5 × ULN in patients with …") and none holds a ":" (as in "Phase II:
   …; Phase III: …"). Each piece keeps its ``;``.
5. Kinds. Heading lines are ``heading``, and so is an unbulleted label of at most four words
   ending in ":" with nothing under it before the next heading ("Prior Medication:" then
   "Excluded:"); an item with children that reads as a lead-in is ``lead_in``; everything
   else, including a longer line ending in ":" that has no children, is a ``criterion``.
   ``context`` is the parent's text unless the parent is a heading.
6. Joined lines. A criterion ending with a connective ("… ≤ 1.5 mg/dL OR", "…; or", "and,",
   "and/or") is joined with the next one, and one starting with a connective ("OR …", "and …",
   a line "OR" alone) with the one before, across a bullet or a label too, when both are
   criteria of the same list (same parent, no children): one criterion whose span covers both,
   with the first one's label; ``parts`` keeps the pieces' spans, and ``reading`` is the
   criterion without the markers between them. A plain line that only continues the one above
   (a bare number or range such as "1" after "ECOG 0", a lone unit, or one starting with a
   comparator after a line with no end punctuation) joins it as in rule 1. Where a link cannot
   be joined (the neighbour is at another level, has items under it, a bare number is a bullet
   of its own, or an exclusion item ends or starts with "and", which may be the list's own
   "and") the neighbours are marked ``linked``: they are to be read by a person, never on their
   own. A sub-item ending with a connective before an item of an outer level links its parents
   up to that level as well ("- CLL" / "  - … OR" / "- indolent NHL").
7. Inline lists. A criterion holding a lead-in with its first item after the colon ("The
   following not considered measurable: bone lesions …", one item, no comma list) and followed
   by sibling items that are bare noun phrases ("Pleural effusion") is a list the source
   flattened: the phrases may be its items, so all of them are marked ``linked``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from eligibility.headings import Block, heading_kind, heading_prefix, looks_like_lead_in
from eligibility.ingest import TrialRecord
from eligibility.model import Section
from eligibility.normalize import ENTITY

SegmentKind = Literal["criterion", "heading", "lead_in"]

__all__ = ["Segment", "SegmentKind", "looks_like_lead_in", "split_block", "split_record"]


class Segment(BaseModel):
    """One piece of a block: ``text == record.text[start:end]``, marker and outer spaces trimmed.

    ``parent`` is the index (in the same list) of the heading or item this one is nested under;
    ``label`` is the source numbering ("6)", "1.") when the piece starts with one. A criterion
    joined from list items linked by "or"/"and" has their spans in ``parts`` (empty otherwise);
    ``linked`` marks a criterion linked to a neighbour it could not be joined with.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    section: Section
    kind: SegmentKind
    start: int
    end: int
    text: str
    label: str | None = None
    context: str | None = None
    parent: int | None = None
    parts: tuple[tuple[int, int], ...] = ()
    linked: bool = False

    @property
    def reading(self) -> str:
        """The text to parse: the joined parts without the list markers between them.

        The punctuation after a part's closing connective goes too ("… mg/dL OR;" + "…" reads
        "… mg/dL OR …"): a ";" there would make the parser read two sentences joined by the
        section's default, an "and" where the source says "or".
        """
        if not self.parts:
            return self.text
        pieces = [self.text[s - self.start : e - self.start] for s, e in self.parts]
        for k, piece in enumerate(pieces[:-1]):
            m = _ENDS_LINKED_RE.search(piece)
            if m is not None:
                pieces[k] = piece[: m.start()] + m.group(1)
        return " ".join(pieces)


# --------------------------------------------------------------------------- patterns

_BULLET_RE = re.compile(r"(?:\\?[-*+]|[•·‣◦▪▫●○■□➢►–—])(?=\s|$)")
_LABEL_RE = re.compile(
    r"\((?P<p>\d{1,3}|[A-Za-z]|[ivxIVX]{2,6})\)"
    r"|(?P<m>\d{1,3}(?:\.\d{1,3})+)\\?[.)]"
    r"|(?P<n>\d{1,3}|[A-Za-z]|[ivxIVX]{2,6})\\?(?P<d>[.)])"
)
_INLINE = (
    r"(?:\((?P<p>\d{1,2}|[A-Za-z]|[ivxIVX]{2,6})\)"
    r"|(?P<n>\d{1,2}|[A-Za-z]|[ivxIVX]{2,6})\\?(?P<d>[.)]))"
)
_INLINE_RE = re.compile(r"(?<![^\s;:])" + _INLINE)
# The same labels, found by the space, ";" or ":" before them: a pattern that starts with a
# character class is scanned for it at C speed, one that starts with a look-behind is tried at
# every character. Each label found is then matched by _INLINE_RE where it starts.
_INLINE_AFTER = re.compile(r"[\s;:]" + _INLINE)
_WORD_RE = re.compile(r"[^\W_]+")
_ENTITY_RE = re.compile(ENTITY)
_LETTERS2_RE = re.compile(r"[^\W\d_]{2}")
# A ";" piece starting like this continues a sentence (a limit with no subject: "AST/ALT ≤ 3 ×
# ULN; ≤ 5.0 × ULN in patients with liver metastases"); one holding ":" has its own structure.
_CONTINUATION_RE = re.compile(
    r"(?:or|and|but|nor|unless|except|if|then|which|who|that|including|i\.e\.|e\.g\.)\b|[<>≤≥=]"
    r"|&[lg]t|(?:up to|no (?:more|greater|less) than|not (?:more|greater) than)\b",
    re.IGNORECASE,
)
# "History of other malignancies, except for …, basal cell carcinoma …; non-muscle invasive
# bladder cancer; malignancy treated with curative intent …" (fresh audit 79)
_EXCEPT_RE = re.compile(
    r"\b(?:except|excepting|excluding|other\s+than|apart\s+from|with\s+the\s+exceptions?\s+of)\b",
    re.IGNORECASE,
)
# The "No" of a ";" list's first piece may reach the later ones (NCT00001629, fresh audit 85)
_NEGATED_LEAD_RE = re.compile(r"(?:no|not|non|none|without|never|absence\s+of)\b", re.IGNORECASE)
_ENUMERATED_RE = re.compile(r"\(?\d{1,2}\s*[.)]")  # "…; 15. Pregnant or lactating women."
# A criterion linked to its neighbour: ends with "or"/"and"/"and/or" (maybe before ; , . :), or
# starts with one.
_ENDS_LINKED_RE = re.compile(r"(?<![^\W_])(or|and|and/or|either)[\s;,.:]*$", re.IGNORECASE)
_STARTS_LINKED_RE = re.compile(r"(?:or|and/or|and)(?![^\W_])", re.IGNORECASE)
# A lead-in inside a line, with its first item after the colon ("The following not considered
# measurable: Bone lesions …"); and a bare noun phrase, which may be one more item of that list.
_INLINE_LEAD_IN_RE = re.compile(
    r"\bthe\s+following(?:\s+[\w-]+){0,4}\s*:\s*[^\W_]"
    r"|\b(?:any|one|all|each|both|either)\s+of\s+the\s+following(?:\s+[\w-]+){0,3}\s*:\s*[^\W_]",
    re.IGNORECASE,
)
_LIST_ON_LINE_RE = re.compile(r"[,;.]|[.;]$")
_STATEMENT_RE = re.compile(
    r"\b(?:no|not|non|none|must|required|requires?|allowed|permitted|eligible|ineligible|excluded"
    r"|at\s+least|since|within|prior|previous|history|greater|less|more|than|under|over|age[ds]?"
    r"|only|unless|except|if|and|or|normal|adequate|negative|positive)\b|[<>≤≥=:;\d]",
    re.IGNORECASE,
)
# A line that can only continue the one above: a bare number or range, a lone unit, a comparator.
_NUM = r"[-–~]?\s*\d+(?:[.,]\d+)?(?:\s*(?:-|–|~|to)\s*\d+(?:[.,]\d+)?)?"
_ULN = r"(?:[x×*]\s*)?(?:ULN|LLN|upper\s+limit\s+of\s+normal)"
_UNIT = rf"{_ULN}|%|[A-Za-zµμ^0-9]*/[A-Za-zµμ^0-9.]+|mmHg|mg|g|years?|months?|weeks?|days?"
_BARE_RE = re.compile(rf"(?:{_NUM}(?:\s*(?:{_UNIT}))?|{_ULN})\s*[.;,)]*", re.IGNORECASE)
_COMPARATOR_START_RE = re.compile(r"\\?[<>≤≥=]|&(?:[lg]te?|[lg]t);|&\s?(?:gt|lt|ge|le);", re.I)
_PROTOCOL_DEFINED_RE = re.compile(r"\bprotocol[- ]defined\b", re.IGNORECASE)
_NCI_HEADINGS = frozenset(
    {"disease characteristics", "patient characteristics", "prior concurrent therapy"}
)
_ROMAN = {
    "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10,
    "xi": 11, "xii": 12, "xiii": 13, "xiv": 14, "xv": 15, "xvi": 16, "xvii": 17, "xviii": 18,
    "xix": 19, "xx": 20,
}  # fmt: skip

_MAX_DEPTH = 12

Style = tuple[str, str]
Option = tuple[Style, int | None]


def _is_heading(line: str) -> bool:
    if heading_kind(line) is not None:
        return True
    if len(line) > 80:
        return False
    bare = line.strip(" \t*_#").rstrip(":").strip(" \t*_").lower()
    if bare in _NCI_HEADINGS:
        return True
    if not line.rstrip(" *_").endswith(":") or any(c.isdigit() for c in line):
        return False
    words = [w for w in _WORD_RE.findall(line) if len(w) >= 2]
    letters = [c for c in line if c.isalpha()]
    return 2 <= len(words) <= 8 and all(c.isupper() for c in letters)


def _options(token: str, form: str) -> list[Option]:
    """Readings of a label token: "3" is a number; "i" is a letter or a roman numeral."""
    if token.isdigit():
        return [(("num", form), int(token))]
    case = "u" if token.isupper() else "l"
    opts: list[Option] = []
    roman = _ROMAN.get(token.lower())
    if roman is not None and token.isalpha() and (token.islower() or token.isupper()):
        opts.append(((f"roman_{case}", form), roman))
    if len(token) == 1:
        opts.append(((f"alpha_{case}", form), ord(token.lower()) - 96))
    return opts


def _inline_labels(text: str, cs: int, ce: int) -> list[re.Match[str]]:
    """The matches of ``_INLINE_RE.finditer(text, cs, ce)`` that start after ``cs``."""
    return [
        m
        for found in _INLINE_AFTER.finditer(text, cs, ce)
        if (m := _INLINE_RE.match(text, found.start() + 1, ce)) is not None
    ]


def _nontrivial(piece: str) -> bool:
    return len(_WORD_RE.findall(piece)) >= 2 and _LETTERS2_RE.search(piece) is not None


def _indent(text: str, start: int, end: int) -> int:
    width = 0
    for ch in text[start:end]:
        width += 4 if ch == "\t" else 1
    return width


def _is_bare(text: str, start: int, end: int) -> bool:
    """A bare number or range ("1", "0-1", "1.5 mg/dL;") or a lone unit ("× ULN", "mg/dL")."""
    if _BARE_RE.fullmatch(text, start, end) is not None:
        return True
    if not 2 <= end - start <= 24 or not any(c.isalpha() for c in text[start:end]):
        return False
    from eligibility.grammar import _unit_re  # the vocabulary's units; loaded on first use

    m = _unit_re().match(text, start, end)
    return m is not None and not text[m.end() : end].strip(" .;,)")


def _is_fragment(text: str, start: int, end: int) -> bool:
    """A line that cannot stand alone: bare (see ``_is_bare``) or starting with a comparator."""
    return _is_bare(text, start, end) or _COMPARATOR_START_RE.match(text, start, end) is not None


def _is_phrase(text: str, seg: _Seg) -> bool:
    """A short bare noun phrase ("Pleural effusion"): no verb of requirement, no number, no
    full stop (a sentence of its own)."""
    body = text[seg.start : seg.end].rstrip()
    return (
        body[:1].isupper()
        and len(body.split()) <= 12
        and not _LIST_ON_LINE_RE.search(body)
        and _STATEMENT_RE.search(body) is None
    )


def _ends_linked(text: str, start: int, end: int) -> str | None:
    """The connective ``text[start:end]`` ends with, lower-cased (only its tail is searched)."""
    # the look-behind sees the character before the tail, so "xor" is not cut to "or"
    m = _ENDS_LINKED_RE.search(text, max(start, end - 24), end)
    return None if m is None else m.group(1).lower()


def _starts_linked(text: str, start: int, end: int) -> str | None:
    """The connective ``text[start:end]`` starts with, lower-cased ("and/or" included)."""
    m = _STARTS_LINKED_RE.match(text, start, end)
    return None if m is None else m.group().lower()


# --------------------------------------------------------------------------- state


@dataclass(slots=True)
class _Level:
    """An open list level: its marker style, last label value and the item children attach to."""

    indent: int
    style: Style | None
    last: int | None
    item: int | None
    lead_in: bool
    child_mode: str | None = None


@dataclass(slots=True)
class _Line:
    """A logical line: content span (marker excluded) plus what its start looked like."""

    start: int
    end: int
    indent: int
    content: int
    bullet: str | None
    label: str | None
    options: list[Option]
    heading: bool = False
    blank_before: bool = False
    after_bullet: int = 0
    multi_letter: bool = False


@dataclass(slots=True)
class _Seg:
    start: int
    end: int
    kind: SegmentKind
    label: str | None
    parent: int | None
    plain: bool = False


class _Splitter:
    def __init__(self, text: str, block: Block) -> None:
        self.text = text
        self.block = block
        self.segs: list[_Seg] = []
        self.stack: list[_Level] = [_Level(-1, None, None, None, False)]

    # ----------------------------------------------------------------- lines

    def _line(self, cs: int, ce: int, indent: int, blank: bool) -> _Line:
        """A line item with its marker (bullet and/or label) read from its start."""
        text = self.text
        pos = cs
        bullet = None
        m = _BULLET_RE.match(text, pos, ce)
        if m:
            bullet = m.group().lstrip("\\")
            pos = m.end()
            while pos < ce and text[pos].isspace():
                pos += 1
        line = _Line(cs, ce, indent, pos, bullet, None, [], False, blank, pos)
        m = _LABEL_RE.match(text, pos, ce)
        if m is None:
            return line
        after = m.end()
        nxt = text[after] if after < ce else " "
        token = m.group("p") or m.group("n") or ""
        numeric = m.group("m") is not None or token.isdigit()
        if not (nxt.isspace() or (numeric and nxt.isalpha())):
            return line
        if m.group("m"):
            opts: list[Option] = [(("multi", ")" if m.group().endswith(")") else "."), None)]
        else:
            opts = _options(token, "()" if m.group("p") else m.group("d"))
        if not opts:
            return line
        content = after
        while content < ce and text[content].isspace():
            content += 1
        line.content, line.label, line.options = content, m.group().replace("\\", ""), opts
        line.multi_letter = len(token) > 1
        return line

    def _lines(self) -> list[_Line]:
        text, block = self.text, self.block
        out: list[_Line] = []
        pos, hi = block.start, block.end
        blank = False
        while pos <= hi:
            nl = text.find("\n", pos, hi)
            le = hi if nl < 0 else nl
            ls = pos
            pos = le + 1
            cs, ce = ls, le
            while cs < ce and text[cs].isspace():
                cs += 1
            while ce > cs and text[ce - 1].isspace():
                ce -= 1
            if cs == ce:
                blank = True
                if nl < 0:
                    break
                continue
            indent = _indent(text, ls, cs)
            line = text[cs:ce]
            if _is_heading(line):
                out.append(_Line(cs, ce, indent, cs, None, None, [], True, blank, cs))
            elif (prefix := heading_prefix(line)) is not None:
                out.append(_Line(cs, cs + prefix[1], indent, cs, None, None, [], True, blank, cs))
                rs = cs + prefix[1]
                while text[rs].isspace():
                    rs += 1
                out.append(self._line(rs, ce, indent + 1, False))
            else:
                item = self._line(cs, ce, indent, blank)
                prev = out[-1] if out else None
                if (
                    prev is not None
                    and not blank
                    and not prev.heading
                    and item.bullet is None
                    and (item.label is None or self._orphan_number(prev, item))
                    and (item.label is not None or self._continues(prev, cs, ce, indent))
                ):
                    prev.end = ce
                else:
                    out.append(item)
            blank = False
            if nl < 0:
                break
        return out

    def _orphan_number(self, prev: _Line, item: _Line) -> bool:
        """ "ECOG 0" then a line "1." alone (NCT05429294, fresh audit 53): the end of a range
        "0-1" whose hyphen was lost, not an empty numbered item; read alone, the first line
        would fail everyone the range admits."""
        return (
            item.content >= item.end
            and (item.label or "").rstrip(".)").isdigit()
            and self.text[prev.end - 1].isdigit()
        )

    def _continues(self, prev: _Line, cs: int, ce: int, indent: int) -> bool:
        text = self.text
        last = text[prev.end - 1]
        if last == ":":
            return False
        if last not in ".;!?":
            # "… not otherwise specified" / "(including herbal products), and …" goes on too
            if text[cs].islower() or (text[cs] == "(" and text[cs + 1 : cs + 2].islower()):
                return True
            if _is_fragment(text, cs, ce) and not looks_like_lead_in(text[prev.content : prev.end]):
                return True
        return (prev.bullet is not None or prev.label is not None) and indent > prev.indent

    # ----------------------------------------------------------------- placing items

    def _reset(self, heading: int) -> None:
        self.stack = [_Level(-1, None, None, heading, False)]

    def _place_marker(self, line: _Line) -> tuple[int, Option] | None:
        """Stack position of the item's level after placing it; None when the label is not one."""
        opts = line.options or [(("bullet", line.bullet or "-"), None)]
        stack = self.stack
        for k in range(len(stack) - 1, 0, -1):
            lv = stack[k]
            for style, value in opts:
                if style != lv.style:
                    continue
                continues = value is not None and lv.last is not None and value == lv.last + 1
                lenient = style[0] in ("num", "multi", "bullet")
                if continues or (lenient and lv.indent == line.indent):
                    del stack[k + 1 :]
                    lv.last = value
                    return k, (style, value)
        chosen: Option | None = None
        for opt in opts:
            (kind, _), value = opt
            plain_number = kind in ("num", "multi", "bullet")
            if plain_number or value == 1 or (kind.startswith("roman") and line.multi_letter):
                chosen = opt
                break
        if chosen is None:
            return None
        top = stack[-1]
        # A lead-in still waiting for its items adopts the next list whatever its indentation.
        if not (len(stack) > 1 and top.lead_in and top.child_mode is None):
            while len(stack) > 1 and stack[-1].indent > line.indent:
                stack.pop()
        del stack[_MAX_DEPTH:]  # bounded depth keeps every search over the stack O(1)
        stack[-1].child_mode = "marker"
        stack.append(_Level(line.indent, chosen[0], chosen[1], None, False))
        return len(stack) - 1, chosen

    def _place_plain(self, line: _Line, text: str) -> int:
        """Stack position that a plain line's item belongs to (its parent is one below)."""
        stack = self.stack
        top = stack[-1]
        lead_in = looks_like_lead_in(text)
        if (
            len(stack) > 1
            and top.lead_in
            and top.child_mode != "marker"
            and line.indent >= top.indent
            and not lead_in
            and not _PROTOCOL_DEFINED_RE.search(text)
        ):
            top.child_mode = "plain"
            return -1
        nest = lead_in and top.style is None and top.lead_in and top.child_mode is None
        if nest and 1 < len(stack) < _MAX_DEPTH:
            # "Concurrent Medication:" directly followed by "Allowed:": a sub-heading.
            top.child_mode = "plain"
            stack.append(_Level(line.indent, None, None, None, True))
            return len(stack) - 1
        del stack[1:]
        if lead_in:
            stack.append(_Level(line.indent, None, None, None, True))
            return len(stack) - 1
        return -1

    # ----------------------------------------------------------------- emitting

    def _emit(
        self, a: int, b: int, label: str | None, parent: int | None, sub: bool, plain: bool
    ) -> int | None:
        """Add the piece text[a:b] (trimmed, maybe split at ";"); index of its first segment."""
        text = self.text
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a == b:
            return None
        first = len(self.segs)
        for i, (s, e) in enumerate(self._semicolons(a, b, sub)):
            self.segs.append(_Seg(s, e, "criterion", label if i == 0 else None, parent, plain))
        return first

    def _semicolons(self, a: int, b: int, sub: bool) -> list[tuple[int, int]]:
        text = self.text
        if text.find(";", a, b) < 0:
            return [(a, b)]
        pieces: list[tuple[int, int]] = []
        depth, pos, start = 0, a, a
        # the ";" of "&gt;" or "&gte;" is part of a comparator, not a list separator
        entities = {m.end() - 1 for m in _ENTITY_RE.finditer(text, a, b)} if "&" in text else ()
        while True:
            semi = text.find(";", pos, b)
            if semi < 0:
                break
            depth = max(0, depth + text.count("(", pos, semi) - text.count(")", pos, semi))
            pos = semi + 1
            if depth == 0 and semi not in entities:
                pieces.append((start, pos))
                start = pos
        rest = text[start:b]
        if rest.strip():
            if _WORD_RE.search(rest) or not pieces:
                pieces.append((start, b))
            else:
                pieces[-1] = (pieces[-1][0], b)
        trimmed = []
        for s, e in pieces:
            while s < e and text[s].isspace():
                s += 1
            trimmed.append((s, e))
        if len(trimmed) < (2 if sub else 3):
            return [(a, b)]
        if not all(_nontrivial(text[s:e]) for s, e in trimmed):
            return [(a, b)]
        if any(_CONTINUATION_RE.match(text, s, e) or text.find(":", s, e) >= 0 for s, e in trimmed):
            return [(a, b)]
        if any(
            _EXCEPT_RE.search(text, s, e) and not _ENUMERATED_RE.match(text, trimmed[i + 1][0])
            for i, (s, e) in enumerate(trimmed[:-1])
        ):
            return [(a, b)]  # the pieces after an exception may be its items (NCT05707273)
        if _NEGATED_LEAD_RE.match(text, *trimmed[0]) and not all(
            _NEGATED_LEAD_RE.match(text, s, e) for s, e in trimmed[1:]
        ):
            return [(a, b)]  # "No patients with unstable angina; …; Pregnancy, lactation; …"
        return trimmed

    def _parent_of(self, k: int) -> int | None:
        return self.stack[k - 1].item if k >= 1 else self.stack[0].item

    def _is_sub(self, parent: int | None) -> bool:
        return parent is not None and self.segs[parent].kind != "heading"

    def _item(self, line: _Line, k: int, label: str | None) -> None:
        """Emit one logical item at stack level ``k``, splitting at inline labels."""
        text = self.text
        cs, ce = line.content, line.end
        start, cur_label = cs, label
        depth, depth_pos = 0, cs
        cands = _inline_labels(text, cs, ce)
        twos: dict[Style, list[int]] = {}
        for m in cands:
            token = m.group("p") or m.group("n") or ""
            form = "()" if m.group("p") else m.group("d")
            for style, value in _options(token, form):
                if value == 2:
                    twos.setdefault(style, []).append(m.start())
        for m in cands:
            token = m.group("p") or m.group("n") or ""
            form = "()" if m.group("p") else m.group("d")
            after = m.end()
            nxt = text[after] if after < ce else ""
            if not nxt or not (nxt.isspace() or (nxt.isalpha() and form != ".")):
                continue
            if form == "." and not token.isdigit():
                continue
            back = m.start() - 1
            newline = False
            while back >= start and text[back].isspace():
                newline = newline or text[back] == "\n"
                back -= 1
            if back < start:
                continue
            prev = text[back]
            strong = newline or prev in ";:."
            if form == "." and not strong:
                continue
            depth = max(0, depth + text.count("(", depth_pos, m.start())
                        - text.count(")", depth_pos, m.start()))  # fmt: skip
            depth_pos = m.start()
            if form == ")" and not strong and depth > 0:
                continue
            hit = self._continuing(_options(token, form))
            if hit is None and prev == ":" and len(self.stack) < _MAX_DEPTH:
                for style, value in _options(token, form):
                    later = twos.get(style, [])
                    if value == 1 and bisect.bisect_right(later, m.start()) < len(later):
                        hit = (-1, (style, value))
                        break
            if hit is None:
                continue
            level, (style, value) = hit
            self._close(start, m.start(), k, cur_label)
            if level < 0:
                self.stack.append(_Level(line.indent + 1, style, value, None, False))
                k = len(self.stack) - 1
            else:
                del self.stack[level + 1 :]
                self.stack[level].last = value
                k = level
            start, cur_label = after, m.group().replace("\\", "")
            depth, depth_pos = 0, after
        self._close(start, ce, k, cur_label)

    def _continuing(self, opts: list[Option]) -> tuple[int, Option] | None:
        for k in range(len(self.stack) - 1, 0, -1):
            lv = self.stack[k]
            for style, value in opts:
                if lv.style == style and lv.last is not None and value == lv.last + 1:
                    return k, (style, value)
        return None

    def _close(self, a: int, b: int, k: int, label: str | None) -> None:
        parent = self._parent_of(k)
        lv = self.stack[k]
        plain = lv.style is None and label is None
        first = self._emit(a, b, label, parent, self._is_sub(parent), plain)
        lv.item = first if first is not None else parent
        lv.lead_in = first is not None and looks_like_lead_in(self.text[a:b])
        lv.child_mode = None

    # ----------------------------------------------------------------- driver

    def run(self, base: int = 0) -> list[Segment]:
        """The block's segments; ``parent`` indexes shifted by ``base`` (see ``split_record``)."""
        for line in self._lines():
            if line.heading:
                self.segs.append(_Seg(line.start, line.end, "heading", None, None))
                self._reset(len(self.segs) - 1)
                continue
            if line.label is not None or line.bullet is not None:
                placed = self._place_marker(line)
                if placed is None and line.bullet is not None:
                    line.label, line.options, line.content = None, [], line.after_bullet
                    placed = self._place_marker(line)
                if placed is not None:
                    self._item(line, placed[0], line.label)
                    continue
                line.label, line.options, line.content = None, [], line.start
            k = self._place_plain(line, self.text[line.content : line.end])
            if k >= 0:
                self._item(line, k, None)
                continue
            # A plain leaf: give it a throw-away level so inline lists after ":" still split.
            depth = len(self.stack)
            self.stack.append(_Level(line.indent, None, None, None, False))
            self._item(line, depth, None)
            del self.stack[depth:]
        return self._segments(base)

    def _segments(self, base: int) -> list[Segment]:
        text, section = self.text, self.block.section
        kinds = self._kinds()
        segs, kinds, parts, linked = self._join(kinds)
        out: list[Segment] = []
        for s, kind, joined, link in zip(segs, kinds, parts, linked, strict=True):
            context = None
            if s.parent is not None and kinds[s.parent] != "heading":
                p = segs[s.parent]
                context = text[p.start : p.end]
            out.append(
                Segment(
                    section=section,
                    kind=kind,
                    start=s.start,
                    end=s.end,
                    text=text[s.start : s.end],
                    label=s.label,
                    context=context,
                    parent=None if s.parent is None else s.parent + base,
                    parts=joined,
                    linked=link,
                )
            )
        return out

    def _kinds(self) -> list[SegmentKind]:
        text = self.text
        has_children = {s.parent for s in self.segs if s.parent is not None}
        kinds: list[SegmentKind] = []
        last = len(self.segs) - 1
        for i, s in enumerate(self.segs):
            seg_text = text[s.start : s.end]
            if s.kind == "criterion" and i in has_children and looks_like_lead_in(seg_text):
                kinds.append("lead_in")
            elif (
                s.plain
                and s.kind == "criterion"
                and i not in has_children
                and seg_text.endswith(":")
                and len(seg_text.split()) <= 4
                and (i == last or self.segs[i + 1].kind == "heading")
            ):
                kinds.append("heading")  # "Prior Medication:" right before "Excluded:"
            else:
                kinds.append(s.kind)
        return kinds

    def _inline_lists(
        self, kinds: list[SegmentKind], leaf: Callable[[int], bool], linked: list[bool]
    ) -> None:
        """Rule 7: "The following not considered measurable: bone lesions …" then sibling items
        "Pleural effusion": a flattened list whose items may belong to the inline lead-in; the
        bare phrases after it and the lead-in line are marked ``linked`` (fresh audit 37)."""
        text, segs, n = self.text, self.segs, len(self.segs)
        for i in range(n - 1):
            s = segs[i]
            m = _INLINE_LEAD_IN_RE.search(text, s.start, s.end) if leaf(i) else None
            first = text[m.end() - 1 : s.end] if m else ""
            first = first.rstrip()
            if not first[:1].isupper() or _LIST_ON_LINE_RE.search(first) or len(first.split()) > 15:
                continue  # no lead-in, or its whole list is on the line
            j = i + 1
            while j < n and leaf(j) and segs[j].parent == s.parent and _is_phrase(text, segs[j]):
                linked[i] = linked[j] = True
                j += 1

    def _join(
        self, kinds: list[SegmentKind]
    ) -> tuple[list[_Seg], list[SegmentKind], list[tuple[tuple[int, int], ...]], list[bool]]:
        """Join criteria linked by a connective (rule 6); mark the links that cannot be joined."""
        text, segs = self.text, self.segs
        n = len(segs)
        has_children = {s.parent for s in segs if s.parent is not None}
        group = list(range(n))  # index of the first segment of the joined criterion
        linked = [False] * n

        def leaf(i: int) -> bool:
            return kinds[i] == "criterion" and i not in has_children

        def mark_tree(i: int) -> None:
            """``i`` and everything nested under it (a contiguous run after it)."""
            inside = {i}
            linked[i] = kinds[i] == "criterion"
            for j in range(i + 1, n):
                if segs[j].parent not in inside:
                    break
                inside.add(j)
                linked[j] = kinds[j] == "criterion"

        exclusion = self.block.section == "exclusion"
        for i in range(1, n):
            a, b = segs[i - 1], segs[i]
            ends = _ends_linked(text, a.start, a.end) if kinds[i - 1] == "criterion" else None
            starts = _starts_linked(text, b.start, b.end) if kinds[i] == "criterion" else None
            bare = kinds[i] == "criterion" and _is_bare(text, b.start, b.end)
            if not (ends or starts or bare):
                continue
            same_list = leaf(i - 1) and leaf(i) and a.parent == b.parent
            # In an exclusion list "A and" / "B" may be one exclusion (both) or two (the list's
            # last "and"): not joined, both for a person to read. Inclusion items are required
            # together either way, and "or" means the same in both readings.
            unclear = exclusion and "and" in (ends, starts)
            if (ends or starts) and same_list and not unclear:
                group[i] = group[i - 1]
                continue
            if ends and kinds[i] != "heading":
                linked[group[i - 1]] = True
                mark_tree(i)
                # "- CLL" / "  - … OR" / "- indolent NHL": the last sub-item's "OR" joins its
                # parent to the next item (fresh audit 38), so the parents up to the next
                # item's level are linked too
                up = a.parent
                while up is not None and b.parent != up:
                    linked[up] = linked[up] or kinds[up] == "criterion"
                    if segs[up].parent == b.parent:
                        break
                    up = segs[up].parent
            if starts and kinds[i - 1] == "criterion":
                linked[i] = linked[group[i - 1]] = True
            if bare and kinds[i - 1] == "criterion":
                # "ECOG 0" then a bullet "1": a lost range or a separate item? Unclear.
                linked[i] = linked[group[i - 1]] = True
        self._inline_lists(kinds, leaf, linked)
        if all(g == i for i, g in enumerate(group)):
            return segs, kinds, [()] * n, linked
        new_index: list[int] = []
        out: list[_Seg] = []
        out_kinds: list[SegmentKind] = []
        members: list[list[int]] = []
        for i, s in enumerate(segs):
            if group[i] != i:
                first = out[new_index[group[i]]]
                first.end = s.end
                members[-1].append(i)
                new_index.append(new_index[group[i]])
                continue
            new_index.append(len(out))
            parent = None if s.parent is None else new_index[s.parent]
            out.append(_Seg(s.start, s.end, s.kind, s.label, parent, s.plain))
            out_kinds.append(kinds[i])
            members.append([i])
        parts = [
            tuple((segs[j].start, segs[j].end) for j in m) if len(m) > 1 else () for m in members
        ]
        out_linked = [any(linked[j] for j in m) for m in members]
        return out, out_kinds, parts, out_linked


def split_block(text: str, block: Block) -> list[Segment]:
    """Segments of ``text[block.start:block.end]``, in order, with offsets into ``text``."""
    return _Splitter(text, block).run()


def split_record(record: TrialRecord) -> list[Segment]:
    """Segments of all blocks of a record; ``parent`` indexes into this combined list."""
    out: list[Segment] = []
    for block in record.blocks:
        segments = _Splitter(record.text, block).run(base=len(out))
        if block.group:  # "EXCLUSION CRITERIA - Donor:": the heading says whom the items are for
            segments = [
                s.model_copy(update={"context": block.group})
                if s.kind == "criterion" and s.context is None
                else s
                for s in segments
            ]
        out += segments
    return out
