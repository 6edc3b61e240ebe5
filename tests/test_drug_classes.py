"""The drug classes criteria name (issue 13): membership as data, readings, and screening.

A class decides only for agents every cited list puts in it; an agent the lists place
differently (diltiazem: strong in the FDA guidance table, moderate in the others) is a maybe,
so "no strong CYP3A4 inhibitors" is unknown for it, never a pass or a fail. Words whose meaning
varies by trial ("hormonal therapy", "opiates", "azole") stay unread.
"""

from __future__ import annotations

from datetime import date

import pytest

from eligibility import Patient, vocab
from eligibility.evaluate import Options, build_facts, compile_rules, statuses
from eligibility.model import RuleSet
from eligibility.reasons import evaluate
from eligibility.transform import parse_criterion
from eligibility.vocab import concepts

AS_OF = date(2025, 6, 1)

# (class, agent, "M" member / "m" maybe / "-" neither)
MEMBERSHIP = [
    # fresh audit 42: GnRH agonists have other uses, and a trial may require them as ovarian
    # function suppression beside "no prior endocrine therapy"
    ("endocrine_therapy", "goserelin", "m"),
    ("gnrh_agonist", "goserelin", "M"),
    ("endocrine_therapy", "letrozole", "M"),
    ("strong_cyp3a_inhibitor", "itraconazole", "M"),
    ("strong_cyp3a_inhibitor", "clarithromycin", "M"),
    ("strong_cyp3a_inhibitor", "cobicistat", "M"),
    ("strong_cyp3a_inhibitor", "lopinavir_ritonavir", "M"),
    ("strong_cyp3a_inhibitor", "ketoconazole", "m"),  # mostly topical today: route decides
    ("strong_cyp3a_inhibitor", "diltiazem", "m"),  # strong in one FDA table, moderate in others
    ("strong_cyp3a_inhibitor", "tucatinib", "m"),
    ("strong_cyp3a_inhibitor", "verapamil", "-"),
    ("strong_cyp3a_inhibitor", "fluconazole", "-"),
    ("strong_cyp3a_inhibitor", "warfarin", "-"),
    ("cyp3a_inhibitor", "itraconazole", "M"),  # strong: an inhibitor under any reading
    ("cyp3a_inhibitor", "verapamil", "m"),  # moderate: strong-only or all is the trial's reading
    ("cyp3a_inhibitor", "cyclosporine", "m"),
    ("cyp3a_inhibitor", "diltiazem", "m"),
    ("cyp3a_inhibitor", "nilotinib", "m"),
    ("strong_moderate_cyp3a_inhibitor", "verapamil", "M"),
    ("strong_moderate_cyp3a_inhibitor", "diltiazem", "M"),
    ("strong_moderate_cyp3a_inhibitor", "imatinib", "M"),
    ("strong_moderate_cyp3a_inhibitor", "nilotinib", "m"),
    ("moderate_cyp3a_inhibitor", "fluconazole", "M"),
    ("moderate_cyp3a_inhibitor", "diltiazem", "m"),
    ("moderate_cyp3a_inhibitor", "itraconazole", "-"),
    ("strong_cyp3a_inducer", "rifampicin", "M"),
    ("strong_cyp3a_inducer", "fosphenytoin", "M"),
    ("strong_cyp3a_inducer", "enzalutamide", "M"),
    ("strong_cyp3a_inducer", "st_johns_wort", "m"),
    ("strong_cyp3a_inducer", "phenobarbital", "m"),
    ("strong_cyp3a_inducer", "efavirenz", "-"),
    ("cyp3a_inducer", "carbamazepine", "M"),
    ("cyp3a_inducer", "efavirenz", "m"),
    ("cyp3a_inducer", "dexamethasone", "m"),
    ("strong_moderate_cyp3a_inducer", "efavirenz", "M"),
    ("strong_moderate_cyp3a_inducer", "modafinil", "m"),
    ("azole_antifungal", "ketoconazole", "M"),
    ("azole_antifungal", "isavuconazole", "M"),
    ("benzodiazepine", "clonazepam", "M"),
    ("benzodiazepine", "midazolam", "M"),
    ("opioid", "tramadol", "M"),
    ("opioid", "buprenorphine", "M"),
    ("interferon", "peginterferon_alfa_2a", "M"),
    ("interferon", "interferon_beta_1a", "M"),
    ("interferon_alfa", "interferon_beta_1a", "-"),
    ("peginterferon", "peginterferon_beta_1a", "M"),
    ("anticoagulant", "dalteparin", "M"),
    ("anticoagulant", "warfarin", "M"),
    ("anticoagulant", "aspirin", "-"),
    ("doac", "apixaban", "M"),
    ("doac", "argatroban", "-"),
    ("lmwh", "enoxaparin", "M"),
    ("heparin", "enoxaparin", "m"),  # does "heparin" include the LMWHs? the trial's reading
    ("heparin", "heparin", "M"),
    ("vitamin_k_antagonist", "warfarin", "M"),
    ("antiplatelet", "aspirin", "M"),
    ("antiplatelet", "ticagrelor", "M"),
    ("antiplatelet", "warfarin", "-"),
    ("p2y12_inhibitor", "clopidogrel", "M"),
    ("p2y12_inhibitor", "aspirin", "-"),
    ("endocrine_therapy", "letrozole", "M"),
    ("endocrine_therapy", "abiraterone", "M"),
    ("endocrine_therapy", "enzalutamide", "M"),
    ("endocrine_therapy", "megestrol", "m"),
    ("endocrine_therapy", "raloxifene", "m"),
    # the PDQ format files steroids under "Endocrine therapy:" (rule diff, session 21)
    ("endocrine_therapy", "prednisone", "m"),
    ("endocrine_therapy", "conjugated_estrogens", "m"),
    ("aromatase_inhibitor", "tamoxifen", "-"),
    ("serd", "giredestrant", "M"),
    ("endocrine_therapy", "camizestrant", "M"),
    ("antiandrogen", "abiraterone", "-"),
    ("immunosuppressant", "golimumab", "M"),
    ("immunosuppressant", "voclosporin", "M"),
    ("immunosuppressant", "cyclophosphamide", "m"),
    ("immunosuppressant", "alemtuzumab", "m"),
    ("chemotherapy", "cyclophosphamide", "M"),
]


