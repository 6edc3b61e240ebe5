"""Semantic checks of a rules file: what validates by shape but cannot be evaluated as meant.

Pydantic checks each rule on its own (min age above max age, an empty ``any``). These checks
need the vocabulary or the source record: a lab bound on an analyte nobody knows, a unit that
does not convert, a ×ULN bound on something without a normal range, a span that misses the
source, a bound no patient can meet. The evaluator would turn most of these into a permanent
``review`` or ``unknown``; ``eligibility validate`` reports them up front, located by path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from . import vocab
from .errors import IngestError
from .ingest import source_text
from .model import (
    AgeRule,
    AllRule,
    AnyRule,
    ChildPughRule,
    ConditionRule,
    LabRule,
    ManualRule,
    MeasureRule,
    NotRule,
    PerformanceRule,
    Rule,
    RuleSet,
    TherapyRule,
    VitalRule,
)

MAX_SOURCE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """One problem: the field path in the rules file (``$.criteria[3].rule.unit``) and words."""

    path: str
    message: str


def semantic_problems(rules: RuleSet, source_text: str | None = None) -> list[Problem]:
    """Every semantic problem, in file order; ``source_text`` enables the span checks."""
    out: list[Problem] = []
    for i, c in enumerate(rules.criteria):
        base = f"$.criteria[{i}]"
        if not c.text.strip():
            out.append(Problem(f"{base}.text", "criterion text is empty"))
        if c.span is not None and source_text is not None:
            out.extend(_span_problems(c.span.start, c.span.end, c.text, source_text, base))
        for path, rule in _walk(c.rule, f"{base}.rule"):
            out.extend(Problem(path + sub, msg) for sub, msg in _rule_problems(rule))
    return out


def duplicate_ids(data: Any) -> list[Problem]:
    """Criterion ids used more than once, at each repeat, from raw (unvalidated) data."""
    items = data.get("criteria") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    first: dict[str, int] = {}
    out = []
    for i, item in enumerate(items):
        cid = item.get("id") if isinstance(item, dict) else None
        if not isinstance(cid, str):
            continue
        if cid in first:
            out.append(
                Problem(
                    f"$.criteria[{i}].id",
                    f"criterion id {cid!r} is used twice (first at $.criteria[{first[cid]}])",
                )
            )
        else:
            first[cid] = i
    return out


class Source(NamedTuple):
    """A rules file's source record text, or ``note``: why its spans could not be checked."""

    text: str | None
    note: str | None = None


_JSONL_LINE = re.compile(r"(?P<file>.+\.(?:jsonl|ndjson)):(?P<line>\d+)", re.IGNORECASE)


def find_source(rules_path: Path, source: str | None, trial_id: str | None = None) -> Source:
    """The text the spans point into, if ``trial.source`` names a readable record near the rules.

    Only relative paths without ``..`` are followed, looked up beside the rules file first, then
    in its parent (the repository layout ``rules/`` + ``seeds/``) and in the working directory:
    a rules file cannot make ``validate`` read an arbitrary file. The record's text is rebuilt
    by ``ingest.source_text``, the way ``parse`` read it (``file.jsonl:3`` names a JSONL line).
    """
    if not source:
        return Source(None, "no trial.source: spans not checked")
    shown = repr(source if len(source) <= 80 else source[:77] + "...")
    m = _JSONL_LINE.fullmatch(source)
    file, line = (m.group("file"), int(m.group("line"))) if m else (source, None)
    rel = PurePosixPath(file.replace("\\", "/"))
    outside = rel.is_absolute() or ".." in rel.parts or not rel.parts or ":" in rel.parts[0]
    if outside or "\x00" in file:
        return Source(
            None, f"trial.source {shown} is outside the tree: not read, spans not checked"
        )
    here = rules_path.resolve().parent
    for base in (here, here.parent, Path.cwd()):
        candidate = base.joinpath(*rel.parts)
        try:
            if not candidate.is_file():
                continue
            with candidate.open("rb") as fh:
                raw = fh.read(MAX_SOURCE_BYTES + 1)
        except OSError:
            continue
        if len(raw) > MAX_SOURCE_BYTES:
            return Source(None, f"trial.source {shown} is larger than 16 MiB: spans not checked")
        try:
            return Source(source_text(raw.decode("utf-8-sig"), file, trial_id, line))
        except UnicodeDecodeError:
            problem = "is not UTF-8 text"
        except IngestError as exc:
            problem = f"has {exc.message}"
        return Source(None, f"trial.source {shown} {problem}: spans not checked")
    return Source(
        None,
        f"trial.source {shown} not found beside the rules file, in its parent folder or in the "
        "working directory: spans not checked",
    )


# --- walking ------------------------------------------------------------------------------


def _walk(rule: Rule, path: str) -> Iterator[tuple[str, Rule]]:
    """(path, rule) for a rule and every rule nested in it, depth first, in file order."""
    yield path, rule
    if isinstance(rule, AllRule | AnyRule):
        for j, child in enumerate(rule.rules):
            yield from _walk(child, f"{path}.rules[{j}]")
    elif isinstance(rule, NotRule):
        yield from _walk(rule.rule, f"{path}.rule")
    elif isinstance(rule, ManualRule) and rule.evidence is not None:
        yield from _walk(rule.evidence, f"{path}.evidence")


