"""The lexicon: names resolve, codes are well-formed, groupings hold, and risky aliases do not."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from eligibility import vocab
from eligibility.vocab import (
    analyte,
    analyte_matches,
    code_matches,
    condition,
    condition_matches,
    describe,
    drug,
    drug_matches,
    fold,
    ordinal_rank,
    prednisone_equivalent_mg,
    qualitative_value,
)

# --- analytes -----------------------------------------------------------------------------

ANALYTE_NAMES = [
    ("SGPT", "alt"),
    ("S.G.P.T.", "alt"),
    ("alanine transaminase", "alt"),
    ("SGOT", "ast"),
    ("ASAT", "ast"),
    ("Tbil", "total_bilirubin"),
    ("T.bili", "total_bilirubin"),
    ("bilirubin", "total_bilirubin"),
    ("direct bilirubin", "direct_bilirubin"),
    ("ANC", "neutrophils"),
    ("Neutrophils", "neutrophils"),
    ("neutrophile granulocytes", "neutrophils"),
    ("Hgb", "hemoglobin"),
    ("haemoglobin", "hemoglobin"),
    ("PLT", "platelets"),
    ("thrombocytes", "platelets"),
    ("leucocytes", "wbc"),
    ("WBC", "wbc"),
    ("ALC", "lymphocytes"),
    ("serum albumin", "albumin"),
    ("alk phos", "alp"),
    ("γ-GT", "ggt"),
    ("LDH", "ldh"),
    ("serum creatinine", "creatinine"),
    ("CrCl", "creatinine_clearance"),
    ("eGFR", "egfr"),
    ("BUN", "bun"),
    ("24-hour urine protein", "urine_protein_24h"),
    ("UPCR", "upcr"),
    ("urine protein", "urine_protein_dipstick"),
    ("International standardization ratio", "inr"),
    ("PT-INR", "inr"),
    ("prothrombin time", "pt"),
    ("aPTT", "aptt"),
    ("TSH", "tsh"),
    ("T3", "t3"),
    ("T4", "t4"),
    ("FT4", "free_t4"),
    ("free T3", "free_t3"),
    ("AFP", "afp"),
    ("CA 19-9", "ca19_9"),
    ("CA199", "ca19_9"),
    ("CEA", "cea"),
    ("PSA", "psa"),
    ("HBV DNA", "hbv_dna"),
    ("HBvDNA", "hbv_dna"),
    ("HBsAg", "hbsag"),
    ("HCV RNA", "hcv_rna"),
    ("anti-HCV", "hcv_antibody"),
    ("HIV1/2 antibody", "hiv_antibody"),
    ("blood glucose", "glucose"),
    ("HbA1c", "hba1c"),
    ("glycated haemoglobin", "hba1c"),
    ("K+", "potassium"),
    ("serum sodium", "sodium"),
    ("calcium", "calcium"),
    ("magnesium", "magnesium"),
    ("lipase", "lipase"),
    ("amylase", "amylase"),
    ("troponin I", "troponin_i"),
    ("hs-TnT", "troponin_t"),
    ("LVEF", "lvef"),
    ("QTc", "qtc"),
    ("QTcF", "qtcf"),
    ("systolic blood pressure", "systolic_bp"),
    ("diastolic BP", "diastolic_bp"),
    ("heart rate", "heart_rate"),
    ("body weight", "body_weight"),
    ("height", "body_height"),
    ("BMI", "bmi"),
    # LOINC codes
    ("1742-6", "alt"),
    ("1920-8", "ast"),
    ("1975-2", "total_bilirubin"),
    ("14631-6", "total_bilirubin"),
    ("2160-0", "creatinine"),
    ("718-7", "hemoglobin"),
    ("751-8", "neutrophils"),
    ("777-3", "platelets"),
    ("6301-6", "inr"),
    ("3024-7", "free_t4"),
    ("4548-4", "hba1c"),
    ("5196-1", "hbsag"),
]


@pytest.mark.parametrize(("term", "expected"), ANALYTE_NAMES)
def test_analyte_name(term: str, expected: str) -> None:
    found = analyte(term)
    assert found is not None and found.id == expected


# Short forms that mean something else in criteria text must not resolve to an analyte.
RISKY_ANALYTE_ALIASES = [
    "TB",  # tuberculosis, not total bilirubin
    "Ca",  # cancer as often as calcium
    "K",  # thousand
    "NA",  # not applicable
    "Na",
    "Mg",  # milligram when lower-cased
    "P",
    "LD",  # limited disease
    "UA",  # urinalysis, unstable angina
    "wt",  # wild type
    "BP",  # systolic or diastolic?
    "EF",
    "G/L",
    "HR",  # hazard ratio
]


@pytest.mark.parametrize("term", RISKY_ANALYTE_ALIASES)
def test_risky_alias_does_not_resolve(term: str) -> None:
    assert analyte(term) is None


def test_lexicon_size_and_sources() -> None:
    all_analytes = vocab.analytes()
    assert len(all_analytes) >= 40
    panels = {a.panel for a in all_analytes}
    assert {"haematology", "liver", "renal", "coagulation", "thyroid", "tumour_marker"} <= panels
    assert {"viral", "metabolic", "cardiac", "vital"} <= panels
    for a in all_analytes:
        assert a.source, a.id
        assert a.category in {"lab", "vital", "measure"}, a.id
        assert a.scale in {"Qn", "Ord"}, a.id


def _loinc_check_digit(number: str) -> int:
    """LOINC mod-10 check digit (the Luhn scheme: double every other digit from the right)."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d // 10 + d % 10
        total += d
    return (10 - total % 10) % 10


