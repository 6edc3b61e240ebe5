"""Read rules (YAML) and patient profiles (JSON) into models, or fail with one located line.

Every failure becomes an ``InputError`` naming the file, the field path (``$.labs[0].value``,
with the YAML line where known) and the problem in words a coordinator can act on.

Nothing read here is trusted. Files are read up to a size limit, YAML is read with the 1.2
core schema by a composer that refuses aliases (the "billion laughs"), deep nesting and
duplicate keys before any object is built (``yamlcore``), and every string and number is
checked once for what would otherwise surface later as a crash or a silently different result
(control characters, unpaired surrogates, infinities). The limits are module constants,
documented in SECURITY.md.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml
from pydantic import ValidationError

from . import fhir as _fhir  # detection only: the FHIR models load when FHIR input is read
from . import yamlcore
from .display import escape_controls
from .errors import InputError
from .model import RuleSet
from .patient import Patient

MAX_RULES_BYTES = 1024 * 1024
"""A rules file: the largest seed is 15 KB; 1 MiB reads in under a second with libyaml
(``bench/rules_loader.py`` compares it with the pure-Python parser)."""
MAX_JSON_BYTES = 16 * 1024 * 1024
"""A JSON profile, or a JSON list of profiles."""
MAX_JSONL_LINE_BYTES = 1024 * 1024
"""One line (one profile) of a JSONL file; the file itself is streamed and has no limit."""
MAX_JSONL_SKIP_BYTES = 64 * 1024 * 1024
"""How far past an over-long JSONL line to look for its end before giving up on the file
(so ``/dev/zero`` or a file of one endless line is not read forever)."""
MAX_DEPTH = 64
"""Nesting of mappings and lists, in YAML and JSON alike (real files need fewer than 20)."""

_RULE_KINDS = {
    "age", "sex", "performance", "child_pugh", "lab", "vital", "measure", "condition",
    "therapy", "pregnancy", "breastfeeding", "life_expectancy", "manual", "all", "any", "not",
}  # fmt: skip

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# C0 controls except tab, LF and CR; DEL and C1 controls (ESC sequences reach terminals through
# the table reporter); unpaired surrogates (cannot be written as UTF-8).
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _key(name: str) -> str:
    """A path step for a mapping key: ``.labs`` or, for odd keys, ``["a b"]`` (quoted, short)."""
    if _PLAIN_KEY.fullmatch(name):
        return f".{name}"
    shown = name if len(name) <= 40 else name[:40] + "…"
    return "[" + json.dumps(shown) + "]"


def json_path(loc: tuple[Any, ...]) -> str:
    """``('labs', 0, 'value')`` -> ``$.labs[0].value``, dropping pydantic's union tags."""
    out = "$"
    prev: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _RULE_KINDS and (prev == "rule" or isinstance(prev, int)):
            prev = part
            continue
        elif isinstance(part, str) and part.startswith("function-"):
            continue
        else:
            out += _key(str(part))
        prev = part
    return out


def _shown(value: Any) -> str:
    """A rejected input as quoted in a message: repr, cut short (it may be 100 KB)."""
    text = json.dumps(value) if value is None or isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if err.get("type") == "extra_forbidden":
        return "unknown field (not part of the format; check the spelling)"
    if err.get("type") == "missing":
        return "required field is missing"
    if "input" in err and not isinstance(err["input"], dict | list):
        return f"{msg} (got {_shown(err['input'])})"
    return msg


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(path, message) for each problem pydantic found."""
    return [(json_path(tuple(e["loc"])), _message(e)) for e in exc.errors()]  # type: ignore[arg-type]


# --- reading bytes ------------------------------------------------------------------------


def _read_bytes(path: Path, limit: int, what: str) -> bytes:
    """At most ``limit`` bytes; reading stops there, so /dev/zero or a 10 GB file cannot hang."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    if len(raw) > limit:
        raise InputError(f"file is larger than the {_size(limit)} limit for {what}", str(path))
    return raw


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def _decode(raw: bytes, file: str, where: str | None = None) -> str:
    """UTF-8 with or without a BOM; UTF-16/32 and other encodings are named, not guessed."""
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError("UTF-32 text; save the file as UTF-8", file, where)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError("UTF-16 text; save the file as UTF-8", file, where)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 1].hex()
        at = where or f"line {line}"
        raise InputError(f"not UTF-8 text (byte 0x{bad} at offset {exc.start})", file, at) from None


