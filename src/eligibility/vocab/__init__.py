"""Clinical vocabulary: analytes, units, conditions and drugs, loaded from package YAML.

One source of truth for the parser and the evaluator. Lookups fold case, punctuation and spacing
so "SGPT", "sgpt" and "S.G.P.T." meet the same concept; a term that does not resolve returns
``None`` and the caller decides (a rule with an unresolved name stays ``manual``).

Units are the exception to case folding: "g/L" is grams per litre but "G/L" (European giga per
litre) is refused, because guessing would change a platelet count a billion-fold. Every lookup
and every conversion is cached; pint's factors are shipped precomputed (``factors.py``), so a
process converts units without building pint's registry.
See docs/vocab.md for how the data is organised and how to add a term. Conditions and drugs
are in ``concepts`` (re-exported here), the file loader and ``fold`` in ``data``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from eligibility.vocab import factors
from eligibility.vocab.concepts import (
    Concept,
    _conditions,
    _drugs,
    _icd_match,  # noqa: F401 - tests and bench/concepts_doc.py read vocab._icd_match
    _Table,
    activity_unsure,
    code_matches,
    code_may_be,
    code_ruled_out,
    concept_may_be,
    condition,
    condition_matches,
    condition_may_be,
    condition_union,
    conditions,
    conditions_named_in,
    dated_elsewhere,
    defined_by,
    drug,
    drug_matches,
    drug_may_be,
    drugs,
    episode_days,
    inactive_code,
    is_current,
    not_a_drug,
    own_maybe,
    prednisone_equivalent_mg,
    uncoded_kinds,
)
from eligibility.vocab.data import _load, _tuple, fold

__all__ = [
    "Analyte",
    "Concept",
    "Conversion",
    "UnitError",
    "UnitSpec",
    "activity_unsure",
    "analyte",
    "analyte_matches",
    "analytes",
    "code_matches",
    "code_may_be",
    "code_ruled_out",
    "concept_may_be",
    "condition",
    "condition_matches",
    "condition_may_be",
    "condition_union",
    "conditions",
    "conditions_named_in",
    "conversion",
    "conversion_factor",
    "convert",
    "dated_elsewhere",
    "defined_by",
    "describe",
    "drug",
    "drug_matches",
    "drug_may_be",
    "drugs",
    "episode_days",
    "fold",
    "inactive_code",
    "is_current",
    "not_a_drug",
    "ordinal_rank",
    "own_maybe",
    "prednisone_equivalent_mg",
    "qualitative_value",
    "uncoded_kinds",
    "unit",
    "unit_problem",
    "unit_spec",
]


class UnitError(ValueError):
    """A unit is unknown, or cannot be converted to the one a rule needs."""


@dataclass(frozen=True)
class Analyte:
    """A lab test or numeric observation; ``scale`` follows LOINC (Qn quantitative, Ord ordinal)."""

    id: str
    name: str
    category: str
    synonyms: tuple[str, ...]
    loinc: tuple[str, ...]
    unit: str | None
    units: tuple[str, ...] = ()
    molar_mass: float | None = None
    source: str = ""
    panel: str = ""
    scale: str = "Qn"
    values: tuple[str, ...] = ()
    valence: int | None = None
    parents: tuple[str, ...] = ()
    # (from, to, slope, offset): value_to = slope * value_from + offset
    conversions: tuple[tuple[str, str, float, float], ...] = ()
    # (low, high) a criterion's bound may take in ``unit`` (analytes.yaml ``bounds``): outside
    # it the number is a typo, not a bound
    bounds: tuple[float, float] | None = None
    # the adult reference interval in ``unit`` (analytes.yaml ``normal``)
    normal: tuple[float, float] | None = None

    @property
    def qualitative(self) -> bool:
        """True for tests reported as categories (HBsAg positive, dipstick 2+), not numbers."""
        return self.scale != "Qn"


# --- analytes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _AnalyteTable:
    by_id: dict[str, Analyte]
    index: dict[str, str]
    value_sets: dict[str, tuple[tuple[str, ...], dict[str, str]]]
    ancestors: dict[str, frozenset[str]]


def _pair(raw: Any) -> tuple[float, float] | None:
    return None if raw is None else (float(raw[0]), float(raw[1]))


def _value_key(text: str) -> str:
    """Key for qualitative results: case and spacing ignored, symbols ("+", "-", "±") kept."""
    t = unicodedata.normalize("NFKC", text).strip().lower()
    t = re.sub(r"[\s_]+", "", t)
    return t.replace("-", "") if re.search(r"[a-z]", t) else t


@cache
def _analytes() -> _AnalyteTable:
    data = _load("analytes.yaml")
    value_sets: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {}
    for name, entries in (data.get("value_sets") or {}).items():
        order = tuple(str(e["value"]) for e in entries)
        keys: dict[str, str] = {}
        for e in entries:
            for s in (e["value"], *e.get("synonyms", ())):
                keys[_value_key(str(s))] = str(e["value"])
        value_sets[name] = (order, keys)

    by_id: dict[str, Analyte] = {}
    index: dict[str, str] = {}
    bounds = data.get("bounds") or {}
    normal = data.get("normal") or {}
    for raw in data["analytes"]:
        values_name = raw.get("values")
        a = Analyte(
            id=raw["id"],
            name=raw["name"],
            category=raw.get("category", "lab"),
            synonyms=_tuple(raw.get("synonyms")),
            loinc=_tuple(raw.get("loinc")),
            unit=raw.get("unit"),
            units=_tuple(raw.get("units")),
            molar_mass=raw.get("molar_mass_g_per_mol"),
            source=raw.get("source", ""),
            panel=raw.get("panel", ""),
            scale=raw.get("scale", "Qn"),
            values=value_sets[values_name][0] if values_name else (),
            valence=raw.get("valence"),
            parents=_tuple(raw.get("parents")),
            conversions=tuple(
                (str(c["from"]), str(c["to"]), float(c["slope"]), float(c.get("offset", 0.0)))
                for c in raw.get("conversions", ())
            ),
            bounds=_pair(bounds.get(raw["id"])),
            normal=_pair(normal.get(raw["id"])),
        )
        by_id[a.id] = a
        for term in (a.id, a.name, *a.synonyms):
            index.setdefault(fold(term), a.id)
        for code in a.loinc:
            index.setdefault(code.lower(), a.id)
    unknown = (set(bounds) | set(normal)) - set(by_id)
    if unknown:
        raise ValueError(f"analytes.yaml: bounds for unknown analytes {sorted(unknown)}")

    def up(aid: str) -> frozenset[str]:
        result = {aid}
        for p in by_id[aid].parents:
            if p in by_id:
                result |= up(p)
        return frozenset(result)

    return _AnalyteTable(by_id, index, value_sets, {aid: up(aid) for aid in by_id})


@lru_cache(maxsize=4096)
def analyte(term: str) -> Analyte | None:
    """Resolve a test name, synonym, abbreviation or LOINC code to an analyte."""
    table = _analytes()
    aid = table.index.get(term.strip().lower()) or table.index.get(fold(term))
    return table.by_id.get(aid) if aid else None


def analytes() -> list[Analyte]:
    return list(_analytes().by_id.values())


def analyte_matches(rule_id: str, patient_id: str) -> bool:
    """True when the patient's analyte is the rule's or a narrower one (troponin I for troponin)."""
    return rule_id in _analytes().ancestors.get(patient_id, frozenset({patient_id}))


def qualitative_value(analyte_id: str, text: str) -> str | None:
    """Normalise a qualitative result ("Pos", "reactive", "++") to the analyte's value set."""
    table = _analytes()
    a = table.by_id.get(analyte_id)
    if a is None or not a.qualitative:
        return None
    for order, keys in table.value_sets.values():
        if order == a.values:
            return keys.get(_value_key(text))
    return None


