"""Command line: ``eligibility screen``, ``validate`` and friends.

Each subcommand is a ``cmd_*`` function taking parsed arguments and returning an exit code;
``build_parser`` wires them up. Errors a user can fix become one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date

from rich.console import Console

from . import __version__
from .errors import EligibilityError

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


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def cmd_screen(args: argparse.Namespace) -> int:
    from . import load_patient, load_rules, screen
    from .report import render_table, to_json

    rules = load_rules(args.rules)
    patient = load_patient(args.patient)
    result = screen(
        rules,
        patient,
        args.as_of,
        if_absent=args.if_absent,
        max_lab_age_days=args.max_lab_age,
    )
    if args.format == "json":
        sys.stdout.write(to_json(result) + "\n")
    else:
        render_table(result, _stdout())
    return VERDICT_EXIT[result.verdict]


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
    from pathlib import Path

    from .ingest import RecordError, read_records
    from .transform import parse_record

    docs: list[str] = []
    for item in read_records(Path(args.trial)):
        if isinstance(item, RecordError):
            raise item.exception()
        docs.append(_dump_rules(parse_record(item)))
    if not docs:
        raise EligibilityError("no trial record found", file=args.trial)
    text = "---\n".join(docs)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


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
    for name in ("computable", "partial", "manual"):
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
        help="screen a patient profile against a trial's rules",
        description="Exit code: 0 eligible, 1 ineligible, 3 indeterminate, 2 bad usage or input.",
    )
    p.add_argument("rules", help="rules file (YAML), e.g. rules/NCT03859128.yaml")
    p.add_argument("patient", help="patient profile (JSON)")
    p.add_argument("--as-of", type=_iso_date, help="screening date (default: the profile's "
                   "screening_date, else today)")  # fmt: skip
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument(
        "--if-absent",
        choices=["absent", "unknown"],
        default="absent",
        help="a condition or therapy not in the profile is 'absent' (default) or 'unknown'",
    )
    p.add_argument("--max-lab-age", type=int, metavar="DAYS",
                   help="ignore results older than DAYS before the as-of date")  # fmt: skip
    p.set_defaults(func=cmd_screen)

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
