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

from eligibility import grammar, headings, split
from eligibility.model import AgeRule
from eligibility.normalize import fold_text
from eligibility.parse import criterion, labwindow, readings
from eligibility.parse.base import may_hold

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
        ("follow" in low or "of" in low) and headings._LEAD_IN_RE.search(tail) is not None
    )
    assert split.looks_like_lead_in(text) == plain
    age = AgeRule(min=18)
    assert (criterion._age_then(text, age) is None) == (criterion._AGE_THEN.search(text) is None)


# the words the word gates (``base.may_hold``) look for, among text that should match
GATE_WORDS = st.sampled_from(
    ["within 14 days", "no more than 4 weeks", "in the last 3 months", "in the past", "≤ 7 days",
     "(within 28 days prior to randomization)", " day", "WEEK", "Months", "prior to", "History",
     "previously", "ever had", "survivors", "due either to", "caused by either", "either",
     "whichever is higher", "are actively recruited", "is encouraged to apply", "welcomed",
     "Patients must have:", "subjects MUST NOT qualify as follows :", "Inclusion Criteria: ", "must be ", "are ", "to be ", "collected ", "determined ", "(", "[",
     ")", "]", "randomization", " prior to ", " before ", "first dose", "14", "7 ",
     "key exclusion criteria:* x", "  ", "\t", "\n", "\r", "\f", "3x", "2 * ULN", "10 x 10^9"]
)  # fmt: skip
GATE_TEXT = st.lists(st.one_of(ALPHABET, WORDS, GATE_WORDS, st.characters()), max_size=30).map(
    "".join
)


def _gates() -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    return [
        (labwindow._WINDOW, labwindow._PHRASE_WORDS),
        (labwindow._LEAD_WINDOW, labwindow._PHRASE_WORDS),
        (labwindow._MAY_HAVE_ONE, labwindow._UNIT_WORDS),
        (criterion._RECRUITED, criterion._RECRUITED_WORDS),
        (criterion._CAUSE_EITHER, ("either",)),
        (criterion._PAST_WORDS, criterion._PAST_KEYS),
        (criterion._WHICHEVER, ("whichever",)),
        (headings._REQUIRED_LEAD_RE, ("must",)),
        (headings._HEADING_PREFIX_RE, ("criteria",)),
    ]


@settings(max_examples=800, deadline=None)
@given(GATE_TEXT)
@example("Hemoglobin ≥ 9 g/dL (within 14 days prior to randomization)")
@example("ANC > 1500 within 2 weekſ")  # "ſ" folds to "s" in the pattern's eyes
@example("Neutropenia, due either to zidovudine or HIV infection")
@example("Patients must have: ")
@example("Labs [ must be determined within 7 days of registration]")
@example("x ( were obtained no more than 2 weeks prior to screening.")
def test_word_gates(text: str) -> None:
    """A gate says "no" only where its pattern finds nothing: the shortcut is the plain code."""
    for pattern, words in _gates():
        if not may_hold(text, words):
            assert pattern.search(text) is None, (pattern.pattern[:40], text)
    assert labwindow._may_have_one(text) == (labwindow._MAY_HAVE_ONE.search(text) is not None)
    for pattern in (labwindow._WINDOW, labwindow._LEAD_WINDOW):
        for t in (text, grammar.normalise(text)):
            fast = pattern.search(t, labwindow._search_from(t))
            plain = pattern.search(t)
            assert (fast and (fast.span(), fast.groupdict())) == (
                plain and (plain.span(), plain.groupdict())
            ), t
    assert labwindow._lead_window(text) == labwindow._found(
        grammar.normalise(text), labwindow._LEAD_WINDOW
    )
    assert grammar.normalise(text) == _normalise_plain(text)


TYPES = st.sampled_from(
    ["LAB", "CMP", "NUM", "UNIT", "ULN", "TIMES", "COND", "OR", "AND", "COMMA", "LPAR", "RPAR",
     "ECOG", "TO", "AGE", "TIMEUNIT", "EXCEPT", "NOT", "HIST", "WITHIN", "DRUG", "SEX", "EQ"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(TYPES, min_size=1, max_size=8), st.data())
def test_refused_types(types: list[str], data: st.DataObject) -> None:
    """A type sequence the parser refused is refused again whatever the values."""
    from lark.exceptions import LarkError

    vals = data.draw(st.lists(st.sampled_from(["1", "≥", "anc", "x", "10"]), min_size=len(types), max_size=len(types)))  # fmt: skip
    toks = [grammar.Tok(t, v, k, k + 1) for k, (t, v) in enumerate(zip(types, vals, strict=True))]
    grammar.parse_tokens(toks)  # (may fill the table)
    try:
        grammar.parser().parse(
            [
                grammar.Token(t.type, t.value)
                for k, t in enumerate(toks)
                if not (t.type == "COMMA" and k + 1 < len(toks) and toks[k + 1].type == "EXCEPT")
            ]
        )
        plain = True
    except LarkError:
        plain = False
    assert (grammar.parse_tokens(toks) is not None) == plain


SAMPLE = [
    ("ECOG 0-1", "inclusion", None),
    ("History of other malignancy within 5 years", "exclusion", None),
    ("Known liver disease", "exclusion", None),
    ("Hemoglobin ≥ 9 g/dL (within 14 days prior to randomization)", "inclusion", None),
    ("18 and over", "inclusion", "Age:"),
    ("ANC ≥ 1,500/mm3", "inclusion", "Laboratory values obtained ≤ 14 days prior to registration:"),
]


def test_whole_criterion_memo() -> None:
    """A repeated criterion gets the reading a fresh process gives, under each trial's conditions."""
    primaries: list[tuple[str, ...]] = [(), ("hepatocellular_carcinoma",), ("malignancy",)]
    cold = []
    for primary in primaries:
        for text, section, context in SAMPLE:
            criterion._WHOLE.clear()
            criterion._MEMO.clear()
            cold.append(criterion.parse_criterion(text, section, context, primary))
    warm = [
        criterion.parse_criterion(text, section, context, primary)
        for primary in primaries
        for text, section, context in SAMPLE
    ]
    assert warm == cold
