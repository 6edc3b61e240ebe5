"""Criteria text robustness: the free-text parser never raises and runs in linear time.

Skipped cleanly until the parser (``eligibility.transform``, branch ``grammar``) is present.
Hypothesis draws registry-style Unicode (full-width digits, no-break spaces, ≤ ≥ × µ variants,
HTML entities, markdown escapes), derandomized and bounded like ``test_fuzz_loaders.py``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

transform = pytest.importorskip("eligibility.transform")
parse_criterion = getattr(transform, "parse_criterion", None)
if parse_criterion is None:  # pragma: no cover - the parser's API is not there yet
    pytest.skip("eligibility.transform has no parse_criterion", allow_module_level=True)

from eligibility import load_patient  # noqa: E402 - after the skip on purpose
from eligibility.evaluate import Where, build_facts, compile_rule  # noqa: E402
from eligibility.model import Criterion  # noqa: E402
from eligibility.reasons import explain  # noqa: E402
from test_fuzz_loaders import FRAGMENTS, fuzz, tricky_text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FACTS = build_facts(
    load_patient(ROOT / "examples/patients/p01_eligible_hcc.json"), date(2024, 3, 1)
)

CRITERIA_LIKE = [
    "ALT ≤ 3 × ULN", "AST and ALT ≤ 2.5 x ULN", "platelets ≥ 100 × 10⁹/L", "ANC ≥１.５×10^9/L",
    "Hb \\> 9 g/dL", "total bilirubin &lt;= 1.5 mg/dL", "ECOG 0–1", "Child-Pugh A5–B7",
    "age ≥ 18 years", "no prior PD-1 inhibitor within 6 months", "creatinine clearance ≥ 60 mL/min",
    "INR < 1.5", "HIV infection", "pregnant or breastfeeding", "**Key inclusion**:",
]  # fmt: skip
criteria_text = st.lists(
    st.one_of(st.sampled_from(CRITERIA_LIKE), st.sampled_from(FRAGMENTS), tricky_text), max_size=8
).map(" ".join)


def _check(text: str, section: str) -> None:
    rule = parse_criterion(text, section)
    Criterion(id="X", section=section, text=text, rule=rule)  # a valid rule of the model
    explain(compile_rule(rule, Where("T", "X", section)), FACTS)  # and it evaluates


@fuzz(150)
@given(criteria_text, st.sampled_from(["inclusion", "exclusion"]))
def test_parser_never_raises(text, section):
    _check(text, section)


@fuzz(100)
@given(st.text(max_size=200), st.sampled_from(["inclusion", "exclusion"]))
def test_parser_never_raises_on_any_unicode(text, section):
    _check(text, section)


def test_hundred_kilobyte_run_on_line_parses():
    """A 100 KB run-on line gives one rule and no exception. How its time grows with its length
    is measured in bench/linearity.py (no wall-clock limit in a unit test)."""
    unit = "ALT ≤ 3 × ULN and platelets ≥ 100 × 10⁹/L, unless ECOG 0–1 and no HIV; "
    large = (unit * (100_000 // len(unit) + 1))[:100_000]
    rule = parse_criterion(large, "inclusion")
    assert rule.kind in {"manual", "all", "any"}
