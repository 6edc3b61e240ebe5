"""The audit ledger as tests: every judged item that names a patient is screened with today's parser.

Each wrong rule a reader found (tests/data/audit/*.yaml, judged against BRIEF.md) carries the
patient who got the wrong status and the statuses that are acceptable for them; the test re-parses
the criterion's text and screens that patient, so a fixed class of error stays fixed. Items still
wrong are listed in ``STILL_WRONG`` (or carry ``open:`` in the ledger) with the reason they are
left; each must still fail, so the list shrinks as they are fixed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from audit_check import status

LEDGER = Path(__file__).parent / "data" / "audit"
VERDICTS = {"right", "cautious", "wrong", "not-a-criterion"}

# (nct, first 40 characters of the text) -> why it is still wrong
STILL_WRONG: dict[tuple[str, str], str] = {}


def _items() -> list[dict]:
    out = []
    for path in sorted(LEDGER.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            out.append({**item, "_file": path.name})
    return out


ITEMS = _items()
WITH_PATIENT = [it for it in ITEMS if it.get("patient")]


def _id(it: dict) -> str:
    return f"{it['_file']}:{it['nct']}:{it['id']}"


def test_ledger_is_well_formed() -> None:
    assert len(ITEMS) >= 400
    for it in ITEMS:
        assert it["verdict"] in VERDICTS, _id(it)
        assert it["why"], _id(it)
        if it["verdict"] == "wrong":
            assert it.get("category"), _id(it)
    counts = Counter(it["verdict"] for it in ITEMS if it["sample"] == "before")
    assert sum(counts.values()) >= 400


@pytest.mark.parametrize("item", WITH_PATIENT, ids=_id)
def test_ledger_patient(item: dict) -> None:
    known = STILL_WRONG.get((item["nct"], item["text"][:40])) or item.get("open")
    got, reason, _rule = status(item)
    if known:
        assert got not in item["acceptable"], f"fixed, take it off STILL_WRONG: {known}"
        pytest.xfail(known)
    assert got in item["acceptable"], f"{item['text'][:120]!r}: {got} ({reason})"
