"""Read rules (YAML) and patient profiles (JSON) into models, or fail with one located line.

Every failure becomes an ``InputError`` naming the file, the field path (``$.labs[0].value``,
with the YAML line where known) and the problem in words a coordinator can act on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError
from .model import RuleSet
from .patient import Patient

_RULE_KINDS = {
    "age", "sex", "performance", "child_pugh", "lab", "vital", "measure", "condition",
    "therapy", "pregnancy", "breastfeeding", "manual", "all", "any", "not",
}  # fmt: skip


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
            out += f".{part}"
        prev = part
    return out


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if err.get("type") == "extra_forbidden":
        return "unknown field (not part of the format; check the spelling)"
    if err.get("type") == "missing":
        return "required field is missing"
    if (
        "input" in err
        and err.get("type") not in {"missing"}
        and not isinstance(err["input"], dict | list)
    ):
        return f"{msg} (got {err['input']!r})"
    return msg


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(path, message) for each problem pydantic found."""
    return [(json_path(tuple(e["loc"])), _message(e)) for e in exc.errors()]  # type: ignore[arg-type]


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", str(path)) from None
    if not text.strip():
        raise InputError("file is empty", str(path))
    return text


def _yaml_line(text: str, path: str) -> int | None:
    """Best-effort 1-based line of a ``$.a[0].b`` path in a YAML document."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    import re

    for key in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
        name, index = key
        if node is None:
            break
        if name and isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == name), None)
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            node = node.value[int(index)]
        else:
            break
    return node.start_mark.line + 1 if node is not None else None


def _validate(model: type[BaseModel], data: Any, file: str, text: str | None) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc)
        where, msg = problems[0]
        if text is not None:
            line = _yaml_line(text, where)
            if line:
                where = f"line {line}: {where}"
        more = f" (and {len(problems) - 1} more problem(s); run `eligibility validate`)"
        raise InputError(msg + (more if len(problems) > 1 else ""), file, where) from None


def _yaml_load(text: str, file: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"malformed YAML: {problem}", file, where) from None


def load_rules(path: str | Path) -> RuleSet:
    """Load and validate a rules file (``rules/NCT….yaml``)."""
    path = Path(path)
    text = _read_text(path)
    data = _yaml_load(text, str(path))
    if not isinstance(data, dict):
        raise InputError("expected a mapping with schema_version, trial and criteria", str(path))
    return _validate(RuleSet, data, str(path), text)


def rules_problems(path: str | Path) -> list[str]:
    """Every problem in a rules file, one located line each (for ``eligibility validate``)."""
    path = Path(path)
    try:
        text = _read_text(path)
        data = _yaml_load(text, str(path))
    except InputError as exc:
        return [str(exc)]
    if not isinstance(data, dict):
        return [f"{path}: expected a mapping with schema_version, trial and criteria"]
    try:
        RuleSet.model_validate(data)
    except ValidationError as exc:
        out = []
        for where, msg in validation_problems(exc):
            line = _yaml_line(text, where)
            out.append(f"{path}: {'line ' + str(line) + ': ' if line else ''}{where}: {msg}")
        return out
    return []


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def parse_json(text: str, file: str, line: int | None = None) -> Any:
    """Strict JSON: no NaN/Infinity, no duplicate keys (either would change a result silently)."""
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        where = (
            f"line {(line or 0) + exc.lineno}, column {exc.colno}"
            if line is None
            else f"line {line}"
        )
        raise InputError(f"malformed JSON: {exc.msg}", file, where) from None
    except ValueError as exc:
        raise InputError(f"malformed JSON: {exc}", file, f"line {line}" if line else None) from None


def patient_from_data(data: Any, file: str, where: str | None = None) -> Patient:
    if not isinstance(data, dict):
        raise InputError("expected a JSON object (one patient profile)", file, where)
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc)
        path, msg = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(msg + more, file, f"{where}: {path}" if where else path) from None


def load_patient(path: str | Path) -> Patient:
    """Load and validate one patient profile (JSON)."""
    path = Path(path)
    text = _read_text(path)
    return patient_from_data(parse_json(text, str(path)), str(path))


def iter_patients(path: str | Path) -> Iterator[Patient | InputError]:
    """Profiles from JSON (one or a list) or JSONL; a bad record is yielded as its error."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        try:
            fh = path.open("r", encoding="utf-8")
        except OSError as exc:
            yield InputError(f"cannot read: {exc.strerror}", str(path))
            return
        with fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield patient_from_data(parse_json(line, str(path), n), str(path), f"line {n}")
                except InputError as exc:
                    yield exc
        return
    try:
        text = _read_text(path)
        data = parse_json(text, str(path))
    except InputError as exc:
        yield exc
        return
    if isinstance(data, list):
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
