"""Read trial records in the formats coordinators actually have, and find the criteria blocks.

Formats are detected from the content (and, for JSON Lines, the file suffix):

* ``ctgov_classic`` - the classic ClinicalTrials.gov study page saved as text
  ("ClinicalTrials.gov Identifier: NCT…", "Ages Eligible for Study: | 18 Years to 75 Years |");
* ``registry_page`` - the newer registry page saved as text ("NCT ID: NCT…",
  "Minimum Eligible Age" on its own line, the value after a blank line);
* ``ctgov_api_v2`` - ClinicalTrials.gov API v2 study JSON: one study, a list of studies, or
  ``{"studies": [...]}``;
* ``corpus_jsonl`` - the shared corpus line format (``nct_id``, ``inclusion_text``, …), one object
  a line in a ``.jsonl`` file, or one object / a list of them in a ``.json`` file;
* ``plain_text`` - any text with "Inclusion Criteria" / "Exclusion Criteria" headings.

Every record carries ``text``, the string that all its offsets point into:

* text pages: the whole file, with line ends normalised to ``\\n``;
* API v2 JSON: the ``eligibilityCriteria`` string, as published;
* corpus lines: the synthetic text ``"Inclusion Criteria:\\n{inclusion_text}"`` followed, when
  ``exclusion_text`` is not blank, by ``"\\n\\nExclusion Criteria:\\n{exclusion_text}"``.

A block runs from its heading line (included, so the heading is accounted for) to the last
non-blank character before the next section heading or the end of the criteria area. Text before
the first heading is an inclusion block (the corpus' ``no_headings(all_in_inclusion)`` convention),
except in plain text files that do have headings, where it is a preamble whose first line is the
title. Headings and blocks are found by ``eligibility.headings``, the same for every format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from eligibility.errors import IngestError
from eligibility.headings import (
    Block,
    _content,
    _iter_lines,
    find_blocks,
    heading_group,
    heading_kind,
    heading_prefix,
)
from eligibility.loaders import json_nesting_problem
from eligibility.model import Span

RecordFormat = Literal[
    "ctgov_classic", "registry_page", "ctgov_api_v2", "corpus_jsonl", "plain_text"
]
SexEligible = Literal["all", "female", "male"]

__all__ = [
    "AgeLimit",
    "Block",
    "RecordError",
    "TrialRecord",
    "age_in_years",
    "find_blocks",
    "heading_group",
    "heading_kind",
    "heading_prefix",
    "iter_record_text",
    "parse_record_text",
    "read_record",
    "read_records",
    "source_text",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgeLimit(_Frozen):
    """A registry age bound: the string as published, in years, and where it stands in ``text``.

    ``years`` is None when the string is not a number with a time unit; ``span`` is None when the
    value came from a structured field (JSON) rather than from the record's text.
    """

    raw: str
    years: float | None
    span: Span | None = None


class TrialRecord(_Frozen):
    """One trial as read from a file: identity, structured eligibility fields, criteria blocks."""

    id: str | None
    title: str | None
    source: str
    format: RecordFormat
    text: str
    blocks: list[Block]
    min_age: AgeLimit | None = None
    max_age: AgeLimit | None = None
    sex: SexEligible | None = None
    sex_span: Span | None = None
    healthy_volunteers: bool | None = None
    # the registry's Conditions field ("Lung Cancer"): the trial's own disease where the title
    # names another ("… Treatment of Pleural Effusion")
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record that could not be read; reading goes on with the next one.

    ``internal`` marks a record the parser failed on (a bug), not one that is malformed: a CLI
    reports both and goes on, but exits 4 rather than 2 for a bug.
    """

    file: str
    line: int | None
    where: str | None
    message: str
    internal: bool = False

    def exception(self) -> IngestError:
        where = self.where if self.where else (f"line {self.line}" if self.line else None)
        return IngestError(self.file, where, self.message)

    def __str__(self) -> str:
        return str(self.exception())


# --------------------------------------------------------------------------- field values

_AGE_RE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(years?|yrs?|months?|mos?|weeks?|wks?|days?|hours?|hrs?|minutes?|mins?)"
    r"\.?\s*$",
    re.IGNORECASE,
)
_UNIT_YEARS = {
    "y": 1.0,
    "mo": 1 / 12,
    "w": 7 / 365.25,
    "d": 1 / 365.25,
    "h": 1 / 8766,
    "mi": 1 / 525_960,
}
_NO_AGE = frozenset({"", "n/a", "na", "none", "no limit", "not applicable"})


