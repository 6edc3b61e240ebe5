"""YAML 1.2 core schema for rules files, on libyaml's C parser when it is installed.

PyYAML implements YAML 1.1, where ``max: 1:15`` is 75 (base 60), ``012`` is 10 (octal),
``1_000`` is 1000, ``yes``/``no``/``on``/``off`` are booleans and ``2024-01-01`` is a date. A
rules file is reviewed by people who read YAML 1.2 (and JSON), so the core schema is used
instead: those scalars are text (which then fails the model's type check with the field named),
``012`` is 12, and only ``null``, ``true``/``false``, integers (``12``, ``0o14``, ``0xC``),
floats (``1.5``, ``1e3``, ``.inf``, ``.nan``) and text are built. The model has no date fields,
so no timestamps are read either; explicit tags outside the core schema (``!!timestamp``,
``!!binary``, ``!!python/…``) are refused.

Composition checks every node before anything is built: aliases are refused (the "billion
laughs", and a reviewer would read one place while the evaluator uses another), nesting past a
limit is refused before it can exhaust the stack, and duplicate keys are refused (PyYAML keeps
the last silently). Events come from libyaml (``CParser``, some fifteen times as fast as the
pure scanner; ``bench/rules_loader.py``) when present, else from PyYAML's pure parser;
composition is the same Python code in both, so the checks, the node marks (line and column in
errors) and the data are identical.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml
    CParser = None  # type: ignore[assignment,misc]

_T = "tag:yaml.org,2002:"
STR, SEQ, MAP = _T + "str", _T + "seq", _T + "map"
_NULL, _BOOL, _INT, _FLOAT = _T + "null", _T + "bool", _T + "int", _T + "float"

# The YAML 1.2.2 core schema (section 10.3.2), one pattern per tag; anything else is text.
_CORE = re.compile(
    r"(?P<null>~|null|Null|NULL|)"
    r"|(?P<bool>true|True|TRUE|false|False|FALSE)"
    r"|(?P<int>[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)"
    r"|(?P<float>[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
)
_CORE_TAG = {"null": _NULL, "bool": _BOOL, "int": _INT, "float": _FLOAT}


class Refused(yaml.MarkedYAMLError):
    """Valid YAML that a rules file may not contain (aliases, deep nesting, duplicate keys)."""


def _plain_tag(value: str) -> str:
    """The core schema's tag for a plain (unquoted) scalar."""
    m = _CORE.fullmatch(value)
    return STR if m is None else _CORE_TAG[m.lastgroup or "null"]


class CoreResolver(BaseResolver):
    """Tags plain scalars by the core schema; quoted scalars are always text."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:  # type: ignore[override]
        if kind is ScalarNode:
            return _plain_tag(value) if implicit[0] else STR
        return SEQ if kind is SequenceNode else MAP


class _Dumper(yaml.SafeDumper):
    """Quotes text that either YAML 1.1 or the 1.2 core schema would read as something else:
    PyYAML alone writes ``1e3`` and ``0o14`` plain, which YAML 1.2 reads as numbers."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:  # type: ignore[override]
        tag = super().resolve(kind, value, implicit)
        if kind is ScalarNode and tag == STR and implicit[0]:
            return _plain_tag(value)
        return tag


