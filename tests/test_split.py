"""Splitting blocks into criteria: the seeds one by one, real list shapes, invariants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility.ingest import Block, corpus_text, parse_record_text, read_record
from eligibility.split import Segment, looks_like_lead_in, split_block, split_record

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
MARKER = re.compile(r"\\?[-*+•·‣◦▪▫●○■□➢►–—]|\(?[0-9A-Za-z]{1,6}(?:\.[0-9]{1,3})*\\?[.)]")


def split_text(text: str, section: str = "inclusion") -> list[Segment]:
    return split_block(text, Block(section=section, start=0, end=len(text)))  # type: ignore[arg-type]


def criteria(text: str) -> list[tuple[str | None, str]]:
    return [(s.label, s.text) for s in split_text(text) if s.kind == "criterion"]


def assert_accounted(text: str, block: Block, segs: list[Segment]) -> None:
    """Spans in order, inside the block, disjoint; outside them only spaces and list markers."""
    pos = block.start
    for s in segs:
        assert text[s.start : s.end] == s.text
        assert s.text and not s.text[0].isspace() and not s.text[-1].isspace()
        assert block.start <= s.start < s.end <= block.end
        gap = text[pos : s.start]
        assert all(MARKER.fullmatch(t) for t in gap.split()), (gap, s)
        pos = s.end
    assert all(MARKER.fullmatch(t) for t in text[pos : block.end].split())


# --------------------------------------------------------------------------- seeds

CLASSIC_EXPECTED = {
    "inclusion": [
        ("heading", None, "Inclusion Criteria:"),
        ("criterion", None, "HCC with at least one protocol defined r"),
        ("criterion", None, "BICR confirmed no resdual tumor lesions "),
        ("criterion", None, "Child-Puch score, Class A;"),
        ("criterion", None, "ECOG score is 0;"),
    ],
    "exclusion": [
        ("heading", None, "Exclusion Criteria:"),
        ("criterion", None, "Patients previously received PD-1 antibo"),
        ("criterion", None, "Portal vein tumor thrombi or liver metas"),
        ("criterion", None, "With symptoms of central nervous system "),
        ("criterion", None, "With any history of active autoimmune di"),
        ("criterion", None, "Known liver diseases with clinical signi"),
        # Ends with ":" but nothing follows it, so it is a criterion, not a lead-in.
        ("criterion", None, "Patients infected by hepatitis B virus ("),
        # Record text inside the criteria area: kept (as a criterion) so every word is accounted.
        ("criterion", None, "Other protocol defined inclusion/exclusi"),
    ],
}

REGISTRY_EXPECTED = {
    "inclusion": [
        ("heading", None, "Inclusion Criteria"),
        ("criterion", "1)", "Sign written informed consent"),
        ("criterion", "2)", "Male or female patients aged 18-70;"),
        ("criterion", "3)", "ECOG score 0 points, Child-Pugh rating A"),
        ("criterion", "4)", "Pathological diagnosis by biopsy: Intrah"),
        ("criterion", "5)", "Resectable ICC patients with high risk f"),
        ("lead_in", "6)", "The functional indicators of important o"),
        ("criterion", "1.", "Neutrophils≥1.5\\*109/L;"),
        ("criterion", None, "platelets≥90\\*109/L;"),
        ("criterion", None, "hemoglobin≥9g/dl;"),
        ("criterion", None, "serum albumin≥3.5g/dl;"),
        ("criterion", "2.", "Coagulation function: International stan"),
        ("criterion", "3.", "T3 and T4 do not exceed the normal upper"),
        ("criterion", "4.", "Bilirubin ≤ 1.5 times the upper limit of"),
        ("criterion", None, "ALT and AST ≤ 3 times the upper limit of"),
        ("criterion", "5.", "Serum creatinine ≤ 1.5 times the upper l"),
        ("criterion", "7)", "The subject has at least 1 measurable li"),
        ("criterion", "8)", "For women who are not breastfeeding or p"),
    ],
    "exclusion": [
        ("heading", None, "Exclusion Criteria"),
        ("criterion", "1)", "Pathological diagnosis of hepatocellular"),
        ("criterion", "2)", "Patients who relapse after surgery, have"),
        ("criterion", "3)", "Past or simultaneous suffering from othe"),
        ("criterion", "4)", "Active tuberculosis infection. Patients "),
        ("criterion", "5)", "Suffer from active, known or suspected a"),
        ("criterion", "6)", "Past interstitial lung disease, or (non-"),
        ("criterion", "7)", "Long-term use of systemic hormones (dose"),
        ("criterion", "8)", "Active infections that require systemic "),
        ("criterion", "9)", "Human immunodeficiency virus (HIV, HIV1/"),
        ("criterion", "10)", "A history of psychotropic drug abuse, al"),
        ("criterion", "11)", "Significant clinically significant bleed"),
        ("criterion", "12)", "Suspected of being allergic to study dru"),
        ("criterion", "13)", "Suffer from hypertension, and cannot be "),
        ("criterion", "14)", "After antiviral therapy, HBvDNA\\>104 cop"),
        ("criterion", "15)", "Accompanied by ascites, hepatic encephal"),
        ("criterion", "16)", "Other factors judged by the investigator"),
    ],
}


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        ("NCT03859128_ctgov_classic.txt", CLASSIC_EXPECTED),
        ("NCT04669496_registry_page.txt", REGISTRY_EXPECTED),
    ],
)
def test_seed_splits_into_expected_criteria(seed: str, expected: dict[str, list]) -> None:
    [record] = read_record(SEEDS / seed)
    segs = split_record(record)
    for section, rows in expected.items():
        got = [(s.kind, s.label, s.text[:40]) for s in segs if s.section == section]
        assert got == rows
    for block in record.blocks:
        assert_accounted(record.text, block, [s for s in segs if s.section == block.section])


def test_registry_seed_context_and_full_texts() -> None:
    [record] = read_record(SEEDS / "NCT04669496_registry_page.txt")
    segs = split_record(record)
    lead = next(s for s in segs if s.kind == "lead_in")
    assert lead.text == (
        "The functional indicators of important organs meet the following requirements"
    )
    subs = [s for s in segs if s.parent is not None and segs[s.parent] == lead]
    assert len(subs) == 9
    assert all(s.context == lead.text for s in subs)
    by_label = {s.label: s for s in segs if s.section == "inclusion" and s.label}
    assert by_label["5."].text == (
        "Serum creatinine ≤ 1.5 times the upper limit of normal, creatinine clearance ≥ 60ml/min;"
    )
    assert by_label["7)"].context is None and segs[by_label["7)"].parent or 0].kind == "heading"
    assert by_label["7)"].text.endswith("(according to RECIST1.1);")
    exclusion_2 = next(s for s in segs if s.section == "exclusion" and s.label == "2)")
    assert exclusion_2.text.endswith("in other clinical trials 30 days before screening;")


# --------------------------------------------------------------------------- shapes

SPLIT_CASES = [
    pytest.param(
        "- Age ≥ 18 years\n- ECOG 0-1\n* Platelets ≥ 100 × 10^9/L\n• HIV negative",
        [(None, "Age ≥ 18 years"), (None, "ECOG 0-1"), (None, "Platelets ≥ 100 × 10^9/L"),
         (None, "HIV negative")],
        id="bullets",
    ),
    pytest.param(
        "1. Age ≥ 18\n2) ECOG 0-1\n(3) Child-Pugh A\na) sub a\nb) sub b",
        [("1.", "Age ≥ 18"), ("2)", "ECOG 0-1"), ("(3)", "Child-Pugh A"), ("a)", "sub a"),
         ("b)", "sub b")],
        id="labels",
    ),
    pytest.param(
        "i. first\nii. second\niii. third",
        [("i.", "first"), ("ii.", "second"), ("iii.", "third")],
        id="roman",
    ),
    pytest.param(
        "1) Age 18-70 years 2) ECOG 0 3) Bilirubin ≤ 1.5 ULN",
        [("1)", "Age 18-70 years"), ("2)", "ECOG 0"), ("3)", "Bilirubin ≤ 1.5 ULN")],
        id="inline-after-words",
    ),
    pytest.param(
        "1. ANC ≥ 1.5 × 10^9/L; 2. RECIST1.1 lesion. 3. T3 and T4 normal",
        [("1.", "ANC ≥ 1.5 × 10^9/L;"), ("2.", "RECIST1.1 lesion."), ("3.", "T3 and T4 normal")],
        id="inline-dots-after-punctuation",
    ),
    pytest.param(
        "1) Toxicity resolved (to grade 1 or 2) within 3 months",
        [("1)", "Toxicity resolved (to grade 1 or 2) within 3 months")],
        id="no-split-inside-parentheses",
    ),
    pytest.param(
        "1. Toxicity ≤ grade 2. Patients with HIV1/2 are excluded 3 months after 10^9/L",
        [("1.", "Toxicity ≤ grade 2. Patients with HIV1/2 are excluded 3 months after 10^9/L")],
        id="no-split-number-after-word",
    ),
    pytest.param(
        "1) Consent 3) Age ≥ 18",
        [("1)", "Consent 3) Age ≥ 18")],
        id="labels-must-increase-by-one",
    ),
    pytest.param(
        "- Adequate organ function: 1) ANC ≥ 1500/µL; 2) platelets ≥ 100000/µL",
        [("1)", "ANC ≥ 1500/µL;"), ("2)", "platelets ≥ 100000/µL")],
        id="inline-list-after-colon",
    ),
    pytest.param(
        "- Patients with either 1) cirrhosis or 2) portal hypertension",
        [(None, "Patients with either 1) cirrhosis or 2) portal hypertension")],
        id="no-new-inline-list-without-colon",
    ),
    pytest.param(
        "- Hemoglobin ≥ 9 g/dL; platelets ≥ 75 × 10^9/L; ANC ≥ 1.5 × 10^9/L",
        [(None, "Hemoglobin ≥ 9 g/dL;"), (None, "platelets ≥ 75 × 10^9/L;"),
         (None, "ANC ≥ 1.5 × 10^9/L")],
        id="semicolons-three-pieces-top-level",
    ),
    pytest.param(
        "- Prior PD-1 antibody; participated in other trials within 30 days",
        [(None, "Prior PD-1 antibody; participated in other trials within 30 days")],
        id="semicolons-two-pieces-top-level-kept",
    ),
    pytest.param(
        "- Prior chemotherapy; or radiotherapy within 4 weeks; or surgery within 4 weeks",
        [(None, "Prior chemotherapy; or radiotherapy within 4 weeks; or surgery within 4 weeks")],
        id="semicolons-or-pieces-kept",
    ),
    pytest.param(
        "- HBV DNA < 500 IU/mL (tested twice; repeated at week 2; confirmed by PCR) at baseline",
        [(None, "HBV DNA < 500 IU/mL (tested twice; repeated at week 2; confirmed by PCR) at "
                "baseline")],
        id="semicolons-in-parentheses-kept",
    ),
    pytest.param(
        "- Labs:\n  - AST/ALT ≤ 3 × ULN; ≤ 5.0 × ULN in patients with liver metastases\n"
        "  - INR ≤ 1.5; PTT ≤ 1.5 × ULN",
        [(None, "AST/ALT ≤ 3 × ULN; ≤ 5.0 × ULN in patients with liver metastases"),
         (None, "INR ≤ 1.5;"), (None, "PTT ≤ 1.5 × ULN")],
        id="NCT04449549-semicolon-piece-opening-with-a-limit-continues",
    ),
    pytest.param(
        "- History of other malignancies, except for basal cell carcinoma of the skin; "
        "non-muscle invasive bladder cancer; malignancy treated with curative intent",
        [(None, "History of other malignancies, except for basal cell carcinoma of the skin; "
                "non-muscle invasive bladder cancer; malignancy treated with curative intent")],
        id="NCT05707273-semicolon-pieces-after-an-exception-kept",
    ),
    pytest.param(
        "- Labs as follows:\n  - WBC ≥ 3000; Hb ≥ 9\n  - INR ≤ 1.5; x",
        [(None, "WBC ≥ 3000;"), (None, "Hb ≥ 9"), (None, "INR ≤ 1.5; x")],
        id="semicolons-sub-item-pieces-need-two-words",
    ),
    pytest.param(
        "- Serum creatinine &lte; 2.0 mg/dL or clearance &gte; 40 ml/min (if creatinine &gt; 2)",
        [(None, "Serum creatinine &lte; 2.0 mg/dL or clearance &gte; 40 ml/min (if creatinine "
                "&gt; 2)")],
        id="semicolons-of-html-entities-kept",
    ),
    pytest.param(
        "- Systolic pressure & GT; 150 mmHg; ER positive & GT; 10%; bilirubin &LE; 1.5 mg/dL",
        [(None, "Systolic pressure & GT; 150 mmHg;"), (None, "ER positive & GT; 10%;"),
         (None, "bilirubin &LE; 1.5 mg/dL")],
        id="semicolons-split-around-misspelt-entities",
    ),
    pytest.param(
        "- Histologically confirmed carcinoma of the\nliver, not amenable to surgery\n- ECOG 0",
        [(None, "Histologically confirmed carcinoma of the\nliver, not amenable to surgery"),
         (None, "ECOG 0")],
        id="wrapped-line-continues",
    ),
    pytest.param(
        "Age 18-75 years.\nEvidence of Cushing syndrome.",
        [(None, "Age 18-75 years."), (None, "Evidence of Cushing syndrome.")],
        id="plain-lines",
    ),
    pytest.param(
        "1\\) Sign consent 2\\) Age ≥ 18; 3) ECOG 0",
        [("1)", "Sign consent"), ("2)", "Age ≥ 18;"), ("3)", "ECOG 0")],
        id="markdown-escaped-labels",
    ),
    # the "No" of the first ";" piece may reach the later ones (NCT00001629, fresh audit 85)
    pytest.param(
        "No patients with unstable angina; Recent myocardial infarction; Pregnancy, lactation;",
        [(None, "No patients with unstable angina; Recent myocardial infarction; Pregnancy, "
          "lactation;")],
        id="negated-first-piece-keeps-the-line",
    ),
    pytest.param(
        "No prior chemotherapy; no radiotherapy; no surgery",
        [(None, "No prior chemotherapy;"), (None, "no radiotherapy;"), (None, "no surgery")],
        id="each-piece-negated-splits",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SPLIT_CASES)
def test_split_shapes(text: str, expected: list[tuple[str | None, str]]) -> None:
    assert criteria(text) == expected
    assert_accounted(text, Block(section="inclusion", start=0, end=len(text)), split_text(text))


def test_nci_headings_and_lead_ins_give_context() -> None:
    text, blocks = corpus_text(
        "DISEASE CHARACTERISTICS:\n-  Histologically confirmed breast cancer\n"
        "PATIENT CHARACTERISTICS:\nAge:\n-  18 and over\nHematopoietic:\n"
        "-  WBC at least 3,000/mm^3\n-  Platelet count at least 100,000/mm^3\n"
        "PRIOR CONCURRENT THERAPY:\n-  No prior chemotherapy",
        "",
    )
    segs = split_block(text, blocks[0])
    rows = [(s.kind, s.text, s.context) for s in segs]
    assert rows == [
        ("heading", "Inclusion Criteria:", None),
        ("heading", "DISEASE CHARACTERISTICS:", None),
        ("criterion", "Histologically confirmed breast cancer", None),
        ("heading", "PATIENT CHARACTERISTICS:", None),
        ("lead_in", "Age:", None),
        ("criterion", "18 and over", "Age:"),
        ("lead_in", "Hematopoietic:", None),
        ("criterion", "WBC at least 3,000/mm^3", "Hematopoietic:"),
        ("criterion", "Platelet count at least 100,000/mm^3", "Hematopoietic:"),
        ("heading", "PRIOR CONCURRENT THERAPY:", None),
        ("criterion", "No prior chemotherapy", None),
    ]


def test_nested_lists_by_indentation_and_style() -> None:
    text = (
        "1. Adequate function, defined as:\n"
        "   a. ANC ≥ 1500\n"
        "   b. Any of the following:\n"
        "      - Platelets ≥ 100000\n"
        "      - Hb ≥ 9\n"
        "2. ECOG 0-1\n"
    )
    segs = split_text(text)
    got = [(s.kind, s.label, s.text, segs[s.parent].text if s.parent is not None else None)
           for s in segs]  # fmt: skip
    assert got == [
        ("lead_in", "1.", "Adequate function, defined as:", None),
        ("criterion", "a.", "ANC ≥ 1500", "Adequate function, defined as:"),
        ("lead_in", "b.", "Any of the following:", "Adequate function, defined as:"),
        ("criterion", None, "Platelets ≥ 100000", "Any of the following:"),
        ("criterion", None, "Hb ≥ 9", "Any of the following:"),
        ("criterion", "2.", "ECOG 0-1", None),
    ]


def test_heading_with_text_on_the_same_line() -> None:
    segs = split_text("Inclusion Criteria: 1) Age ≥ 18 2) ECOG 0-1")
    assert [(s.kind, s.label, s.text) for s in segs] == [
        ("heading", None, "Inclusion Criteria:"),
        ("criterion", "1)", "Age ≥ 18"),
        ("criterion", "2)", "ECOG 0-1"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Adequate organ function as defined by the following:", True),
        ("meet the following requirements", True),
        ("at least one of the following criteria", True),
        ("Hepatic:", True),
        ("Age ≥ 18 years", False),
        ("ALT ≤ 3 × ULN, following surgery", False),
    ],
)
def test_looks_like_lead_in(text: str, expected: bool) -> None:
    assert looks_like_lead_in(text) is expected


def test_api_v2_record_splits_into_sub_items() -> None:
    path = Path(__file__).parent / "fixtures" / "ingest" / "api_v2_study.json"
    [record] = read_record(path)
    segs = split_record(record)
    rows = [(s.section, s.kind, s.text[:50]) for s in segs]
    assert rows == [
        ("inclusion", "heading", "Inclusion Criteria:"),
        ("inclusion", "criterion", "Age 18 to 75 years"),
        ("inclusion", "criterion", "ECOG performance status 0-1"),
        ("inclusion", "lead_in", "Adequate organ function, defined as:"),
        ("inclusion", "criterion", "Absolute neutrophil count ≥ 1.5 × 10⁹/L"),
        ("inclusion", "criterion", "Platelets ≥ 100 × 10⁹/L"),
        ("inclusion", "criterion", "Total bilirubin ≤ 1.5 × ULN;"),
        ("inclusion", "criterion", "ALT and AST ≤ 3 × ULN"),
        ("exclusion", "heading", "Exclusion Criteria:"),
        ("exclusion", "criterion", "Prior treatment with an anti-PD-1, anti-PD-L1 or a"),
        ("exclusion", "criterion", "Active autoimmune disease requiring systemic treat"),
        ("exclusion", "criterion", "Pregnant or breastfeeding"),
    ]  # fmt: skip
    lead = segs[3]
    assert all(s.context == lead.text for s in segs[4:8])


def test_split_record_parents_index_the_combined_list() -> None:
    [record] = parse_record_text("Inclusion Criteria:\n- A\nExclusion Criteria:\n- B", "x.txt")
    segs = split_record(record)
    assert [s.parent for s in segs] == [None, 0, None, 2]


# --------------------------------------------------------------------------- invariants

LIST_ALPHABET = st.sampled_from(
    ["\n", "\n\n", " ", "  ", "\t", "- ", "* ", "• ", "1.", "2.", "3)", "1)", "2)", "(1)", "(2)",
     "a)", "b)", "i.", "ii.", "\\)", "\\*", ";", ":", "(", ")", "Age", "ECOG", "1.5", "10^9/L",
     "RECIST1.1", "T3", "following", "Inclusion Criteria:", "DISEASE CHARACTERISTICS:", "Age:",
     "meet the following requirements", "x", "É", "≥", "\r"]
)  # fmt: skip
list_texts = st.lists(LIST_ALPHABET, max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), list_texts), st.data())
def test_every_character_is_accounted_for(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    block = Block(section="exclusion", start=start, end=end)
    segs = split_block(text, block)
    assert_accounted(text, block, segs)
    for i, s in enumerate(segs):
        assert s.section == "exclusion"
        assert s.parent is None or 0 <= s.parent < i


def test_split_of_a_pathological_run_on_line_accounts_for_it() -> None:
    """100 KB of list markers, numbers and parentheses splits into segments inside the block.
    Linear time is measured in bench/linearity.py (no wall-clock limit in a unit test)."""
    unit = "1) a (b 2) c; 1. 1.5 10^9/L 3) (1) a) i. ii) "
    text = "- " + unit * (100_000 // len(unit))
    block = Block(section="inclusion", start=0, end=len(text))
    segments = split_block(text, block)
    assert segments and all(0 <= s.start <= s.end <= len(text) for s in segments)


@pytest.mark.parametrize(
    "unit",
    [
        "x: 1) ",  # a new inline list after every colon
        "a)\n",  # a new lettered level on every line
        "Hepatic:\n",  # lead-ins nested under lead-ins
        "(",  # unbalanced parentheses before every candidate
        "*" * 50 + " 2) ",
    ],
)
def test_nesting_depth_stays_bounded(unit: str) -> None:
    """Nesting is capped, which keeps every search over the stack O(1); the time this takes on
    50 KB is measured in bench/linearity.py (no wall-clock limit in a unit test)."""
    from eligibility.split import _MAX_DEPTH

    text = unit * (50_000 // len(unit)) + " 2) end"
    segs = split_block(text, Block(section="inclusion", start=0, end=len(text)))
    assert segs or not text.strip()

    def depth(i: int) -> int:
        d = 0
        while segs[i].parent is not None:
            i, d = segs[i].parent, d + 1  # type: ignore[assignment]
        return d

    assert max((depth(i) for i in range(len(segs))), default=0) <= _MAX_DEPTH


def test_short_label_before_a_heading_is_a_heading_not_a_criterion() -> None:
    segs = split_text("Prior Medication:\nExcluded:\n-  Antibiotics.\n-  Patients infected by HBV:")
    assert [(s.kind, s.text) for s in segs] == [
        ("heading", "Prior Medication:"),
        ("heading", "Excluded:"),
        ("criterion", "Antibiotics."),
        ("criterion", "Patients infected by HBV:"),  # a colon with nothing under it stays
    ]


# --------------------------------------------------------------------------- joined lines
# Real corpus text (quoted verbatim; NCT id in the case id). A criterion ending or starting with
# "or"/"and" is one criterion with its neighbour; a line that only continues the one above joins
# it; where a join is unclear both are `linked` (manual), never computable on their own.

JOIN_CASES = [
    pytest.param(
        "inclusion",
        "Renal:\n-  Creatinine no greater than 1.5 mg/dL OR\n-  Creatinine clearance at least 60 mL/min\n-  No history of chronic renal insufficiency",
        [("Creatinine no greater than 1.5 mg/dL OR\n-  Creatinine clearance at least 60 mL/min", False),
         ("No history of chronic renal insufficiency", False)],
        id="NCT00002697-bulleted-or",
    ),
    pytest.param(
        "inclusion",
        "Performance status:\n-  ECOG 0-2 OR\n-  Karnofsky 70-100%\nLife expectancy:\n-  At least 3 months",
        [("ECOG 0-2 OR\n-  Karnofsky 70-100%", False), ("At least 3 months", False)],
        id="NCT00002475-performance-or",
    ),
    pytest.param(
        "inclusion",
        "Platelets at least 100,000.\nHemoglobin greater than 9 g/dL OR;\nHematocrit greater than 27 g/dL.\nHepatic:",
        [("Platelets at least 100,000.", False),
         ("Hemoglobin greater than 9 g/dL OR;\nHematocrit greater than 27 g/dL.", False)],
        id="NCT00001427-or-semicolon-plain-lines",
    ),
    pytest.param(
        "inclusion",
        "-  IIB - including only those patients with autoimmune thrombocytopenia (platelet count = or < 100000 platelets/mm3).\n-  OR Lymphopenia (lymphocyte count = or < 1000 cells/mm3).\n-  OR Helper cell lymphopenia (helper cells < the mean of normals).",
        [("IIB - including only those patients with autoimmune thrombocytopenia (platelet count = or < 100000 platelets/mm3).\n-  OR Lymphopenia (lymphocyte count = or < 1000 cells/mm3).\n-  OR Helper cell lymphopenia (helper cells < the mean of normals).", False)],
        id="NCT00002023-leading-or",
    ),
    pytest.param(
        "inclusion",
        "Lung biopsy (transbronchial, surgical, transthoracic) judged to be diagnostic by the Tissue Core pathologists;\nOR\nBiopsy of lymph node or other mass judged to be diagnostic by the Tissue Core pathologists;",
        [("Lung biopsy (transbronchial, surgical, transthoracic) judged to be diagnostic by the Tissue Core pathologists;\nOR\nBiopsy of lymph node or other mass judged to be diagnostic by the Tissue Core pathologists;", False)],
        id="NCT00001869-or-alone-on-a-line",
    ),
    pytest.param(
        "inclusion",
        "1. APML diagnosis based upon morphological, histochemical, and/or flow cytometric criteria, confirmed upon review by a central, study-designated hematologic pathologist;\nOR\nany relapsed acute leukemia bearing a t(15:17) translocation\n2. disease in first or subsequent relapse",
        [("APML diagnosis based upon morphological, histochemical, and/or flow cytometric criteria, confirmed upon review by a central, study-designated hematologic pathologist;\nOR\nany relapsed acute leukemia bearing a t(15:17) translocation", False),
         ("disease in first or subsequent relapse", False)],
        id="NCT00008697-numbered-item-or-then-next-number",
    ),
    pytest.param(
        "inclusion",
        "IHC 2+ HER2 patients are eligible with reflex FISH-positive testing with the ratio ≥2.0.\nAnd/or patients with HER2 positive cells in the cerebral spinal fluid.",
        [("IHC 2+ HER2 patients are eligible with reflex FISH-positive testing with the ratio ≥2.0.\nAnd/or patients with HER2 positive cells in the cerebral spinal fluid.", False)],
        id="NCT04588545-leading-and-or",
    ),
    pytest.param(
        "inclusion",
        "No distant metastatic disease\nEastern Cooperative Oncology Group Performance Status: 0\n1\nHRR gene mutation: at least one pathogenic variant",
        [("No distant metastatic disease", False),
         ("Eastern Cooperative Oncology Group Performance Status: 0\n1", False),
         ("HRR gene mutation: at least one pathogenic variant", False)],
        id="NCT05761470-bare-number-line",
    ),
    pytest.param(
        "inclusion",
        "Age ≥18 and ≤70 years old, female.\nBMI index in the range of 19.0\n28.0\nECOG≤1, and the expected os ≥3 months",
        [("Age ≥18 and ≤70 years old, female.", False), ("BMI index in the range of 19.0\n28.0", False),
         ("ECOG≤1, and the expected os ≥3 months", False)],
        id="NCT05131841-split-range",
    ),
    pytest.param(
        "inclusion",
        "7. Adequate liver functions: Transaminase (AST/ALT) < 3 X upper normal value & Bilirubin\n< 2 X upper normal value",
        [("Adequate liver functions: Transaminase (AST/ALT) < 3 X upper normal value & Bilirubin\n< 2 X upper normal value", False)],
        id="NCT03794167-line-starting-with-a-comparator",
    ),
    pytest.param(
        "exclusion",
        "-  Active malignant diseases\n-  Previous thyroid disease and\n-  Pregnancy.",
        [("Active malignant diseases", False), ("Previous thyroid disease and", True), ("Pregnancy.", True)],
        id="NCT00498238-exclusion-and-is-unclear",
    ),
    pytest.param(
        "inclusion",
        "  -  Histological verification may be waived for brainstem glioma and classic optic glioma, but biopsy recommended OR\n-  Histologically or cytologically proven non-Hodgkin's lymphoma\n  -  Refractory to standard treatment and no curative therapy available\n-  Measurable disease",
        [("Histological verification may be waived for brainstem glioma and classic optic glioma, but biopsy recommended OR", True),
         ("Histologically or cytologically proven non-Hodgkin's lymphoma", True),
         ("Refractory to standard treatment and no curative therapy available", True),
         ("Measurable disease", False)],
        id="NCT00006102-or-into-another-level",
    ),
    pytest.param(
        "inclusion",
        "- ECOG 0\n- 1\n- Age ≥ 18",
        [("ECOG 0", True), ("1", True), ("Age ≥ 18", False)],
        id="bare-number-bullet-is-unclear",
    ),
    pytest.param(
        "inclusion",
        "- Age ≥ 18 and\nInclusion Criteria:\n- Consent",
        [("Age ≥ 18 and", False), ("Consent", False)],
        id="headings-are-never-joined",
    ),
    pytest.param(
        "inclusion",
        "- Total bilirubin ≤ 1.5 mg/dL OR\n- conjugated bilirubin ≤ 0.3 mg/dL\n- Signed informed consent",
        [("Total bilirubin ≤ 1.5 mg/dL OR\n- conjugated bilirubin ≤ 0.3 mg/dL", False),
         ("Signed informed consent", False)],
        id="brief-bilirubin-or",
    ),
    pytest.param(
        "inclusion",
        "- Age ≥ 18\n- ECOG 0-1\n- Xor-1 negative",
        [("Age ≥ 18", False), ("ECOG 0-1", False), ("Xor-1 negative", False)],
        id="no-connective-no-join",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("section", "text", "expected"), JOIN_CASES)
def test_joined_lines(section: str, text: str, expected: list[tuple[str, bool]]) -> None:
    segs = split_text(text, section)
    assert [(s.text, s.linked) for s in segs if s.kind == "criterion"] == expected
    assert_accounted(text, Block(section=section, start=0, end=len(text)), segs)  # type: ignore[arg-type]


def test_joined_criterion_reads_without_markers_or_punctuation_after_the_connective() -> None:
    text = "Hemoglobin greater than 9 g/dL OR;\n-  Hematocrit greater than 27 g/dL."
    [seg] = split_text(text)
    assert seg.parts == ((0, 34), (38, len(text)))
    assert seg.reading == "Hemoglobin greater than 9 g/dL OR Hematocrit greater than 27 g/dL."
    assert seg.text == text


def test_joined_items_keep_the_first_label_and_parent() -> None:
    text = "Labs as follows:\n  1. WBC ≥ 3000 or\n  2. ANC ≥ 1500\n  3. Platelets ≥ 100000"
    segs = split_text(text)
    rows = [(s.kind, s.label, s.text, s.parent) for s in segs]
    assert rows == [
        ("lead_in", None, "Labs as follows:", None),
        ("criterion", "1.", "WBC ≥ 3000 or\n  2. ANC ≥ 1500", 0),
        ("criterion", "3.", "Platelets ≥ 100000", 0),
    ]
    assert segs[1].reading == "WBC ≥ 3000 or ANC ≥ 1500"


# --------------------------------------------------------------------------- end to end


def _rules(inclusion: str, exclusion: str = "- Pregnant") -> list[tuple[str, str, dict]]:
    from eligibility.transform import parse_record

    [record] = parse_record_text(
        f"Inclusion Criteria:\n{inclusion}\n\nExclusion Criteria:\n{exclusion}", "x.txt"
    )
    return [
        (c.id, c.text, c.rule.model_dump(mode="json", exclude_defaults=True))
        for c in parse_record(record).criteria
    ]


def _kinds(rule: dict) -> list[str]:
    return [r["kind"] for r in rule.get("rules", [])]


def test_or_across_bullets_is_one_alternative_and_no_neighbour_stands_alone() -> None:
    # NCT00002697, verbatim
    rows = _rules(
        "Renal:\n-  Creatinine no greater than 1.5 mg/dL OR\n-  Creatinine clearance at least 60 "
        "mL/min\n-  No history of chronic renal insufficiency"
    )
    joined = rows[0]
    assert joined[0] == "I1.1"  # under the lead-in "Renal:"
    assert joined[2]["kind"] == "any"
    assert _kinds(joined[2]) == ["lab", "measure"]
    assert joined[2]["rules"][1]["name"] == "creatinine_clearance"
    assert [r[0] for r in rows] == ["I1.1", "I1.3", "E1"]  # later items keep their numbers
    assert not any(r[1].startswith("Creatinine clearance") for r in rows)


def test_or_followed_by_a_semicolon_is_still_an_alternative() -> None:
    # NCT00001427, verbatim: the ";" after "OR" used to make the two an "and"
    rows = _rules("Hemoglobin greater than 9 g/dL OR;\nHematocrit greater than 27 g/dL.")
    assert rows[0][2]["kind"] == "any"
    assert rows[0][2]["rules"][0]["analyte"] == "hemoglobin"
    assert len([r for r in rows if r[0].startswith("I")]) == 1


def test_brief_example_bilirubin_or_conjugated_bilirubin() -> None:
    rows = _rules(
        "- Total bilirubin ≤ 1.5 mg/dL OR\n- conjugated bilirubin ≤ 0.3 mg/dL\n- ECOG 0-1"
    )
    assert rows[0][2]["kind"] == "any"
    assert [r["analyte"] for r in rows[0][2]["rules"]] == ["total_bilirubin", "direct_bilirubin"]
    assert [r[0] for r in rows] == ["I1", "I3", "E1"]
    assert rows[1][2]["kind"] == "performance"


def test_ecog_0_then_a_line_1_is_not_ecog_0() -> None:
    # NCT05761470, verbatim
    rows = _rules(
        "No distant metastatic disease\nEastern Cooperative Oncology Group Performance Status: 0\n1"
        "\nHRR gene mutation: at least one pathogenic or likely pathogenic variant"
    )
    ecog = next(r for r in rows if "Performance Status" in r[1])
    assert ecog[1].endswith(": 0\n1")
    assert ecog[2]["kind"] == "manual"
    assert not any(r[2]["kind"] == "performance" for r in rows)


def test_unclear_links_are_manual_on_both_sides() -> None:
    # NCT00498238 (exclusion, verbatim): "and" may be the list's own last "and"
    rows = _rules(
        "- Age ≥ 18", "-  Active malignant diseases\n-  Previous thyroid disease and\n-  Pregnancy."
    )
    by_text = {r[1]: r[2] for r in rows}
    assert by_text["Pregnancy."]["kind"] == "manual"
    assert "linked" in by_text["Pregnancy."]["reason"]
    assert by_text["Previous thyroid disease and"]["kind"] == "manual"
    # a bullet "1" after "ECOG 0": a lost range or another item? Both manual.
    rows = _rules("- ECOG 0\n- 1\n- Age ≥ 18")
    assert [r[2]["kind"] for r in rows[:3]] == ["manual", "manual", "age"]


def test_leading_or_joins_the_previous_item() -> None:
    # NCT00002023, verbatim
    rows = _rules(
        "-  IIB - including only those patients with autoimmune thrombocytopenia (platelet count = "
        "or < 100000 platelets/mm3).\n-  OR Lymphopenia (lymphocyte count = or < 1000 cells/mm3).\n"
        "-  ECOG performance status 0 or 1."
    )
    assert [r[0] for r in rows] == ["I1", "I3", "E1"]
    assert "OR Lymphopenia" in rows[0][1]
    assert rows[1][2]["kind"] == "performance"
