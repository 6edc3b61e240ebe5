"""Command line: ``eligibility screen``, ``validate`` and friends.

Each subcommand is a ``cmd_*`` function taking parsed arguments and returning an exit code;
``build_parser`` wires them up. Errors a user can fix become one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, today
from .errors import EligibilityError, InputError
from .limits import EARLIEST_DATE, LATEST_DATE, MAX_WINDOW_DAYS
from .output import STDOUT_NAME, Output, Sink, refuse_input_as_output, stdout_sink

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from .batch import Inputs, Trial
    from .coverage import Coverage
    from .evaluate import Options
    from .model import RuleSet
    from .patient import Patient

EXIT_ELIGIBLE, EXIT_INELIGIBLE, EXIT_USAGE, EXIT_INDETERMINATE, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_CLOSED_PIPE = 141
"""The reader of stdout went away (``| head -1``): not everything was written, so not 0;
141 is what a shell reports for a process ended by SIGPIPE."""
VERDICT_EXIT = {
    "eligible": EXIT_ELIGIBLE,
    "ineligible": EXIT_INELIGIBLE,
    "indeterminate": EXIT_INDETERMINATE,
}


def _as_of(text: str | None) -> date | None:
    """``--as-of``: an ISO date inside the plausible range of ``limits``."""
    if text is None:
        return None
    try:
        when = date.fromisoformat(text)
    except ValueError:
        raise EligibilityError(f"not an ISO date (YYYY-MM-DD): {text!r}", "--as-of") from None
    if not EARLIEST_DATE <= when <= LATEST_DATE:
        raise EligibilityError(
            f"{when.isoformat()} is outside the plausible range {EARLIEST_DATE.isoformat()} "
            f"to {LATEST_DATE.isoformat()}",
            "--as-of",
        )
    return when


def _max_lab_age(text: str | None) -> int | None:
    """``--max-lab-age``: whole days, 0 to ``MAX_WINDOW_DAYS``."""
    if text is None:
        return None
    try:
        days = int(text)
    except ValueError:
        raise EligibilityError(f"not a whole number of days: {text!r}", "--max-lab-age") from None
    if days < 0:
        raise EligibilityError(f"must not be negative (got {days})", "--max-lab-age")
    if days > MAX_WINDOW_DAYS:
        raise EligibilityError(
            f"{days} days is more than the {MAX_WINDOW_DAYS} (150 years) allowed",
            "--max-lab-age",
        )
    return days


def _check_options(args: argparse.Namespace) -> None:
    """Dates and day counts are checked here, not by argparse, so a bad one is one line."""
    if hasattr(args, "as_of"):
        args.as_of = _as_of(args.as_of)
        args.max_lab_age = _max_lab_age(args.max_lab_age)
    inputs = getattr(args, "inputs", None) or getattr(args, "files", None)
    if inputs is None and getattr(args, "trial", None):
        inputs = [args.trial]
    refuse_input_as_output(getattr(args, "output", None), inputs or [])


@cache
def _console_class() -> type[Console]:
    """rich's Console, but a closed pipe is left to ``main`` (rich would exit 1 itself).

    Made on first use: importing rich costs tens of milliseconds that ``--version`` and the
    cohort formats written without it (CSV, JSONL) need not pay.
    """
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return _Console


def _console(**kwargs: Any) -> Console:
    return _console_class()(**kwargs)


def _stdout(out: Sink | None = None, soft_wrap: bool = True) -> Console:
    return _console(file=out or stdout_sink(), highlight=False, soft_wrap=soft_wrap)


def _wide(out: Sink) -> Console:
    """Cohort tables have many columns: use the terminal's width, else 160 rather than 80."""
    terminal = out.name == STDOUT_NAME and out.isatty()
    return _console(file=out, highlight=False, soft_wrap=False, width=None if terminal else 160)


def _stderr() -> Console:
    return _console(stderr=True, highlight=False, soft_wrap=True)


