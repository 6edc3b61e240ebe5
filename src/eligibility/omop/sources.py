"""The query's shared CTEs: the extract's rows as the profile model would accept them.

``current`` holds the results that may decide (dated within the age limit, not after the
as-of date, each with its day number, by which ``labs.lab_ctes`` finds the newest of
them per analyte: all of that date, ties decide together), ``perf`` the performance status
as the extract reader fills it, ``conditions`` and ``treatments`` the entries. Each filter
mirrors a validator of ``patient.py`` (``extract.read_profiles`` keeps the same rows), so
the SQL and the evaluator read the same data.
"""

from __future__ import annotations

from datetime import date

from sqlglot import exp

from ..facts import Options, oldest_result_date
from ..limits import EARLIEST_DATE, LATEST_DATE
from . import mapping
from .mapping import Terms
from .sqlexpr import (
    and_,
    between,
    case,
    col,
    day,
    finite,
    is_null,
    not_null,
    null,
    num,
    or_,
    string,
    values,
)

MAX_DOUBLE = 1.7976931348623157e308
PERF_DOMAIN = {"ecog": tuple(range(6)), "karnofsky": tuple(range(0, 101, 10))}


def _plausible(d: exp.Expression) -> exp.Expression:
    """NULL, or a date in the range profiles accept (``limits``)."""
    return or_(is_null(d), between(d, day(EARLIEST_DATE), day(LATEST_DATE)))


def _finite_not_negative(x: exp.Expression) -> exp.Expression:
    """Not negative, not NaN, not infinite (``between`` alone let the NaN of a Parquet file
    through on DuckDB, which the profile reader drops)."""
    return and_(between(x, num(0.0), num(MAX_DOUBLE)), finite(x))


def measurement_filter(term: exp.Expression) -> exp.Expression:
    """Rows a profile's ``Lab`` would accept: a finite, non-negative value and range
    (NaN compares above every number in these engines), low ≤ high, a plausible date."""
    lo, hi = col("range_low"), col("range_high")
    return and_(
        not_null(term),
        _finite_not_negative(col("value_as_number")),
        exp.paren(or_(is_null(lo), _finite_not_negative(lo))),
        exp.paren(or_(is_null(hi), _finite_not_negative(hi))),
        exp.paren(or_(is_null(lo), is_null(hi), exp.LTE(this=lo.copy(), expression=hi.copy()))),
        exp.paren(_plausible(col("measurement_date"))),
    )


def day_number(d: exp.Expression) -> exp.Expression:
    """Days since 1900-01-01 (``limits.EARLIEST_DATE``): an integer the lab pass packs a
    truth under, so one maximum per person finds the newest date and its results."""
    return exp.DateDiff(this=d.copy(), expression=day(EARLIEST_DATE), unit=exp.var("DAY"))


def measurement_term() -> exp.Expression:
    return col("measurement_source_value")


