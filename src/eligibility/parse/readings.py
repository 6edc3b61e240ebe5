"""One sentence → a rule: the whole clause, a whole-sentence reading, or its chunks.

The readings (``_controlled``, ``_led_by_time``, ``_prefixed``, ``_with_qualified``,
``_requiring``, ``_about_one``, ``_needs_therapy``, ``_suspected``) each recognise one shape of
sentence the chunks cannot read apart — a condition with words that only narrow it, a lead that
says when values count — and state it as the necessary part AND a manual remainder. Words that
could widen a condition ("suspected", "or history of"), allowances and exceptions never take
these paths.
"""

from __future__ import annotations

import re
from itertools import pairwise

from eligibility import compose, grammar
from eligibility.grammar import Tok
from eligibility.model import AllRule, ConditionRule, Rule, TherapyRule
from eligibility.parse.base import Ctx, _cut, _flat, _leaves, _manual, _words
from eligibility.parse.chunks import _CUES, _SELF_NAMED, _SPLIT, _chunked, _split, _two_sexes
from eligibility.parse.clauses import _try


def _sentence(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule:
    whole = _try(toks, ctx)
    if whole is not None and not _two_sexes(whole):
        return whole
    qualified = (
        _controlled(toks, norm, ctx, lo, hi)
        or _led_by_time(toks, norm, ctx, lo, hi)
        or _prefixed(toks, norm, ctx, lo, hi)
        or _with_qualified(toks, norm, ctx, hi)
        or _requiring(toks, norm, ctx, hi)
    )
    if qualified is not None:
        return compose.with_law(qualified, "qualifier")
    rule = _chunked(toks, norm, ctx, lo, hi)
    if rule.kind != "manual":
        return rule
    # readings of a whole sentence the pieces could not give: only when the pieces gave nothing
    narrowed = _about_one(toks, norm, ctx, lo, hi) or _needs_therapy(toks, norm, ctx, lo, hi)
    if narrowed is not None:
        return compose.with_law(narrowed, "qualifier")
    suspected = _suspected(toks, norm, ctx, lo, hi)  # "known or suspected X": X suffices
    return compose.with_law(suspected, "separate") if suspected is not None else rule


# A recognised condition with words that can only *narrow* it ("symptomatic brain metastases",
# "liver disease with clinical significance") is the condition AND a manual remainder: when the
# condition is absent the criterion cannot hold (inclusion fails, exclusion does not apply);
# when it is present a person reads the rest. Words that could *widen* it ("suspected", "or
# history of"), allowances and exceptions never take this path.

# Sentence-initial modifiers that only narrow what follows (all words must be from these sets).
_NARROW_WORDS = frozenset(
    ["symptoms", "symptom", "symptomatic", "uncontrolled", "untreated", "unstable", "severe",
     "serious", "significant", "clinically", "decompensated", "poorly", "inadequately",
     "controlled"]
)  # fmt: skip
# How the diagnosis was made ("histologically confirmed", "pathological diagnosis by biopsy:"):
# a requirement to review, in either section.
_DIAG_KEYS = frozenset(
    ["pathological", "pathologically", "histological", "histologically", "cytological",
     "cytologically", "histopathological", "histopathologically", "biopsy"]
)  # fmt: skip
_DIAG_WORDS = _DIAG_KEYS | {"confirmed", "proven", "diagnosis", "diagnosed", "by", "documented"}
_PREFIX_GLUE = frozenset(["with", "of", "known", "a", "an", "the", "any", "patients", "subjects"])
# Words that make a "with …" remainder more than a narrowing qualifier.
_NOT_NARROWING = frozenset(
    ["suspected", "suspect", "suspicion", "suspicious", "possible", "possibly", "probable",
     "presumed", "presumptive", "equivalent", "similar", "required", "require", "necessary",
     "mandatory", "needed", "optional", "excluded", "exclude", "qualify", "participate",
     "enrolled", "enroll", "may", "can", "could"]
)  # fmt: skip
_ANCHORS = _SELF_NAMED | {"OLD", "CHILDPUGH"}


def _conditions_only(rule: Rule) -> bool:
    if rule.kind == "condition":
        return True
    if rule.kind in {"all", "any"}:
        return all(_conditions_only(r) for r in rule.rules)  # type: ignore[union-attr]
    return False


def _prefixed(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule | None:
    """ "Symptomatic brain metastases", "Histologically confirmed HCC": a narrowing prefix."""
    k = next((i for i, t in enumerate(toks) if t.type not in {"WORD", "EQ", "BY", "COLON"}), None)
    if not k or toks[k].type != "COND":
        return None
    k_at = toks[k].start
    prefix = norm[lo:k_at]
    words = _words(prefix)
    diag = bool(words & _DIAG_KEYS) and words <= _DIAG_WORDS | _PREFIX_GLUE
    narrow = bool(words & _NARROW_WORDS) and words <= _NARROW_WORDS | _DIAG_WORDS | _PREFIX_GLUE
    if not (diag or narrow):
        return None
    rest = _sentence(toks[k:], norm, ctx, toks[k].start, hi)
    if rest.kind == "manual" and rest.evidence is not None:  # type: ignore[union-attr]
        return rest  # "Untreated chronic hepatitis B or … HBV carriers": the read part evidence
    if not any(r.kind != "manual" for r in _leaves(rest)):
        return None
    return _flat("all", [rest, _manual("", f"qualifier not understood: '{_cut(norm, lo, k_at)}'")])


_VALUES = re.compile(
    r"(?i)[<>≤≥]|\b(?:uln|lln|upper\s+limits?\s+of\s+normal)\b"
    # "Renal failure with GFR below 30ml/min" (NCT01128933, fresh audit 85)
    r"|\b(?:below|above|under|over|(?:less|greater|more|lower|higher)\s+than)\s+\d"
)
_DEFINITION_WORDS = frozenset(
    ["criteria", "criterion", "definition", "definitions", "classification", "guidelines"]
)
_WITH = re.compile(r"(?i)with")
_WITH_END = re.compile(r"(?i)\bwith\s*$")


def _with_qualified(toks: list[Tok], norm: str, ctx: Ctx, hi: int) -> Rule | None:
    """ "HCC with at least one risk factor, …": conditions, then a "with"/"by" qualifier.

    The conditions must start the sentence and the qualifier run to its end, with no other
    computable piece and no "or" after it (which could start a new alternative).
    """
    # most criteria have neither "by" nor "with": one look at the whole text decides that
    with_ = _WITH.search(norm) is not None
    if not with_ and "BY" not in map(grammar.TYPE, toks):
        return None
    k = next(
        (
            i
            for i in range(1, len(toks))
            if toks[i].type == "BY"
            or (with_ and _WITH_END.search(norm[toks[i - 1].end : toks[i].start]))
        ),
        None,
    )
    if k is None:
        return None
    head = _try(toks[:k], ctx)
    if head is None or not _conditions_only(head):
        return None
    tail = toks[k:]
    text = norm[toks[k - 1].end : hi].strip(" ,;.:")
    words = _words(text)
    if words & (_CUES | _NOT_NARROWING) or any(t.type in {"EXCEPT", "UNLESS"} for t in tail):
        return None
    chunks = _split(tail, _SPLIT)
    if any(t.type in {"OR", "ANDOR"} for _, seps in chunks for t in seps):
        return None
    if any(t.type in _ANCHORS for c, _ in chunks[1:] for t in c):
        return None
    if words & _DEFINITION_WORDS or (ctx.section == "exclusion" and _VALUES.search(text)):
        # "Hepatic disease with elevated liver function tests (ALT or AST) ≥ 1.5 × ULN": values
        # that define the disease, which may be excluded on them without a coded diagnosis
        # "AIDS by CDC criteria": the definition named may cover more than the coded diagnosis
        # (a CD4 count under 200 is AIDS), so the diagnosis is evidence, not a decision
        return compose.assisted(norm[:hi], f"a definition ('{text[:60]}') may widen the name", head)
    first = chunks[0][0]
    parsed = _try(first[1:] if first[0].type == "BY" else first, ctx)
    end = chunks[0][1][0].start if len(chunks) > 1 else hi
    qual = parsed or _manual("", f"qualifier not understood: '{_cut(norm, toks[k - 1].end, end)}'")
    rest = [_manual(_cut(norm, chunks[0][1][-1].end, hi))] if len(chunks) > 1 else []
    if ctx.section == "exclusion" and rest:
        return _flat("any", [_flat("all", [head, qual]), *rest])
    return _flat("all", [head, qual, *rest])


_NEED = frozenset(
    ["need", "needs", "needed", "needing", "require", "requires", "required", "requiring"]
)  # fmt: skip
# what a "requiring oral or intravenous steroids" remainder may hold: words and treatments, no
# other condition, lab or time (which could be a new alternative rather than the requirement)
_NEED_TYPES = frozenset(["WORD", "OR", "AND", "ANDOR", "DRUG", "HEAD", "LPAR", "RPAR", "SLASH"])


def _requiring(toks: list[Tok], norm: str, ctx: Ctx, hi: int) -> Rule | None:
    """ "ILD, or pneumonitis and need oral or intravenous steroid therapy": a list of conditions
    qualified by the treatment it needs. The need narrows the whole list (whether it applies to
    one item or all, the conditions are necessary), so: all[conditions, manual(need)]."""
    low = norm.lower()  # a word of _NEED is in the text's letters, lower-cased, or nowhere
    if "need" not in low and "requir" not in low:
        return None
    k = next(
        (i for i, t in enumerate(toks) if t.type == "WORD" and t.value.lower() in _NEED and i > 0),
        None,
    )
    if k is None:
        return None
    cut = k - 1 if toks[k - 1].type == "AND" else k
    head = _try(toks[:cut], ctx) if cut > 0 else None
    if head is None or not _conditions_only(head):
        return None
    tail = toks[cut:]
    text = _cut(norm, toks[cut - 1].end, hi)
    words = _words(text)
    if words & (_CUES | _NOT_NARROWING - _NEED) or any(t.type not in _NEED_TYPES for t in tail):
        return None
    ors = [i for i, t in enumerate(tail) if t.type in {"OR", "ANDOR"}]
    drugs = [i for i, t in enumerate(tail) if t.type == "DRUG"]
    ends_in_drug = len(drugs) == 1 and all(t.type == "HEAD" for t in tail[drugs[0] + 1 :])
    if ors and not (ends_in_drug and drugs[0] > ors[-1]):
        # "requiring oral or intravenous steroids" ends in its treatment; in "requiring
        # chemotherapy or radiotherapy or certain nervous system diseases" the "or" may start a
        # new alternative
        return None
    return _flat("all", [head, _manual("", f"qualifier not understood: '{text}'")])


# "Uncontrolled hypertension (SBP ≥ 140 mmHg or DBP ≥ 90 mmHg)", "hypertension, and cannot be well
# controlled by antihypertensive medication (…)", "Poorly controlled diabetes, defined as HbA1c >
# 8%": the parenthesis (or "defined as …") states in numbers what "not controlled" means, so the
# rule is those limits. The diagnosis is not asked for as well: DBP 110 mmHg is uncontrolled
# hypertension by the text's own definition, recorded diagnosis or not (fresh audit 12); only
# where the words say the disease is treated ("… by antihypertensive medication") is it. Only
# upper limits (">", "≥") qualify: "(SBP < 140 and DBP < 90)" states the control target, whose
# failure is not a rule we can write.
_CONTROL_WORDS = frozenset(
    ["suffer", "suffers", "suffering", "from", "with", "known", "and", "that", "which", "is", "are",
     "was", "cannot", "can", "could", "not", "be", "been", "being", "well", "adequately",
     "sufficiently", "insufficiently", "inadequately", "poorly", "badly", "controlled",
     "uncontrolled", "by", "despite", "on", "antihypertensive", "anti", "hypertensive",
     "medication", "medications", "medicine", "medicines", "drug", "drugs", "treatment",
     "treatments", "therapy", "medical", "optimal", "standard", "agents", "management", "defined",
     "as", "a", "an", "the", "of", "patients", "subjects"]
)  # fmt: skip
_UNCONTROLLED = re.compile(
    r"(?i)\b(?:uncontrolled|(?:not|cannot|can\s+not|could\s+not|poorly|inadequately|"
    r"insufficiently|badly)\s+(?:be\s+)?(?:well\s+|adequately\s+|sufficiently\s+)?controlled)\b"
)
_CONTROL_TYPES = frozenset(["WORD", "COMMA", "AND", "BY", "NOT", "HEAD", "COND"])


def _uncontrolled(text: str) -> bool:
    # every reading of _UNCONTROLLED ends in "controlled"; most sentences hold no such word
    # (beyond ASCII the pattern's case folding matches letters ``str.lower`` leaves alone)
    if text.isascii() and "controlled" not in text.lower():
        return False
    return _UNCONTROLLED.search(text) is not None


def _controlled(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule | None:
    """A condition "not controlled", read as the limits that define it."""
    if len(toks) < 4 or not _uncontrolled(norm[lo:hi]):
        return None
    if toks[-1].type == "RPAR":  # the definition is the parenthesis that ends the sentence
        depth, d = 0, None
        for k in range(len(toks) - 1, -1, -1):
            depth += {"RPAR": 1, "LPAR": -1}.get(toks[k].type, 0)
            if depth == 0:
                d = k
                break
        if not d:
            return None
        head, inner = toks[:d], toks[d + 1 : -1]
    else:  # "…, defined as SBP > 150 mmHg or DBP > 100 mmHg"
        d = next(
            (k for k, t in enumerate(toks) if t.type == "WORD" and t.value.lower() == "defined"),
            None,
        )
        if d is None or d + 2 >= len(toks) or toks[d + 1].value.lower() != "as":
            return None
        head, inner = toks[:d], toks[d + 2 :]
    conds = [t for t in head if t.type == "COND"]
    if len(conds) != 1 or not inner or any(t.type not in _CONTROL_TYPES for t in head):
        return None
    words = _words(norm[lo : inner[0].start])
    named = _words(norm[conds[0].start : conds[0].end])
    if not words <= _CONTROL_WORDS | named:
        return None
    if not _UNCONTROLLED.search(norm[lo : inner[0].start]):
        return None
    seps = {t.type for _, s in _split(inner, _SPLIT) for t in s}
    if seps - {"OR", "ANDOR"} and seps - {"AND"}:
        return None  # commas, or "and" beside "or": which limits go together is unclear
    limits = _sentence(inner, norm, ctx, inner[0].start, inner[-1].end)
    leaves = _leaves(limits)
    if not all(
        r.kind in {"vital", "lab", "measure"} and r.comparator in {">", ">="}  # type: ignore[union-attr]
        for r in leaves
    ):
        return None
    if _words(norm[lo : inner[0].start]) & _TREATMENT_WORDS:
        # "Suffer from hypertension, and cannot be well controlled by antihypertensive medication
        # (SBP ≥ 140 …)": a treated, diagnosed disease whose limits are not met
        return _flat("all", [ConditionRule(condition=conds[0].value), limits])
    return limits


_TREATMENT_WORDS = frozenset(
    ["medication", "medications", "medicine", "medicines", "drug", "drugs", "treatment",
     "treatments", "therapy", "antihypertensive", "agents", "management"]
)  # fmt: skip


# "After antiviral therapy, HBV DNA > 10^4 copies/mL, HCV RNA > 1000": a leading "after …,"
# says when the values count. It can only narrow who is excluded, so the values are necessary and
# the lead is for a person: all[manual(lead), rest]. Read as one more piece of an exclusion list it
# would be an alternative (any[manual, values]), excluding on the values alone. (An inclusion's
# pieces are and-ed anyway.)
_TIME_LEADS = frozenset(["after", "following", "despite"])
_LEAD_TYPES = frozenset(["WORD", "HEAD", "COND", "DRUG", "REF"])  # "after liver transplantation"


def _led_by_time(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule | None:
    """ "After antiviral therapy, …" in an exclusion: all[manual(lead), the rest]."""
    if ctx.section != "exclusion" or not toks or toks[0].type != "WORD":
        return None
    if toks[0].value.lower() not in _TIME_LEADS:
        return None
    c = next((k for k, t in enumerate(toks) if t.type == "COMMA"), None)
    if c is None or c + 1 >= len(toks) or any(t.type not in _LEAD_TYPES for t in toks[:c]):
        return None
    rest = _sentence(toks[c + 1 :], norm, ctx, toks[c].end, hi)
    if not any(r.kind != "manual" for r in _leaves(rest)):
        return None
    lead = _cut(norm, lo, toks[c].start)
    return AllRule(rules=[_manual("", f"applies only {lead[0].lower()}{lead[1:]}"), rest])


# "a history of active tuberculosis infection more than 1 year before enrollment, no formal
# anti-tuberculosis treatment or tuberculosis is still active": a history of one condition, and
# every piece of the sentence (its alternatives included) speaks of that same condition. Whatever
# the pieces mean, the condition is necessary: all[condition, manual(sentence)].
_OTHER_ANCHORS = _ANCHORS - {"COND"}
_HISTORY = re.compile(r"(?i)\bhistory\b|^(?:past|previous|previously|prior)$")
# nouns a condition's name can modify, so that the phrase is not the condition at all
_MODIFIED_NOUNS = frozenset(
    ["vaccine", "vaccines", "vaccination", "vaccinations", "vaccinated", "immunization",
     "immunisation", "prophylaxis", "prophylactic", "test", "tests", "testing", "screening",
     "screen", "exposure", "exposed", "contact", "contacts", "risk", "carrier", "carriers", "free",
     "medication", "medications", "trial", "trials", "study", "studies", "program", "programme",
     "clinic", "ward", "unit", "center", "centre", "survivor", "survivors", "family", "relative",
     "relatives", "partner", "partners", "mother", "mothers", "status", "serology", "research",
     "defining"]
)  # fmt: skip


def _about_one(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule | None:
    """A history of one condition, qualified in words that all speak of it."""
    k = next((i for i, t in enumerate(toks) if t.type != "WORD"), None)
    if k is None or toks[k].type != "HIST" or not _HISTORY.search(toks[k].value):
        return None  # "prior treatment with", "received": a treatment, not the condition
    j = k + 1 + (k + 1 < len(toks) and toks[k + 1].type == "ACTIVE")
    if j >= len(toks) or toks[j].type != "COND":
        return None
    cid = toks[j].value
    types = {t.type for t in toks}
    if types & (
        _OTHER_ANCHORS | {"EXCEPT", "UNLESS", "IF", "OTHER", "POSITIVE", "NEGATIVE", "HEAD"}
    ):
        return None
    if {t.value for t in toks if t.type == "COND"} != {cid}:
        return None
    words = _words(norm[lo:hi])
    if words & (_CUES | _NOT_NARROWING):
        return None
    for a, b in pairwise(toks):
        if a.type == "NOT" and b.type in {"COND", "HIST", "ACTIVE"}:
            return None  # "… or no tuberculosis": a piece without the condition
        if a.type == "COND" and (
            b.type in {"HEAD", "DRUG", "LAB"} or b.value.lower() in _MODIFIED_NOUNS
        ):
            return None  # "HIV vaccine", "TB test": the condition names something else
    if any(t.type == "COND" and norm[t.end : t.end + 1] == "-" for t in toks):
        return None  # "AIDS-defining illness" (fresh audit 40): the condition modifies a noun
    if not all(any(t.type == "COND" for t in c) for c, _ in _split(toks, _SPLIT)):
        return None
    text = _cut(norm, lo, hi)
    return AllRule(
        rules=[ConditionRule(condition=cid), _manual("", f"qualifier not understood: '{text}'")]
    )


# "Known or suspected autoimmune disease": the known disease is computable, the suspicion is for a
# person: any[condition, manual]. A bare "suspected X" stays manual.
_SUSPECT_LEAD = re.compile(
    r"(?i)^(?:(?:suffer(?:s|ing)?\s+from|patients\s+with|subjects\s+with|with|have|has)\s+)?"
    r"((?:(?:active|current|known|documented|confirmed|suspected)(?:\s*,\s*(?:or\s+)?|\s+or\s+|"
    r"\s+and/or\s+))+(?:active|current|known|documented|confirmed|suspected))\s*$"
)


def _suspected(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule | None:
    """ "Active, known or suspected X": any[X, manual(suspected X)]."""
    k = next((i for i, t in enumerate(toks) if t.type == "COND"), None)
    if k is None:
        return None
    m = _SUSPECT_LEAD.match(norm[lo : toks[k].start].strip())
    if not m:
        return None
    said = _words(m.group(1))
    if "suspected" not in said or said == {"suspected"}:
        return None
    plain = said & {"known", "documented", "confirmed"}
    head = [Tok("ACTIVE", "active", toks[k].start, toks[k].start)] if not plain else []
    rule = _try([*head, *toks[k:]], ctx)
    if rule is None or not _conditions_only(rule):
        return None
    what = _cut(norm, toks[k].start, hi)
    return _flat("any", [rule, _manual("", f"suspected {what}: for a person to judge")])


# "Long-term use of systemic hormones (dose equivalent to >10mg prednisone/day) or any other form of
# immunosuppressive therapy is required": in an exclusion, every alternative names the treatment,
# so exposure to one of them is necessary; how long, how much and whether it is still needed are
# for a person: all[therapy, manual]. A dose in parentheses only narrows.
_NEED_WORDS = frozenset(
    ["long", "term", "use", "using", "used", "of", "any", "form", "forms", "type", "types", "other",
     "is", "are", "required", "requires", "requiring", "require", "need", "needs", "needing",
     "chronic", "current", "currently", "ongoing", "receiving", "receive", "treatment", "therapy",
     "with", "systemic", "the", "a", "an", "daily", "regular", "continuous", "continued",
     "prolonged", "concurrent", "concomitant"]
)  # fmt: skip
_NEED_THERAPY_TYPES = frozenset(
    ["WORD", "DRUG", "HEAD", "OTHER", "EQ", "TO", "OR", "ANDOR", "COMMA", "ACTIVE"]
)
# a bare drug name ("Corticosteroids.") says nothing of use; one of these words must say it
_USE_WORDS = frozenset(
    ["use", "using", "used", "required", "requires", "requiring", "require", "need", "needs",
     "needing", "receiving", "receive"]
)  # fmt: skip
_DOSE = re.compile(r"(?i)\b\d+(?:\.\d+)?\s*(?:mg|milligrams?)\b")


def _needs_therapy(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule | None:
    """Current or long-term use of named treatments, in an exclusion: all[therapy, manual]."""
    if ctx.section != "exclusion" or not any(t.type == "DRUG" for t in toks):
        return None
    outside: list[Tok] = []
    depth, opened = 0, 0
    for t in toks:
        if t.type == "LPAR":
            depth += 1
            opened = t.start
        elif t.type == "RPAR":
            depth -= 1
            if depth < 0 or not _DOSE.search(norm[opened : t.end]):
                return None  # only a dose may stand in parentheses
        elif depth == 0:
            outside.append(t)
    if depth or any(t.type not in _NEED_THERAPY_TYPES for t in outside):
        return None
    words = {t.value.lower() for t in outside if t.type == "WORD"}
    if not words <= _NEED_WORDS or not words & _USE_WORDS:
        return None
    if not all(any(t.type == "DRUG" for t in c) for c, _ in _split(outside, _SPLIT)):
        return None  # an alternative that names no treatment
    agents = list(dict.fromkeys(t.value.split("#")[0] for t in outside if t.type == "DRUG"))
    reason = f"qualifier not understood: '{_cut(norm, lo, hi)}'"
    return AllRule(rules=[TherapyRule(agents=agents), _manual("", reason)])
