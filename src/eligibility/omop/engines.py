"""Screening an OMOP extract: the compiled SQL on DuckDB or Spark, or profiles on the evaluator.

Every engine yields the cohort ``Row``s of ``batch.py`` (statuses, verdict, failed criteria),
so the CLI writes them with the same writers as a profile cohort run. The SQL engines compile
each trial once, with the terms the extract holds, and stream the result in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..batch import Row, Trial
from ..evaluate import verdict_of
from ..facts import Options
from .compiler import CompiledQuery, compile_trial
from .mapping import Terms

ENGINES = ("duckdb", "spark", "python")
_BATCH = 65536


@dataclass(frozen=True)
class Screened:
    """One engine's output for one trial: its compiled query (SQL engines) and rows."""

    trial: Trial
    query: CompiledQuery | None
    rows: Iterator[Row]


def _row(trial: Trial, source: str, record: tuple, as_of: date) -> Row:
    """A query's row (person_id, a status per criterion, verdict) as a cohort ``Row``."""
    person, statuses, verdict = record[0], tuple(record[1:-1]), record[-1]
    failed = tuple(i for i, s in zip(trial.compiled.ids, statuses, strict=True) if s == "fail")
    where = f"{source}#person_id={person}"
    return Row(where, trial.trial_id, str(person), as_of, verdict, statuses, failed, trial.sha256)


def _screened(
    trials: list[Trial],
    terms: Terms,
    as_of: date,
    options: Options,
    rows: Callable[[Trial, CompiledQuery], Iterator[tuple]],
    source: str,
) -> list[Screened]:
    """Each trial compiled once; ``rows`` runs its query and yields the records."""
    out = []
    for trial in trials:
        query = compile_trial(trial.rules, as_of, options, terms)
        out.append(Screened(trial, query, _rows(trial, rows(trial, query), as_of, source)))
    return out


def _rows(trial: Trial, records: Iterator[tuple], as_of: date, source: str) -> Iterator[Row]:
    for record in records:
        yield _row(trial, source, record, as_of)


def run_duckdb(
    con: Any, trials: list[Trial], terms: Terms, as_of: date, options: Options, source: str
) -> list[Screened]:
    """Each trial's query on the open DuckDB connection (``extract.open_duckdb``), streamed."""

    def rows(trial: Trial, query: CompiledQuery) -> Iterator[tuple]:
        cursor = con.cursor()
        cursor.execute(query.sql("duckdb"))
        while batch := cursor.fetchmany(_BATCH):
            yield from batch

    return _screened(trials, terms, as_of, options, rows, source)


def run_spark(
    spark: Any, trials: list[Trial], terms: Terms, as_of: date, options: Options, source: str
) -> list[Screened]:
    """The same queries in Spark SQL over temporary views (``spark_views``)."""

    def rows(trial: Trial, query: CompiledQuery) -> Iterator[tuple]:
        for record in spark.sql(query.sql("spark")).toLocalIterator():
            yield tuple(record)

    return _screened(trials, terms, as_of, options, rows, source)


# Catalyst would merge the query's layered projections back into one (each rule's truth is a
# column the next layer reads), copying every child's CASE into each parent: a plan that grows
# with the product of the nesting, and runs out of heap on the seed trials.
_SPARK_EXCLUDED = "org.apache.spark.sql.catalyst.optimizer.CollapseProject"


def spark_session() -> Any:
    """A local Spark session (``SPARK_MASTER``/``spark-defaults.conf`` choose another)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.appName("eligibility")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.optimizer.excludedRules", _SPARK_EXCLUDED)
        .getOrCreate()
    )


def spark_views(spark: Any, folder: str) -> None:
    """Register the extract's tables as Spark temporary views, read by Spark itself (so a
    cluster reads them where they are), with the columns and types DuckDB gives them."""
    from pyspark.sql import functions as F

    from .concepts import VOCABULARY_TABLES
    from .extract import find_tables, raw_columns, views

    kinds = {"VARCHAR": "string"}
    tables = find_tables(folder)
    for table in tables:
        columns = raw_columns(table.name)
        if table.path is None:
            schema = ", ".join(f"{c} {kinds.get(t, t)}" for c, t in columns.items())
            frame = spark.createDataFrame([], schema)
        else:
            reader = spark.read
            path = str(table.path)
            frame = (
                reader.parquet(path) if table.kind == "parquet" else reader.csv(path, header=True)
            )
            present = {c.lower(): c for c in frame.columns}
            frame = frame.select(
                *[
                    (F.col(present[c]) if c in present else F.lit(None))
                    .cast(kinds.get(t, t))
                    .alias(c)
                    for c, t in columns.items()
                ]
            )
        raw = table.name if table.name in VOCABULARY_TABLES else f"raw_{table.name}"
        frame.createOrReplaceTempView(raw)
    for name, query in views(tables):
        spark.sql(query.sql("spark")).createOrReplaceTempView(name)


def run_python(
    con: Any, trials: list[Trial], as_of: date, options: Options, source: str, detail: bool = False
) -> Iterator[Row]:
    """The extract read into profiles (``extract.read_profiles``) and screened by the
    evaluator, person by person, every trial for each; a person the profile model refuses
    is an error row."""
    from pydantic import ValidationError

    from ..batch import Record, screen_records
    from ..errors import InputError
    from ..patient import Patient
    from .extract import read_profiles

    def records() -> Iterator[Record]:
        for pid, profile in read_profiles(con, as_of):
            where = f"{source}#person_id={pid}"
            try:
                yield Record(where, Patient.model_validate(profile))
            except ValidationError as exc:
                err = exc.errors()[0]
                path = "$." + ".".join(str(x) for x in err["loc"])
                yield Record(where, InputError(f"{path}: {err['msg']}", where))

    yield from screen_records(trials, records(), as_of=as_of, options=options, detail=detail)


def interleave(screened: list[Screened]) -> Iterator[Row]:
    """Rows person by person (every trial for each), as a profile cohort run writes them;
    every trial's query yields its persons in ``person_id`` order."""
    iterators = [s.rows for s in screened]
    while True:
        batch = [next(it, None) for it in iterators]
        if all(r is None for r in batch):
            return
        for r in batch:
            if r is not None:
                yield r


def check_verdict(row: Row) -> bool:
    """The verdict a SQL engine computed agrees with its statuses (a self-check for tests)."""
    return verdict_of(row.statuses) == row.verdict
