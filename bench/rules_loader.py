"""Rules-file reading benchmark: a rules file at the 1 MiB limit, libyaml vs pure-Python PyYAML.

Prints the time to read (compose, check and build) and to load (also validate into the model)
the same file with each parser, best of ``--repeat`` runs, and the ratio in the same run. Figures
only; no assertions (CI machines are noisy). Without libyaml only the pure figures are printed.

    python bench/rules_loader.py
    python bench/rules_loader.py --repeat 5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from eligibility import yamlcore
from eligibility.loaders import MAX_DEPTH, MAX_RULES_BYTES, load_rules

HEAD = "schema_version: 1\ntrial:\n  id: BENCH\ncriteria:\n"
ITEMS = [
    "{kind: lab, analyte: alt, comparator: '<=', multiple: 3, of: ULN}",
    "{kind: age, min: 18, max: 75}",
    "{kind: condition, condition: HIV, within: {amount: 6, unit: months}}",
    "{kind: any, rules: [{kind: performance, scale: ecog, max: 1}, {kind: pregnancy}]}",
]


def rules_text(limit: int = MAX_RULES_BYTES) -> str:
    """Criteria of the seed's shapes, up to just under ``limit`` bytes."""
    parts, size, i = [HEAD], len(HEAD), 0
    while True:
        one = (
            f"  - id: C{i}\n    section: inclusion\n"
            f"    text: 'Criterion {i}: ALT ≤ 3 × ULN and ECOG 0–1'\n"
            f"    rule: {ITEMS[i % len(ITEMS)]}\n"
        )
        if size + len(one.encode("utf-8")) > limit:
            return "".join(parts)
        parts.append(one)
        size += len(one.encode("utf-8"))
        i += 1


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (best is shown)")
    args = ap.parse_args()
    text = rules_text()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(text, encoding="utf-8")
        print(f"rules file: {path.stat().st_size / 1024:.0f} KiB, {text.count('- id:')} criteria")
        figures: dict[str, tuple[float, float]] = {}
        for name in sorted(yamlcore.LOADERS, reverse=True):  # pure first, then c
            yamlcore.DEFAULT = name
            read = best(lambda n=name: yamlcore.load(text, MAX_DEPTH, n), args.repeat)
            load = best(lambda: load_rules(path), args.repeat)
            figures[name] = (read, load)
            print(f"{name:>5}: read {read:6.2f} s   load_rules {load:6.2f} s")
        if "c" in figures:
            (pr, pl), (cr, cl) = figures["pure"], figures["c"]
            print(f"ratio pure / libyaml: read {pr / cr:.1f}x, load_rules {pl / cl:.1f}x")
        else:
            print("libyaml is not available to PyYAML here: only the pure parser was timed")


if __name__ == "__main__":
    main()
