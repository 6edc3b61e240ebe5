"""How parse, normalise and split time grows with a run-on input: printed, never asserted.

  python bench/linearity.py

Unit tests check that a 100 KB line is handled correctly; whether the time stays linear is a
measurement, so it lives here: each stage on an input and on one ten (or four) times longer, best
of three, with the ratio. Linear is about the size ratio; quadratic would be its square.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from eligibility.ingest import Block
from eligibility.normalize import normalize
from eligibility.split import split_block
from eligibility.transform import parse_criterion


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _split(text: str) -> None:
    split_block(text, Block(section="inclusion", start=0, end=len(text)))


_RUN_ON = "ALT ≤ 3 × ULN and platelets ≥ 100 × 10⁹/L, unless ECOG 0–1 and no HIV; "


def main() -> None:
    cases: list[tuple[str, Callable[[str], object], str, int, int]] = [
        ("parse", lambda t: parse_criterion(t, "inclusion"), _RUN_ON, 25_000, 100_000),
        ("normalise", normalize, "≥ 10⁹ &ge; \\* µ – ＡＢ ", 10_000, 100_000),
        ("split", _split, "- 1) a (b 2) c; 1. 1.5 10^9/L 3) (1) a) i. ii) ", 10_000, 100_000),
        ("split (nesting)", _split, "x: 1) ", 5_000, 50_000),
    ]  # fmt: skip
    print(f"{'stage':<16} {'small':>8} {'large':>8} {'size x':>7} {'time x':>7}")
    for name, fn, unit, small, large in cases:
        texts = [(unit * (n // len(unit) + 1))[:n] for n in (small, large)]
        fn(texts[0])  # warm caches (grammar, vocabulary)
        t_small, t_large = (_best(lambda t=t, f=fn: f(t)) for t in texts)
        print(
            f"{name:<16} {t_small:8.3f} {t_large:8.3f} {large / small:7.1f} "
            f"{t_large / max(t_small, 1e-9):7.1f}"
        )


if __name__ == "__main__":
    main()