def test_loinc_codes_are_well_formed_and_unique() -> None:
    seen: dict[str, str] = {}
    for a in vocab.analytes():
        for code in a.loinc:
            m = re.fullmatch(r"(\d{1,6})-(\d)", code)
            assert m, (a.id, code)
            assert _loinc_check_digit(m.group(1)) == int(m.group(2)), (a.id, code)
            assert seen.setdefault(code, a.id) == a.id, f"{code} in {seen[code]} and {a.id}"


def test_loinc_check_digit_algorithm() -> None:
    # known codes from the LOINC table: the algorithm itself is tested, not only the data
    assert _loinc_check_digit("2160") == 0
    assert _loinc_check_digit("718") == 7
    assert _loinc_check_digit("1742") == 6
    assert _loinc_check_digit("14631") == 6


@pytest.mark.parametrize(
    ("name", "entries"),
    [
        ("analytes", lambda: [(a.id, (a.id, a.name, *a.synonyms)) for a in vocab.analytes()]),
        ("conditions", lambda: [(c.id, (c.id, c.name, *c.synonyms)) for c in vocab.conditions()]),
        ("drugs", lambda: [(c.id, (c.id, c.name, *c.synonyms)) for c in vocab.drugs()]),
    ],
)
def test_no_term_names_two_concepts(name: str, entries) -> None:  # type: ignore[no-untyped-def]
    owners: dict[str, set[str]] = defaultdict(set)
    for cid, terms in entries():
        for term in terms:
            owners[fold(term)].add(cid)
    clashes = {k: v for k, v in owners.items() if len(v) > 1}
    assert not clashes, f"{name}: {clashes}"


def test_analyte_parents() -> None:
    assert analyte_matches("troponin", "troponin_i")
    assert analyte_matches("qtc", "qtcf")
    assert not analyte_matches("qtcf", "qtc")  # a generic QTc is not a Fridericia QTc
    assert not analyte_matches("troponin_i", "troponin_t")


QUALITATIVE = [
    ("hbsag", "Positive", "positive", 2),
    ("hbsag", "pos", "positive", 2),
    ("hbsag", "Reactive", "positive", 2),
    ("hbsag", "+", "positive", 2),
    ("hbsag", "negative", "negative", 0),
    ("hbsag", "Non-reactive", "negative", 0),
    ("hbsag", "not detected", "negative", 0),
    ("hiv_antibody", "equivocal", "indeterminate", 1),
    ("urine_protein_dipstick", "neg", "negative", 0),
    ("urine_protein_dipstick", "trace", "trace", 1),
    ("urine_protein_dipstick", "±", "trace", 1),
    ("urine_protein_dipstick", "1+", "1+", 2),
    ("urine_protein_dipstick", "++", "2+", 3),
    ("urine_protein_dipstick", "3+", "3+", 4),
]