def dump(data: Any) -> str:
    """Rules data as YAML that reads back the same under both YAML 1.1 and 1.2."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class CoreConstructor(SafeConstructor):
    """Builds only the core schema's types; any other tag is an error, located at its node."""

    yaml_constructors: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's class-level registry)

    def construct_core_null(self, node: Node) -> None:
        self._core(node, "null")

    def construct_core_bool(self, node: Node) -> bool:
        return self._core(node, "bool").lower() == "true"

    def construct_core_int(self, node: Node) -> int:
        text = self._core(node, "int")
        if text[:2] in ("0o", "0x"):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)  # 012 is twelve; over 4300 digits raises ValueError

    def construct_core_float(self, node: Node) -> float:
        text = self._core(node, "float", "int").lower()  # !!float 12 is 12.0
        if text.endswith(".inf"):
            return -math.inf if text.startswith("-") else math.inf
        return math.nan if text == ".nan" else float(text)

    def _core(self, node: Node, *kinds: str) -> str:
        """The scalar's text if the core schema writes one of ``kinds`` so (``!!int 1_000``
        and ``!!bool yes`` are YAML 1.1 spellings, refused)."""
        text = self.construct_scalar(node)  # type: ignore[arg-type]
        m = _CORE.fullmatch(text)
        if m is None or m.lastgroup not in kinds:
            raise ValueError(f"not a YAML 1.2 {kinds[0]}")
        return text

    def construct_object(self, node: Any, deep: bool = False) -> Any:  # type: ignore[override]
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            shown = repr(node.value) if len(str(node.value)) <= 40 else repr(node.value[:40]) + "…"
            why = str(exc).split(";")[0]  # Python's 4300-digit message goes on to advise
            raise Refused(
                problem=f"cannot read {shown}: {why}", problem_mark=node.start_mark
            ) from None


for _tag, _method in [
    (_NULL, CoreConstructor.construct_core_null),
    (_BOOL, CoreConstructor.construct_core_bool),
    (_INT, CoreConstructor.construct_core_int),
    (_FLOAT, CoreConstructor.construct_core_float),
    (STR, SafeConstructor.construct_yaml_str),
    (SEQ, SafeConstructor.construct_yaml_seq),
    (MAP, SafeConstructor.construct_yaml_map),
    (None, SafeConstructor.construct_undefined),
]:
    CoreConstructor.add_constructor(_tag, _method)


class CheckingComposer(Composer):
    """Composes a document's nodes from events, refusing aliases, deep nesting and duplicate
    keys as they arrive.

    One loop with an explicit stack instead of PyYAML's recursive descent: it cannot overflow,
    and with libyaml's events composing is most of the time a rules file takes to read. There
    are no path resolvers, and anchors are ignored (their aliases are refused).
    """

    max_depth = 64

    def compose_node(self, parent: Any, index: Any) -> Node:  # type: ignore[override]
        get_event, resolve, max_depth = self.get_event, self.resolve, self.max_depth
        # Open containers: [node, pending mapping key or None, first line of each key or None].
        stack: list[list[Any]] = []
        while True:
            event = get_event()
            kind = type(event)
            if kind is SequenceEndEvent or kind is MappingEndEvent:
                node = stack.pop()[0]
                node.end_mark = event.end_mark
            elif kind is AliasEvent:
                raise Refused(
                    problem=f"alias *{event.anchor} is not allowed in a rules file (write it out)",
                    problem_mark=event.start_mark,
                )
            elif len(stack) >= max_depth:
                raise Refused(
                    problem=f"nested deeper than {max_depth} levels", problem_mark=event.start_mark
                )
            elif kind is ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(ScalarNode, event.value, event.implicit)
                node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
            else:
                seq = kind is SequenceStartEvent
                tag = event.tag if event.tag not in (None, "!") else SEQ if seq else MAP
                cls = SequenceNode if seq else MappingNode
                stack.append([cls(tag, [], event.start_mark, None, event.flow_style), None,
                              None if seq else {}])  # fmt: skip
                continue
            if not stack:
                return node
            top = stack[-1]
            if top[2] is None:
                top[0].value.append(node)
            elif top[1] is not None:
                top[0].value.append((top[1], node))
                top[1] = None
            else:
                top[1] = node
                if kind is ScalarEvent:
                    _first_use(top[2], node)


def _first_use(seen: dict[tuple[str, str], int], key: ScalarNode) -> None:
    """Record a mapping key's line, or refuse it as a repeat."""
    k = (key.tag, key.value)
    if k in seen:
        raise Refused(
            problem=f"duplicate key {key.value!r} (first on line {seen[k]})",
            problem_mark=key.start_mark,
        )
    seen[k] = key.start_mark.line + 1