def _span_problems(start: int, end: int, text: str, source: str, base: str) -> list[Problem]:
    if end > len(source):
        return [
            Problem(
                f"{base}.span",
                f"span {start}–{end} is outside the source ({len(source)} characters)",
            )
        ]
    if source[start:end] != text:
        return [Problem(f"{base}.text", f"text differs from the source at span {start}–{end}")]
    return []


def _rule_problems(rule: Rule) -> list[tuple[str, str]]:
    """(sub-path, message) for one rule, not its children."""
    match rule:
        case LabRule():
            return _lab_problems(rule)
        case VitalRule() | MeasureRule():
            a = vocab.analyte(rule.name)
            if a is None:
                return [(".name", f"unknown measurement {rule.name!r} (not in the vocabulary)")]
            return _unit_problems(a, rule.unit)
        case ConditionRule():
            names = [("", rule.condition)] + [(f"[{k}]", e) for k, e in enumerate(rule.except_)]
            return [
                (".condition" if not sub else f".except{sub}",
                 f"unknown condition {name!r} (not in the vocabulary)")
                for sub, name in names
                if vocab.condition(name) is None
            ]  # fmt: skip
        case TherapyRule():
            return [
                (f".agents[{k}]", f"unknown drug or drug class {agent!r} (not in the vocabulary)")
                for k, agent in enumerate(rule.agents)
                if vocab.drug(agent) is None
            ]
        case AgeRule():
            return _age_problems(rule)
        case PerformanceRule():
            return _performance_problems(rule)
        case ChildPughRule():
            return _child_pugh_problems(rule)
        case NotRule() if any(isinstance(r, ManualRule) for _, r in _walk(rule.rule, "")):
            return [
                (
                    ".rule",
                    "`not` of a manual rule: a reviewer's decision would be read inverted; "
                    "state the manual reason positively instead",
                )
            ]
    return []


def _lab_problems(rule: LabRule) -> list[tuple[str, str]]:
    a = vocab.analyte(rule.analyte)
    if a is None:
        return [(".analyte", f"unknown analyte {rule.analyte!r} (not in the vocabulary)")]
    if rule.of is not None:
        if a.category != "lab":
            return [
                (
                    ".of",
                    f"{a.name} is a {a.category} without a laboratory normal range; "
                    f"a multiple of {rule.of} cannot be evaluated",
                )
            ]
        return []
    return _unit_problems(a, rule.unit)


def _unit_problems(a: vocab.Analyte, unit: str | None) -> list[tuple[str, str]]:
    canonical = vocab.unit(a.unit) if a.unit else "1"
    if unit is None:
        if canonical not in (None, "1"):
            return [(".unit", f"no unit given for {a.name} (measured in {a.unit}); write it out")]
        return []
    given = vocab.unit(unit)
    if given is None:
        return [(".unit", f"unknown unit {unit!r}")]
    if given in {vocab.unit(u) for u in a.units}:
        return []
    try:
        vocab.conversion_factor(unit, a.unit, a.id)
    except vocab.UnitError:
        return [(".unit", f"unit {unit} cannot be converted to {a.unit} for {a.name}")]
    return []


def _age_problems(rule: AgeRule) -> list[tuple[str, str]]:
    # An inclusive bound compares completed years, a strict one exact age: "> 18 and ≤ 18"
    # admits 18 years and 1 day to 18 years 364 days; "≥ 18 and < 18" or "> 18 and < 18" no one.
    if (
        rule.min is not None
        and rule.max is not None
        and rule.min == rule.max
        and not rule.max_inclusive
    ):
        return [("", f"no age satisfies both bounds at {rule.min:g} years (one is exclusive)")]
    return []


def _performance_problems(rule: PerformanceRule) -> list[tuple[str, str]]:
    top = 5 if rule.scale == "ecog" else 100
    step = 1 if rule.scale == "ecog" else 10
    lo = rule.min if rule.min is not None else 0
    hi = rule.max if rule.max is not None else top
    values = set(rule.allowed) if rule.allowed is not None else set(range(0, top + 1, step))
    if rule.scale == "karnofsky" and rule.allowed is not None:
        odd = [v for v in rule.allowed if v % 10]
        if odd:
            return [(".allowed", f"Karnofsky is given in steps of 10; {odd[0]} can never match")]
    if not any(lo <= v <= hi for v in values if v % step == 0):
        return [("", f"no {rule.scale} value satisfies the rule's allowed values and bounds")]
    return []


_CP_SCORES = {"A": range(5, 7), "B": range(7, 10), "C": range(10, 16)}


def _child_pugh_problems(rule: ChildPughRule) -> list[tuple[str, str]]:
    scores = range(
        rule.min_score if rule.min_score is not None else 5,
        (rule.max_score if rule.max_score is not None else 15) + 1,
    )
    classes = rule.classes if rule.classes is not None else ["A", "B", "C"]
    if not any(s in scores for c in classes for s in _CP_SCORES[c]):
        return [("", "no Child-Pugh class and score satisfy both the classes and the score bounds")]
    return []
