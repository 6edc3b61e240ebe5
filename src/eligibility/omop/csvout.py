"""``screen RULES… --omop DIR --format csv`` on DuckDB without a Python object per row.

The cohort CSV writer costs ≈ 25 µs a row (a ``Row``, its cells, ``csv.writer``): at 10⁶
persons × 2 trials that was two thirds of the run. Here the query itself builds each output
line. The line is the profile path's own: ``batch_report.write_csv`` renders one row whose
per-person cells are placeholders, and the text between them becomes SQL literals, so
quoting, formula escapes and the version cell come from the one writer. Each trial's lines
for a person are joined on ``person_id`` into one string, in ``person_id`` order (the order
``engines.interleave`` gives), fetched as Arrow batches and written as the batch's bytes.

Only when the shortcut is exact (``plan`` returns None otherwise, and the caller writes
through cohort rows): unique person ids, and criterion ids a CSV cell holds unquoted.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import IO, Any

from sqlglot import exp

from ..batch import Row, Trial
from ..batch_report import csv_cell, write_csv
from ..compiled import REVIEW
from .compiler import CompiledQuery, joint
from .sqlexpr import case, col, string, truth_eq

_MARK = re.compile("\x01([A-Z][0-9]?)\x01")
_PLAIN = re.compile(r"[^,\"\r\n\x01]*")
_STATUSES = ("pass", "fail", "unknown", "review")
_BATCH = 65536


def _mark(name: str) -> str:
    return "\x01" + name + "\x01"


def _template(trial: Trial, source: str, as_of: date) -> list[str] | None:
    """One CSV line as the writer renders it, split at its placeholders: literal text, then a
    placeholder's name, alternately. None when a constant holds a placeholder's byte."""
    if "\x01" in source or "\x01" in trial.trial_id:
        return None
    row = Row(
        f"{source}#person_id={_mark('S')}",
        trial.trial_id,
        _mark("P"),
        as_of,
        _mark("V"),  # type: ignore[arg-type]
        (),
        (_mark("F"),),
        trial.sha256,
    )
    head, line = io.StringIO(), io.StringIO()
    list(write_csv([], head))
    list(write_csv([row], line))
    text = line.getvalue()[len(head.getvalue()) :]
    counts = "".join("," + _mark(f"C{i}") for i in range(len(_STATUSES)))
    verdict = "," + _mark("V")  # the writer's counts for no statuses, then placeholders
    text = text.replace(verdict + ",0,0,0,0,", verdict + counts + ",", 1)
    parts = _MARK.split(text)
    names = parts[1::2]
    if sorted(names) != sorted(["S", "P", "V", "F", "C0", "C1", "C2", "C3"]):
        return None
    return parts


# the counts of pass, fail and review as one BIGINT, a field of _BITS bits each (unknown is
# the rest): one CASE per criterion instead of one comparison per criterion and status
_BITS = 20
_FIELD = {"pass": 0, "fail": 1, "review": 2}


def _counts(query: CompiledQuery, j: int | None = None) -> list[exp.Expression]:
    """Per person, from the criteria's truths (``t{i}``, or the ``j``-th trial's ``t{j}_{i}``
    of ``compiler.joint``): the packed counts ``k`` and the failed criteria ``f`` (``k{j}``,
    ``f{j}``) — integer tests, no status string made."""
    prefix, suffix = ("t", "") if j is None else (f"t{j}_", str(j))
    ids = [c for c, _ in query.criteria]
    weights = []
    failed = []
    for i, (cid, section) in enumerate(query.criteria):
        t = col(f"{prefix}{i}")
        yes, no = ("pass", "fail") if section == "inclusion" else ("fail", "pass")
        weights.append(
            case(
                (truth_eq(t, 1), exp.Literal.number(1 << _BITS * _FIELD[yes])),
                (truth_eq(t, 0), exp.Literal.number(1 << _BITS * _FIELD[no])),
                (truth_eq(t, REVIEW), exp.Literal.number(1 << _BITS * _FIELD["review"])),
                default=exp.Literal.number(0),
            )
        )
        failed.append(case((truth_eq(t, 0 if section == "inclusion" else 1), string(cid))))
    total: exp.Expression = exp.cast(exp.Literal.number(0), "BIGINT")
    for w in weights:
        total = exp.Add(this=total, expression=w)
    f = exp.Anonymous(this="concat_ws", expressions=[string(";"), *failed]) if ids else string("")
    return [total.as_(f"k{suffix}"), f.as_(f"f{suffix}")]


def _field(k: exp.Expression, status: str) -> exp.Expression:
    """The count of one status (pass, fail, review) from the packed counts ``k``."""
    shifted = exp.BitwiseRightShift(
        this=k.copy(), expression=exp.Literal.number(_BITS * _FIELD[status])
    )
    return exp.BitwiseAnd(this=exp.paren(shifted), expression=exp.Literal.number((1 << _BITS) - 1))


def _verdict(query: CompiledQuery, suffix: str = "") -> exp.Expression:
    """``compiler.verdict`` from the packed counts: a failed criterion makes the person
    ineligible, all passed eligible, else indeterminate (before: one comparison per
    criterion for the failures and one for the passes)."""
    k = col(f"k{suffix}")
    n = exp.Literal.number(len(query.criteria))
    return case(
        (exp.GT(this=_field(k, "fail"), expression=exp.Literal.number(0)), string("ineligible")),
        (exp.EQ(this=_field(k, "pass"), expression=n), string("eligible")),
        default=string("indeterminate"),
    ).as_(f"verdict{suffix}")


def _line(query: CompiledQuery, parts: list[str], suffix: str = "") -> exp.Expression:
    """The trial's CSV line for the person of a ``_counts`` row, as one string expression."""
    person = exp.cast(col("person_id"), "VARCHAR")
    negative = exp.LT(this=col("person_id"), expression=exp.Literal.number(0))
    counts = {s: _field(col(f"k{suffix}"), s) for s in _FIELD}
    rest: exp.Expression = exp.Literal.number(len(query.criteria))
    for c in counts.values():
        rest = exp.Sub(this=rest, expression=exp.paren(c.copy()))
    counts["unknown"] = rest
    values: dict[str, exp.Expression] = {
        "S": person,
        "P": exp.Concat(expressions=[case((negative, string("'")), default=string("")), person]),
        "V": col(f"verdict{suffix}"),
        "F": col(f"f{suffix}"),
    }
    for i, status in enumerate(_STATUSES):
        values[f"C{i}"] = exp.cast(counts[status], "VARCHAR")
    pieces: list[exp.Expression] = []
    for i, part in enumerate(parts):
        if i % 2:
            pieces.append(values[part])
        elif part:
            pieces.append(string(part))
    return exp.Concat(expressions=pieces)