def cmd_screen(args: argparse.Namespace) -> int:
    """One rules file and one ``.json`` profile: today's single screening (table, JSON or HTML;
    exit code by verdict; a file that is not one profile is an error). Anything else: a cohort."""
    from .batch import classify, iter_records

    inputs = classify(args.inputs)
    single = (
        not inputs.errors
        and len(inputs.rules) == 1
        and len(inputs.patients) == 1
        and inputs.patients[0].suffix.lower() == ".json"
        and args.format in ("table", "json", "html")
        and not any(os.path.isdir(p) for p in args.inputs)
    )
    from .cli_cohort import screen_cohort

    if not single:
        return screen_cohort(args, inputs)
    # One .json file: one profile is a single screening; a list is a cohort, whatever the format.
    patient = inputs.patients[0]
    records = list(iter_records([patient]))
    if len(records) == 1 and records[0].source == str(patient):
        item = records[0].item
        if isinstance(item, EligibilityError):
            raise item
        from .batch import compile_all

        trials = compile_all(inputs.rules[0])
        if len(trials) == 1:  # a file of several trials (``parse`` of several studies): a cohort
            _print_notes(inputs)
            return _screen_single(args, trials[0], item, str(patient))
    return screen_cohort(args, inputs, records)


def _options(args: argparse.Namespace) -> Options:
    """What the run's flags ask of the evaluator (``--max-lab-age`` over the default)."""
    from .evaluate import DEFAULT_MAX_LAB_AGE_DAYS, Options

    age = DEFAULT_MAX_LAB_AGE_DAYS if args.max_lab_age is None else args.max_lab_age
    return Options(if_absent=args.if_absent, max_lab_age_days=age)


def _screen_single(
    args: argparse.Namespace, trial: Trial | InputError, item: Patient, source: str
) -> int:
    from .evaluate import build_facts
    from .reasons import evaluate
    from .report import render_table, to_json

    if isinstance(trial, InputError):
        raise trial
    when = args.as_of or item.screening_date or today()
    result = evaluate(trial.compiled, build_facts(item, when, _options(args)))
    for warning in result.warnings:
        _stderr().print(f"warning: {source}: {warning}", markup=False)
    with _output(args) as out:
        if args.format == "json":
            out.write(to_json(result) + "\n")
        elif args.format == "html":
            from .worksheet import render_html

            out.writelines(render_html([result], titles={trial.trial_id: trial.rules.trial.title}))
        else:
            render_table(result, _stdout(out, soft_wrap=out.name == STDOUT_NAME))
    return VERDICT_EXIT[result.verdict]


def _output(args: argparse.Namespace) -> Output:
    """``-o FILE`` (written atomically; see ``output.Output``) or stdout."""
    return Output(getattr(args, "output", None))


def _print_notes(inputs: Inputs) -> None:
    """Inputs left out on purpose (sub-folders, dangling links, a file given twice)."""
    err = _stderr()
    for note in inputs.notes:
        err.print(note, markup=False)


def _count_records(paths: Sequence[Path]) -> int | None:
    """Rough number of profiles, for the progress bar only: JSONL lines, else one per file.

    None (a bar without a total) when an input is not a regular file: a pipe or standard
    input can be read only once, and a device may never end.
    """
    from .loaders import is_jsonl

    total = 0
    for p in paths:
        if not _regular(p):
            return None
        if is_jsonl(p):
            with open(p, "rb") as fh:
                total += sum(b.count(b"\n") for b in iter(lambda: fh.read(1 << 20), b""))
        else:
            total += 1
    return total


def _regular(path: Path) -> bool:
    """A regular file (not standard input, a pipe or a device), which can be read twice."""
    from .loaders import STDIN

    try:
        return path != STDIN and stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _progress(args: argparse.Namespace, total: Callable[[], int | None]) -> Progress | None:
    """A rich progress bar on stderr, or None when stderr is not a terminal or not wanted.

    ``total`` is called only when a bar is drawn: counting reads the inputs once more.
    """
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
    progress.add_task("screen", total=total() or None)
    return progress


def cmd_validate(args: argparse.Namespace) -> int:
    from .loaders import rules_problems

    console = _stdout()
    bad = 0
    for path in args.rules:
        notes: list[str] = []  # what was not checked (spans without their source): not errors
        problems = rules_problems(path, notes)
        for line in problems + notes:
            console.print(line, markup=False)
        if problems:
            bad += 1
        else:
            console.print(f"{path}: OK", markup=False)
    return EXIT_USAGE if bad else 0


