"""The lab side of the compiled query: unit conversions as expressions, and the pass that
finds each analyte's newest results and checks them against the rules on that analyte.

Split from ``compiler.py`` (which builds each rule's truth) so neither outgrows a module;
``compiler._lab_rule`` gives the operands and truths these read.
"""

from __future__ import annotations

import math

from sqlglot import exp

from .. import vocab
from .sources import MAX_DOUBLE
from .sqlexpr import and_, case, col, null, num


def _pow10_limit() -> float:
    """The largest float ``x`` whose ``10.0 ** x`` is finite: above it Python overflows
    (``vocab.Conversion.apply``: unknown), DuckDB and Spark give infinity, PostgreSQL an
    error — so the query tests the exponent before it raises 10 to it."""
    x = math.log10(MAX_DOUBLE)
    while math.isfinite(_pow10(math.nextafter(x, math.inf))):
        x = math.nextafter(x, math.inf)
    while not math.isfinite(_pow10(x)):
        x = math.nextafter(x, -math.inf)
    return x


def _pow10(x: float) -> float:
    try:
        return 10.0**x
    except OverflowError:
        return math.inf


POW10_LIMIT = _pow10_limit()


def converted(v: exp.Expression, c: vocab.Conversion) -> exp.Expression:
    """``Conversion.apply`` on the value ``v``, NULL (unknown) where it raises ``UnitError``:
    a log10 value too large for a float, or a log10 of a value not above 0."""
    x: exp.Expression = v.copy()
    if c.log10_in:
        power = exp.Pow(this=num(10.0), expression=v.copy())
        x = case((exp.LTE(this=v.copy(), expression=num(POW10_LIMIT)), power), default=null())
    x = exp.Add(this=exp.Mul(this=num(c.slope), expression=x), expression=num(c.offset))
    if c.log10_out:
        log = exp.Log(this=num(10.0), expression=x.copy())
        x = case((exp.GT(this=x.copy(), expression=num(0.0)), log), default=null())
    return x


def rounded(x: exp.Expression, threshold: float, c: vocab.Conversion) -> exp.Expression:
    """NULL (unknown) where a value converted by an inexact factor lands within the
    conversion's rounding of the bound, as ``evaluate`` says ``"rounding"``."""
    band = c.band(threshold)
    if not band:
        return x
    near = exp.LTE(
        this=exp.Abs(this=exp.Sub(this=x.copy(), expression=num(threshold))), expression=num(band)
    )
    return case((near, null()), default=x)


def lab_ctes(
    operands: list[tuple[str, exp.Expression]], specs: list[tuple[str, exp.Expression, int]]
) -> list[tuple[str, exp.Expression]]:
    """Per analyte, ``labs_<code>``: per person, the truth of each of its lab rules (of every
    trial) that the newest results agree on (no row: NULL, unknown; rows that disagree or any
    unknown: NULL), in one grouping of the analyte's rows of ``current``. Each row gives, for
    each rule, its truth ``c`` (0/1, 2 unknown) packed under the row's day number as
    ``4·day + c`` and ``4·day + 2 − c``: the maxima of both per person hold the newest date's
    largest and smallest ``c`` — ``facts.latest`` and ``ties`` without a join back to the
    newest date (before: a grouping for the newest date, a join, and a second grouping)."""
    two, four = exp.Literal.number(2), exp.Literal.number(4)
    out = []
    for code in dict.fromkeys(c for _, _, c in specs):
        mine = [i for i, (_, _, c) in enumerate(specs) if c == code]
        ops = [operands[k] for i in mine for k in (2 * i, 2 * i + 1)]
        operand = (
            exp.select(col("person_id"), col("dn"), *[e.as_(n) for n, e in ops], copy=False)
            .from_("current", copy=False)
            .where(exp.EQ(this=col("analyte"), expression=exp.Literal.number(code)), copy=False)
        )
        rows = exp.select(
            col("person_id"), col("dn"), *[specs[i][1].as_(specs[i][0]) for i in mine], copy=False
        ).from_(exp.alias_(exp.paren(operand, copy=False), "v", copy=False), copy=False)
        packed = exp.Mul(this=col("dn"), expression=four.copy())
        aggs = []
        for i in mine:
            c = col(specs[i][0])
            low = exp.paren(exp.Sub(this=two.copy(), expression=c.copy()))
            high = exp.Max(this=exp.Add(this=packed.copy(), expression=c))
            aggs.append(high.as_(f"{specs[i][0]}_hi", copy=False))
            low_max = exp.Max(this=exp.Add(this=packed.copy(), expression=low))
            aggs.append(low_max.as_(f"{specs[i][0]}_lo", copy=False))
        grouped = (
            exp.select(col("person_id"), *aggs, copy=False)
            .from_(exp.alias_(exp.paren(rows, copy=False), "r", copy=False), copy=False)
            .group_by(col("person_id"), copy=False)
        )
        truths = []
        for i in mine:
            column = specs[i][0]
            high = exp.Mod(this=col(f"{column}_hi"), expression=four.copy())
            low = exp.Sub(
                this=two.copy(),
                expression=exp.paren(exp.Mod(this=col(f"{column}_lo"), expression=four.copy())),
            )
            agreed = and_(
                exp.EQ(this=high, expression=low), exp.LT(this=high.copy(), expression=two.copy())
            )
            truths.append(case((agreed, high.copy()), default=null()).as_(column))
        labs = exp.select(col("person_id"), *truths, copy=False).from_(
            exp.alias_(exp.paren(grouped, copy=False), "g", copy=False), copy=False
        )
        out.append((f"labs_{code}", labs))
    return out
