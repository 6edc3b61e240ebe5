"""Render screening results: a rich table for people, JSON for machines. Nothing else prints."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .display import display_text, escape_controls
from .result import EVIDENCE_MARK, ScreeningResult

STATUS_STYLE = {"pass": "green", "fail": "bold red", "unknown": "yellow", "review": "cyan"}
VERDICT_STYLE = {"eligible": "bold green", "ineligible": "bold red", "indeterminate": "bold yellow"}


def to_json(result: ScreeningResult | dict[str, Any], indent: int | None = 2) -> str:
    """Deterministic JSON: same inputs and as-of date give byte-identical output."""
    data = result.to_dict() if isinstance(result, ScreeningResult) else result
    return json.dumps(data, ensure_ascii=False, indent=indent)


def summary_line(result: ScreeningResult) -> Text:
    c = result.counts
    line = Text()
    line.append(escape_controls(f"{result.patient} · {result.trial} · as of {result.as_of}: "))
    line.append(result.verdict.upper(), style=VERDICT_STYLE[result.verdict])
    line.append(
        f"  ({c.get('pass', 0)} pass, {c.get('fail', 0)} fail, "
        f"{c.get('unknown', 0)} unknown, {c.get('review', 0)} review)"
    )
    return line


def render_table(result: ScreeningResult, console: Console) -> None:
    table = Table(
        title=Text(escape_controls(f"{result.trial} — patient {result.patient}")),
        show_lines=True,
        expand=True,
    )
    table.add_column("Criterion", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    # A 60-character URL or code list is folded onto the next line, never cut off.
    table.add_column("Source text", ratio=2, overflow="fold")
    table.add_column("Reason", ratio=3, overflow="fold")
    for c in result.criteria:
        reason = c.reason
        for line in c.assisted:  # a manual rule's evidence: on its own line, never a verdict
            reason = reason.replace(EVIDENCE_MARK + line, "", 1)
            reason += "\n→ evidence (does not decide): " + line
        if c.missing and c.status == "unknown":
            reason += "\n→ collect: " + ", ".join(c.missing)
        label = Text(escape_controls(c.id))
        label.append("\n" + ("incl." if c.section == "inclusion" else "excl."), style="dim")
        # Criteria text is untrusted: Text() keeps "[…]" literal instead of parsing it as markup,
        # and bidirectional controls are shown as <U+202E> rather than reordering the row.
        status = Text(c.status.upper(), style=STATUS_STYLE[c.status])
        table.add_row(label, status, Text(display_text(c.text)), Text(display_text(reason)))
    console.print(table)
    for line in result.ignored:  # source data the profile could not hold (FHIR input)
        console.print(Text("ignored: " + escape_controls(line), style="dim"))
    console.print(summary_line(result))
