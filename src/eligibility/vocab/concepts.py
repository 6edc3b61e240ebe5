"""Conditions (ICD-10) and drugs (agents, classes, regimens; ATC): concepts with parents.

What a rule's ``condition`` or ``agents`` name, what a patient's coded entries are matched
against (codes, carve-outs, "maybe" codes, remission and history codes), and how a term resolves
to one. Loaded once from ``conditions.yaml`` and ``drugs.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import Any

from eligibility.vocab.data import _load, _tuple, fold


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
    # Codes whose ICD-10-CM title names the concept but which ``icd10`` leaves out, found by
    # ``bench/concept_closure.py`` (closure.yaml): "maybe" codes nobody decided yet.
    closure: tuple[str, ...] = ()

    def has_code(self, code: str) -> bool:
        """True when a (normalised) ICD-10 code is one of this concept's own codes."""
        return any(_icd_match(code, p) for p in self.codes) and not any(
            _icd_match(code, p) for p in self.exclude
        )


_EXTRA_KEYS = (
    "note", "grading", "members_exhaustive", "current", "closure_words", "means", "maybe_agents",
    "icd10_later", "defined_by", "separate_members", "metastasises", "episode_days",
)  # fmt: skip


def _concepts(entries: Iterable[dict[str, Any]], kind: str, parent_key: str) -> list[Concept]:
    out = []
    for raw in entries:
        atc = _tuple(raw.get("atc"))
        equivalent = raw.get("equivalent_dose_mg")
        extra: dict[str, object] = {k: raw[k] for k in _EXTRA_KEYS if raw.get(k) is not None}
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
    raw = _load("conditions.yaml")["conditions"]
    concepts = _with_members(_concepts(raw, "condition", "is_a"), raw)
    closure = _load("closure.yaml")["maybe"] or {}
    return _table(
        [replace(c, closure=_tuple(closure[c.id])) if c.id in closure else c for c in concepts]
    )


def _with_members(concepts: list[Concept], raw: Iterable[dict[str, Any]]) -> list[Concept]:
    """``members:`` of a group added as the members' parents, so a new group can hold concepts
    defined before it without editing their entries (``liver_cancer`` holds HCC)."""
    groups: dict[str, list[str]] = {}
    for entry in raw:
        for member in _tuple(entry.get("members")):
            groups.setdefault(member, []).append(entry["id"])
    return [
        replace(c, parents=(*c.parents, *(g for g in groups[c.id] if g not in c.parents)))
        if c.id in groups
        else c
        for c in concepts
    ]


@cache
def _drugs() -> _Table:
    raw = _load("drugs.yaml")
    return _table(
        _concepts(raw["classes"], "drug_class", "class")
        + _concepts(raw["agents"], "drug", "class")
        + _concepts(raw.get("regimens", ()), "regimen", "class")
    )


@cache
def _not_drugs() -> re.Pattern[str] | None:
    raw = _load("drugs.yaml").get("not_drugs") or {}
    patterns = raw.get("patterns") or []
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None


@lru_cache(maxsize=4096)
def not_a_drug(name: str) -> bool:
    """A treatment entry that names a procedure or radiation ("hepatectomy (R0)", "SBRT"), not
    a drug the vocabulary lacks; one that also says "chemo" delivers a drug."""
    pattern = _not_drugs()
    return pattern is not None and "chemo" not in name.lower() and bool(pattern.search(name))


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


def defined_by(condition_id: str) -> frozenset[str]:
    """The measurements that define the condition or a group it belongs to (``defined_by``)."""
    table = _conditions()
    out: set[str] = set()
    for cid in table.ancestors.get(condition_id, frozenset({condition_id})):
        c = table.by_id.get(cid)
        if c is not None:
            out.update(c.extra.get("defined_by") or ())  # type: ignore[call-overload]
    return frozenset(out)


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
    if own_maybe(rule_id, normal):
        return False
    return any(table.by_id[member].has_code(normal) for member in table.descendants[rule_id])


def own_maybe(rule_id: str, code: str | None) -> bool:
    """True when a group's own ``icd10_maybe`` holds the code, which then overrides a member's
    match: M31.0 (hypersensitivity angiitis, and Goodpasture syndrome) is a vasculitis but may or
    may not be an autoimmune disease."""
    c = _conditions().by_id.get(rule_id)
    normal = _icd_normal(code) if code else None
    return c is not None and normal is not None and any(_icd_match(normal, p) for p in c.maybe)


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
        # an entry by name only may be the concept when its own concept's codes may be
        # ("Behcet disease", M35.2, for vasculitis: fresh audit 49)
        named = table.by_id.get(patient_id) if patient_id is not None else None
        return named is not None and any(
            condition_may_be(rule_id, None, p) for p in named.codes if "-" not in p
        )
    for member in table.descendants[rule_id]:
        c = table.by_id[member]
        if any(_icd_match(normal, p) for p in (*c.maybe, *c.closure)):
            return True
        if any(
            "-" not in p and len(p) > len(normal) and p.upper().startswith(normal) for p in c.codes
        ):
            return True
    # a concept no ICD-10-CM code names (epithelial ovarian cancer, head and neck squamous cell
    # carcinoma): a code of its nearest coded group may be it (C56.9, an ovarian cancer of
    # unstated histology, fresh audit 37; C02.9 tongue cancer, fresh audit 52)
    if any(table.by_id[m].codes or table.by_id[m].maybe for m in table.descendants[rule_id]):
        return False  # (glioma's maybes, C71-C72, say which codes may be it)
    return any(table.by_id[p].has_code(normal) for p in _coded_groups(rule_id))


