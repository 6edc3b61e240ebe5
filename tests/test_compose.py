"""The composition laws (eligibility.compose, docs/parser.md), one table per law, both sections.

Each row: a real phrasing, its section, what the parser must make of it (the law named on its
manual part, or ``assisted`` when no piece may decide), a patient, and the criterion status that
patient must get. A row fails if a law is dropped (a piece decides that may not) or misnamed.
"""

from __future__ import annotations

import pytest

from audit_check import status
from eligibility.model import ManualRule, iter_rules
from eligibility.transform import parse_criterion

MI_2012 = {
    "conditions": [{"name": "myocardial infarction", "code": "I21.9", "onset": "2012-03-04"}]
}
HIV = {"conditions": [{"name": "HIV infection", "code": "B20"}]}
NONE = {"conditions": [], "treatments": []}
DIABETES = {"conditions": [{"name": "type 2 diabetes", "code": "E11.9"}]}
BRAIN = {"conditions": [{"name": "brain metastases", "code": "C79.31"}]}

# fmt: off
CASES = [
    # law "separate": the unread piece is an alternative of its own — the read ones decide
    ("separate", "HIV, hepatitis B, or other infection", "exclusion", HIV, "fail"),
    ("separate", "HIV, hepatitis B, or other infection", "exclusion", NONE, "review"),
    ("separate", "Known HIV infection; other serious infection", "exclusion", HIV, "fail"),
    ("separate", "HIV, xeroderma pigmentosum or hepatitis B", "exclusion", HIV, "fail"),
    ("separate", "Portal vein tumor thrombi or liver metastases or recurrent lesions", "exclusion", NONE, "review"),
    ("separate", "Age 18 or older and able to give informed consent", "inclusion", {"birth_date": "2015-01-01"}, "fail"),
    # (an inclusion's diagnosis or treatment beside unread words is evidence: session 29)
    ("assisted", "Patients who relapse after surgery, have received PD1 antibody", "inclusion", NONE, "review"),
    # law "qualifier": unread words only narrow the condition — absent, it cannot hold
    ("qualifier", "Symptomatic brain metastases", "exclusion", NONE, "pass"),
    ("qualifier", "Symptomatic brain metastases", "exclusion", BRAIN, "review"),
    ("qualifier", "Symptomatic brain metastases", "inclusion", NONE, "fail"),
    ("qualifier", "Patients with active brain metastases", "exclusion", BRAIN, "review"),
    ("qualifier", "Uncontrolled hypertension or diabetes", "exclusion", DIABETES, "review"),
    # law "allowance": a later sentence lets patients in
    ("allowance", "Brain metastases. Patients with treated brain metastases can be enrolled.", "exclusion", BRAIN, "review"),
    ("allowance", "Brain metastases. Patients with treated brain metastases can be enrolled.", "exclusion", NONE, "pass"),
    # scope: a modifier in an unread piece reaches the read ones — assisted, never decides
    ("assisted", "Myocardial infarction, stroke or other arterial events within the past 6 months", "exclusion", MI_2012, "review"),
    ("assisted", "Myocardial infarction, stroke or other arterial events within the past 6 months", "exclusion", NONE, "review"),
    ("assisted", "AIDS-related infection or cancer", "exclusion", NONE, "review"),
    ("assisted", "Brain metastases or leptomeningeal disease on MRI", "exclusion", BRAIN, "review"),
    ("assisted", "HIV, hepatitis B or hepatitis C infection in the metastatic setting", "exclusion", HIV, "review"),
    ("assisted", "Poorly-controlled high blood pressure or diabetes", "exclusion", DIABETES, "review"),
    ("assisted", "Diagnosed with a psychiatric illness or is in a social situation that would limit compliance with study requirements", "exclusion", NONE, "review"),
    ("assisted", "In the past 12 months: myocardial infarction, stroke", "exclusion", MI_2012, "review"),
    ("assisted", "HLA identical family donor, up to 75 years old.", "inclusion", {"birth_date": "1930-01-01"}, "review"),
    ("assisted", "Healthy women aged 9-45 and men aged 9-15", "inclusion", {"sex": "female", "birth_date": "1994-01-01"}, "review"),
    ("assisted", "ALT/AST >2x ULN. For patients with hepatic metastases, ALT/AST >5x ULN is exclusionary.", "exclusion", NONE, "review"),
    ("assisted", "ECOG performance status > 2.", "inclusion", {"ecog": 1}, "review"),
    ("assisted", "Age 65-70 years:", "inclusion", {"birth_date": "1984-01-01"}, "review"),
    # a graft source before a list reaches every item of it
    ("assisted", "Has had an allogenic tissue/solid organ transplant or bone marrow transplant.", "exclusion", {"conditions": [{"name": "stem cell transplant", "code": "Z94.84"}]}, "review"),
    # a later sentence naming whom the rest applies to
    ("assisted", "Adequate coagulation, defined as INR < 1.5 and aPTT < 1.5 × ULN. This applies only to patients who are not receiving therapeutic anticoagulation;", "inclusion", {"labs": [{"test": "aPTT", "value": 60, "unit": "s", "ref_high": 35}]}, "review"),
    # a parenthesis defines what it follows
    ("assisted", "Positive HIV test results; patients with active hepatitis B or C (HBsAg positive and HBV DNA above the upper limit of normal)", "exclusion", {"conditions": [{"name": "chronic hepatitis B", "code": "B18.1"}]}, "review"),
    # an age at a past event is not the age now
    ("assisted", "Age at diagnosis at least 18 years.", "inclusion", {"birth_date": "2005-01-01"}, "review"),
    # an excluding "and" between two conditions: a list, or one patient with both
    ("assisted", "Hepatitis B and C", "exclusion", NONE, "review"),
    # a window after the last item ("less than one month prior to") dates the whole list
    ("assisted", "Treatment with glucocorticoids or ACTH less than one month prior to inclusion into the trial", "exclusion", {"treatments": [{"name": "prednisone", "start": "2021-01-01", "end": "2021-01-20"}]}, "review"),
    # (a life expectancy with a bound is read since session 23: a judged one stays unread)
    ("separate", "ECOG performance status of 0 or 1 and a reasonable life-expectancy.", "inclusion", {"ecog": 2}, "fail"),
    # "primary or initial infection with …": a status word before a list reaches every item
    ("assisted", "Primary or initial infection with herpes simplex (HSV), varicella zoster (VZV), or hepatitis B (HBV).", "exclusion", {"conditions": [{"name": "chronic hepatitis B", "code": "B18.1"}]}, "review"),
    # a sex beside an unread alternative in an inclusion would admit every woman
    ("assisted", "female participants, age >/=18 years advanced, inflammatory or early stage unilateral invasive breast cancer", "inclusion", {"sex": "female", "birth_date": "2010-01-01"}, "review"),
    # an unread piece after a read one that names another group ("and children …")
    ("assisted", "Women and children from three villages", "inclusion", {"sex": "male", "birth_date": "2016-01-01"}, "review"),
    ("assisted", "Male or female participants greater than or equal to 18 years of age and children 10-17 years of age.", "inclusion", {"birth_date": "2012-01-01"}, "review"),
    # "Patients with X must …": the rest is asked of those patients only
    ("assisted", "Patients with a history of cardiac disease must have a normal ejection fraction by MUGA Scan and have no angina.", "inclusion", {"conditions": [{"name": "angina", "code": "I20.9", "status": "resolved", "onset": "2015-01-01", "end": "2016-01-01"}]}, "review"),
    # "other" before a list reaches every item of it (other than the trial's own)
    ("assisted", "History of other neurologic or psychiatric disease", "exclusion", {"conditions": [{"name": "Parkinson disease dementia", "code": "F02.80"}]}, "review"),
    # "X or Y, whichever is higher": both hold
    ("qualifier", "≥ 18 years of age or designated age of majority according to regulatory authorities, whichever is higher", "inclusion", {"birth_date": "2005-06-01", "screening_date": "2024-01-01"}, "review"),
    ("qualifier", "≥ 18 years of age or designated age of majority according to regulatory authorities, whichever is higher", "inclusion", {"birth_date": "2010-06-01", "screening_date": "2024-01-01"}, "fail"),
    # an inclusion asking for a value above the normal range: most often "≤" mistyped
    ("assisted", "Bilirubin >= 1.5 x upper limit of normal", "inclusion", {"labs": [{"test": "bilirubin", "value": 0.6, "unit": "mg/dL", "ref_high": 1.2, "date": "2024-02-20"}]}, "review"),
    # normal values under exclusions: a requirement filed under the wrong heading
    ("assisted", "AST and ALT <2.5 x ULN;", "exclusion", {"labs": [{"test": "ALT", "value": 20, "unit": "U/L", "ref_high": 40}]}, "review"),
    # a later sentence, not read, that names what an earlier one decides on may relax it
    ("assisted", "No previous use of St. John's Wort. Subjects with prior history of St. John's Wort use must abstain from use for 30 days prior to study participation.", "inclusion", {"treatments": [{"name": "St John's wort", "start": "2022-01-01", "end": "2022-02-01"}]}, "review"),
    # a sentence naming another person before the read ones: theirs, not the patient's
    ("assisted", "Patients must be able to avoid close household contact (close household contacts are those who share housing or have close physical contact) with persons with active or a history of eczema or other eczematoid skin disorders; those with other acute, chronic or exfoliative skin conditions (e.g., atopic dermatitis, burns, impetigo, varicella zoster, severe acne, or other open rashes or wounds) until condition resolves; pregnant or nursing women; children under 5 years of age; and immunodeficient or immunosuppressed persons (by disease or therapy), including HIV infection", "inclusion", {"sex": "male"}, "review"),
    # an inclusion that says it excludes: filed under the wrong heading
    ("assisted", "Pregnant or nursing females will be excluded.", "inclusion", {"sex": "female", "pregnant": True}, "review"),
    # a cause word before a list: the list is the cause, not a diagnosis
    ("assisted", "Cause of renal failures - diabetes, hypertension, glomerulonephritis, or polycystic kidney disease", "inclusion", {"conditions": [{"name": "essential hypertension", "code": "I10"}]}, "review"),
    # a later sentence, not read, that gives some patients another age
    ("assisted", "Are at least 18 years old. Patients living in USA, Puerto Rico, Australia, Brazil, Singapore, and Thailand can be at least 12 years old.", "inclusion", {"birth_date": "2008-06-01"}, "review"),
    # an age at the time of an earlier study, not the age now
    ("assisted", "having partcipated in the original study (1993 - 1996) at which time the mnimum participate age was 25 years and the maximum 56 years.", "inclusion", {"birth_date": "1948-01-01"}, "review"),
    # a way to meet the limit ("may receive transfusion … to achieve") lets more patients in
    ("allowance", "Hemoglobin >8 g/dL. Patients may receive transfusion of packed red blood cells (PRBC) to achieve this hemoglobin level at the discretion of the investigator;", "inclusion", {"labs": [{"test": "hemoglobin", "value": 7.5, "unit": "g/dL", "date": "2024-02-20"}]}, "review"),
    # "planning to become pregnant" is more than pregnancy: an alternative of its own
    ("separate", "Women who are pregnant or planning to become pregnant.", "exclusion", {"sex": "female", "pregnant": False}, "review"),
    # past words reach only to the end of their own sentence
    ("separate", "Prior radiotherapy for malignancy. Alcohol abuse.", "exclusion", {"conditions": [{"name": "alcohol abuse", "code": "F10.10", "status": "resolved", "onset": "1990-01-01", "end": "1995-01-01"}]}, "review"),
    # session 29: an inclusion's diagnosis, treatment or state beside unread words is evidence
    ("assisted", "Histologically confirmed NSCLC and measurable disease", "inclusion", NONE, "review"),
    ("assisted", "Must have taken the course in child health and diseases nursing", "inclusion", {"sex": "female", "breastfeeding": False}, "review"),
    # … and a word the grammar does not know before the first item read (or after the last)
    # is a modifier the list may share, whatever the word
    ("assisted", "Massive pleural effusion or ascites", "exclusion", {"conditions": [{"name": "ascites", "code": "R18.8"}]}, "review"),
    ("assisted", "Co-infection with HBV or HIV", "exclusion", HIV, "review"),
    ("assisted", "Liver disease or chronic kidney disease on dialysis", "exclusion", {"conditions": [{"name": "liver disease", "code": "K76.9"}]}, "review"),
    # (not words that say whose it is, nor a head noun after the last item)
    # (since session 30 an unread first item makes the rest evidence, whatever its words)
    ("assisted", "Women with a history of breast or uterine cancer.", "exclusion", {"conditions": [{"name": "uterine cancer", "code": "C55"}]}, "review"),
    # session 30: an exclusion list whose first or last item is unread: that item's words may
    # reach the items read (fresh audits 54-80: 25 wrong in 388), so they are evidence
    ("assisted", "HIV, hepatitis B, or other infection requiring treatment", "exclusion", HIV, "review"),
    # (a last item's own pre-modifier does not reach back, nor an example "including …")
    ("separate", "Patients with diabetes or severe osteoporosis", "exclusion", DIABETES, "fail"),
    ("separate", "Patients previously received PD-1 antibody or CTLA-4 antibodies, including those who have participated in the JS001 clinical study;", "exclusion", {"treatments": [{"name": "pembrolizumab", "start": "2022-01-01"}]}, "fail"),
    ("assisted", "uncorrected thrombocytopenia or coagulopathy;", "exclusion", {"conditions": [{"name": "von Willebrand disease", "code": "D68.0"}]}, "review"),
    ("assisted", "Cancer or other disease of the uterus", "exclusion", {"conditions": [{"name": "breast cancer", "code": "C50.911"}]}, "review"),
    # (not a plan or an unwillingness: an alternative of its own)
    ("separate", "Pregnant or breastfeeding or planning a pregnancy until completion of the study.", "exclusion", {"sex": "female", "pregnant": True}, "fail"),
    # fresh audit 82: examples after "such as" share the modifier of the item before them
    ("assisted", "Active inflammatory bowel disease, such as Crohn's disease or ulcerative colitis.", "exclusion", {"conditions": [{"name": "ulcerative colitis", "code": "K51.90", "status": "active", "onset": "2010-01-01"}]}, "review"),
    # … and a time word in an unread qualifier reaches an "active" condition
    ("assisted", "Subjects with any active infection requiring systemic treatment by intravenous infusion within 14 days prior to the first administration of the study drug.", "exclusion", {"conditions": [{"name": "sepsis", "code": "A41.9", "status": "resolved", "onset": "2024-02-20", "end": "2024-02-26"}]}, "review"),
    # fresh audit 83: "active" over an item with its own test result; a Child-Pugh class and
    # the cirrhosis it grades, and-ed
    ("assisted", "Active hepatitis B or HCV-positive subjects;", "exclusion", {"conditions": [{"name": "chronic hepatitis C", "code": "B18.2", "status": "resolved", "onset": "2015-01-01", "end": "2018-01-01"}]}, "review"),
    ("assisted", "Evidence of hepatic cirrhosis with Child-Pugh score C.", "exclusion", {"child_pugh": "C"}, "review"),
    # fresh audit 85: a requirement filed under the exclusions
    ("assisted", "Must be greater than 18 years of age", "exclusion", {"birth_date": "1970-01-01"}, "review"),
    # … ", with" joins a qualifier, not an alternative; a word comparator after "with" defines
    ("assisted", "Coagulant function abnormality (INR > 1.5 ULN, APTT > 1.5 ULN), with bleeding tendency;", "exclusion", {"conditions": [{"name": "von Willebrand disease", "code": "D68.0"}]}, "review"),
    ("assisted", "Renal failure with GFR below 30ml/min", "exclusion", NONE, "review"),
    # an inclusion's age bounds that no one meets at once are a misprint
    ("assisted", "age is ≤ 18 years old and ≥ 80 years old, regardless of gender;", "inclusion", {"birth_date": "1970-01-01"}, "review"),
    # session 31: "inclusive" after a strict age bound; a note on taking part; a limit whose
    # allowance is in brackets is a limit of its own, not an alternative to the whole line
    ("assisted", "Male or female subjects greater than 18 years old, inclusive.", "inclusion", {"birth_date": "2006-03-01"}, "review"),
    ("assisted", "It is our intention to remove barriers. Pregnant or nursing women may be limited in their participation in some aspects of the study.", "exclusion", {"sex": "female", "pregnant": True}, "review"),
    ("assisted", "Liver function tests: ALT <2x ULN; alkaline phosphatase <=1.5xULN; bilirubin <=1.5xULN (isolated bilirubin >1.5 x ULN is acceptable if bilirubin is fractionated and direct bilirubin <35%)", "inclusion", {"labs": [{"test": "ALT", "value": 20, "unit": "U/L", "date": "2024-02-20", "ref_high": 40}, {"test": "ALP", "value": 80, "unit": "U/L", "date": "2024-02-20", "ref_high": 120}, {"test": "total bilirubin", "value": 3.6, "unit": "mg/dL", "date": "2024-02-20", "ref_high": 1.2}]}, "review"),
    # fresh audit 87: a head noun at the list's end ("… or prednisone allergy"); "should not be
    # excluded" lets patients in; "and" between two counts in an exclusion; diagnoses listed
    # with commas alone in an inclusion; past words within their own ";" piece
    ("assisted", "History of anakinra or prednisone allergy", "exclusion", {"treatments": [{"name": "anakinra", "start": "2023-01-01"}]}, "review"),
    ("allowance", "Active Hepatitis B Virus (HBV), Hepatitis C Virus (HCV) or Tuberculosis infection. Patients whose disease is controlled under antiviral therapy should not be excluded.", "exclusion", {"conditions": [{"name": "chronic hepatitis B", "code": "B18.1", "status": "active"}]}, "review"),
    ("assisted", "WBC <2000/mm3 and Platelet count <50,000/mm3,", "exclusion", {"labs": [{"test": "platelets", "value": 30000, "unit": "/mm3", "date": "2024-02-20"}, {"test": "WBC", "value": 6000, "unit": "/mm3", "date": "2024-02-20"}]}, "review"),
    ("assisted", "Diagnosis: pemphigus vulgaris, pemphigus foliaceus, bullous pemphigoid", "inclusion", {"conditions": [{"name": "pemphigus vulgaris", "code": "L10.0"}]}, "review"),
    ("separate", "history of head injury; pregnancy; medical or psychiatric illness", "exclusion", {"conditions": [{"name": "major depressive disorder", "code": "F32.9", "status": "resolved", "onset": "2010-01-01", "end": "2011-01-01"}]}, "review"),
    # fresh audit 88: words after the last alternative's value ("… in a sitting position on two
    # measurements …"); a performance status set that skips a grade
    ("assisted", "SBP ≥ 140mmHg or DBP ≥ 90mmHg in a sitting position on two measurements on two clinic visits", "inclusion", {"vitals": [{"name": "systolic blood pressure", "value": 150, "unit": "mmHg", "date": "2024-02-20"}]}, "review"),
    ("assisted", "Patients with clear consciousness, Cooperation, ECOG performance status of 0,1 and 3", "inclusion", {"ecog": 3}, "review"),
    # fresh audit 89: an unread first item whose "with" governs the values after it
    ("assisted", "Unexplained anemia with hemoglobin < 10 percent or hematocrit less than 30 percent.", "exclusion", {"labs": [{"test": "hematocrit", "value": 28, "unit": "%", "date": "2024-02-20"}]}, "review"),
    # a count before the items ("3 or more of the following: …") makes none decide alone
    ("assisted", "Metabolic syndrome, defined as 3 or more of the following criteria: blood pressure ≥130/85 mm Hg, waist circumference >35 inches, HDL-C <50 mg/dL.", "exclusion", {"labs": [{"test": "HDL cholesterol", "value": 45, "unit": "mg/dL", "date": "2024-02-20"}]}, "review"),
]
# fmt: on