@pytest.mark.parametrize(("analyte_id", "text", "value", "rank"), QUALITATIVE)
def test_qualitative_values(analyte_id: str, text: str, value: str, rank: int) -> None:
    assert qualitative_value(analyte_id, text) == value
    assert ordinal_rank(analyte_id, text) == rank


def test_qualitative_value_only_for_qualitative_tests() -> None:
    assert qualitative_value("alt", "positive") is None
    assert qualitative_value("hbsag", "maybe") is None
    assert analyte("HBsAg").qualitative and analyte("HBsAg").unit is None  # type: ignore[union-attr]
    assert not analyte("ALT").qualitative  # type: ignore[union-attr]


# --- conditions ---------------------------------------------------------------------------

# Terms as the seed trials write them -> condition id
SEED_CONDITIONS = [
    ("Portal vein tumor thrombi", "portal_vein_tumor_thrombus"),
    ("liver metastases", "liver_metastases"),
    ("central nervous system metastasis", "cns_metastases"),
    ("autoimmune disease", "autoimmune_disease"),
    ("autoimmune diseases", "autoimmune_disease"),
    ("liver diseases", "liver_disease"),
    ("hepatitis B virus", "hbv_infection"),
    ("HCV", "hcv_infection"),
    ("hepatitis D virus", "hdv_infection"),
    ("hepatocellular carcinoma", "hepatocellular_carcinoma"),
    ("mixed hepatocellular carcinoma", "combined_hepatocellular_cholangiocarcinoma"),
    ("non-melanoma skin cancer", "non_melanoma_skin_cancer"),
    ("cervical carcinoma in situ", "cervical_carcinoma_in_situ"),
    ("thyroid papillary carcinoma", "papillary_thyroid_carcinoma"),
    ("Active tuberculosis infection", "tuberculosis"),
    ("TB", "tuberculosis"),
    ("hypothyroidism", "hypothyroidism"),
    ("interstitial lung disease", "interstitial_lung_disease"),
    ("(non-infectious) pneumonia", "pneumonitis"),
    ("Active infections", "active_infection"),
    ("Human immunodeficiency virus", "hiv_infection"),
    ("psychotropic drug abuse", "drug_use_disorder"),  # alcohol is not a psychotropic drug
    ("hypertension", "hypertension"),
    ("ascites", "ascites"),
    ("hepatic encephalopathy", "hepatic_encephalopathy"),
    ("Gilbert syndrome", "gilbert_syndrome"),
    ("sclerosing cholangitis", "sclerosing_cholangitis"),
    ("mental illness", "mental_disorder"),
    ("intrahepatic cholangiocarcinoma", "intrahepatic_cholangiocarcinoma"),
    ("DCIS", "ductal_carcinoma_in_situ"),
    ("congestive heart failure", "heart_failure"),
    ("myocardial infarction", "myocardial_infarction"),
    ("CVA", "stroke"),
]


@pytest.mark.parametrize(("term", "expected"), SEED_CONDITIONS)
def test_condition_name(term: str, expected: str) -> None:
    found = condition(term)
    assert found is not None and found.id == expected


AUTOIMMUNE_MEMBERS = [
    "rheumatoid arthritis",
    "SLE",
    "systemic lupus erythematosus",
    "psoriasis",
    "inflammatory bowel disease",
    "Crohn's disease",
    "ulcerative colitis",
    "multiple sclerosis",
    "type 1 diabetes",
    "Hashimoto's thyroiditis",
    "autoimmune thyroiditis",
    "Graves' disease",
    "vitiligo",
    "Sjögren's syndrome",
    "Sjogren syndrome",
    "vasculitis",
    "Wegener's granulomatosis",
    "myasthenia gravis",
    "scleroderma",
    "dermatomyositis",
    "autoimmune hepatitis",
    "coeliac disease",
    "Guillain-Barré syndrome",
]


@pytest.mark.parametrize("term", AUTOIMMUNE_MEMBERS)
def test_autoimmune_member(term: str) -> None:
    found = condition(term)
    assert found is not None, term
    assert condition_matches("autoimmune_disease", found.id)


