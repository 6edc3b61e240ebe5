"""How much of a set of records the parser turns into computable rules: the team's to-do list.

A criterion is *computable* when its rule holds no ``manual`` part, *partial* when it holds both
computable and manual parts, *assisted* when all its parts are manual and at least one carries
``evidence`` (a computable piece shown to the reviewer, never a verdict), *manual* otherwise.
``by_kind`` counts the computable rule kinds (age, lab, …) found in every criterion, not inside
evidence; ``top_unparsed`` lists the most frequent texts quoted by manual rules, normalised
(lower case, numbers as ``#``) so recurring phrasings add up.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from eligibility.errors import internal_message
from eligibility.ingest import RecordError, read_records
from eligibility.model import ManualRule, Rule, RuleSet, iter_rules
from eligibility.parse.record import parse_record

_QUOTED = re.compile(r"'(.*)'", re.DOTALL)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Coverage:
    """Counts over all records read; ``errors`` names the records that could not be read."""

    trials: int = 0
    criteria: int = 0
    computable: int = 0
    partial: int = 0
    assisted: int = 0
    manual: int = 0
    errors: list[str] = field(default_factory=list)
    by_kind: Counter[str] = field(default_factory=Counter)
    unparsed: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def top_unparsed(self, n: int = 20) -> list[tuple[str, int]]:
        return self.unparsed.most_common(n)

    def as_json(self) -> dict[str, object]:
        return {
            "trials": self.trials,
            "criteria": self.criteria,
            "computable": self.computable,
            "partial": self.partial,
            "assisted": self.assisted,
            "manual": self.manual,
            "errors": len(self.errors),
            "by_kind": dict(sorted(self.by_kind.items())),
            "seconds": round(self.seconds, 3),
        }


def classify(rule: Rule) -> str:
    """computable | partial | assisted | manual.

    A manual rule's ``evidence`` is not looked into: it never decides, so a criterion whose
    parts are all manual is still not computable — ``assisted`` when one of them has evidence.
    """
    leaves = [r for r in iter_rules(rule) if r.kind not in {"all", "any", "not"}]
    manual = [r for r in leaves if isinstance(r, ManualRule)]
    if not manual:
        return "computable"
    if len(manual) < len(leaves):
        return "partial"
    return "assisted" if any(r.evidence is not None for r in manual) else "manual"


def phrasing(text: str) -> str:
    """Key for grouping unparsed text: lower case, numbers as #, spaces collapsed."""
    return " ".join(_NUMBER.sub("#", text.lower()).split())


def add_rule(cov: Coverage, rule: Rule) -> None:
    cov.criteria += 1
    status = classify(rule)
    setattr(cov, status, getattr(cov, status) + 1)
    for r in iter_rules(rule):
        if r.kind == "manual":
            m = _QUOTED.search(r.reason)  # type: ignore[union-attr]
            if m:
                cov.unparsed[phrasing(m.group(1))] += 1
        elif r.kind not in {"all", "any", "not"}:
            cov.by_kind[r.kind] += 1


def parse_records(path: Path, *, reraise: bool = False) -> Iterator[RuleSet | RecordError]:
    """Each record of a file parsed into rules, or a RecordError saying why it could not be.

    In batch work one bad record never stops the rest: a malformed record and one the parser
    fails on (``internal``; re-raised with ``reraise``, for a traceback) are both yielded as
    errors and reading goes on. Raises IngestError only when the file itself cannot be read.
    """
    for item in read_records(path):
        if isinstance(item, RecordError):
            yield item
            continue
        try:
            yield parse_record(item)
        except Exception as exc:
            if reraise:
                raise
            message = internal_message(exc)
            yield RecordError(item.source, None, item.id, message, internal=True)


def measure(paths: Iterable[Path], progress: Callable[[int], None] | None = None) -> Coverage:
    """Parse every record of every file; ``progress`` is called with bytes-free record counts."""
    cov = Coverage()
    started = time.perf_counter()
    for path in paths:
        for ruleset in parse_records(path):
            if isinstance(ruleset, RecordError):
                cov.errors.append(str(ruleset))
                continue
            cov.trials += 1
            for c in ruleset.criteria:
                if c.id in {"age", "sex"}:
                    continue
                add_rule(cov, c.rule)
            if progress is not None:
                progress(cov.trials)
    cov.seconds = time.perf_counter() - started
    return cov
