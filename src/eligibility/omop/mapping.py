"""The extract's words (test codes, units, ICD-10 codes, drug names) resolved by the vocabulary.

The compiled SQL never guesses what a string means: every term it can meet is resolved here, in
Python, by the very functions the evaluator uses (``facts.condition_hits``, ``vocab.conversion``,
…), and the answers travel into the query as small ``VALUES`` tables. So a term means the same
to DuckDB, Spark and the Python evaluator by construction. ``Terms`` lists the strings to
resolve: those the extract holds (``extract.distinct_terms``), or, to print a query without
data, the vocabulary's own spellings of what the rules name (``default_terms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from .. import vocab
from ..entries import event_concepts
from ..facts import MAYBE, _analyte_id, condition_hits, drug_ids
from ..model import ConditionRule, LabRule, RuleSet, TherapyRule, VitalRule, iter_rules

NONLINEAR = "nonlinear"


@dataclass(frozen=True)
class Terms:
    """Strings the query must understand: measurement terms, unit spellings, condition codes,
    drug (and procedure) names."""

    tests: frozenset[str] = frozenset()
    units: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    drugs: frozenset[str] = frozenset()

    def __or__(self, other: Terms) -> Terms:
        return Terms(
            self.tests | other.tests,
            self.units | other.units,
            self.codes | other.codes,
            self.drugs | other.drugs,
        )


@cache
def omop_data() -> dict:
    """``omop.yaml``: gender concept ids and performance-status codes, with their sources."""
    import yaml

    text = resources.files(__package__).joinpath("omop.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def gender_concepts() -> dict[int, str]:
    return {int(k): str(v) for k, v in omop_data()["gender"].items()}


def performance_codes(scale: str) -> tuple[str, ...]:
    return tuple(str(c) for c in omop_data()["performance"][scale])


def default_terms(rules: RuleSet) -> Terms:
    """The vocabulary's own spellings of what the rules name: analyte names, synonyms and LOINC
    codes, every unit spelling, the concepts' plain ICD-10 codes, drug names and synonyms.
    A query built from these knows nothing of an extract's local spellings: build it from the
    extract (``--omop DIR``) to be exact on it."""
    tests: set[str] = set()
    codes: set[str] = set()
    drugs: set[str] = set()
    for c in rules.criteria:
        for r in iter_rules(c.rule):
            if isinstance(r, LabRule | VitalRule):
                a = vocab.analyte(r.analyte if isinstance(r, LabRule) else r.name)
                if a is not None:
                    tests.update((a.id, a.name, *a.synonyms, *a.loinc))
            elif isinstance(r, ConditionRule):
                for concept in vocab.conditions():
                    codes.update(x for x in (*concept.codes, *concept.maybe) if "-" not in x)
            elif isinstance(r, TherapyRule):
                for d in vocab.drugs():
                    drugs.update((d.name, *d.synonyms))
    units = set(vocab_unit_spellings())
    return Terms(frozenset(tests), frozenset(units), frozenset(codes), frozenset(drugs))


def vocab_unit_spellings() -> tuple[str, ...]:
    from ..vocab import _units

    table = _units()
    return tuple(
        sorted({s for spec in table.specs.values() for s in (spec.canonical, *spec.spellings)})
    )


def test_map(terms: Terms, analytes: frozenset[str]) -> list[tuple[str, int]]:
    """(term, analyte code) for every term naming one of ``analytes`` (as ``facts`` resolves a
    charted test name); the query compares small integers, not names, row by row."""
    out = []
    for t in sorted(terms.tests):
        aid = _analyte_id(t)
        if aid in analytes:
            out.append((t, analyte_code(aid)))
    return out


@cache
def _codes() -> dict[str, int]:
    return {a.id: i for i, a in enumerate(vocab.analytes())}


def analyte_code(analyte_id: str) -> int:
    """The analyte's position in the vocabulary: its code in the query."""
    return _codes()[analyte_id]


def unit_factors(
    terms: Terms, analyte_id: str, target: str | None
) -> dict[str | None, vocab.Conversion]:
    """Per unit spelling (None: no unit recorded), the conversion taking a value of the
    analyte to ``target`` as ``evaluate`` converts it (a slope and offset, log10 on either
    side for viral loads); spellings that do not convert are left out (the SQL then says
    unknown, as the evaluator does)."""
    a = vocab.analyte(analyte_id)
    needs_unit = a is not None and vocab.unit(a.unit) != "1"
    found: dict[str | None, vocab.Conversion] = {}
    for u in [None, *sorted(terms.units)]:
        if needs_unit and not (u or "").strip():
            continue  # "no unit" would be a guess for ALT, not a conversion
        try:
            found[u] = vocab.conversion(u, target, analyte_id)
        except vocab.UnitError:
            continue
    return found


