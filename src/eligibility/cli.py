"""Command line: ``eligibility screen``, ``validate`` and friends.

Each subcommand is a ``cmd_*`` function taking parsed arguments and returning an exit code;
``build_parser`` wires them up. Errors a user can fix become one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rich.console import Console

from . import __version__, today
from .errors import EligibilityError, InputError

if TYPE_CHECKING:
    from rich.progress import Progress

    from .batch import Inputs, Row, Trial

EXIT_ELIGIBLE, EXIT_INELIGIBLE, EXIT_USAGE, EXIT_INDETERMINATE, EXIT_INTERNAL = 0, 1, 2, 3, 4
VERDICT_EXIT = {
    "eligible": EXIT_ELIGIBLE,
    "ineligible": EXIT_INELIGIBLE,
    "indeterminate": EXIT_INDETERMINATE,
}


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _wide(out: IO[str]) -> Console:
    """Cohort tables have many columns: use the terminal's width, else 160 rather than 80."""
    terminal = out is sys.stdout and sys.stdout.isatty()
    return Console(file=out, highlight=False, soft_wrap=False, width=None if terminal else 160)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def cmd_screen(args: argparse.Namespace) -> int:
    """One rules file and one ``.json`` profile: today's single screening (table, JSON or HTML;
    exit code by verdict; a file that is not one profile is an error). Anything else: a cohort."""
    from .batch import classify

    inputs = classify(args.inputs)
    single = (
        not inputs.errors
        and len(inputs.rules) == 1
        and len(inputs.patients) == 1
        and inputs.patients[0].suffix.lower() == ".json"
        and args.format in ("table", "json", "html")
        and not any(os.path.isdir(p) for p in args.inputs)
    )
    if single:
        return _screen_single(args, inputs.rules[0], inputs.patients[0])
    return _screen_cohort(args, inputs)


def _screen_single(args: argparse.Namespace, rules_path: Path, patient_path: Path) -> int:
    from .batch import compile_file
    from .evaluate import DEFAULT_MAX_LAB_AGE_DAYS, Options, build_facts, evaluate
    from .loaders import load_patient
    from .report import render_table, to_json

    trial = compile_file(rules_path)
    item = load_patient(patient_path)
    when = args.as_of or item.screening_date or today()
    age = DEFAULT_MAX_LAB_AGE_DAYS if args.max_lab_age is None else args.max_lab_age
    options = Options(if_absent=args.if_absent, max_lab_age_days=age)
    result = evaluate(trial.compiled, build_facts(item, when, options))
    for warning in result.warnings:
        _stderr().print(f"warning: {patient_path}: {warning}", markup=False)
    with _output(args) as out:
        if args.format == "json":
            out.write(to_json(result) + "\n")
        elif args.format == "html":
            from .worksheet import render_html

            out.writelines(render_html([result], titles={trial.trial_id: trial.rules.trial.title}))
        elif out is sys.stdout:
            render_table(result, _stdout())
        else:
            render_table(result, Console(file=out, highlight=False, soft_wrap=False))
    return VERDICT_EXIT[result.verdict]


