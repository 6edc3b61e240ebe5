"""Tokeniser and grammar: normalisation, lexicon matching, robustness, YAML round trip."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eligibility import grammar
from eligibility.model import Criterion, ManualRule
from eligibility.transform import NO_CONTENT, parse_criterion


def _types(text: str) -> list[str]:
    return [t.type for t in grammar.tokenize(grammar.normalise(text))]


def test_normalise_superscripts_before_nfkc() -> None:
    assert grammar.normalise("1.5 x 10⁹/L") == "1.5 × 10^9/L"
    assert grammar.normalise("mm³") == "mm3"


def test_normalise_escapes_and_comparators() -> None:
    assert grammar.normalise("CA19-9 \\>37 and x =< 2") == "CA19-9 >37 and x ≤ 2"
    assert grammar.normalise("ANC ⩾ 1 – 2") == "ANC ≥ 1 - 2"


def test_longest_match_first() -> None:
    assert _types("HBV DNA > 2000 IU/mL")[0] == "LAB"
    assert _types("HBV infection") == ["COND"]


def test_short_terms_are_case_aware() -> None:
    assert "ECOG" not in _types("patients who have")
    assert _types("WHO 0-1")[0] == "ECOG"
    assert "LAB" not in _types("CR was achieved")  # "Cr" is creatinine, "CR" is not


def test_units_only_after_numbers() -> None:
    assert _types("1.5 mg/dL") == ["NUM", "UNIT"]
    assert "UNIT" not in _types("mg/dL of something")


def test_risky_units_are_not_guessed() -> None:
    assert "UNIT" not in _types("1.5 G/L")
    assert "UNIT" not in _types("5 mM")


def test_mangled_power_only_as_cell_unit() -> None:
    assert _types("1.5*109/L") == ["NUM", "MANGLED"]
    rule = parse_criterion("Creatinine ≤ 1.5*109/L", "inclusion")
    assert rule.kind == "manual"


def test_viral_mangled_power_needs_an_escaped_page() -> None:
    escaped = parse_criterion("HBV DNA\\>104 copies/ml", "exclusion")
    plain = parse_criterion("HBV DNA > 104 copies/ml", "exclusion")
    assert escaped.value == 10_000  # type: ignore[union-attr]
    assert plain.value == 104  # type: ignore[union-attr]


def test_prefilter() -> None:
    assert not grammar.has_anchor("Signed informed consent")
    assert grammar.has_anchor("ECOG 0-1")
    assert parse_criterion("Signed informed consent", "inclusion") == ManualRule(reason=NO_CONTENT)


def test_parser_is_built_once() -> None:
    assert grammar.parser() is grammar.parser()


def test_conditional_limit_never_unconditional() -> None:
    rule = parse_criterion("ALT ≤ 3 × ULN, or ≤ 5 × ULN if liver metastases", "inclusion")
    assert rule.kind == "any"
    assert rule.rules[1].kind == "all"  # type: ignore[union-attr]


def test_exception_cue_in_unparsed_text_makes_whole_manual() -> None:
    rule = parse_criterion("Hemoglobin ≥ 9 g/dL, transfusion allowed", "inclusion")
    assert rule.kind == "manual"


_TEXT = st.lists(
    st.sampled_from(
        [*"abcdeALTSGPHIVECOGxX×*^⁹µ0123456789.,;:()[]/-–<>=≤≥%\\ ", "ULN", " and ", " or ",
         "ECOG", "Child-Pugh", " A", "ALT", "mg/dL", "10^9/L", "HIV", " not ", " except ",
         "within", " months", " years", "age", "pregnant", "PD-1"]
    ),
    max_size=40,
).map("".join)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT, st.sampled_from(["inclusion", "exclusion"]))
def test_any_text_gives_a_rule(text: str, section: str) -> None:
    rule = parse_criterion(text, section)  # type: ignore[arg-type]
    assert rule.kind


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT, st.sampled_from(["inclusion", "exclusion"]))
def test_yaml_round_trip_is_lossless(text: str, section: str) -> None:
    crit = Criterion(id="I1", section=section, text=text, rule=parse_criterion(text, section))  # type: ignore[arg-type]
    dumped = crit.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    again = Criterion.model_validate(yaml.safe_load(yaml.safe_dump(dumped, allow_unicode=True)))
    assert again == crit
