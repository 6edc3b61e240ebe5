"""Reading records: format detection, structured fields with their spans, blocks, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility.errors import EligibilityError, IngestError
from eligibility.ingest import (
    RecordError,
    TrialRecord,
    age_in_years,
    find_blocks,
    heading_kind,
    parse_record_text,
    read_record,
    read_records,
)

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def span_text(record: TrialRecord, span: object) -> str:
    assert span is not None
    return record.text[span.start : span.end]  # type: ignore[attr-defined]


def first_line(record: TrialRecord, i: int) -> str:
    block = record.blocks[i]
    return record.text[block.start : block.end].split("\n")[0]


def last_line(record: TrialRecord, i: int) -> str:
    block = record.blocks[i]
    return record.text[block.start : block.end].split("\n")[-1]


# --------------------------------------------------------------------------- seeds


def test_classic_page_seed() -> None:
    [r] = read_record(SEEDS / "NCT03859128_ctgov_classic.txt")
    assert (r.id, r.format) == ("NCT03859128", "ctgov_classic")
    assert r.title == (
        "Toripalimab or Placebo as Adjuvant Therapy in Hepatocellular Carcinoma After Curative "
        "Hepatic Resection (JUPITER 04)"
    )
    assert r.min_age and r.max_age
    assert (r.min_age.raw, r.min_age.years, span_text(r, r.min_age.span)) == (
        "18 Years", 18.0, "18 Years",
    )  # fmt: skip
    assert (r.max_age.years, span_text(r, r.max_age.span)) == (75.0, "75 Years")
    assert r.text[r.min_age.span.start : r.max_age.span.end] == "18 Years to 75 Years"  # type: ignore[union-attr]
    assert (r.sex, span_text(r, r.sex_span)) == ("all", "All")
    assert r.healthy_volunteers is False
    assert [b.section for b in r.blocks] == ["inclusion", "exclusion"]
    assert first_line(r, 0) == "Inclusion Criteria:"
    assert last_line(r, 0) == "- ECOG score is 0;"
    assert first_line(r, 1) == "Exclusion Criteria:"
    assert last_line(r, 1) == "Other protocol defined inclusion/exclusion criteria could apply"


def test_registry_page_seed() -> None:
    [r] = read_record(SEEDS / "NCT04669496_registry_page.txt")
    assert (r.id, r.format) == ("NCT04669496", "registry_page")
    assert r.title and r.title.startswith("Phase II-III Clinical Trial of PD1 Antibody")
    assert r.min_age and r.max_age
    assert (r.min_age.years, span_text(r, r.min_age.span)) == (18.0, "18 Years")
    assert (r.max_age.years, span_text(r, r.max_age.span)) == (70.0, "70 Years")
    assert (r.sex, span_text(r, r.sex_span)) == ("all", "ALL")
    assert r.healthy_volunteers is False
    assert [b.section for b in r.blocks] == ["inclusion", "exclusion"]
    assert first_line(r, 0) == "Inclusion Criteria"
    assert first_line(r, 1) == "Exclusion Criteria"
    assert last_line(r, 1).endswith("or other family or social factors.")
    assert "Minimum Eligible Age" not in r.text[r.blocks[1].start : r.blocks[1].end]


# --------------------------------------------------------------------------- JSON


def test_api_v2_single_study() -> None:
    [r] = read_record(FIXTURES / "api_v2_study.json")
    assert (r.id, r.format, r.title) == (
        "NCT05000001", "ctgov_api_v2", "Adjuvant PD-1 Antibody After Hepatectomy",
    )  # fmt: skip
    assert r.text.startswith("Inclusion Criteria:\n\n* Age 18 to 75 years")
    assert r.min_age and r.min_age.years == 18 and r.min_age.span is None
    assert r.max_age and r.max_age.years == 75
    assert (r.sex, r.sex_span, r.healthy_volunteers) == ("all", None, False)
    assert [b.section for b in r.blocks] == ["inclusion", "exclusion"]
    assert last_line(r, 1) == "* Pregnant or breastfeeding"


def test_api_v2_studies_list_reads_good_studies_and_reports_the_bad_one() -> None:
    items = list(read_records(FIXTURES / "api_v2_studies.json"))
    records = [i for i in items if isinstance(i, TrialRecord)]
    errors = [i for i in items if isinstance(i, RecordError)]
    assert [r.id for r in records] == ["NCT05000002", "NCT05000003"]
    first, second = records
    assert first.min_age and first.min_age.years == 0.5
    assert (first.sex, first.max_age) == ("female", None)
    assert second.title == "Healthy Volunteer Pharmacokinetics"  # officialTitle when no brief
    assert (second.sex, second.healthy_volunteers, second.max_age) == ("male", True, None)
    assert [b.section for b in second.blocks] == ["inclusion", "exclusion"]  # "Key … Criteria"
    [err] = errors
    assert err.where == "$.studies[2].protocolSection.eligibilityModule.sex"
    assert "BOTH SEXES" in err.message
    with pytest.raises(IngestError) as exc:
        read_record(FIXTURES / "api_v2_studies.json")
    assert str(exc.value).endswith(
        "api_v2_studies.json: $.studies[2].protocolSection.eligibilityModule.sex: "
        "expected ALL, FEMALE or MALE, got 'BOTH SEXES'"
    )


def test_top_level_list_of_studies() -> None:
    text = (
        '[{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"},'
        ' "eligibilityModule": {"eligibilityCriteria": "Inclusion Criteria:\\n* A"}}}]'
    )
    [r] = parse_record_text(text, "studies.json")
    assert (r.id, r.format, len(r.blocks)) == ("NCT00000001", "ctgov_api_v2", 1)


def test_corpus_jsonl_bad_lines_do_not_stop_the_rest() -> None:
    items = list(read_records(FIXTURES / "corpus_sample.jsonl"))
    good = [i for i in items if isinstance(i, TrialRecord)]
    bad = [i for i in items if isinstance(i, RecordError)]
    assert [r.id for r in good] == ["NCT00000102", "NCT00000104", "NCT00462410"]
    assert [(e.line, e.where) for e in bad] == [(3, "line 3 column 79"), (5, "line 5: $.min_age")]
    assert bad[1].message == "expected str, got int"
    assert str(bad[1]).endswith("corpus_sample.jsonl: line 5: $.min_age: expected str, got int")
    with pytest.raises(IngestError):
        read_record(FIXTURES / "corpus_sample.jsonl")


def test_corpus_line_synthetic_text_and_fields() -> None:
    items = list(read_records(FIXTURES / "corpus_sample.jsonl"))
    r102, r104, nci = (i for i in items if isinstance(i, TrialRecord))
    assert r102.text == (
        "Inclusion Criteria:\n-  diagnosed with Congenital Adrenal Hyperplasia (CAH)\n"
        "-  normal ECG during baseline evaluation\n\nExclusion Criteria:\n"
        "-  history of liver disease, or elevated liver function tests\n"
        "-  history of cardiovascular disease"
    )
    assert r102.source.endswith("corpus_sample.jsonl:1")
    assert (r102.min_age.years, r102.max_age.years, r102.sex) == (14, 35, "all")  # type: ignore[union-attr]
    assert [b.section for b in r102.blocks] == ["inclusion", "exclusion"]
    assert (r104.max_age, r104.sex, [b.section for b in r104.blocks]) == (
        None, "female", ["inclusion"],
    )  # fmt: skip
    assert "Exclusion" not in r104.text  # no exclusion text, no heading for it
    assert [b.section for b in nci.blocks] == ["inclusion"]  # no_headings(all_in_inclusion)


def test_the_registry_conditions_field_is_read() -> None:
    """The Conditions field (corpus JSONL ``conditions``, API v2 ``conditionsModule``): the
    trial's own disease where the title names another (``parts.registered_own``)."""
    [r] = parse_record_text(
        '{"nct_id": "NCT06959173", "conditions": ["Lung Cancer"], "inclusion_text": "- A"}',
        "line.json",
    )
    assert r.conditions == ("Lung Cancer",)
    [r] = parse_record_text(
        '{"protocolSection": {"conditionsModule": {"conditions": ["Asthma", "COPD"]},'
        ' "eligibilityModule": {"eligibilityCriteria": "Inclusion Criteria:\\n* A"}}}',
        "study.json",
    )
    assert r.conditions == ("Asthma", "COPD")
    with pytest.raises(IngestError, match=r"\$\.conditions\[1\]: expected str, got int"):
        parse_record_text('{"nct_id": "NCT1", "conditions": ["A", 3]}', "line.json")


