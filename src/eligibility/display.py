"""Text as a reader sees it, for the table, the worksheet and the funnel (never for JSON).

ClinicalTrials.gov stores criteria as markdown, so the text keeps its escapes (``\\>5 cm``,
``\\*``, ``\\[``, ``\\_``); rules files and JSON keep that raw text, and only what is shown to a
person goes through ``display_text``. Every renderer calls it at each place it shows criteria
text or a reason quoting it, so any other display-only rewriting belongs here too.
"""

from __future__ import annotations

import re

# CommonMark: a backslash before an ASCII punctuation character is a literal of that character;
# before anything else (a letter, a digit, a space) it is a backslash and stays.
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def display_text(s: str) -> str:
    """``"tumour \\>5 cm"`` → ``"tumour >5 cm"``: markdown escapes removed, nothing else."""
    return _MARKDOWN_ESCAPE.sub(r"\1", s) if "\\" in s else s
