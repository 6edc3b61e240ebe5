"""``eligibility sql``, ``eligibility omop synth`` and ``screen/funnel --omop DIR``.

Registered by ``cli.build_parser``; nothing heavy is imported until a command runs (DuckDB,
sqlglot and pyarrow load only here), so the other commands start as fast as before.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DIALECT_CHOICES = ("duckdb", "spark", "postgres", "trino")


def register(sub: Any) -> None:
    """The ``sql`` and ``omop`` subcommands."""
    p = sub.add_parser(
        "sql",
        help="print one trial's rules as SQL over OMOP CDM tables",
        description=(
            "Print a query over OMOP CDM v5.4 tables (person, measurement, "
            "condition_occurrence, drug_exposure, procedure_occurrence) giving one row per "
            "person: each criterion's status and the verdict at the as-of date. Criteria the "
            "compiler cannot express exactly read 'review' and are named on stderr."
        ),
    )
    p.add_argument("inputs", nargs=1, metavar="RULES.yaml", help="a rules file")
    p.add_argument("--dialect", choices=DIALECT_CHOICES, default="duckdb")
    p.add_argument("--as-of", metavar="DATE", help="screening date, YYYY-MM-DD (default: today)")
    p.add_argument("--if-absent", choices=["absent", "unknown"], default="absent")
    p.add_argument("--max-lab-age", metavar="DAYS", help="ignore results older than DAYS")
    p.add_argument(
        "--omop",
        metavar="DIR",
        help="resolve the codes, units and names this extract holds (default: the "
        "vocabulary's own spellings only)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the query here (default: stdout)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("omop", help="OMOP extract tools (synth)")
    osub = p.add_subparsers(dest="omop_command", required=True, metavar="COMMAND")
    s = osub.add_parser(
        "synth",
        help="write a seeded synthetic OMOP extract (Parquet)",
        description="Persons with the labs, conditions and drugs the seed trials use, "
        "dated around 2024-03-01 (screen with --as-of 2024-03-01).",
    )
    s.add_argument("--persons", type=int, required=True, metavar="N")
    s.add_argument("--out", required=True, metavar="DIR")
    s.add_argument("--seed", type=int, default=0, metavar="S")
    s.add_argument(
        "--concepts",
        action="store_true",
        help="code the rows by OMOP concept id (LOINC, UCUM, ICD-10-CM, SNOMED CT, RxNorm) "
        "and write concept and concept_relationship beside them",
    )
    s.set_defaults(func=cmd_synth)


def screen_options(p: argparse.ArgumentParser) -> None:
    """``--omop`` and ``--engine`` for ``screen`` and ``funnel``."""
    p.add_argument("--omop", metavar="DIR", help="screen this OMOP extract (Parquet or CSV tables)")
    p.add_argument(
        "--engine",
        choices=["duckdb", "spark", "python"],
        default="duckdb",
        help="with --omop: the compiled SQL on DuckDB (default) or Spark, or the Python evaluator",
    )


def cmd_sql(args: argparse.Namespace) -> int:
    from .. import today
    from ..cli import _options, _output, _stderr
    from ..loaders import load_rules
    from .compiler import compile_trial

    rules = load_rules(args.inputs[0])
    terms = None
    if args.omop:
        from .extract import distinct_terms, open_duckdb

        terms = distinct_terms(open_duckdb(args.omop))
    query = compile_trial(rules, args.as_of or today(), _options(args), terms)
    _say_refused(query, _stderr())
    with _output(args) as out:
        out.write(query.sql(args.dialect, pretty=True) + ";\n")
    return 0


def _say_refused(query: Any, err: Any) -> None:
    for cid, why in query.refused.items():
        err.print(
            f"note: {query.trial_id} {cid}: not compiled to SQL ({why}): review", markup=False
        )


def cmd_synth(args: argparse.Namespace) -> int:
    from ..errors import EligibilityError
    from .synth import synthesize, with_concepts, write

    if args.persons < 0:
        raise EligibilityError(f"must not be negative (got {args.persons})", "--persons")
    tables = synthesize(args.persons, args.seed)
    write(with_concepts(tables) if args.concepts else tables, Path(args.out))
    return 0


def _prepare(args: argparse.Namespace, inputs: Any) -> tuple:
    """The checks, notes, trials, options and DuckDB connection every ``--omop`` run starts
    with."""
    from .. import today
    from ..batch import load_trials
    from ..cli import _options, _stderr
    from ..errors import EligibilityError
    from .extract import open_duckdb

    if inputs.patients:
        raise EligibilityError("with --omop, give rules files only", str(inputs.patients[0]))
    if not inputs.rules and not inputs.errors:
        raise EligibilityError("no rules file given (.yaml or .yml, or a directory of them)")
    if args.command == "screen" and args.format == "html" and args.engine != "python":
        raise EligibilityError("--format html needs reasons: use --engine python", "--format")
    err = _stderr()
    for note in inputs.notes:
        err.print(note, markup=False)
    trials, bad = load_trials(inputs.rules)
    return trials, bad, args.as_of or today(), _options(args), open_duckdb(args.omop), err


def omop_rows(args: argparse.Namespace, inputs: Any, detail: bool, prepared: Any = None) -> tuple:
    """``screen``/``funnel`` RULES… ``--omop DIR``: trials and rows for the CLI's cohort writers
    (``cli_cohort.cohort_rows`` hands over here), so every format is written as for profiles.
    The SQL engines give statuses (CSV, table, funnel; JSON and JSONL without reasons); ``--engine
    python`` gives reasons too, and HTML."""
    from ..errors import EligibilityError
    from . import engines
    from .extract import distinct_terms

    trials, bad, as_of, options, con, err = prepared or _prepare(args, inputs)
    source = str(args.omop)
    if args.engine == "python":
        rows: Iterator[Any] = engines.run_python(con, trials, as_of, options, source, detail)
    else:
        terms = distinct_terms(con)
        if args.engine == "spark":
            try:
                spark = engines.spark_session()
            except ImportError:
                raise EligibilityError(
                    "pyspark is not installed: pip install 'eligibility[spark]'", "--engine"
                ) from None
            except Exception as exc:  # no Java, no cluster: Spark says why in its first line
                why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise EligibilityError(f"Spark could not start: {why}", "--engine spark") from None
            engines.spark_views(spark, args.omop)
            screened = engines.run_spark(spark, trials, terms, as_of, options, source)
        else:
            screened = engines.run_duckdb(con, trials, terms, as_of, options, source)
        for s in screened:
            _say_refused(s.query, err)
        rows = engines.interleave(screened)
    tally: Counter[str] = Counter()

    def counted() -> Iterator[Any]:
        yield from _leading(inputs, bad)  # as before: not tallied, not echoed
        for row in rows:
            tally[row.verdict] += 1
            if row.error is not None:
                err.print(f"skipped: {row.error}", markup=False)
            yield row

    return trials, counted(), None, tally


def _leading(inputs: Any, bad: list) -> Iterator[Any]:
    """Error rows for the inputs that could not be read, written before any screening."""
    from ..batch import error_row

    for exc in inputs.errors:
        yield error_row(exc.file or "", exc)
    yield from bad


def screen_csv(args: argparse.Namespace, inputs: Any) -> int:
    """``screen RULES… --omop DIR --format csv``: on DuckDB, the CSV lines built by the query
    (``csvout``), no Python row per screening; the same bytes as the cohort writer, which
    still writes when the shortcut does not apply (other engines, ids a cell must quote)."""
    from ..batch import exit_code
    from ..batch_report import totals_line, write_csv
    from ..cli import _output
    from . import csvout
    from .compiler import compile_trials
    from .extract import distinct_terms

    prepared = _prepare(args, inputs)
    trials, bad, as_of, options, con, err = prepared
    plan = None
    if args.engine == "duckdb":
        terms = distinct_terms(con)
        queries = compile_trials([t.rules for t in trials], as_of, options, terms)
        plan = csvout.plan(con, trials, queries, str(args.omop), as_of)
    tally: Counter[str] = Counter()
    with _output(args) as out:
        if plan is None:
            _, rows, _, tally = omop_rows(args, inputs, False, prepared)
            for _ in write_csv(rows, out):
                pass
        else:
            for q in queries:
                _say_refused(q, err)
            csvout.header(_leading(inputs, bad), out)  # as omop_rows: not tallied
            csvout.write(con, plan, out, tally)
    err.print(totals_line(tally), markup=False)
    return exit_code(tally.elements())  # type: ignore[arg-type]