def test_exclusion_heading_inside_inclusion_text_starts_an_exclusion_block() -> None:
    [r] = parse_record_text(
        '{"nct_id": "NCT00000271", "inclusion_text": "Inclusion:\\n  1. Cocaine dependence.\\n'
        'Exclusion:\\n  1. History of seizures.", "exclusion_text": ""}',
        "line.json",
    )
    assert [(b.section, first_line(r, i)) for i, b in enumerate(r.blocks)] == [
        ("inclusion", "Inclusion Criteria:"),
        ("inclusion", "Inclusion:"),
        ("exclusion", "Exclusion:"),
    ]


def test_unbulleted_line_after_a_bare_heading_resumes_the_field() -> None:
    # NCT00002116: "Required:" opens requirements inside the exclusion field; the unbulleted
    # "Substance abuse." after its bulleted items is an exclusion again
    [r] = parse_record_text(
        '{"nct_id": "NCT00002116", "inclusion_text": "", "exclusion_text": "Excluded:\\n'
        "-  Acyclovir.\\nRequired:\\n-  At least 10 days of prior acyclovir.\\n"
        'Substance abuse."}',
        "line.json",
    )
    assert [(b.section, first_line(r, i)) for i, b in enumerate(r.blocks)][-2:] == [
        ("inclusion", "Required:"),
        ("exclusion", "Substance abuse."),
    ]


