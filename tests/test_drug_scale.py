"""The drug vocabulary at real scale (issue 13, session 22): 400+ agents and the classes the
corpus's criteria name, each complete for its meaning.

A treatment the vocabulary does not know is "not a member" of any class, so an incomplete
class lets a class exclusion pass a patient on an unlisted member: completing classes is a
soundness fix. An agent with a second use outside the class's meaning (lamivudine for hepatitis
B, Truvada as prophylaxis, a prostacyclin filed with the antiplatelets) is a maybe: unknown with
the question for a person, never a pass or a fail.
"""

from __future__ import annotations

import pytest

from eligibility import vocab
from eligibility.transform import parse_criterion
from eligibility.vocab import concepts
from test_drug_classes import RECENT, THERAPY, _membership, _shape, _status


def test_counts() -> None:
    agents = [d for d in vocab.drugs() if d.kind == "drug"]
    classes = [d for d in vocab.drugs() if d.kind == "drug_class"]
    assert len(agents) >= 400 and len(classes) >= 90


def test_every_agent_of_a_class_has_a_source() -> None:
    """An ATC code, its own note, or a class note that names where membership comes from."""
    table = concepts._drugs()
    for c in vocab.drugs():
        if c.kind != "drug" or not (c.parents or c.maybe_class):
            continue
        sourced = (
            c.atc
            or c.extra.get("note")
            or any(table.by_id[a].extra.get("note") for a in table.ancestors[c.id] if a != c.id)
        )
        assert sourced, c.id


