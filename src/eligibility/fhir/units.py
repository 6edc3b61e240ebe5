"""UCUM units of FHIR quantities, converted to the analyte's unit by pint through ucumvert.

A FHIR ``valueQuantity`` coded in ``http://unitsofmeasure.org`` names its unit by a UCUM code
(``[IU]/L``, ``10*3/uL``, ``mL/min/{1.73_m2}``). The profile path reads hand-written spellings
through the alias list of ``units.yaml``; here the code is parsed as UCUM and converted to the
analyte's own unit (named by its UCUM code in ``vocab/ucum.yaml``), so every code either
converts or is refused with the reason, never matched by a guess. Annotations in braces mean
nothing in UCUM except those ``ucum.yaml`` lists (``{1.73_m2}``: per body surface), which must
match on both sides. The registry costs ≈ 0.8 s to build, once per process, and only when FHIR
input carries a UCUM quantity.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from .. import vocab
from ..vocab.data import _load

UCUM_SYSTEM = "http://unitsofmeasure.org"
_ANNOTATION = re.compile(r"\{[^{}]*\}")
_U_ATOM = re.compile(r"(?<![\w\[])U(?![\w\]])")


@cache
def _table() -> tuple[dict[str, str], frozenset[str], tuple[tuple[str, str], ...], tuple[str, ...]]:
    data = _load("ucum.yaml")
    units = {str(k): str(v) for k, v in data["units"].items()}
    equivalents = tuple((str(e["from"]), str(e["to"])) for e in data.get("equivalents", ()))
    arbitrary = tuple(str(a) for a in data.get("arbitrary", ()))
    return units, frozenset(data.get("annotations", ())), equivalents, arbitrary


@cache
def _registry() -> Any:
    from ucumvert import PintUcumRegistry  # heavy (pint + a Lark grammar): FHIR input only

    return PintUcumRegistry()


def ucum_code(canonical: str) -> str | None:
    """The UCUM code of one of ``units.yaml``'s canonical units (None if it has none)."""
    return _table()[0].get(canonical)


@cache
def _canonical_of() -> dict[str, str]:
    return {code: canonical for canonical, code in _table()[0].items()}


@lru_cache(maxsize=1024)
def _parse(code: str) -> Any:
    """A pint quantity for a UCUM code, or the reason it is not one (a string)."""
    from ucumvert import InvalidUcumError

    if _ANNOTATION.sub("", code) in ("", "1"):  # "{INR}", "{ratio}", "1": the number one
        return _registry().Quantity(1.0, "dimensionless")
    try:
        return _registry().from_ucum(code)
    except (InvalidUcumError, ValueError, KeyError, AttributeError) as exc:
        return f"{code!r} is not a UCUM unit ({type(exc).__name__})"
    except Exception as exc:  # lark's errors and pint's undefined units vary by version
        return f"{code!r} is not a UCUM unit ({type(exc).__name__})"


def _meaningful(code: str) -> frozenset[str]:
    """What must match on both sides: listed annotations and arbitrary units."""
    found = frozenset(_ANNOTATION.findall(code)) & _table()[1]
    arbitrary = {a.replace("[iU]", "[IU]") for a in _table()[3] if a in code}
    return found | arbitrary


def convert(value: float, code: str, analyte: vocab.Analyte) -> tuple[float, str] | str:
    """``value`` in UCUM ``code`` as (value, canonical unit) in the analyte's unit, or why not.

    A code that pint cannot convert but that is the code of one of ``units.yaml``'s units
    (``{copies}/mL``) is kept in that unit: the analyte's own conversions (copies ↔ IU for a
    viral load, % ↔ mmol/mol for HbA1c) are the engine's, as for a profile.
    """
    canonical = analyte.unit
    target = ucum_code(canonical) if canonical else None
    found = _by_pint(value, code, target, analyte) if target else None
    if isinstance(found, float):
        return found, str(canonical)
    other = _canonical_of().get(code)
    if other is not None:
        return value, other
    if found is None:
        return f"UCUM unit {code!r}: {analyte.name} has no unit to convert it to"
    return found


def _by_pint(value: float, code: str, target: str, analyte: vocab.Analyte) -> float | str:
    from pint.errors import DimensionalityError, OffsetUnitCalculusError

    refused = f"UCUM unit {code!r} does not convert to {analyte.unit} for {analyte.name}"
    source = code
    for old, new in _table()[2]:
        if old in source and _U_ATOM.search(target) and old not in target:
            source = source.replace(old, new)  # [IU]/L read as U/L for an enzyme activity
    if source == target:  # the analyte's own unit: no registry needed (most results)
        return float(value)
    if _meaningful(source) != _meaningful(target):
        return refused
    src, dst = _parse(source), _parse(target)
    if isinstance(src, str):
        return f"UCUM unit {src}"
    if isinstance(dst, str):  # ucum.yaml holds a bad code: a data error, said as such
        return f"UCUM unit {target!r} of {analyte.unit} does not parse"
    ureg = _registry()
    quantity = ureg.Quantity(value * src.magnitude, src.units)
    candidates = [quantity]
    if analyte.molar_mass:
        mm = ureg.Quantity(analyte.molar_mass, "g/mol")
        candidates += [quantity / mm, quantity * mm]
    for q in candidates:
        try:
            return float(q.to(dst.units).magnitude) / float(dst.magnitude)
        except (DimensionalityError, OffsetUnitCalculusError):
            continue
    return refused
