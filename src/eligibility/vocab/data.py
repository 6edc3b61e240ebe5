"""Reading the vocabulary files, and the one folding every lookup uses.

Apart so that the vocabulary's modules (analytes and units here, conditions and drugs in
``concepts``) share one loader and one key without importing each other.
"""

from __future__ import annotations

import re
import unicodedata
from importlib import resources
from typing import Any

_FOLD_RE = re.compile(r"[\s\-_.,'’()]+")


def fold(term: str) -> str:
    """Key used for every lookup: NFKC, lower case, µ→u, no spaces, hyphens, dots or quotes."""
    text = unicodedata.normalize("NFKC", term).replace("μ", "u").replace("µ", "u").lower()
    return _FOLD_RE.sub("", text)


def _load(name: str) -> dict[str, Any]:
    """A vocabulary file's data. libyaml's loader reads them some fifteen times as fast as the
    pure one (≈ 30 ms instead of ≈ 300 ms in every process) and builds the same data
    (tests/test_startup.py); yaml is imported here, as the parser's cached tables need none."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def _tuple(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    return tuple(str(x) for x in raw)  # type: ignore[union-attr]
