"""An OMOP extract on disk: one Parquet or CSV file (or folder of Parquet files) per table.

``open_duckdb`` makes each table a DuckDB view with the columns the compiled query reads, typed
(a column or table the extract lacks is NULL / empty, so a partial extract still screens).
``distinct_terms`` lists the strings the query must resolve; ``read_profiles`` turns the same
rows into profiles for ``--engine python``, keeping exactly the rows the SQL keeps.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlglot import exp

from ..errors import InputError
from ..limits import EARLIEST_DATE, LATEST_DATE
from .concepts import CONCEPT_IDS, VOCABULARY_TABLES, resolved
from .mapping import Terms, condition_entry, gender_concepts, performance_codes

# The tables and columns read (OMOP CDM v5.4 names) and their types.
COLUMNS: dict[str, dict[str, str]] = {
    "person": {
        "person_id": "BIGINT",
        "gender_concept_id": "BIGINT",
        "year_of_birth": "INT",
        "month_of_birth": "INT",
        "day_of_birth": "INT",
    },
    "measurement": {
        "person_id": "BIGINT",
        "measurement_source_value": "VARCHAR",
        "measurement_date": "DATE",
        "value_as_number": "DOUBLE",
        "unit_source_value": "VARCHAR",
        "range_low": "DOUBLE",
        "range_high": "DOUBLE",
    },
    "condition_occurrence": {
        "person_id": "BIGINT",
        "condition_source_value": "VARCHAR",
        "condition_start_date": "DATE",
        "condition_end_date": "DATE",
    },
    "drug_exposure": {
        "person_id": "BIGINT",
        "drug_source_value": "VARCHAR",
        "drug_exposure_start_date": "DATE",
        "drug_exposure_end_date": "DATE",
    },
    "procedure_occurrence": {
        "person_id": "BIGINT",
        "procedure_source_value": "VARCHAR",
        "procedure_date": "DATE",
        "procedure_end_date": "DATE",
    },
}


@dataclass(frozen=True)
class Table:
    name: str
    path: Path | None  # None: not in the extract (read as empty)
    kind: str  # "parquet" | "csv"


def find_tables(folder: str | Path) -> list[Table]:
    """The extract's tables: ``NAME.parquet``, ``NAME/`` of Parquet files, or ``NAME.csv``;
    the clinical tables first (``person`` first of all), then the vocabulary's."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError("not a folder of OMOP tables", str(root))
    found = []
    for name in (*COLUMNS, *VOCABULARY_TABLES):
        for candidate, kind in (
            (root / f"{name}.parquet", "parquet"),
            (root / name, "parquet"),
            (root / f"{name}.csv", "csv"),
        ):
            if candidate.exists():
                found.append(Table(name, candidate, kind))
                break
        else:
            found.append(Table(name, None, "parquet"))
    if found[0].path is None:
        raise InputError("no person table (person.parquet, person/ or person.csv)", str(root))
    return found


def _reader(table: Table) -> exp.Expression:
    assert table.path is not None
    target = str(table.path / "*.parquet") if table.path.is_dir() else str(table.path)
    fn = "read_parquet" if table.kind == "parquet" else "read_csv_auto"
    return exp.func(fn, exp.Literal.string(target))


def raw_columns(name: str) -> dict[str, str]:
    """The columns read from a table of the extract, with their types."""
    return VOCABULARY_TABLES.get(name) or {**COLUMNS[name], **CONCEPT_IDS[name]}


def table_select(table: Table, present: list[str]) -> exp.Select:
    """The table's columns as they are read: cast to their types, NULL when absent."""
    cols = []
    for name, kind in raw_columns(table.name).items():
        value: exp.Expression = exp.column(name) if name in present else exp.Null()
        cols.append(exp.cast(value, kind).as_(name))
    source: exp.Expression = _reader(table) if table.path is not None else None  # type: ignore[assignment]
    q = exp.select(*cols)
    if source is None:
        return q.where(exp.false())
    return q.from_(source)