# (class, agent, "M" member / "m" maybe / "-" neither)
MEMBERSHIP = [
    # antiretrovirals: HIV-only agents decide; PrEP, hepatitis B and booster uses are maybes
    ("antiretroviral", "zidovudine", "M"),
    ("antiretroviral", "efavirenz", "M"),
    ("antiretroviral", "dolutegravir", "M"),
    ("antiretroviral", "lopinavir_ritonavir", "M"),
    ("antiretroviral", "biktarvy", "M"),  # bictegravir decides
    ("antiretroviral", "lamivudine", "m"),  # Epivir-HBV
    ("antiretroviral", "tenofovir_disoproxil", "m"),
    ("antiretroviral", "truvada", "m"),  # pre-exposure prophylaxis
    ("antiretroviral", "cabotegravir", "m"),  # Apretude
    ("antiretroviral", "ritonavir", "m"),
    ("antiretroviral", "nirmatrelvir_ritonavir", "m"),  # Paxlovid is COVID-19 therapy
    ("antiretroviral", "cobicistat", "m"),
    ("antiretroviral", "entecavir", "-"),
    ("hiv_nrti", "lamivudine", "M"),
    ("hiv_protease_inhibitor", "darunavir", "M"),
    ("hiv_protease_inhibitor", "ritonavir", "m"),
    ("hiv_protease_inhibitor", "boceprevir", "-"),  # a hepatitis C protease inhibitor
    ("hbv_antiviral", "zidovudine", "-"),
    ("hcv_daa", "sofosbuvir", "M"),
    ("hcv_daa", "epclusa", "M"),
    ("hcv_daa", "ribavirin", "-"),
    # kinase inhibitors by target
    ("egfr_tki", "osimertinib", "M"),
    ("egfr_tki", "aumolertinib", "M"),
    ("egfr_tki", "lapatinib", "m"),
    ("egfr_tki", "cetuximab", "-"),
    ("egfr_inhibitor", "cetuximab", "M"),
    ("egfr_inhibitor", "osimertinib", "M"),
    ("tyrosine_kinase_inhibitor", "selpercatinib", "M"),
    ("tyrosine_kinase_inhibitor", "osimertinib", "M"),
    ("tyrosine_kinase_inhibitor", "tofacitinib", "-"),  # an arthritis JAK inhibitor
    ("jak_inhibitor", "tofacitinib", "M"),
    ("jak_inhibitor", "ruxolitinib", "M"),
    ("jak_inhibitor", "deucravacitinib", "m"),
    ("alk_inhibitor", "lorlatinib", "M"),
    ("alk_inhibitor", "entrectinib", "m"),
    ("btk_inhibitor", "pirtobrutinib", "M"),
    ("mtor_inhibitor", "sirolimus", "M"),
    ("mtor_inhibitor", "gedatolisib", "m"),
    ("pi3k_inhibitor", "alpelisib", "M"),
    ("pi3k_inhibitor", "capivasertib", "-"),  # an AKT inhibitor
    ("braf_inhibitor", "sorafenib", "-"),
    # HER2, CDK4/6, PARP, conjugates
    ("her2_targeted", "trastuzumab", "M"),
    ("her2_targeted", "trastuzumab_emtansine", "M"),
    ("her2_targeted", "tucatinib", "M"),
    ("her2_targeted", "afatinib", "m"),
    ("trastuzumab", "trastuzumab_emtansine", "m"),
    ("trastuzumab", "phesgo", "M"),
    ("cdk46_inhibitor", "palbociclib", "M"),
    ("cdk46_inhibitor", "ribociclib", "M"),
    ("cdk46_inhibitor", "trilaciclib", "m"),  # marrow protection only
    ("parp_inhibitor", "olaparib", "M"),
    ("parp_inhibitor", "akeega", "M"),
    ("parp_inhibitor", "iniparib", "m"),
    ("antibody_drug_conjugate", "sacituzumab_govitecan", "M"),
    ("chemotherapy", "trastuzumab_deruxtecan", "m"),  # many trials list ADCs apart
    ("chemotherapy", "trastuzumab", "-"),
    ("immune_checkpoint_inhibitor", "tiragolumab", "M"),
    ("immune_checkpoint_inhibitor", "volrustomig", "M"),
    ("anti_cd20", "ocrelizumab", "M"),
    ("anti_cd20", "rituximab", "M"),
    ("proteasome_inhibitor", "bortezomib", "M"),
    ("imide_drug", "lenalidomide", "M"),
    # supportive care
    ("g_csf", "pegfilgrastim", "M"),
    ("g_csf", "sargramostim", "-"),
    ("colony_stimulating_factor", "sargramostim", "M"),
    ("esa", "darbepoetin", "M"),
    ("esa", "roxadustat", "m"),
    ("epoetin", "epoetin_beta", "M"),
    ("epoetin_alfa", "epoetin_beta", "-"),  # "epoetin alfa" names one of them
    ("tpo_receptor_agonist", "eltrombopag", "M"),
    ("bisphosphonate", "zoledronic_acid", "M"),
    ("bisphosphonate", "denosumab", "-"),
    ("nsaid", "ibuprofen", "M"),
    ("nsaid", "celecoxib", "M"),
    ("nsaid", "aspirin", "m"),
    ("cox2_inhibitor", "ibuprofen", "-"),
    ("ppi", "omeprazole", "M"),
    ("h2_antagonist", "famotidine", "M"),
    ("statin", "atorvastatin", "M"),
    ("ssri", "fluvoxamine", "M"),
    ("maoi", "selegiline", "M"),
    ("maoi", "linezolid", "m"),
    ("five_ht3_antagonist", "ondansetron", "M"),
    ("somatostatin_analogue", "octreotide_lar", "M"),
    ("octreotide", "octreotide_lar", "M"),
    ("octreotide_lar", "octreotide", "m"),  # recorded broader than asked,
    ("amphotericin_b", "liposomal_amphotericin_b", "M"),
    ("liposomal_amphotericin_b", "amphotericin_b", "m"),
    ("aciclovir", "valaciclovir", "m"),  # a prodrug
    ("aminoglycoside", "tobramycin", "M"),
    # completed classes
    ("azole_antifungal", "clotrimazole", "m"),  # mostly topical; the troche inhibits CYP3A
    ("azole_antifungal", "miconazole", "m"),
    ("immunosuppressant", "canakinumab", "M"),
    ("immunosuppressant", "eculizumab", "m"),
    ("immunosuppressant", "lenalidomide", "m"),
    ("immunosuppressant", "hydroxychloroquine", "-"),
    ("systemic_corticosteroid", "paramethasone", "M"),
    ("systemic_corticosteroid", "budesonide", "m"),
    ("systemic_corticosteroid", "fludrocortisone", "m"),
    ("systemic_corticosteroid", "fluticasone", "-"),
    ("anticoagulant", "betrixaban", "M"),
    ("anticoagulant", "danaparoid", "M"),
    ("anticoagulant", "alteplase", "-"),
    ("heparin", "danaparoid", "-"),
    ("lmwh", "bemiparin", "M"),
    ("thrombolytic", "tenecteplase", "M"),
    ("antiplatelet", "triflusal", "M"),
    ("antiplatelet", "aggrenox", "M"),
    ("antiplatelet", "iloprost", "m"),  # a prostacyclin for pulmonary hypertension
    ("aromatase_inhibitor", "aminoglutethimide", "M"),
    ("endocrine_therapy", "lasofoxifene", "m"),
    ("strong_cyp3a_inhibitor", "viekira", "M"),  # ritonavir-boosted paritaprevir
    ("strong_cyp3a_inhibitor", "troleandomycin", "m"),
    ("cyp3a_inhibitor", "troleandomycin", "m"),
    ("strong_cyp3a_inhibitor", "azithromycin", "-"),
    ("cyp3a_inducer", "nevirapine", "m"),
    ("opioid", "loperamide", "-"),
]