def _plain(trial: Trial) -> bool:
    """Every criterion id can stand in a CSV cell as it is: no quoting, no formula escape."""
    return all(_PLAIN.fullmatch(cid) and csv_cell(cid) == cid for cid in trial.compiled.ids)


def _unique_persons(con: Any) -> bool:
    ids = exp.column("person_id")
    query = exp.select(
        exp.EQ(
            this=exp.Count(this=exp.Star()),
            expression=exp.Count(this=exp.Distinct(expressions=[ids])),
        )
    ).from_("person")
    return bool(con.sql(query.sql("duckdb")).fetchall()[0][0])


def plan(
    con: Any, trials: list[Trial], queries: list[CompiledQuery], source: str, as_of: date
) -> exp.Select | None:
    """One query giving every person's CSV lines (column ``line``) and each trial's verdict
    (``v0``, ``v1``…), or None when the shortcut would not be byte-exact."""
    if not trials or not all(_plain(t) for t in trials) or not _unique_persons(con):
        return None
    templates = []
    for trial, query in zip(trials, queries, strict=True):
        if tuple(c for c, _ in query.criteria) != tuple(trial.compiled.ids):
            return None
        if len(query.criteria) >= 1 << _BITS:
            return None
        parts = _template(trial, source, as_of)
        if parts is None:
            return None
        templates.append(parts)
    # trials compiled together (``compiler.compile_trials``): one select of every trial's
    # truths over the shared CTEs, each read once, and every line from the same row
    truths = joint(queries)
    if truths is None:
        return _apart(queries, templates)
    counts = [e for j, q in enumerate(queries) for e in _counts(q, j)]
    per_person = exp.select(col("person_id"), *counts, copy=False).from_(
        exp.alias_(exp.paren(truths, copy=False), "tr", copy=False), copy=False
    )
    per_person = exp.select(
        "*", *[_verdict(q, str(j)) for j, q in enumerate(queries)], copy=False
    ).from_(exp.alias_(exp.paren(per_person, copy=False), "c", copy=False), copy=False)
    lines = [
        _line(q, parts, str(j)) for j, (q, parts) in enumerate(zip(queries, templates, strict=True))
    ]
    line = lines[0] if len(lines) == 1 else exp.Concat(expressions=lines)
    verdicts = [col(f"verdict{j}").as_(f"v{j}") for j in range(len(queries))]
    out = (
        exp.select(col("person_id"), line.as_("line"), *verdicts, copy=False)
        .from_(exp.alias_(exp.paren(per_person, copy=False), "q", copy=False), copy=False)
        .order_by(col("person_id"), copy=False)
    )
    for name, cte in [*queries[0].shared, *[c for q in queries for c in q.own]]:
        out = out.with_(name, as_=cte.copy(), copy=False)
    return out


