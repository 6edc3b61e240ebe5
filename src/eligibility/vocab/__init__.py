"""Clinical vocabulary: analytes, units, conditions and drugs, loaded from package YAML.

One source of truth for the parser and the evaluator. Lookups fold case, punctuation and spacing
so "SGPT", "sgpt" and "S.G.P.T." meet the same concept; a term that does not resolve returns
``None`` and the caller decides (a rule with an unresolved name stays ``manual``).

Units are the exception to case folding: "g/L" is grams per litre but "G/L" (European giga per
litre) is refused, because guessing would change a platelet count a billion-fold. Every lookup
and every conversion is cached, so the evaluator pays for pint once per unit pair, not per value.
See docs/vocab.md for how the data is organised and how to add a term.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "Analyte",
    "Concept",
    "Conversion",
    "UnitError",
    "UnitSpec",
    "analyte",
    "analyte_matches",
    "analytes",
    "code_matches",
    "condition",
    "condition_matches",
    "condition_union",
    "conditions",
    "conversion",
    "conversion_factor",
    "convert",
    "describe",
    "drug",
    "drug_matches",
    "drugs",
    "fold",
    "ordinal_rank",
    "prednisone_equivalent_mg",
    "qualitative_value",
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

    @property
    def qualitative(self) -> bool:
        """True for tests reported as categories (HBsAg positive, dipstick 2+), not numbers."""
        return self.scale != "Qn"


@dataclass(frozen=True)
class Concept:
    """A condition or a drug (agent, class or regimen); ``parents`` are its groups/classes."""

    id: str
    name: str
    synonyms: tuple[str, ...]
    codes: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    kind: str = "condition"
    atc: str | None = None
    prednisone_equivalent: float | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
    components: tuple[str, ...] = ()
    # A condition is an *event* (MI, stroke, a fracture: dated by its onset, so "within 6 months"
    # asks when it happened) or a *state* (infection, diabetes: within a window when present at
    # some time during it). Drugs leave it at "state".
    nature: str = "state"
    # ICD-10 codes carved out of ``codes`` (D68.5 thrombophilia out of D65-D69 bleeding
    # disorders); the patterns of ``codes`` that exist only in WHO ICD-10, not ICD-10-CM; and
    # ICD-10-CM codes deleted from the current tabular that older records still carry.
    exclude: tuple[str, ...] = ()
    who_only: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()
    # Codes that may or may not be this concept (``icd10_maybe``: B20 "HIV disease" for AIDS,
    # Z94.7 a corneal graft for "transplant"): an entry so coded is unknown, never a match.
    maybe: tuple[str, ...] = ()
    # Codes of a broader concept that say the entry is *not* this one (``icd10_not``: Z21
    # asymptomatic HIV infection is not AIDS), so a broader entry so coded is no "maybe".
    not_codes: tuple[str, ...] = ()
    # Drug classes an agent may or may not count in (``maybe_class``: low-dose methotrexate for
    # arthritis and "prior chemotherapy"): the dose and indication decide, so a person does.
    maybe_class: tuple[str, ...] = ()

    def has_code(self, code: str) -> bool:
        """True when a (normalised) ICD-10 code is one of this concept's own codes."""
        return any(_icd_match(code, p) for p in self.codes) and not any(
            _icd_match(code, p) for p in self.exclude
        )


_FOLD_RE = re.compile(r"[\s\-_.,'’()]+")


def fold(term: str) -> str:
    """Key used for every lookup: NFKC, lower case, µ→u, no spaces, hyphens, dots or quotes."""
    text = unicodedata.normalize("NFKC", term).replace("μ", "u").replace("µ", "u").lower()
    return _FOLD_RE.sub("", text)