def _law(rule) -> str | None:  # type: ignore[no-untyped-def]
    if isinstance(rule, ManualRule):
        return "assisted" if rule.evidence is not None else None
    laws = {r.law for r in iter_rules(rule) if isinstance(r, ManualRule) and r.law}
    return laws.pop() if len(laws) == 1 else None


@pytest.mark.parametrize(("law", "text", "section", "facts", "expected"), CASES)
def test_law(law: str, text: str, section: str, facts: dict, expected: str) -> None:
    assert _law(parse_criterion(text, section)) == law  # type: ignore[arg-type]
    patient = {"id": "p", "screening_date": "2024-03-01", **facts}
    got, reason, _ = status({"text": text, "section": section, "patient": patient})
    assert got == expected, reason


def test_groups_are_alternatives() -> None:
    rule = parse_criterion("Women aged 18-45 and men aged 18-60", "inclusion")
    assert rule.kind == "any"
    for sex, born, expected in [
        ("female", "1990-01-01", "pass"),
        ("male", "1970-01-01", "pass"),
        ("female", "1970-01-01", "fail"),
    ]:
        p = {"id": "p", "screening_date": "2024-03-01", "sex": sex, "birth_date": born}
        got, reason, _ = status(
            {"text": "Women aged 18-45 and men aged 18-60", "section": "inclusion", "patient": p}
        )
        assert got == expected, reason