def _read_text(path: Path, limit: int = MAX_JSON_BYTES, what: str = "a JSON file") -> str:
    text = _decode(_read_bytes(path, limit, what), str(path))
    if not text.strip():
        raise InputError("file is empty", str(path))
    return text


# --- checking a parsed tree ---------------------------------------------------------------


def tree_problem(data: Any, max_depth: int = MAX_DEPTH) -> tuple[str, str] | None:
    """The first (path, message) in parsed data that no model should ever see, or None.

    Iterative, so it cannot itself overflow the stack; it visits each value once.
    """
    stack: list[tuple[Any, str, int]] = [(data, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= max_depth:
                return path, f"nested deeper than {max_depth} levels"
            if isinstance(value, dict):
                items = []
                for k, v in value.items():
                    if not isinstance(k, str):
                        return path, f"mapping keys must be text (got {_shown(k)})"
                    bad = _bad_text(k)
                    if bad:
                        return path + _key(_BAD_CHAR.sub("?", k)), f"key {bad}"
                    items.append((v, path + _key(k), depth + 1))
            else:
                items = [(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
            stack.extend(reversed(items))
        elif isinstance(value, str):
            bad = _bad_text(value)
            if bad:
                return path, bad
        elif isinstance(value, float) and not math.isfinite(value):
            return path, f"number out of range ({value!r} is not a finite number)"
    return None


def _bad_text(text: str) -> str | None:
    m = _BAD_CHAR.search(text)
    if m is None:
        return None
    code = ord(m.group())
    what = "an unpaired surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    return f"contains {what} (U+{code:04X} at character {m.start()})"


# --- YAML ---------------------------------------------------------------------------------


def _yaml_error(exc: yaml.YAMLError, file: str) -> InputError:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if isinstance(exc, yamlcore.Refused):
        return InputError(problem, file, where)
    if isinstance(exc, yaml.constructor.ConstructorError):
        return InputError(f"unsupported YAML ({problem}); rules hold plain data", file, where)
    return InputError(f"malformed YAML: {problem}", file, where)


def _yaml_load(text: str, file: str) -> list[tuple[Any, yaml.Node]]:
    """Each document's data and composed node tree (kept to turn field paths into line numbers).

    A file may hold several documents (``parse`` of several studies writes one a study); empty
    ones (a stray ``---``) are dropped. YAML 1.2 core schema, aliases, deep nesting and duplicate
    keys refused: see ``yamlcore``.
    """
    try:
        return yamlcore.load_all(text, MAX_DEPTH)  # the reader rejects NUL and other specials
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file) from None


_PATH_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def yaml_line(node: yaml.Node | None, path: str) -> int | None:
    """Best-effort 1-based line of a ``$.a[0].b`` path in a composed YAML document."""
    for name, index, quoted in _PATH_STEP.findall(path):
        if node is None:
            break
        if quoted:
            try:
                name = json.loads(quoted)
            except ValueError:
                break
        if name and isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == name), None)
            if found is None:
                break
            node = found[1]
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            node = node.value[int(index)]
        else:
            break
    return node.start_mark.line + 1 if node is not None else None


# --- rules files --------------------------------------------------------------------------


def _criterion_id(data: Any, path: str) -> str | None:
    """The ``id`` of the criterion a ``$.criteria[i]…`` path points into, if it has one."""
    m = re.match(r"\$\.criteria\[(\d+)\]", path)
    if not m or not isinstance(data, dict) or not isinstance(data.get("criteria"), list):
        return None
    items = data["criteria"]
    i = int(m.group(1))
    item = items[i] if i < len(items) else None
    cid = item.get("id") if isinstance(item, dict) else None
    if isinstance(cid, str) and cid and not _bad_text(cid) and len(cid) <= 40:
        return escape_controls(cid)  # the error line reaches a terminal
    return None


def _where(node: yaml.Node | None, data: Any, path: str) -> str:
    """``criterion I3: line 12: $.criteria[3].rule.min``: everything that locates a problem."""
    line = yaml_line(node, path)
    cid = _criterion_id(data, path)
    return (f"criterion {cid}: " if cid else "") + (f"line {line}: " if line else "") + path


def _rules_documents(path: Path) -> list[tuple[Any, yaml.Node, str]]:
    """(data, node, location prefix) per document: ``document 2: `` when there are several."""
    text = _read_text(path, MAX_RULES_BYTES, "a rules file")
    docs = _yaml_load(text, str(path))
    if not docs:
        raise InputError(_NOT_RULES, str(path))
    several = len(docs) > 1
    return [(d, n, f"document {k}: " if several else "") for k, (d, n) in enumerate(docs, 1)]


_NOT_RULES = "expected a mapping with schema_version, trial and criteria"


def _model_problems(exc: ValidationError, data: Any) -> list[tuple[str, str]]:
    """Pydantic's problems, with a duplicate-id complaint moved from ``$`` to the criterion."""
    from .checks import duplicate_ids

    out = []
    for where, msg in validation_problems(exc):
        if where == "$" and "is used twice" in msg:
            out.extend((p.path, p.message) for p in duplicate_ids(data))
        else:
            out.append((where, msg))
    return out


def _check_document(data: Any, node: yaml.Node) -> tuple[RuleSet | None, list[tuple[str, str]]]:
    """One document's rules, or its shape problems as (located place or "", message)."""
    if not isinstance(data, dict):
        return None, [("", _NOT_RULES)]
    bad = tree_problem(data)
    if bad:
        return None, [(_where(node, data, bad[0]), bad[1])]
    try:
        return RuleSet.model_validate(data), []
    except ValidationError as exc:
        return None, [(_where(node, data, w), m) for w, m in _model_problems(exc, data)]


def _located(path: Path, prefix: str, where: str, message: str) -> InputError:
    """The error for a problem at ``where`` in the document named by ``prefix``."""
    return InputError(message, str(path), (prefix + where).removesuffix(": ") or None)


def load_rules_all(path: str | Path) -> list[RuleSet | InputError]:
    """Every trial in a rules file, one a YAML document; a bad document is its ``InputError``.

    Raises ``InputError`` when the file itself cannot be read or is not YAML.
    """
    path = Path(path)
    out: list[RuleSet | InputError] = []
    for data, node, prefix in _rules_documents(path):
        ruleset, problems = _check_document(data, node)
        if ruleset is not None:
            out.append(ruleset)
            continue
        where, msg = problems[0]
        more = f" (and {len(problems) - 1} more problem(s); run `eligibility validate`)"
        out.append(_located(path, prefix, where, msg + (more if len(problems) > 1 else "")))
    return out


def load_rules(path: str | Path) -> RuleSet:
    """Load and validate a rules file (``rules/NCT….yaml``) that holds one trial."""
    items = load_rules_all(path)
    if len(items) > 1:
        raise InputError(
            f"holds {len(items)} trials (YAML documents); load_rules_all reads them", str(path)
        )
    if isinstance(items[0], InputError):
        raise items[0]
    return items[0]


def rules_problems(path: str | Path, notes: list[str] | None = None) -> list[str]:
    """Every problem in a rules file, one located line each (for ``eligibility validate``).

    Shape problems (pydantic) come first; when a document has the right shape, the semantic
    checks of ``checks.semantic_problems`` follow (names the vocabulary does not know, units that
    do not convert, spans that miss the source). ``notes`` collects what could not be checked
    (a source record not found): lines that are not problems. Never raises: an unexpected
    failure is itself reported.
    """
    path = Path(path)
    try:
        docs = _rules_documents(path)
    except InputError as exc:
        return [str(exc)]
    out = []
    try:
        for data, node, prefix in docs:
            ruleset, found = _check_document(data, node)
            if ruleset is not None:
                found = [
                    (_where(node, data, p.path), p.message)
                    for p in _semantic(path, ruleset, prefix, notes)
                ]
            out.extend(str(_located(path, prefix, where, msg)) for where, msg in found)
        return out
    except Exception as exc:  # validate must report, never crash; this is a bug to fix
        return [f"{path}: internal error while checking: {type(exc).__name__}: {exc}"]


def _semantic(path: Path, ruleset: RuleSet, prefix: str, notes: list[str] | None) -> list[Any]:
    """The semantic problems; the span checks only when the source record is found."""
    from .checks import find_source, semantic_problems

    source = None
    if any(c.span is not None for c in ruleset.criteria):
        source = find_source(path, ruleset.trial.source, ruleset.trial.id)
        if source.note and notes is not None:
            notes.append(f"{path}: {prefix}note: {source.note}")
    return semantic_problems(ruleset, source.text if source else None)


# --- JSON profiles ------------------------------------------------------------------------


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {_shown(k)}")
        out[k] = v
    return out


def parse_json(text: str, file: str, line: int | None = None) -> Any:
    """Strict JSON: no NaN/Infinity, no duplicate keys (either would change a result silently).

    Also refused: nesting deeper than ``MAX_DEPTH``, numbers that overflow to infinity, control
    characters and unpaired surrogates in strings. ``line`` is the JSONL line, if any.
    """
    at = f"line {line}" if line else None
    overflow = False

    def number(literal: str) -> float:
        nonlocal overflow
        value = float(literal)
        overflow = overflow or not math.isfinite(value)
        return value

    try:
        data = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=number,
            object_pairs_hook=_no_duplicates,
        )
    except json.JSONDecodeError as exc:
        where = at or f"line {exc.lineno}, column {exc.colno}"
        raise InputError(f"malformed JSON: {exc.msg}", file, where) from None
    except RecursionError:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", file, at) from None
    except ValueError as exc:  # from the hooks above, or an integer of over 4300 digits
        raise InputError(f"malformed JSON: {str(exc).split(';')[0]}", file, at) from None
    if overflow or json_suspect(text):
        bad = tree_problem(data)
        if bad:
            raise InputError(bad[1], file, f"{at}: {bad[0]}" if at else bad[0])
    return data


