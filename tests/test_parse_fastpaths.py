"""The parser's shortcuts give what the plain formulation gives, on any text.

Each shortcut (a look for a pattern's words before running it, a search started where a match
must be, a step skipped when it has nothing to change) exists for speed only; here each is held
to the plain code it replaced, written out again, over generated text rich in the characters the
patterns and case folding care about (the corpus-wide check is ``bench/rule_diff.py``: 0 changed).
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from eligibility import grammar, split
from eligibility.model import AgeRule
from eligibility.normalize import fold_text
from eligibility.parse import criterion, readings

# ASCII letters of the patterns' words, their non-ASCII case-fold twins (İ ı ſ K), spaces,
# punctuation and symbols the normaliser rewrites
ALPHABET = st.sampled_from(
    [*"aeilgsorndtuchfwxXvVISLEG .,;:/=<>~`µ·⋅×*10^-", "İ", "ı", "ſ", "\u212a", "\u2003"]
)
WORDS = st.sampled_from(
    ["or", "and", "one of", "any of", "all of:", "follows", "the following", "age at onset", "and/or", "i.e.", "e.g.", "vs.", "et al.", "such as", "including", "following",
     "ULN", "x ULN", "uncontrolled", "not controlled", "poorly controlled", "3x", "ECOG", "≥", "=>", "<=", "ANC", "years", " ", ". ", ": "]
)  # fmt: skip
TEXT = st.lists(st.one_of(ALPHABET, WORDS, st.characters()), max_size=40).map("".join)


def _normalise_plain(text: str) -> str:
    text = fold_text(text).translate(grammar._CHARS)
    text = text.replace(">=", "≥").replace("=>", "≥").replace("<=", "≤").replace("=<", "≤")
    times = r"(?<=[\d.])\s*[xX×*]\s*(?=ULN|LLN|IULN|upper|lower|the\b|institutional|normal|10\s*\^)"
    text = re.sub(times, " × ", text)
    return grammar._SPACE.sub(" ", text).strip()


@settings(max_examples=600, deadline=None)
@given(TEXT)
def test_normalise(text: str) -> None:
    assert grammar.normalise(text) == _normalise_plain(text)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_has_anchor(text: str) -> None:
    anchors = grammar.lexicon().anchors
    plain = any(c in text for c in "≥≤<>") or any(
        grammar._fold_piece(m.group()) in anchors for m in grammar._ANCHOR_WORD.finditer(text)
    )
    assert grammar.has_anchor(text) == plain


@settings(max_examples=600, deadline=None)
@given(TEXT)
@example("neuropathy, i.e., grade 3")
@example("drug A vſ. drug B")  # "ſ" folds to "s" in the pattern's eyes
@example("Smith et aL. 2019")
def test_abbreviation_dots(text: str) -> None:
    for at, ch in enumerate(text):
        if ch == ".":
            plain = any(
                m.start() <= at < m.end()
                for m in grammar._ABBREV.finditer(text, max(0, at - 8), at + 5)
            )
            assert grammar._abbrev_dot(text, at) == plain


@settings(max_examples=600, deadline=None)
@given(TEXT)
@example("ANC ≥ 1500/mm3 or ;, ")
@example("ALT ≤ 3 × ULN and/or")
@example("Cardiac disease ſuch as angina")
@example("Conditions İncluding asthma")
@example("Hypertension not well CONTROLLED")
def test_linked_end_and_leads_on(text: str) -> None:
    assert criterion._linked_end(text) == (criterion._LINKED.search(text) is not None)
    assert criterion._leads_on(text) == (criterion._LEADS_ON.search(text) is not None)
    assert readings._uncontrolled(text) == (readings._UNCONTROLLED.search(text) is not None)


@settings(max_examples=600, deadline=None)
@given(
    st.lists(
        st.one_of(ALPHABET, st.sampled_from(["1)", "(2)", "3.", "a)", "iv.", "\\1)", "\n"])),
        max_size=40,
    ).map("".join),
    st.data(),
)
def test_inline_labels(text: str, data: st.DataObject) -> None:
    cs = data.draw(st.integers(0, len(text)))
    ce = data.draw(st.integers(cs, len(text)))
    plain = [m for m in split._INLINE_RE.finditer(text, cs, ce) if m.start() > cs]
    fast = split._inline_labels(text, cs, ce)
    assert [(m.span(), m.groupdict()) for m in fast] == [(m.span(), m.groupdict()) for m in plain]


@settings(max_examples=600, deadline=None)
@given(TEXT)
@example("Patients must have one of :*")
@example("any of the following")
@example("Age at diagnosis ≥ 18")
def test_lead_in_and_age_then(text: str) -> None:
    tail = text[-160:].rstrip(" \t\n*_")
    low = tail.lower()
    plain = tail.endswith(":") or (
        ("follow" in low or "of" in low) and split._LEAD_IN_RE.search(tail) is not None
    )
    assert split.looks_like_lead_in(text) == plain
    age = AgeRule(min=18)
    assert (criterion._age_then(text, age) is None) == (criterion._AGE_THEN.search(text) is None)