def test_implausible_unit_stays_manual() -> None:
    assert parse_criterion("Bilirubin <= 2.0 g/dL", "inclusion").kind == "manual"
    assert parse_criterion("Bilirubin <= 2.0 mg/dL", "inclusion").kind == "lab"
    assert parse_criterion("Hemoglobin >= 90 g/L", "inclusion").kind == "lab"


def test_own_disease_is_not_excluded() -> None:
    rule = parse_criterion("No prior diagnosis of cancer", "inclusion", primary=("malignancy",))
    assert isinstance(rule, ManualRule) and rule.evidence is not None


def test_enumeration_under_exclusions_is_any() -> None:
    text = "History of cardiovascular diseases , diabetes mellitus, liver and kidney disease."
    rule = parse_criterion(text, "exclusion")
    # the unread first item makes the list evidence (session 30), read as one enumeration
    assert isinstance(rule, ManualRule) and rule.evidence is not None
    assert rule.evidence.kind == "condition"
    patient = {"id": "p", "screening_date": "2024-03-01", **DIABETES}
    got, reason, _ = status({"text": text, "section": "exclusion", "patient": patient})
    assert got == "review", reason


def test_either_sex_is_not_an_alternative_to_the_age() -> None:
    text = "18 to 45 years of age, either male or female"
    old = {"id": "p", "screening_date": "2024-03-01", "sex": "male", "birth_date": "1950-01-01"}
    got, reason, _ = status({"text": text, "section": "inclusion", "patient": old})
    assert got == "fail", reason


