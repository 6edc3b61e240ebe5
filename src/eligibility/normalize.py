"""Fold the many spellings of the same symbol into one, keeping a map back to the source.

The grammar sees one comparator "≥" whether the record wrote "≧", "⩾", "&ge;", "&#8805;" or the
misspelt "&gte;", one "-" for the dashes and minus signs, "10^9" for "10⁹", "µ" for both micro
signs, plain digits for full-width ones, and markdown escapes ("\\>", "\\*") undone. Every
output character remembers the source characters it came from, so a parsed span can be cited in
the original text.

Left alone on purpose: "×", "✕" and "x" (the grammar tells a multiplication from a letter) and
thousands separators ("50.000" and "50,000" are ambiguous without context).
"""

from __future__ import annotations

import html
import html.entities
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["ENTITY", "Normalized", "fold_text", "normalize"]

_FIXED: dict[str, str] = {
    "≦": "≤",
    "⩽": "≤",
    "≧": "≥",
    "⩾": "≥",
    "µ": "µ",
    "μ": "µ",
    "–": "-",
    "—": "-",
    "−": "-",
    "‒": "-",
    "‐": "-",
    "‑": "-",
    "﹣": "-",
    "⁃": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "\u00a0": " ",
    "\u3000": " ",
    "\u202f": " ",
    "\u205f": " ",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00ad": "",
}
_KEEP = frozenset("≤≥×✕°±·•≠≈")
_SUPERSCRIPTS = {
    "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4",
    "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-",
}  # fmt: skip
# An HTML entity token, numeric, named or a misspelt comparator ("& GT;"); split.py uses it too,
# so that a criterion is never cut at an entity's ";".
ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,7}| (?i:[gl]te?|[gl]e));"
_SPECIAL_RE = re.compile(
    "|".join((r"\\[!-/:-@\[-`{-~]", ENTITY, r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+", r"[^\x00-\x7f]"))
)


# Comparator entities as the registry misspells them: "&gte;", "&LTE;", "&GE;" (no such HTML
# entities) and "& GT;" (a space after the ampersand). html.unescape reads "&gte;" as "&gt" + "e;".
_COMPARATOR_ENTITIES = {"gte": "≥", "ge": "≥", "lte": "≤", "le": "≤", "gt": ">", "lt": "<"}


def _entity(token: str) -> str | None:
    """The text of an HTML entity token, or None to keep it as written.

    Only a whole entity decodes: "&notin;" is "∉", but "&notit;" stays rather than becoming
    "¬it;" (HTML's legacy prefix rule); comparators misspelt as above decode to what they mean.
    """
    name = token[1:]
    if name.startswith("#") or name in html.entities.html5:
        return html.unescape(token)
    return _COMPARATOR_ENTITIES.get(name[:-1].lstrip().lower())


@lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    """One non-ASCII character, folded (possibly to nothing or to several characters)."""
    if ch in _FIXED:
        return _FIXED[ch]
    if ch in _KEEP:
        return ch
    if ch in _SUPERSCRIPTS:
        return "^" + _SUPERSCRIPTS[ch]
    if 0x2000 <= ord(ch) <= 0x200A:
        return " "
    folded = unicodedata.normalize("NFKC", ch)
    return "".join(_FIXED.get(c, c) for c in folded)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Folded text; ``offsets[i]`` is the source offset where ``text[i]`` comes from."""

    text: str
    offsets: list[int]
    ends: list[int] = field(repr=False)
    source_length: int

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """The source span [s, e) that produced ``text[start:end]``."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span {start}:{end} is outside 0:{len(self.text)}")
        if start == end:
            s = self.offsets[start] if start < len(self.text) else self.source_length
            return s, s
        return self.offsets[start], self.ends[end - 1]


def _folded(token: str) -> str | None:
    """What one match of ``_SPECIAL_RE`` becomes; None when it stays as written."""
    first = token[0]
    if first == "\\":
        return token[1]
    if first == "&":
        decoded = _entity(token)
        if decoded is None or decoded == token:
            return None
        return "".join(_fold(c) if ord(c) > 127 else c for c in decoded)
    if first in _SUPERSCRIPTS:
        return "^" + "".join(_SUPERSCRIPTS[ch] for ch in token)
    return _fold(token)


def _folded_match(m: re.Match[str]) -> str:
    chunk = _folded(m.group())
    return m.group() if chunk is None else chunk


def fold_text(text: str) -> str:
    """``normalize(text).text`` without the offset map, which the tokeniser does not need.

    The same folding (``_folded``) in one ``re.sub``: several times as fast as building the
    map, and the parser folds every criterion.
    """
    if text.isascii() and "\\" not in text and "&" not in text:
        return text  # nothing ``_SPECIAL_RE`` can match (``isascii`` costs nothing on a str)
    return _SPECIAL_RE.sub(_folded_match, text)


def normalize(text: str) -> Normalized:
    """Fold ``text`` in one linear pass; never raises."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def emit(chunk: str, s: int, e: int) -> None:
        out.append(chunk)
        starts.extend([s] * len(chunk))
        ends.extend([e] * len(chunk))

    pos = 0
    for m in _SPECIAL_RE.finditer(text):
        a, b = m.span()
        if pos < a:
            out.append(text[pos:a])
            starts.extend(range(pos, a))
            ends.extend(range(pos + 1, a + 1))
        token = m.group()
        if token[0] in _SUPERSCRIPTS:
            emit("^", a, a + 1)
            for i, ch in enumerate(token):
                emit(_SUPERSCRIPTS[ch], a + i, a + i + 1)
        else:
            chunk = _folded(token)
            if chunk is None:
                out.append(token)
                starts.extend(range(a, b))
                ends.extend(range(a + 1, b + 1))
            else:
                emit(chunk, a, b)
        pos = b
    if pos < len(text):
        out.append(text[pos:])
        starts.extend(range(pos, len(text)))
        ends.extend(range(pos + 1, len(text) + 1))
    return Normalized("".join(out), starts, ends, len(text))
