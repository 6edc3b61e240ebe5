"""sqlglot expression builders the compiler writes its query with: Kleene truths as small
ints with NULL for unknown, the evaluator's tolerant comparisons, typed literals, VALUES tables.

Every builder copies what it is given (a node has one parent), and no builder ever formats SQL
text: sqlglot generates it, per dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlglot import exp

REL_TOL, ABS_TOL = 1e-9, 1e-12  # compiled.py's tolerance: 3 × 40 U/L is exactly 120 U/L


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=False)


def num(x: int | float) -> exp.Expression:
    if isinstance(x, int) and not isinstance(x, bool):
        return exp.Literal.number(x)
    return exp.cast(exp.Literal.number(repr(float(x))), "DOUBLE")


def string(s: str) -> exp.Literal:
    return exp.Literal.string(s)


def day(d: date) -> exp.Expression:
    return exp.cast(string(d.isoformat()), "DATE")


def null() -> exp.Null:
    return exp.Null()


def case(*whens: tuple[exp.Expression, exp.Expression], default: exp.Expression | None = None):
    c = exp.Case()
    for cond, value in whens:
        c = c.when(cond, value, copy=False)
    return c.else_(default, copy=False) if default is not None else c


def is_null(e: exp.Expression) -> exp.Expression:
    return exp.Is(this=e.copy(), expression=null())


def not_null(e: exp.Expression) -> exp.Expression:
    return not_(is_null(e))


def wrap(e: exp.Expression) -> exp.Expression:
    """A connective as an operand keeps its own parentheses (sqlglot prints the tree as is)."""
    return exp.paren(e.copy()) if isinstance(e, exp.Connector | exp.Not) else e.copy()


def and_(*parts: exp.Expression) -> exp.Expression:
    return exp.and_(*[wrap(p) for p in parts], copy=False)


def or_(*parts: exp.Expression) -> exp.Expression:
    return exp.or_(*[wrap(p) for p in parts], copy=False)


def not_(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=wrap(e))


def between(e: exp.Expression, lo: exp.Expression, hi: exp.Expression) -> exp.Expression:
    return exp.Between(this=e.copy(), low=lo, high=hi)


def close(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    """``math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)``, term for term, for ``a`` and ``b``
    not NULL and not NaN — but for ``a = b``, which ``compare`` decides without it. An infinite
    side (a value times a unit factor past the largest float) is close to nothing, as in
    ``math.isclose``: without that test the bound, infinite too, held."""
    diff = exp.Abs(this=exp.Sub(this=a.copy(), expression=b.copy()))
    # ``ignore_nulls``: GREATEST as the engine has it, not wrapped in a CASE that makes any
    # NULL argument NULL (sqlglot's default for DuckDB) — no argument is NULL here, as
    # ``compare`` answers NULL first, and the wrapper doubled the work of every lab row
    larger = exp.Greatest(
        this=exp.Abs(this=a.copy()), expressions=[exp.Abs(this=b.copy())], ignore_nulls=True
    )
    bound = exp.Greatest(
        this=exp.Mul(this=num(REL_TOL), expression=larger),
        expressions=[num(ABS_TOL)],
        ignore_nulls=True,
    )
    return and_(finite(a), finite(b), exp.LTE(this=diff, expression=bound))


def finite(x: exp.Expression) -> exp.Expression:
    """``math.isfinite(x)`` for a double not NULL, in every engine: ``x - x`` is 0 for a finite
    value and NaN for NaN and the infinities (comparisons alone do not tell: DuckDB reads
    the NaN of a Parquet file as between 0 and the largest float)."""
    return exp.EQ(this=exp.Sub(this=x.copy(), expression=x.copy()), expression=num(0.0))


OPS: dict[str, Callable[..., exp.Expression]] = {
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}


def compare(a: exp.Expression, op: str, b: exp.Expression) -> exp.Expression:
    """``compiled._CMP[op]`` as a truth: 1 or 0, NULL when either side is NULL."""
    raw = OPS[op](this=a.copy(), expression=b.copy())
    holds = exp.and_(raw, not_(close(a, b))) if op in ("<", ">") else exp.or_(raw, close(a, b))
    return case(
        (or_(is_null(a), is_null(b)), null()),
        (exp.paren(holds), exp.Literal.number(1)),
        default=exp.Literal.number(0),
    )


def truth_eq(t: exp.Expression, value: int) -> exp.Expression:
    return exp.EQ(this=t.copy(), expression=exp.Literal.number(value))


def values(alias: str, columns: list[str], rows: list[tuple]) -> exp.Expression:
    converted = [tuple(num(v) if isinstance(v, float) else v for v in row) for row in rows]
    return exp.values(converted, alias=alias, columns=columns)