def test_a_cancer_title_without_a_concept_is_still_a_cancer_trial() -> None:
    from eligibility.ingest import parse_record_text
    from eligibility.transform import parse_record

    text = "Inclusion Criteria:\n- No prior malignancy\n"
    [record] = parse_record_text(text, "any.txt")
    record = record.model_copy(
        update={"title": "Rituximab in Newly Diagnosed Non-Hodgkin's Lymphoma"}
    )
    [criterion] = parse_record(record).criteria
    assert isinstance(criterion.rule, ManualRule) and criterion.rule.evidence is not None


def test_own_disease_is_excepted_where_it_only_may_be_the_concept() -> None:
    """Liver cancer may be a "liver disease" (an icd10_maybe code), but in an HCC trial "Known
    liver diseases" is not about the trial's own disease: it is excepted; HIV, broader than
    AIDS, is never excepted from "No AIDS" in an HIV trial."""
    rule = parse_criterion(
        "Known liver diseases", "exclusion", primary=("hepatocellular_carcinoma",)
    )
    assert "hepatocellular_carcinoma" in rule.except_  # type: ignore[union-attr]
    rule = parse_criterion("No history of AIDS", "inclusion", primary=("hiv_infection",))
    assert not any(getattr(r, "except_", []) for r in iter_rules(rule))