@pytest.mark.parametrize(("rule_id", "agent", "expected"), MEMBERSHIP)
def test_membership(rule_id: str, agent: str, expected: str) -> None:
    assert _membership(rule_id, agent) == expected


@pytest.mark.parametrize(
    ("term", "concept"),
    [
        ("AZT", "zidovudine"), ("ddI", "didanosine"), ("dideoxycytidine", "zalcitabine"),
        ("D4T", "stavudine"), ("ansamycin", "rifabutin"), ("Bactrim", "co_trimoxazole"),
        ("TMP-SMX", "co_trimoxazole"), ("Herceptin", "trastuzumab"), ("T-DM1",
        "trastuzumab_emtansine"), ("DS-8201a", "trastuzumab_deruxtecan"), ("TAK-788",
        "mobocertinib"), ("CDK 4/6 inhibitors", "cdk46_inhibitor"), ("PARPi", "parp_inhibitor"),
        ("EGFR-TKI", "egfr_tki"), ("anti-HER2 therapy", "her2_targeted"), ("G-CSF", "g_csf"),
        ("myeloid growth factors", "colony_stimulating_factor"), ("ESAs", "esa"),
        ("NSAIDs", "nsaid"), ("proton pump inhibitors", "ppi"), ("MAOIs", "maoi"),
        ("HMG-CoA reductase inhibitors", "statin"), ("NNRTI", "hiv_nnrti"),
        ("integrase inhibitors", "hiv_integrase_inhibitor"), ("Neulasta", "pegfilgrastim"),
        ("Sandostatin LAR", "octreotide_lar"), ("AmBisome", "liposomal_amphotericin_b"),
        ("biphosphonates", "bisphosphonate"), ("rHuEPO", "epoetin"),
    ],
)  # fmt: skip
def test_names_resolve(term: str, concept: str) -> None:
    found = vocab.drug(term)
    assert found is not None and found.id == concept


@pytest.mark.parametrize(
    "term",
    # broader, narrower or another meaning than any class here: never a drug
    ["HAART", "cART", "ART", "protease inhibitor", "protease inhibitors", "nucleoside analogue",
     "nucleoside analog", "DAA", "direct-acting antiviral", "ADC", "IMiD", "IMiDs",
     "immunomodulatory drugs", "growth factors", "hematopoietic growth factors", "SSA", "tPA",
     "tissue plasminogen activator", "pegylated G-CSF", "high-dose IL-2", "TAO", "CSF"],
)  # fmt: skip
def test_words_left_out(term: str) -> None:
    assert vocab.drug(term) is None


