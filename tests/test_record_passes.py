"""Record-level readings: lines that change what their neighbours mean (fresh audit 13)."""

from __future__ import annotations

import pytest

from eligibility.ingest import parse_record_text
from eligibility.transform import parse_record


def _criteria(text: str, title: str | None = None) -> dict[str, object]:
    [record] = parse_record_text(text, "any.txt")
    if title is not None:
        record = record.model_copy(update={"title": title})
    return {" ".join(c.text.split()): c for c in parse_record(record).criteria}


def test_a_waiver_below_lifts_the_limits_above() -> None:
    """NCT00003077: "Above laboratory values required unless … involvement by tumor is
    documented" — every limit above it is evidence, not a decision."""
    got = _criteria(
        "Inclusion Criteria:\n- Platelet count greater than 75,000/mm3\n- Age 18 or older\n"
        "- Creatinine less than 1.5 times ULN\n- Above laboratory values required unless bone "
        "marrow, liver, kidney, or splenic involvement by tumor is documented\n"
    )
    for text in ("Platelet count greater than 75,000/mm3", "Creatinine less than 1.5 times ULN"):
        rule = got[text].rule  # type: ignore[attr-defined]
        assert rule.kind == "manual" and rule.evidence is not None
        assert "waive" in rule.reason
    assert got["Age 18 or older"].rule.kind == "age"  # type: ignore[attr-defined]


def test_a_headings_own_waiver_reaches_its_lines() -> None:
    """NCT00002738: "Hepatic: - (unless due to disease) - Bilirubin no greater than 2.0 mg/dL"."""
    got = _criteria(
        "Inclusion Criteria:\nHepatic:\n-  (unless due to disease)\n-  Bilirubin no greater than "
        "2.0 mg/dL\nRenal:\n-  Creatinine less than 1.5 mg/dL\n"
    )
    assert got["Bilirubin no greater than 2.0 mg/dL"].rule.kind == "manual"  # type: ignore[attr-defined]
    assert got["Creatinine less than 1.5 mg/dL"].rule.kind == "lab"  # type: ignore[attr-defined]


def test_a_lone_requirement_line_stays_read() -> None:
    """No waiver: the limit decides."""
    got = _criteria("Inclusion Criteria:\n- Platelet count greater than 75,000/mm3\n")
    assert got["Platelet count greater than 75,000/mm3"].rule.kind == "lab"  # type: ignore[attr-defined]


def test_bare_state_names_among_the_inclusions_are_evidence() -> None:
    """NCT00002313: "Active drug or alcohol abuse." closes an inclusion list whose exclusion
    heading the source lost; NCT00006124 lists "Myocardial infarction", "Angina" … under no
    heading. A single bare name the title names ("HIV infection." in an HIV trial) stays read."""
    got = _criteria(
        "Inclusion Criteria:\n- HIV infection.\n- Active drug or alcohol abuse.\n",
        title="Nystatin in Patients With HIV Infection",
    )
    assert got["HIV infection."].rule.kind == "condition"  # type: ignore[attr-defined]
    abuse = got["Active drug or alcohol abuse."].rule  # type: ignore[attr-defined]
    assert abuse.kind == "manual" and abuse.evidence is not None
    listed = _criteria(
        "Inclusion Criteria:\n- Myocardial infarction\n- Angina\n", title="A Study of Drug X"
    )
    assert all(c.rule.kind == "manual" for c in listed.values())  # type: ignore[attr-defined]


def test_consecutive_ages_on_one_side_are_groups_and_a_range_is_not() -> None:
    """NCT00001604: "Individuals age 8 and older." then "Individuals age 6-8 with a family
    history …" are two ways in; "≥ 18 years old" then "< 65 years old" are one range."""
    groups = _criteria(
        "Inclusion Criteria:\n- Individuals age 8 and older.\n- Individuals age 6 to 8 years.\n"
    )
    assert all(c.rule.kind == "manual" for c in groups.values())  # type: ignore[attr-defined]
    ranged = _criteria("Inclusion Criteria:\n- Age 18 years or older\n- Age under 65 years\n")
    assert all(c.rule.kind == "age" for c in ranged.values())  # type: ignore[attr-defined]


def test_lost_group_headings_make_their_items_evidence() -> None:
    """NCT03928028: "Adolescents … Age 12-18 … Parents … Age >18": the parents' age is not the
    patient's."""
    got = _criteria("Inclusion Criteria:\n- Adolescents\n- Age 12-18\n- Parents\n- Age >18\n")
    assert got["Age >18"].rule.kind == "manual"  # type: ignore[attr-defined]
    got = _criteria(
        "Inclusion Criteria:\n- Adolescents\n- Age 12-18\n- Parents\n- Hemoglobin > 10 g/dL\n"
    )
    reason = got["Hemoglobin > 10 g/dL"].rule.reason  # type: ignore[attr-defined]
    assert "group line" in reason or "naming the parent" in reason


def test_ages_of_two_groups_anywhere_in_a_section_are_evidence() -> None:
    """NCT00495638: "Age of 3 to 20 years." under part A and "Age of 3 years or greater." under
    part B, lines apart; the same for two exclusion lines. A range split over two lines is
    not two groups, and a lone age line decides."""
    got = _criteria(
        "Inclusion Criteria:\n- Age of 3 to 20 years.\n- Sickle cell disease\n"
        "- Age of 3 years or greater.\nExclusion Criteria:\n- Age less than 3 years or 21 years"
        " or more.\n- Pregnancy\n- Age less than 3 years.\n"
    )
    for text in ("Age of 3 to 20 years.", "Age of 3 years or greater."):
        assert got[text].rule.kind == "manual"  # type: ignore[attr-defined]
        assert "another age" in got[text].rule.reason  # type: ignore[attr-defined]
    assert got["Age less than 3 years."].rule.kind == "manual"  # type: ignore[attr-defined]
    ranged = _criteria(
        "Inclusion Criteria:\n- Age 18 years or older\n- ECOG 0-1\n- Age under 65 years\n"
    )
    assert ranged["Age 18 years or older"].rule.kind == "age"  # type: ignore[attr-defined]
    alone = _criteria("Inclusion Criteria:\n- Age of 3 to 20 years.\n- ECOG 0-1\n")
    assert alone["Age of 3 to 20 years."].rule.kind == "age"  # type: ignore[attr-defined]


def test_criteria_headings_of_numbered_groups_are_group_lines() -> None:
    """NCT00007319: "Inclusion Criteria for Group 1 / … Group 2 / … Group 3 (HIV uninfected)":
    "HIV infected" under group 1 is not every patient's requirement. "… for All Groups" is
    not a group's heading."""
    got = _criteria(
        "Inclusion Criteria:\n- Inclusion Criteria for Group 1\n- HIV infected\n"
        "- Inclusion Criteria for Group 2\n- ECOG 0-1\n"
    )
    assert got["HIV infected"].rule.kind == "manual"  # type: ignore[attr-defined]
    assert "group line" in got["HIV infected"].rule.reason  # type: ignore[attr-defined]
    every = _criteria(
        "Inclusion Criteria:\n- Eligibility criteria for all groups\n- HIV infected\n"
        "- Eligibility criteria for all arms\n- ECOG 0-1\n"
    )
    assert every["HIV infected"].rule.kind == "condition"  # type: ignore[attr-defined]