def _membership(rule_id: str, agent: str) -> str:
    if concepts.drug_matches(rule_id, agent):
        return "M"
    return "m" if concepts.drug_may_be(rule_id, agent) else "-"


@pytest.mark.parametrize(("rule_id", "agent", "expected"), MEMBERSHIP)
def test_membership(rule_id: str, agent: str, expected: str) -> None:
    assert _membership(rule_id, agent) == expected


NEW_CLASSES = sorted({r for r, _, _ in MEMBERSHIP} - {"heparin", "chemotherapy"})


def test_every_member_has_a_source() -> None:
    """Each agent of a new class names its source: an ATC code, its own note, or a class note
    that says where the membership comes from."""
    table = concepts._drugs()
    for c in vocab.drugs():
        if c.kind != "drug" or not (table.ancestors[c.id] & set(NEW_CLASSES)):
            continue
        sourced = (
            c.atc
            or c.extra.get("note")
            or any(table.by_id[a].extra.get("note") for a in table.ancestors[c.id] if a != c.id)
        )
        assert sourced, c.id


@pytest.mark.parametrize(
    ("term", "concept"),
    [
        ("strong CYP3A4 inhibitors", "strong_cyp3a_inhibitor"),
        ("strong inhibitors of CYP3A", "strong_cyp3a_inhibitor"),
        ("potent CYP3A4 inhibitors", "cyp3a_inhibitor"),  # older texts: lists hold moderate ones
        ("CYP3A4/5 inducers", "cyp3a_inducer"),
        ("strong or moderate CYP3A4 inducers", "strong_moderate_cyp3a_inducer"),
        ("rifampin", "rifampicin"),
        ("St. John's wort", "st_johns_wort"),
        ("Xarelto", "rivaroxaban"),
        ("NOACs", "doac"),
        ("low molecular weight heparin", "lmwh"),
        ("interferon-alpha", "interferon_alfa"),
        ("Plavix", "clopidogrel"),
        ("LHRH agonists", "gnrh_agonist"),
        ("Zytiga", "abiraterone"),
    ],
)
def test_names_resolve(term: str, concept: str) -> None:
    found = vocab.drug(term)
    assert found is not None and found.id == concept


@pytest.mark.parametrize(
    "term",
    # broader or narrower than any class here, or another meaning: never a drug
    ["hormonal therapy", "hormone therapy", "androgen deprivation therapy", "opiates",
     "narcotics", "azoles", "ASA", "thienopyridines", "dual antiplatelet therapy", "Luminal"],
)  # fmt: skip
def test_words_left_out(term: str) -> None:
    assert vocab.drug(term) is None


