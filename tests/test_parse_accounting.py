"""Every word accounted for: each character of a record's criteria blocks lands in a criterion.

``parse_record`` keeps every criterion the splitter finds, with its span. Headings ("Inclusion
Criteria:") and lead-ins ("… meet the following:") are not criteria: a heading is accounted for
by the section it opens, and a lead-in by being carried as the ``context`` of the criteria under
it. A line that reads like a lead-in but has nothing under it is a criterion (manual, since what
follows the ":" is missing) — never dropped. What is left between spans is list markers ("-",
"1)", "(a)") and white space.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eligibility.ingest import parse_record_text
from eligibility.split import split_record
from eligibility.transform import parse_record

# What may sit between segments: bullets and list labels, with their markdown escapes.
_MARKER = re.compile(
    r"\\?[-*+•·‣◦▪▫●○■□➢►–—]"
    r"|\\?\(?(?:\d{1,3}(?:\.\d{1,3})*|[A-Za-z]|[ivxIVX]{2,6})\\?[.)]"
)

WORDS = st.sampled_from(
    [
        "ALT ≤ 3 × ULN", "ECOG 0-1", "age 18-75 years", "HIV positive", "pregnant", "INR < 1.5",
        "Platelets ≥ 100×10⁹/L", "no active tuberculosis", "the following:", "meet the following",
        "Adequate organ function:", "and", "or", ";", ",", ".", ":", "(", ")", "except", "1)",
        "2)", "3.", "a)", "(1)", "\\>", "\\<", "\\*", "other malignancy", "within 3 months",
        "µmol/L", "–", "≥", "½", "Ⅲ", "ﬁ", "３", "\u00a0", "\u200b", "漢字", "é", "ß",
    ]
)  # fmt: skip
MARKERS = st.sampled_from(["- ", "* ", "• ", "1. ", "2) ", "(3) ", "a) ", "", "  - ", "\\- "])
FREE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\u2028"),
    max_size=12,
)


@st.composite
def items(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.one_of(WORDS, FREE), min_size=1, max_size=8))
    return draw(MARKERS) + " ".join(pieces)


@st.composite
def records(draw: st.DrawFn) -> str:
    inc = draw(st.lists(items(), min_size=0, max_size=6))
    exc = draw(st.lists(items(), min_size=0, max_size=6))
    head = draw(st.sampled_from(["", "Title: A trial\n\n", "Eligibility\n"]))
    return (
        f"{head}Inclusion Criteria:\n"
        + "\n".join(inc)
        + "\n\nExclusion Criteria:\n"
        + "\n".join(exc)
    )


def _check(text: str) -> None:
    [record] = parse_record_text(text, "any.txt")
    ruleset = parse_record(record)
    segments = split_record(record)
    covered = [False] * len(record.text)

    def cover(start: int, end: int) -> None:
        for i in range(start, end):
            covered[i] = True

    for c in ruleset.criteria:
        assert c.span is not None, c.id
        assert record.text[c.span.start : c.span.end] == c.text
        cover(c.span.start, c.span.end)
    contexts = {c.context for c in ruleset.criteria if c.context}
    for k, seg in enumerate(segments):
        if seg.kind == "heading":
            cover(seg.start, seg.end)
        elif seg.kind == "lead_in":
            # carried by the criteria under it (directly, or through a nested lead-in)
            below = [s for s in segments if s.parent == k]
            assert below, f"lead-in without items: {seg.text!r}"
            assert seg.text in contexts or any(s.kind == "lead_in" for s in below), seg.text
            cover(seg.start, seg.end)
    for block in record.blocks:
        gaps = re.finditer(
            r"\S+", "".join(" " if covered[i] else record.text[i] for i in range(len(record.text)))
        )
        for gap in gaps:
            if block.start <= gap.start() < block.end:
                assert _MARKER.fullmatch(gap.group()), (gap.group(), record.text)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(records())
def test_every_character_of_the_blocks_lands_in_a_criterion(text: str) -> None:
    _check(text)


def test_lead_in_without_items_is_a_manual_criterion() -> None:
    text = "Inclusion Criteria:\n- ALT ≤ 3 × ULN\n- Patients must meet the following:\n"
    [record] = parse_record_text(text, "any.txt")
    ruleset = parse_record(record)
    last = ruleset.criteria[-1]
    assert last.text == "Patients must meet the following:"
    assert last.rule.kind == "manual"
    _check(text)


def test_lead_in_is_carried_as_context() -> None:
    text = (
        "Inclusion Criteria:\n- Adequate organ function as defined below:\n"
        "  - ALT ≤ 3 × ULN\n  - INR < 1.5\n"
    )
    [record] = parse_record_text(text, "any.txt")
    ruleset = parse_record(record)
    assert [c.context for c in ruleset.criteria] == [
        "Adequate organ function as defined below:"
    ] * 2
    assert [c.rule.kind for c in ruleset.criteria] == ["lab", "lab"]
    _check(text)