# --------------------------------------------------------------------------- plain text


def test_plain_text_with_markdown_headings() -> None:
    [r] = read_record(FIXTURES / "plain_criteria.md")
    assert (r.format, r.title, r.id) == ("plain_text", "Study of drug X in liver cancer", None)
    assert [(b.section, first_line(r, i)) for i, b in enumerate(r.blocks)] == [
        ("inclusion", "## **Inclusion Criteria**"),
        ("exclusion", "# exclusion criteria:"),
    ]
    assert last_line(r, 0) == "   b) Platelets ≥ 75 × 10^9/L"


def test_plain_text_without_headings_is_all_inclusion() -> None:
    [r] = parse_record_text("\r\n- Age ≥ 18\r\n- ECOG 0-1\r\n", "NCT01234567.txt")
    assert r.id == "NCT01234567"
    assert r.text == "\n- Age ≥ 18\n- ECOG 0-1\n"  # line ends normalised; offsets point here
    assert [(b.section, r.text[b.start : b.end]) for b in r.blocks] == [
        ("inclusion", "- Age ≥ 18\n- ECOG 0-1"),
    ]


# --------------------------------------------------------------------------- tables

HEADINGS = [
    ("Inclusion Criteria:", "inclusion"),
    ("Inclusion Criteria", "inclusion"),
    ("INCLUSION CRITERIA", "inclusion"),
    ("## **Inclusion Criteria**", "inclusion"),
    ("**Exclusion Criteria:**", "exclusion"),
    ("Key Exclusion Criteria:", "exclusion"),
    ("Exclusion criteria for control participants:", "exclusion"),
    ("INCLUSION CRITERIA - Donor:", "inclusion"),
    ("Exclusion Criteria (All Participants)", "exclusion"),  # NCT03369600, no colon
    ("Inclusion (CON group)", "inclusion"),
    ("Exclusion criteria (see protocol) include prior surgery", None),
    ("2.2 Exclusion Criteria", "exclusion"),
    ("III.VI. STUDY EXCLUSIONS:", "exclusion"),
    ("Exclusion:", "exclusion"),
    ("EXCLUSION", "exclusion"),
    ("Non-inclusion Criteria:", "exclusion"),
    ("CRITERIA FOR EXCLUSION:", "exclusion"),
    ("Excluded:", "exclusion"),
    ("Patients with the following are excluded:", "exclusion"),
    ("Required:", "inclusion"),
    ("Patients must qualify as follows:", "inclusion"),
    ("Patients must have:", "inclusion"),
    ("Patients must not have:", "exclusion"),
    ("-  Patients must meet the following:", None),
    ("Patients must have measurable disease:", None),
    ("Eligibility Criteria:", "neutral"),
    ("INCLUSION/EXCLUSION CRITERIA:", "neutral"),
    ("-  INCLUSION AND EXCLUSION CRITERIA:", "neutral"),
    ("-  Does not meet inclusion criteria", None),
    ("Not meeting inclusion criteria", None),
    ("Other protocol-defined inclusion/exclusion criteria may apply", None),
    ("Patients who do not meet the inclusion criteria are excluded.", None),
    ("Exclusion criteria for each group are listed in the protocol", None),
    ("Age ≥ 18 years", None),
]


