"""The parser keeps readings of repeated criteria: a kept reading must be the one a fresh parse
gives, and a criterion whose reading depends on the trial's own conditions is never kept."""

from __future__ import annotations

from collections import OrderedDict

from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility import grammar
from eligibility.parse import clauses, criterion
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
    monkeypatch.setattr(criterion, "_MEMO", OrderedDict())
    monkeypatch.setattr(criterion, "_WHOLE", {})
    monkeypatch.setattr(criterion, "_MEMO_SIZE", 3)
    texts = [f"Hemoglobin ≥ {n} g/dL" for n in range(8, 13)]
    rules = [parse_criterion(t, "inclusion") for t in texts]
    assert len(criterion._MEMO) == 3
    assert [k[0] for k in criterion._MEMO] == texts[-3:]  # first in, first out
    assert [parse_criterion(t, "inclusion") for t in texts] == rules


def test_a_kept_clause_is_read_again_the_same_under_each_context() -> None:
    """Clause readings are kept by tokens and ``Ctx``: the section still decides the reading."""
    text = "HIV, HBV, HCV"  # all of them required, or any one excluding
    first = {s: parse_criterion(text, s) for s in ("inclusion", "exclusion")}
    assert first["inclusion"] != first["exclusion"]
    criterion._MEMO.clear()
    clauses._TRIED.clear()
    for s in ("exclusion", "inclusion"):
        criterion._MEMO.clear()
        criterion._WHOLE.clear()  # (the whole-criterion memo in front of it)
        assert parse_criterion(text, s) == first[s]  # type: ignore[arg-type]
    assert any(ctx.section == "inclusion" for _, ctx in clauses._TRIED)


def test_the_clause_table_is_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(criterion, "_MEMO", OrderedDict())
    monkeypatch.setattr(clauses, "_TRIED", {})
    monkeypatch.setattr(clauses, "_TRIED_SIZE", 2)
    monkeypatch.setattr(criterion, "_WHOLE", {})
    texts = [f"Hemoglobin ≥ {n} g/dL" for n in range(8, 13)]
    rules = [parse_criterion(t, "inclusion") for t in texts]
    assert len(clauses._TRIED) <= 2
    criterion._MEMO.clear()
    criterion._WHOLE.clear()
    assert [parse_criterion(t, "inclusion") for t in texts] == rules


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list(" \t%*/1×xXmgdLuUkKµμ{yoaM\u00a0\u212a")) | st.characters()
    )
)
def test_the_unit_pattern_is_skipped_only_where_it_cannot_match(after: str) -> None:
    """``_number`` looks at the character after a number's spaces before trying the units."""
    first = after.lstrip()[:1]
    if first and first.isascii() and first not in grammar.unit_starts():
        assert grammar._unit_re().match(after) is None
