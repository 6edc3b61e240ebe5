from __future__ import annotations

from datetime import date
from pathlib import Path

from eligibility import load_patient, load_rules, screen

ROOT = Path(__file__).resolve().parent.parent


def test_library_api():
    rules = load_rules(ROOT / "rules/NCT03859128.yaml")
    patient = load_patient(ROOT / "examples/patients/p04_ineligible_child_pugh.json")
    result = screen(rules, patient, as_of=date(2024, 3, 1))
    assert result.verdict == "ineligible"
    assert [c.id for c in result.criteria if c.status == "fail"] == ["I3"]
    d = result.to_dict()
    assert d["as_of"] == "2024-03-01" and d["trial"] == "NCT03859128"


def test_as_of_defaults_to_screening_date():
    rules = load_rules(ROOT / "rules/NCT03859128.yaml")
    patient = load_patient(ROOT / "examples/patients/p01_eligible_hcc.json")
    assert screen(rules, patient).as_of == date(2024, 3, 1)