def _load(name: str) -> dict[str, Any]:
    """A vocabulary file's data. libyaml's loader reads them some fifteen times as fast as the
    pure one (≈ 30 ms instead of ≈ 300 ms in every process) and builds the same data
    (tests/test_startup.py); yaml is imported here, as the parser's cached tables need none."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def _tuple(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    return tuple(str(x) for x in raw)  # type: ignore[union-attr]


# --- analytes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _AnalyteTable:
    by_id: dict[str, Analyte]
    index: dict[str, str]
    value_sets: dict[str, tuple[tuple[str, ...], dict[str, str]]]
    ancestors: dict[str, frozenset[str]]


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
        )
        by_id[a.id] = a
        for term in (a.id, a.name, *a.synonyms):
            index.setdefault(fold(term), a.id)
        for code in a.loinc:
            index.setdefault(code.lower(), a.id)

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
    return _UnitTable(specs, exact, folded, frozenset(blocked), refused)


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

    def apply(self, value: float) -> float:
        if self.log10_in:
            value = 10.0**value
        value = self.slope * value + self.offset
        if self.log10_out:
            if value <= 0:
                raise UnitError(f"cannot take log10 of {value}")
            value = math.log10(value)
        return value


def _pint_factor(src: UnitSpec, dst: UnitSpec, pre: float, a: Analyte | None) -> float:
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


# --- conditions and drugs -----------------------------------------------------------------


def _concepts(entries: Iterable[dict[str, Any]], kind: str, parent_key: str) -> list[Concept]:
    out = []
    for raw in entries:
        atc = _tuple(raw.get("atc"))
        equivalent = raw.get("equivalent_dose_mg")
        extra: dict[str, object] = {
            k: raw[k]
            for k in ("note", "grading", "members_exhaustive", "current")
            if raw.get(k) is not None
        }
        if len(atc) > 1:
            extra["atc_codes"] = atc
        out.append(
            Concept(
                id=raw["id"],
                name=raw["name"],
                synonyms=_tuple(raw.get("synonyms")),
                codes=(
                    _tuple(raw.get("icd10"))
                    + _tuple(raw.get("icd10_who"))
                    + _tuple(raw.get("icd10_retired"))
                ),
                parents=_tuple(raw.get(parent_key)),
                kind=kind,
                atc=atc[0] if atc else None,
                prednisone_equivalent=(
                    5.0 / float(equivalent) if equivalent else raw.get("prednisone_equivalent")
                ),
                extra=extra,
                components=_tuple(raw.get("components")),
                nature=str(raw.get("nature", "state")),
                exclude=_tuple(raw.get("icd10_exclude")),
                who_only=_tuple(raw.get("icd10_who")),
                retired=_tuple(raw.get("icd10_retired")),
                maybe=_tuple(raw.get("icd10_maybe")),
                not_codes=_tuple(raw.get("icd10_not")),
                maybe_class=_tuple(raw.get("maybe_class")),
            )
        )
    return out


@dataclass(frozen=True)
class _Table:
    by_id: dict[str, Concept]
    index: dict[str, str]
    ancestors: dict[str, frozenset[str]]
    descendants: dict[str, frozenset[str]]


def _table(concepts: list[Concept]) -> _Table:
    by_id = {c.id: c for c in concepts}
    index: dict[str, str] = {}
    for c in concepts:
        for term in (c.id, c.name, *c.synonyms):
            index.setdefault(fold(term), c.id)
        for code in (c.atc, *_tuple(c.extra.get("atc_codes"))):
            if code:
                index.setdefault(code.lower(), c.id)

    def up(cid: str, seen: frozenset[str]) -> frozenset[str]:
        # A regimen's components count as parents: GEMOX exposes the patient to gemcitabine.
        result = {cid}
        for p in (*by_id[cid].parents, *by_id[cid].components):
            if p in by_id and p not in seen:
                result |= up(p, seen | {cid})
        return frozenset(result)

    ancestors = {cid: up(cid, frozenset()) for cid in by_id}
    down: dict[str, set[str]] = {cid: set() for cid in by_id}
    for cid, ups in ancestors.items():
        for a in ups:
            down[a].add(cid)
    return _Table(by_id, index, ancestors, {k: frozenset(v) for k, v in down.items()})


@cache
def _conditions() -> _Table:
    return _table(_concepts(_load("conditions.yaml")["conditions"], "condition", "is_a"))


@cache
def _drugs() -> _Table:
    raw = _load("drugs.yaml")
    return _table(
        _concepts(raw["classes"], "drug_class", "class")
        + _concepts(raw["agents"], "drug", "class")
        + _concepts(raw.get("regimens", ()), "regimen", "class")
    )


_ICD_RE = re.compile(r"[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?")


def _icd_normal(code: str) -> str | None:
    """Upper-case an ICD-10 code and restore the dot exports drop ("B181" -> "B18.1")."""
    c = code.strip().upper()
    if not _ICD_RE.fullmatch(c):
        return None
    if len(c) > 3 and c[3] != ".":
        c = f"{c[:3]}.{c[3:]}"
    return c


def _icd_match(code: str, pattern: str) -> bool:
    """ICD-10 prefix match; ``C00-C96`` style ranges compare as many characters as written."""
    code = code.upper().strip()
    if "-" in pattern:
        lo, hi = pattern.upper().split("-", 1)
        return lo <= code[: len(lo)] <= hi
    return code.startswith(pattern.upper())


@lru_cache(maxsize=4096)
def condition(term: str) -> Concept | None:
    """Resolve a condition name, synonym or ICD-10 code to a concept (most specific code wins)."""
    table = _conditions()
    cid = table.index.get(fold(term))
    if cid:
        return table.by_id[cid]
    code = _icd_normal(term)
    if code is None:
        return None
    # Longest matching pattern wins; on a tie the deeper concept (ulcerative colitis over
    # inflammatory bowel disease, both K51) wins.
    best: tuple[tuple[float, int], Concept] | None = None
    for c in table.by_id.values():
        if any(_icd_match(code, p) for p in c.exclude):
            continue
        for pattern in c.codes:
            if _icd_match(code, pattern):
                length = len(pattern) if "-" not in pattern else len(pattern.split("-")[0]) - 0.5
                score = (length, len(table.ancestors[c.id]))
                if best is None or score > best[0]:
                    best = (score, c)
    return best[1] if best else None


def condition_matches(rule_id: str, patient_id: str) -> bool:
    """True when the patient's condition is the rule's concept or one of its members."""
    return rule_id in _conditions().ancestors.get(patient_id, frozenset({patient_id}))


def condition_union(ids: Iterable[str]) -> list[str]:
    """The shortest list of concepts meaning "any of ``ids``", order kept.

    A concept under another one in the list adds nothing ("alcohol or substance abuse" is
    substance abuse), and all the members of a group marked ``members_exhaustive`` (a group that
    means exactly the union of its members) are the group ("alcohol or drug abuse" is substance
    abuse; "DVT or PE" is venous thromboembolism). Unknown ids are kept as they are.
    """
    table = _conditions()
    out = list(dict.fromkeys(ids))
    changed = True
    while changed:
        changed = False
        present = set(out)
        for cid, c in table.by_id.items():
            if cid in present or not c.extra.get("members_exhaustive"):
                continue
            members = [m for m, mc in table.by_id.items() if cid in mc.parents]
            if len(members) > 1 and all(m in present for m in members):
                first = min(out.index(m) for m in members)
                out = [x for x in out if x not in members]
                out.insert(min(first, len(out)), cid)
                changed = True
                break
        known = [x for x in out if x in table.by_id]
        kept = [
            x
            for x in out
            if x not in table.by_id or not any(o != x and o in table.ancestors[x] for o in known)
        ]
        if kept != out:
            out, changed = kept, True
    return out


@lru_cache(maxsize=8192)
def code_matches(rule_id: str, code: str) -> bool:
    """True when an ICD-10 code falls under the rule's condition or any of its members.

    Unlike ``condition(code)``, which picks one concept, this answers for every concept a code
    belongs to: B18.0 (chronic hepatitis B with delta agent) matches both HBV and HDV rules.
    """
    table = _conditions()
    normal = _icd_normal(code)
    if normal is None or rule_id not in table.by_id:
        return False
    return any(table.by_id[member].has_code(normal) for member in table.descendants[rule_id])


@lru_cache(maxsize=4096)
def drug(term: str) -> Concept | None:
    """Resolve an agent, class or regimen by name, brand, code name or ATC code."""
    table = _drugs()
    cid = table.index.get(fold(term)) or table.index.get(term.strip().lower())
    return table.by_id[cid] if cid else None


@lru_cache(maxsize=8192)
def condition_may_be(rule_id: str, patient_id: str | None, code: str | None) -> bool:
    """True when an entry that does not match the rule's concept may still be it.

    Nothing unread may decide: an entry broader than the concept ("stem cell transplant" for a
    rule on allogeneic transplant, "HIV infection" for AIDS), a code the concept lists as
    ``icd10_maybe`` (B20 for AIDS), or a category above one of its codes (C79 for brain
    metastases, C79.31) leaves the question open. Callers ask only after ``code_matches`` and
    ``condition_matches`` said no.
    """
    table = _conditions()
    if rule_id not in table.by_id:
        return False
    normal = _icd_normal(code) if code else None
    if normal is not None and any(_icd_match(normal, p) for p in table.by_id[rule_id].not_codes):
        return False
    if patient_id is not None and patient_id != rule_id and patient_id in table.ancestors[rule_id]:
        return True
    if normal is None:
        return False
    for member in table.descendants[rule_id]:
        c = table.by_id[member]
        if any(_icd_match(normal, p) for p in c.maybe):
            return True
        if any(
            "-" not in p and len(p) > len(normal) and p.upper().startswith(normal) for p in c.codes
        ):
            return True
    return False


def concept_may_be(rule_id: str, concept_id: str) -> bool:
    """True when entries of ``concept_id`` may or may not be ``rule_id``'s concept: one of its
    codes falls under the rule's ``icd10_maybe`` codes (liver cancer C22 for "liver disease")."""
    table = _conditions()
    if rule_id not in table.by_id or concept_id not in table.by_id:
        return False
    if concept_id in table.ancestors[rule_id] or rule_id in table.ancestors[concept_id]:
        return False  # broader or narrower: not another disease (HIV for AIDS)
    codes = [p.split("-")[0] for m in table.descendants[concept_id] for p in table.by_id[m].codes]
    return any(
        condition_may_be(rule_id, None, code) and not code_matches(rule_id, code) for code in codes
    )