@pytest.mark.parametrize(("line", "expected"), HEADINGS)
def test_heading_kind(line: str, expected: str | None) -> None:
    assert heading_kind(line) == expected


@pytest.mark.parametrize(
    ("raw", "years"),
    [
        ("18 Years", 18.0),
        ("6 Months", 0.5),
        ("2 Weeks", round(14 / 365.25, 6)),
        ("28 Days", round(28 / 365.25, 6)),
        ("1 Year", 1.0),
        ("N/A", None),
        ("eighteen", None),
        ("", None),
    ],
)
def test_age_in_years(raw: str, years: float | None) -> None:
    assert age_in_years(raw) == years


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (IngestError("a.json", "$.sex", "bad sex"), "a.json: $.sex: bad sex"),
        (IngestError("a.json", None, "not UTF-8 text"), "a.json: not UTF-8 text"),
        (EligibilityError(None, "line 3", "oops"), "line 3: oops"),
    ],
)
def test_error_one_line(error: EligibilityError, text: str) -> None:
    assert str(error) == text
    assert isinstance(error, EligibilityError)


def test_unreadable_files_raise_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="No such file"):
        read_record(tmp_path / "missing.txt")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Inclusion Criteria:\n- Âge ≥ 18".encode("utf-16"))
    with pytest.raises(IngestError, match="not UTF-8"):
        read_record(latin1)
    broken = tmp_path / "broken.json"
    broken.write_text('{"protocolSection": ', encoding="utf-8")
    with pytest.raises(IngestError, match=r"broken\.json: line 1 column 21: bad JSON"):
        read_record(broken)


# --------------------------------------------------------------------------- invariants