class PureLoader(Reader, Scanner, Parser, CheckingComposer, CoreConstructor, CoreResolver):
    """PyYAML's pure-Python scanner and parser under the checking composer."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        CheckingComposer.__init__(self)
        CoreConstructor.__init__(self)
        CoreResolver.__init__(self)


if CParser is not None:

    class CLoader(CheckingComposer, CParser, CoreConstructor, CoreResolver):  # type: ignore[misc,valid-type]
        """libyaml's scanner and parser (events only) under the checking composer."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            CheckingComposer.__init__(self)
            CoreConstructor.__init__(self)
            CoreResolver.__init__(self)

    LOADERS: dict[str, type] = {"c": CLoader, "pure": PureLoader}
else:
    LOADERS = {"pure": PureLoader}

DEFAULT = "c" if "c" in LOADERS else "pure"
"""The loader ``load`` uses unless told; tests set it to ``"pure"`` to compare the two."""


def load(text: str, max_depth: int, loader: str | None = None) -> tuple[Any, Node | None]:
    """The single document's data and its node tree; raises ``yaml.YAMLError`` (also for a
    file of several documents, as PyYAML's ``get_single_node`` does). See ``load_all``."""
    docs = load_all(text, max_depth, loader)
    if len(docs) > 1:
        node = docs[1][1]
        raise yaml.composer.ComposerError(
            "expected a single document in the stream",
            docs[0][1].start_mark,
            "but found another document",
            node.start_mark,
        )
    return docs[0] if docs else (None, None)


def load_all(text: str, max_depth: int, loader: str | None = None) -> list[tuple[Any, Node]]:
    """Each non-empty document's data and its node tree (kept for line numbers); raises
    ``yaml.YAMLError``. ``loader`` is ``"c"`` (libyaml), ``"pure"`` or ``None`` for ``DEFAULT``.

    libyaml is the fast path, PyYAML the reference: when libyaml finds the text malformed (its
    messages differ, and it gives up at 1000 levels of nesting while scanning ahead), the pure
    parser reads it again, so errors are worded and located the same with or without libyaml.
    """
    _refuse_inner_bom(text)
    loader = loader or DEFAULT
    reader = LOADERS[loader](text)
    reader.max_depth = max_depth
    docs: list[tuple[Any, Node]] = []
    try:
        with _no_cycle_collection():
            while reader.check_node():
                node = reader.get_node()
                data = reader.construct_document(node)
                if data is not None:  # a stray "---" makes an empty document
                    docs.append((data, node))
            return docs
    except (yaml.scanner.ScannerError, yaml.parser.ParserError, yaml.reader.ReaderError):
        if loader == "pure":
            raise
    finally:
        reader.dispose()
    return load_all(text, max_depth, "pure")


_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
_INNER_BOM = re.compile(r"(?:\A|[\r\n\x85\u2028\u2029])\ufeff")


def _refuse_inner_bom(text: str) -> None:
    """A byte order mark that begins a line (after the file's own, already removed): libyaml
    skips it and PyYAML reads it as text, so the two would read different data. It comes from
    files pasted together; criteria text keeps U+FEFF inside a line or quoted as ``\\ufeff``."""
    m = _INNER_BOM.search(text)
    if m is not None:
        line = len(_BREAK.findall(text, 0, m.end() - 1))
        raise Refused(
            problem="byte order mark (U+FEFF) at the start of a line; remove it",
            problem_mark=yaml.error.Mark("<rules>", m.end() - 1, line, 0, None, None),
        )


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a tree is built.

    A 1 MiB file is some 300,000 nodes and objects, all alive until the end; each collection
    re-scans them, which took two thirds of the time with libyaml. The tree has no cycles (no
    aliases), so nothing is left for the collector, and the input is bounded by the size limit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