def test_a_value_continued_on_the_next_line_is_evidence() -> None:
    """NCT05375461: "ECOG PS score: 0" then a line "1; Expected survival ≥3 months" (a "0-1"
    broken over two lines). A line that ends in a value before a line that does not start
    with a number decides."""
    got = _criteria(
        "Inclusion Criteria:\n- ECOG PS score: 0\n- 1; Expected survival ≥3 months.\n"
        "- Platelets ≥ 100,000/mm3\n- Expected survival ≥3 months.\n"
    )
    rule = got["ECOG PS score: 0"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None
    assert got["Platelets ≥ 100,000/mm3"].rule.kind == "lab"  # type: ignore[attr-defined]


def test_an_age_line_beside_an_unread_age_line_is_evidence() -> None:
    """NCT02214004: "Age ≥55 years and amenorrhea" then "Age <55 years and amenorrhea for ≥12
    months with FSH >30 mIU/ml" (two definitions of postmenopausal); NCT00002882: "10 to 66"
    then "66 to 70 if in excellent physical condition" under "Age:". An unread line under
    another lead-in does not count."""
    got = _criteria(
        "Inclusion Criteria:\n- Age ≥55 years and amenorrhea\n- Age <55 years and amenorrhea "
        "for ≥12 months with FSH >30 mIU/ml\n"
    )
    rule = got["Age ≥55 years and amenorrhea"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None
    other = _criteria(
        "Inclusion Criteria:\n- Age ≥ 18 years\nPostmenopausal, defined as:\n- Age ≥60 years, "
        "or Age <60 years and bilateral oophorectomy\n"
    )
    assert other["Age ≥ 18 years"].rule.kind == "age"  # type: ignore[attr-defined]


def test_items_under_two_cohort_headings_are_evidence() -> None:
    """NCT00499720: "Second Cohort Criteria: … FEV1 ≤ 40% predicted", "Third Cohort Criteria:
    … FEV1 ≤ 50% predicted": each cohort's own limit."""
    got = _criteria(
        "Inclusion Criteria:\n- ECOG 0-1\nFirst Cohort Criteria:\n- Platelets ≥ 100,000/mm3\n"
        "Second Cohort Criteria:\n- Hemoglobin ≥ 9 g/dL\n"
    )
    assert got["ECOG 0-1"].rule.kind == "performance"  # type: ignore[attr-defined]
    rule = got["Hemoglobin ≥ 9 g/dL"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and "cohort" in rule.reason


def test_lines_naming_their_population_and_titles_with_volunteers() -> None:
    """NCT00001527: "Normal Volunteers who … Cholesterol below 200 mg/dl." beside "Hypertensive
    Patients with …"; NCT00001204: a title "… Patients With High Cholesterol and Normal
    Volunteers". "No patients with HIV infection." names no population."""
    got = _criteria(
        "Inclusion Criteria:\n- Normal Volunteers who are not taking medications. Hemoglobin "
        "≥ 12 g/dL.\n- Hypertensive Patients with Hemoglobin ≥ 10 g/dL.\n- No patients with "
        "HIV infection.\n"
    )
    rule = got["Normal Volunteers who are not taking medications. Hemoglobin ≥ 12 g/dL."].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and "population" in rule.reason
    assert got["No patients with HIV infection."].rule.kind == "not"  # type: ignore[attr-defined]
    titled = _criteria(
        "Inclusion Criteria:\n- Age 18 years or older\n- Hemoglobin ≥ 12 g/dL\n",
        title="Cardiovascular Evaluation of Patients With High Cholesterol and Normal Volunteers",
    )
    assert titled["Age 18 years or older"].rule.kind == "age"  # type: ignore[attr-defined]
    assert titled["Hemoglobin ≥ 12 g/dL"].rule.kind == "manual"  # type: ignore[attr-defined]


def test_a_later_if_line_makes_the_limits_it_names_evidence() -> None:
    """NCT00003341: "Transferrin saturation at least 20%" then "If transferrin saturation is
    less than 20% …, investigator may use bone marrow …"; NCT00004079: "Creatinine =< 1.5
    mg/dl" then "Creatinine CL >= 60 ml/min if creatinine > 1.5 mg/dl"."""
    got = _criteria(
        "Inclusion Criteria:\n- Transferrin saturation at least 20%\n- Hemoglobin ≥ 9 g/dL\n"
        "- If transferrin saturation is less than 20%, investigator may use a bone marrow "
        "examination\n"
    )
    rule = got["Transferrin saturation at least 20%"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None
    assert got["Hemoglobin ≥ 9 g/dL"].rule.kind == "lab"  # type: ignore[attr-defined]


def test_a_windowed_lead_in_without_items_reaches_the_lab_lines_after_it() -> None:
    """NCT00004079: "Pretreatment laboratory data, obtained within 14 days of study entry, must
    meet the following criteria:" then the labs, the source's nesting lost."""
    got = _criteria(
        "Inclusion Criteria:\n- Pretreatment laboratory data, obtained within 14 days of study "
        "entry, must meet the following criteria:\n- ANC >= 1,500 /mm^3\n- DLCO >= 80% "
        "predicted\n- No prior chemotherapy\n"
    )
    anc = got["ANC >= 1,500 /mm^3"].rule  # type: ignore[attr-defined]
    assert anc.kind == "lab" and anc.within is not None and anc.within.amount == 14
    assert got["No prior chemotherapy"].context is None  # type: ignore[attr-defined]


def test_otherwise_and_allowances_on_other_lines_make_decisions_evidence() -> None:
    """NCT00004941: "Concurrent methotrexate permitted if …" then "Otherwise, no methotrexate
    within 4 weeks"; NCT05142592: "Subjects with well-controlled HIV may be enrolled if all
    the following criteria are met:" below "History of known HIV infection."; an allowance
    inside a line is that line's own (the allowance law), not another's."""
    got = _criteria(
        "Inclusion Criteria:\n- Concurrent methotrexate permitted if treatment began at least 3 "
        "months prior to enrollment\n- Otherwise, no methotrexate within 4 weeks prior to "
        "enrollment\nExclusion Criteria:\n- History of known HIV infection.\n- Pregnancy\n"
        "- Subjects with well-controlled HIV may be enrolled if all the following criteria are "
        "met:\n  - CD4 count above 250 cells/uL\n"
    )
    rule = got["Otherwise, no methotrexate within 4 weeks prior to enrollment"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None  # (its reason: session 29's law)
    hiv = got["History of known HIV infection."].rule  # type: ignore[attr-defined]
    assert hiv.kind == "manual" and hiv.evidence is not None
    assert got["Pregnancy"].rule.kind == "pregnancy"  # type: ignore[attr-defined]
    own = _criteria(
        "Exclusion Criteria:\n- Active tuberculosis. NOTE: Subjects with a positive PPD and a "
        "normal chest x-ray are eligible.\n"
    )
    assert (
        own[
            "Active tuberculosis. NOTE: Subjects with a positive PPD and a normal chest x-ray are eligible."
        ].rule.kind
        != "manual"
    )  # type: ignore[attr-defined]


def test_a_labelled_waiver_lead_in_and_population_headings() -> None:
    """NCT00006091: "Hepatic: Unless due to direct disease infiltration of the liver:" then the
    limits, their nesting lost; NCT00006278: "PATIENTS WITH NORMAL ADRENAL GLANDS:" and
    "PATIENTS WITH ACTH-INDEPENDENT CUSHING'S SYNDROME:", each over its own lines."""
    got = _criteria(
        "Inclusion Criteria:\n- Hepatic: Unless due to direct disease infiltration of the "
        "liver:\n- ALT no greater than 2.5 times ULN\n"
    )
    assert got["ALT no greater than 2.5 times ULN"].rule.kind == "manual"  # type: ignore[attr-defined]
    groups = _criteria(
        "Inclusion Criteria:\nPATIENTS WITH NORMAL ADRENAL GLANDS:\n- ECOG 0-1\n"
        "PATIENTS WITH ACTH-INDEPENDENT CUSHING'S SYNDROME:\n- Will be aged 18 or older;\n"
    )
    assert groups["Will be aged 18 or older;"].rule.kind == "manual"  # type: ignore[attr-defined]


def test_items_after_a_subgroups_lead_in_are_evidence() -> None:
    """NCT03188965: "Known HIV-infected persons are not eligible if any of the following criteria
    apply：" then "CD4+ T-cell count less than 350 cells/μL", the nesting lost; NCT00005086:
    "No other malignancy within the past 3 years except:" then its exception items."""
    got = _criteria(
        "Exclusion Criteria:\n- Pregnancy\n- Known human immunodeficiency virus (HIV)-infected "
        "persons are not eligible if any of the following criteria apply：\n- CD4+ T-cell count "
        "less than 350 cells/μL\n"
    )
    assert got["Pregnancy"].rule.kind == "pregnancy"  # type: ignore[attr-defined]
    rule = got["CD4+ T-cell count less than 350 cells/μL"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and "subgroup" in rule.reason


# Session 22 (fresh audits 26-31): a record's text, its title, the criterion that must be
# evidence (a review item keeping its computable part), and criteria of the same record that
# must keep their rule kind.
EVIDENCE = [
    pytest.param(  # an inclusion offering a way in "other … than X"
        "Inclusion Criteria:\n- Diagnosis of AIDS and life-threatening CMV infection.\n- Diagnosis"
        " of other immunodeficiencies other than AIDS, with life-threatening CMV disease.\n",
        None, "Diagnosis of AIDS and life-threatening CMV infection.", {}, id="NCT00002025",
    ),
    pytest.param(  # a drug allowed on another line
        "Exclusion Criteria:\n- Prior endocrine therapy.\n- Sex hormones (GnRH agonists are "
        "allowed).\n",
        None, "Prior endocrine therapy.", {}, id="NCT05306041",
    ),
    pytest.param(  # top-level lines after a nested lead-in; a later heading ends the run
        "Inclusion Criteria:\n- Low-grade lymphoma\n  - At least 3 of the following risk "
        "factors:\n- Over 60 years of age\n- LDH greater than normal\nAge:\n- Under 70\n",
        None, "Over 60 years of age", {"Under 70": "age"}, id="NCT00006252",
    ),
    pytest.param(  # therapy under "Concurrent Medication: Excluded:", not under "Prior"
        "Exclusion Criteria:\nConcurrent Medication:\nExcluded:\n- Therapy with amphotericin B or"
        " fluconazole.\nPrior Medication:\nExcluded:\n- Prior fluconazole.\n",
        None, "Therapy with amphotericin B or fluconazole.", {"Prior fluconazole.": "therapy"},
        id="NCT00002016",
    ),
    pytest.param(  # a treatment the title says patients are naive to
        "Inclusion Criteria:\n- Previous treatment with antiretrovirals.\n",
        "Saquinavir in HIV-1 Infected Antiretroviral-Naive Patients",
        "Previous treatment with antiretrovirals.", {}, id="NCT00002178",
    ),
    pytest.param(  # a count lead-in whose items lost their nesting
        "Inclusion Criteria:\n- Adults with food insecurity, AND\n- Also has one of more of the"
        " following chronic diseases:\n- Hypertension,\n- Stroke/TIA,\n",
        None, "Hypertension,", {}, id="NCT03937934",
    ),
    pytest.param(  # a subgroup line allowing other values of an analyte
        "Inclusion Criteria:\n- Total bilirubin =< 1.5 x upper limit of normal (ULN)\n- Patients "
        "with documented Gilbert's disease may have bilirubin up to 2.5 mg/dL\n- Platelets >= "
        "100,000/mm3\n",
        None, "Total bilirubin =< 1.5 x upper limit of normal (ULN)",
        {"Platelets >= 100,000/mm3": "lab"}, id="NCT03598257",
    ),
    pytest.param(  # a dangling lead-in ("Persons with")
        "Inclusion Criteria:\nPersons with\n-  stroke / cerebrovascular disease\n-  multiple "
        "sclerosis\n",
        None, "multiple sclerosis", {}, id="NCT03863379",
    ),
    pytest.param(  # a subgroup piece cut from its limit at ";"
        "Inclusion Criteria:\n- ALT ≤2.5×ULN; for patients with liver metastasis, ALT should be"
        " ≤5×ULN;\n",
        None, "ALT ≤2.5×ULN; for patients with liver metastasis, ALT should be ≤5×ULN;", {},
        id="NCT05004142",
    ),
    pytest.param(  # a heading for a subgroup
        "Inclusion Criteria:\n- Age 18 or older\nFOR PATIENTS UNDERGOING BAL:\nHematocrit greater"
        " than 27 percent.\n",
        None, "Hematocrit greater than 27 percent.", {"Age 18 or older": "age"}, id="NCT00001471",
    ),
    pytest.param(  # a lead-in for a subgroup whose items lost their nesting
        "Inclusion Criteria:\n-  In the absence of marrow involvement:\n-  Absolute neutrophil "
        "count at least 1,000/mm3\n",
        None, "Absolute neutrophil count at least 1,000/mm3", {}, id="NCT00002825",
    ),
    pytest.param(  # an age lead-in whose items lost their nesting
        "Inclusion Criteria:\n- Age 65-70 years:\n- LVEF at least 45%\n", None,
        "LVEF at least 45%", {}, id="NCT00005984",
    ),
    pytest.param(  # "If under 65, …" says what happens to the ages the limit leaves out
        "Inclusion Criteria:\nAge:\n- 65 to 74\n- If under 65, higher priority is given to "
        "protocol MRC-VII unless entry into this study would be more appropriate\n", None,
        "65 to 74", {}, id="NCT00002653",
    ),
    # session 28 (fresh audit 75)
    pytest.param(  # a limit for a subgroup named after the limit relaxes the line above
        "Inclusion Criteria:\n* ALT \\< 1.5 x ULN\n* ALT \\< 2.5 x ULN (patients with liver "
        "metastasis)\n* Creatinine < 1.5 mg/dL\n", None, "ALT \\< 1.5 x ULN",
        {"Creatinine < 1.5 mg/dL": "lab"}, id="NCT01683682",
    ),
    pytest.param(  # a top-level "excluded from the … interventions … for:" keeps its siblings
        "Exclusion Criteria:\n-  Prisoners.\n-  Participants will be excluded from the physical "
        "activity and weight loss interventions (but not the smoking cessation component) for:\n"
        "-  Pregnant or plans to become pregnant.\n", None,
        "Pregnant or plans to become pregnant.", {}, id="NCT05687604",
    ),
    pytest.param(  # every lead-in above an item must let it stand alone
        "Inclusion Criteria:\n* Patient must meet at least one major criterion or meet a minimum"
        " of two minor criteria as described below:\n  * Major criteria\n    * Diffusing capacity"
        " of the lung for carbon monoxide (DLCO) =\\< 50% predicted\n", None,
        "Diffusing capacity of the lung for carbon monoxide (DLCO) =\\< 50% predicted", {},
        id="NCT00109876",
    ),
    pytest.param(  # a group's label glued to the end of the line above
        "Inclusion Criteria:\nMSK Patients\n\n* All individuals who have had at least one point"
        " of contact as a patient. Household Members of MSK Patients\n* Individuals aged 18 or "
        "older\n", None, "Individuals aged 18 or older", {}, id="NCT04697927",
    ),
    pytest.param(  # a later sentence naming the measure again: another way in
        "Inclusion Criteria:\n* Creatinine \\< 100 µmol/L and calculated creatinine-clearance \\> "
        "50 ml/min. If calculated creatinine-clearance is \\< 50 ml/min, an EDTA clearance "
        "should be performed.\n", None, "Creatinine \\< 100 µmol/L and calculated creatinine-"
        "clearance \\> 50 ml/min. If calculated creatinine-clearance is \\< 50 ml/min, an EDTA "
        "clearance should be performed.", {}, id="NCT03540420",
    ),
    pytest.param(  # "uncontrollable" reaches both items
        "Exclusion Criteria:\n- Uncontrollable pleural effusion or ascites\n- Pregnancy\n", None,
        "Uncontrollable pleural effusion or ascites", {"Pregnancy": "pregnancy"},
        id="NCT05697237",
    ),
    # session 28 (fresh audit 76)
    pytest.param(  # a condition asked for and its absence: the trial's groups
        "Inclusion Criteria:\n* PCOS\n* Non-PCOS\n", None, "PCOS", {}, id="NCT06124261",
    ),
    pytest.param(  # "is not a criterion for exclusion" on an inclusion line reaches exclusions
        "Inclusion Criteria:\n* Age ≥18 years\n* Any non-lung cancer treated in the past with no"
        " obvious recurrence or ongoing treatment is not a criterion for exclusion.\nExclusion "
        "Criteria:\n* History of other malignancies within the past 3 years\n* History of lung "
        "cancer in the previous 5 years\n", "A Registry for People With Lung Cancer",
        "History of other malignancies within the past 3 years", {"Age ≥18 years": "age"},
        id="NCT06424327",
    ),
    pytest.param(  # "For the X cohort" names the cohort of the lines after it
        "Exclusion Criteria:\nFor the endometriosis cohort\n\n* autoimmune disease\n", None,
        "autoimmune disease", {}, id="NCT06907303",
    ),
    pytest.param(  # a site after the last item reaches back over the list
        "Exclusion Criteria:\n* Complicated with malignancies or borderline tumors of the "
        "reproductive tract\n", None,
        "Complicated with malignancies or borderline tumors of the reproductive tract", {},
        id="NCT05932082",
    ),
    pytest.param(  # a subject's clause leads the list
        "Exclusion Criteria:\n* Individuals who had been hospitalised with complications of "
        "Diabetes mellitus, Chronic Kidney disease, Hypertension in the previous 6 months\n",
        None, "Individuals who had been hospitalised with complications of Diabetes mellitus, "
        "Chronic Kidney disease, Hypertension in the previous 6 months", {}, id="NCT05696808",
    ),
    pytest.param(  # "with or without" makes what follows optional
        "Inclusion Criteria:\n* Adult patients diagnosed as having pleural thickening with or "
        "without pleural effusion.\n", None, "Adult patients diagnosed as having pleural "
        "thickening with or without pleural effusion.", {}, id="NCT05701462",
    ),
    pytest.param(  # tumour types, one of them in an unread piece, or under "Diagnoses:"
        "Inclusion Criteria:\n* AML and medium-high risk MDS patients confirmed by histology and"
        " cytology;\n* Diagnoses: AML, MDS\n", None, "Diagnoses: AML, MDS",
        {"AML and medium-high risk MDS patients confirmed by histology and cytology;": "manual"},
        id="NCT05703204",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "title", "key", "kept"), EVIDENCE)
def test_session_22_readings_make_criteria_evidence(
    text: str, title: str | None, key: str, kept: dict[str, str]
) -> None:
    got = _criteria(text, title=title)
    rule = got[key].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule
    for other, kind in kept.items():
        assert got[other].rule.kind == kind  # type: ignore[attr-defined]


def test_the_same_lines_alone_still_decide() -> None:
    """Without the neighbour or title that changes them, the lines above keep their rules; an
    "if under 18, …" line about patients inside the age limit changes nothing."""
    consent = _criteria(
        "Inclusion Criteria:\n- Are at least 13 years old.\n- Have consent of parent or guardian"
        " if under 18 years of age.\n"
    )
    assert consent["Are at least 13 years old."].rule.kind == "age"  # type: ignore[attr-defined]
    alone = _criteria(
        "Inclusion Criteria:\n- Diagnosis of AIDS and life-threatening CMV infection.\n"
    )
    # (alone it is evidence too: an inclusion's diagnosis beside unread words, session 29)
    assert alone["Diagnosis of AIDS and life-threatening CMV infection."].rule.kind == "manual"  # type: ignore[attr-defined]
    plain = _criteria(
        "Inclusion Criteria:\n- Previous treatment with antiretrovirals.\n",
        title="Saquinavir in HIV-1 Infected Patients",
    )
    assert plain["Previous treatment with antiretrovirals."].rule.kind == "therapy"  # type: ignore[attr-defined]


def test_an_outer_lead_ins_window_reaches_nested_lab_items() -> None:
    """NCT05744427: "Laboratory tests performed within 7 days … meet the following criteria:" >
    "Bone marrow function:" > "hemoglobin ≥9.0 g/dL": read without the window, an old result
    would decide."""
    got = _criteria(
        "Inclusion Criteria:\n1. Laboratory tests performed within 7 days prior to initial dosing"
        " meet the following criteria:\n   - Bone marrow function:\n      - hemoglobin ≥9.0 g/dL\n"
    )
    rule = got["hemoglobin ≥9.0 g/dL"].rule  # type: ignore[attr-defined]
    assert rule.kind != "lab" or rule.within is not None, rule


@pytest.mark.parametrize(
    ("text", "key", "inclusion"),
    [
        pytest.param(  # "Ineligibility Criteria", no colon, inside the inclusion field
            "Inclusion Criteria:\n- Age 18 or older\nIneligibility Criteria\n- Female patients who"
            " are pregnant.\n",
            "Female patients who are pregnant.", "Age 18 or older", id="NCT00002561",
        ),
        pytest.param(  # a heading glued to the end of a line
            "Inclusion Criteria:\n-  Age 18 or older\n-  At least 4 weeks since other prior "
            "immunotherapy. Exclusion Criteria\n-  Diabetes mellitus requiring insulin.\n",
            "Diabetes mellitus requiring insulin.",
            "At least 4 weeks since other prior immunotherapy.", id="NCT00006046",
        ),
    ],
)  # fmt: skip
def test_headings_the_source_lost_open_the_exclusions(text: str, key: str, inclusion: str) -> None:
    [record] = parse_record_text(text, "any.txt")
    sections = {" ".join(c.text.split()): c.section for c in parse_record(record).criteria}
    assert sections[key] == "exclusion"
    assert sections[inclusion] == "inclusion"


@pytest.mark.parametrize(
    ("text", "before", "exception"),
    [
        (  # NCT00005080 (audit fresh9): the sub-bullet is an exception to the bound above it
            "Inclusion Criteria:\n- Calculated Creatinine Clearance >= 50 ml/min\n"
            "  - Unless attributable to lymphoma\n- Age 18 or older\n",
            "Calculated Creatinine Clearance >= 50 ml/min",
            "Unless attributable to lymphoma",
        ),
        (
            "Exclusion Criteria:\n- Prior chemotherapy\n- Except for adjuvant therapy for "
            "breast cancer\n",
            "Prior chemotherapy",
            "Except for adjuvant therapy for breast cancer",
        ),
    ],
)
def test_a_line_opening_with_unless_or_except_makes_the_one_before_evidence(
    text: str, before: str, exception: str
) -> None:
    got = _criteria(text)
    rule = got[before].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None
    assert "the next line makes an exception" in rule.reason
    if "Age 18" in text:
        assert got["Age 18 or older"].rule.kind == "age"  # type: ignore[attr-defined]


def test_an_exception_to_its_own_clause_is_not_the_lines_before() -> None:
    """NCT04577963, NCT05720260: "Except for Cohort A, Prior therapy targeting CTLA-4 …" and
    "With the exception of alopecia, any unresolved toxicities …" except their own clause."""
    got = _criteria(
        "Exclusion Criteria:\n- Calculated Creatinine Clearance < 50 ml/min\n- Except for Cohort A,"
        " Prior therapy targeting CTLA-4\n- Pregnancy or lactation.\n- With the exception of "
        "alopecia, any unresolved toxicities from prior therapy\n"
    )
    assert got["Calculated Creatinine Clearance < 50 ml/min"].rule.kind == "measure"  # type: ignore[attr-defined]
    assert got["Pregnancy or lactation."].rule.kind != "manual"  # type: ignore[attr-defined]


def test_a_cytopenia_let_in_relaxes_the_counts_limit() -> None:
    """NCT00006760 (audit fresh11): "Metastasis to bone marrow with granulocytopenia, anemia,
    and/or thrombocytopenia allowed" above "Absolute neutrophil count at least 1,000/mm^3"."""
    got = _criteria(
        "Inclusion Criteria:\n- Metastasis to bone marrow with granulocytopenia, anemia, and/or "
        "thrombocytopenia allowed\n- Absolute neutrophil count at least 1,000/mm^3\n"
        "- Bilirubin no greater than 1.5 mg/dL\n"
    )
    anc = got["Absolute neutrophil count at least 1,000/mm^3"].rule  # type: ignore[attr-defined]
    assert anc.kind == "manual" and anc.evidence is not None
    assert got["Bilirubin no greater than 1.5 mg/dL"].rule.kind == "lab"  # type: ignore[attr-defined]
    # a therapy for a cytopenia allowed leaves the count's limit standing
    kept = _criteria(
        "Inclusion Criteria:\n- Concurrent epoetin alfa for anemia allowed\n"
        "- Hemoglobin at least 9 g/dL\n"
    )
    assert kept["Hemoglobin at least 9 g/dL"].rule.kind == "lab"  # type: ignore[attr-defined]


def test_an_inclusion_asking_for_the_trials_own_drugs_as_prior_treatment_is_evidence() -> None:
    """NCT05085626 (audit fresh8, drugs22): the title gives fluzoparib, chidamide and
    camrelizumab; "Previous treatment with immune checkpoint inhibitors, PARP inhibitors …"
    among the inclusions lost its "no"."""
    text = (
        "Inclusion Criteria:\n- Previous treatment with immune checkpoint inhibitors, PARP "
        "inhibitors and HDAC inhibitors;\n- Prior treatment with an anthracycline\n"
    )
    title = "Fluzoparib in Combination With Chidamide or Camrelizumab for Advanced Breast Cancer"
    got = _criteria(text, title=title)
    rule = got[
        "Previous treatment with immune checkpoint inhibitors, PARP inhibitors and HDAC inhibitors;"
    ].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None and "lost 'no'" in rule.reason
    assert got["Prior treatment with an anthracycline"].rule.kind == "therapy"  # type: ignore[attr-defined]
    # without the title's drugs the line decides
    alone = _criteria(text, title="A Study in Advanced Breast Cancer")
    key = (
        "Previous treatment with immune checkpoint inhibitors, PARP inhibitors and HDAC inhibitors;"
    )
    assert alone[key].rule.kind != "manual"  # type: ignore[attr-defined]


def test_a_record_without_a_title_names_its_own_disease_in_its_inclusions() -> None:
    """NCT03930797 (audit fresh11): no title; the inclusions ask for breast cancer, so "any
    cancer other than non-melanoma skin cancer" cannot decide against the trial's own."""
    text = (
        "Inclusion Criteria:\n- Patient has a medically confirmed diagnosis of non-recurrent "
        "breast cancer (Stages T1-T4, N0-N1, M0)\n- No history of HIV infection\n"
        "Exclusion Criteria:\n- Patient past or current history of any cancer other than "
        "non-melanoma skin cancer\n- HIV infection\n"
    )
    got = _criteria(text)
    cancer = got[
        "Patient past or current history of any cancer other than non-melanoma skin cancer"
    ]
    assert cancer.rule.kind == "manual" and "own condition" in cancer.rule.reason  # type: ignore[attr-defined]
    # a condition an inclusion asks to be absent is not the trial's own: it still decides
    assert got["HIV infection"].rule.kind == "condition"  # type: ignore[attr-defined]


def test_a_cancer_named_in_an_untitled_records_inclusions_is_its_own() -> None:
    """NCT03799939: "Rectal adenocarcinoma with curative intent … resection" (no diagnosis word)
    then "Patients with concurrent or previous malignant tumors within 5 years"."""
    got = _criteria(
        "Inclusion Criteria:\n- Rectal adenocarcinoma with curative intent abdominoperineal "
        "resection\nExclusion Criteria:\n- Previous malignant tumors within 5 years\n"
    )
    rule = got["Previous malignant tumors within 5 years"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and "own condition" in rule.reason


def test_no_restrictions_on_counts_for_a_subgroup_waives_the_count_limits() -> None:
    """NCT00004065 (audit fresh34): "No restrictions based on peripheral blood counts for CML
    and Ph-positive ALL" under "Hematopoietic:" after the platelet limit."""
    got = _criteria(
        "Inclusion Criteria:\n- Platelet count greater than 100,000/mm^3\n- No restrictions "
        "based on peripheral blood counts for CML and Ph-positive ALL\n"
    )
    rule = got["Platelet count greater than 100,000/mm^3"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None and "waive" in rule.reason


def test_items_under_an_allowed_lead_in_are_not_required() -> None:
    """NCT00002008 (audit fresh36): "- Allowed:" then "- Kaposi's sarcoma." at the same level."""
    got = _criteria(
        "Inclusion Criteria:\nPatients must have:\n-  Anticipated survival of at least 6 months.\n"
        "-  Allowed:\n-  Kaposi's sarcoma.\n"
    )
    rule = got["Kaposi's sarcoma."].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None and "allowed" in rule.reason


def test_inclusion_lines_naming_different_diagnoses_are_alternatives() -> None:
    """NCT03795779 (audit fresh36): "2. De novo AML", "4. MDS with excess blasts (RAEB-2)", "6.
    Myeloproliferative neoplasms with blastic transformation": one of them, not all."""
    got = _criteria(
        "Inclusion Criteria:\n1. De novo AML\n2. MDS with excess blasts (RAEB-2)\n"
        "3. Myeloproliferative neoplasms with blastic transformation\n"
    )
    rule = got["Myeloproliferative neoplasms with blastic transformation"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None
    # one diagnosis line, and one that narrows it, still decide
    alone = _criteria(
        "Inclusion Criteria:\n- Histologically confirmed breast cancer\n"
        "- HER2-negative breast cancer\n"
    )
    assert alone["Histologically confirmed breast cancer"].rule.kind != "manual"  # type: ignore[attr-defined]


# Session 25 (fresh audits 37, 38): lines whose neighbours change what they mean.


def _rule(got: dict[str, object], text: str) -> dict:
    return got[text].rule.model_dump(mode="json", by_alias=True, exclude_defaults=True)  # type: ignore[attr-defined]


def test_a_sub_items_trailing_or_links_its_parent_to_the_next_item() -> None:
    """NCT00005580: "- CLL" / "  - Prior chemotherapy allowed … OR" / "- indolent NHL": CLL is
    one arm of an either/or; required alone, every NHL patient failed."""
    got = _criteria(
        "Inclusion Criteria:\n-  Histologically confirmed chronic lymphocytic leukemia\n"
        "  -  Stage II, III, or IV\n  -  Prior chemotherapy allowed, including fludarabine OR\n"
        "-  Histologically confirmed indolent non-Hodgkin's lymphoma\n-  No CNS disease\n"
    )
    for text in (
        "Histologically confirmed chronic lymphocytic leukemia",
        "Histologically confirmed indolent non-Hodgkin's lymphoma",
    ):
        assert _rule(got, text)["kind"] == "manual", text


def test_a_line_ending_either_is_not_read_alone() -> None:
    """NCT05700721: "Participant must have brain metastasis and either" / the tumour types."""
    got = _criteria(
        "Inclusion Criteria:\n1. Age >= 18 years old.\n2. Participant must have brain metastasis "
        "and either\n3. Advanced small cell lung cancer\n"
    )
    joined = [t for t in got if t.startswith("Participant must have brain metastasis")]
    assert joined
    rule = _rule(got, joined[0])
    assert rule["kind"] != "condition", rule


def test_a_flattened_inline_list_links_its_bare_items() -> None:
    """NCT00002825: "The following not considered measurable: Bone lesions …" / "Pleural
    effusion": the bare phrases may be items of that list, not requirements."""
    got = _criteria(
        "Inclusion Criteria:\n-  Measurable disease required\n-  The following not considered "
        "measurable: Bone lesions measured by bone scan or bone marrow involvement\n"
        "-  Central nervous system disease documented by cerebrospinal fluid cytology\n"
        "-  Pleural effusion\n"
    )
    assert _rule(got, "Pleural effusion")["kind"] == "manual"
    # a lead-in whose whole list is on its line leaves the lines after it alone
    whole = _criteria(
        "Exclusion Criteria:\n-  Inadequate function as evidenced by the following: bilirubin > "
        "ULN, ALT > 1.5 x ULN\n-  Pleural effusion\n"
    )
    assert _rule(whole, "Pleural effusion")["kind"] == "condition"


@pytest.mark.parametrize(
    ("lines", "text", "excepted"),
    [
        # NCT00001783: the record's own line for alcohol or drug abuse decides it
        (
            ["History of severe alcohol or drug abuse.", "History of psychiatric illness."],
            "History of psychiatric illness.",
            ["substance_abuse"],
        ),
        # a line on drug dependence only: alcohol use disorder stays psychiatric
        (
            ["Have a history of drug dependence.", "Have a mental disorder."],
            "Have a mental disorder.",
            ["drug_dependence"],
        ),
        # type 1 diabetes handled by a diabetes line, not again as autoimmune disease
        (
            ["Diabetes mellitus", "Any documented autoimmune disease"],
            "Any documented autoimmune disease",
            ["type1_diabetes"],
        ),
        # not members in general: an MI two years ago is still coronary artery disease
        (
            ["Myocardial infarction within 6 months", "Coronary artery disease"],
            "Coronary artery disease",
            [],
        ),
    ],
)
def test_a_disputed_member_handled_on_its_own_line(
    lines: list[str], text: str, excepted: list[str]
) -> None:
    got = _criteria("Exclusion Criteria:\n" + "".join(f"- {x}\n" for x in lines))
    rule = _rule(got, text)
    assert rule["kind"] == "condition", rule
    assert rule.get("except", []) == excepted


def test_a_disputed_member_is_never_excepted_on_the_requiring_side() -> None:
    """Inclusion lines name the trial's diseases; they handle nothing for an exclusion."""
    got = _criteria(
        "Inclusion Criteria:\n- History of alcohol or drug abuse\n"
        "Exclusion Criteria:\n- History of psychiatric illness\n"
    )
    assert "except" not in _rule(got, "History of psychiatric illness")


@pytest.mark.parametrize(
    ("text", "judged"),
    [
        ("No active ischemic heart disease.", True),  # NCT00001428: not a stable I25.10
        ("Patients with active coronary artery disease", True),
        ("No active angina", False),  # angina's "active" is on the problem list
    ],
)
def test_active_coronary_disease_is_judged(text: str, judged: bool) -> None:
    from eligibility.transform import parse_criterion

    section = "exclusion" if text.startswith("Patients") else "inclusion"
    dumped = str(parse_criterion(text, section, None, ()).model_dump(mode="json"))
    assert ("ongoing ischaemia" in dumped) is judged, dumped


def test_one_tumour_type_among_unread_ones_is_evidence() -> None:
    """NCT00002825: "Sarcomas: Rhabdomyosarcoma Ewing's sarcoma, …, Osteosarcoma, Other soft
    tissue sarcomas" required osteosarcoma of every patient."""
    from eligibility.transform import parse_criterion

    rule = parse_criterion(
        "Sarcomas: Rhabdomyosarcoma Ewing's sarcoma, Peripheral neuroectodermal tumor (PNET), "
        "Osteosarcoma, Other soft tissue sarcomas",
        "inclusion",
        None,
        (),
    )
    assert rule.kind == "manual" and rule.evidence is not None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "section", "kind"),
    [
        # fresh audit 39: each read piece is evidence, the text decides nothing alone
        ("Have been or currently pregnant", "exclusion", "manual"),
        (
            "No history of prior malignancy with the exception of non-melanoma skin cancer. "
            "(Controls)",
            "inclusion",
            "manual",
        ),
        (
            "Relevant history of physical or psychiatric illness or medical disorder that "
            "required treatment.",
            "exclusion",
            "manual",
        ),
        (
            "Blood urine nitrogen (BUN) greater than 20 mg/dL and/or serum creatinine greater "
            "than 1.2 mg/dL unresolved with change in diet or hydration",
            "exclusion",
            "manual",
        ),
        (
            "ECOG performance status of 0 or 1. If ECOG performance status is an inappropriate "
            "performance measurement (eg, chronically non-ambulatory), then Karnofsky performance "
            "status must be ≥ 70.",
            "inclusion",
            "manual",
        ),
        # still read: a current pregnancy, a plain exclusion
        ("Pregnant or breastfeeding", "exclusion", "any"),
        ("Platelet count ≥ 100,000/mm3", "inclusion", "lab"),
    ],
)
def test_fresh39_readings(text: str, section: str, kind: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == kind, rule
    if kind == "manual":
        assert rule.evidence is not None  # type: ignore[union-attr]


def test_a_sex_named_in_an_unread_piece_unreads_its_neighbour() -> None:
    """NCT05629429: "gender includes female and male" read as men only."""
    from eligibility.transform import parse_criterion

    rule = parse_criterion("20 years of age or older; gender includes female and male", "inclusion")
    assert "'allowed': ['male']" not in str(rule.model_dump())


@pytest.mark.parametrize(
    ("text", "section", "kind"),
    [
        # fresh audit 40
        (
            "One or more of the following diagnoses: primary pulmonary hypertension of the "
            "newborn, respiratory distress syndrome, pneumonia/sepsis",
            "inclusion",
            "manual",  # (session 29: a diagnosis beside unread words of an inclusion)
        ),
        ("At least two of the following: diabetes, hypertension, obesity", "inclusion", "manual"),
        (
            "History of heart failure, that is New York heart association (NYHA) Class III-IV",
            "exclusion",
            "manual",
        ),
        (
            "Active syphilis. NOTE: Subjects for whom serology is documented to be a false "
            "positive or due to a remote (> 6 months) treated infection are eligible.",
            "exclusion",
            "manual",
        ),
        # an allowance for any treated case says no more than "active": still read
        (
            "Active hepatitis B. Prior treated hepatitis B with undetectable viral load may be "
            "enrolled.",
            "exclusion",
            "all",
        ),
        ("Have a history of an AIDS-defining illness.", "exclusion", "manual"),
    ],
)
def test_fresh40_readings(text: str, section: str, kind: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == kind, rule
    assert "'aids'" not in str(rule.model_dump())


def test_a_bare_tumour_line_is_another_cohorts_diagnosis() -> None:
    """NCT04169841: "Metastatic prostate cancer" / "Documented evidence of mCRPC" among other
    cohorts' tumour lines; a line naming no cancer of its own ("Complete surgical excision of
    tumor") leaves the diagnosis read."""
    got = _criteria(
        "Inclusion Criteria:\n- Metastatic head and neck cancer\n- Metastatic prostate cancer\n"
        "- Documented evidence of metastatic castration resistant prostate cancer (mCRPC)\n"
    )
    rule = _rule(
        got, "Documented evidence of metastatic castration resistant prostate cancer (mCRPC)"
    )
    assert rule["kind"] == "manual" and "evidence" in rule
    alone = _criteria(
        "Inclusion Criteria:\n- Histologically proven hepatoblastoma\n"
        "- Complete surgical resection of tumor\n"
    )
    assert _rule(alone, "Histologically proven hepatoblastoma")["kind"] != "manual"


def test_a_misspelt_heading_still_names_its_section() -> None:
    """NCT00005778: "Exlcusion Criteria:" inside the inclusion text turned every exclusion
    into a requirement ("Serum creatinine > 3.0 mg/dL")."""
    from eligibility.headings import heading_kind

    assert heading_kind("Exlcusion Criteria:") == "exclusion"
    assert heading_kind("Inclsion Criteria:") == "inclusion"
    assert heading_kind("Occlusion criteria:") != "exclusion"  # two letters off: another word
    got = _criteria(
        "Inclusion Criteria:\n- Age 18 or older\nExlcusion Criteria:\n"
        "- Serum creatinine > 3.0 mg/dL.\n"
    )
    assert got["Serum creatinine > 3.0 mg/dL."].section == "exclusion"  # type: ignore[attr-defined]


def test_lines_under_a_donor_label_are_not_the_patients() -> None:
    """NCT00006413: "DONOR (Any of the following)" then "HIV positive." excluded HIV-positive
    recipients; the patient's own lines under "PATIENT (…)" stay read."""
    got = _criteria(
        "Exclusion Criteria:\nPATIENT (Any of the following)\nPregnant or lactating\n"
        "DONOR (Any of the following)\nHIV positive.\n"
    )
    assert _rule(got, "Pregnant or lactating")["kind"] == "any"
    donor = _rule(got, "HIV positive.")
    assert donor["kind"] == "manual" and "donor" in donor["reason"]


@pytest.mark.parametrize(
    ("inclusion", "evidence"),
    [
        ("Cohort 1 only: within 2 years of completing initial chemotherapy", True),
        ("Eligible for chemotherapy with carboplatin and gemcitabine", False),  # planned
        ("No prior chemotherapy", False),
    ],
)
def test_a_treatment_an_inclusion_asks_for(inclusion: str, evidence: bool) -> None:
    """NCT03921658: "Previous exposure to chemotherapy" excluded the cohort whose inclusion asks
    for completed initial chemotherapy."""
    got = _criteria(
        f"Inclusion Criteria:\n- {inclusion}\nExclusion Criteria:\n"
        "- Previous exposure to chemotherapy\n"
    )
    rule = _rule(got, "Previous exposure to chemotherapy")
    assert (rule["kind"] == "manual") is evidence, rule


@pytest.mark.parametrize(
    ("text", "section"),
    [
        # fresh audit 42: each read piece is evidence
        (
            "Subject must have a solid tumor type, specifically: small cell and non-small cell lung "
            "cancer; breast cancer (triple-negative); carcinoma of unknown primary; bladder cancer; "
            "and malignant melanoma.",
            "inclusion",
        ),
        ("Patients with a life expectancy superior to 12 weeks, at least.", "inclusion"),
        ("Pleural effusion or ascites > 1 liter.", "exclusion"),
    ],
)
def test_fresh42_readings(text: str, section: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


def test_a_rate_is_no_size_after_a_list() -> None:
    """ "… or creatinine clearance ≥ 60 mL/min" is its own alternative, not a size of the list."""
    from eligibility.transform import parse_criterion

    rule = parse_criterion(
        "Creatinine ≤ 1.5 mg/dL or creatinine clearance ≥ 60 mL/min", "inclusion", None, ()
    )
    assert rule.kind != "manual", rule


@pytest.mark.parametrize(
    "text",
    [
        # fresh audit 43
        "women with newly diagnosed with ovarian, primary peritoneal, or fallopian tube cancer",
        "Patients of either gender, aged greater than or equal to 18 years, with previously "
        "diagnosed NA or with clinical features consistent with that diagnosis.",
        "Patients and research volunteers will be accepted for bronchoscopy. Examples of disease "
        "that may be studied under this protocol include pulmonary fibrosis; and sarcoidosis.",
    ],
)
def test_fresh43_readings(text: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, "inclusion", None, ())
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "section", "primary", "kind"),
    [
        # fresh audit 44
        ("chronic kidney disease, stage 3 or 4;", "inclusion", (), "manual"),
        ("NAFLD and type 2 diabetes", "inclusion", (), "all"),  # a name, not a stage
        (
            "Exhibits dysregulation within the past six months as evidenced by 1) intentional "
            "self-injury and/or suicide attempt and/or 2) substance use disorder.",
            "inclusion",
            (),
            "manual",
        ),
        ("Pregnant females and lactation.", "exclusion", (), "any"),
        ("Prior history of invasive breast cancer.", "exclusion", ("breast_cancer",), "manual"),
        ("No inflammatory breast cancer", "inclusion", ("breast_cancer",), "not"),  # a subtype
    ],
)
def test_fresh44_readings(text: str, section: str, primary: tuple[str, ...], kind: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, primary)  # type: ignore[arg-type]
    assert rule.kind == kind, rule


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # fresh audit 45
        (
            "Patients who have had asthma, hives or an allergic reaction to aspirin, ibuprofen or "
            "any similar drugs.",
            "manual",
        ),
        (
            "Has invasive breast cancer. This does not include DCIS with <10% invasive component "
            "and a clinically node negative disease.",
            "all",
        ),  # the allowance law
    ],
)
def test_fresh45_readings(text: str, kind: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, "exclusion", None, ())
    assert rule.kind == kind, rule


@pytest.mark.parametrize(
    ("text", "section", "kind"),
    [
        # fresh audit 46
        ("Absolute neutrophil count ≤ 1500/µL, platelet count ≥ 100,000/µL", "inclusion", "manual"),
        ("Absolute neutrophil count ≥ 1500/µL, platelet count ≥ 100,000/µL", "inclusion", "all"),
        (
            "Coronary artery disease/myocardial infarction, acute coronary syndromes within the past "
            "6 months.",
            "exclusion",
            "manual",
        ),
        (
            "No myocardial infarction or unstable angina within the past 6 months",
            "inclusion",
            "not",
        ),
        (
            "distant metastasis or a malignant pleural or pericardial effusion",
            "exclusion",
            "manual",
        ),
    ],
)
def test_fresh46_readings(text: str, section: str, kind: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == kind, rule


@pytest.mark.parametrize(
    ("text", "section"),
    [
        # fresh audit 47
        ("patients with Psoriasis and Patients with A topic dermatitis", "inclusion"),
        ("Ischemic heart disease within 6 months", "exclusion"),
    ],
)
def test_fresh47_readings(text: str, section: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


def test_a_capitalised_line_naming_one_part_scopes_the_exclusions_after_it() -> None:
    """NCT00001392 (fresh audit 5): "RITUXIMAB AND CYCLOSPORINE. (CLOSED …)" names the pilot
    study an inclusion heading names; "Age < 4 years." after it is that part's."""
    got = _criteria(
        "Inclusion Criteria:\nINCLUSION CRITERIA FOR ADULT PATIENTS PARTICIPATING IN PILOT STUDY OF"
        " COMBINATION RITUXIMAB AND CYCLOSPORINE:\n- Subjects with idiopathic FSGS\n"
        "Exclusion Criteria:\n- Pregnant women\n- RITUXIMAB AND CYCLOSPORINE. (CLOSED FOR SUBJECT "
        "RECRUITMENT.)\n- Age < 4 years.\n"
    )
    age = got["Age < 4 years."].rule  # type: ignore[attr-defined]
    assert age.kind == "manual" and age.evidence.kind == "age", age
    assert got["Pregnant women"].rule.kind == "pregnancy"  # type: ignore[attr-defined]
    alone = _criteria("Exclusion Criteria:\n- CARDIAC FUNCTION\n- Age < 4 years.\n")
    assert alone["Age < 4 years."].rule.kind == "age"  # type: ignore[attr-defined]


def test_a_second_sentence_moved_by_required_is_evidence() -> None:
    """NCT00002123 (fresh audit 6): "Required: - AZT therapy … prior to screening. Active
    substance abuse." at the end of the exclusion text: the source lost a line break."""
    got = _criteria(
        "Inclusion Criteria:\n- HIV-1 seropositivity.\nExclusion Criteria:\n- Prior ddI.\n"
        "Required:\n-  AZT therapy at some time prior to screening. Active substance abuse.\n"
    )
    rule = got["AZT therapy at some time prior to screening. Active substance abuse."].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


def test_a_requirement_another_inclusion_refuses_is_evidence() -> None:
    """NCT04991480 (fresh audit 48): parts of one trial ask for and refuse a PARP inhibitor."""
    got = _criteria(
        "Inclusion Criteria:\n- Prior treatment with PARP inhibitor\n"
        "- No prior treatment with a PARP inhibitor\n"
    )
    rule = got["Prior treatment with PARP inhibitor"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence.kind == "therapy", rule
    alone = _criteria("Inclusion Criteria:\n- Prior treatment with PARP inhibitor\n")
    assert alone["Prior treatment with PARP inhibitor"].rule.kind == "therapy"  # type: ignore[attr-defined]


def test_siblings_of_a_meaning_lead_in_are_evidence() -> None:
    """NCT00000714 (fresh audit 48): "-  Serious intolerance to pentamidine therapy defined as
    follows:" then "-  Serum creatinine > 3.0 mg/dl." at the same level: a past reaction."""
    got = _criteria(
        "Inclusion Criteria:\nPatients must have:\n-  Serious intolerance to pentamidine therapy "
        "defined as follows:\n-  Serum creatinine > 3.0 mg/dl.\n"
    )
    assert got["Serum creatinine > 3.0 mg/dl."].rule.kind == "manual"  # type: ignore[attr-defined]
    glue = _criteria(
        "Inclusion Criteria:\n-  Adequate organ function defined as follows:\n"
        "-  Serum creatinine < 3.0 mg/dl.\n"
    )
    assert glue["Serum creatinine < 3.0 mg/dl."].rule.kind == "lab"  # type: ignore[attr-defined]


def test_an_allowance_naming_a_test_waives_its_limits() -> None:
    """NCT04345913 (fresh audit 49): anticoagulated patients allowed "provided that their
    medication dose and INR/PTT is stable" — the PTT and INR limits are not everyone's."""
    got = _criteria(
        "Inclusion Criteria:\n- Partial thromboplastin time (PTT) =< 1.5 x ULN\n"
        "- International normalized ratio (INR) =< 1.5 x ULN\n- Platelets >= 100,000/mcL\n"
        "- Patients who are therapeutically treated with an agent such as warfarin or heparin "
        "will be allowed to participate provided that their medication dose and INR/PTT is "
        "stable\n"
    )
    for text in (
        "Partial thromboplastin time (PTT) =< 1.5 x ULN",
        "International normalized ratio (INR) =< 1.5 x ULN",
    ):
        rule = got[text].rule  # type: ignore[attr-defined]
        assert rule.kind == "manual" and rule.evidence.kind == "lab", rule
    assert got["Platelets >= 100,000/mcL"].rule.kind == "lab"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "section"),
    [
        # fresh audit 49: a cause after the list reaches back over it
        ("TIA or stroke is attributed to high grade intracranial stenosis", "inclusion"),
        (
            "Have meningitis or brain or spinal cord damage thought to be caused by Histoplasma "
            "infection.",
            "exclusion",
        ),
    ],
)
def test_fresh49_readings(text: str, section: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


def test_diagnosed_within_dates_the_diagnosis() -> None:
    """NCT05077449 (fresh audit 49): "diagnosed within 3 years" counts by onset; "within 3
    years" alone keeps a state's presence in the window."""
    from eligibility.transform import parse_criterion

    rule = parse_criterion(
        "History of malignancy diagnosed within the past 3 years", "exclusion", None, ()
    )
    assert rule.kind == "condition" and rule.onset is True, rule  # type: ignore[union-attr]
    plain = parse_criterion("Malignancy within 3 years", "exclusion", None, ())
    assert plain.kind == "condition" and plain.onset is None, plain  # type: ignore[union-attr]


def test_a_direct_bilirubin_allowance_relaxes_the_total() -> None:
    """NCT04893109 (fresh audit 50): "For patients with Gilbert syndrome, the direct bilirubin
    should be within the institutional normal range" beside "Total bilirubin ≤ 1.2mg/dL"."""
    got = _criteria(
        "Inclusion Criteria:\nAdequate hepatic function:\n- Total bilirubin ≤ 1.2mg/dL\n"
        "- For patients with Gilbert syndrome, the direct bilirubin should be within the "
        "institutional normal range.\n"
    )
    rule = got["Total bilirubin ≤ 1.2mg/dL"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence.kind == "lab", rule


@pytest.mark.parametrize(
    ("text", "section"),
    [
        # fresh audit 51: the other section's heading glued to an item with no stop
        ("Inclusion Criteria:\n-  BMI > 19 and < 35\n-  Age 18-30 Exclusion Criteria\n"
         "-  Smokers\n-  Pregnancy\n", "exclusion"),
        ("Inclusion Criteria:\n- Able to provide informed consent Exclusion Criteria\n"
         "- Pregnancy\n", "exclusion"),
        # not a heading: a reference to the other section
        ("Inclusion Criteria:\n- Does not meet any of the Exclusion Criteria\n- Pregnancy\n",
         "inclusion"),
    ],
)  # fmt: skip
def test_glued_headings_without_a_stop(text: str, section: str) -> None:
    assert _criteria(text)["Pregnancy"].section == section  # type: ignore[attr-defined]


def test_age_lines_that_admit_no_one_are_evidence() -> None:
    """NCT03930485 (fresh audit 51): "Aged under 18 years old" included and "Aged <18 years
    old" excluded: one is a typo."""
    got = _criteria(
        "Inclusion Criteria:\n- Aged under 18 years old\nExclusion Criteria:\n- Aged <18 years old\n"
    )
    for text in ("Aged under 18 years old", "Aged <18 years old"):
        rule = got[text].rule  # type: ignore[attr-defined]
        assert rule.kind == "manual" and rule.evidence.kind == "age", rule
    fine = _criteria(
        "Inclusion Criteria:\n- Aged 18 or over\nExclusion Criteria:\n- Age 76 or older\n"
    )
    assert fine["Age 76 or older"].rule.kind == "age"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "section"),
    [
        # fresh audit 50/51: a definition, a likelihood, a reading after the condition
        (
            "Hypertension that is not controlled by the drug, and is defined as: SBP ≥150 mmHg "
            "and/or DBP ≥90 mmHg;",
            "exclusion",
        ),
        (
            "Kaposi's sarcoma or other malignancy likely to require chemotherapy during the first "
            "6 months of the study.",
            "exclusion",
        ),
        ("Hepatic disease, ALAT > 2 x normal.", "exclusion"),
    ],
)
def test_fresh51_readings(text: str, section: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert any(r.kind == "manual" and r.evidence is not None for r in _all_rules(rule)), rule


def _all_rules(rule):  # type: ignore[no-untyped-def]
    from eligibility.model import iter_rules

    return list(iter_rules(rule))


def test_an_agreement_with_the_sponsor_is_an_allowance() -> None:
    """NCT04234113 (fresh audit 51): ECOG 2 "to be discussed with the sponsor's medical monitor
    to be agreed for inclusion" — ECOG 2 is review, not fail."""
    from eligibility.transform import parse_criterion

    rule = parse_criterion(
        "ECOG performance score 0-1. Patients with ECOG is 2 to be discussed with the sponsor's "
        "medical monitor to be agreed for inclusion.",
        "inclusion",
        None,
        (),
    )
    assert rule.kind == "any", rule


def test_a_healthy_subjects_label_makes_inclusions_one_groups() -> None:
    """NCT03935373 (fresh audit 52): "Sjögren's syndrome" heads the patients' list; the
    exclusions' "Health Subjects" line says the trial enrols healthy subjects too."""
    text = (
        "Inclusion Criteria:\nSjögren's syndrome\n-  (1) primary or secondary SS\n-  (1) aged "
        "20 and 75 years\nExclusion Criteria:\n-  (1) pregnancy or breastfeeding\n"
    )
    one = _criteria(text)
    assert one["Sjögren's syndrome"].rule.kind == "condition"  # type: ignore[attr-defined]
    got = _criteria(text + "Health Subjects\n-  (1) pregnancy or breastfeeding\n")
    rule = got["Sjögren's syndrome"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence.kind == "condition", rule


def test_an_orphan_number_line_ends_the_range_above() -> None:
    """NCT05429294 (fresh audit 53): "ECOG 0" then a line "1." alone: a range "0-1" whose hyphen
    was lost; read alone, "ECOG 0" would fail every ECOG 1 patient."""
    got = _criteria(
        "Inclusion Criteria:\nFemale patients aged 18 years or older.\nECOG 0\n1.\nAt least one "
        "measurable lesion according to RECIST 1.1.\n"
    )
    assert got["ECOG 0 1."].rule.kind == "manual"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "section", "primary"),
    [
        # fresh audit 52
        (
            "Participants with confirmed PIK3CA mutant advanced or metastatic breast cancer",
            "inclusion",
            (),
        ),
        ("Brain metastases with clinically controlled neurologic symptoms.", "inclusion", ()),
        ("Osteoporosis, receiving biphosphonates", "exclusion", ()),
    ],
)
def test_fresh52_readings(text: str, section: str, primary: tuple[str, ...]) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, primary)  # type: ignore[arg-type]
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


def test_a_trial_about_brain_metastases_may_require_them() -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(
        "Brain metastases with clinically controlled neurologic symptoms.",
        "inclusion",
        None,
        ("brain_metastases",),
    )
    assert rule.kind == "all", rule


def test_a_gliomas_trial_excepts_no_metastases() -> None:
    """NCT00003375 (fresh audit 52): "No other malignancy" in a glioma trial — bone metastases
    are another cancer's; in a breast cancer trial they may be the trial's own."""
    from eligibility.transform import parse_criterion

    glioma = parse_criterion(
        "No other malignancy within the past 5 years", "inclusion", None, ("glioma",)
    )
    assert glioma.rule.except_ == ["glioma"], glioma  # type: ignore[union-attr]
    breast = parse_criterion(
        "No other malignancy within the past 5 years", "inclusion", None, ("breast_cancer",)
    )
    assert "secondary_malignancy" in breast.rule.except_, breast  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "section"),
    [
        # fresh audit 54/55
        (
            "Intravenous topical or oral antifungal, antiviral, or antibiotic agents to treat oral "
            "candidiasis, herpes simplex, herpes zoster, or bacterial infections that develop "
            "during the course of the study.",
            "exclusion",
        ),
        ("Adolescent participants: History of mood or psychotic disorder", "exclusion"),
        ("FEV1 at least 75% and at least 25% of predicted", "inclusion"),
        (
            "Central nervous system metastasis or meningeal metastasis with clinical symptoms",
            "exclusion",
        ),
    ],
)
def test_fresh55_readings(text: str, section: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


def test_an_item_with_its_own_qualifier_leaves_the_lists_history() -> None:
    """NCT00496535 (fresh audit 54): "history of documented thrombosis (PE or DVT), or known
    coagulopathy or thrombophilia" — a resolved DIC is for a person, not a history match."""
    from eligibility.transform import parse_criterion

    rule = parse_criterion(
        "Patients with history of documented thrombosis (PE or DVT), or known coagulopathy or "
        "thrombophilia",
        "exclusion",
        None,
        (),
    )
    # (since session 30 the unread first item makes the list evidence; the history still holds)
    rule = getattr(rule, "evidence", None) or rule
    conds = [r for r in rule.rules if r.kind == "condition"]  # type: ignore[union-attr]
    assert conds and all(r.history == "review" for r in conds), rule


def test_patient_and_control_volunteer_headings_are_cohorts() -> None:
    """NCT00001681 (fresh audit 55): "PATIENT VOLUNTEERS:" then "CONTROL NORMAL VOLUNTEERS:"."""
    got = _criteria(
        "Inclusion Criteria:\nPATIENT VOLUNTEERS:\nHIV positive.\nAge greater than 18 years.\n"
        "CONTROL NORMAL VOLUNTEERS:\nHealthy.\nNot taking any prescription medications.\n"
    )
    rule = got["HIV positive."].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


def test_at_least_one_yes_makes_the_items_above_alternatives() -> None:
    """NCT00494390 (fresh audits 56, 57): "2. Normal eye 3. Cataract … 9. refractive IOL" then
    "2.-9. (at least one yes)": cataract is one of eight ways in."""
    got = _criteria(
        "Inclusion Criteria:\n1. 18 year or older\n2. Normal eye\n3. Cataract\n4. Aphakia\n"
        "2.-4. (at least one yes)\n"
    )
    assert got["18 year or older"].rule.kind == "age"  # type: ignore[attr-defined]
    rule = got["Cataract"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


def test_age_arms_under_a_lead_in_are_their_labels_items() -> None:
    """NCT00005984 (fresh audit 57): "Performance status:" > "Age 65-70 years:", "Karnofsky
    80-100%", "Under 65 years:", "Karnofsky 90-100%"."""
    got = _criteria(
        "Inclusion Criteria:\n-  Performance status:\n  -  Age 65-70 years:\n  -  Karnofsky "
        "80-100%\n  -  Under 65 years:\n  -  Karnofsky 90-100%\n"
    )
    for text in ("Karnofsky 80-100%", "Karnofsky 90-100%"):
        rule = got[text].rule  # type: ignore[attr-defined]
        assert rule.kind == "manual" and rule.evidence is not None, rule


def test_a_title_joining_two_diseases_makes_each_one_groups() -> None:
    """NCT00497003 (fresh audit 57): "… in Patients With Type 2 Diabetes or Chronic Heart
    Failure" — "Type 2 diabetes" is one group's way in."""
    text = "Inclusion Criteria:\n-  Type 2 diabetes\n-  Chronic heart failure\n"
    title = "Effect of Beta Blockers in Patients With Type 2 Diabetes or Chronic Heart Failure"
    rule = _criteria(text, title=title)["Type 2 diabetes"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


@pytest.mark.parametrize(
    ("text", "section"),
    [
        # fresh audit 58/59
        ("Over age 8: FEV1 and FVC at least 50% predicted", "inclusion"),
        ("Patients with diabetic retinopathy and age-related macular degeneration.", "inclusion"),
        ("Has evidence of active bleeding or bleeding diathesis.", "exclusion"),
    ],
)
def test_fresh58_readings(text: str, section: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # the laws stay: a joint requirement, an age label without a non-age part, a repeat-free
        # ellipsis
        ("Patients with HIV and hepatitis C coinfection", "manual"),  # (session 29: evidence)
        ("Age: 18 years or older", "age"),
        ("active alcohol or drug abuse", "condition"),
    ],
)
def test_fresh58_readings_that_still_decide(text: str, kind: str) -> None:
    from eligibility.transform import parse_criterion

    section = "exclusion" if "abuse" in text else "inclusion"
    assert parse_criterion(text, section, None, ()).kind == kind  # type: ignore[arg-type]


def test_with_marrow_involvement_is_a_subgroups_lead_in() -> None:
    """NCT00002825 (fresh audit 58): "In the absence of marrow involvement:" … "With bone marrow
    involvement:" then "Absolute neutrophil count at least 750/mm3"."""
    got = _criteria(
        "Inclusion Criteria:\n-  In the absence of marrow involvement:\n-  Absolute neutrophil "
        "count at least 1,000/mm3\n-  With bone marrow involvement:\n-  Absolute neutrophil count "
        "at least 750/mm3\n"
    )
    for text in (
        "Absolute neutrophil count at least 1,000/mm3",
        "Absolute neutrophil count at least 750/mm3",
    ):
        rule = got[text].rule  # type: ignore[attr-defined]
        assert rule.kind == "manual" and rule.evidence is not None, rule


def test_a_line_admitting_any_age_makes_age_lines_evidence() -> None:
    """NCT00001595 (fresh audit 58): "Male or female, aged 3 years to 70 years" beside "Family
    members (any age) of patients with a family history of tumors"."""
    text = "Inclusion Criteria:\n1. Male or female, aged 3 years to 70 years\n2. Family members (any age) of patients\n"
    rule = _criteria(text)["Male or female, aged 3 years to 70 years"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule
    assert (
        _criteria("Inclusion Criteria:\n1. Aged 3 years to 70 years\n")[
            "Aged 3 years to 70 years"
        ].rule.kind
        == "age"
    )  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("title", "decides"),
    [("Peptide T in HIV-1 Infected Patients", False), ("Foscarnet in Renal Impairment", True)],
)
def test_a_raised_kidney_value_beside_normal_counts_is_reversed(title: str, decides: bool) -> None:
    """NCT00000391 (fresh audit 58): "Creatinine > 1.6 mg/dl" beside "Hemoglobin >= 12 g/dl"
    among the inclusions of an HIV trial; a trial about the kidney may ask for it."""
    text = "Inclusion Criteria:\n-  Creatinine > 1.6 mg/dl\n-  Hemoglobin >= 12 g/dl\n"
    rule = _criteria(text, title=title)["Creatinine > 1.6 mg/dl"].rule  # type: ignore[attr-defined]
    assert (rule.kind == "lab") is decides, rule


def test_populations_named_by_age_make_age_lines_evidence() -> None:
    """NCT00004317 (fresh audit 59): "Infants with congenital toxoplasmosis …", "Pregnant women
    with …", "Untreated older children entered as controls", then "Age more than 1 year"."""
    got = _criteria(
        "Inclusion Criteria:\n-  Infants with congenital toxoplasmosis confirmed prior to age 2.5 "
        "months\n-  Pregnant women with evidence of toxoplasma infection\n-  Untreated older "
        "children entered as controls\n-  Age more than 1 year\n"
    )
    rule = got["Age more than 1 year"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


@pytest.mark.parametrize(("listed", "decides"), [(True, False), (False, True)])
def test_an_admitted_type_makes_its_negation_evidence(listed: bool, decides: bool) -> None:
    """NCT00003961 (fresh audit 59): "MDS of one of the following types:" > "Leukemia out of
    MDS (… greater than 30% blasts)" then "No acute leukemia"; without the types list, a
    leukaemia named elsewhere narrows nothing away."""
    lead = "Myelodysplastic syndrome of one of the following types:" if listed else "Diagnosis:"
    text = (
        f"Inclusion Criteria:\n-  {lead}\n  -  Refractory anemia with excess blasts\n  -  "
        "Leukemia out of MDS (greater than 30% blasts in marrow)\n-  No acute leukemia\n"
    )
    rule = _criteria(text)["No acute leukemia"].rule  # type: ignore[attr-defined]
    assert (rule.kind == "not") is decides, rule


@pytest.mark.parametrize(
    ("text", "section"),
    [
        # fresh audit 60/61
        (
            "Prior therapy with an anthracycline and/or a taxane in either an adjuvant or "
            "metastatic setting",
            "inclusion",
        ),
        (
            "Coagulation function: INR ≤1.5×ULN, prothrombin time (PT) or the activated partial "
            "thrombin time (APTT) ≤1.5×ULN.",
            "inclusion",
        ),
        (
            "First episode schizophrenia, schizophreniform disorder or schizoaffective disorder",
            "inclusion",
        ),
    ],
)
def test_fresh60_readings(text: str, section: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


def test_a_line_admitting_younger_children_makes_age_lines_evidence() -> None:
    """NCT00001216 (fresh audit 60): "Males and females, ages 18 and over." beside "On rare
    occasions we may attempt to study children as young as 10 years with TES."."""
    text = (
        "Inclusion Criteria:\n-  Males and females, ages 18 and over.\n-  On rare occasions we "
        "may attempt to study children as young as 10 years with TES.\n"
    )
    rule = _criteria(text)["Males and females, ages 18 and over."].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


def test_a_later_registration_steps_lines_are_evidence() -> None:
    """NCT00002649 (fresh audit 60): "REGISTRATION # 2 (RANDOMIZATION)" then lab limits met
    after the transplant, not at entry; the first step's lines decide."""
    got = _criteria(
        "Inclusion Criteria:\n-  REGISTRATION # 1\n-  Bilirubin =< 1.5 mg/dL\n-  REGISTRATION # 2 "
        "(RANDOMIZATION)\n-  Alkaline phosphatase =< 2 times the upper limit of normal\n"
    )
    assert got["Bilirubin =< 1.5 mg/dL"].rule.kind == "lab"  # type: ignore[attr-defined]
    rule = got["Alkaline phosphatase =< 2 times the upper limit of normal"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


def test_a_measures_allowance_waives_its_bound() -> None:
    """NCT00499577 (fresh audit 60): "LVEF ≥ 45%" then "A lower LVEF is permissible if a formal
    cardiologic evaluation reveals no … impairment"."""
    got = _criteria(
        "Inclusion Criteria:\n-  LVEF ≥ 45%\n  -  A lower LVEF is permissible if a formal "
        "cardiologic evaluation reveals no evidence for clinically significant impairment\n"
    )
    rule = got["LVEF ≥ 45%"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


@pytest.mark.parametrize(
    ("text", "section"),
    [
        # fresh audit 62
        (
            "Active malignancy other than Kaposi's sarcoma, curatively treated carcinoma of the "
            "skin, or in situ carcinoma of the cervix",
            "exclusion",
        ),
        (
            "Localized mucocutaneous herpes simplex OR undisseminated varicella or zoster.",
            "inclusion",
        ),
        (
            "This study has been changed. The inclusion criteria reflects a change in the prior "
            "anti-HIV therapy required, age requirement, and the required CD4 and HIV levels.",
            "inclusion",
        ),
    ],
)
def test_fresh62_readings(text: str, section: str) -> None:
    from eligibility.transform import parse_criterion

    rule = parse_criterion(text, section, None, ())  # type: ignore[arg-type]
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


def test_two_words_share_a_head_noun_in_a_title() -> None:
    """NCT00006812 (fresh audit 62): "… Recurrent Ovarian Epithelial or Primary Peritoneal
    Cancer": the trial's own cancers are both excepted from "other malignancy"."""
    from eligibility.parse.record import _title_conditions

    title = "Capecitabine in Treating Patients With Recurrent Ovarian Epithelial or Primary Peritoneal Cavity Cancer"
    got = _title_conditions(title.replace(" Cavity", ""))
    assert got == ["epithelial_ovarian_cancer", "primary_peritoneal_cancer"], got


def test_a_cohort_label_holds_its_lines() -> None:
    """NCT02448420 (fresh audit 62): "For Cohorts A and B (Recruitment Closed)" … "For cohorts
    C:" — a man is eligible for cohort C, so "Female patients" is one cohort's."""
    got = _criteria(
        "Inclusion Criteria:\nFor Cohorts A and B (Recruitment Closed)\nFemale patients\nECOG "
        "performance status 0 or 1.\nInvasive HER2 positive breast cancer, defined as:\n3+ "
        "overexpression\nFor cohorts C:\nMale or female patients.\nECOG performance status 0 to 2.\n"
    )
    for text in ("Female patients", "ECOG performance status 0 or 1."):
        rule = got[text].rule  # type: ignore[attr-defined]
        assert rule.kind == "manual" and rule.evidence is not None, (text, rule)


def test_a_heading_qualifying_its_list_reaches_the_items() -> None:
    """NCT00002156, NCT00002355 (fresh audit 62, re-audit): "Patients with the following
    symptoms or conditions in the eye to be treated are excluded:" then "Retinal detachment.";
    the next heading's "other symptoms or conditions" qualifies nothing."""
    got = _criteria(
        "Exclusion Criteria:\nPatients with the following symptoms or conditions in the eye to be "
        "treated are excluded:\n-  Retinal detachment.\nPatients with the following other "
        "symptoms or conditions are excluded:\n-  Syphilis.\n"
    )
    rule = got["Retinal detachment."].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule
    assert got["Syphilis."].rule.kind == "condition"  # type: ignore[attr-defined]


def test_in_the_ed_reaches_back_over_the_list() -> None:
    """NCT00534066 (fresh audit 64, TrialGPT trials): "unstable angina or acute myocardial
    infarction in the ED" — an angina of 2021 is not one seen in the ED."""
    from eligibility.transform import parse_criterion

    text = "unstable angina or acute myocardial infarction in the ED"
    rule = parse_criterion(text, "exclusion", None, ())
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]
    # ("ER" is no emergency room: "ER+, HER2- breast cancer" keeps its read part)
    er = "Have a diagnosis of ER+, HER2- breast cancer"
    kept = parse_criterion(er, "inclusion", None, ())
    assert kept.kind == "manual" and kept.evidence is not None  # type: ignore[union-attr]


def test_a_title_naming_a_disease_and_a_described_group() -> None:
    """NCT02556359 (fresh audit 64): "… Application to CVID and Immune Deficiencies With
    Dysmorphic Syndromes" — the CVID line is one group's way in."""
    title = (
        "Consequences of DNA Repair and Telomere Defects on the Function of the Immune System: "
        "Application to CVID and Immune Deficiencies With Dysmorphic Syndromes"
    )
    text = (
        "Inclusion Criteria:\n-  Immune Deficiency and early BMF in childhood\n-  Common Variable "
        "Immunodeficiency (CVID)\n-  Genetic patients\n"
    )
    rule = _criteria(text, title=title)["Common Variable Immunodeficiency (CVID)"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


def test_a_sentence_naming_a_part_of_the_study_makes_the_rest_evidence() -> None:
    """NCT00001178 (re-audit of session 27): "Pregnant women. … These women will be excluded
    from the imaging portions of the protocol." — from a part of the study, not all of it."""
    from eligibility.transform import parse_criterion

    text = (
        "Pregnant women. Women of childbearing potential will be screened by history for the "
        "possibility of pregnancy and undergo a urine pregnancy test. These women will be "
        "excluded from the imaging portions of the protocol."
    )
    rule = parse_criterion(text, "exclusion", None, ())
    assert rule.kind == "manual" and rule.evidence is not None, rule  # type: ignore[union-attr]


def test_a_lone_history_line_the_title_does_not_name_is_evidence() -> None:
    """NCT00002065 (re-audit of session 27): "History of alcohol abuse." as the last inclusion
    line of a trial of disulfiram in AIDS: a requirement, or a lost heading's exclusion?"""
    text = (
        "Inclusion Criteria:\n-  Ambulatory and able to maintain an independent life.\n"
        "History of alcohol abuse.\n"
    )
    got = _criteria(text, title="Depot Disulfiram for AIDS and ARC")
    rule = got["History of alcohol abuse."].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule
    got = _criteria("Inclusion Criteria:\n-  History of asthma.\n", title="Budesonide in Asthma")
    assert got["History of asthma."].rule.kind == "condition"  # type: ignore[attr-defined]


def test_a_qualifier_before_a_later_exception_item_reaches_every_item() -> None:
    """Session 27: "No prior malignancy except basal cell skin cancer or adequately treated
    carcinoma in situ of the cervix" — read as "except adequately treated …" over both items
    (more review, never a wrong pass), not left unread."""
    from eligibility.transform import parse_criterion

    text = (
        "No prior malignancy except basal cell skin cancer or adequately treated carcinoma in "
        "situ of the cervix"
    )
    rule = parse_criterion(text, "inclusion", None, ())
    assert rule.kind == "not", rule
    inner = rule.rule.rules  # type: ignore[union-attr]
    assert inner[0].except_ == ["basal_cell_carcinoma_skin", "cervical_carcinoma_in_situ"]
    assert "adequately treated" in inner[1].rules[1].reason


def test_labels_repeated_in_both_sections_are_the_trials_parts() -> None:
    """NCT00001396 (re-audit of session 27): "DDD Pacemaker Therapy" and "Cohort Study" label
    both sections, each above its own items; a 17-year-old may join the cohort study."""
    text = (
        "Inclusion Criteria:\nDDD Pacemaker Therapy\nChildren of either gender, aged 5 to 15 years.\n"
        "Cohort Study\nChildren of either gender, 5 to 20 years.\nExclusion Criteria:\n"
        "DDD Pacemaker Therapy\nPositive pregnancy test.\nCohort Study\nPositive pregnancy test.\n"
    )
    rule = _criteria(text)["Children of either gender, aged 5 to 15 years."].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


def test_parts_labels_and_blood_counts_allowed() -> None:
    """NCT04282018, NCT00004078 (re-audit of session 27): "Parts A, B and C" above an
    exclusion; "Inadequate peripheral blood counts due to bone marrow infiltration allowed"."""
    got = _criteria(
        "Exclusion Criteria:\nParts A, B and C\nHistory of allogeneic stem-cell transplantation\n"
        "Parts A, B, C, D and E\nPrior exposure to PI3K inhibitor.\n"
    )
    rule = got["History of allogeneic stem-cell transplantation"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule
    got = _criteria(
        "Inclusion Criteria:\n-  Platelet count greater than 100,000/mm^3\n-  Inadequate "
        "peripheral blood counts due to bone marrow infiltration allowed\n"
    )
    rule = got["Platelet count greater than 100,000/mm^3"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule


def test_a_window_after_the_following_criteria_reaches_the_lab_lines() -> None:
    """NCT03264547 (re-audit of session 27): "… meeting all of the following criteria on a test
    within 28 days before enrollment. If there are multiple test results …" then the lab lines:
    a 60-day-old bilirubin does not meet it."""
    got = _criteria(
        "Inclusion Criteria:\nPatients who have maintained major organ functions, meeting all of "
        "the following criteria on a test within 28 days before enrollment. If there are multiple "
        "test results during this period, that obtained last is used.\nTotal bilirubin: <=1.5 mg/dL\n"
    )
    rule = got["Total bilirubin: <=1.5 mg/dL"].rule  # type: ignore[attr-defined]
    assert rule.kind != "lab" or rule.within is not None, rule  # type: ignore[union-attr]
    assert rule.kind in ("manual", "lab"), rule


def test_iddm_is_no_synonym_of_type_1_diabetes() -> None:
    """NCT00493480 (re-audit of session 27): criteria use IDDM, like "insulin-dependent
    diabetes", for insulin-treated diabetes of any type."""
    from eligibility import vocab

    assert vocab.condition("IDDM") is None
    assert vocab.condition("T1DM").id == "type1_diabetes"  # type: ignore[union-attr]


def test_one_groups_age_limit_makes_age_lines_evidence() -> None:
    """NCT00002514 (re-audit of session 27): "15 to 65" under Age, and "Patients with Ph
    chromosome-positive disease may be up to age 65" — the others' limit is unsaid."""
    text = (
        "Inclusion Criteria:\n-  Patients with Ph chromosome-positive disease may be up to age 65\n"
        "Age:\n-  15 to 65\n-  Alkaline phosphatase may be up to 1.5 x upper limit of normal\n"
    )
    rule = _criteria(text)["15 to 65"].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule
    text = "Inclusion Criteria:\n-  Age 18 or older\n-  ALT may be up to 1.5 x ULN\n"
    assert _criteria(text)["Age 18 or older"].rule.kind == "age"  # type: ignore[attr-defined]


def test_a_parenthesised_exception_opening_a_group_is_the_groups() -> None:
    """NCT00001341 (re-audit of session 27): "Hematopoietic:" then "(unless histologic evidence
    of bone marrow involvement by tumor)." then the counts; the life expectancy line above is
    another group's and stands."""
    got = _criteria(
        "Inclusion Criteria:\nLife expectancy:\n-  At least 8 weeks.\nHematopoietic:\n-  (unless "
        "histologic evidence of bone marrow involvement by tumor).\n-  Platelet count at least "
        "100,000/mm3.\n-  Hemoglobin at least 8.0 g/dL.\n"
    )
    for text in ("Platelet count at least 100,000/mm3.", "Hemoglobin at least 8.0 g/dL."):
        rule = got[text].rule  # type: ignore[attr-defined]
        assert rule.kind == "manual" and rule.evidence is not None, (text, rule)


def test_session_28_structure_readings() -> None:
    """Fresh audit 75: a heading without its colon, a lower-case parenthesis that continues its
    line, "either" after a sex word, a performance set with a hole, a subgroup's own limit."""
    got = _criteria(
        "Inclusion Criteria (All Participants)\n\n* Age 18 or older\n\nExclusion Criteria (All "
        "Participants)\n\n* pregnancy\n"
    )
    assert got["pregnancy"].section == "exclusion"  # type: ignore[attr-defined]
    assert got["Age 18 or older"].rule.kind == "age"  # type: ignore[attr-defined]
    mdd = _criteria(
        "Exclusion Criteria:\nParticipants with MDD who meet any of the following criteria will be"
        " excluded:\n  -  Participants must be free of psychotropic drugs not otherwise specified"
        "\n(including herbal products), and sedatives/hypnotics.\n  -  Participants with suicidal"
        " ideation within the past 6 months.\n"
    )
    rule = mdd["Participants with suicidal ideation within the past 6 months."].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and "lead-in" in rule.reason
    woman = _criteria("Exclusion Criteria:\n- Woman who is either pregnant or breast feeding\n")
    rule = woman["Woman who is either pregnant or breast feeding"].rule  # type: ignore[attr-defined]
    assert rule.kind == "any" and {r.kind for r in rule.rules} == {"pregnancy", "breastfeeding"}
    ecog = _criteria("Inclusion Criteria:\n- ECOG 0 or 2\n- ECOG 0 or 1\n")
    assert ecog["ECOG 0 or 2"].rule.kind != "performance"  # type: ignore[attr-defined]
    assert ecog["ECOG 0 or 1"].rule.allowed == [0, 1]  # type: ignore[attr-defined]
    pcp = _criteria(  # prophylaxis asked of a subgroup by its count: the limit above stands
        "Inclusion Criteria:\n- CD4 count <= 350 cells/mm3.\n- PCP prophylaxis for patients with "
        "CD4 count < 200 cells/mm3.\n"
    )
    assert pcp["CD4 count <= 350 cells/mm3."].rule.kind == "lab"  # type: ignore[attr-defined]


def test_session_28_fresh_76_readings() -> None:
    """A dash for a heading's colon, an allowance sentence after the exclusion it relaxes,
    "chronic renal insufficiency" without stage 1, and "No X" lines that agree with the rest."""
    got = _criteria("Inclusion Criteria:\n1. Age 18 or older\n\nExclusion -\n\n1. Pregnancy\n")
    assert got["Pregnancy"].section == "exclusion"  # type: ignore[attr-defined]
    hbv = _criteria(
        "Exclusion Criteria:\n7. Known active hepatitis B or C infection. Chronic hepatitis B on "
        "antiviral allowed as per institutional guideline for chemotherapy;\n"
    )
    rule = next(iter(hbv.values())).rule  # type: ignore[attr-defined]
    assert rule.kind == "all" and rule.rules[-1].law == "allowance"
    kept = _criteria(  # a prohibition is no allowance
        "Exclusion Criteria:\n- History of seizures. Concurrent neoplasms not specifically "
        "allowed.\n"
    )
    rule = next(iter(kept.values())).rule  # type: ignore[attr-defined]
    assert all(getattr(r, "law", None) != "allowance" for r in rule.rules)
    ckd = _criteria("Exclusion Criteria:\n- Chronic renal insufficiency\n")
    assert ckd["Chronic renal insufficiency"].rule.condition == "chronic_renal_insufficiency"  # type: ignore[attr-defined]
    agree = _criteria(
        "Inclusion Criteria:\n- Type 2 diabetes\n- No type 1 diabetes\n- No HIV-"
        "associated symptoms.\n- Documented HIV infection.\n"
    )
    assert agree["Type 2 diabetes"].rule.kind == "condition"  # type: ignore[attr-defined]
    assert agree["Documented HIV infection."].rule.kind == "condition"  # type: ignore[attr-defined]


FRESH_77 = [
    pytest.param(  # part labels above their own lists; a line under every part stays
        "Inclusion Criteria:\nPart A - HV\n1. Age 18 to 55\nExclusion Criteria:\n1. History of "
        "liver disease, Gilbert's syndrome, or abnormal liver function test\n2. HIV infection\n"
        "Part B - HAE\nInclusion Criteria:\n1. Age 18 or older\nExclusion Criteria:\n1. HIV "
        "infection\n", "History of liver disease, Gilbert's syndrome, or abnormal liver function "
        "test", "HIV infection", id="NCT05691361",
    ),
    pytest.param(  # a list before a plural population noun
        "Inclusion Criteria:\n* Oncology, neuro-oncology, and stem cell transplant patients\n* "
        "Age 18 or older\n", "Oncology, neuro-oncology, and stem cell transplant patients",
        "Age 18 or older", id="NCT05696899",
    ),
    pytest.param(  # a bound the other way, with no subject, joined by "or"
        "Inclusion Criteria:\n* BMI \\< 40 kg/m2 or \\> 27 kg/m2\n* Weight ≥55 kg and ≤120 kg\n",
        "BMI \\< 40 kg/m2 or \\> 27 kg/m2", "Weight ≥55 kg and ≤120 kg", id="NCT01745471",
    ),
    pytest.param(  # a value after "with" defines the list before it
        "Exclusion Criteria:\n* Current or past medical history of liver disease or cirrhosis with"
        " an elevated INR >1.4\n* Pregnancy\n", "Current or past medical history of liver "
        "disease or cirrhosis with an elevated INR >1.4", "Pregnancy", id="NCT05699902",
    ),
    pytest.param(  # "treated with" without a tense
        "Exclusion Criteria:\n* Patient treated with miconazole\n* Prior treatment with "
        "miconazole\n", "Patient treated with miconazole", "Prior treatment with miconazole",
        id="NCT05687500",
    ),
    pytest.param(  # nested lines naming what an exclusion decides on may narrow it
        "Exclusion Criteria:\n-  Known history of HIV or hepatitis B or hepatitis C infection\n"
        "     -  Subjects who are hepatitis B core antibody positive and surface antigen negative "
        "will need to have a negative PCR result\n-  Age < 18 years\n  -  Pregnancy\n",
        "Known history of HIV or hepatitis B or hepatitis C infection", "Age < 18 years",
        id="NCT05707273",
    ),
    pytest.param(  # "Patients with" stripped: its pre-modifiers reach the list
        "Exclusion Criteria:\n* Patients with evidence of a malignant pleural or pericardial "
        "effusion.\n* Patients with HIV, hepatitis B or hepatitis C\n", "Patients with evidence "
        "of a malignant pleural or pericardial effusion.",
        "Patients with HIV, hepatitis B or hepatitis C", id="NCT02950792",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "kept"), FRESH_77)
def test_session_28_fresh_77_readings(text: str, key: str, kept: str) -> None:
    """The line is evidence; the control line beside it still decides."""
    got = _criteria(text)
    rule = got[key].rule  # type: ignore[attr-defined]
    assert rule.kind == "manual" and rule.evidence is not None, rule
    assert got[kept].rule.kind != "manual"  # type: ignore[attr-defined]


# session 30: (case, record text, lines that become evidence, lines that still decide, a word
# of the reason, if one law alone can give it)
EVIDENCE_ELSEWHERE = [
    # NCT04342182 (fresh audits 78, 80): a donors' line, then sections that start over
    ("donors", "Inclusion Criteria:\n- Age >18\nExclusion Criteria:\n- Pregnancy\n"
     "Donors: Eligibility for plasma donation\nInclusions Criteria:\n- Age 18 to 65 years\n"
     "Exclusion Criteria:\n- Weight <45kg\n- Medical history of heart failure\n",
     ["Age 18 to 65 years", "Weight <45kg", "Medical history of heart failure"],
     ["Age >18", "Pregnancy"], "donor"),
    # NCT05687916 (fresh audit 79): a permission naming an age
    ("other-ages", "Inclusion Criteria:\n- The participant is aged 18 to 70 years, inclusive.\n"
     "Note: In Japan, participants aged 16 to 70 years, inclusive, may be included.\n- ECOG 0-1\n",
     ["The participant is aged 18 to 70 years, inclusive."], ["ECOG 0-1"], "other ages"),
    # NCT06055465 (fresh audit 78): an inclusion asking something of the patients with HBV
    ("admitted-if", "Inclusion Criteria:\n- Age 18 or older\n- Patients with HBV (HBsAg +ve) "
     "must be on antiviral therapy and have a well-controlled HBV infection.\nExclusion "
     "Criteria:\n- Active HBV or HCV infection\n- Known HIV infection\n",
     ["Active HBV or HCV infection"], ["Known HIV infection", "Age 18 or older"], "lets some"),
    # fresh audit 81: a count lead-in in parentheses (NCT01601171)
    ("count-in-parentheses", "Inclusion Criteria:\n(any of the following conditions)\n"
     "* hypogonadotropic hypogonadism\n* polycystic ovarian syndrome\n* cleft lip/palate\n",
     ["polycystic ovarian syndrome"], [], "alternatives"),
    # … a part's heading glued on after a dash (NCT05754190)
    ("glued-part", "Exclusion Criteria:\n* Not fluent in English -In person EEG testing "
     "[Sub-study only]: [will interfere with EEG data collection]:\n* Pregnancy\n"
     "* Heart failure diagnosis\n",
     ["Pregnancy", "Heart failure diagnosis"], [], ""),
    # … a group's heading over a lead-in and its items (NCT02840994)
    ("heading-over-lead-in", "Inclusion criteria for the Phase 1:\n1. Age ≥ 18 years\n"
     "Inclusion criteria for the Phase 1b:\n1. ECOG 0-1\n2. Have normal organ and marrow "
     "function as defined below:\n   * Hemoglobin > 9 g/dL\n",
     ["Hemoglobin > 9 g/dL"], [], "heading"),
    # fresh audit 83: sections that start over under a part's heading (NCT05246865)
    ("restarted", "Inclusion Criteria:\nPart A\n* Age range 18-40 years\nExclusion Criteria:\n"
     "* Diabetes or impaired glucose metabolism\n* Pregnancy\nPart B Inclusion criteria\n"
     "* Age range 18-70 years\nExclusion criteria\n* Pregnancy\n* Type 1 diabetes\n",
     ["Age range 18-70 years", "Type 1 diabetes"], ["Pregnancy"], "start over"),
    # … not the NIH layout: "Patients must have:" after the exclusions is one population
    ("nih-layout", "Inclusion Criteria:\nExclusion Criteria:\nCo-existing Condition:\nPatients "
     "with the following are excluded:\n* Dementia.\nPatients must have:\n* HIV infection.\n",
     [], ["Dementia.", "HIV infection."], ""),
    # … a count lead-in without "the following" (NCT03368820)
    ("at-least-one", "Inclusion Criteria:\n* Age above 18 years.\n* Presence of at least one "
     "co-morbidity:\n* Cerebrovascular events\n* Aortic aneurism\n",
     ["Cerebrovascular events"], ["Age above 18 years."], "alternatives"),
    # … a title-cased name between cohorts' names (NCT05381090)
    ("cohort-names", "Inclusion Criteria:\n* Age > 60 years\n* Parkinson's Disease\n* MoCA > 26/30\n"
     "* Dementia with Lewy Bodies\n* Meets criteria for probable DLB\n* Alzheimer's Disease\n",
     ["Dementia with Lewy Bodies", "Parkinson's Disease"], ["Age > 60 years"], "lost heading"),
    # fresh audit 84: a group's label without a colon (NCT05703282); a note for a named group
    ("for-group-label", "Inclusion Criteria:\nFor all subjects\n-  Adults aged 19 years and older\n"
     "For renal Impairment subjects\n-  30 ≤ eGFR < 90 mL/min/1.73m^2\nFor healthy subjects\n"
     "-  eGFR ≥ 90 mL/min/1.73m^2\n", ["eGFR ≥ 90 mL/min/1.73m^2"], [], "subgroup"),
    ("note-for-hcc", "Inclusion Criteria:\n- AST, ALT, and alkaline phosphatase (ALP) ≤ 3 x upper "
     "limit of normal (ULN)\n- Note: for HCC, AST, ALT, and alkaline phosphatase (ALP) ≤ 5 x upper "
     "limit of normal (ULN)\n- ECOG 0-1\n",
     ["AST, ALT, and alkaline phosphatase (ALP) ≤ 3 x upper limit of normal (ULN)"], ["ECOG 0-1"],
     "other values"),
    # fresh audit 85: subgroups' names alone on their lines (NCT01940328)
    ("subgroup-names", "Exclusion Criteria:\n- Decompensated left HF subgroup & Non CHF controls\n"
     "- Pneumonia\n- Interstitial lung disease\n- Compensated left HF subgroup\n- Asthma\n"
     "- Interstitial lung disease\n", ["Asthma"], ["Interstitial lung disease"], "one part"),
    # … a heading naming someone else, without a colon (NCT05507827)
    ("donor-heading", "Exclusion Criteria:\n* Known HIV infection\nDonor Exclusion Criteria\n"
     "* Pregnant or breastfeeding female\n", ["Pregnant or breastfeeding female"],
     ["Known HIV infection"], "donor's heading"),
    # session 31, fresh audits 85-86: a partner's heading that says "Must Not Be/Have"
    # (NCT00065858)
    ("partner-heading", "Inclusion Criteria:\n- Age 18 to 40 years\n- Participant's Sexual "
     "Partner Must Not Be/Have\n- HIV infected\n", ["HIV infected"], ["Age 18 to 40 years"],
     "partner"),
    # … alternative age sub-bullets under "Age:" (NCT02724163)
    ("age-alternatives", "Inclusion Criteria:\n* Age:\n  * ≥12 months\n  * ≥ 12 weeks\n"
     "* ANC ≥ 1000/µL\n", ["≥12 months"], ["ANC ≥ 1000/µL"], "another age"),
    # … a lead-in sentence without its colon: "The following …" (NCT01561794), "Require at
    # least one of the following …" (NCT00454662)
    ("the-following-no-colon", "Inclusion Criteria:\n- Age 20 or older\n- The following "
     "severe bacterial pneumonia or secondary infection of chronic respiratory disease\n- "
     "Severe pneumonia\n", ["Severe pneumonia"], ["Age 20 or older"], "lead-in"),
    ("at-least-one-no-colon", "Inclusion Criteria:\n- Age 65 to 85\n- Require at least one of "
     "the following medical history or risk factors\n- Risk factors\n- Male\n",
     ["Male"], ["Age 65 to 85"], "alternatives"),
    # … one line per sex (NCT02586493)
    ("sex-branches", "Inclusion Criteria:\n- Age >=40 years\n- Males\n- Females who are not "
     "pregnant or not planning a pregnancy during the study\n", ["Males"], ["Age >=40 years"],
     "other sex"),
    # … a short line above bare condition names: one more risk factor (NCT01050361)
    ("risk-factor-list", "Inclusion Criteria:\n- Age ≥ 65 years\n- Hypertension (HTN)\n"
     "- Diabetes\n- Obesity\n", ["Age ≥ 65 years"], [], "bare condition names"),
    # … "Criteria for <part>" labels, one glued to the line above (NCT02487394)
    ("criteria-for-parts", "Inclusion Criteria:\nCriteria for Asthma\n- FEV1 >40% predicted\n"
     "- Never smoker or quit smoking ≥5 years ago Criteria for COPD\n- FEV1 greater than 50% "
     "predicted\nExclusion Criteria:\n- Known HIV infection\n",
     ["FEV1 >40% predicted", "FEV1 greater than 50% predicted"], ["Known HIV infection"],
     "group line"),
    # … an empty inclusion section, its list filed as exclusions (NCT04648969)
    ("stub-inclusions", "Inclusion Criteria:\nInclusion/\nExclusion Criteria:\n- Age 18 years "
     "and older,\n- No illicit drug use,\n- Normal blood pressure,\n- Not breastfeeding and not "
     "pregnant,\n", ["Age 18 years and older,"], [], "read as requirements"),
    # fresh audit 87: the PDQ "PATIENT CHARACTERISTICS:" lines filed as exclusions
    # (NCT00469937); an inclusion text that holds the exclusions too (NCT00525044); "Male"
    # beside "not pregnant female" (NCT04157569)
    ("requirements-as-exclusions", "Inclusion Criteria:\n- Histopathologically confirmed "
     "malignancy\nExclusion Criteria:\n- Zubrod performance status 0-2\n- ANC > 1,500/mm^3\n- Not "
     "pregnant or nursing\n- No bipolar disorder\n- No thyroid disease\n- Normal sodium\n",
     ["ANC > 1,500/mm^3"], [], "read as requirements"),
    ("exclusions-as-inclusions", "Inclusion Criteria:\n- Age 18 to 65\n- Known hypersensitivity "
     "to Ambroxol\n- Alcohol, and/or drug abuse.\n- Pregnancy and/or breast-feeding.\n",
     ["Pregnancy and/or breast-feeding."], [], "holds exclusion lines"),
    ("not-pregnant-female", "Inclusion Criteria:\n- Male\n- not pregnant female\n- ECOG 0-2\n",
     ["Male"], ["ECOG 0-2"], "other sex"),
    # fresh audit 88: "Prior MI" beside an inclusion asking for an acute MI (NCT00557531)
    ("prior-of-asked", "Inclusion Criteria:\n- Acute MI defined as: typical rise of troponin\n"
     "Exclusion Criteria:\n- Prior MI\n- History of stroke\n", ["Prior MI"],
     ["History of stroke"], "asks for"),
    # fresh audit 82: an exclusion lead-in with a window that lost its colon (NCT02921191)
    ("windowed-lead-in", "Exclusion Criteria:\nDuring baseline 365 days, any patient with a claim "
     "for (or with)\n* Bone marrow or stem cell transplant\n* HIV/AIDS\n",
     ["Bone marrow or stem cell transplant", "HIV/AIDS"], [], "nesting was lost"),
]  # fmt: skip


def test_a_windowed_lead_in_reaches_the_labs_under_an_organs_label() -> None:
    """NCT05695898 (fresh audit 82): "… organ function as defined below obtained within 14 days
    prior to the start of study treatment:" > a NOTE > "Bone Marrow:" > the counts."""
    got = _criteria(
        "Inclusion Criteria:\n    7. Age >=18 years.\n    9. Demonstrate adequate organ function "
        "as defined below obtained within 14 days prior to the start of study treatment:\nNOTE: "
        "Criteria must be met without platelet transfusion within the prior 2 weeks.\nBone "
        "Marrow:\n      a) Platelets >=100,000/mcL b) Hemoglobin >=9 g/dL\n"
    )
    for text in ("Platelets >=100,000/mcL", "Hemoglobin >=9 g/dL"):
        rule = got[text].rule  # type: ignore[attr-defined]
        assert rule.kind == "lab" and rule.within is not None and rule.within.amount == 14, rule


@pytest.mark.parametrize(
    ("text", "evidence", "deciding", "word"),
    [c[1:] for c in EVIDENCE_ELSEWHERE],
    ids=[c[0] for c in EVIDENCE_ELSEWHERE],
)
def test_another_line_makes_a_line_evidence(
    text: str, evidence: list[str], deciding: list[str], word: str
) -> None:
    got = _criteria(text, "A Study of Imaging")
    for line in evidence:
        rule = got[line].rule  # type: ignore[attr-defined]
        assert rule.kind == "manual" and rule.evidence is not None, (line, rule)
        assert word in rule.reason
    for line in deciding:
        assert got[line].rule.kind != "manual", line  # type: ignore[attr-defined]


def test_a_line_excluding_the_registered_condition_is_evidence() -> None:
    """NCT06959173 (fresh audit 79): the title names a pleural effusion, the registry's
    Conditions field lung cancer; "A history of malignant tumor in the past 5 years" means
    another cancer. The field never adds an exception: lines that do not cover it decide."""
    [record] = parse_record_text(
        "Inclusion Criteria:\n- Accompanied by malignant pleural effusion\nExclusion Criteria:\n"
        "- A history of malignant tumor in the past 5 years\n- Known HIV infection\n",
        "any.txt",
    )
    title = "Organoid-guided Personalized Treatment of Pleural Effusion"
    record = record.model_copy(update={"conditions": ("Lung Cancer",), "title": title})
    got = {" ".join(c.text.split()): c.rule for c in parse_record(record).criteria}
    rule = got["A history of malignant tumor in the past 5 years"]
    assert rule.kind == "manual" and rule.evidence is not None and "lung cancer" in rule.reason
    assert got["Known HIV infection"].kind == "condition"


def test_criteria_for_everyone_do_not_make_parts() -> None:
    """ "Inclusion criteria for trial entry" and "… for all randomisations" are everyone's; a
    requirement ending "criteria for opioid dependence" is no label (rule diff, session 31)."""
    got = _criteria(
        "Inclusion Criteria:\nInclusion criteria for trial entry\n- Age <18 years\nMeets DSM "
        "criteria for opioid dependence\n- ECOG 0-1\nExclusion Criteria:\nExclusion criteria "
        "for all randomisations\n- Pregnant\n"
    )
    for line in ("Age <18 years", "ECOG 0-1", "Pregnant"):
        assert got[line].rule.kind != "manual", line  # type: ignore[attr-defined]


def test_an_empty_inclusion_section_alone_changes_nothing() -> None:
    """Old records with no inclusion text and true exclusions ("Hemophilia.", "History of
    seizures."): without lines that read as requirements the exclusions decide."""
    got = _criteria(
        "Inclusion Criteria:\nExclusion Criteria:\n- Hemophilia.\n- History of seizures.\n"
    )
    assert got["History of seizures."].rule.kind == "condition"  # type: ignore[attr-defined]


def test_secondary_aml_excepts_the_disease_it_grew_from() -> None:
    """NCT04946890 (fresh audit 86): "primary or secondary AML"; a CMML of 2023 is the trial's
    own disease's past, not "other malignant tumors in the past 5 years"."""
    got = _criteria(
        "Inclusion Criteria:\n- Diagnosed with primary or secondary AML\nExclusion Criteria:\n"
        "- Have had other malignant tumors in the past 5 years\n",
        "A Study of Venetoclax in Acute Myeloid Leukemia",
    )
    rule = got["Have had other malignant tumors in the past 5 years"].rule  # type: ignore[attr-defined]
    assert "chronic_myelomonocytic_leukemia" in rule.except_, rule