def _shape(rule: object) -> dict:
    return rule.model_dump(mode="json", exclude_defaults=True)  # type: ignore[attr-defined]


THERAPY = {"kind": "therapy"}
PHRASINGS = [
    ("exclusion", "Prior treatment with strong CYP3A4 inhibitors",
     {**THERAPY, "agents": ["strong_cyp3a_inhibitor"]}),
    ("exclusion", "Treatment with strong CYP3A4 inhibitors or strong CYP3A4 inducers within 14 days",
     {**THERAPY, "agents": ["strong_cyp3a_inhibitor", "strong_cyp3a_inducer"],
      "within": {"amount": 14.0, "unit": "days"}}),
    ("exclusion", "Treatment with CYP3A4 inhibitors", {**THERAPY, "agents": ["cyp3a_inhibitor"]}),
    ("exclusion", "Prior interferon therapy", {**THERAPY, "agents": ["interferon"]}),
    ("exclusion", "Treatment with warfarin or low molecular weight heparin",
     {**THERAPY, "agents": ["warfarin", "lmwh"]}),
    ("exclusion", "Treatment with anticoagulants or antiplatelet agents",
     {**THERAPY, "agents": ["anticoagulant", "antiplatelet"]}),
    ("exclusion", "Treatment with azole antifungals within 7 days",
     {**THERAPY, "agents": ["azole_antifungal"], "within": {"amount": 7.0, "unit": "days"}}),
    ("exclusion", "Prior treatment with benzodiazepines", {**THERAPY, "agents": ["benzodiazepine"]}),
    ("exclusion", "Prior treatment with opioids", {**THERAPY, "agents": ["opioid"]}),
    ("inclusion", "Prior treatment with an aromatase inhibitor",
     {**THERAPY, "agents": ["aromatase_inhibitor"]}),
    ("exclusion", "Participant has received strong and/or moderate CYP3A inducers within 7 days",
     {**THERAPY, "agents": ["strong_moderate_cyp3a_inducer"],
      "within": {"amount": 7.0, "unit": "days"}}),
    # PDQ lymphoma trial (NCT00002835): a steroid may be what "endocrine therapy" means here
    ("inclusion", "No prior endocrine therapy",
     {"kind": "not", "rule": {**THERAPY, "agents": ["endocrine_therapy"]}}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("section", "text", "expected"), PHRASINGS, ids=[p[1][:50] for p in PHRASINGS]
)
def test_phrasing_becomes_computable(section: str, text: str, expected: dict) -> None:
    assert _shape(parse_criterion(text, section, None, ())) == expected


MANUAL = [
    # "inducers" carries no strength; the window may reach it: evidence, not a decision
    ("exclusion", "Treatment with strong CYP3A4 inhibitors or inducers within 14 days"),
    ("exclusion", "Treatment with hormonal therapy"),
    ("exclusion", "Prior treatment with opiates"),
    ("exclusion", "Treatment with dual antiplatelet therapy"),
    ("inclusion", "Endocrine therapy: Not specified"),
    ("inclusion", "Endocrine therapy"),
    ("exclusion", "Positive interferon gamma release assay (IGRA)"),
]


@pytest.mark.parametrize(("section", "text"), MANUAL, ids=[m[1][:50] for m in MANUAL])
def test_phrasing_stays_manual(section: str, text: str) -> None:
    assert _shape(parse_criterion(text, section, None, ()))["kind"] == "manual"


def _status(section: str, rule: dict, treatments: list[dict]) -> tuple[str, str]:
    rules = RuleSet.model_validate(
        {"trial": {"id": "TDRUG"}, "criteria": [
            {"id": "C1", "section": section, "text": "t", "rule": rule}]}
    )  # fmt: skip
    patient = Patient.model_validate({"id": "p", "treatments": treatments})
    compiled = compile_rules(rules)
    detailed = evaluate(compiled, build_facts(patient, AS_OF, Options()))
    assert statuses(compiled, build_facts(patient, AS_OF, Options())) == [
        c.status for c in detailed.criteria
    ]
    return detailed.criteria[0].status, detailed.criteria[0].reason


STRONG = {**THERAPY, "agents": ["strong_cyp3a_inhibitor"], "within": {"amount": 14, "unit": "days"}}
RECENT = "2025-05-25"
SCREENING = [
    # (section, rule, treatment name, status)
    ("exclusion", STRONG, "itraconazole", "fail"),
    ("exclusion", STRONG, "Sporanox", "fail"),
    ("exclusion", STRONG, "diltiazem", "unknown"),
    ("exclusion", STRONG, "ketoconazole", "unknown"),
    ("exclusion", STRONG, "verapamil", "pass"),
    ("exclusion", {**STRONG, "agents": ["cyp3a_inhibitor"]}, "verapamil", "unknown"),
    ("exclusion", {**STRONG, "agents": ["strong_moderate_cyp3a_inhibitor"]}, "verapamil", "fail"),
    ("exclusion", {**THERAPY, "agents": ["strong_cyp3a_inducer"]}, "rifampin", "fail"),
    ("exclusion", {**THERAPY, "agents": ["strong_cyp3a_inducer"]}, "St John's wort", "unknown"),
    ("exclusion", {**THERAPY, "agents": ["anticoagulant"]}, "Fragmin", "fail"),
    ("exclusion", {**THERAPY, "agents": ["heparin"]}, "enoxaparin", "unknown"),
    ("exclusion", {**THERAPY, "agents": ["antiplatelet"]}, "clopidogrel", "fail"),
    ("exclusion", {**THERAPY, "agents": ["antiplatelet"]}, "apixaban", "pass"),
    ("exclusion", {**THERAPY, "agents": ["opioid"]}, "oxycodone", "fail"),
    ("exclusion", {**THERAPY, "agents": ["benzodiazepine"]}, "lorazepam", "fail"),
    ("exclusion", {**THERAPY, "agents": ["interferon"]}, "Pegasys", "fail"),
    ("exclusion", {**THERAPY, "agents": ["azole_antifungal"]}, "voriconazole", "fail"),
    ("inclusion", {**THERAPY, "agents": ["endocrine_therapy"]}, "letrozole", "pass"),
    ("inclusion", {**THERAPY, "agents": ["endocrine_therapy"]}, "megestrol acetate", "unknown"),
    ("inclusion", {**THERAPY, "agents": ["aromatase_inhibitor"]}, "tamoxifen", "fail"),
    ("inclusion", {"kind": "not", "rule": {**THERAPY, "agents": ["endocrine_therapy"]}},
     "prednisone", "unknown"),
    ("inclusion", {"kind": "not", "rule": {**THERAPY, "agents": ["endocrine_therapy"]}},
     "anastrozole", "fail"),
    ("inclusion", {"kind": "not", "rule": {**THERAPY, "agents": ["immunosuppressant"]}},
     "golimumab", "fail"),
    ("inclusion", {"kind": "not", "rule": {**THERAPY, "agents": ["immunosuppressant"]}},
     "cyclophosphamide", "unknown"),
]  # fmt: skip


@pytest.mark.parametrize(("section", "rule", "name", "expected"), SCREENING)
def test_screening(section: str, rule: dict, name: str, expected: str) -> None:
    status, reason = _status(section, rule, [{"name": name, "start": RECENT}])
    assert status == expected, reason


# composition errors the rule diffs found, left to the lead's compose.py: (section, text,
# treatment, why); each is a strict xfail that turns into a pass when the parser is fixed
COMPOSITION = [
    pytest.param(
        "inclusion",
        "No previous use of St. John's Wort. Subjects with prior history of St. John's Wort use"
        " must abstain from use for 30 days prior to study participation.",
        {"name": "St John's wort", "start": "2024-01-01", "end": "2025-04-20"},
        id="relaxing-second-sentence",  # fixed: criterion._named_again (session 22)
    ),
    pytest.param(
        "exclusion",
        "Patients treated with monoamine oxidase inhibitors, tricyclic antidepressants or"
        " beta-blockers as regular use",
        {"name": "phenelzine", "start": "2010-01-01", "end": "2010-06-01"},
        id="qualifier-closing-the-list",  # fixed: "regular" is a time word
    ),
]


@pytest.mark.parametrize(("section", "text", "treatment"), COMPOSITION)
def test_composition_left_to_the_parser(section: str, text: str, treatment: dict) -> None:
    rule = _shape(parse_criterion(text, section, None, ()))
    status, _ = _status(section, rule, [treatment])
    assert status != "fail"
