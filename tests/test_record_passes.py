"""Record-level readings: lines that change what their neighbours mean (fresh audit 13)."""

from __future__ import annotations

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
    assert "group line" in got["Age >18"].rule.reason  # type: ignore[attr-defined]
