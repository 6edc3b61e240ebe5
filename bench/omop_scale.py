"""OMOP scale benchmark: person × trial screenings per second, DuckDB against the evaluator.

Writes a synthetic extract (``eligibility omop synth``) of 10⁵ persons, and one of 10⁶ made of
ten copies of it with new person ids; screens both seed trials on DuckDB (the compiled SQL)
at each size and with ``--engine python`` on 10⁴ persons of the same kind, all in one run. Each
measurement is a fresh process running the CLI (``screen RULES… --omop DIR --format csv``
to a file), timed on the wall clock with its peak RSS; the query alone (DuckDB executing both
trials' queries, rows fetched as Arrow, no Python rows) is timed too. Figures only: the machine
is shared and noisy, so each is the median of ``--repeats`` runs.

    python bench/omop_scale.py                      # 10^5 and 10^6 on DuckDB, 10^4 python
    python bench/omop_scale.py --sizes 100000 --python 10000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlglot import exp

ROOT = Path(__file__).resolve().parent.parent
TRIALS = [str(ROOT / "rules" / "NCT03859128.yaml"), str(ROOT / "rules" / "NCT04669496.yaml")]
AS_OF = "2024-03-01"


def _peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which (unlike ``ru_maxrss``, kept across
    exec) starts again in every new program."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(mode: str, folder: str, out: str) -> None:
    """One measurement in this (fresh) process; prints seconds and peak RSS as JSON."""
    start = time.perf_counter()
    if mode == "query":
        from datetime import date

        from eligibility.batch import compile_file
        from eligibility.omop.compiler import compile_trial
        from eligibility.omop.extract import distinct_terms, open_duckdb

        con = open_duckdb(folder)
        terms = distinct_terms(con)
        rows = 0
        for path in TRIALS:
            query = compile_trial(compile_file(path).rules, date.fromisoformat(AS_OF), terms=terms)
            rows += con.sql(query.sql("duckdb")).arrow().read_all().num_rows
    else:
        from eligibility.cli import main

        engine = "python" if mode == "python" else "duckdb"
        argv = ["screen", *TRIALS, "--omop", folder, "--as-of", AS_OF, "--format", "csv"]
        code = main([*argv, "--engine", engine, "-o", out])
        assert code in (1, 3), code
        with open(out, encoding="utf-8") as fh:
            rows = sum(1 for _ in fh) - 1
    seconds = time.perf_counter() - start
    peak = _peak_rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime  # every thread's: steadier than the wall clock
    record = {"seconds": seconds, "cpu_s": cpu, "rows": rows, "rss_mb": peak}
    sys.stdout.write(json.dumps(record) + "\n")


def _measure(mode: str, folder: Path, repeats: int) -> dict[str, float]:
    runs = []
    for _ in range(repeats):
        with tempfile.NamedTemporaryFile(suffix=".csv") as out:
            done = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(folder), out.name],
                capture_output=True,
                text=True,
                check=True,
            )
        runs.append(json.loads(done.stdout.splitlines()[-1]))
    seconds = statistics.median(r["seconds"] for r in runs)
    return {
        "seconds": seconds,
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "rows": runs[0]["rows"],
        "per_s": runs[0]["rows"] / seconds,
        "rss_mb": max(r["rss_mb"] for r in runs),
        "spread": f"{min(r['seconds'] for r in runs):.2f}–{max(r['seconds'] for r in runs):.2f}",
    }


def _replicate(source: Path, target: Path, copies: int, persons: int) -> None:
    """``copies`` copies of an extract, person ids shifted by ``persons`` each time."""
    import duckdb

    target.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for table in sorted(source.glob("*.parquet")):
        shift = exp.Mul(this=exp.column("k"), expression=exp.Literal.number(persons))
        person = exp.Add(this=exp.column("person_id", "t"), expression=shift)
        # t.* but its person_id (sqlglot's argument is ``except_``: with ``except`` the star
        # kept person_id and the copies shared the ids, ten rows per person)
        others = exp.Column(this=exp.Star(except_=[exp.column("person_id")]), table="t")
        query = (
            exp.select(others, person.as_("person_id"))
            .from_(exp.alias_(exp.func("read_parquet", exp.Literal.string(str(table))), "t"))
            .join(
                exp.Table(
                    this=exp.func("range", exp.Literal.number(copies)),
                    alias=exp.TableAlias(
                        this=exp.to_identifier("r"), columns=[exp.to_identifier("k")]
                    ),
                ),
                join_type="cross",
            )
        )
        con.sql(query.sql("duckdb")).write_parquet(str(target / table.name))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--python", type=int, default=10_000, help="persons for --engine python")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from eligibility.omop import synth

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = min(args.sizes) if args.sizes else args.python
        start = time.perf_counter()
        synth.write(synth.synthesize(base, args.seed), root / str(base))
        sys.stdout.write(
            f"synthetic extract of {base:,} persons: {time.perf_counter() - start:.1f} s\n"
        )
        for n in args.sizes:
            if n != base:
                _replicate(root / str(base), root / str(n), n // base, base)
        synth.write(synth.synthesize(args.python, args.seed), root / "python")
        header = (
            f"{'engine':<10} {'persons':>10} {'screenings':>11} {'median s':>9} {'runs s':>13} "
            f"{'/s':>10} {'CPU s':>7} {'peak RSS':>9}"
        )
        sys.stdout.write(header + "\n")
        plan = [("python", "python", args.python)]
        plan += [(mode, str(n), n) for n in args.sizes for mode in ("query", "duckdb")]
        for mode, folder, n in plan:
            repeats = args.repeats if n <= 100_000 else max(1, args.repeats - 2)
            m = _measure(mode, root / folder, repeats)
            label = {"query": "query", "duckdb": "duckdb", "python": "python"}[mode]
            sys.stdout.write(
                f"{label:<10} {n:>10,} {m['rows']:>11,} {m['seconds']:>9.2f} {m['spread']:>13} "
                f"{m['per_s']:>10,.0f} {m['cpu_s']:>7.2f} {m['rss_mb']:>6.0f} MB\n"
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