@pytest.mark.parametrize(
    "term", ["hypothyroidism", "type 2 diabetes", "hepatitis B", "tuberculosis", "asthma"]
)
def test_not_autoimmune(term: str) -> None:
    found = condition(term)
    assert found is None or not condition_matches("autoimmune_disease", found.id)


# rule concept, ICD-10 code on the profile, matches?
CODE_MATCHES = [
    ("hbv_infection", "B18.1", True),
    ("hbv_infection", "B181", True),  # dot dropped by the export
    ("hbv_infection", "b18.1", True),
    ("hbv_infection", "B18.0", True),
    ("hdv_infection", "B18.0", True),  # hepatitis B with delta agent is both
    ("hcv_infection", "B18.0", False),
    ("viral_hepatitis", "B18.2", True),
    ("liver_disease", "B18.2", True),  # viral hepatitis is a liver disease
    ("hiv_infection", "B24", True),
    ("hiv_infection", "Z21", True),
    ("tuberculosis", "A15.0", True),
    ("tuberculosis", "Z22.7", False),  # latent infection is not active tuberculosis
    ("malignancy", "C22.0", True),
    ("malignancy", "C96.9", True),
    ("malignancy", "C7A.00", True),  # ICD-10-CM neuroendocrine, sorts inside C00-C96
    ("malignancy", "D06.9", False),  # carcinoma in situ is not malignant
    ("malignancy", "D37.0", False),
    ("non_melanoma_skin_cancer", "C44.91", True),
    ("non_melanoma_skin_cancer", "C43.9", False),
    ("thyroid_carcinoma", "C73", True),
    ("papillary_thyroid_carcinoma", "C73", False),  # histology is not in ICD-10
    ("carcinoma_in_situ", "D05.10", True),
    ("ductal_carcinoma_in_situ", "D05.1", True),
    ("cervical_carcinoma_in_situ", "D06.0", True),
    ("autoimmune_disease", "M05.79", True),
    ("autoimmune_disease", "E06.3", True),
    ("autoimmune_disease", "E10.9", True),
    ("autoimmune_disease", "E03.9", False),
    ("autoimmune_disease", "E11.9", False),
    ("cns_metastases", "C79.31", True),
    ("cns_metastases", "C79.32", True),
    ("cns_metastases", "C78.7", False),
    ("interstitial_lung_disease", "J84.10", True),
    ("pneumonitis", "J70.0", True),
    ("solid_organ_transplant", "Z94.0", True),
    ("solid_organ_transplant", "Z94.84", False),
    ("stem_cell_transplant", "Z94.84", True),
    ("stroke", "I63.9", True),
    ("cerebrovascular_disease", "G45.9", True),
    ("heart_failure", "I50.9", True),
    ("hypertension", "I15.0", True),
    ("hypertension", "I20.0", False),
    ("ascites", "R18.8", True),
    ("hepatic_encephalopathy", "K76.82", True),
    ("hepatic_encephalopathy", "K72.90", False),  # hepatic failure without coma
    ("malignancy", "not a code", False),
    ("no_such_rule", "C22.0", False),
]


@pytest.mark.parametrize(("rule_id", "code", "expected"), CODE_MATCHES)
def test_icd10_code_matches(rule_id: str, code: str, expected: bool) -> None:
    assert code_matches(rule_id, code) is expected


CODE_LOOKUP = [
    ("B18.1", "chronic_hepatitis_b"),
    ("C22.0", "hepatocellular_carcinoma"),
    ("C22.1", "intrahepatic_cholangiocarcinoma"),
    ("C50.9", "invasive_breast_cancer"),  # the deeper of the two concepts coded C50
    ("C38.4", "malignancy"),  # no pleural-cancer concept: the range catches it
    ("E06.3", "autoimmune_hypothyroidism"),
    ("K51.90", "ulcerative_colitis"),
    ("C79.32", "cns_metastases"),  # dural metastases too: leptomeningeal is only a "may be"
    ("I21.1", "st_elevation_myocardial_infarction"),  # fresh audit 35: STEMI a concept
    ("I22.9", "st_elevation_myocardial_infarction"),  # subsequent STEMI, unspecified site
    ("I21.4", "non_st_elevation_myocardial_infarction"),
    ("I21.9", "acute_myocardial_infarction"),  # unspecified: STEMI or NSTEMI, a maybe of each
]