def ordinal_rank(analyte_id: str, value: str) -> int | None:
    """Position of a qualitative value in its ordered set (negative = 0), for ≤/≥ comparisons."""
    a = _analytes().by_id.get(analyte_id)
    normal = qualitative_value(analyte_id, value)
    if a is None or normal is None:
        return None
    return a.values.index(normal)


# --- units --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitSpec:
    """A canonical unit: value = ``scale`` x 1 ``pint``; flags as documented in units.yaml."""

    canonical: str
    scale: float
    pint: str
    spellings: tuple[str, ...] = ()
    case_sensitive: bool = False
    guard: bool = False
    per_charge: bool = False
    log10: bool = False


@dataclass(frozen=True)
class _UnitTable:
    specs: dict[str, UnitSpec]
    exact: dict[str, str]
    folded: dict[str, str]
    blocked: frozenset[str]
    refused: dict[str, str]
    rounding: float


# "x10^9", "*10^9", "10E9", "10*9", "10**9" and "109" (a superscript lost in copy-paste) all
# mean 10^N for the exponents cell counts use.
_EXPONENT_RE = re.compile(r"^[xX*]?10(?:\^|\*{1,2}|[eE])?(3|6|9|12)(?=/|cells)")


def _unit_key(text: str) -> str:
    """Normalise a unit spelling, keeping case (the caller decides whether case matters)."""
    t = unicodedata.normalize("NFKC", text)
    t = t.replace("μ", "u").replace("µ", "u").replace("×", "x").replace("−", "-")
    t = re.sub(r"[\s⋅·]+", "", t)
    return _EXPONENT_RE.sub(r"10^\1", t)