PHRASINGS = [
    # taken from the shared corpus (rule diff against the branch point, session 22)
    ("exclusion", "Prior antiretroviral therapy.", {**THERAPY, "agents": ["antiretroviral"]}),
    ("inclusion", "No prior antiretroviral treatment.",
     {"kind": "not", "rule": {**THERAPY, "agents": ["antiretroviral"]}}),
    ("exclusion", "AZT or ddC within 2 weeks prior to study entry.",
     {**THERAPY, "agents": ["zidovudine", "zalcitabine"], "within": {"amount": 2.0, "unit": "weeks"}}),
    ("exclusion", "Previous therapy with an HIV protease inhibitor.",
     {**THERAPY, "agents": ["hiv_protease_inhibitor"]}),
    ("exclusion", "Prior treatment with a CDK4/6 inhibitor", {**THERAPY, "agents": ["cdk46_inhibitor"]}),
    ("exclusion", "Prior treatment with PARP inhibitor.", {**THERAPY, "agents": ["parp_inhibitor"]}),
    ("exclusion", "Previous exposure to any anti-HER2 treatment.",
     {**THERAPY, "agents": ["her2_targeted"]}),
    ("inclusion", "No prior trastuzumab (Herceptin)",
     {"kind": "not", "rule": {**THERAPY, "agents": ["trastuzumab"]}}),
    ("exclusion", "G-CSF or GM-CSF within the past 6 months.",
     {**THERAPY, "agents": ["g_csf", "gm_csf"], "within": {"amount": 6.0, "unit": "months"}}),
    ("exclusion", "Myeloid growth factors within 7 days prior to treatment start",
     {**THERAPY, "agents": ["colony_stimulating_factor"], "within": {"amount": 7.0, "unit": "days"}}),
    ("exclusion", "Prior exposure to mTOR inhibitors", {**THERAPY, "agents": ["mtor_inhibitor"]}),
    ("exclusion", "Prior treatment with an EGFR TKI", {**THERAPY, "agents": ["egfr_tki"]}),
    ("exclusion", "Prior treatment with bisphosphonates.", {**THERAPY, "agents": ["bisphosphonate"]}),
    ("exclusion", "Prior treatment with proton pump inhibitors within 14 days",
     {**THERAPY, "agents": ["ppi"], "within": {"amount": 14.0, "unit": "days"}}),
]  # fmt: skip


MANUAL = [
    ("exclusion", "Patients on HAART"),  # a combination, narrower than one drug
    ("exclusion", "Prior treatment with protease inhibitors"),  # HIV or hepatitis C
    ("exclusion", "Prior nucleoside analogue therapy"),  # gemcitabine is one too
    ("exclusion", "Prior direct-acting antiviral therapy"),  # nirmatrelvir is one too
    ("exclusion", "Treatment with growth factors within 14 days"),  # ESAs, TPO agonists too
    ("exclusion", "Previous treatment with a cyclin-dependent kinase inhibitor"),
    ("exclusion", "Vancomycin allergy"),  # an allergy is no exposure
    ("exclusion", "Known hypersensitivity to trastuzumab"),
    ("inclusion", "Stable antiretroviral therapy for at least 12 weeks"),
    # the parenthesis names whom the criterion concerns (corpus NCT00001024): stays for a person
    ("exclusion", "History of peripheral neuropathy (patients with prior AZT treatment only)."),
]


READINGS = [*PHRASINGS, *((section, text, None) for section, text in MANUAL)]


@pytest.mark.parametrize(("section", "text", "rule"), READINGS, ids=[r[1][:50] for r in READINGS])
def test_reading(section: str, text: str, rule: dict | None) -> None:
    """The expected rule, or None where the words must stay for a person."""
    shape = _shape(parse_criterion(text, section, None, ()))
    assert shape == rule if rule is not None else shape["kind"] == "manual"