@pytest.mark.parametrize(("code", "expected"), CODE_LOOKUP)
def test_most_specific_concept_for_a_code(code: str, expected: str) -> None:
    found = condition(code)
    assert found is not None and found.id == expected


def test_icd10_patterns_are_well_formed_and_parents_exist() -> None:
    ids = {c.id for c in vocab.conditions()}
    code = r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?"
    for c in vocab.conditions():
        for pattern in c.codes:
            assert re.fullmatch(rf"{code}(-{code})?", pattern), (c.id, pattern)
        for p in c.parents:
            assert p in ids, (c.id, p)


# --- drugs --------------------------------------------------------------------------------

# agent (any name) -> classes it must belong to
DRUG_CLASSES = [
    ("toripalimab", ["pd1_antibody", "pd1_pdl1_inhibitor", "immune_checkpoint_inhibitor"]),
    ("JS001", ["pd1_antibody"]),
    ("Tuoyi", ["pd1_antibody"]),
    ("sintilimab", ["pd1_antibody"]),
    ("Tyvyt", ["pd1_antibody"]),
    ("camrelizumab", ["pd1_antibody"]),
    ("SHR-1210", ["pd1_antibody"]),
    ("tislelizumab", ["pd1_antibody"]),
    ("penpulimab", ["pd1_antibody"]),
    ("serplulimab", ["pd1_antibody"]),
    ("zimberelimab", ["pd1_antibody"]),
    ("Keytruda", ["pd1_antibody"]),
    ("Opdivo", ["pd1_antibody"]),
    ("sugemalimab", ["pdl1_antibody", "immune_checkpoint_inhibitor"]),
    ("envafolimab", ["pdl1_antibody"]),
    ("adebrelimab", ["pdl1_antibody"]),
    ("Tecentriq", ["pdl1_antibody"]),
    ("durvalumab", ["pdl1_antibody"]),
    ("ipilimumab", ["ctla4_antibody", "immune_checkpoint_inhibitor"]),
    ("tremelimumab", ["ctla4_antibody"]),
    ("cadonilimab", ["pd1_antibody", "ctla4_antibody"]),
    ("lenvatinib", ["multikinase_inhibitor", "tyrosine_kinase_inhibitor", "antiangiogenic"]),
    ("leventinib", ["multikinase_inhibitor"]),  # the seed record's misspelling
    ("Lenvima", ["multikinase_inhibitor"]),
    ("sorafenib", ["multikinase_inhibitor"]),
    ("regorafenib", ["multikinase_inhibitor"]),
    ("cabozantinib", ["multikinase_inhibitor"]),
    ("donafenib", ["multikinase_inhibitor"]),
    ("apatinib", ["vegfr_tki", "tyrosine_kinase_inhibitor", "antiangiogenic"]),
    ("rivoceranib", ["vegfr_tki"]),
    ("bevacizumab", ["vegf_antibody", "antiangiogenic"]),
    ("ramucirumab", ["vegf_antibody"]),
    ("gemcitabine", ["chemotherapy"]),
    ("oxaliplatin", ["platinum_compound", "chemotherapy"]),
    ("capecitabine", ["fluoropyrimidine", "chemotherapy"]),
    ("cisplatin", ["platinum_compound"]),
    ("5-FU", ["fluoropyrimidine"]),
    ("docetaxel", ["taxane", "chemotherapy"]),
    ("Abraxane", ["taxane"]),
    ("GEMOX", ["chemotherapy"]),
    (
        "prednisone",
        ["systemic_corticosteroid"],
    ),  # only "may be" immunosuppressive (the dose decides)
    ("dexamethasone", ["systemic_corticosteroid"]),
    ("tacrolimus", ["immunosuppressant"]),
    ("ciclosporin", ["immunosuppressant"]),
    ("infliximab", ["tnf_inhibitor", "immunosuppressant"]),
    ("entecavir", ["hbv_antiviral"]),
    ("warfarin", ["anticoagulant"]),
]


