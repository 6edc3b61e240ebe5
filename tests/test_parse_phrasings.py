"""Table-driven: real criterion phrasings → the rule each must parse to (tests/data/phrasings.yaml).

Manual reasons are prose and are not compared; that a piece *is* manual is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eligibility.model import Criterion
from eligibility.transform import parse_criterion

TABLE = yaml.safe_load((Path(__file__).parent / "data" / "phrasings.yaml").read_text("utf-8"))


def _shape(rule: dict) -> dict:
    """The rule as data with every manual reason blanked."""
    if rule.get("kind") == "manual":
        return {"kind": "manual"}
    out = dict(rule)
    if "rules" in out:
        out["rules"] = [_shape(r) for r in out["rules"]]
    if "rule" in out:
        out["rule"] = _shape(out["rule"])
    return out


def _expected(raw: dict) -> dict:
    # validate through the model, so the table cannot hold a rule the model would refuse
    crit = Criterion.model_validate({"id": "x", "section": "inclusion", "text": "", "rule": (
        raw if raw.get("kind") != "manual" else {"kind": "manual", "reason": "-"}
    )})  # fmt: skip
    return _shape(crit.rule.model_dump(mode="json", by_alias=True, exclude_defaults=True))


def test_table_size() -> None:
    manual = [c for c in TABLE if c["expect"]["kind"] == "manual"]
    assert len(TABLE) >= 150
    assert len(manual) >= 30


@pytest.mark.parametrize("case", TABLE, ids=[c["text"][:60] for c in TABLE])
def test_phrasing(case: dict) -> None:
    primary = tuple(case.get("primary", ()))  # the trial's own conditions, for "other …"
    rule = parse_criterion(case["text"], case["section"], case.get("context"), primary)
    got = _shape(rule.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    assert got == _expected(case["expect"])
