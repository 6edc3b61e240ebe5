"""Cohort output: JSONL, JSON list, CSV, a summary table and the funnel table.

Writers take rows as they come and write to the stream they are given, so a JSONL or CSV run
of any size holds one row at a time. Only the CLI decides where the stream goes.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__
from .batch import Row
from .display import display_text, escape_controls
from .funnel import Funnel
from .report import STATUS_STYLE, VERDICT_STYLE

CSV_COLUMNS = (
    "patient",
    "trial",
    "as_of",
    "verdict",
    "pass",
    "fail",
    "unknown",
    "review",
    "failed",
    "source",
    "error",
    "rules_sha256",
    "engine_version",
)


def _dumps(data: Any, indent: int | None = None) -> str:
    return json.dumps(data, ensure_ascii=False, indent=indent)


def write_jsonl(rows: Iterable[Row], out: IO[str]) -> Iterator[Row]:
    """One screening per line, flushed as it comes; rows pass through for the caller.

    Lines are compact JSON written by msgspec's encoder in C (``json.dumps`` took a fifth of a
    cohort run with reasons): the same values as the JSON output, without the blanks. A
    screening's result is encoded from its structs as they are (``result.py``), ``source``
    added at the end as ``Row.to_dict`` does.
    """
    from msgspec.json import Encoder

    encode = Encoder().encode
    put = getattr(out, "write_bytes", None)  # an ``output.Sink``: the bytes as they are
    for row in rows:
        if row.result is not None:
            line = encode(row.result)[:-1] + b',"source":' + encode(row.source) + b"}\n"
        else:
            line = encode(row.to_dict()) + b"\n"
        if put is not None:
            put(line)
        else:
            out.write(line.decode())
        yield row


def write_json(rows: Iterable[Row], out: IO[str]) -> Iterator[Row]:
    """A JSON list, still written row by row."""
    out.write("[")
    first = True
    for row in rows:
        out.write(("\n" if first else ",\n") + _dumps(row.to_dict(), indent=2))
        first = False
        yield row
    out.write("\n]\n" if not first else "]\n")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A cell a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``+cmd|…``, ``@SUM(…)``)
    gets a leading ``'`` (the OWASP CSV-injection rule); JSON output keeps the raw text."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_record(row: Row) -> list[str]:
    """The ``CSV_COLUMNS`` of one row. The cells that hold input text (ids, sources, errors)
    are escaped by ``csv_cell``; the others are dates, digits, fixed words and hex digests."""
    if row.error is None:
        # Counted in the joined text (C's substring search, several times as fast as comparing
        # each status): no status ends with the start of another, so each one is counted once.
        found = "".join(row.statuses)
        count = found.count
        counts = [
            str(count("pass")),
            str(count("fail")),
            str(count("unknown")),
            str(count("review")),
        ]
        version = __version__
    else:
        counts, version = ["", "", "", ""], ""
    return [
        csv_cell(row.patient or ""),
        csv_cell(row.trial or ""),
        row.as_of.isoformat() if row.as_of else "",
        row.verdict,
        *counts,
        csv_cell(";".join(row.failed)),
        csv_cell(row.source),
        csv_cell(row.error or ""),
        row.rules_sha256 or "",
        version,
    ]


def write_csv(rows: Iterable[Row], out: IO[str]) -> Iterator[Row]:
    """Columns: ``CSV_COLUMNS``; failing criterion ids are joined with ``;``.

    Lines end in ``\n``. The writer is told ``\r\n`` so that it quotes a cell holding either
    (it quotes only its terminator's characters; an id may hold a CR) and the ``\r`` is cut.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    commas = len(CSV_COLUMNS) - 1

    def line(cells: list[str]) -> str:
        # No cell holding a comma, quote or line break: the writer would quote nothing, so the
        # cells joined are its line (``tests/test_cohort.py`` compares the two on odd cells).
        text = ",".join(cells)
        if text.count(",") == commas and '"' not in text and "\r" not in text and "\n" not in text:
            return text + "\n"
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()[:-2] + "\n"

    out.write(line(list(CSV_COLUMNS)))
    for row in rows:
        out.write(line(csv_record(row)))
        yield row


def summary_table(rows: list[Row]) -> Table:
    """One line per screening (or per input that could not be screened)."""
    table = Table(title="Cohort screening")
    table.add_column("Patient", overflow="fold")
    table.add_column("Trial", no_wrap=True)
    table.add_column("As of", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    for name in ("Pass", "Fail", "Unknown", "Review"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Failing criteria / problem", overflow="fold", ratio=1)
    for row in rows:
        if row.error is not None:
            table.add_row(
                escape_controls(row.source),
                escape_controls(row.trial or ""),
                "",
                Text("ERROR", style="bold magenta"),
                "",
                "",
                "",
                "",
                escape_controls(row.error),
            )
            continue
        c = row.counts
        table.add_row(
            escape_controls(row.patient or ""),
            escape_controls(row.trial or ""),
            row.as_of.isoformat() if row.as_of else "",
            Text(row.verdict.upper(), style=VERDICT_STYLE.get(row.verdict, "")),
            *(str(c[s]) for s in ("pass", "fail", "unknown", "review")),
            escape_controls(", ".join(row.failed)),
        )
    return table


def totals_line(verdicts: Counter[str]) -> str:
    n = sum(verdicts[k] for k in ("eligible", "ineligible", "indeterminate"))
    return (
        f"{n} screening(s): {verdicts['eligible']} eligible, {verdicts['ineligible']} "
        f"ineligible, {verdicts['indeterminate']} indeterminate; "
        f"{verdicts['error']} input(s) could not be screened"
    )


def funnel_table(funnel: Funnel, width: int = 130) -> Table:
    """Per criterion in order: counts by status and the patients still in the running."""
    table = Table(
        title=escape_controls(f"{funnel.trial} — {funnel.screened} patient(s) screened"),
        caption="Remaining: patients with no failing criterion up to and including this one.",
    )
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Criterion", no_wrap=True)
    for status in ("pass", "fail", "unknown", "review"):
        header = Text(status.capitalize(), style=STATUS_STYLE[status])
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("Remaining", justify="right", no_wrap=True)
    table.add_column(
        "Source text", overflow="ellipsis", no_wrap=True, max_width=max(10, min(70, width - 66))
    )
    for i, (step, left) in enumerate(zip(funnel.steps, funnel.remaining(), strict=True), 1):
        label = escape_controls(f"{'I' if step.section == 'inclusion' else 'E'}: {step.id}")
        table.add_row(
            str(i),
            label,
            *(str(step.counts[s]) for s in ("pass", "fail", "unknown", "review")),
            str(left),
            Text(" ".join(display_text(step.text).split())),  # Text: "[…]" is not markup
        )
    return table


def render_funnels(funnels: list[Funnel], console: Console) -> None:
    for f in funnels:
        console.print(funnel_table(f, console.width))
        v = f.verdicts
        console.print(
            escape_controls(f"{f.trial}: ")
            + f"{v['eligible']} eligible, {v['ineligible']} ineligible, "
            f"{v['indeterminate']} indeterminate"
        )