ARV = {**THERAPY, "agents": ["antiretroviral"]}
NO_ARV = {"kind": "not", "rule": ARV}
NO_TRASTUZUMAB = {"kind": "not", "rule": {**THERAPY, "agents": ["trastuzumab"]}}
SCREENING = [
    # (section, rule, treatment name, status)
    ("exclusion", ARV, "Biktarvy", "fail"),
    ("exclusion", ARV, "AZT", "fail"),
    ("exclusion", ARV, "Truvada", "unknown"),  # prophylaxis or therapy
    ("exclusion", ARV, "Paxlovid", "unknown"),  # ritonavir-boosted, for COVID-19
    ("exclusion", ARV, "Epivir-HBV", "unknown"),
    ("exclusion", ARV, "entecavir", "pass"),
    # open classes: a name the vocabulary does not know may be a member; a procedure is not
    ("exclusion", ARV, "HAART", "unknown"),
    ("inclusion", NO_ARV, "HAART", "unknown"),
    ("exclusion", ARV, "hepatectomy (R0)", "pass"),
    ("exclusion", {**THERAPY, "agents": ["chemotherapy"]}, "TACE with doxorubicin-eluting beads", "fail"),  # names doxorubicin
    ("exclusion", {**THERAPY, "agents": ["chemotherapy"]}, "chemoembolization", "unknown"),
    ("exclusion", {**THERAPY, "agents": ["didanosine"]}, "HAART", "pass"),
    ("exclusion", {**THERAPY, "agents": ["didanosine"]}, "Videx EC", "fail"),
    ("exclusion", {**THERAPY, "agents": ["imatinib"]}, "imatinib mesylate", "fail"),
    ("exclusion", {**THERAPY, "agents": ["paclitaxel"]}, "carboplatin/paclitaxel", "fail"),
    ("exclusion", {**THERAPY, "agents": ["paclitaxel"]}, "TC (paclitaxel, carboplatin)", "fail"),
    ("exclusion", {**THERAPY, "agents": ["foscarnet"]}, "IV foscarnet", "fail"),
    ("exclusion", {**THERAPY, "agents": ["foscarnet"]}, "foscarnet (Foscavir)", "fail"),
    ("exclusion", {**THERAPY, "agents": ["paclitaxel"]}, "weekly paclitaxel", "fail"),
    ("exclusion", {**THERAPY, "agents": ["vegfr_tki"]}, "anlotinib", "fail"),
    ("exclusion", {**THERAPY, "agents": ["vegfr_tki"]}, "ramucirumab", "unknown"),
    ("exclusion", {**THERAPY, "agents": ["filgrastim"]}, "Neulasta Onpro", "unknown"),
    ("inclusion", NO_ARV, "dolutegravir", "fail"),
    ("inclusion", NO_ARV, "Descovy", "unknown"),
    ("inclusion", NO_ARV, "valganciclovir", "pass"),
    ("inclusion", NO_TRASTUZUMAB, "Herceptin", "fail"),
    ("inclusion", NO_TRASTUZUMAB, "Kadcyla", "unknown"),
    ("inclusion", NO_TRASTUZUMAB, "pertuzumab", "pass"),
    ("exclusion", {**THERAPY, "agents": ["cdk46_inhibitor"]}, "Ibrance", "fail"),
    ("exclusion", {**THERAPY, "agents": ["cdk46_inhibitor"]}, "trilaciclib", "unknown"),
    ("exclusion", {**THERAPY, "agents": ["epoetin_alfa"]}, "NeoRecormon", "pass"),
    ("exclusion", {**THERAPY, "agents": ["esa"]}, "NeoRecormon", "fail"),
    ("exclusion", {**THERAPY, "agents": ["g_csf"], "within": {"amount": 14, "unit": "days"}},
     "Neulasta", "fail"),
    ("exclusion", {**THERAPY, "agents": ["nsaid"]}, "Advil", "fail"),
    ("exclusion", {**THERAPY, "agents": ["nsaid"]}, "aspirin", "unknown"),
    ("exclusion", {**THERAPY, "agents": ["systemic_corticosteroid"]}, "budesonide", "unknown"),
    ("exclusion", {**THERAPY, "agents": ["systemic_corticosteroid"]}, "fluticasone", "pass"),
    ("exclusion", {**THERAPY, "agents": ["azole_antifungal"]}, "clotrimazole", "unknown"),
    ("exclusion", {**THERAPY, "agents": ["strong_cyp3a_inhibitor"]}, "Viekira Pak", "fail"),
    ("exclusion", {**THERAPY, "agents": ["immune_checkpoint_inhibitor"]}, "tiragolumab", "fail"),
    ("exclusion", {**THERAPY, "agents": ["anticoagulant"]}, "alteplase", "pass"),
    ("inclusion", {"kind": "not", "rule": {**THERAPY, "agents": ["immunosuppressant"]}},
     "eculizumab", "unknown"),
]  # fmt: skip


@pytest.mark.parametrize(("section", "rule", "name", "expected"), SCREENING)
def test_screening(section: str, rule: dict, name: str, expected: str) -> None:
    status, reason = _status(section, rule, [{"name": name, "start": RECENT}])
    assert status == expected, reason
