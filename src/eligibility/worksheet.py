"""Printable HTML screening worksheets: one page per patient × trial, self-contained.

Made for paper: status is a word and a symbol (colour only repeats it), every criterion shows
its source text, reason, evidence and what to collect, and there is room for initials. No
scripts, fonts or images are referenced. Criteria text and profile values are untrusted, so
everything is HTML-escaped, and bidirectional controls (U+202E …) are shown as ``<U+202E>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from html import escape

from .display import display_text, escape_controls
from .result import EVIDENCE_MARK, CriterionResult, Evidence, ScreeningResult

STATUS_MARK = {
    "pass": ("✓", "PASS", ""),
    "fail": ("✗", "FAIL", ""),
    "unknown": ("?", "UNKNOWN", "— collect data"),
    "review": ("☐", "REVIEW", "— needs a person"),
}
VERDICT_MARK = {
    "eligible": "✓ ELIGIBLE",
    "ineligible": "✗ INELIGIBLE",
    "indeterminate": "? INDETERMINATE",
}

_CSS = """
body { font: 11pt/1.35 Georgia, 'Times New Roman', serif; color: #000; margin: 1.5em; }
h1 { font-size: 15pt; margin: 0 0 .3em; overflow-wrap: anywhere; }
.sheet { page-break-after: always; break-after: page; margin-bottom: 2.5em; }
.sheet:last-of-type { page-break-after: auto; break-after: auto; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1em 1em; margin: 0 0 .8em; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.verdict { font-weight: bold; border: 2px solid #000; padding: .1em .4em; display: inline-block; }
table { border-collapse: collapse; width: 100%; min-width: 44em; table-layout: fixed; }
th, td { border: 1px solid #000; padding: .25em .35em; vertical-align: top; text-align: left;
         overflow-wrap: anywhere; word-break: break-word; hyphens: auto; }
thead { display: table-header-group; } tr { page-break-inside: avoid; break-inside: avoid; }
th { background: #eee; }
col.id { width: 5.5em; } col.status { width: 7.5em; } col.initials { width: 5.5em; }
.status { font-weight: bold; overflow-wrap: normal; word-break: normal; hyphens: manual; }
.status .word { white-space: nowrap; } .status .hint { display: block; font-weight: normal; }
.s-fail { border-left: 4px solid #b00; } .s-pass { border-left: 4px solid #070; }
.s-unknown { border-left: 4px dashed #a60; } .s-review { border-left: 4px dotted #06a; }
.text { white-space: pre-wrap; }
.assist { font-style: italic; }
ul { margin: 0; padding-left: 1.1em; }
.small { font-size: 9pt; }
.errors td { font-family: monospace; }
@page { margin: 12mm; }
@media print { body { margin: 0; font-size: 9pt; } h1 { font-size: 12pt; }
               .small { font-size: 7.5pt; } }
"""


def _e(value: object) -> str:
    """Every value shown goes through here: HTML-escaped, bidirectional controls made visible."""
    return escape(escape_controls(str(value)), quote=True)


def _evidence(items: Iterable[Evidence]) -> str:
    out = []
    for ev in items:
        parts = [f"{_e(ev.label)}: {_e(ev.value)}"]
        if ev.unit:
            parts.append(_e(ev.unit))
        if ev.date:
            parts.append(f"({_e(ev.date.isoformat())})")
        derived = " derived" if ev.derived else ""
        out.append(f"<li>{' '.join(parts)} <span class=small>[{_e(ev.path)}{derived}]</span></li>")
    return f"<ul>{''.join(out)}</ul>" if out else ""


def _reason(c: CriterionResult) -> str:
    """The reason; what a manual rule's evidence found goes on a line of its own, marked as
    evidence for the reviewer, not a verdict."""
    reason = c.reason
    for line in c.assisted:
        reason = reason.replace(EVIDENCE_MARK + line, "", 1)
    found = "".join(
        f"<br><span class=assist>Evidence (does not decide): {_e(display_text(line))}</span>"
        for line in c.assisted
    )
    return _e(display_text(reason)) + found


def _row(c: CriterionResult) -> str:
    mark, word, hint = STATUS_MARK[c.status]
    collect = "".join(f"<li>☐ {_e(display_text(m))}</li>" for m in c.missing)
    section = "Inclusion" if c.section == "inclusion" else "Exclusion"
    return (
        f"<tr class='s-{_e(c.status)}'>"
        f"<td>{_e(c.id)}<br><span class=small>{section}</span></td>"
        f"<td class=text>{_e(display_text(c.text))}</td>"
        f"<td class=status><span class=word>{mark} {word}</span>"
        + (f" <span class=hint>{hint}</span>" if hint else "")
        + "</td>"
        f"<td>{_reason(c)}</td>"
        f"<td>{_evidence(c.evidence)}</td>"
        f"<td>{f'<ul>{collect}</ul>' if collect else ''}</td>"
        "<td></td></tr>"
    )


def worksheet(result: ScreeningResult, title: str | None = None) -> str:
    """One patient's worksheet as an HTML fragment (a ``<section>``)."""
    c = result.counts
    meta = [
        ("Trial", result.trial + (f" — {title}" if title else "")),
        ("Patient", result.patient),
        ("As of", result.as_of.isoformat()),
        ("Counts", ", ".join(f"{c.get(s, 0)} {s}" for s in ("pass", "fail", "unknown", "review"))),
        ("Engine", f"eligibility {result.engine_version}"),
        ("Rules SHA-256", result.rules_sha256 or "not recorded"),
    ]
    rows = "".join(_row(cr) for cr in result.criteria)
    return (
        "<section class=sheet>"
        f"<h1>Screening worksheet: {_e(result.trial)} · patient {_e(result.patient)}</h1>"
        f"<p>Verdict: <span class=verdict>{_e(VERDICT_MARK[result.verdict])}</span></p>"
        "<dl class=meta>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta) + "</dl>"
        "<table><colgroup><col class=id><col class=text><col class=status><col class=reason>"
        "<col class=evidence><col class=collect><col class=initials></colgroup>"
        "<thead><tr><th>Criterion</th><th>Source text</th><th>Status</th><th>Reason</th>"
        "<th>Evidence</th><th>Collect next</th><th>Checked (initials)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        "<p class=small>✓ pass · ✗ fail · ? unknown (data missing or too old) · "
        "☐ review (needs a person's judgement). Reviewed by: ____________ Date: ________</p>"
        "</section>"
    )


def render_html(
    results: Iterable[ScreeningResult],
    errors: Iterable[tuple[str, str]] = (),
    titles: dict[str, str] | None = None,
) -> Iterator[str]:
    """A whole document, in chunks (so a large cohort is written as it is screened).

    ``errors`` are (source, message) pairs for inputs that could not be screened; they are
    listed at the end so the printout accounts for every input.
    """
    titles = titles or {}
    yield (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>Eligibility screening worksheets</title>"
        f"<style>{_CSS}</style></head><body>"
    )
    for result in results:
        yield worksheet(result, titles.get(result.trial))
    bad = list(errors)
    if bad:
        yield (
            "<section class=errors><h1>Inputs that could not be screened</h1>"
            "<table><thead><tr><th>Input</th><th>Problem</th></tr></thead><tbody>"
            + "".join(f"<tr><td>{_e(src)}</td><td>{_e(msg)}</td></tr>" for src, msg in bad)
            + "</tbody></table></section>"
        )
    yield "</body></html>\n"
