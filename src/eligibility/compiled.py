"""The shapes of a compiled rule, shared by the modules that compile them: Kleene truths as
small ints, findings, tolerant comparisons, and ``Node`` (a rule with its check)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .facts import Facts
from .model import Rule

# Kleene truth as ints: cheap to return and compare; REVIEW is the manual-rule value.
FALSE, TRUE, UNKNOWN, REVIEW = 0, 1, 2, 3
Finding = tuple[Any, ...]
"""``(truth, case, *values)``: see ``evaluate``; composites return ``ONLY[truth]``."""
Check = Callable[[Facts], Finding]
ONLY: tuple[Finding, ...] = ((FALSE,), (TRUE,), (UNKNOWN,), (REVIEW,))
FLIP = (TRUE, FALSE, UNKNOWN, REVIEW)


def compare(a: float, op: str, b: float) -> bool:
    """Comparison with equality by relative tolerance, so 3 × 40 U/L is exactly 120 U/L."""
    return _CMP[op](a, b) == TRUE


# The comparisons returning a truth, the tolerance test inlined (``a <= b`` covers ``a == b``).
def _lt(a: float, b: float, close: Callable[..., bool] = math.isclose) -> int:
    return TRUE if a < b and not close(a, b, rel_tol=1e-9, abs_tol=1e-12) else FALSE


def _le(a: float, b: float, close: Callable[..., bool] = math.isclose) -> int:
    return TRUE if a <= b or close(a, b, rel_tol=1e-9, abs_tol=1e-12) else FALSE


def _gt(a: float, b: float, close: Callable[..., bool] = math.isclose) -> int:
    return TRUE if a > b and not close(a, b, rel_tol=1e-9, abs_tol=1e-12) else FALSE


def _ge(a: float, b: float, close: Callable[..., bool] = math.isclose) -> int:
    return TRUE if a >= b or close(a, b, rel_tol=1e-9, abs_tol=1e-12) else FALSE


_CMP: dict[str, Callable[[float, float], int]] = {"<": _lt, "<=": _le, ">": _gt, ">=": _ge}


@dataclass(frozen=True)
class Where:
    """Which criterion a rule belongs to, and whether it sits under an odd number of NOTs."""

    trial: str = ""
    criterion: str = ""
    section: str = "inclusion"
    negated: bool = False


@dataclass(eq=False, slots=True)
class Node:
    """A compiled rule: its ``check``, its compiled sub-rules, and what compilation resolved
    (``info``: the analyte, concept or drugs, as values) for the renderer. ``cache`` and
    ``render`` belong to the renderer (texts it builds once per node; its function for the
    rule's kind, looked up once: a composite calls its children's directly)."""

    rule: Rule
    check: Check
    children: tuple[Node, ...] = ()
    where: Where = field(default_factory=Where)
    info: Any = None
    cache: dict[str, Any] = field(default_factory=dict)
    render: Any = None


def constant(rule: Rule, where: Where, finding: Finding, info: Any = None) -> Node:
    return Node(rule, lambda facts: finding, (), where, info)
