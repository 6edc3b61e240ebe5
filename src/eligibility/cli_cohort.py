"""Command line, cohort runs: ``eligibility screen`` of many profiles or trials, and ``funnel``.

Apart from ``cli.py`` (which parses arguments, screens a single profile and owns the consoles,
the exit codes and the terminal) because a cohort run is its own pipeline: inputs classified,
trials compiled, records streamed through the screener, problems echoed to stderr as rows pass,
and rows handed to the writer the format names.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import cli, today
from .cli import (
    EXIT_INTERNAL,
    EXIT_USAGE,
    _options,
    _output,
    _print_notes,
    _progress,
    _stderr,
    _wide,
)
from .errors import EligibilityError

if TYPE_CHECKING:
    from rich.progress import Progress

    from .batch import Inputs, Record, Row, Trial


def cohort_rows(
    args: argparse.Namespace, inputs: Inputs, detail: bool, records: list[Record] | None = None
) -> tuple[list[Trial], Iterator[Row], Progress | None, Counter[str]]:
    """Trials, then rows (error rows for bad inputs first), with problems echoed to stderr.

    The counter tallies rows by verdict as they pass (plus ``internal`` for records the engine
    failed on), for the totals line and the exit code.
    """
    from .batch import DuplicateIds, error_row, iter_records, load_trials, screen_records

    if getattr(args, "omop", None):  # an OMOP extract: eligibility.omop.commands
        from .omop.commands import omop_rows

        return omop_rows(args, inputs, detail)
    err = _stderr()
    _print_notes(inputs)
    if not inputs.rules and not inputs.errors:
        raise EligibilityError("no rules file given (.yaml or .yml, or a directory of them)")
    if not inputs.patients and not inputs.errors:
        raise EligibilityError("no patient profile given (.json or .jsonl, or a directory)")
    trials, bad_trials = load_trials(inputs.rules)
    options = _options(args)
    per_record = max(len(trials), 1)

    def total() -> int | None:
        n = len(records) if records is not None else cli._count_records(inputs.patients)
        return None if n is None else n * per_record

    progress = _progress(args, total)
    tally: Counter[str] = Counter()
    duplicates = DuplicateIds()

    def checked() -> Iterator[Record]:
        for record in records if records is not None else iter_records(inputs.patients, fast=True):
            note = duplicates.note(record)
            if note:
                err.print(note, markup=False)
            yield record

    def rows() -> Iterator[Row]:
        for exc in inputs.errors:
            yield error_row(exc.file or "", exc)
        yield from bad_trials
        yield from screen_records(
            trials,
            checked(),
            as_of=args.as_of,
            today=today(),
            options=options,
            detail=detail,
            reraise=bool(os.environ.get("ELIGIBILITY_DEBUG")),
        )

    def reported() -> Iterator[Row]:
        source, said = "", set[str]()  # a record's warnings once each (rows come record by record)
        for row in rows():
            tally[row.verdict] += 1
            if row.internal:
                tally["internal"] += 1
            if row.error is not None:
                err.print(f"skipped: {row.error}", markup=False)
            if row.source != source:
                source, said = row.source, set()
            for w in row.warnings:
                if w not in said:
                    said.add(w)
                    err.print(f"warning: {row.source}: {w}", markup=False)
            if progress is not None:
                progress.advance(0, 1 if row.error is None else per_record)
            yield row

    return trials, reported(), progress, tally


def screen_cohort(
    args: argparse.Namespace, inputs: Inputs, records: list[Record] | None = None
) -> int:
    from .batch import exit_code
    from .batch_report import summary_table, totals_line, write_csv, write_json, write_jsonl
    from .result import ScreeningResult

    if getattr(args, "omop", None) and args.format == "csv":  # CSV built by the query
        from .omop.commands import screen_csv

        return screen_csv(args, inputs)
    detail = args.format in ("jsonl", "json", "html")
    trials, rows, progress, verdicts = cohort_rows(args, inputs, detail, records)
    with _output(args) as out, progress if progress is not None else _nothing():
        if args.format == "table":
            collected = list(rows)
            if progress is not None:
                progress.stop()
            console = _wide(out)
            console.print(summary_table(collected))
            console.print(totals_line(verdicts), markup=False)
        elif args.format == "html":
            from .worksheet import render_html

            errors: list[tuple[str, str]] = []

            def results() -> Iterator[ScreeningResult]:
                for row in rows:
                    if row.result is not None:
                        yield row.result
                    else:
                        errors.append((row.source, row.error or ""))

            titles = {t.trial_id: t.rules.trial.title for t in trials}
            out.writelines(render_html(results(), errors, titles))
        else:
            writer = {"jsonl": write_jsonl, "json": write_json, "csv": write_csv}[args.format]
            for _ in writer(rows, out):
                pass
    if args.format != "table":
        _stderr().print(totals_line(verdicts), markup=False)
    return exit_code(verdicts.elements())  # type: ignore[arg-type]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def cmd_funnel(args: argparse.Namespace) -> int:
    from .batch import classify
    from .batch_report import render_funnels
    from .funnel import build_funnels

    inputs = classify(args.inputs)
    trials, rows, progress, tally = cohort_rows(args, inputs, detail=False)
    with progress if progress is not None else _nothing():
        funnels, errors = build_funnels(trials, rows)
    with _output(args) as out:
        if args.format == "json":
            data = {
                "as_of": args.as_of.isoformat() if args.as_of else None,
                "funnels": [f.to_dict() for f in funnels],
                "errors": [{"source": e.source, "error": e.error} for e in errors],
            }
            out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        else:
            render_funnels(funnels, _wide(out))
    if tally["internal"]:
        return EXIT_INTERNAL
    return EXIT_USAGE if errors else 0