PAGE_WORDS = st.sampled_from(
    ["\n", " ", "Inclusion Criteria:", "Exclusion Criteria", "NCT ID: NCT01234567",
     "Minimum Eligible Age", "Eligibility Criteria", "ClinicalTrials.gov Identifier: NCT0",
     "Ages Eligible for Study: | 18 Years to 75 Years |", "Sexes Eligible for Study: | All |",
     "18 Years", "ALL", "- ", "1) ", "To learn more about this study", "|", "**", "#"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
# Text that starts with "{" is read as JSON and may be a JSON error (tested above); any other text
# gives a record.
@given(
    st.one_of(st.text(), st.lists(PAGE_WORDS, max_size=40).map("".join)).filter(
        lambda t: not t.lstrip().removeprefix("\ufeff").lstrip().startswith(("{", "["))
    )
)
def test_any_text_gives_a_record_with_ordered_blocks(text: str) -> None:
    try:
        records = parse_record_text(text, "any.txt")
    except IngestError as exc:
        # Only text that claims to be JSON may be refused, and then with a located message.
        assert text.lstrip()[:1] in ("{", "["), exc
        return
    for r in records:
        _check_blocks(r)


def _check_blocks(r) -> None:  # type: ignore[no-untyped-def]
    pos = 0
    for b in r.blocks:
        assert pos <= b.start < b.end <= len(r.text)
        assert not r.text[b.start].isspace() and not r.text[b.end - 1].isspace()
        pos = b.end
    for limit in (r.min_age, r.max_age):
        if limit is not None and limit.span is not None:
            assert r.text[limit.span.start : limit.span.end] == limit.raw


def test_find_blocks_on_a_slice() -> None:
    text = "junk\nInclusion Criteria:\n- A\nExclusion Criteria:\n- B\nfooter"
    blocks = find_blocks(text, text.index("Inclusion"), text.index("footer"))
    assert [(b.section, text[b.start : b.end]) for b in blocks] == [
        ("inclusion", "Inclusion Criteria:\n- A"),
        ("exclusion", "Exclusion Criteria:\n- B"),
    ]


def test_group_headings_scope_their_items() -> None:
    """NCT00001830 / NCT00001257: "EXCLUSION CRITERIA - Donor:" says whom its items are for, so
    each item carries the heading as its context and is manual (a person decides whether the
    patient is that group); a plain "Exclusion Criteria:" names no group."""
    from eligibility.ingest import heading_group
    from eligibility.transform import parse_record

    assert heading_group("EXCLUSION CRITERIA - Donor:") == "EXCLUSION CRITERIA - Donor:"
    assert heading_group("Exclusion criteria for controls:") is not None
    assert heading_group("Exclusion Criteria:") is None
    assert heading_group("Inclusion criteria are:") is None
    text = "Inclusion Criteria:\n- Age 18 or older\nEXCLUSION CRITERIA - Donor:\n- HIV positive.\n"
    [record] = parse_record_text(text, "any.txt")
    hiv = next(c for c in parse_record(record).criteria if c.text == "HIV positive.")
    assert hiv.context == "EXCLUSION CRITERIA - Donor:" and hiv.rule.kind == "manual"


def test_an_allowed_list_holds_permissions() -> None:
    """NCT00000664 (fresh audit 13): items under a bare "Allowed:" are what a patient may have;
    read as requirements, "Basal cell carcinoma of the skin, …" failed everyone. The list ends
    at the first unbulleted line, whose section resumes."""
    from eligibility.transform import parse_record

    text = (
        "Inclusion Criteria:\nAllowed:\n-  Topical steroids.\nPatients must:\n-  Be HIV positive.\n"
        "Allowed:\n-  Basal cell carcinoma of the skin, in situ carcinoma of the cervix.\n"
    )
    [record] = parse_record_text(text, "any.txt")
    by_text = {c.text.strip(): c for c in parse_record(record).criteria}
    bcc = by_text["Basal cell carcinoma of the skin, in situ carcinoma of the cervix."]
    assert bcc.context == "Allowed:" and bcc.rule.kind == "manual"
    assert "may have" in bcc.rule.reason  # type: ignore[union-attr]
    hiv = by_text["Be HIV positive."]
    assert hiv.context != "Allowed:" and hiv.rule.kind != "manual"


def test_a_general_heading_names_no_group() -> None:
    from eligibility.ingest import heading_group

    assert heading_group("Exclusion Criteria - General exclusion:") is None
    assert heading_group("Inclusion criteria for mothers will be:") is not None


def test_a_requirements_lead_in_under_exclusions_is_not_an_exclusion() -> None:
    """NCT00002441 (fresh audit 18): "You may be eligible for this study if you:" in the
    exclusion field holds requirements; read as exclusions they excluded every eligible man."""
    from eligibility.transform import parse_criterion

    rule = parse_criterion(
        "Are between 18 and 60 years old.",
        "exclusion",
        "You may be eligible for this study if you:",
    )
    assert rule.kind == "manual" and "requirements" in rule.reason  # type: ignore[union-attr]
