"""Normalisation: one spelling per symbol, and every output character traced to its source."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility.normalize import normalize

CASES = [
    ("Neutrophils≥1.5\\*109/L", "Neutrophils≥1.5*109/L"),
    ("tumor diameter\\>5cm, \\<37 U/mL, a\\_b", "tumor diameter>5cm, <37 U/mL, a_b"),
    ("1\\) Sign", "1) Sign"),
    ("ANC ≧ 1.5 × 10⁹/L", "ANC ≥ 1.5 × 10^9/L"),
    ("⩽ 3 ULN, ≦ 2, ⩾ 1", "≤ 3 ULN, ≤ 2, ≥ 1"),
    ("10¹² cells, 10⁻³", "10^12 cells, 10^-3"),
    ("ＡＬＴ≦３×ＵＬＮ", "ALT≤3×ULN"),
    ("5 μg/kg and 5 µg/kg", "5 µg/kg and 5 µg/kg"),
    ("aged 18–70, 18—70, −5, 18‐70", "aged 18-70, 18-70, -5, 18-70"),
    ("&gt; 5 &lt; 6 &amp; &le; 7 &ge; 8 &#8805; 9 &#x2264; 1", "> 5 < 6 & ≤ 7 ≥ 8 ≥ 9 ≤ 1"),
    ("&amp;gt; stays one level", "&gt; stays one level"),
    ("&unknown; kept", "&unknown; kept"),
    # misspelt comparators, as the registry has them (html.unescape: "&lte;" -> "<e;")
    ("creatinine &lte; 2.0 mg/dL", "creatinine ≤ 2.0 mg/dL"),
    ("glucose &gte; 150 mg/dL", "glucose ≥ 150 mg/dL"),
    ("&LTE; 1 &Gte; 2 &GTE; 3", "≤ 1 ≥ 2 ≥ 3"),
    ("&GE; 1 &LE; 2 &Ge; 3 &lE; 4", "≥ 1 ≤ 2 ≥ 3 ≤ 4"),
    ("pressure & GT; 140 mmHg, & lt; 5, & gte; 6, & LE; 7", "pressure > 140 mmHg, < 5, ≥ 6, ≤ 7"),
    ("&GT; 1 &LT; 2", "> 1 < 2"),
    ("&Gt; and &Lt; are HTML's ≫ and ≪", "≫ and ≪ are HTML's ≫ and ≪"),
    ("&amp;gte; stays one level", "&gte; stays one level"),
    (
        "only whole entities: &notit; &gtx; &ge 5 &  gt; R& D;",
        "only whole entities: &notit; &gtx; &ge 5 &  gt; R& D;",
    ),
    ("&notin; decodes", "∉ decodes"),
    ("a\u00a0b\u2009c\u3000d\u200be", "a b c de"),
    ("50.000/mmc and 50,000/µL", "50.000/mmc and 50,000/µL"),
    ("1.5 x ULN, 2 ✕ ULN", "1.5 x ULN, 2 ✕ ULN"),
    ("Child-Pugh Ⅱ, ﬁbrosis", "Child-Pugh II, fibrosis"),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_normalize_table(source: str, expected: str) -> None:
    assert normalize(source).text == expected


def test_to_source_maps_a_normalised_span_back() -> None:
    source = "ANC &ge; 1.5 × 10⁹/L"
    n = normalize(source)
    i = n.text.index("≥")
    assert source[slice(*n.to_source(i, i + 1))] == "&ge;"
    j = n.text.index("10^9")
    assert source[slice(*n.to_source(j, j + 4))] == "10⁹"
    assert source[slice(*n.to_source(0, len(n.text)))] == source
    assert n.to_source(len(n.text), len(n.text)) == (len(source), len(source))
    with pytest.raises(ValueError):
        n.to_source(3, 2)


@pytest.mark.parametrize("entity", ["&lte;", "&GTE;", "& GT;", "&LE;"])
def test_misspelt_comparator_maps_back_to_the_whole_entity(entity: str) -> None:
    source = f"ALT {entity} 3 × ULN; AST &gt; 40"
    n = normalize(source)
    i = n.text.index("3")
    assert source[slice(*n.to_source(4, 5))] == entity  # the one comparator character
    assert source[slice(*n.to_source(i, len(n.text)))] == "3 × ULN; AST &gt; 40"
    assert n.text[5:] == " 3 × ULN; AST > 40"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_offsets_are_monotonic_and_complete(text: str) -> None:
    n = normalize(text)
    assert len(n.offsets) == len(n.text)
    assert all(a <= b for a, b in zip(n.offsets, n.offsets[1:], strict=False))
    assert all(0 <= o < len(text) for o in n.offsets)
    s, e = n.to_source(0, len(n.text))
    assert 0 <= s <= e <= len(text)
    assert normalize(n.text).text == normalize(normalize(n.text).text).text  # settles


def test_normalize_of_a_long_run_keeps_every_offset() -> None:
    """100 KB of entities, escapes and full-width text normalise with an offset per character.
    Linear time is measured in bench/linearity.py (no wall-clock limit in a unit test)."""
    unit = "≥ 10⁹ &ge; \\* µ – ＡＢ "
    text = unit * (100_000 // len(unit))
    n = normalize(text)
    assert len(n.offsets) == len(n.text) and n.text