def native_units(terms: Terms, analyte_id: str) -> list[str]:
    """Unit spellings that are the analyte's own (convert to its unit): a multiple of the
    lab's normal range needs one of these, or none (``facts.foreign_unit``)."""
    from ..facts import foreign_unit

    return [u for u in sorted(terms.units) if foreign_unit(u, analyte_id) is None]


@dataclass(frozen=True)
class CodeFlags:
    """What one condition code means to one condition rule (``entries.compile_condition``)."""

    code: str
    maybe: bool
    event: bool
    inactive: bool
    # an event so coded that its onset does not date (``vocab.dated_elsewhere``: T86 dates a
    # graft's failure, not the transplant), so in a window it is unknown
    undated: bool = False
    # the days an acute episode lasts (``vocab.episode_days``; 0: not acute): an entry with no
    # end begun earlier is unknown under a present-tense rule
    episode: int = 0


@cache
def condition_entry(term: str) -> tuple[str | None, str | None]:
    """A condition term as a profile's entry holds it: (code, name). An ICD-10 code is a
    code; any other string (a local label, a SNOMED concept's name) is free text, which the
    evaluator reads as a name ("rheumatic heart failure" may be heart failure)."""
    from ..vocab.concepts import _icd_normal

    return (term, None) if _icd_normal(term) is not None else (None, term)


def condition_codes(terms: Terms, rule: ConditionRule, with_window: bool) -> list[CodeFlags]:
    """The codes that hit or may be the rule's concept and are not excepted."""
    c = vocab.condition(rule.condition)
    if c is None:
        return []
    exceptions = frozenset(vocab.condition(e).id for e in rule.except_)  # type: ignore[union-attr]
    events = event_concepts(c.id) if with_window else frozenset()
    active_only = bool(rule.active) or vocab.is_current(c.id)
    out = []
    for term in sorted(terms.codes):
        code, name = condition_entry(term)
        hits = condition_hits(code, name)
        maybe = c.id not in hits
        if maybe and MAYBE + c.id not in hits:
            continue
        if not exceptions.isdisjoint(hits):
            continue
        event = (bool(rule.onset) and with_window) or (bool(events) and not events.isdisjoint(hits))
        undated = event and bool(c.extra.get("icd10_later")) and vocab.dated_elsewhere(c.id, code)
        if not maybe and exceptions and _probe(rule, term) is None:
            maybe = True  # it may be one of the exceptions: the evaluator leaves it open
        if not maybe and active_only and vocab.activity_unsure(code):
            maybe = True  # a carrier code under "active": the evaluator leaves it open
        episode = vocab.episode_days(hits) or 0
        out.append(CodeFlags(term, maybe, event, vocab.inactive_code(code), undated, episode))
    return out


def _probe(rule: ConditionRule, term: str) -> int | None:
    """The evaluator's own truth for one current entry so coded, under the rule without its
    window, activity or history clause (0/1; None: unknown). Asked when the rule has
    exceptions: an entry that may be one of them decides nothing (as a "maybe" entry), and
    which codes may be is the evaluator's to say."""
    from datetime import date

    from ..compiled import UNKNOWN
    from ..evaluate import build_facts, compile_rule
    from ..patient import Patient

    bare = rule.model_copy(update={"within": None, "active": None, "history": None})
    day = date(2000, 1, 1)
    code, name = condition_entry(term)
    patient = Patient(id="x", conditions=[{"code": code, "name": name, "onset": day}])
    truth = compile_rule(bare).check(build_facts(patient, day))[0]
    return None if truth == UNKNOWN else int(truth)


def drug_names(terms: Terms, rule: TherapyRule) -> list[tuple[str, bool]]:
    """(name, maybe) for every drug or procedure name that is, or may be, one of the agents."""
    concepts = [vocab.drug(a) for a in rule.agents]
    ids = [c.id for c in concepts]  # type: ignore[union-attr]
    open_class = any(c.kind == "drug_class" for c in concepts)  # type: ignore[union-attr]
    out = []
    for name in sorted(terms.drugs):
        found = drug_ids(name)
        known = [d for d in found if d is not None]
        if any(vocab.drug_matches(i, d) for i in ids for d in known):
            out.append((name, False))
        elif any(vocab.drug_may_be(i, d) for i in ids for d in known):
            out.append((name, True))
        elif None in found and open_class and not vocab.not_a_drug(name):
            # entries.compile_therapy: a name the vocabulary does not know may be a member of
            # a class, unless it names a procedure
            out.append((name, True))
    return out
