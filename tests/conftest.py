from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
PATIENTS = ROOT / "examples" / "patients"
HCC = RULES / "NCT03859128.yaml"
ICC = RULES / "NCT04669496.yaml"
HCC_PATIENTS = sorted(p for p in PATIENTS.glob("p0[1-48]_*.json"))
ICC_PATIENTS = sorted(p for p in PATIENTS.glob("*.json") if p not in HCC_PATIENTS)


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def cohort_jsonl(tmp_path: Path) -> Path:
    """Five ICC example profiles with a malformed record and an invalid one in the middle."""
    lines = [json.dumps(json.loads(p.read_text())) for p in ICC_PATIENTS[:2]]
    lines += ['{"id": "bad-ecog", "ecog": 9}', "{not json", ""]
    lines += [json.dumps(json.loads(p.read_text())) for p in ICC_PATIENTS[2:]]
    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
