"""``eligibility parse`` end to end: record → rules YAML → validate → screen, and API v2 JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eligibility.cli import main
from eligibility.loaders import load_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"


def test_parse_validate_screen_registry_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "tmp.yaml"
    assert main(["parse", str(ROOT / "seeds/NCT04669496_registry_page.txt"), "-o", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    capsys.readouterr()
    patient = ROOT / "examples/patients/p05_ineligible_alt_uln.json"
    code = main(["screen", str(out), str(patient), "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "ineligible"
    assert code == 1
    failed = [c for c in result["criteria"] if c["status"] == "fail"]
    assert [c["id"] for c in failed] == ["I6.4b"]  # the ALT/AST ≤ 3 × ULN criterion, computable
    assert "ALT" in failed[0]["text"]


def test_parse_api_v2_study(tmp_path: Path) -> None:
    out = tmp_path / "study.yaml"
    assert main(["parse", str(FIXTURES / "api_v2_study.json"), "-o", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    ruleset = load_rules(out)
    assert ruleset.trial.id == "NCT05000001"
    kinds = {c.id: c.rule.kind for c in ruleset.criteria}
    assert kinds["age"] == "age"  # the structured minimumAge/maximumAge fields
    assert {c.section for c in ruleset.criteria} == {"inclusion", "exclusion"}
    assert any(k not in {"manual", "age", "sex"} for k in kinds.values())


def test_parse_api_v2_list_names_a_bad_study(capsys: pytest.CaptureFixture[str]) -> None:
    # the fixture's third study has sex "BOTH SEXES": parse stops and says where, exit 2
    assert main(["parse", str(FIXTURES / "api_v2_studies.json")]) == 2
    assert "$.studies[2].protocolSection.eligibilityModule.sex" in capsys.readouterr().err
