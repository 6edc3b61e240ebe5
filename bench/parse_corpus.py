"""Benchmark: criteria parsed per second over the shared corpus, reading and splitting included.

Usage: python bench/parse_corpus.py [CORPUS.jsonl] [--runs N] [--limit N] [--json]

Each run is a fresh process on one core (no reading kept from an earlier run); the figures
printed are the medians of ``--runs`` runs (3 unless told), each stage apart, with the range of
the end-to-end rate. Times, wall clock (CPU time in brackets):
  ready   importing the parser and getting its tables (from the user's cache when they are there;
          ``ELIGIBILITY_CACHE_DIR=`` builds them)
  read    ``ingest.read_records`` (JSON lines → records with criteria blocks)
  split   ``split.split_record`` (blocks → criteria)
  parse   ``transform.parse_criterion`` on every criterion
The rate that counts is end to end: criteria / (read + split + parse). The baseline, in the same
run, is the least any parser pays: decoding each JSON line and splitting its criteria text into
lines. ``--json`` measures in this process and prints one JSON object (``bench/startup.py``
and the runs above read it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import find_corpus  # a script beside its helper
from startup import _machine  # its machine line


class _Clock:
    """Wall and CPU seconds since the last ``lap``."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def baseline(corpus: Path, limit: int) -> tuple[float, float]:
    """Wall and CPU seconds to decode every line and split its criteria into lines."""
    clock = _Clock()
    with corpus.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if limit and n >= limit:
                break
            record = json.loads(line)
            for field in ("inclusion_text", "exclusion_text"):
                text = record.get(field)
                if isinstance(text, str):
                    text.splitlines()
    return clock.lap()


def measure(corpus: Path, limit: int = 0) -> dict[str, float]:
    """Seconds (wall and CPU) of each stage, and the criteria count; see the module docstring."""
    clock = _Clock()
    from eligibility import grammar

    grammar.parser()
    grammar.lexicon()
    grammar._unit_re()
    ready = clock.lap()

    from eligibility.ingest import RecordError, read_records
    from eligibility.split import split_record
    from eligibility.transform import parse_criterion

    clock.lap()
    records = []
    for n, rec in enumerate(read_records(corpus)):
        if limit and n >= limit:
            break
        if not isinstance(rec, RecordError):
            records.append(rec)
    read = clock.lap()
    work = [
        (s.text, s.section, s.context)
        for rec in records
        for s in split_record(rec)
        if s.kind == "criterion"
    ]
    split = clock.lap()
    for text, section, context in work:
        parse_criterion(text, section, context)
    parse = clock.lap()
    base = baseline(corpus, limit)
    out = {"criteria": len(work), "trials": len(records)}
    for name, (wall, cpu) in {
        "ready": ready,
        "read": read,
        "split": split,
        "parse": parse,
        "baseline": base,
    }.items():
        out[f"{name}_s"], out[f"{name}_cpu_s"] = wall, cpu
    out["total_s"] = read[0] + split[0] + parse[0]
    out["total_cpu_s"] = read[1] + split[1] + parse[1]
    out["rate"] = len(work) / out["total_s"]
    out["rate_cpu"] = len(work) / out["total_cpu_s"]
    return out


def _runs(corpus: Path, limit: int, runs: int) -> list[dict[str, float]]:
    """``runs`` measurements, each in a fresh process (``--json``)."""
    cmd = [sys.executable, __file__, str(corpus), "--json", "--limit", str(limit)]
    return [
        json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        for _ in range(runs)
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default="../shared/corpus/trials.jsonl")
    ap.add_argument("--runs", type=int, default=3, help="fresh processes; medians are printed")
    ap.add_argument("--limit", type=int, default=0, help="only the first N trials")
    ap.add_argument("--json", action="store_true", help="one run, here; one JSON object out")
    args = ap.parse_args(argv)
    corpus = find_corpus(args.corpus)
    if args.json:
        print(json.dumps(measure(corpus, args.limit)))
        return 0
    runs = _runs(corpus, args.limit, max(1, args.runs))
    m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    n = m["criteria"]

    def line(name: str, key: str) -> str:
        return f"{name:<22} {m[key + '_s']:7.2f} s  (CPU {m[key + '_cpu_s']:.2f} s)"

    rates = sorted(r["rate"] for r in runs)
    print(f"{int(m['trials'])} trials, {int(n)} criteria; {_machine()}")
    print(f"median of {len(runs)} runs, each a fresh process on one core")
    print(line("grammar + lexicon ready", "ready"))
    print(line("read", "read"))
    print(line("split", "split"))
    print(line("parse", "parse") + f"  {n / m['parse_s']:,.0f} criteria/s parsing alone")
    print(
        f"{'end to end':<22} {m['total_s']:7.2f} s  (CPU {m['total_cpu_s']:.2f} s)  "
        f"**{m['rate']:,.0f} criteria/s** ({m['rate_cpu']:,.0f}/s of CPU time; "
        f"runs {rates[0]:,.0f}–{rates[-1]:,.0f}/s)"
    )
    print(
        line("baseline: JSON + lines", "baseline")
        + f"  engine / baseline = {m['total_s'] / m['baseline_s']:.0f}×"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