def _apart(queries: list[CompiledQuery], templates: list[list[str]]) -> exp.Select:
    """Trials compiled apart: each its own CTEs and lines, joined on ``person_id``."""
    joined: exp.Select | None = None
    lines, verdicts = [], []
    for i, (query, parts) in enumerate(zip(queries, templates, strict=True)):
        inner = exp.select(col("person_id"), *_counts(query), copy=False).from_(
            exp.alias_(exp.paren(query.truths.copy()), "tr"), copy=False
        )
        inner = exp.select("*", _verdict(query), copy=False).from_(
            exp.alias_(exp.paren(inner), "c"), copy=False
        )
        for name, cte in [*query.shared, *query.own]:
            inner = inner.with_(name, as_=cte.copy(), copy=False)
        sub = exp.select(
            col("person_id"), _line(query, parts).as_("line"), col("verdict"), copy=False
        ).from_(exp.alias_(exp.paren(inner), "q"), copy=False)
        name = f"q{i}"
        lines.append(col("line", name))
        verdicts.append(col("verdict", name).as_(f"v{i}"))
        frm = exp.alias_(exp.paren(sub), name)
        if joined is None:
            joined = exp.select(col("person_id", name).as_("person_id"), copy=False).from_(frm)
        else:
            on = exp.EQ(this=col("person_id", name), expression=col("person_id", "q0"))
            joined = joined.join(frm, on=on, join_type="inner", copy=False)
    assert joined is not None
    line = lines[0] if len(lines) == 1 else exp.Concat(expressions=lines)
    return joined.select(line.as_("line"), *verdicts, copy=False).order_by(
        col("person_id"), copy=False
    )


def write(con: Any, query: exp.Select, out: IO[str], tally: Counter[str]) -> None:
    """The query's lines to ``out`` batch by batch (each batch's string bytes as they are),
    its verdicts into ``tally``."""
    import pyarrow.compute as pc

    reader = con.sql(query.sql("duckdb")).to_arrow_reader(_BATCH)
    for batch in reader:
        out.write(_text(batch.column("line")))
        for name in batch.schema.names:
            if not re.fullmatch(r"v[0-9]+", name):
                continue
            for item in pc.value_counts(batch.column(name)).to_pylist():
                tally[item["values"]] += item["counts"]


def _text(array: Any) -> str:
    """A string array's values end to end: the slice of its data buffer they occupy."""
    import pyarrow as pa

    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.large_string())
    width = 8 if pa.types.is_large_string(array.type) else 4
    offsets = memoryview(array.buffers()[1]).cast("q" if width == 8 else "i")
    start, end = offsets[array.offset], offsets[array.offset + len(array)]
    return array.buffers()[2][start:end].to_pybytes().decode("utf-8")


def header(rows: Iterator[Row], out: IO[str]) -> None:
    """The CSV header and the rows written before the query's (inputs that could not be read)."""
    for _ in write_csv(rows, out):
        pass