def test_two_scales_joined_and_a_second_way_in_are_assisted() -> None:
    """Fresh audit 11: "Karnofsky greater than 70; ECOG 0 to 2" gives two scales as alternatives,
    "If abnormal, a fractionated pancreatic amylase < 45 U/L" a second way in: neither decides;
    "ECOG 0-1 or Karnofsky ≥ 70" stays computable."""
    for text in (
        "Karnofsky greater than 70; ECOG 0 to 2",
        "Serum amylase less than 1.5 times ULN. If abnormal, a pancreatic amylase less than 45 U/L.",
    ):
        rule = parse_criterion(text, "inclusion")
        assert isinstance(rule, ManualRule) and rule.evidence is not None, text
    assert parse_criterion("ECOG 0-1 or Karnofsky >= 70", "inclusion").kind == "any"


def test_an_or_at_the_end_of_different_requirements_is_assisted() -> None:
    """Rule diff against 034a036: "Women, aged 40 and over, …, with a history of CVD or three or
    more risk factors" read as alternatives passed any woman of any age."""
    text = "Women, aged 40 and over, at high risk, with a history of cardiovascular disease or three or more coronary heart disease risk factors."
    rule = parse_criterion(text, "inclusion")
    assert isinstance(rule, ManualRule) and rule.evidence is not None


