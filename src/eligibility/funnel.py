"""Attrition funnel per trial: how many patients pass, fail, are unknown or need review on each
criterion, and how many are still eligible-or-undecided after each one, in rules-file order.

Built from cohort rows (the truth-only path is enough), so it streams: memory is one counter per
criterion, whatever the number of patients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .batch import STATUSES, Row, Trial


@dataclass
class Step:
    id: str
    section: str
    text: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))


@dataclass
class Funnel:
    """One trial's funnel; ``remaining`` after a step counts patients with no fail so far."""

    trial: str
    rules_sha256: str
    steps: list[Step]
    screened: int = 0
    verdicts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("eligible", "ineligible", "indeterminate"), 0)
    )
    _first_fail: list[int] = field(default_factory=list, repr=False)

    @classmethod
    def for_trial(cls, trial: Trial) -> Funnel:
        steps = [Step(c.id, c.section, c.text) for c in trial.rules.criteria]
        return cls(trial.trial_id, trial.sha256, steps, _first_fail=[0] * (len(steps) + 1))

    def add(self, row: Row) -> None:
        """Count one screening; the index of its first failing criterion drives attrition."""
        self.screened += 1
        self.verdicts[row.verdict] += 1
        first = len(self.steps)
        for i, (step, status) in enumerate(zip(self.steps, row.statuses, strict=True)):
            step.counts[status] += 1
            if status == "fail" and first == len(self.steps):
                first = i
        self._first_fail[first] += 1

    def remaining(self) -> list[int]:
        """Patients still eligible or undecided after each criterion (no fail up to it)."""
        out, alive = [], self.screened
        for i in range(len(self.steps)):
            alive -= self._first_fail[i]
            out.append(alive)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial,
            "rules_sha256": self.rules_sha256,
            "screened": self.screened,
            "verdicts": dict(self.verdicts),
            "criteria": [
                {"id": s.id, "section": s.section, "text": s.text, **s.counts, "remaining": left}
                for s, left in zip(self.steps, self.remaining(), strict=True)
            ],
        }


def build_funnels(trials: list[Trial], rows: Iterable[Row]) -> tuple[list[Funnel], list[Row]]:
    """Funnels per trial, plus the error rows (inputs that could not be screened)."""
    funnels = {(t.trial_id, t.sha256): Funnel.for_trial(t) for t in trials}
    errors = []
    for row in rows:
        if row.error is not None or row.trial is None:
            errors.append(row)
        else:
            funnels[(row.trial, row.rules_sha256)].add(row)
    return list(funnels.values()), errors