@pytest.mark.parametrize(("term", "classes"), DRUG_CLASSES)
def test_drug_classes(term: str, classes: list[str]) -> None:
    found = drug(term)
    assert found is not None, term
    for cls in classes:
        assert drug_matches(cls, found.id), (term, cls)


NOT_IN_CLASS = [
    ("atezolizumab", "pd1_antibody"),
    ("nivolumab", "pdl1_antibody"),
    ("lenvatinib", "chemotherapy"),
    ("bevacizumab", "tyrosine_kinase_inhibitor"),
    ("gemcitabine", "gemox"),  # gemcitabine alone is not GEMOX
    ("leucovorin", "chemotherapy"),
    ("prednisone", "chemotherapy"),
    ("toripalimab", "ctla4_antibody"),
]


@pytest.mark.parametrize(("agent", "cls"), NOT_IN_CLASS)
def test_not_in_class(agent: str, cls: str) -> None:
    assert not drug_matches(cls, agent)


def test_regimen_exposes_its_components() -> None:
    assert drug_matches("gemcitabine", "gemox")
    assert drug_matches("oxaliplatin", "gemox")
    assert drug_matches("platinum_compound", "gemox")
    assert drug_matches("fluorouracil", "folfirinox")
    assert drug("GemOx").components == ("gemcitabine", "oxaliplatin")  # type: ignore[union-attr]


# Seed criterion wording -> class ids
SEED_DRUG_TERMS = [
    ("PD-1 antibody", "pd1_antibody"),
    ("PD1 antibody", "pd1_antibody"),
    ("PD-L1 antibody", "pdl1_antibody"),
    ("PDL1 antibody", "pdl1_antibody"),
    ("PD-L2 antibody", "pdl2_antibody"),
    ("CTLA-4 antibodies", "ctla4_antibody"),
    ("CTLA4 antibody", "ctla4_antibody"),
    ("chemotherapy", "chemotherapy"),
    ("systemic hormones", "systemic_corticosteroid"),
    ("immunosuppressive therapy", "immunosuppressant"),
    ("PD-L1 inhibitor", "pdl1_antibody"),
    ("anti-PD-1/PD-L1", "pd1_pdl1_inhibitor"),
    ("TKI", "tyrosine_kinase_inhibitor"),
]


@pytest.mark.parametrize(("term", "expected"), SEED_DRUG_TERMS)
def test_drug_class_names(term: str, expected: str) -> None:
    found = drug(term)
    assert found is not None and found.id == expected


@pytest.mark.parametrize(
    ("code", "agent"),
    [("L01FF02", "pembrolizumab"), ("L01FF13", "toripalimab"), ("L01EX08", "lenvatinib"),
     ("H02AB02", "dexamethasone"), ("L01BA01", "methotrexate"), ("l01bc05", "gemcitabine")],
)  # fmt: skip
def test_atc_lookup(code: str, agent: str) -> None:
    found = drug(code)
    assert found is not None and found.id == agent


def test_atc_codes_are_well_formed() -> None:
    for d in vocab.drugs():
        for code in (d.atc, *d.extra.get("atc_codes", ())):  # type: ignore[misc]
            if code is not None:
                assert re.fullmatch(r"[A-Z]\d{2}[A-Z]{2}\d{2}", code), (d.id, code)
        ids = {x.id for x in vocab.drugs()}
        for p in (*d.parents, *d.components):
            assert p in ids, (d.id, p)


def test_counts() -> None:
    agents = [d for d in vocab.drugs() if d.kind == "drug"]
    classes = [d for d in vocab.drugs() if d.kind == "drug_class"]
    assert len(agents) >= 80 and len(classes) >= 15
    assert len(vocab.conditions()) >= 60