class _output:
    """``-o FILE`` or stdout, as a context manager that closes only what it opened."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.path = getattr(args, "output", None)
        self.fh: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if self.path and self.path != "-":
            try:
                self.fh = open(self.path, "w", encoding="utf-8", newline="")
            except OSError as exc:
                raise InputError(f"cannot write: {exc.strerror}", self.path) from None
            return self.fh
        return sys.stdout

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


def _count_records(paths: Sequence[Path]) -> int:
    """Rough number of profiles, for the progress bar only: JSONL lines, else one per file."""
    total = 0
    for p in paths:
        if p.suffix.lower() == ".jsonl":
            try:
                with open(p, "rb") as fh:
                    total += sum(b.count(b"\n") for b in iter(lambda: fh.read(1 << 20), b""))
            except OSError:
                total += 1
        else:
            total += 1
    return total


def _progress(args: argparse.Namespace, total: int) -> Progress | None:
    """A rich progress bar on stderr, or None when stderr is not a terminal or not wanted."""
    if args.no_progress or not sys.stderr.isatty():
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("screening"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_stderr(),
        transient=True,
    )
    progress.add_task("screen", total=total or None)
    return progress


def _cohort_rows(
    args: argparse.Namespace, inputs: Inputs, detail: bool
) -> tuple[list[Trial], Iterator[Row], Progress | None]:
    """Trials, then rows (error rows for bad inputs first), with problems echoed to stderr."""
    from .batch import error_row, iter_records, load_trials, screen_records
    from .evaluate import DEFAULT_MAX_LAB_AGE_DAYS, Options

    err = _stderr()
    if not inputs.rules and not inputs.errors:
        raise EligibilityError("no rules file given (.yaml or .yml, or a directory of them)")
    if not inputs.patients and not inputs.errors:
        raise EligibilityError("no patient profile given (.json or .jsonl, or a directory)")
    trials, bad_trials = load_trials(inputs.rules)
    age = DEFAULT_MAX_LAB_AGE_DAYS if args.max_lab_age is None else args.max_lab_age
    options = Options(if_absent=args.if_absent, max_lab_age_days=age)
    records = iter_records(inputs.patients)
    progress = _progress(args, _count_records(inputs.patients) * max(len(trials), 1))

    def rows() -> Iterator[Row]:
        for exc in inputs.errors:
            yield error_row(exc.file or "", exc)
        yield from bad_trials
        yield from screen_records(
            trials, records, as_of=args.as_of, today=today(), options=options, detail=detail
        )

    def reported() -> Iterator[Row]:
        source, said = "", set[str]()  # a record's warnings once each (rows come record by record)
        for row in rows():
            if row.error is not None:
                err.print(f"skipped: {row.error}", markup=False)
            if row.source != source:
                source, said = row.source, set()
            for w in row.warnings:
                if w not in said:
                    said.add(w)
                    err.print(f"warning: {row.source}: {w}", markup=False)
            if progress is not None:
                progress.advance(0, 1 if row.error is None else max(len(trials), 1))
            yield row

    return trials, reported(), progress


def _screen_cohort(args: argparse.Namespace, inputs: Inputs) -> int:
    from collections import Counter

    from .batch import exit_code
    from .batch_report import summary_table, totals_line, write_csv, write_json, write_jsonl
    from .result import ScreeningResult

    detail = args.format in ("jsonl", "json", "html")
    trials, rows, progress = _cohort_rows(args, inputs, detail)
    verdicts: Counter[str] = Counter()
    with _output(args) as out, progress if progress is not None else _nothing():
        if args.format == "table":
            collected = []
            for row in rows:
                verdicts[row.verdict] += 1
                collected.append(row)
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
                    verdicts[row.verdict] += 1
                    if row.result is not None:
                        yield row.result
                    else:
                        errors.append((row.source, row.error or ""))

            titles = {t.trial_id: t.rules.trial.title for t in trials}
            out.writelines(render_html(results(), errors, titles))
        else:
            writer = {"jsonl": write_jsonl, "json": write_json, "csv": write_csv}[args.format]
            for row in writer(rows, out):
                verdicts[row.verdict] += 1
    if args.format != "table":
        _stderr().print(totals_line(verdicts), markup=False)
    return exit_code(verdicts.elements())


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
    trials, rows, progress = _cohort_rows(args, inputs, detail=False)
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
    return EXIT_USAGE if errors else 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .loaders import rules_problems

    console = _stdout()
    bad = 0
    for path in args.rules:
        problems = rules_problems(path)
        if problems:
            bad += 1
            for p in problems:
                console.print(p, markup=False)
        else:
            console.print(f"{path}: OK", markup=False)
    return EXIT_USAGE if bad else 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-of",
        type=_iso_date,
        help="screening date (default: the profile's screening_date, else today)",
    )
    p.add_argument(
        "--if-absent",
        choices=["absent", "unknown"],
        default="absent",
        help="a condition or therapy not in the profile is 'absent' (default) or 'unknown'",
    )
    p.add_argument(
        "--max-lab-age",
        type=int,
        metavar="DAYS",
        help="ignore results older than DAYS before the as-of date",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (default: stdout)")
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (it is shown only when stderr is a terminal)",
    )


def cmd_vocab(args: argparse.Namespace) -> int:
    """What a term resolves to in the vocabulary; exit 1 when it resolves to nothing."""
    import json

    from rich.table import Table
    from rich.text import Text

    from . import vocab

    if args.term is None:
        drugs = vocab.drugs()
        rows: list[dict[str, object]] = [
            {"kind": "analyte", "count": len(vocab.analytes())},
            {"kind": "condition", "count": len(vocab.conditions())},
            {"kind": "drug", "count": sum(d.kind == "drug" for d in drugs)},
            {"kind": "drug_class", "count": sum(d.kind == "drug_class" for d in drugs)},
            {"kind": "regimen", "count": sum(d.kind == "regimen" for d in drugs)},
        ]
        if args.format == "json":
            sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        else:
            table = Table(title="Vocabulary")
            table.add_column("Kind")
            table.add_column("Entries", justify="right")
            for row in rows:
                table.add_row(str(row["kind"]), str(row["count"]))
            _stdout().print(table)
        return 0

    found = vocab.describe(args.term)
    resolved = any(entry["id"] is not None for entry in found)  # "G/L" is shown, not resolved
    if args.format == "json":
        sys.stdout.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
        return 0 if resolved else 1
    console = _stdout()
    if not found:
        console.print(Text(f"{args.term!r} does not resolve to any vocabulary entry"))
        return 1
    table = Table(title=Text(f"{args.term!r} resolves to"), show_lines=True, expand=True)
    for column in ("Kind", "Id", "Name", "Codes", "Unit", "Groups / classes", "Source"):
        table.add_column(column)
    for entry in found:
        codes = "; ".join(
            f"{system} {', '.join(values)}"
            for system, values in (entry.get("codes") or {}).items()
            if values
        )
        unit_text = entry.get("unit") or ""
        if entry["kind"] == "unit":
            unit_text = entry.get("problem") or ", ".join(entry.get("flags", ()))
        groups = ", ".join(entry.get("parents", ()))
        if entry.get("components"):
            groups = (
                "components: " + ", ".join(entry["components"]) + ("; " + groups if groups else "")
            )
        # Vocabulary text may contain "[...]" (e.g. "mm[Hg]"): Text() keeps it literal.
        table.add_row(
            *(
                Text(str(x))
                for x in (
                    entry["kind"],
                    entry["id"] if entry["id"] is not None else "—",
                    entry.get("name", ""),
                    codes,
                    unit_text,
                    groups,
                    entry.get("source", ""),
                )
            )
        )
    console.print(table)
    return 0 if resolved else 1


def _dump_rules(ruleset) -> str:  # type: ignore[no-untyped-def]
    import yaml

    data = ruleset.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"schema_version": ruleset.schema_version, **data}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def cmd_parse(args: argparse.Namespace) -> int:
    """Every good record's rules are written; each bad one is a ``skipped:`` line on stderr and
    makes the exit code 2 (4 if the parser failed on it), as in a cohort screening."""
    from pathlib import Path

    from .coverage import parse_records
    from .ingest import RecordError

    docs: list[str] = []
    skipped: list[RecordError] = []
    for item in parse_records(Path(args.trial), reraise=bool(os.environ.get("ELIGIBILITY_DEBUG"))):
        if isinstance(item, RecordError):
            skipped.append(item)
        else:
            docs.append(_dump_rules(item))
    if not docs and not skipped:
        raise EligibilityError("no trial record found", file=args.trial)
    err = _stderr()
    for e in skipped:  # "skipped" when others were parsed; a lone bad record is just an error
        err.print(f"{'skipped' if docs else 'error'}: {e}", markup=False)
    if docs:
        with _output(args) as out:
            out.write("---\n".join(docs))
    if any(e.internal for e in skipped):
        return EXIT_INTERNAL
    return EXIT_USAGE if skipped else 0


def cmd_coverage(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from .coverage import measure

    paths = [Path(p) for p in args.files]
    total = 0
    for p in paths:
        if p.suffix in {".jsonl", ".ndjson"} and p.exists():
            with p.open("rb") as fh:
                total += sum(1 for line in fh if line.strip())
        else:
            total += 1
    err = _stderr()
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, transient=True, disable=total < 50 or args.quiet,
    ) as progress:  # fmt: skip
        task = progress.add_task("parsing", total=total)
        cov = measure(paths, progress=lambda n: progress.update(task, completed=n))
    for e in cov.errors:
        err.print(f"error: {e}", markup=False)
    if args.format == "json":
        sys.stdout.write(json.dumps(cov.as_json()) + "\n")
        return 0
    out = _stdout()
    n = max(cov.criteria, 1)
    rate = cov.criteria / max(cov.seconds, 1e-9)
    out.print(f"{cov.trials} trials, {cov.criteria} criteria in {cov.seconds:.1f} s "
              f"({rate:,.0f} criteria/s)", markup=False)  # fmt: skip
    for name in ("computable", "partial", "assisted", "manual"):
        v = getattr(cov, name)
        out.print(f"  {name:<11} {v:>7}  {100 * v / n:5.1f}%", markup=False)
    out.print(f"  {'errors':<11} {len(cov.errors):>7}", markup=False)
    out.print("rules by kind:", markup=False)
    for kind, v in sorted(cov.by_kind.items(), key=lambda kv: -kv[1]):
        out.print(f"  {kind:<14} {v:>7}", markup=False)
    out.print(f"top {args.top} unparsed phrasings:", markup=False)
    for text, v in cov.top_unparsed(args.top):
        out.print(f"  {v:>6}  {text[:110]}", markup=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eligibility",
        description="Screen patients against clinical-trial eligibility criteria.",
    )
    parser.add_argument("--version", action="version", version=f"eligibility {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "screen",
        help="screen patient profiles against trials' rules",
        description=(
            "Screen one profile against one trial (table or JSON; exit 0 eligible, 1 ineligible, "
            "3 indeterminate, 2 bad usage or input), or a cohort: any number of rules files "
            "(.yaml/.yml) and profiles (.json, .jsonl with one profile a line), or directories "
            "of them, in any order. A cohort run writes one row per screening and one per input "
            "that could not be screened; exit 2 if any input was skipped, else 1 if any "
            "screening is ineligible, else 3 if any is indeterminate, else 0."
        ),
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="RULES_OR_PATIENTS",
        help="rules files, profiles (JSON or JSONL) or directories",
    )
    _common(p)
    p.add_argument(
        "--format",
        choices=["table", "json", "jsonl", "csv", "html"],
        default="table",
        help="table (default), json, jsonl (one screening a line, streamed), csv (one summary "
        "row a screening), html (printable worksheets)",
    )
    p.set_defaults(func=cmd_screen)

    p = sub.add_parser(
        "funnel",
        help="per-criterion pass/fail/unknown/review counts and attrition for a cohort",
        description="Exit code: 0, or 2 if any input could not be screened.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="RULES_OR_PATIENTS",
        help="rules files, profiles (JSON or JSONL) or directories",
    )
    _common(p)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_funnel)

    p = sub.add_parser(
        "vocab",
        help="show what a term resolves to (analyte, unit, condition, drug)",
        description="Exit code: 0 when the term resolves, 1 when it does not.",
    )
    p.add_argument("term", nargs="?", help="a name, abbreviation, unit, LOINC/ICD-10/ATC code")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_vocab)

    p = sub.add_parser("validate", help="check rules files and report each problem's location")
    p.add_argument("rules", nargs="+", help="rules files (YAML)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("parse", help="parse a trial record's criteria into rules (YAML)")
    p.add_argument("trial", help="trial record: registry page text, API v2 JSON, corpus JSONL")
    p.add_argument("-o", "--output", help="write the rules here instead of stdout")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("coverage", help="how many criteria the parser makes computable")
    p.add_argument("files", nargs="+", help="trial records or a JSONL corpus")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--top", type=int, default=25, help="unparsed phrasings to list")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_coverage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EligibilityError as exc:
        _stderr().print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("ELIGIBILITY_DEBUG"):
            raise
        _stderr().print(
            f"internal error: {type(exc).__name__}: {exc} (set ELIGIBILITY_DEBUG=1 for details)",
            markup=False,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