def age_in_years(raw: str) -> float | None:
    """ "18 Years" → 18.0, "6 Months" → 0.5; None for anything that is not number + time unit."""
    m = _AGE_RE.match(raw)
    if m is None:
        return None
    unit = m.group(2).lower()
    key = "mo" if unit.startswith("mo") else "mi" if unit.startswith("mi") else unit[0]
    factor = _UNIT_YEARS[key]
    return round(float(m.group(1)) * factor, 6)


def _age_limit(raw: str | None, span: Span | None = None) -> AgeLimit | None:
    if raw is None or raw.strip().lower() in _NO_AGE:
        return None
    return AgeLimit(raw=raw.strip(), years=age_in_years(raw), span=span)


def _sex(raw: str | None) -> SexEligible | None:
    value = (raw or "").strip().lower()
    if value in ("all", "both"):
        return "all"
    if value in ("female", "male"):
        return value  # type: ignore[return-value]  # narrowed by the test above
    return None


def _yes_no(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        value = raw.strip().lower()
        if value in ("yes", "true", "accepts healthy volunteers"):
            return True
        if value in ("no", "false"):
            return False
    return None


def _first_line(text: str) -> tuple[int, int] | None:
    for ls, le in _iter_lines(text, 0, len(text)):
        cs, ce = _content(text, ls, le)
        if cs < ce:
            return cs, ce
    return None


# --------------------------------------------------------------------------- classic page

_CLASSIC_ID_RE = re.compile(r"ClinicalTrials\.gov Identifier:\s*\|?\s*(NCT\d{8})")
_CLASSIC_FIELD_RE = re.compile(
    r"^[ \t]*(?P<name>Ages? Eligible for Study|Sexes Eligible for Study|Genders? Eligible for Study"
    r"|Gender|Accepts Healthy Volunteers):[ \t]*\|?(?P<val>[^|\n]*)",
    re.MULTILINE,
)
_AGE_VALUE = r"\d+(?:\.\d+)?\s+(?:Years?|Months?|Weeks?|Days?|Hours?|Minutes?)"
_CLASSIC_AGE_RES = (
    re.compile(rf"(?P<min>{_AGE_VALUE})\s+to\s+(?P<max>{_AGE_VALUE})", re.I),
    re.compile(rf"(?P<min>{_AGE_VALUE})\s+and\s+(?:older|over|above)", re.I),
    re.compile(rf"up\s+to\s+(?P<max>{_AGE_VALUE})", re.I),
    re.compile(rf"(?P<max>{_AGE_VALUE})\s+and\s+(?:younger|under|below)", re.I),
)
_CLASSIC_END_RE = re.compile(
    r"^[ \t]*(?:To learn more about this study|Please refer to this study by its"
    r"|Contacts and Locations|More Information|Layout table|Responsible Party:|Publications)",
    re.MULTILINE,
)


def _parse_classic(text: str, source: str) -> TrialRecord:
    m = _CLASSIC_ID_RE.search(text)
    nct = m.group(1) if m else None
    first = _first_line(text)
    title = text[first[0] : first[1]] if first else None
    min_age = max_age = None
    sex: SexEligible | None = None
    sex_span = None
    hv = None
    area_start = 0
    for f in _CLASSIC_FIELD_RE.finditer(text):
        name = f.group("name").lower()
        vs, ve = _content(text, f.start("val"), f.end("val"))
        val, off = text[vs : min(ve, vs + 200)], vs
        if name.startswith("age"):
            for pattern in _CLASSIC_AGE_RES:
                a = pattern.search(val)
                if a is None:
                    continue
                for key in ("min", "max"):
                    if key in pattern.groupindex and a.group(key):
                        limit = _age_limit(
                            a.group(key), Span(start=off + a.start(key), end=off + a.end(key))
                        )
                        if key == "min":
                            min_age = limit
                        else:
                            max_age = limit
                break
        elif name.startswith(("sex", "gender")):
            sex = _sex(val)
            sex_span = Span(start=vs, end=ve) if sex else None
        else:
            hv = _yes_no(val)
        line_end = text.find("\n", f.end())
        area_start = max(area_start, len(text) if line_end < 0 else line_end)
    end_m = _CLASSIC_END_RE.search(text, area_start)
    area_end = end_m.start() if end_m else len(text)
    return TrialRecord(
        id=nct,
        title=title,
        source=source,
        format="ctgov_classic",
        text=text,
        blocks=find_blocks(text, area_start, area_end),
        min_age=min_age,
        max_age=max_age,
        sex=sex,
        sex_span=sex_span,
        healthy_volunteers=hv,
    )


# --------------------------------------------------------------------------- registry page

_REGISTRY_ID_RE = re.compile(r"^NCT ID:\s*(NCT\d{8})", re.MULTILINE)
_REGISTRY_LABELS = (
    "Minimum Eligible Age",
    "Maximum Eligible Age",
    "Eligible Sex",
    "Accepts Healthy Volunteers",
)
_REGISTRY_LABEL_RE = re.compile(
    r"^[ \t]*(?P<name>" + "|".join(_REGISTRY_LABELS) + r"|Eligibility Criteria)[ \t]*$",
    re.MULTILINE,
)
_REGISTRY_BOILERPLATE = "Check the participation requirements"


def _next_value(text: str, pos: int) -> tuple[int, int] | None:
    """Span of the first non-blank line after ``pos`` (the registry puts values there)."""
    for ls, le in _iter_lines(text, pos, len(text)):
        cs, ce = _content(text, ls, le)
        if cs < ce:
            return cs, ce
    return None


def _parse_registry(text: str, source: str) -> TrialRecord:
    m = _REGISTRY_ID_RE.search(text)
    first = _first_line(text)
    values: dict[str, tuple[int, int] | None] = {}
    area_start: int | None = None
    area_end: int | None = None
    for f in _REGISTRY_LABEL_RE.finditer(text):
        name = f.group("name")
        if name == "Eligibility Criteria":
            if area_start is None:
                area_start = f.end() + 1
                value = _next_value(text, area_start)
                if value and text.startswith(_REGISTRY_BOILERPLATE, value[0]):
                    area_start = value[1]
            continue
        if name not in values:
            values[name] = _next_value(text, f.end() + 1)
            if area_start is not None and area_end is None:
                area_end = f.start()

    def value_of(name: str) -> tuple[str | None, Span | None]:
        span = values.get(name)
        if span is None:
            return None, None
        return text[span[0] : span[1]], Span(start=span[0], end=span[1])

    min_raw, min_span = value_of("Minimum Eligible Age")
    max_raw, max_span = value_of("Maximum Eligible Age")
    sex_raw, sex_span = value_of("Eligible Sex")
    hv_raw, _ = value_of("Accepts Healthy Volunteers")
    sex = _sex(sex_raw)
    lo = area_start if area_start is not None else 0
    return TrialRecord(
        id=m.group(1) if m else None,
        title=text[first[0] : first[1]] if first else None,
        source=source,
        format="registry_page",
        text=text,
        blocks=find_blocks(text, lo, area_end if area_end is not None else len(text)),
        min_age=_age_limit(min_raw, min_span),
        max_age=_age_limit(max_raw, max_span),
        sex=sex,
        sex_span=sex_span if sex else None,
        healthy_volunteers=_yes_no(hv_raw),
    )


# --------------------------------------------------------------------------- plain text

_NCT_IN_NAME_RE = re.compile(r"NCT\d{8}")


def _parse_plain(text: str, source: str) -> TrialRecord:
    blocks = find_blocks(text, leading=None)
    title = None
    if blocks:
        first = _first_line(text)
        line = text[first[0] : first[1]] if first else ""
        if first and first[1] <= blocks[0].start and heading_kind(line) is None:
            title = line
    else:
        blocks = find_blocks(text)
    m = _NCT_IN_NAME_RE.search(Path(source).name)
    return TrialRecord(
        id=m.group(0) if m else None,
        title=title,
        source=source,
        format="plain_text",
        text=text,
        blocks=blocks,
    )


# --------------------------------------------------------------------------- JSON


class _Bad(Exception):
    """A value of the wrong shape at a JSON path; becomes a RecordError."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]`` if present and of ``kind`` (None when absent or null), else _Bad."""
    value = obj.get(key)
    if value is None or isinstance(value, kind):
        return value
    expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
    raise _Bad(f"{where}.{key}", f"expected {expected}, got {_type_name(value)}")


def _strings(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """``obj[key]`` as a tuple of strings (empty when absent or null), else _Bad."""
    value = _get(obj, key, list, where) or []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _Bad(f"{where}.{key}[{i}]", f"expected str, got {_type_name(item)}")
    return tuple(value)


def _study_record(study: Any, source: str, where: str) -> TrialRecord:
    if not isinstance(study, dict):
        raise _Bad(where, f"expected a study object, got {_type_name(study)}")
    ps = _get(study, "protocolSection", dict, where) or {}
    ps_where = f"{where}.protocolSection"
    ident = _get(ps, "identificationModule", dict, ps_where) or {}
    elig = _get(ps, "eligibilityModule", dict, ps_where) or {}
    conds = _get(ps, "conditionsModule", dict, ps_where) or {}
    id_where, el_where = f"{ps_where}.identificationModule", f"{ps_where}.eligibilityModule"
    title = _get(ident, "briefTitle", str, id_where) or _get(ident, "officialTitle", str, id_where)
    text = _get(elig, "eligibilityCriteria", str, el_where) or ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sex_raw = _get(elig, "sex", str, el_where)
    if sex_raw is not None and _sex(sex_raw) is None:
        raise _Bad(f"{el_where}.sex", f"expected ALL, FEMALE or MALE, got {sex_raw!r}")
    return TrialRecord(
        id=_get(ident, "nctId", str, id_where),
        title=title,
        source=source,
        format="ctgov_api_v2",
        text=text,
        blocks=find_blocks(text),
        min_age=_age_limit(_get(elig, "minimumAge", str, el_where)),
        max_age=_age_limit(_get(elig, "maximumAge", str, el_where)),
        sex=_sex(sex_raw),
        healthy_volunteers=_yes_no(_get(elig, "healthyVolunteers", (bool, str), el_where)),
        conditions=_strings(conds, "conditions", f"{ps_where}.conditionsModule"),
    )


def corpus_text(inclusion_text: str, exclusion_text: str) -> tuple[str, list[Block]]:
    """The synthetic text of a corpus line and its blocks (see the module docstring)."""
    inc = inclusion_text.replace("\r\n", "\n")
    exc = exclusion_text.replace("\r\n", "\n")
    text = f"Inclusion Criteria:\n{inc}"
    exc_at = None
    if exc.strip():
        exc_at = len(text) + 2
        text += f"\n\nExclusion Criteria:\n{exc}"
    blocks = find_blocks(text, 0, exc_at - 2 if exc_at is not None else len(text))
    if exc_at is not None:
        blocks += find_blocks(text, exc_at, len(text), leading="exclusion")
    return text, blocks


def _corpus_record(obj: dict[str, Any], source: str, where: str) -> TrialRecord:
    inc = _get(obj, "inclusion_text", str, where) or ""
    exc = _get(obj, "exclusion_text", str, where) or ""
    text, blocks = corpus_text(inc, exc)
    sex_raw = _get(obj, "sex", str, where)
    return TrialRecord(
        id=_get(obj, "nct_id", str, where),
        title=_get(obj, "title", str, where),
        source=source,
        format="corpus_jsonl",
        text=text,
        blocks=blocks,
        min_age=_age_limit(_get(obj, "min_age", str, where)),
        max_age=_age_limit(_get(obj, "max_age", str, where)),
        sex=_sex(sex_raw),
        healthy_volunteers=_yes_no(_get(obj, "healthy_volunteers", (bool, str), where)),
        conditions=_strings(obj, "conditions", where),
    )


def _json_records(doc: Any, source: str, where: str = "$") -> Iterator[TrialRecord | _Bad]:
    """Records in a parsed JSON value; a bad study is yielded as _Bad and the rest still read."""
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from _json_records(item, source, f"{where}[{i}]")
        return
    if not isinstance(doc, dict):
        yield _Bad(where, f"expected a study object or a list, got {_type_name(doc)}")
        return
    try:
        if "studies" in doc:
            studies = _get(doc, "studies", list, where) or []
            yield from _json_records(studies, source, f"{where}.studies")
        elif "protocolSection" in doc:
            yield _study_record(doc, source, where)
        elif "inclusion_text" in doc or "nct_id" in doc:
            yield _corpus_record(doc, source, where)
        else:
            yield _Bad(where, "not a trial record: no protocolSection, studies or inclusion_text")
    except _Bad as bad:
        yield bad


# --------------------------------------------------------------------------- entry points

_JSONL_SUFFIXES = (".jsonl", ".ndjson")


def _detect_text(text: str) -> RecordFormat:
    if _REGISTRY_ID_RE.search(text) or (
        re.search(r"^Minimum Eligible Age[ \t]*$", text, re.MULTILINE)
        and re.search(r"^Eligibility Criteria[ \t]*$", text, re.MULTILINE)
    ):
        return "registry_page"
    if _CLASSIC_ID_RE.search(text) or re.search(r"^Ages? Eligible for Study:", text, re.MULTILINE):
        return "ctgov_classic"
    return "plain_text"


def _jsonl_line(line: str, lineno: int, file: str) -> Iterator[TrialRecord | RecordError]:
    deep = json_nesting_problem(line)
    if deep:
        yield RecordError(file, lineno, f"line {lineno}", deep)
        return
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        yield RecordError(file, lineno, f"line {lineno} column {exc.colno}", exc.msg)
        return
    for item in _json_records(doc, f"{file}:{lineno}"):
        if isinstance(item, _Bad):
            yield RecordError(file, lineno, f"line {lineno}: {item.where}", item.message)
        else:
            yield item


def iter_record_text(text: str, source: str) -> Iterator[TrialRecord | RecordError]:
    """Records in ``text`` (format detected), with a RecordError for each one that is bad."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    head = text.lstrip()[:1]
    if source.lower().endswith(_JSONL_SUFFIXES):
        for lineno, line in enumerate(text.split("\n"), 1):
            if line.strip():
                yield from _jsonl_line(line, lineno, source)
        return
    if (
        head == "{"
        or (head == "[" and source.lower().endswith(".json"))
        or (head == "[" and _looks_like_json(text))
    ):
        deep = json_nesting_problem(text)
        if deep:
            yield RecordError(source, None, None, deep)
            return
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            lines = [ln for ln in text.split("\n") if ln.strip()]
            if len(lines) > 1 and all(ln.lstrip().startswith("{") for ln in lines):
                for lineno, line in enumerate(text.split("\n"), 1):
                    if line.strip():
                        yield from _jsonl_line(line, lineno, source)
                return
            yield RecordError(
                source, exc.lineno, f"line {exc.lineno} column {exc.colno}", f"bad JSON: {exc.msg}"
            )
            return
        for item in _json_records(doc, source):
            if isinstance(item, _Bad):
                yield RecordError(source, None, item.where, item.message)
            else:
                yield item
        return
    fmt = _detect_text(text)
    if fmt == "registry_page":
        yield _parse_registry(text, source)
    elif fmt == "ctgov_classic":
        yield _parse_classic(text, source)
    else:
        yield _parse_plain(text, source)


def _looks_like_json(text: str) -> bool:
    if json_nesting_problem(text):
        return True  # read as JSON, to be refused with the nesting limit
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def parse_record_text(text: str, source: str) -> list[TrialRecord]:
    """All records in ``text``; raises IngestError at the first bad one."""
    records: list[TrialRecord] = []
    for item in iter_record_text(text, source):
        if isinstance(item, RecordError):
            raise item.exception()
        records.append(item)
    return records


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(str(path), f"byte {exc.start}", "not UTF-8 text") from exc
    except OSError as exc:
        raise IngestError(str(path), None, exc.strerror or str(exc)) from exc


def read_records(path: Path) -> Iterator[TrialRecord | RecordError]:
    """Stream the records of a file; bad records come out as RecordError and reading goes on.

    Raises IngestError only when the file itself cannot be read. JSON Lines files are read a line
    at a time, so a large corpus is never held in memory whole.
    """
    file = str(path)
    if not file.lower().endswith(_JSONL_SUFFIXES):
        yield from iter_record_text(_read_text(path), file)
        return
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for lineno, line in enumerate(handle, 1):
                if line.strip():
                    yield from _jsonl_line(line, lineno, file)
    except UnicodeDecodeError as exc:
        raise IngestError(file, None, "not UTF-8 text") from exc
    except OSError as exc:
        raise IngestError(file, None, exc.strerror or str(exc)) from exc


def read_record(path: str | Path) -> list[TrialRecord]:
    """The records of a file (one per page, several in a JSON list); IngestError if one is bad."""
    path = Path(path)
    return parse_record_text(_read_text(path), str(path))


def source_text(text: str, file: str, trial_id: str | None = None, line: int | None = None) -> str:
    """The text that spans of rules parsed from ``file`` point into, rebuilt from its contents.

    It is read exactly as ``parse`` read it (``iter_record_text``: BOM dropped, line ends made
    ``\\n``, for JSON the ``eligibilityCriteria`` string), so ``validate`` checks a span against
    the very text it was cut from. In a file of several records the one on JSONL ``line`` is
    taken, else the one with ``trial_id``, else the only one; IngestError when none matches.
    """
    records = [r for r in iter_record_text(text, file) if isinstance(r, TrialRecord)]
    if line is not None:
        records = [r for r in records if r.source == f"{file}:{line}"]
    if len(records) > 1:
        records = [r for r in records if r.id == trial_id]
    if len(records) == 1:
        return records[0].text
    at = f" on line {line}" if line is not None else ""
    found = "several records" if records else "no record"
    raise IngestError(file, None, f"{found} for {trial_id or 'this trial'}{at}")
