"""Reading the vocabulary files, and the one folding every lookup uses.

Apart so that the vocabulary's modules (analytes and units here, conditions and drugs in
``concepts``) share one loader and one key without importing each other.
"""

from __future__ import annotations

import json
import re
import unicodedata
from importlib import resources
from typing import Any

from .. import cachefile

_FOLD_RE = re.compile(r"[\s\-_.,'’()]+")


def fold(term: str) -> str:
    """Key used for every lookup: NFKC, lower case, µ→u, no spaces, hyphens, dots or quotes."""
    text = unicodedata.normalize("NFKC", term).replace("μ", "u").replace("µ", "u").lower()
    return _FOLD_RE.sub("", text)


def _load(name: str) -> dict[str, Any]:
    """A vocabulary file's data: from the user's cache when it holds this file's (keyed by its
    bytes and the package version, ``cachefile``), else read with libyaml's loader (some fifteen
    times as fast as the pure one, the same data: tests/test_startup.py) and stored. JSON reads
    it some twenty times as fast again (≈ 3 ms for the files a cohort run reads, not ≈ 70)."""
    folder = resources.files(__package__)
    raw = folder.joinpath(name).read_bytes()
    stem = "vocab-" + name.rpartition(".")[0]
    key = cachefile.key_of([name, raw, folder.joinpath("data.py").read_bytes()])  # and this loader
    data = cachefile.load(stem, key)
    if data is None:
        data = _read_yaml(raw)
        if _same_as_json(data):
            cachefile.store(stem, key, data)
    return data  # type: ignore[no-any-return]


def _read_yaml(raw: bytes) -> Any:
    import yaml  # here only: with a warm cache neither the parser nor a screening needs it

    return yaml.load(raw.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _same_as_json(data: Any) -> bool:
    """Whether JSON gives ``data`` back equal (no dates, tuples, keys that are not text, NaN):
    data it would change is read from the YAML every time instead."""
    try:
        return json.loads(json.dumps(data, ensure_ascii=False)) == data  # type: ignore[no-any-return]
    except (TypeError, ValueError, RecursionError):
        return False


def _tuple(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    return tuple(str(x) for x in raw)  # type: ignore[union-attr]
