"""Numbers, units and scores as the grammar reads them → rule values, or ``NotUnderstood``.

A quantity that cannot be meant (an exact lab value, a unit a hundredfold from any the analyte is
reported in, a zero-length window) refuses here, so the clause stays unread rather than wrong.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from eligibility import vocab
from eligibility.model import ChildPughRule, LabRule, MeasureRule, Rule, VitalRule, Window
from eligibility.parse.base import Ctx, NotUnderstood


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _int(text: str) -> int:
    value = _num(text)
    if not value.is_integer():
        raise NotUnderstood(f"{text} is not a whole number")
    return int(value)


@cache
def _analyte(aid: str) -> vocab.Analyte:
    a = vocab.analyte(aid)
    if a is None:  # pragma: no cover - ids come from the vocabulary itself
        raise NotUnderstood(f"unrecognised analyte {aid!r}")
    return a


_VIRAL_MANGLED = re.compile(r"10([3-9])")


@dataclass(frozen=True, slots=True)
class Q:
    """A parsed quantity: number text with unit, mangled cell unit, bare, or a ULN/LLN multiple."""

    kind: str  # unit | mangled | bare | limit
    num: str
    unit: str | None = None


def _measure(typ: str, aid: str, op: str, q: Q, ctx: Ctx) -> Rule:
    a = _analyte(aid)
    if op == "=":
        raise NotUnderstood(f"an exact value for {a.name}")
    if q.kind == "limit":
        if typ != "LAB":
            raise NotUnderstood(f"{a.name} relative to {q.unit}")
        return LabRule(
            analyte=aid,
            comparator=op,
            multiple=_num(q.num),
            of=q.unit,  # type: ignore[arg-type]
        )
    value = _num(q.num)
    unit = q.unit
    if q.kind == "mangled":
        if a.unit not in {"10^9/L", "10^12/L"}:
            raise NotUnderstood(f"'*10…/L' after {a.name}, which is not a cell count")
    elif q.kind == "bare":
        m = _VIRAL_MANGLED.fullmatch(q.num)
        if a.unit == "1":
            unit = None
        else:
            raise NotUnderstood(f"{a.name} {q.num} has no unit")
        del m
    if q.kind == "unit" and "copies/mL" in a.units and ctx.escaped:
        m = _VIRAL_MANGLED.fullmatch(q.num)
        if m:  # "HBV DNA \>104 copies/ml": a superscript lost on the page, i.e. 10^4
            value = 10.0 ** int(m.group(1))
    if unit is not None:
        _check_unit(a, unit)
    _check_bound(a, value, unit)
    if typ == "VITAL":
        return VitalRule(name=aid, comparator=op, value=value, unit=unit)  # type: ignore[arg-type]
    if typ == "MEASURE":
        return MeasureRule(name=aid, comparator=op, value=value, unit=unit)  # type: ignore[arg-type]
    return LabRule(analyte=aid, comparator=op, value=value, unit=unit)  # type: ignore[arg-type]


@cache
def _check_unit(a: vocab.Analyte, unit: str) -> None:
    if unit == a.unit or unit in a.units:
        return
    if a.units and "copies/mL" in a.units:
        raise NotUnderstood(f"unit {unit} for {a.name}")
    try:
        factor = vocab.conversion_factor(unit, a.unit, a.id)
    except vocab.UnitError as exc:
        raise NotUnderstood(f"unit {unit} does not fit {a.name}") from exc
    # "Bilirubin ≤ 2.0 g/dL" (for mg/dL) converts to 2,000 mg/dL and never binds: a unit a
    # hundredfold or more away from every unit the analyte is reported in is a typo, not a bound
    usual = [u for u in (a.unit, *a.units) if u]
    spread = []
    for u in usual:
        try:
            spread.append(abs(math.log10(factor / vocab.conversion_factor(u, a.unit, a.id))))
        except (vocab.UnitError, ValueError, ZeroDivisionError):
            continue
    if spread and min(spread) >= 2:
        raise NotUnderstood(f"unit {unit} is implausible for {a.name} (usually {', '.join(usual)})")


def _check_bound(a: vocab.Analyte, value: float, unit: str | None) -> None:
    """A bound no patient can plausibly be on either side of is a typo ("PTT < 14 s")."""
    if a.bounds is None or a.unit is None:
        return
    try:
        v = vocab.convert(value, unit or a.unit, a.unit, a.id)
    except (vocab.UnitError, ValueError, ZeroDivisionError):
        return
    lo, hi = a.bounds
    if not lo <= v <= hi:
        raise NotUnderstood(
            f"{a.name} {value:g} {unit or ''} is outside the plausible bounds "
            f"{lo:g}–{hi:g} {a.unit}: a typo?".replace("  ", " ")
        )


def _window(amount: str, unit: str) -> Window:
    if unit not in {"days", "weeks", "months", "years"}:
        raise NotUnderstood(f"a window in {unit or 'unknown units'}")
    value = _num(amount)
    if value <= 0:
        raise NotUnderstood("a zero-length window")
    return Window(amount=value, unit=unit)  # type: ignore[arg-type]


_CP_CLASS_SCORES = {"A": range(5, 7), "B": range(7, 10), "C": range(10, 16)}


def _cp_rule(scores: set[int]) -> ChildPughRule:
    classes = [c for c, r in _CP_CLASS_SCORES.items() if set(r) <= scores]
    if scores == {s for c in classes for s in _CP_CLASS_SCORES[c]}:
        return ChildPughRule(classes=classes)  # type: ignore[arg-type]
    lo, hi = min(scores), max(scores)
    if scores != set(range(lo, hi + 1)):
        raise NotUnderstood("Child-Pugh scores that are not one range")
    return ChildPughRule(min_score=lo if lo > 5 else None, max_score=hi if hi < 15 else None)
