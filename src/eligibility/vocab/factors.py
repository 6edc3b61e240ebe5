"""pint's conversion factors between the units' expressions, precomputed (``unit_factors.json``).

Why: building pint's registry takes most of a second (0.9 s on the development VM, import
included) in every process that converts a unit, which is every cohort run: more than the
hand-written screen of 20,000 profiles takes. The factors pint would use are data that only
changes with ``units.yaml`` or pint itself, so they are shipped: for each ordered pair of
``pint`` expressions of the same dimension, the factor pint multiplies a magnitude by, and for a
mass and a molar expression the factor after dividing (``/``) or multiplying (``*``) by a molar
mass in g/mol, as ``vocab._pint_factor`` does. Applying them repeats pint's arithmetic step for
step, so the converted values are bit-identical (``tests/test_units.py`` recomputes the file
with pint and compares every conversion). ``python bench/unit_factors.py`` rewrites the file
after an edit to ``units.yaml``; an expression missing from it is converted by pint, as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

NAME = "unit_factors.json"


@dataclass(frozen=True)
class Factors:
    """``dimension``: expression -> its dimensionality as pint writes it; ``same``: (from, to)
    -> factor; ``molar``: (from, to, "/" or "*") -> factor after the molar-mass step."""

    dimension: dict[str, str]
    same: dict[tuple[str, str], float]
    molar: dict[tuple[str, str, str], float]


@cache
def shipped() -> Factors | None:
    """The shipped table, or None when the file is missing or unreadable (pint then decides)."""
    try:
        raw = json.loads(resources.files(__package__).joinpath(NAME).read_text(encoding="utf-8"))
        return from_data(raw)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def from_data(raw: dict[str, Any]) -> Factors:
    return Factors(
        dict(raw["dimension"]),
        {(a, b): f for a, b, f in raw["same"]},
        {(a, b, op): f for a, b, op, f in raw["molar"]},
    )


def compute(ureg: Any, expressions: list[str]) -> dict[str, Any]:
    """The table's data, computed with pint's registry ``ureg`` (for the generator and tests)."""
    from importlib.metadata import version

    from pint.errors import DimensionalityError

    exprs = sorted(set(expressions))
    dims = {e: str(ureg.Quantity(1.0, e).dimensionality) for e in exprs}
    mm = ureg.Quantity(1.0, "g/mol")
    same, molar = [], []
    for a in exprs:
        for b in exprs:
            if a == b:
                continue
            if dims[a] == dims[b]:
                same.append([a, b, float(ureg.Quantity(1.0, a).to(b).magnitude)])
                continue
            for op, q in (("/", ureg.Quantity(1.0, a) / mm), ("*", ureg.Quantity(1.0, a) * mm)):
                try:
                    molar.append([a, b, op, float(q.to(b).magnitude)])
                    break
                except DimensionalityError:
                    continue
    return {
        "source": (
            f"computed by pint {version('pint')} (its default registry: SI and NIST SP 811 "
            "definitions) from the `pint` expressions of units.yaml; bench/unit_factors.py"
        ),
        "dimension": dims,
        "same": same,
        "molar": molar,
    }