@cache
def _units() -> _UnitTable:
    data = _load("units.yaml")
    specs: dict[str, UnitSpec] = {}
    exact: dict[str, str] = {}
    folded: dict[str, str] = {}
    blocked: set[str] = set()

    def put(table: dict[str, str], key: str, canonical: str) -> None:
        if table.setdefault(key, canonical) != canonical:
            raise ValueError(f"units.yaml: {key!r} spells both {table[key]} and {canonical}")

    for canonical, raw in data["units"].items():
        spec = UnitSpec(
            canonical=canonical,
            scale=float(raw["scale"]),
            pint=raw["pint"],
            spellings=_tuple(raw.get("spellings")),
            case_sensitive=bool(raw.get("case_sensitive", False)),
            guard=bool(raw.get("guard", False)),
            per_charge=bool(raw.get("per_charge", False)),
            log10=bool(raw.get("log10", False)),
        )
        specs[canonical] = spec
        for s in (canonical, *spec.spellings):
            key = _unit_key(s)
            put(exact, key, canonical)
            if spec.case_sensitive:
                blocked.add(key.lower())
            else:
                put(folded, key.lower(), canonical)
    refused = {_unit_key(k): str(v) for k, v in (data.get("refused") or {}).items()}
    rounding = float(data.get("conversion_rounding", 0.0))
    return _UnitTable(specs, exact, folded, frozenset(blocked), refused, rounding)


@lru_cache(maxsize=4096)
def unit(text: str | None) -> str | None:
    """Canonical spelling of a unit, ``"1"`` for unitless, ``None`` if not recognised.

    Case is ignored except for units where it changes the meaning: ``"G/L"`` gives ``None``
    (see :func:`unit_problem` for the reason to report).
    """
    if text is None:
        return "1"
    table = _units()
    key = _unit_key(text)
    if key in table.exact:
        return table.exact[key]
    if key in table.refused:
        return None
    low = key.lower()
    if low in table.blocked:
        return None
    return table.folded.get(low)


def unit_problem(text: str | None) -> str | None:
    """Why ``unit(text)`` is ``None``, in words a coordinator can act on; ``None`` if it is fine."""
    if unit(text) is not None:
        return None
    assert text is not None  # unit(None) is "1"
    table = _units()
    key = _unit_key(text)
    if key in table.refused:
        return table.refused[key]
    if key.lower() in table.blocked:
        options = sorted(
            s.canonical
            for s in table.specs.values()
            if s.case_sensitive
            and key.lower() in {_unit_key(x).lower() for x in (s.canonical, *s.spellings)}
        )
        return f"unit {text!r}: case matters here; did you mean {' or '.join(options)}?"
    return f"unknown unit {text!r}"


def unit_spec(canonical: str) -> UnitSpec | None:
    return _units().specs.get(canonical)


@cache
def _registry():  # type: ignore[no-untyped-def]
    import pint  # imported lazily: start-up of the CLI should not pay for it

    ureg = pint.UnitRegistry()
    ureg.define("copies = [copies]")
    ureg.define("international_unit = [international_unit] = IU")
    return ureg


@dataclass(frozen=True)
class Conversion:
    """value_to = slope x value_from + offset, with optional log10 on either side."""

    slope: float
    offset: float = 0.0
    log10_in: bool = False
    log10_out: bool = False

    @property
    def is_factor(self) -> bool:
        """True when a single multiplication converts (no offset, no logarithm)."""
        return self.offset == 0.0 and not self.log10_in and not self.log10_out

    @property
    def exact(self) -> bool:
        """True when converting changes no digit that matters: the same unit, a power of ten,
        or a small whole ratio (mEq ↔ mmol by valence); other factors carry the rounding of the
        reported value (units.yaml ``conversion_rounding``)."""
        if not self.is_factor or self.slope <= 0:
            return False
        for x in (self.slope, 1.0 / self.slope):
            m = x / 10.0 ** math.floor(math.log10(x) + 1e-12)
            if any(math.isclose(m, k, rel_tol=1e-9) for k in (1, 2, 4, 5, 10)):
                return True
        return False

    def band(self, threshold: float) -> float:
        """How near ``threshold`` a value converted this way decides nothing (0: exact)."""
        return 0.0 if self.exact else _units().rounding * abs(threshold)

    def apply(self, value: float) -> float:
        if self.log10_in:
            try:
                value = 10.0**value
            except OverflowError:  # "3000 log10 copies/mL": no count, a typo to review
                raise UnitError(f"log10 value {value} is out of range") from None
        value = self.slope * value + self.offset
        if self.log10_out:
            if value <= 0:
                raise UnitError(f"cannot take log10 of {value}")
            value = math.log10(value)
        return value


