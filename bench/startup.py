"""Benchmark: start-up, a single screening, parser readiness and parse rate, each against a
baseline measured in the same run.

Usage: python bench/startup.py [--runs N] [--parse-runs N] [--limit TRIALS]

Every figure is the median of N fresh processes (wall clock, and CPU time of the child in
brackets: on a busy machine the CPU time is the steadier one):
  python -c pass            the interpreter alone: the floor of any command
  eligibility --version     start-up of the command line
  single screening          eligibility screen rules/NCT03859128.yaml examples/patients/p01_…
  grammar ready (cached)    import the parser and get its tables from the user's cache
  grammar ready (built)     the same with ELIGIBILITY_CACHE_DIR= (no cache: built in-process)
  parse criteria/s          bench/parse_corpus.py over the shared corpus, reading and splitting
                            included, against its JSON-decoding baseline
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
READY = "from eligibility import grammar; grammar.parser(); grammar.lexicon(); grammar._unit_re()"


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and child CPU seconds of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _median(cmd: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    _timed(cmd, env)  # warm the file cache (and the tables' cache) first
    samples = [_timed(cmd, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def _command() -> list[str]:
    """The installed ``eligibility`` script beside this interpreter, else the same entry point."""
    script = Path(sys.executable).with_name("eligibility")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from eligibility.cli import main; sys.exit(main())"]


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9, help="processes per start-up figure")
    ap.add_argument("--parse-runs", type=int, default=5, help="corpus parses (0: skip)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N corpus trials")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    eligibility = _command()
    rows: list[tuple[str, float, float, str]] = []

    def row(name: str, cmd: list[str], target: str = "", run_env: dict[str, str] = env) -> float:
        wall, cpu = _median(cmd, args.runs, run_env)
        rows.append((name, wall, cpu, target))
        return wall

    with tempfile.TemporaryDirectory() as cache:
        cached = {**env, "ELIGIBILITY_CACHE_DIR": cache}
        base = row("python -c pass (baseline)", [sys.executable, "-c", "pass"])
        row("eligibility --version", [*eligibility, "--version"], "≤ 150 ms", cached)
        screen = [
            *eligibility,
            "screen",
            "rules/NCT03859128.yaml",
            "examples/patients/p01_eligible_hcc.json",
        ]
        row("single screening", screen, "≤ 400 ms", cached)
        row("grammar ready (cached)", [sys.executable, "-c", READY], "≤ 200 ms", cached)
        no_cache = {**env, "ELIGIBILITY_CACHE_DIR": ""}
        row("grammar ready (built)", [sys.executable, "-c", READY], "", no_cache)

        print(f"machine: {_machine()}; median of {args.runs} processes each")
        print(f"{'measure':<28} {'wall':>8} {'CPU':>8}  {'× baseline':>10}  target")
        for name, wall, cpu, target in rows:
            ratio = wall / base
            print(f"{name:<28} {wall * 1000:6.0f}ms {cpu * 1000:6.0f}ms  {ratio:9.1f}×  {target}")

        if args.parse_runs:
            parse_cmd = [sys.executable, str(HERE / "parse_corpus.py"), "--json"]
            if args.limit:
                parse_cmd += ["--limit", str(args.limit)]
            runs = []
            for _ in range(args.parse_runs):  # a fresh process each: no warm caches carried over
                out = subprocess.run(
                    parse_cmd, env=cached, cwd=ROOT, capture_output=True, text=True, check=True
                )
                runs.append(json.loads(out.stdout))
            m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"parse {int(m['criteria'])} criteria of {int(m['trials'])} trials, reading and "
                f"splitting included, median of {args.parse_runs} processes: "
                f"**{m['rate']:,.0f} criteria/s** wall ({m['rate_cpu']:,.0f}/s of CPU time; "
                f"target ≥ 8,000); read {m['read_s']:.2f} s + split {m['split_s']:.2f} s + "
                f"parse {m['parse_s']:.2f} s; baseline (JSON + lines) {m['baseline_s']:.2f} s, "
                f"engine {m['total_s'] / m['baseline_s']:.0f}× it"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