# BNF: prednisolone 5 mg = dexamethasone 750 ug = hydrocortisone 20 mg = methylprednisolone 4 mg
PREDNISONE_EQUIVALENTS = [
    ("prednisone", 10, 10.0),
    ("prednisolone", 5, 5.0),
    ("methylprednisolone", 4, 5.0),
    ("methylprednisolone", 16, 20.0),
    ("dexamethasone", 0.75, 5.0),
    ("dexamethasone", 4, 26.67),
    ("hydrocortisone", 20, 5.0),
    ("hydrocortisone", 30, 7.5),
    ("betamethasone", 0.75, 5.0),
    ("triamcinolone", 4, 5.0),
    ("cortisone", 25, 5.0),
    ("Decadron", 1.5, 10.0),  # by brand name
]


@pytest.mark.parametrize(("agent", "dose", "expected"), PREDNISONE_EQUIVALENTS)
def test_prednisone_equivalent(agent: str, dose: float, expected: float) -> None:
    assert prednisone_equivalent_mg(agent, dose) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("agent", ["tacrolimus", "toripalimab", "systemic_corticosteroid", "xyz"])
def test_no_prednisone_equivalent(agent: str) -> None:
    assert prednisone_equivalent_mg(agent, 10) is None


# --- describe -----------------------------------------------------------------------------


def test_describe_analyte() -> None:
    [entry] = describe("SGPT")
    assert entry["kind"] == "analyte" and entry["id"] == "alt"
    assert "1742-6" in entry["codes"]["LOINC"] and entry["unit"] == "U/L"
    assert entry["source"]


def test_describe_drug_shows_classes() -> None:
    [entry] = describe("Keytruda")
    assert entry["kind"] == "drug" and entry["id"] == "pembrolizumab"
    assert entry["codes"]["ATC"] == ["L01FF02"]
    assert {"pd1_antibody", "immune_checkpoint_inhibitor"} <= set(entry["parents"])


def test_describe_condition_and_code() -> None:
    [by_name] = describe("HCC")
    [by_code] = describe("C22.0")
    assert by_name["id"] == by_code["id"] == "hepatocellular_carcinoma"
    assert "malignancy" in by_name["parents"]
    [group] = describe("autoimmune disease")
    assert "vitiligo" in group["members"]


def test_describe_refused_unit() -> None:
    [entry] = describe("G/L")
    assert entry["kind"] == "unit" and entry["id"] is None and "giga" in entry["problem"]


def test_describe_unit_and_regimen_and_nothing() -> None:
    [entry] = describe("µmol/L")
    assert entry == {**entry, "kind": "unit", "id": "umol/L"}
    [regimen] = describe("GEMOX")
    assert regimen["kind"] == "regimen" and regimen["components"] == ["gemcitabine", "oxaliplatin"]
    assert describe("no such thing") == []


# --- `eligibility vocab` end to end -------------------------------------------------------


def test_cli_vocab_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from eligibility.cli import main

    assert main(["vocab", "Tbil", "--format", "json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["id"] == "total_bilirubin" and entry["molar_mass_g_per_mol"] == 584.66


@pytest.mark.parametrize(
    ("term", "code", "shown"),
    [("SGOT", 0, "aspartate"), ("sintilimab", 0, "pd1_antibody"), ("G/L", 1, "giga"),
     ("frobnicate", 1, "does not resolve")],
)  # fmt: skip
def test_cli_vocab_table(term: str, code: int, shown: str) -> None:
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "eligibility", "vocab", term],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
        check=False,
    )
    assert run.returncode == code, run.stderr
    assert shown in run.stdout


def test_cli_vocab_summary(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from eligibility.cli import main

    assert main(["vocab", "--format", "json"]) == 0
    counts = {row["kind"]: row["count"] for row in json.loads(capsys.readouterr().out)}
    assert counts["analyte"] >= 40 and counts["drug"] >= 80


@pytest.mark.parametrize(
    "term", ["other malignancy", "other malignancies", "other malignant tumors"]
)
def test_other_malignancy_is_not_plain_malignancy(term: str) -> None:
    """'Other' excludes the trial's own cancer; as a plain synonym it would exclude every patient."""
    assert vocab.condition(term) is None


def test_fasting_glucose_is_not_any_glucose() -> None:
    """A rule on fasting glucose must not be answered by a random glucose (audit: after.yaml)."""
    assert vocab.analyte("fasting blood glucose") is None
    assert vocab.analyte("FPG") is None