def _pint_factor(src: UnitSpec, dst: UnitSpec, pre: float, a: Analyte | None) -> float:
    """What pint converts 1 ``src`` (times ``pre``) to in ``dst``: from the shipped factors
    (``factors.py``, the same arithmetic, so the same float), else from pint itself."""
    table = factors.shipped()
    if table is not None and src.pint in table.dimension and dst.pint in table.dimension:
        magnitude = src.scale * pre
        if src.pint == dst.pint:
            return float(magnitude) / dst.scale
        same = table.same.get((src.pint, dst.pint))
        if same is not None:
            return float(magnitude * same) / dst.scale
        if a is not None and a.molar_mass:
            for op in ("/", "*"):
                f = table.molar.get((src.pint, dst.pint, op))
                if f is not None:
                    by = magnitude / a.molar_mass if op == "/" else magnitude * a.molar_mass
                    return float(by * f) / dst.scale
        what = f" for {a.name}" if a else ""
        raise UnitError(f"cannot convert {src.canonical} to {dst.canonical}{what}")
    return _pint_factor_by_pint(src, dst, pre, a)


def _pint_factor_by_pint(src: UnitSpec, dst: UnitSpec, pre: float, a: Analyte | None) -> float:
    from pint.errors import DimensionalityError

    ureg = _registry()
    q = ureg.Quantity(src.scale * pre, src.pint)
    try:
        return float(q.to(dst.pint).magnitude) / dst.scale
    except DimensionalityError:
        pass
    if a is not None and a.molar_mass:
        mm = ureg.Quantity(a.molar_mass, "g/mol")
        for candidate in (q / mm, q * mm):
            try:
                return float(candidate.to(dst.pint).magnitude) / dst.scale
            except DimensionalityError:
                continue
    what = f" for {a.name}" if a else ""
    raise UnitError(f"cannot convert {src.canonical} to {dst.canonical}{what}")


@lru_cache(maxsize=4096)
def _conversion(src: str, dst: str, analyte_id: str | None) -> Conversion | UnitError:
    """Conversion between canonical units, or the error as a value (so failures cache too)."""
    if src == dst:
        return Conversion(1.0)
    table = _units().specs
    s, d = table[src], table[dst]
    a = _analytes().by_id.get(analyte_id or "")
    what = f" for {a.name}" if a else ""
    if a is not None:
        for f, t, slope, offset in a.conversions:
            if (f, t) == (src, dst):
                return Conversion(slope, offset)
            if (t, f) == (src, dst):
                return Conversion(1.0 / slope, -offset / slope)
    if s.guard or d.guard:
        return UnitError(
            f"cannot convert {src} to {dst}{what}: ratios convert only where the analyte defines it"
        )
    pre = post = 1.0
    if s.per_charge or d.per_charge:
        if a is None or not a.valence:
            return UnitError(f"cannot convert {src} to {dst}{what}: mEq needs the ion's valence")
        pre = 1.0 / a.valence if s.per_charge else 1.0
        post = float(a.valence) if d.per_charge else 1.0
    try:
        factor = _pint_factor(s, d, pre, a) * post
    except UnitError as exc:
        return exc
    return Conversion(factor, 0.0, s.log10, d.log10)


def conversion(
    from_unit: str | None, to_unit: str | None, analyte_id: str | None = None
) -> Conversion:
    """The (cached) conversion between two unit spellings; raises UnitError if there is none."""
    src, dst = unit(from_unit), unit(to_unit)
    if src is None:
        raise UnitError(unit_problem(from_unit) or f"unknown unit {from_unit!r}")
    if dst is None:
        raise UnitError(unit_problem(to_unit) or f"unknown unit {to_unit!r}")
    result = _conversion(src, dst, analyte_id)
    if isinstance(result, UnitError):
        raise UnitError(str(result))
    return result


