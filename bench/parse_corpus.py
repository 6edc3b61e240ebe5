"""Benchmark: criteria parsed per second over the shared corpus, and the grammar's build time.

Usage: python bench/parse_corpus.py [CORPUS.jsonl] [--limit N]
Reading and splitting are timed apart from parsing, so the parser's own rate is visible.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default="../shared/corpus/trials.jsonl")
    ap.add_argument("--limit", type=int, default=0, help="only the first N trials")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    if not corpus.exists():  # a worktree sits one level deeper than the main checkout
        for base in Path.cwd().parents:
            if (base / "shared" / "corpus" / "trials.jsonl").exists():
                corpus = base / "shared" / "corpus" / "trials.jsonl"
                break

    t0 = time.perf_counter()
    from eligibility import grammar

    grammar.parser()
    grammar.lexicon()
    build = time.perf_counter() - t0

    from eligibility.ingest import RecordError, read_records
    from eligibility.split import split_record
    from eligibility.transform import parse_criterion

    t0 = time.perf_counter()
    work = []
    for n, rec in enumerate(read_records(corpus)):
        if args.limit and n >= args.limit:
            break
        if isinstance(rec, RecordError):
            continue
        work += [(s.text, s.section, s.context) for s in split_record(rec) if s.kind == "criterion"]
    read = time.perf_counter() - t0

    t0 = time.perf_counter()
    for text, section, context in work:
        parse_criterion(text, section, context)
    parse = time.perf_counter() - t0

    n = len(work)
    print(f"grammar + lexicon build: {build * 1000:.0f} ms")
    print(f"read + split: {read:.2f} s")
    print(
        f"parsed {n} criteria in {parse:.2f} s: {n / parse:,.0f} criteria/s "
        f"({1e6 * parse / max(n, 1):.0f} µs each)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