def has_concepts(tables: list[Table]) -> bool:
    return any(t.name == "concept" and t.path is not None for t in tables)


def views(tables: list[Table]) -> list[tuple[str, exp.Select]]:
    """The views the query and the profile reader read, over the raw views."""
    concepts = has_concepts(tables)
    return [
        (name, resolved(name, list(COLUMNS[name]), f"raw_{name}", concepts)) for name in COLUMNS
    ]


def open_duckdb(folder: str | Path, threads: int | None = None) -> Any:
    """An in-memory DuckDB connection with one view per table of the extract (the clinical
    ones as ``raw_<table>``, read through ``views``)."""
    import duckdb

    con = duckdb.connect(config={"threads": threads} if threads else {})
    tables = find_tables(folder)
    for table in tables:
        present: list[str] = []
        if table.path is not None:
            try:
                present = list(
                    con.sql(exp.select("*").from_(_reader(table)).limit(0).sql("duckdb")).columns
                )
            except duckdb.Error as exc:
                raise InputError(
                    f"cannot read: {str(exc).splitlines()[0]}", str(table.path)
                ) from None
            present = [c.lower() for c in present]
        raw = table.name if table.name in VOCABULARY_TABLES else f"raw_{table.name}"
        con.sql(table_select(table, present).sql("duckdb")).create_view(raw)
    for name, query in views(tables):
        con.sql(query.sql("duckdb")).create_view(name)
    _dense_groupings(con)
    return con


# the widest person id range (in bits) grouped by direct index: 2^24 slots per grouping
_DENSE_BITS = 24


def _dense_groupings(con: Any) -> None:
    """When person ids are dense (their range at most twice their number, as sequential
    surrogate keys are), let DuckDB group by person through a table indexed by the id (its
    "perfect hash" aggregate) instead of hashing: the query groups by person once per
    analyte and per pass. DuckDB's default allows it only for a range of 2^12; sparse ids
    keep the hash table, which grows with the persons, not the range."""
    ids = exp.column("person_id")
    query = exp.select(exp.Min(this=ids), exp.Max(this=ids.copy()), exp.Count(this=exp.Star()))
    low, high, count = con.sql(query.from_("person").sql("duckdb")).fetchall()[0]
    if not count or low is None or high is None:  # no persons, or no id at all
        return
    span = high - low + 1
    bits = (span + 1).bit_length()  # and a slot for NULL
    if span <= 2 * count and bits <= _DENSE_BITS:
        setting = exp.EQ(
            this=exp.column("perfect_ht_threshold"), expression=exp.Literal.number(max(bits, 12))
        )
        con.execute(exp.Set(expressions=[exp.SetItem(this=setting)]).sql("duckdb"))


def _distinct(con: Any, table: str, column: str) -> frozenset[str]:
    q = (
        exp.select(exp.column(column))
        .distinct()
        .from_(table)
        .where(exp.column(column).is_(exp.Null()).not_())
    )
    return frozenset(str(r[0]) for r in con.sql(q.sql("duckdb")).fetchall())


def distinct_terms(con: Any) -> Terms:
    """Every string of the extract the query must resolve."""
    return Terms(
        _distinct(con, "measurement", "measurement_source_value"),
        _distinct(con, "measurement", "unit_source_value"),
        _distinct(con, "condition_occurrence", "condition_source_value"),
        _distinct(con, "drug_exposure", "drug_source_value")
        | _distinct(con, "procedure_occurrence", "procedure_source_value"),
    )


# --- profiles for the Python evaluator ----------------------------------------------------


def _plausible(d: date | None) -> bool:
    return d is None or EARLIEST_DATE <= d <= LATEST_DATE


def _birth(y: int | None, m: int | None, d: int | None) -> date | None:
    if y is None or m is None or d is None:
        return None
    try:
        born = date(y, m, d)
    except ValueError:
        return None
    return born if _plausible(born) else None


