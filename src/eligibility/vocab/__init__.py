"""Clinical vocabulary: analytes, units, conditions and drugs, loaded from package YAML.

One source of truth for the parser and the evaluator. Lookups fold case, punctuation and spacing
so "SGPT", "sgpt" and "S.G.P.T." meet the same concept; a term that does not resolve returns
``None`` and the caller decides (a rule with an unresolved name stays ``manual``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

import yaml


class UnitError(ValueError):
    """A unit is unknown, or cannot be converted to the one a rule needs."""


@dataclass(frozen=True)
class Analyte:
    id: str
    name: str
    category: str
    synonyms: tuple[str, ...]
    loinc: tuple[str, ...]
    unit: str | None
    units: tuple[str, ...] = ()
    molar_mass: float | None = None
    source: str = ""


@dataclass(frozen=True)
class Concept:
    """A condition or a drug (agent or class); ``parents`` are its groups/classes."""

    id: str
    name: str
    synonyms: tuple[str, ...]
    codes: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    kind: str = "condition"
    atc: str | None = None
    prednisone_equivalent: float | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


_FOLD_RE = re.compile(r"[\s\-_.,'’()]+")


def fold(term: str) -> str:
    """Key used for every lookup: NFKC, lower case, µ→u, no spaces, hyphens, dots or quotes."""
    text = unicodedata.normalize("NFKC", term).replace("μ", "u").replace("µ", "u").lower()
    return _FOLD_RE.sub("", text)


def _load(name: str) -> dict:
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# --- analytes -----------------------------------------------------------------------------


@cache
def _analytes() -> tuple[dict[str, Analyte], dict[str, str]]:
    by_id: dict[str, Analyte] = {}
    index: dict[str, str] = {}
    for raw in _load("analytes.yaml")["analytes"]:
        a = Analyte(
            id=raw["id"],
            name=raw["name"],
            category=raw.get("category", "lab"),
            synonyms=tuple(raw.get("synonyms", ())),
            loinc=tuple(str(c) for c in raw.get("loinc", ())),
            unit=raw.get("unit"),
            units=tuple(raw.get("units", ())),
            molar_mass=raw.get("molar_mass_g_per_mol"),
            source=raw.get("source", ""),
        )
        by_id[a.id] = a
        for term in (a.id, a.name, *a.synonyms):
            index.setdefault(fold(term), a.id)
        for code in a.loinc:
            index.setdefault(code.lower(), a.id)
    return by_id, index


def analyte(term: str) -> Analyte | None:
    """Resolve a test name, synonym, abbreviation or LOINC code to an analyte."""
    by_id, index = _analytes()
    key = term.strip().lower()
    aid = index.get(key) or index.get(fold(term))
    return by_id.get(aid) if aid else None


def analytes() -> list[Analyte]:
    return list(_analytes()[0].values())


# --- units --------------------------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def _unit_key(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).replace("μ", "u").replace("µ", "u")
    t = t.replace("×", "x").replace("⋅", "").replace("·", "")
    # "10⁹/L" -> "10^9/L"; NFKC already turns superscripts into digits, so restore the caret.
    t = re.sub(r"10(?=[0-9]{1,2}/)", "10^", t) if "^" not in t and "*" not in t else t
    t = t.translate(_SUPERSCRIPTS).lower().replace(" ", "")
    return t


@cache
def _units() -> tuple[dict[str, tuple[float, str]], dict[str, str]]:
    table: dict[str, tuple[float, str]] = {}
    index: dict[str, str] = {}
    for canonical, spec in _load("units.yaml")["units"].items():
        table[canonical] = (float(spec["scale"]), spec["pint"])
        index[_unit_key(canonical)] = canonical
        for s in spec.get("spellings", ()):
            index[_unit_key(s)] = canonical
    return table, index


def unit(text: str | None) -> str | None:
    """Canonical spelling of a unit, ``"1"`` for unitless, ``None`` if not recognised."""
    if text is None:
        return "1"
    return _units()[1].get(_unit_key(text))


@cache
def _registry():  # type: ignore[no-untyped-def]
    import pint  # imported lazily: start-up of the CLI should not pay for it

    ureg = pint.UnitRegistry()
    ureg.define("copies = [copies]")
    ureg.define("international_unit = [international_unit] = IU")
    return ureg


@lru_cache(maxsize=4096)
def conversion_factor(
    from_unit: str | None, to_unit: str | None, analyte_id: str | None = None
) -> float:
    """Factor f with value_in_to = value_in_from * f; raises UnitError when not convertible.

    Mass and molar concentrations convert only for analytes with a molar mass in the lexicon.
    """
    src, dst = unit(from_unit), unit(to_unit)
    if src is None:
        raise UnitError(f"unknown unit {from_unit!r}")
    if dst is None:
        raise UnitError(f"unknown unit {to_unit!r}")
    if src == dst:
        return 1.0
    table = _units()[0]
    (s_scale, s_expr), (d_scale, d_expr) = table[src], table[dst]
    ureg = _registry()
    q = ureg.Quantity(s_scale, s_expr)
    try:
        return float(q.to(d_expr).magnitude) / d_scale
    except Exception:
        pass
    a = _analytes()[0].get(analyte_id or "")
    if a is not None and a.molar_mass:
        mm = ureg.Quantity(a.molar_mass, "g/mol")
        for candidate in (q / mm, q * mm):
            try:
                return float(candidate.to(d_expr).magnitude) / d_scale
            except Exception:
                continue
    what = f" for {a.name}" if a else ""
    raise UnitError(f"cannot convert {src} to {dst}{what}")


def convert(
    value: float, from_unit: str | None, to_unit: str | None, analyte_id: str | None = None
) -> float:
    return value * conversion_factor(from_unit, to_unit, analyte_id)


# --- conditions and drugs -----------------------------------------------------------------


def _concepts(entries: Iterable[dict], kind: str, parent_key: str) -> list[Concept]:
    out = []
    for raw in entries:
        out.append(
            Concept(
                id=raw["id"],
                name=raw["name"],
                synonyms=tuple(raw.get("synonyms", ())),
                codes=tuple(str(c) for c in (raw.get("icd10") or ())),
                parents=tuple(raw.get(parent_key, ()) or ()),
                kind=kind,
                atc=raw.get("atc"),
                prednisone_equivalent=raw.get("prednisone_equivalent"),
            )
        )
    return out


@dataclass(frozen=True)
class _Table:
    by_id: dict[str, Concept]
    index: dict[str, str]
    ancestors: dict[str, frozenset[str]]


def _table(concepts: list[Concept]) -> _Table:
    by_id = {c.id: c for c in concepts}
    index: dict[str, str] = {}
    for c in concepts:
        for term in (c.id, c.name, *c.synonyms):
            index.setdefault(fold(term), c.id)
        if c.atc:
            index.setdefault(c.atc.lower(), c.id)

    def up(cid: str, seen: frozenset[str]) -> frozenset[str]:
        result = {cid}
        for p in by_id[cid].parents:
            if p in by_id and p not in seen:
                result |= up(p, seen | {cid})
        return frozenset(result)

    return _Table(by_id, index, {cid: up(cid, frozenset()) for cid in by_id})


@cache
def _conditions() -> _Table:
    return _table(_concepts(_load("conditions.yaml")["conditions"], "condition", "is_a"))


@cache
def _drugs() -> _Table:
    raw = _load("drugs.yaml")
    return _table(
        _concepts(raw["classes"], "drug_class", "class") + _concepts(raw["agents"], "drug", "class")
    )


def _icd_match(code: str, pattern: str) -> bool:
    """ICD-10 prefix match; ``C00-C96`` style ranges compare the three-character category."""
    code = code.upper().strip()
    if "-" in pattern:
        lo, hi = pattern.upper().split("-", 1)
        return lo <= code[: len(lo)] <= hi
    pattern = pattern.upper()
    return code.startswith(pattern)


def condition(term: str) -> Concept | None:
    """Resolve a condition name, synonym or ICD-10 code to a concept (most specific code wins)."""
    table = _conditions()
    cid = table.index.get(fold(term))
    if cid:
        return table.by_id[cid]
    if re.fullmatch(r"[A-Za-z][0-9]{2}(\.[0-9A-Za-z]{1,4})?", term.strip()):
        best: tuple[int, Concept] | None = None
        for c in table.by_id.values():
            for pattern in c.codes:
                if _icd_match(term, pattern):
                    score = len(pattern) if "-" not in pattern else 1
                    if best is None or score > best[0]:
                        best = (score, c)
        return best[1] if best else None
    return None


def condition_matches(rule_id: str, patient_id: str) -> bool:
    """True when the patient's condition is the rule's concept or one of its members."""
    return rule_id in _conditions().ancestors.get(patient_id, frozenset({patient_id}))


def drug(term: str) -> Concept | None:
    """Resolve an agent or class by name, brand, code name or ATC code."""
    table = _drugs()
    cid = table.index.get(fold(term))
    return table.by_id[cid] if cid else None


def drug_matches(rule_id: str, patient_id: str) -> bool:
    """True when the patient's agent is the rule's agent or belongs to the rule's class."""
    return rule_id in _drugs().ancestors.get(patient_id, frozenset({patient_id}))


def conditions() -> list[Concept]:
    return list(_conditions().by_id.values())


def drugs() -> list[Concept]:
    return list(_drugs().by_id.values())