def _common(p: argparse.ArgumentParser) -> None:
    """The inputs and options ``screen`` and ``funnel`` share."""
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="RULES_OR_PATIENTS",
        help="rules files, profiles (JSON or JSONL) or directories",
    )
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="screening date, YYYY-MM-DD (default: the profile's screening_date, else today)",
    )
    p.add_argument(
        "--if-absent",
        choices=["absent", "unknown"],
        default="absent",
        help="a condition or therapy not in the profile is 'absent' (default) or 'unknown'",
    )
    p.add_argument(
        "--max-lab-age",
        metavar="DAYS",
        help="ignore results older than DAYS before the as-of date",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (default: stdout)")
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (it is shown only when stderr is a terminal)",
    )
    from .omop.commands import screen_options

    screen_options(p)


def cmd_vocab(args: argparse.Namespace) -> int:
    """What a term resolves to in the vocabulary; exit 1 when it resolves to nothing."""

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
            stdout_sink().write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
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
        stdout_sink().write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
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
            f"{label}{system} {', '.join(values)}"
            for label, key in (("", "codes"), ("may be ", "maybe_codes"), ("not ", "not_codes"))
            for system, values in (entry.get(key) or {}).items()
            if values
        )
        unit_text = entry.get("unit") or ""
        if entry["kind"] == "unit":
            unit_text = entry.get("problem") or ", ".join(entry.get("flags", ()))
        groups = ", ".join(entry.get("parents", ()))
        if entry.get("maybe_classes"):
            groups += ("; " if groups else "") + "may be: " + ", ".join(entry["maybe_classes"])
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


def _dump_rules(ruleset: RuleSet) -> str:
    from .yamlcore import dump

    data = ruleset.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return dump({"schema_version": ruleset.schema_version, **data})


def _output_dir(output: str | None) -> Path | None:
    """``-o DIR/`` (a trailing slash, or a directory that exists): one rules file a study."""
    if not output or output == "-":
        return None
    if not output.endswith(("/", os.sep)) and not os.path.isdir(output):
        return None
    folder = Path(output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror or exc}", output) from None
    return folder


def _relative_source(ruleset: RuleSet, trial: str, rules_dir: Path | None) -> RuleSet:
    """``trial.source`` as a path from the rules file's folder (or its parent, the ``rules/`` +
    ``seeds/`` layout) when the record lies below it, so ``validate`` finds it from anywhere."""
    source = ruleset.trial.source
    if rules_dir is None or not source or not source.startswith(trial):
        return ruleset
    record = Path(trial).resolve()
    for base in (rules_dir.resolve(), rules_dir.resolve().parent):
        if record.is_relative_to(base):
            moved = record.relative_to(base).as_posix() + source[len(trial) :]
            return ruleset.model_copy(
                update={"trial": ruleset.trial.model_copy(update={"source": moved})}
            )
    return ruleset


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")


def _write_each(rulesets: Sequence[RuleSet], folder: Path) -> None:
    """One ``NCT….yaml`` a study; a record without a usable id is ``record<n>.yaml``, and a
    repeated id gets ``-2``, ``-3`` … so no study overwrites another."""
    used: set[str] = set()
    for n, ruleset in enumerate(rulesets, 1):
        tid = ruleset.trial.id
        stem = tid if _SAFE_NAME.fullmatch(tid) and tid != "unknown" else f"record{n}"
        name, k = stem, 1
        while name.lower() in used:
            k += 1
            name = f"{stem}-{k}"
        used.add(name.lower())
        with _output(argparse.Namespace(output=str(folder / f"{name}.yaml"))) as out:
            out.write(_dump_rules(ruleset))
    _stderr().print(f"wrote {len(rulesets)} rules file(s) to {folder}", markup=False)


