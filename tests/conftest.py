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


@pytest.fixture
def events_vocab():
    """The vocabulary with myocardial infarction and stroke as events (``nature: event``),
    whatever conditions.yaml says: rules compiled inside the test see them so."""
    import dataclasses

    from eligibility import vocab

    table = vocab._conditions()
    saved = {k: table.by_id[k] for k in ("myocardial_infarction", "stroke")}
    for k, c in saved.items():
        table.by_id[k] = dataclasses.replace(c, nature="event")
    vocab.condition.cache_clear()
    try:
        yield
    finally:
        table.by_id.update(saved)
        vocab.condition.cache_clear()