@cache
def _remission_codes() -> tuple[str, ...]:
    return tuple(str(c) for c in _load("remission.yaml")["codes"])


# ICD-10-CM codes whose own words put the disease in the past: "personal history of" (Z85
# malignant neoplasm, Z86 other diseases, Z87 other conditions), "old myocardial infarction"
# (I25.2), "sequelae of" cerebrovascular disease (I69), tuberculosis (B90), poliomyelitis (B91),
# leprosy (B92) and other infectious diseases (B94).
_HISTORY_CODES = ("Z85", "Z86", "Z87", "I25.2", "I69", "B90", "B91", "B92", "B94")


@lru_cache(maxsize=4096)
def inactive_code(code: str | None) -> bool:
    """True for an ICD-10-CM code that says the disease is not active: "in remission" (F10.21,
    C91.01, F33.42) or "personal history of" (Z85.3, Z86.11). Such an entry is not active,
    whatever status a problem list gives it."""
    normal = _icd_normal(code) if code else None
    if normal is None:
        return False
    return normal.startswith(_HISTORY_CODES) or any(
        normal.startswith(c) for c in _remission_codes()
    )


def drug_matches(rule_id: str, patient_id: str) -> bool:
    """True when the patient's agent is the rule's agent, belongs to its class, or is a regimen
    containing it."""
    return rule_id in _drugs().ancestors.get(patient_id, frozenset({patient_id}))


