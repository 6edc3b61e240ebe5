"""The parser's built tables (LALR parser, lexicon, unit pattern), kept in the user's cache.

Why: building the LALR tables and the lexicon from the grammar and the vocabulary takes most of
a second, in every process that parses; reading them back takes a few milliseconds. A file is
named by a key that hashes the package version, the Python and Lark versions and the bytes of
every source the tables are built from, so an edit to the grammar, the phrase table or the
vocabulary makes a new file and an old one is never read. The files are JSON (never pickle:
nothing read from disk can run code) with a SHA-256 of the body on the first line, so a file cut
short or damaged is not read either.

Nothing here raises or prints: a folder that cannot be read or written, a damaged file or data
that cannot be encoded mean the caller builds the tables, as without a cache.
``ELIGIBILITY_CACHE_DIR`` names the folder; set to the empty string it turns the cache off.
The files themselves are read and written by ``cachefile`` (the vocabulary's cache too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import lark
from lark import Lark
from lark.lark import Rule, TerminalDef

from . import cachefile, grammar
from .cachefile import cache_dir as cache_dir  # the folder, for callers and tests
from .cachefile import key_of

FORMAT = 2
"""Bumped when the layout of a cached file changes."""

NAME = "grammar"


@dataclass(frozen=True)
class Built:
    """What ``grammar`` needs before it can parse."""

    parser: Lark
    lexicon: grammar.Lexicon
    unit_pattern: str
    unit_starts: str


@cache
def built() -> Built:
    """The tables from the cache when it holds this version's, else built (and stored)."""
    key = source_key(_sources(), f"lark {lark.__version__}")
    data = load(NAME, key)
    if data is not None:
        try:
            return _from_data(data)
        except Exception:  # a file that passed its checksum but does not fit: build instead
            pass
    tables = Built(
        grammar.build_parser(),
        grammar.build_lexicon(),
        grammar.unit_pattern(),
        grammar.unit_starts(),
    )
    try:
        data = _to_data(tables)
    except Exception:  # Lark's layout changed in a way this file does not know: no cache
        return tables
    store(NAME, key, data)
    return tables


def _sources() -> list[str]:
    """Every package file the tables are built from: the grammar, the phrase table and the
    tokeniser's folding (``grammar.py``, ``phrases.py``, ``normalize.py``), the vocabulary and
    its loader (every module of ``vocab/``)."""
    vocab_dir = resources.files("eligibility").joinpath("vocab")
    files = sorted(p.name for p in vocab_dir.iterdir() if p.name.endswith((".py", ".yaml")))
    return [
        "criteria.lark",
        "grammar.py",
        "normalize.py",
        "phrases.py",
        "tables.py",
        *(f"vocab/{name}" for name in files),
    ]


def _to_data(tables: Built) -> dict[str, Any]:
    # what ``Lark.save`` pickles, here written as JSON
    lark_data, memo = tables.parser.memo_serialize([TerminalDef, Rule])
    lex = tables.lexicon
    return {
        "lark": {"data": lark_data, "memo": memo},
        "entries": {
            key: [[e.type, e.value, e.exact, e.head] for e in bucket]
            for key, bucket in lex.entries.items()
        },
        "prefixes": lex.prefixes,
        "anchors": lex.anchors,
        "max_len": lex.max_len,
        "unit_pattern": tables.unit_pattern,
        "unit_starts": tables.unit_starts,
    }


def _from_data(data: dict[str, Any]) -> Built:
    parser = Lark.__new__(Lark)._load(data["lark"])  # ``Lark.load`` of an unpickled dict
    entries = {
        key: [grammar._Entry(typ, value, exact, head) for typ, value, exact, head in bucket]
        for key, bucket in data["entries"].items()
    }
    lex = grammar.Lexicon(entries, data["prefixes"], data["anchors"], data["max_len"])
    return Built(parser, lex, data["unit_pattern"], data["unit_starts"])


def source_key(sources: Iterable[str], *extra: str) -> str | None:
    """Hash of the package version, ``extra`` and the bytes of the package files ``sources``.

    None when a source cannot be read (a package installed without them): no key, no cache.
    """
    root = resources.files("eligibility")
    try:
        parts = [name.encode() + b"\0" + root.joinpath(name).read_bytes() for name in sources]
    except OSError:
        return None
    return key_of([str(FORMAT), *extra, *parts])


def load(name: str, key: str | None) -> Any | None:
    """The tables stored under ``name`` and ``key``, or None (``cachefile.load``)."""
    return cachefile.load(name, key, object_hook=_decode)


def store(name: str, key: str | None, data: Any) -> None:
    """Write the tables under ``name`` and ``key`` (``cachefile.store``), or nothing."""
    try:
        encoded = _encode(data)
    except (TypeError, ValueError, RecursionError):
        return  # data this format cannot hold: no cache, never a wrong one
    cachefile.store(name, key, encoded)


# JSON holds str-keyed objects, lists and scalars; the tables also hold tuples, int keys and a
# few classes (Lark's lexer), written as tagged objects {"~": tag, "v": ...}.
_CLASSES: dict[str, type] = {"feed": grammar._Feed}  # the classes stored by name


def _encode(o: Any) -> Any:
    if o is None or type(o) in (str, int, float, bool):
        return o
    if isinstance(o, list):
        return [_encode(x) for x in o]
    if isinstance(o, tuple):
        return {"~": "tuple", "v": [_encode(x) for x in o]}
    if isinstance(o, frozenset):
        return {"~": "frozenset", "v": sorted(_encode(x) for x in o)}
    if isinstance(o, dict):
        if "~" not in o and all(type(k) is str for k in o):
            return {k: _encode(v) for k, v in o.items()}
        return {"~": "dict", "v": [[_encode(k), _encode(v)] for k, v in o.items()]}
    if isinstance(o, type):
        for tag, cls in _CLASSES.items():
            if cls is o:
                return {"~": "class", "v": tag}
    raise TypeError(f"cannot store {type(o).__name__}")


def _decode(o: dict[str, Any]) -> Any:
    tag = o.get("~")
    if tag is None:
        return o
    v = o["v"]
    if tag == "tuple":
        return tuple(v)
    if tag == "frozenset":
        return frozenset(v)
    if tag == "dict":
        return {k: x for k, x in v}
    if tag == "class":
        return _CLASSES[v]
    raise ValueError(f"unknown tag {tag!r}")
