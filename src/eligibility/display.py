"""Text as a reader sees it, for the table, the worksheet and the funnel (never for JSON).

ClinicalTrials.gov stores criteria as markdown, so the text keeps its escapes (``\\>5 cm``,
``\\*``, ``\\[``, ``\\_``); rules files and JSON keep that raw text, and only what is shown to a
person goes through ``display_text``. Every renderer calls it at each place it shows criteria
text or a reason quoting it, so any other display-only rewriting belongs here too.
Bidirectional controls are made visible (``escape_controls``) for the same reader.
"""

from __future__ import annotations

import re

# CommonMark: a backslash before an ASCII punctuation character is a literal of that character;
# before anything else (a letter, a digit, a space) it is a backslash and stays.
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def display_text(s: str) -> str:
    """``"tumour \\>5 cm"`` → ``"tumour >5 cm"``: markdown escapes removed, bidi controls shown."""
    return escape_controls(_MARKDOWN_ESCAPE.sub(r"\1", s) if "\\" in s else s)


# Embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069) reorder everything up to
# their closing mark: "Trojan Source" text reads one way and is another. The marks (U+200E LRM,
# U+200F RLM, U+061C ALM) open no level and reorder nothing beyond neighbouring punctuation, and
# Hebrew and Arabic text uses them, so they are kept.
_BIDI_CONTROL = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def escape_controls(s: str) -> str:
    r"""``"a\u202eb"`` → ``"a<U+202E>b"``: bidirectional controls made visible, nothing else."""
    if s.isascii():
        return s
    return _BIDI_CONTROL.sub(lambda m: f"<U+{ord(m.group()):04X}>", s)