@lru_cache(maxsize=8192)
def drug_may_be(rule_id: str, patient_id: str) -> bool:
    """True when the patient's agent or class may or may not fall under the rule's: a class
    broader than the rule's ("chemotherapy" recorded, "platinum" asked), or an agent whose
    ``maybe_class`` holds the rule's class (methotrexate and "chemotherapy")."""
    table = _drugs()
    if rule_id not in table.by_id or patient_id not in table.by_id:
        return False
    if patient_id != rule_id and patient_id in table.ancestors[rule_id]:
        return True
    return any(
        rule_id in table.ancestors.get(m, frozenset())
        for a in table.ancestors[patient_id]
        for m in table.by_id[a].maybe_class
    )


def prednisone_equivalent_mg(drug_id: str, dose_mg: float) -> float | None:
    """Prednisone-equivalent dose of a systemic corticosteroid (BNF equivalence table).

    ``None`` when the drug is unknown or is not a corticosteroid with a known equivalence, so
    a "> 10 mg prednisone/day" rule stays unknown rather than guessing.
    """
    table = _drugs()
    c = table.by_id.get(drug_id) or drug(drug_id)
    if c is None or c.prednisone_equivalent is None:
        return None
    return dose_mg * c.prednisone_equivalent


def is_current(concept_id: str) -> bool:
    """True for a concept whose name says it is current ("active infection"): an entry recorded
    as resolved is never it, nor a "may be" of it."""
    c = _conditions().by_id.get(concept_id)
    return bool(c is not None and c.extra.get("current"))


def conditions() -> list[Concept]:
    return list(_conditions().by_id.values())


def drugs() -> list[Concept]:
    return list(_drugs().by_id.values())


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
