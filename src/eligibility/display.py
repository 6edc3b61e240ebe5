"""Text as a reader sees it, for the table, the worksheet and the funnel (never for JSON).

Rules files and JSON keep the raw text; only what is shown to a person goes through here.
"""

from __future__ import annotations

import re

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
