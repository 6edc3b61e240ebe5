"""Screening results: per-criterion status with reason, missing data and evidence.

Not pydantic: cohorts produce millions of these, and they only carry data that the evaluator
already validated. The per-criterion ones (``Evidence``, ``Outcome``, ``CriterionResult``)
are named tuples: immutable like a frozen dataclass, and built several times as fast (a frozen
dataclass sets each field through ``object.__setattr__``), which a cohort run with reasons,
some eighty of them a screening, feels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Literal, NamedTuple

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


class Evidence(NamedTuple):
    """A fact used: where it is in the profile (``$.labs[2]``), its value, and if derived."""

    path: str
    label: str
    value: Any = None
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


class Outcome(NamedTuple):
    """``assisted``: what the evidence of manual parts found, each line exactly as it follows
    ``EVIDENCE_MARK`` in the reason (so a renderer can set it apart without guessing)."""

    truth: Truth
    reason: str
    missing: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    assisted: tuple[str, ...] = ()


class CriterionResult(NamedTuple):
    id: str
    section: str
    text: str
    status: Status
    reason: str
    missing: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
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


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    trial: str
    patient: str
    as_of: date
    verdict: Verdict
    criteria: tuple[CriterionResult, ...]
    engine_version: str = ""
    rules_sha256: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    # problems with the profile that did not stop the screening (a review naming a criterion
    # that does not exist, ...): shown, never silently dropped
    warnings: tuple[str, ...] = ()

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
        return d