def cmd_parse(args: argparse.Namespace) -> int:
    """Every good record's rules are written (to stdout or ``-o FILE`` as one YAML document a
    study, or with ``-o DIR/`` one file a study); each bad one is a ``skipped:`` line on stderr
    and makes the exit code 2 (4 if the parser failed on it), as in a cohort screening."""
    from .coverage import parse_records
    from .ingest import RecordError

    folder = _output_dir(args.output)
    to_file = args.output and args.output != "-"
    rules_dir = folder if folder is not None else Path(args.output).parent if to_file else None
    parsed: list[RuleSet] = []
    skipped: list[RecordError] = []
    for item in parse_records(Path(args.trial), reraise=bool(os.environ.get("ELIGIBILITY_DEBUG"))):
        if isinstance(item, RecordError):
            skipped.append(item)
        else:
            parsed.append(_relative_source(item, str(Path(args.trial)), rules_dir))
    if not parsed and not skipped:
        raise EligibilityError("no trial record found", file=args.trial)
    err = _stderr()
    for e in skipped:  # "skipped" when others were parsed; a lone bad record is just an error
        err.print(f"{'skipped' if parsed else 'error'}: {e}", markup=False)
    if parsed and folder is not None:
        _write_each(parsed, folder)
    elif parsed:
        with _output(args) as out:
            out.write("---\n".join(_dump_rules(r) for r in parsed))
    if any(e.internal for e in skipped):
        return EXIT_INTERNAL
    return EXIT_USAGE if skipped else 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from .coverage import measure

    paths = [Path(p) for p in args.files]
    total = 0
    drawn = not args.quiet and sys.stderr.isatty()
    for p in paths if drawn else ():
        if p.suffix in {".jsonl", ".ndjson"} and _regular(p):
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
    with _output(args) as sink:
        if args.format == "json":
            sink.write(json.dumps(cov.as_json()) + "\n")
        else:
            _coverage_table(cov, args.top, _stdout(sink))
    return 0


def _coverage_table(cov: Coverage, top: int, out: Console) -> None:
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
    out.print(f"top {top} unparsed phrasings:", markup=False)
    for text, v in cov.top_unparsed(top):
        out.print(f"  {v:>6}  {text[:110]}", markup=False)


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
            "(.yaml/.yml) and profiles (.json, .jsonl with one profile a line, - for standard "
            "input), or directories of them, in any order. A cohort run writes one row per "
            "screening and one per input that could not be screened; exit 4 if the engine "
            "failed on a profile, else 2 if any input was skipped, else 1 if any screening is "
            "ineligible, else 3 if any is indeterminate, else 0; 141 if stdout was closed early."
        ),
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
    _common(p)
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=_funnel)

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
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE_OR_DIR/",
        help="write the rules here instead of stdout; a folder (DIR/) gets one NCT….yaml a study",
    )
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("coverage", help="how many criteria the parser makes computable")
    p.add_argument("files", nargs="+", help="trial records or a JSONL corpus")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--top", type=int, default=25, help="unparsed phrasings to list")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (default: stdout)")
    p.set_defaults(func=cmd_coverage)

    p = sub.add_parser("convert", help="print the profile JSON derived from FHIR input")
    p.add_argument("inputs", nargs="+", help="FHIR Bundle or Patient, Bulk Data .ndjson or folder")
    p.add_argument("-o", "--output", metavar="FILE", help="write the profiles here")
    p.set_defaults(func=_convert)
    from .omop.commands import register

    register(sub)
    return parser


def _funnel(args: argparse.Namespace) -> int:
    """``funnel``: a cohort command (``cli_cohort.py``), imported when it runs."""
    from .cli_cohort import cmd_funnel

    return cmd_funnel(args)


def _convert(args: argparse.Namespace) -> int:
    """``convert``: its code is in fhir/convert.py; the CLI hands it the output and stderr."""
    from .fhir import convert

    with _output(args) as out:
        return convert.run(args.inputs, out, sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_options(args)
        code = int(args.func(args))
        stdout_sink().flush()  # a full disk or a closed pipe shows here, not at exit
        return code
    except EligibilityError as exc:
        _stderr().print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_CLOSED_PIPE
    except Exception as exc:
        if os.environ.get("ELIGIBILITY_DEBUG"):
            raise
        _stderr().print(
            f"internal error: {type(exc).__name__}: {exc} (set ELIGIBILITY_DEBUG=1 for details)",
            markup=False,
        )
        return EXIT_INTERNAL


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null, so the interpreter's last flush of the
    unwritten rest raises nothing and prints no ``BrokenPipeError`` message."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        pass  # stdout is not a real file (a test's capture): nothing will reach a pipe


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