def shared_ctes(
    needs: set[str], terms: Terms, as_of: date, options: Options
) -> list[tuple[str, exp.Expression]]:
    """The CTEs the rules' leaves read (``needs``: "latest", "labs:<analyte>", "perf",
    "conditions", "treatments")."""
    out: list[tuple[str, exp.Expression]] = []
    earliest = max(oldest_result_date(as_of, options), EARLIEST_DATE)
    d = col("measurement_date")
    if "latest" in needs:
        analytes = frozenset(n.split(":", 1)[1] for n in needs if n.startswith("labs:"))
        tmap = mapping.test_map(terms, analytes)
        term = measurement_term()
        rows = (
            exp.select(
                col("person_id"),
                col("analyte", "tm"),
                day_number(d).as_("dn"),
                col("value_as_number").as_("v"),
                col("unit_source_value").as_("u"),
                col("range_low").as_("lo"),
                col("range_high").as_("hi"),
                copy=False,
            )
            .from_("measurement", copy=False)
            .join(
                values("tm", ["term", "analyte"], tmap or [("", -1)]),
                on=exp.EQ(this=term.copy(), expression=col("term", "tm")),
                copy=False,
            )
            .where(
                and_(measurement_filter(term), between(d, day(earliest), day(as_of))),
                copy=False,
            )
        )
        out.append(("current", rows))
    if "perf" in needs:
        out.append(("perf", _performance_cte(as_of)))
    if "conditions" in needs:
        s, e = col("condition_start_date"), col("condition_end_date")
        out.append(
            (
                "conditions",
                exp.select(
                    col("person_id"),
                    col("condition_source_value").as_("code"),
                    s.as_("s"),
                    e.as_("e"),
                    copy=False,
                )
                .from_("condition_occurrence", copy=False)
                .where(_entry_filter(col("condition_source_value"), s, e), copy=False),
            )
        )
    if "treatments" in needs:
        parts = [
            (
                "drug_exposure",
                "drug_source_value",
                "drug_exposure_start_date",
                "drug_exposure_end_date",
            ),
            (
                "procedure_occurrence",
                "procedure_source_value",
                "procedure_date",
                "procedure_end_date",
            ),
        ]
        selects = [
            exp.select(
                col("person_id"),
                col(n).as_("name"),
                col(s).as_("s"),
                col(e).as_("e"),
                copy=False,
            )
            .from_(t, copy=False)
            .where(_entry_filter(col(n), col(s), col(e)), copy=False)
            for t, n, s, e in parts
        ]
        out.append(("treatments", exp.union(*selects, distinct=False)))
    return out


def _entry_filter(term: exp.Expression, s: exp.Expression, e: exp.Expression) -> exp.Expression:
    """Entries a profile would accept: a non-empty code or name, plausible dates, end not
    before start."""
    return and_(
        not_null(term),
        exp.NEQ(this=term.copy(), expression=string("")),
        exp.paren(_plausible(s)),
        exp.paren(_plausible(e)),
        exp.paren(or_(is_null(s), is_null(e), exp.GTE(this=e.copy(), expression=s.copy()))),
    )


def _performance_cte(as_of: date) -> exp.Expression:
    """ECOG and Karnofsky per person: the newest dated value on or before the as-of date
    (the highest of a day's), as the extract reader fills the profile's ``ecog``/``karnofsky``.
    One scan and one grouping: each scale's rows packed as ``128·day + value`` (values are
    whole numbers up to 100), so the ``MAX`` per person is the newest date's highest value
    (before: a scan per scale, a window for the newest date, a filter and a grouping)."""
    d, v, term = col("measurement_date"), col("value_as_number"), measurement_term()
    width = exp.Literal.number(128)
    codes = {scale: [string(c) for c in mapping.performance_codes(scale)] for scale in PERF_DOMAIN}

    def pick(scale: str) -> exp.Expression:
        here = and_(
            exp.In(this=term.copy(), expressions=[c.copy() for c in codes[scale]]),
            exp.In(this=v.copy(), expressions=[num(float(x)) for x in PERF_DOMAIN[scale]]),
        )
        packed = exp.Add(
            this=exp.Mul(this=day_number(d), expression=width.copy()),
            expression=exp.cast(v.copy(), "INT"),
        )
        newest = exp.Max(this=case((here, packed), default=null()))
        return exp.cast(exp.Mod(this=newest, expression=width.copy()), "INT").as_(scale)

    every = [c.copy() for scale in PERF_DOMAIN for c in codes[scale]]
    return (
        exp.select(col("person_id"), pick("ecog"), pick("karnofsky"), copy=False)
        .from_("measurement", copy=False)
        .where(
            and_(
                exp.In(this=term.copy(), expressions=every),
                between(d, day(EARLIEST_DATE), day(as_of)),
            ),
            copy=False,
        )
        .group_by(col("person_id"), copy=False)
    )
