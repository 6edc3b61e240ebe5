"""The parser keeps readings of repeated criteria: a kept reading must be the one a fresh parse
gives, and a criterion whose reading depends on the trial's own conditions is never kept."""

from __future__ import annotations

from eligibility.parse import criterion
from eligibility.transform import parse_criterion

OTHER = "Other malignancy within 5 years"
HCC = ("hepatocellular_carcinoma",)


def test_other_depends_on_the_trial_not_on_the_last_parse() -> None:
    with_own = parse_criterion(OTHER, "exclusion", None, HCC)
    without = parse_criterion(OTHER, "exclusion", None, ())
    assert with_own.kind == "condition" and without.kind == "manual"
    assert parse_criterion(OTHER, "exclusion", None, HCC) == with_own
    assert (OTHER, "exclusion", None) not in criterion._MEMO


def test_a_kept_reading_is_a_fresh_one() -> None:
    text = "Platelets ≥ 100,000/mm3"
    first = parse_criterion(text, "inclusion", None, HCC)
    assert (text, "inclusion", None) in criterion._MEMO
    criterion._MEMO.clear()
    assert parse_criterion(text, "inclusion", None, ()) == first
    parse_criterion(text, "exclusion")
    assert (text, "exclusion", None) in criterion._MEMO  # the section is part of the key


def test_the_memo_is_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(criterion, "_MEMO", {})
    monkeypatch.setattr(criterion, "_MEMO_SIZE", 3)
    texts = [f"Hemoglobin ≥ {n} g/dL" for n in range(8, 13)]
    rules = [parse_criterion(t, "inclusion") for t in texts]
    assert len(criterion._MEMO) == 3
    assert [k[0] for k in criterion._MEMO] == texts[-3:]  # first in, first out
    assert [parse_criterion(t, "inclusion") for t in texts] == rules