def _finite(x: float | None) -> bool:
    return x is None or (math.isfinite(x) and x >= 0)


def _lab_ok(value: float | None, lo: float | None, hi: float | None, when: date | None) -> bool:
    """As ``sources.measurement_filter``: the rows a profile's ``Lab`` accepts."""
    return (
        value is not None
        and _finite(value)
        and _finite(lo)
        and _finite(hi)
        and (lo is None or hi is None or lo <= hi)
        and _plausible(when)
    )


def _entry_ok(name: str | None, start: date | None, end: date | None) -> bool:
    return (
        bool(name) and _plausible(start) and _plausible(end) and not (start and end and end < start)
    )


def _rows(con: Any, table: str, columns: list[str]) -> list[tuple]:
    q = (
        exp.select(*[exp.column(c) for c in columns])
        .from_(table)
        .order_by(*[exp.column(c) for c in columns[:1]])
    )
    return con.sql(q.sql("duckdb")).fetchall()


def read_profiles(con: Any, as_of: date) -> Iterator[tuple[int, Any]]:
    """(person_id, profile dict) per person, in person_id order: labs from measurement
    (the terms the vocabulary resolves), ECOG/Karnofsky (newest dated value on or before the
    as-of date, the highest of a day), conditions by ICD-10 source code (resolved when an end
    date is recorded), treatments from drug exposures and procedures. The lists are complete
    (``[]``, not unrecorded): the extract is taken as the whole record."""
    from ..facts import _analyte_id

    genders = gender_concepts()
    perf_codes = {c: s for s in ("ecog", "karnofsky") for c in performance_codes(s)}
    domains = {"ecog": set(range(6)), "karnofsky": set(range(0, 101, 10))}
    labs: dict[int, list[dict]] = defaultdict(list)
    perf: dict[tuple[int, str], tuple[date, int]] = {}
    cols = list(COLUMNS["measurement"])
    for pid, term, when, value, unit, lo, hi in _rows(con, "measurement", cols):
        if term is None:
            continue
        scale = perf_codes.get(term)
        if scale is not None:
            if when is None or not EARLIEST_DATE <= when <= as_of or value not in domains[scale]:
                continue
            seen = perf.get((pid, scale))
            if seen is None or (when, int(value)) > seen:
                perf[(pid, scale)] = (when, int(value))
            continue
        if _analyte_id(term) is None or not _lab_ok(value, lo, hi, when):
            continue
        lab = {"test": term, "value": value, "unit": unit, "ref_low": lo, "ref_high": hi}
        lab["date"] = when
        labs[pid].append(lab)
    conditions: dict[int, list[dict]] = defaultdict(list)
    for pid, code, start, end in _rows(
        con, "condition_occurrence", list(COLUMNS["condition_occurrence"])
    ):
        if _entry_ok(code, start, end):
            status = "resolved" if end is not None else "active"
            icd, name = condition_entry(code)
            entry = {"code": icd, "name": name, "status": status, "onset": start, "end": end}
            conditions[pid].append(entry)
    treatments: dict[int, list[dict]] = defaultdict(list)
    for table in ("drug_exposure", "procedure_occurrence"):
        for pid, name, start, end in _rows(con, table, list(COLUMNS[table])):
            if _entry_ok(name, start, end):
                treatments[pid].append({"name": name, "start": start, "end": end})
    for pid, gender, y, m, d in _rows(con, "person", list(COLUMNS["person"])):
        profile: dict[str, Any] = {
            "id": str(pid),
            "sex": genders.get(gender) if gender is not None else None,
            "birth_date": _birth(y, m, d),
            "labs": labs.pop(pid, []),
            "conditions": conditions.pop(pid, []),
            "treatments": treatments.pop(pid, []),
        }
        for scale in ("ecog", "karnofsky"):
            if (pid, scale) in perf:
                profile[scale] = perf[(pid, scale)][1]
        yield pid, profile