@lru_cache(maxsize=8192)
def code_may_be(rule_id: str, code: str) -> bool:
    """True when an entry so coded may be the concept, by the code alone (``condition_may_be``;
    for a concept no ICD-10-CM code names, a code of its nearest coded group)."""
    return condition_may_be(rule_id, None, code)


@cache
def _coded_groups(rule_id: str) -> tuple[str, ...]:
    """The nearest groups above ``rule_id`` that carry codes (not every ancestor: "malignancy"
    is above epithelial ovarian cancer, and a breast cancer code is no "maybe" of it)."""
    table = _conditions()
    found: list[str] = []
    todo, seen = list(table.by_id[rule_id].parents), {rule_id}
    while todo:
        p = todo.pop(0)
        if p in seen or p not in table.by_id:
            continue
        seen.add(p)
        if table.by_id[p].codes:
            found.append(p)
        else:
            todo.extend(table.by_id[p].parents)
    return tuple(found)


@lru_cache(maxsize=4096)
def uncoded_kinds(concept_id: str, entry_id: str | None, code: str | None) -> tuple[str, ...]:
    """The kinds under a concept that no ICD-10-CM code names (mucosal melanoma, coded by
    site), which an entry named as the concept may be ("malignant melanoma of anal canal",
    C21.1: fresh audit 38), unless its code or its own concept says which kind it is (C43.9 is
    a cutaneous melanoma; "breast cancer" is no glioma though its words name a malignancy)."""
    table = _conditions()
    if concept_id not in table.by_id:
        return ()
    if (
        entry_id is not None
        and entry_id != concept_id
        and concept_id in table.ancestors.get(entry_id, frozenset())
    ):
        return ()
    below = [m for m in table.descendants[concept_id] if m != concept_id]
    normal = _icd_normal(code) if code else None
    if normal is not None and any(table.by_id[m].has_code(normal) for m in below):
        return ()
    return tuple(
        sorted(
            m
            for m in below
            if not any(table.by_id[d].codes for d in table.descendants[m])
            # a kind whose sites are its maybe codes (uveal melanoma: C69.3, C69.4) is no kind
            # of an entry coded elsewhere (C21.1, the anal canal)
            and not (
                normal is not None
                and table.by_id[m].maybe
                and not any(_icd_match(normal, p) for p in table.by_id[m].maybe)
            )
        )
    )


# Words before a term that make a name say the opposite or name someone else: "no heart
# failure", "non-small cell", "family history of stroke".
NAME_BLOCKERS = re.compile(
    r"\b(?:without|non-?|not|other than|except|excluding|no|family history of|"
    r"screening for|contact with|exposure to|carrier of|fear of|"
    r"personal history of)\s*(?:\w+\s+){0,2}$",
    re.I,
)


def plain_terms(c: Concept) -> list[str]:
    """The concept's words worth finding inside a longer name: no short forms ("HIV", "MI")."""
    out = set()
    for t in (c.name, *c.synonyms):
        t = t.strip()
        if len(t) >= 5 and not (t.upper() == t and " " not in t) and re.search("[a-z]", t):
            out.add(t)
    return sorted(out, key=str.lower)


def term_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    """Whole words, case-insensitive; a hyphen binds ("non-Hodgkin" is no "Hodgkin")."""
    body = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(r"(?<![\w-])(?:" + body + r")(?![\w-])", re.I)


def names_term(text: str, pattern: re.Pattern[str]) -> bool:
    """True when ``text`` holds one of the pattern's terms with no blocker before it."""
    return any(not NAME_BLOCKERS.search(text[: m.start()]) for m in pattern.finditer(text))


@cache
def _named() -> tuple[re.Pattern[str], dict[str, tuple[str, ...]]]:
    by_term: dict[str, list[str]] = {}
    for c in _conditions().by_id.values():
        for t in plain_terms(c):
            by_term.setdefault(t.lower(), []).append(c.id)
    return term_pattern(by_term), {k: tuple(v) for k, v in by_term.items()}