def _conditions_deciding(rule) -> list[str]:  # type: ignore[no-untyped-def]
    """Condition leaves that decide (not kept as a manual part's evidence)."""
    if rule.kind == "condition":
        return [rule.condition]
    if rule.kind in ("all", "any"):
        return [c for r in rule.rules for c in _conditions_deciding(r)]
    if rule.kind == "not":
        return _conditions_deciding(rule.rule)
    return []


@pytest.mark.parametrize(
    ("text", "section", "decides"),
    [
        # NCT00000485 (audit fresh10): the readings define the hypertension the line names
        (
            "Men and women, ages 30-69. Hypertension. Diastolic blood pressure home readings "
            "and clinic readings equal to or above 95 mm Hg and 90 mm Hg, respectively.",
            "inclusion",
            [],
        ),
        ("Hypertension defined as systolic blood pressure of 140 mmHg or more", "inclusion", []),
        ("Diabetes (HbA1c 6.5% or more)", "exclusion", []),
        # the condition and a range of the reading: both asked, the diagnosis decides
        ("Type 2 diabetes with HbA1c between 7% and 10%", "inclusion", ["type2_diabetes"]),
        ("Hypertension", "exclusion", ["hypertension"]),
        ("History of diabetes mellitus", "exclusion", ["diabetes_mellitus"]),
    ],
)
def test_a_condition_defined_by_readings_is_evidence(text: str, section: str, decides) -> None:  # type: ignore[no-untyped-def]
    rule = parse_criterion(text, section)
    assert _conditions_deciding(rule) == decides, rule