def json_nesting_problem(text: str, max_depth: int = MAX_DEPTH) -> str | None:
    """The profiles' nesting error when JSON text nests more than ``max_depth`` containers.

    For readers that do not walk with ``tree_problem`` (trial records): checked before
    ``json.loads``, so deep input is refused with the same limit, never a ``RecursionError``.
    """
    if text.count("[") + text.count("{") <= max_depth or _deepest(text) <= max_depth:
        return None
    return f"nested deeper than {max_depth} levels"


def json_outside_strings(text: str) -> str:
    """JSON text with its strings cut out: what is left are the structure's characters."""
    return _JSON_STRING.sub("", text)


def _deepest(text: str) -> int:
    depth = deepest = 0
    for bracket in _BRACKET.findall(json_outside_strings(text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


# Raw JSON text can hold a bad character only escaped, or raw outside the C0 range (the decoder
# refuses raw C0 controls). Checking the text at C speed keeps the per-node walk of
# ``tree_problem`` off the path of clean profiles.
_RAW_BAD = re.compile(r"[\x7f-\x9f\ud800-\udfff]")
_ESCAPED_BAD = re.compile(r"\\(?:u(?:00[01]|007f|00[89]|d[89a-f])|[bf])", re.IGNORECASE)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def json_suspect(text: str) -> bool:
    """True when ``tree_problem`` must look: a suspicious character, or deep nesting."""
    if "\\" in text and _ESCAPED_BAD.search(text):
        return True
    if "\x7f" in text or (not text.isascii() and _RAW_BAD.search(text)):  # DEL is ASCII
        return True
    if text.count("[") + text.count("{") < MAX_DEPTH:
        return False
    return _deepest(text) >= MAX_DEPTH


_JSON_TYPE = {dict: "an object", list: "an array", str: "a string", bool: "true/false",
              int: "a number", float: "a number", type(None): "null"}  # fmt: skip


def patient_from_data(data: Any, file: str, where: str | None = None) -> Patient:
    """Validate one parsed profile; ``where`` prefixes paths (``line 3``, ``$[2]``)."""
    if not isinstance(data, dict):
        got = _JSON_TYPE.get(type(data), type(data).__name__)
        raise InputError(f"expected a JSON object (one patient profile), got {got}", file, where)
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        if _fhir.is_fhir(data):  # a FHIR line in a JSONL file: say where FHIR is read
            msg = "a FHIR resource; FHIR NDJSON is read from .ndjson files"
            raise InputError(msg, file, where) from None
        problems = validation_problems(exc)
        path, msg = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        if where and where.startswith("$"):
            path = where + path[1:]  # $[2] + $.labs[0] -> $[2].labs[0]
        elif where:
            path = f"{where}: {path}"
        raise InputError(msg + more, file, path) from None


def load_patient(path: str | Path) -> Patient:
    """Load and validate one patient profile (JSON), or the one Patient of a FHIR resource."""
    path = Path(path)
    text = _read_text(path, MAX_JSON_BYTES, "a JSON file")
    data = parse_json(text, str(path))
    if _fhir.is_fhir(data):
        items = _fhir_profiles(data, str(path))
        if len(items) > 1:
            raise InputError(f"holds {len(items)} patients; iter_patients reads them", str(path))
        if isinstance(items[0], InputError):
            raise items[0]
        return items[0]
    return patient_from_data(data, str(path))


def _fhir_profiles(data: dict[str, Any], file: str) -> list[Patient | InputError]:
    """FHIR input (a Bundle or Patient): its module and models load only now."""
    from .fhir.read import from_json

    return from_json(data, file)


STDIN = Path("-")
"""Standard input as a profile source (JSONL), from ``-`` on the command line."""


def source_name(path: Path) -> str:
    """How a profile source is named in rows and messages."""
    return "<stdin>" if path == STDIN else str(path)


def is_jsonl(path: Path) -> bool:
    """JSONL (one profile a line): ``.jsonl``, standard input, or a pipe or device with
    another suffix (``/dev/stdin``, ``<(…)``): a stream can be read once, line by line."""
    if path == STDIN or path.suffix.lower() == ".jsonl":
        return True
    if path.suffix.lower() == ".json":
        return False
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextmanager
def _open_binary(path: Path) -> Iterator[IO[bytes]]:
    if path == STDIN:
        yield sys.stdin.buffer
        return
    with path.open("rb") as fh:
        yield fh


class _EndlessLine(Exception):
    """No line end within ``MAX_JSONL_SKIP_BYTES`` after an over-long line."""


def _jsonl_lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) per line, ``None`` for a line over the limit (skipped unread)."""
    with _open_binary(path) as fh:
        n = 0
        while True:
            chunk = fh.readline(MAX_JSONL_LINE_BYTES + 1)
            if not chunk:
                return
            n += 1
            if len(chunk) > MAX_JSONL_LINE_BYTES and not chunk.endswith(b"\n"):
                skipped = len(chunk)
                while chunk and not chunk.endswith(b"\n"):
                    if skipped > MAX_JSONL_SKIP_BYTES:
                        raise _EndlessLine(n)
                    chunk = fh.readline(MAX_JSONL_LINE_BYTES)
                    skipped += len(chunk)
                yield n, None
            else:
                yield n, chunk


def iter_patients(path: str | Path, *, fast: bool = False) -> Iterator[Patient | InputError]:
    """Profiles from JSON (one or a list), JSONL or FHIR (a Bundle or Patient, a Bulk Data
    export); a bad record is yielded as its error.

    ``fast``: a clean JSONL line is read by ``patient_fast.read_clean`` into structs with the
    same attributes (for cohort runs); any other line, and JSON files, by the models here.
    """
    path = Path(path)
    if path != STDIN and _fhir.is_bulk(path):
        from .fhir.read import iter_bulk

        yield from iter_bulk(path)
        return
    if is_jsonl(path):
        if fast:
            from .patient_fast import read_clean
        file = source_name(path)
        seen = False
        try:
            for n, raw in _jsonl_lines(path):
                where = f"line {n}"
                if raw is None:
                    seen = True
                    limit = _size(MAX_JSONL_LINE_BYTES)
                    yield InputError(f"line is longer than the {limit} limit", file, where)
                    continue
                try:
                    line = _decode(raw, file, where) if n == 1 else _decode_line(raw, file, where)
                    if not line.strip():
                        continue
                    seen = True
                    clean = read_clean(line) if fast else None
                    if clean is not None:
                        yield clean  # type: ignore[misc]
                        continue
                    yield patient_from_data(parse_json(line, file, n), file, where)
                except InputError as exc:
                    seen = True
                    yield exc
        except OSError as exc:
            yield InputError(f"cannot read: {exc.strerror or exc}", file)
            return
        except _EndlessLine as exc:
            msg = (
                f"line is longer than the {_size(MAX_JSONL_LINE_BYTES)} limit and has no end "
                f"within {_size(MAX_JSONL_SKIP_BYTES)}; the rest of the file is not read"
            )
            yield InputError(msg, file, f"line {exc.args[0]}")
            return
        if not seen:
            yield InputError("file is empty", file)
        return
    try:
        text = _read_text(path, MAX_JSON_BYTES, "a JSON file")
        data = parse_json(text, str(path))
    except InputError as exc:
        yield exc
        return
    if _fhir.is_fhir(data):
        yield from _fhir_profiles(data, str(path))
        return
    if isinstance(data, list):
        if not data:
            yield InputError("the list of profiles is empty", str(path))
        for i, item in enumerate(data):
            try:
                yield patient_from_data(item, str(path), f"$[{i}]")
            except InputError as exc:
                yield exc
    else:
        try:
            yield patient_from_data(data, str(path))
        except InputError as exc:
            yield exc


def _decode_line(raw: bytes, file: str, where: str) -> str:
    """A JSONL line after the first: plain UTF-8 (a BOM mid-file is an error, not skipped)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        msg = f"not UTF-8 text (byte 0x{bad} at column {exc.start + 1})"
        raise InputError(msg, file, where) from None
