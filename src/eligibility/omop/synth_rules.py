"""A seeded synthetic OMOP extract aimed at given rules, for the equivalence tests.

``synth.synthesize`` writes what the two seed trials ask about; a sample of parsed corpus trials
asks about much more. Here the rules themselves say what to write: every ICD-10 code their
concepts (and the concepts above and below them) list, may be (``icd10_maybe``, closure codes,
a category above a code), carve out, except or date elsewhere (T86), with and without the dot;
history and remission codes; every drug name, brand and class that is or may be an agent, with
biosimilar suffixes and dosage forms; for every lab rule its analyte's LOINC codes and names in
all its units, with values on both sides of (and exactly at) the bound; dates at the edges of
the rules' windows, undated entries and resolved ones. Nothing here decides a status: the
evaluator and the SQL both read the same rows. The same seed always writes the same rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from .. import vocab
from ..model import (
    ConditionRule,
    LabRule,
    MeasureRule,
    RuleSet,
    TherapyRule,
    VitalRule,
    iter_rules,
)
from ..vocab.data import _tuple
from .synth import REFERENCE_DATE, add_entry, add_measurement, add_performance, add_person, tables

_NOISE_CODES = ("Z85.3", "Z86.11", "Z87.891", "F10.21", "C91.01", "I10", "E11.9", "Z94.4")
_NOISE_DRUGS = ("aspirin", "metformin", "chemotherapy", "prednisone", "Keytruda")
_BAD_UNITS = ("furlongs", "")
_FACTORS = (0.3, 0.9, 1.0, 1.0, 1.1, 3.0)  # × the bound: both sides, and exactly at it
_CAP = 40  # terms drawn per concept: enough to meet every kind, few enough for CI


@dataclass
class Pools:
    """What the rules name, as the extract may write it."""

    codes: set[str] = field(default_factory=set)
    drugs: set[str] = field(default_factory=set)
    # analyte id -> bounds in the analyte's unit (None: a multiple of ULN/LLN)
    labs: dict[str, set[tuple[float | None, float]]] = field(default_factory=dict)
    windows: set[int] = field(default_factory=set)


def _spellings(pattern: str) -> list[str]:
    """A code pattern of the vocabulary as records write it: the code, a child, the category
    above, without the dot; a range by its two ends."""
    if "-" in pattern:
        return [*pattern.split("-", 1)]
    out = [pattern, pattern.replace(".", "")]
    out.append(pattern + ("1" if "." in pattern else ".1"))
    if len(pattern) > 3:
        out.append(pattern[:3])
    return out


def _condition_codes(rng: random.Random, concept_id: str) -> set[str]:
    related = [
        d
        for d in vocab.conditions()
        if vocab.condition_matches(concept_id, d.id) or vocab.condition_matches(d.id, concept_id)
    ]
    patterns: set[str] = set()
    for d in related:
        later = tuple(str(x) for x in _tuple(d.extra.get("icd10_later")))
        for p in (*d.codes, *d.maybe, *d.closure, *d.exclude, *d.not_codes, *later):
            patterns.update(_spellings(p))
    chosen = sorted(patterns)
    return set(rng.sample(chosen, min(_CAP, len(chosen))))


def _drug_names(rng: random.Random, agent: str) -> set[str]:
    a = vocab.drug(agent)
    if a is None:
        return {agent}
    names: set[str] = set()
    for d in vocab.drugs():
        if d.id == a.id or vocab.drug_matches(a.id, d.id) or vocab.drug_may_be(a.id, d.id):
            names.update((d.name, *d.synonyms[:2]))
    chosen = sorted(names)
    picked = set(rng.sample(chosen, min(_CAP, len(chosen))))
    for n in sorted(picked)[:6]:
        picked.update((f"{n}-abcd", f"{n} injection", f"{n} 100 mg"))
    return picked


def pools(rulesets: list[RuleSet], seed: int = 0) -> Pools:
    """The codes, names, analytes and windows the rules' leaves name."""
    rng = random.Random(seed)
    out = Pools(set(_NOISE_CODES), set(_NOISE_DRUGS))
    for rules in rulesets:
        for c in rules.criteria:
            for r in iter_rules(c.rule):
                if isinstance(r, ConditionRule | TherapyRule) and r.within is not None:
                    out.windows.add(round(r.within.days()))
                if isinstance(r, ConditionRule):
                    for name in (r.condition, *r.except_):
                        concept = vocab.condition(name)
                        if concept is not None:
                            out.codes |= _condition_codes(rng, concept.id)
                elif isinstance(r, TherapyRule):
                    for agent in r.agents:
                        out.drugs |= _drug_names(rng, agent)
                elif isinstance(r, LabRule | VitalRule | MeasureRule):
                    _lab_bound(out, r)
    return out