@pytest.mark.parametrize(
    "text",
    [
        "Fasting plasma glucose (FPG) >126 mg/dL or history of diabetes",  # NCT00461968
        "Hemoglobin A1C (HgbA1c) >7.5 or history of diabetes mellitus.",  # NCT00495391
    ],
)
def test_a_reading_beside_its_condition_as_an_alternative_leaves_it_deciding(text: str) -> None:
    assert _conditions_deciding(parse_criterion(text, "exclusion")) == ["diabetes_mellitus"]


def _deciding_kinds(rule) -> list[str]:  # type: ignore[no-untyped-def]
    """Kinds of the leaves that decide (manual parts and their evidence left out)."""
    if rule.kind in ("all", "any"):
        return sorted(k for r in rule.rules for k in _deciding_kinds(r))
    if rule.kind == "not":
        return _deciding_kinds(rule.rule)
    return [] if rule.kind == "manual" else [rule.kind]


@pytest.mark.parametrize(
    ("text", "section", "kinds"),
    [
        # NCT00001266 (audit fresh33): the allowance keeps unresolved ulcers out
        (
            "No history of bleeding diathesis. Patients with a history of peptic ulcer disease "
            "will be eligible if the ulcer is shown to be resolved by a barium study.",
            "inclusion",
            [],
        ),
        # the allowance relaxes the bound read: the bound still admits
        (
            "ECOG 0-1. Patients with ECOG 2 are eligible if due to pain.",
            "inclusion",
            ["performance"],
        ),
        # NCT00463073 (audit fresh33): "negative" after the list may reach all of it
        ("History of known HIV, Hepatitis B and Hepatitis C negative", "exclusion", []),
        ("Age 18 or older and HIV negative", "inclusion", ["age", "condition"]),
        # NCT01662128 (audit fresh33): carcinoma in situ beside breast cancers is of the breast
        # (session 29: "Bilateral", a word before the first item read, may reach the list)
        (
            "Bilateral breast cancer, inflammatory breast cancer or carcinoma in situ",
            "exclusion",
            [],
        ),
        ("Carcinoma in situ", "exclusion", ["condition"]),
        # fresh36: the unread items share the read one's head noun (NCT03861949, NCT04606446)
        (
            "individuals with significant cardiorespiratory or cerebrovascular disease",
            "exclusion",
            [],
        ),
        ("Disease Characteristics - Breast, Prostate, and Lung Cancer", "inclusion", []),
        ("History of HIV or hepatitis B infection", "exclusion", ["condition", "condition"]),
        # NCT04684459 (audit fresh34): "active period" after the list qualifies hepatitis B too
        (
            "Patient with hepatitis B or C active period, HIV infection ≥ the upper limit of the "
            "normal level;",
            "exclusion",
            [],
        ),
    ],
)
def test_words_beside_a_piece_that_keep_it_from_deciding(
    text: str, section: str, kinds: list[str]
) -> None:
    assert _deciding_kinds(parse_criterion(text, section)) == kinds


@pytest.mark.parametrize(
    ("text", "section", "kind"),
    [
        # NCT05696808 (fresh audit 78): no one is under 18 and over 55 at once: either excludes
        ("Age <18 and >55 years", "exclusion", "any"),
        ("Patient aged <18 years and ≥ 36 years", "exclusion", "any"),
        # (a range both bounds of which hold stays one range; an inclusion is left alone)
        ("Age >= 18 and <= 65 years", "exclusion", "age"),
        ("Age <18 and >55 years", "inclusion", "manual"),  # (an inclusion's: a misprint)
    ],
)
def test_disjoint_age_ranges_in_an_exclusion_are_either(text: str, section: str, kind: str) -> None:
    assert parse_criterion(text, section).kind == kind  # type: ignore[arg-type]
