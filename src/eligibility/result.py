"""Screening results: per-criterion status with reason, missing data and evidence.

Not pydantic: cohorts produce millions of these, and they only carry data that the evaluator
already validated. They are frozen msgspec structs: immutable like a frozen dataclass, built
several times as fast (some eighty a screening with reasons), and encoded to JSON in C field by
field, so a JSONL line is written without building ``to_dict``'s dictionaries: the fields are
declared in the order ``to_dict`` writes them, and those it leaves out when empty are the ones
with a default (``omit_defaults``). ``tests/test_jsonl_encoding.py`` checks the two encodings
agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import Enum
from typing import Any, Literal

import msgspec

_FROZEN = {"frozen": True, "omit_defaults": True, "gc": False}

Status = Literal["pass", "fail", "unknown", "review"]

# Joins a manual rule's reason and what its ``evidence`` rule found ("needs review: …; evidence:
# MI recorded (active) …"): the evidence is shown, never a verdict. Renderers may break the
# line here.
EVIDENCE_MARK = "; evidence: "
Verdict = Literal["eligible", "ineligible", "indeterminate"]


class Truth(Enum):
    """Kleene truth of a rule's statement about the patient, plus REVIEW for manual rules."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"
    REVIEW = "review"


TRUTHS = (Truth.FALSE, Truth.TRUE, Truth.UNKNOWN, Truth.REVIEW)
"""The evaluator's small-int truths (``compiled.FALSE`` … ``REVIEW``) as ``Truth``s."""


class Evidence(msgspec.Struct, **_FROZEN):  # type: ignore[call-arg]
    """A fact used: where it is in the profile (``$.labs[2]``), its value, and if derived."""

    path: str
    label: str
    value: Any  # always written, even null
    unit: str | None = None
    date: date | None = None
    derived: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "label": self.label, "value": self.value}
        if self.unit is not None:
            d["unit"] = self.unit
        if self.date is not None:
            d["date"] = self.date.isoformat()
        if self.derived:
            d["derived"] = True
        return d


class Outcome(msgspec.Struct, **_FROZEN):  # type: ignore[call-arg]
    """``assisted``: what the evidence of manual parts found, each line exactly as it follows
    ``EVIDENCE_MARK`` in the reason (so a renderer can set it apart without guessing)."""

    truth: Truth
    reason: str
    missing: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    assisted: tuple[str, ...] = ()


class CriterionResult(msgspec.Struct, **_FROZEN):  # type: ignore[call-arg]
    id: str
    section: str
    text: str
    status: Status
    reason: str
    missing: tuple[str, ...]  # always written, even empty
    evidence: tuple[Evidence, ...]
    assisted: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "section": self.section,
            "text": self.text,
            "status": self.status,
            "reason": self.reason,
            "missing": list(self.missing),
            "evidence": [e.to_dict() for e in self.evidence],
        }
        if self.assisted:
            d["assisted"] = list(self.assisted)  # evidence for the reviewer, not a verdict
        return d


class ScreeningResult(msgspec.Struct, **_FROZEN):  # type: ignore[call-arg]
    trial: str
    patient: str
    as_of: date
    verdict: Verdict
    counts: dict[str, int]
    criteria: tuple[CriterionResult, ...]
    engine_version: str
    rules_sha256: str | None = None
    # problems with the profile that did not stop the screening (a review naming a criterion
    # that does not exist, ...): shown, never silently dropped
    warnings: tuple[str, ...] = ()
    # data of the source the profile could not hold (``Patient.ignored``: FHIR input), as
    # "resource: reason" lines: listed, never silently dropped
    ignored: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "trial": self.trial,
            "patient": self.patient,
            "as_of": self.as_of.isoformat(),
            "verdict": self.verdict,
            "counts": dict(self.counts),
            "criteria": [c.to_dict() for c in self.criteria],
            "engine_version": self.engine_version,
        }
        if self.rules_sha256:
            d["rules_sha256"] = self.rules_sha256
        if self.warnings:
            d["warnings"] = list(self.warnings)
        if self.ignored:
            d["ignored"] = list(self.ignored)
        return d


# Combining children's outcomes: shared by every renderer that joins parts (composites, same-day
# lab results, several condition entries), each value once and in order.


def join_reasons(outcomes: Iterable[Outcome]) -> str:
    """Children's reasons, each once (several manual parts may share one recorded review)."""
    return "; ".join(dict.fromkeys(o.reason for o in outcomes))


def combine_missing(outcomes: Iterable[Outcome]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m for o in outcomes for m in o.missing))


def combine_evidence(outcomes: Iterable[Outcome]) -> tuple[Evidence, ...]:
    seen: dict[tuple[str, str], Evidence] = {}
    for o in outcomes:
        for e in o.evidence:
            seen.setdefault((e.path, e.label), e)
    return tuple(seen.values())