@lru_cache(maxsize=4096)
def _factor(
    from_unit: str | None, to_unit: str | None, analyte_id: str | None
) -> float | UnitError:
    try:
        c = conversion(from_unit, to_unit, analyte_id)
    except UnitError as exc:
        return exc
    if not c.is_factor:
        return UnitError(
            f"{from_unit} to {to_unit} is not a constant factor (affine or log scale); "
            "use convert()"
        )
    return c.slope


def conversion_factor(
    from_unit: str | None, to_unit: str | None, analyte_id: str | None = None
) -> float:
    """Factor f with value_in_to = value_in_from * f; raises UnitError when not convertible.

    Mass and molar concentrations convert only for analytes with a molar mass in the lexicon;
    affine (HbA1c % ↔ mmol/mol) and log-scale conversions have no factor: use :func:`convert`.
    """
    result = _factor(from_unit, to_unit, analyte_id)
    if isinstance(result, UnitError):
        raise UnitError(str(result))
    return result


def convert(
    value: float, from_unit: str | None, to_unit: str | None, analyte_id: str | None = None
) -> float:
    """Convert a value; handles factors, analyte-specific affine maps and log10 viral loads."""
    return conversion(from_unit, to_unit, analyte_id).apply(value)


# --- describe (for `eligibility vocab TERM`) ----------------------------------------------


def _ordered_ancestors(table: _Table, cid: str) -> list[str]:
    return sorted(a for a in table.ancestors[cid] if a != cid)


def describe(term: str) -> list[dict[str, Any]]:
    """Everything a term resolves to, one dict per reading, so a coordinator can check it.

    A term may have several readings ("TB" is only a condition; "%" only a unit; "HCV" a
    condition while "HCV RNA" is an analyte). Unit spellings refused on purpose ("G/L") come back
    as a unit entry with ``id: None`` and the ``problem``.
    """
    out: list[dict[str, Any]] = []
    a = analyte(term)
    if a is not None:
        out.append(
            {
                "kind": "analyte",
                "id": a.id,
                "name": a.name,
                "category": a.category,
                "panel": a.panel,
                "codes": {"LOINC": list(a.loinc)},
                "unit": a.unit,
                "units": list(a.units),
                "scale": a.scale,
                "values": list(a.values),
                "molar_mass_g_per_mol": a.molar_mass,
                "valence": a.valence,
                "parents": sorted(x for x in _analytes().ancestors[a.id] if x != a.id),
                "synonyms": list(a.synonyms),
                "source": a.source,
            }
        )
    if term.strip():
        u = unit(term)
        if u is not None:
            spec = _units().specs[u]
            flags = [
                f for f in ("case_sensitive", "guard", "per_charge", "log10") if getattr(spec, f)
            ]
            out.append(
                {
                    "kind": "unit",
                    "id": u,
                    "name": u,
                    "spellings": list(spec.spellings),
                    "flags": flags,
                    "source": "units.yaml (UCUM meanings)",
                }
            )
        elif _unit_key(term) in _units().refused or _unit_key(term).lower() in _units().blocked:
            out.append({"kind": "unit", "id": None, "name": term, "problem": unit_problem(term)})
    c = condition(term)
    if c is not None:
        table = _conditions()
        out.append(
            {
                "kind": "condition",
                "id": c.id,
                "name": c.name,
                "codes": {"ICD-10": list(c.codes)},
                "excluded_codes": {"ICD-10": list(c.exclude)},
                "maybe_codes": {"ICD-10": list(c.maybe)},
                "not_codes": {"ICD-10": list(c.not_codes)},
                "nature": c.nature,
                "parents": _ordered_ancestors(table, c.id),
                "members": sorted(m for m in table.descendants[c.id] if m != c.id),
                "synonyms": list(c.synonyms),
                "note": c.extra.get("note"),
                "source": "conditions.yaml (WHO ICD-10 2019 / ICD-10-CM FY2024)",
            }
        )
    d = drug(term)
    if d is not None:
        table = _drugs()
        atc = list(_tuple(d.extra.get("atc_codes"))) or ([d.atc] if d.atc else [])
        out.append(
            {
                "kind": d.kind,
                "id": d.id,
                "name": d.name,
                "codes": {"ATC": atc},
                "parents": _ordered_ancestors(table, d.id),
                "members": sorted(m for m in table.descendants[d.id] if m != d.id),
                "components": list(d.components),
                "maybe_classes": list(d.maybe_class),
                "prednisone_equivalent": d.prednisone_equivalent,
                "synonyms": list(d.synonyms),
                "source": "drugs.yaml (WHO ATC index; BNF corticosteroid equivalents)",
            }
        )
    return out