def _lab_bound(out: Pools, r: LabRule | VitalRule | MeasureRule) -> None:
    a = vocab.analyte(r.analyte if isinstance(r, LabRule) else r.name)
    if a is None:
        return
    bounds = out.labs.setdefault(a.id, set())
    if isinstance(r, LabRule) and r.of is not None:
        bounds.add((None, float(r.multiple or 1.0)))
        return
    target = r.unit or a.unit
    try:
        bounds.add((vocab.convert(float(r.value), target, a.unit, a.id), 1.0))  # type: ignore[arg-type]
    except (vocab.UnitError, TypeError, ValueError):
        bounds.add((float(r.value or 1.0), 1.0))


def _in_unit(value: float, a: vocab.Analyte, unit: str | None) -> float:
    try:
        return vocab.convert(value, a.unit, unit, a.id)
    except (vocab.UnitError, TypeError, ValueError):
        return value


def _start(rng: random.Random, windows: list[int]) -> date | None:
    """Undated, in the future, at a window's edge (a day either side) or anywhere before."""
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.12:
        return REFERENCE_DATE + timedelta(days=rng.randint(1, 30))
    if windows and roll < 0.6:
        return REFERENCE_DATE - timedelta(days=rng.choice(windows) + rng.randint(-2, 2))
    return REFERENCE_DATE - timedelta(days=rng.randint(0, 4000))


def _end(rng: random.Random, start: date | None, windows: list[int]) -> date | None:
    roll = rng.random()
    if roll < 0.6:
        return None
    if start is None:
        return None if roll < 0.8 else _start(rng, windows)
    later = _start(rng, windows)
    return later if later is not None and later >= start else start


def _lab_rows(rng: random.Random, t: dict, pid: int, a: vocab.Analyte, bounds: list) -> None:
    terms = [*a.loinc[:2], a.name, *a.synonyms[:3]]
    units = [*a.units] or [a.unit or "1"]
    when = REFERENCE_DATE - timedelta(days=rng.choice((0, 3, 30, 89, 90, 91, 200)))
    for i in range(rng.choice((1, 1, 1, 2, 3))):
        bound, multiple = rng.choice(bounds)
        unit: str | None = rng.choice(units) if rng.random() > 0.03 else rng.choice(_BAD_UNITS)
        if unit == "1" and rng.random() < 0.5:
            unit = None
        lo, hi = (a.normal or (1.0, 10.0)) if rng.random() < 0.9 else (None, None)
        base = bound if bound is not None else multiple * (hi if hi is not None else 10.0)
        if unit and "log" in unit and _in_unit(base, a, unit) == base:
            unit = a.unit  # a log10 value that is not one: the evaluator overflows on 10**3000
        value = round(_in_unit(base * rng.choice(_FACTORS), a, unit), 6)
        ranged = lo is not None and hi is not None
        day = when if i == 0 or rng.random() < 0.5 else when - timedelta(days=rng.randint(1, 60))
        add_measurement(
            t["measurement"],
            pid,
            rng.choice(terms) if terms else a.id,
            None if rng.random() < 0.03 else day,
            value,
            unit,
            round(_in_unit(lo, a, unit), 6) if ranged else None,  # type: ignore[arg-type]
            round(_in_unit(hi, a, unit), 6) if ranged else None,  # type: ignore[arg-type]
        )


def synthesize_for(rulesets: list[RuleSet], persons: int, seed: int = 0) -> dict[str, dict]:
    """Tables (as ``synth.synthesize`` returns them) whose rows hit what ``rulesets`` name."""
    found = pools(rulesets, seed)
    rng = random.Random(seed)
    codes, drugs = sorted(found.codes), sorted(found.drugs)
    windows = sorted(found.windows)
    labs = [(vocab.analyte(aid), sorted(b, key=repr)) for aid, b in sorted(found.labs.items())]
    t = tables()
    for pid in range(1, persons + 1):
        add_person(rng, t["person"], pid)
        add_performance(rng, t["measurement"], pid)
        for a, bounds in labs:
            if a is not None and rng.random() < 0.7:
                _lab_rows(rng, t, pid, a, bounds)
        for _ in range(rng.choice((0, 1, 2, 3, 4))):
            start = _start(rng, windows)
            add_entry(
                t["condition_occurrence"], pid, rng.choice(codes), start, _end(rng, start, windows)
            )
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            start = _start(rng, windows)
            table = t["drug_exposure"] if rng.random() < 0.85 else t["procedure_occurrence"]
            add_entry(table, pid, rng.choice(drugs), start, _end(rng, start, windows))
    return t
