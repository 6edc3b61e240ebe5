"""The parser's entry points under their first home; the layers now live in ``eligibility.parse``.

Kept so that ``from eligibility.transform import parse_criterion, parse_record`` (scripts, tests,
the benchmarks) goes on working.
"""

from __future__ import annotations

from eligibility.parse.base import NO_CONTENT, Ctx, NotUnderstood
from eligibility.parse.criterion import parse_criterion
from eligibility.parse.record import _primary_conditions, parse_record

__all__ = [
    "NO_CONTENT",
    "Ctx",
    "NotUnderstood",
    "_primary_conditions",
    "parse_criterion",
    "parse_record",
]