@lru_cache(maxsize=4096)
def conditions_named_in(text: str) -> frozenset[str]:
    """The concepts whose words a free-text entry holds ("rheumatic heart failure" holds "heart
    failure"): the entry may be one of them even when its whole name resolves to none."""
    pattern, by_term = _named()
    found: set[str] = set()
    for m in pattern.finditer(text):
        if not NAME_BLOCKERS.search(text[: m.start()]):
            found.update(by_term.get(m.group(0).lower(), ()))
    return frozenset(found)


def dated_elsewhere(concept_id: str, code: str | None) -> bool:
    """True when an entry so coded says the concept's event happened but its onset is another
    event's (``icd10_later``: T86, a transplanted kidney's failure, dates the failure)."""
    c = _conditions().by_id.get(concept_id)
    normal = _icd_normal(code) if code else None
    if c is None or normal is None:
        return False
    return any(_icd_match(normal, str(p)) for p in _tuple(c.extra.get("icd10_later")))


def code_ruled_out(rule_id: str, code: str) -> bool:
    """True when the concept's ``icd10_not`` or ``icd10_exclude`` says this code is not it."""
    c = _conditions().by_id.get(rule_id)
    normal = _icd_normal(code)
    if c is None or normal is None:
        return False
    return any(_icd_match(normal, p) for p in (*c.not_codes, *c.exclude))


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
# "Carrier of viral hepatitis" (Z22.5): a chronic infection whose activity the code does not say
# (an inactive HBsAg carrier, or HBsAg with viraemia that a trial calls active hepatitis B).
# Against a criterion on active disease it is unknown (fresh audits 10, 21, 22).
# "Opioid dependence, in remission" (F11.21) is also how ICD-10-CM codes opioid use disorder on
# maintenance therapy (methadone, buprenorphine): a current diagnosis for a trial of those
# programmes (fresh audit 54, NCT03796208), so whether it is active is not in the code either.
_UNSURE_ACTIVITY = ("Z22.5", "F11.21")


@lru_cache(maxsize=4096)
def activity_unsure(code: str | None) -> bool:
    """True for a code that names the disease but not whether it is active."""
    normal = _icd_normal(code) if code else None
    return normal is not None and normal.startswith(_UNSURE_ACTIVITY)


@lru_cache(maxsize=4096)
def inactive_code(code: str | None) -> bool:
    """True for an ICD-10-CM code that says the disease is not active: "in remission" (F10.21,
    C91.01, F33.42) or "personal history of" (Z85.3, Z86.11). Such an entry is not active,
    whatever status a problem list gives it."""
    normal = _icd_normal(code) if code else None
    if normal is None or normal.startswith(_UNSURE_ACTIVITY):
        return False
    return normal.startswith(_HISTORY_CODES) or any(
        normal.startswith(c) for c in _remission_codes()
    )


def drug_matches(rule_id: str, patient_id: str) -> bool:
    """True when the patient's agent is the rule's agent, belongs to its class, or is a regimen
    containing it. A class that ``means`` another minus some agents' uses ("systemic
    chemotherapy": every cytotoxic agent, but mitomycin may have been intravesical) matches
    those agents only as maybes."""
    table = _drugs()
    ups = table.ancestors.get(patient_id, frozenset({patient_id}))
    rule = table.by_id.get(rule_id)
    means = rule.extra.get("means") if rule else None
    if means:
        local = _tuple(rule.extra.get("maybe_agents"))  # type: ignore[union-attr]
        return means in ups and patient_id != means and patient_id not in local
    return rule_id in ups


@lru_cache(maxsize=8192)
def drug_may_be(rule_id: str, patient_id: str) -> bool:
    """True when the patient's agent or class may or may not fall under the rule's: a class
    broader than the rule's ("chemotherapy" recorded, "platinum" asked), or an agent whose
    ``maybe_class`` holds the rule's class (methotrexate and "chemotherapy")."""
    table = _drugs()
    if rule_id not in table.by_id or patient_id not in table.by_id:
        return False
    means = table.by_id[rule_id].extra.get("means")
    if means:
        if patient_id == means:
            return True  # "chemotherapy" recorded: systemic or local is not said
        if patient_id in _tuple(table.by_id[rule_id].extra.get("maybe_agents")):
            return str(means) in table.ancestors[patient_id] or drug_may_be(str(means), patient_id)
        return drug_may_be(str(means), patient_id)
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


@lru_cache(maxsize=4096)
def episode_days(hits: frozenset[str]) -> int | None:
    """The longest episode of the acute concepts an entry is (``episode_days``: sepsis,
    influenza), None when it is none of them. Such an entry with no end, begun longer ago
    than its episode, may be a past episode a chart never closed: whether it is current is
    unknown, not present."""
    table = _conditions().by_id
    days = [
        int(c.extra["episode_days"])
        for h in hits
        if (c := table.get(h)) and "episode_days" in c.extra
    ]  # type: ignore[call-overload]
    return max(days) if days else None


def conditions() -> list[Concept]:
    return list(_conditions().by_id.values())


def drugs() -> list[Concept]:
    return list(_drugs().by_id.values())
