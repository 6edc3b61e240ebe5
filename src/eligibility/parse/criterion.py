"""One criterion's text → one rule with every word accounted for (``parse_criterion``).

The criterion is normalised and tokenised, split into sentences, and each sentence read
(``readings._sentence``); sentences are joined by the section's connective. Lead-ins,
allowances ("… may be enrolled"), exceptions that reach on and subgroup sentences keep the
criterion manual or assisted. ``parse_criterion`` then applies the composition laws of
``compose``. It never raises.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import replace
from functools import lru_cache

from eligibility import compose, grammar, vocab
from eligibility.grammar import Tok
from eligibility.headings import heading_group
from eligibility.model import AllRule, AnyRule, ManualRule, Rule, Section, iter_rules
from eligibility.parse import definitions, labwindow, wording
from eligibility.parse.base import (
    NO_CONTENT,
    Ctx,
    _cut,
    _flat,
    _leaves,
    _manual,
    may_hold,
)
from eligibility.parse.chunks import _SELF_NAMED, _split
from eligibility.parse.readings import _sentence

_SENTENCE = frozenset({"SEMI", "STOP"})
# a later sentence, not understood, that lets patients in: "… can be selected", "Exception: …"
_ALLOWANCE = re.compile(
    r"(?i)\b(?:is|are|be|were)\s+(?:also\s+)?(?:allowed|eligible|permitted|permissible|selected|"
    r"enrolled|included|acceptable|exempt)\b|\bmay\s+(?:participate|enrol|enroll|be\s+eligible)\b|"
    r"^\W*(?:note\W+)?exceptions?\b"
    # "Has invasive breast cancer. This does not include DCIS with <10% invasive component"
    # (NCT02872025, fresh audit 45): what the exclusion leaves out
    r"|^\W*(?:this|these|it|which|that)\s+(?:does|do)\s+not\s+(?:include|apply\s+to)\b"
    # "Patients may be entered if they have had prior limited-field radiotherapy, …"
    r"|\b(?:may|can)\s+(?:also\s+)?(?:be\s+)?(?:entered|enrolled|included|accepted|admitted|"
    r"registered|randomi[sz]ed)\b"
    # "Patients may receive transfusion of packed red blood cells to achieve this hemoglobin
    # level": a way to meet the limit, which lets more patients in
    r"|\bmay\s+(?:receive|be\s+transfused|be\s+given)\b.{0,80}\bto\s+(?:achieve|reach|meet|attain)\b"
    # "Patients with ECOG is 2 to be discussed with the sponsor's medical monitor to be agreed
    # for inclusion" (NCT04234113, fresh audit 51): others let in by agreement
    r"|\bagreed\s+(?:for|to|on)\s+(?:inclusion|enrol\w*|participation)\b"
    r"|\bto\s+be\s+discussed\s+with\b.{0,80}\b(?:inclusion|enrol\w*|eligib\w*|participat\w*)\b"
)
# a later sentence "Patients whose disease is controlled under antiviral therapy should not be
# excluded." (NCT05838768, fresh audit 87); not a whole criterion's permission, which "(oral
# supplements are not excluded)" after its requirement is not
_NOT_EXCLUDED = re.compile(
    r"(?i)\b(?:should|will|shall|need|must|are|is)\s+not\s+(?:be\s+)?excluded\b"
)
_NOT_ALLOWED = re.compile(
    r"(?i)\b(?:not|never|cannot|no\s+longer)\s+(?:be\s+)?(?:allowed|eligible|permitted|selected|"
    r"enrolled|included|participate|entered|accepted|admitted|registered)|\bineligible\b"
    r"|\bno\s+(?:patients?|subjects?|participants?|one)\s+(?:may|can|will|shall)\b"
    # "… may be entered only after medical clearance by a cardiologist": a restriction
    r"|\bonly\s+(?:after|if|when|upon|with)\b"
)
# an exception or condition whose scope may run on into the sentences after it
_REACHES_ON = re.compile(r"(?i)\bexcept|\bunless\b|\bexcluding\b|\bother\s+than\b")
_LABEL_WORDS = frozenset(
    [
        "coagulation",
        "function",
        "functions",
        "hematology",
        "haematology",
        "hematologic",
        "haematological",
        "hematopoietic",
        "haematopoietic",
        "renal",
        "hepatic",
        "liver",
        "kidney",
        "marrow",
        "bone",
        "blood",
        "routine",
        "chemistry",
        "biochemistry",
        "laboratory",
        "lab",
        "labs",
        "values",
        "tests",
        "organ",
        "organs",
        "cardiac",
        "cardiovascular",
        "pulmonary",
        "performance",
        "age",
        "sex",
        "gender",
        "distribution",
        "other",
        "others",
        "general",
        "patient",
        "patients",
        "characteristics",
        "criteria",
        "inclusion",
        "exclusion",
        "adequate",
        "parameters",
        "requirements",
        "metabolic",
        "endocrine",
    ]
)
_LINKED = re.compile(r"(?i)\b(?:or|and|and/or)\s*[;,.:]*\s*$")
_LINKED_START = re.compile(r"(?i)(?:or|and)\b")
_TAIL = frozenset(";,.:")


def _linked_end(norm: str) -> bool:
    """``_LINKED`` searched from just before the trailing spaces and punctuation, where its
    connective must end (a search of the whole text tries it at every word)."""
    k = len(norm)
    while k and (norm[k - 1] in _TAIL or norm[k - 1].isspace()):
        k -= 1
    return _LINKED.search(norm, max(0, k - len("and/or"))) is not None


_RISKY_CONTEXT = re.compile(
    r"\b(?:allowed|permitted|acceptable|except|unless|excluding|not considered|exempt)\b",
    re.IGNORECASE,
)


def _context_prefix(context: str | None) -> str:
    """An "Age:", "Performance status:" or "Life expectancy:" lead-in names the variable its
    items leave out."""
    if not context:
        return ""
    key = vocab.fold(context.strip().rstrip(":"))
    return {
        "age": "Age ",
        "performancestatus": "performance status ",
        "lifeexpectancy": "Life expectancy ",
    }.get(key, "")


def parse_criterion(
    text: str, section: Section, context: str | None = None, primary: tuple[str, ...] = ()
) -> Rule:
    """One criterion's rule. Never raises: what is not understood becomes ``manual``."""
    key = (text, section, context, primary)
    rule = _WHOLE.get(key)
    if rule is None:
        if len(_WHOLE) >= _WHOLE_SIZE:
            _WHOLE.clear()
        rule = _WHOLE[key] = _whole(text, section, context, primary)
    return rule


# A repeated criterion (same text, section, lead-in and trial conditions: one in six of the
# corpus) skips the window, composition and assisted checks below too, not only the reading
# (``_MEMO``); everything here depends on those four alone. Emptied when full.
_WHOLE: dict[tuple[str, str, str | None, tuple[str, ...]], Rule] = {}
_WHOLE_SIZE = 16384


def _whole(text: str, section: Section, context: str | None, primary: tuple[str, ...]) -> Rule:
    rule = labwindow.read(text, context, lambda t, c: _parse_criterion(t, section, c, primary))
    rule = compose.active_tumours(rule)
    rule = compose.except_own(rule, section, primary)
    if isinstance(rule, AnyRule) and may_hold(text, ("whichever",)) and _WHICHEVER.search(text):
        # "≥ 18 years of age or designated age of majority …, whichever is higher": both
        # limits hold, the stricter decides; the unread one is still required
        rule = AllRule(
            rules=[
                r.model_copy(update={"law": "qualifier"}) if isinstance(r, ManualRule) else r
                for r in rule.rules
            ]
        )
    rule = wording.pregnant_or_lactating(wording.inline_quantifier(text, rule))
    rule = wording.disjoint_ages(wording.diagnosed_within(text, rule), section)
    why = (
        compose.undecidable(rule, section, primary)
        or _age_then(text, rule)
        or wording.not_the_patients(text, rule, section)
        or _other_section(text, section)
        or wording.past_pregnancy(text, rule)
        or wording.allowance_wider(text, rule, section)
        or wording.tumour_alternatives(rule, section)
        or wording.comparator_left(rule)
        or wording.examples_listed(text, rule)
        or wording.participation_note(text, rule)
        or wording.performance_gap(text, rule)
        or wording.prior_own_cancer(text, rule, section, primary)
        or wording.reversed_count(rule, section)
        or wording.state_among_events(rule)
        or wording.metastases_let_in(text, rule, section, primary)
        or wording.group_label(text, rule)
        or wording.distributive_plural(text, rule, section)
        or wording.population_list(text, rule, section)
        or wording.amendment_note(text, rule)
        or wording.with_or_without(text, rule)
        or wording.subjectless_bound(rule, section)
        or wording.tenseless_treated(text, rule, section)
        or compose.named_beside_unread(rule, section)
        or compose.list_end_unread(text, rule, section)
        or compose.alternative_end_measured(rule, section)
        or wording.impossible_ages(rule, section)
        or compose.window_in_qualifier(rule)
        or wording.status_beside_result(text, rule)
        or wording.graded_by_score(rule, section)
    )
    if why is None:
        rule = definitions.defined_by_readings(text, rule) or rule
        return definitions.sited_in_situ(text, rule) or rule
    read = compose.computable_part(rule)
    return compose.assisted(text, why, read) if read is not None else rule


_BOUND_BEFORE_BRACKET = re.compile(r"[^(]*(?:[<>≤≥]|&[lg]t;)\s*=?\s*\d[^(]*\(")
_BRACKETED = re.compile(r"\([^()]*\)")


def _unbracketed(said: str) -> str:
    return _BRACKETED.sub(" ", said)


_WHICHEVER = re.compile(
    r"(?i)\bwhichever\s+(?:is\s+)?(?:higher|greater|older|later|lower|less|smaller|earlier|"
    r"longer|shorter|more\s+restrictive|stricter)\b"
)


# Words that make a criterion ask about the past, so a resolved entry counts ("History of:",
# "prior", "ever had"); without one, "No angina" may mean now only.
_PAST_WORDS = re.compile(
    r"(?i)\b(?<!family\s)(?:history|historical|prior|previous|previously|past|ever|had|former"
    r"|formerly|survivors?|sequelae|lifetime)\b"
)


# every match of _PAST_WORDS holds one of these
_PAST_KEYS = (
    "histor", "prior", "previous", "past", "ever", "had", "former", "surviv", "sequelae",
    "lifetime",
)  # fmt: skip


# "Age at diagnosis at least 18 years": an age at a past event is not the age at screening.
_AGE_THEN = re.compile(
    r"(?i)\bage[ds]?\s+(?:at|of)\s+(?:the\s+)?(?:time\s+of\s+)?(?:the\s+)?(?:initial\s+|first\s+"
    r"|original\s+|primary\s+|cancer\s+|disease\s+)?(?:diagnos[ie]s|onset|transplant\w*|surgery"
    r"|symptom\w*|menarche|menopause|presentation|injury|first|infection|exposure|stroke)\b"
    # "having participated in the original study (1993 - 1996) at which time the minimum
    # participate age was 25 years": the age then, not now
    r"|\bat\s+(?:which|that)\s+time\b|\b(?:original|parent|previous|prior|earlier)\s+(?:study|"
    r"trial|protocol)\b"
)


# An inclusion that says it excludes ("Pregnant or nursing females will be excluded."): the
# source filed an exclusion under inclusions, so reading it as a requirement inverts it.
_EXCLUDES = re.compile(
    r"(?i)\b(?:(?:will|shall|must|should)\s+be|are|is|being)\s+(?:also\s+)?(?:excluded|"
    r"ineligible|not\s+eligible)\b|\b(?:exclusion\s+criteri(?:on|a)|not\s+be\s+eligible|"
    r"(?:is|are)\s+not\s+(?:allowed|permitted))\b"
)


_RESTATED = re.compile(r"(?i)^\W*(?:not|no|non|never|without|negative)\b")


# "Must be greater than 18 years of age" under exclusions (NCT00081731, fresh audit 85): a
# requirement filed under the wrong heading
_MUST = re.compile(r"(?i)^\W*(?:(?:patients?|subjects?|participants?)\s+)?must\s+(?:be|have)\b")


def _other_section(text: str, section: Section) -> str | None:
    if section == "exclusion" and _MUST.match(text):
        return "says 'must' under the exclusions: which way it counts is for a person"
    m = _EXCLUDES.search(text) if section == "inclusion" else None
    if m is None or _RESTATED.match(text):  # "Not pregnant or lactating; pregnant … are excluded"
        return None
    return f"says '{m.group(0)}' under the inclusions: which way it counts is for a person"


def _age_then(text: str, rule: Rule) -> str | None:
    if text.isascii() and "age" not in text.lower():  # (most criteria; see _is_allowance)
        return None
    if _AGE_THEN.search(text) and any(r.kind == "age" for r in _leaves(rule)):
        return "an age at a past event (diagnosis, onset), not the age at screening"
    return None


# Criteria repeat across trials ("Not pregnant or nursing", "18 and over" under "Age:"): about one
# in six of the shared corpus is a repeat. The reading of a criterion depends only on its text,
# section and lead-in, and on the trial's own conditions only when it says "other …" (see
# ``_reading``), so readings that never looked at them are kept, a bounded number, first in first
# out. Rules are frozen models: sharing one between criteria is safe.
# (An ``OrderedDict``: dropping the oldest of a plain dict walks past the slots of every key
# dropped before it, which cost more than the parse it saved.)
_MEMO: OrderedDict[tuple[str, str, str | None], Rule] = OrderedDict()
_MEMO_SIZE = 16384


def _parse_criterion(
    text: str, section: Section, context: str | None, primary: tuple[str, ...]
) -> Rule:
    key = (text, section, context)
    rule = _MEMO.get(key)
    if rule is not None:
        return rule
    asked: list[bool] = []
    rule = _reading(text, section, context, primary, asked)
    if not asked:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.popitem(last=False)
        _MEMO[key] = rule
    return rule


def _reading(
    text: str,
    section: Section,
    context: str | None,
    primary: tuple[str, ...],
    asked: list[bool],
) -> Rule:
    """The rule of one criterion; appends to ``asked`` when it read the trial's ``primary``."""
    prefix = _context_prefix(context)
    norm = grammar.normalise(prefix + text)
    if not norm or not grammar.has_anchor(norm):
        return ManualRule(reason=NO_CONTENT)
    if context and not prefix:
        why = context_problem(context, section)
        if why:
            return ManualRule(reason=why)
    if _linked_end(norm) or _LINKED_START.match(norm):
        return ManualRule(reason=f"linked to a neighbouring criterion by 'and'/'or': '{norm}'")
    if may_hold(norm, _RECRUITED_WORDS) and _RECRUITED.search(norm):
        # "Women and minorities are actively recruited": who is sought, not who may enrol
        return _manual(norm, f"a recruitment note, not a requirement: '{norm[:120]}'")
    if _is_allowance(norm) and not _SENTENCE_BREAK.search(norm.rstrip(" .;")):
        # "Pregnant and nursing women may participate in minimal risk procedures": a permission
        # on its own is no requirement (read as one it would fail everyone else)
        return _manual(norm, f"a permission, not a requirement: '{norm[:120]}'")
    cause = _CAUSE_EITHER.search(norm) if may_hold(norm, ("either",)) else None
    if cause:
        # "Neutropenia, due either to zidovudine or HIV infection": the "either … or" list is
        # the cause of the words before it; read as alternatives, HIV alone would pass
        return _manual(norm, f"an 'either … or' list that says what causes '{cause.group(0)}'")
    toks = _history_of_active(_no_either(_appositions(grammar.tokenize(norm))))
    if "OTHER" in map(grammar.TYPE, toks):
        asked.append(True)  # "other malignancy": every one but the trial's own (``ctx.primary``)
    # the past is asked about by the lead-in, or by words before the first condition named
    # ("History of: …", "Patients with a history of stroke, MI …"); a later "history of nerve
    # injury" is that item's own
    first = next((t.start for t in toks if t.type == "COND"), len(norm))
    # (within its own sentence: "… within 3 days prior to entry. Alcohol or drug abuse." asks
    # nothing of the past)
    # (nor within its own ";" piece: "history of head injury; pregnancy; …; medical or
    # psychiatric illness", NCT02183948, fresh audit 87, asks of head injury only)
    since = max(norm.rfind(". ", 0, first), norm.rfind("; ", 0, first)) + 1
    head = f"{context or ''} {norm[since:first]}"
    ctx = Ctx(
        section=section,
        escaped=grammar.had_escapes(text),
        primary=primary,
        implicit_age=not context or bool(prefix),
        history=may_hold(head, _PAST_KEYS) and _PAST_WORDS.search(head) is not None,
    )
    sentences = _split(toks, _SENTENCE)
    if section == "inclusion" and any(
        sent and sent[0].type in {"OR", "ANDOR"} for sent, _ in sentences[1:]
    ):
        # "HIV infection documented by ELISA; OR positive HIV culture; OR …": the sentences are
        # alternatives, and which of them the "or" joins is not clear
        return _manual(norm, f"alternatives across sentences: '{norm[:120]}'")
    rules: list[Rule] = []
    allowances: list[Rule] = []
    reach: str | None = None  # an exception not understood, ended by a full stop
    lead: str | None = None  # a lead-in sentence whose modifier reaches the items after it
    lo = 0
    for k, (sent, seps) in enumerate(sentences):
        hi = seps[0].start if seps else len(norm)
        sent = _strip_label(sent)
        if sent:
            own = ctx
            if (
                ctx.history
                and lo > norm.find(". ", first) >= 0
                and not _PAST_WORDS.search(context or "")
            ):
                # "Prior radiotherapy for malignancy. Alcohol abuse.": a full stop after the
                # sentence whose past words were read ends their reach
                own_first = next((t.start for t in sent if t.type == "COND"), hi)
                own = replace(ctx, history=_PAST_WORDS.search(norm[lo:own_first]) is not None)
            rule = _sentence(sent, norm, own, max(lo, 0), hi)
            said = _cut(norm, lo, hi)
            if reach and any(r.kind == "condition" for r in _leaves(rule)):
                # "… except: Curatively treated BCC. Cervical carcinoma in situ.": the sentences
                # after it may be the exception's items, not criteria
                return _manual(norm, f"an exception whose reach is unclear: '{reach}'")
            if (
                rule.kind == "manual"
                and k > 0
                and (
                    _is_allowance(said) or _ALLOWED_AFTER.search(said) or _NOT_EXCLUDED.search(said)
                )
                # "bilirubin ≤1.5xULN (isolated bilirubin >1.5 x ULN is acceptable if …)"
                # (NCT02164513, fresh audit 86): a limit of its own, its allowance in brackets
                and not (
                    _BOUND_BEFORE_BRACKET.match(said) and not _is_allowance(_unbracketed(said))
                )
            ):
                allowances.append(_manual(said).model_copy(update={"law": "allowance"}))
            elif rule.kind == "manual" and _leads_on(said) and compose.scope_word(said):
                # "Cardiac diseases that are not well controlled, such as: a. …": the items in
                # the sentences after it are read under its modifier
                lead = said[:120]
                rules.append(rule)
            elif (
                k < len(sentences) - 1 and ":" in said and compose.scope_word(said.split(":", 1)[0])
            ):
                # "The routine blood test was normal within 1 week before enrollment: WBC …, b.
                # ANC …, c. PLT …": a lead-in before ':' reaches the lettered items after it
                lead = said[:120]
                rules.append(rule)
            else:
                rules.append(rule)
                if rule.kind == "manual" and seps and _REACHES_ON.search(said):
                    reach = said[:120]  # "… OTHER THAN CIS of the cervix; basal cell …; or …"
        lo = seps[-1].end if seps else hi
    if allowances and definitions.restricts_others([_reason_text(a) for a in allowances], rules):
        # "No history of bleeding diathesis. Patients with a history of peptic ulcer disease
        # will be eligible if the ulcer is shown to be resolved" (NCT00001266): the allowance's
        # condition keeps out the rest of another group, which nothing here reads
        return _kept_as_evidence(
            norm, rules + allowances, "all" if section == "inclusion" else "any"
        )
    if allowances and any(r.kind != "manual" for rule in rules for r in _leaves(rule)):
        # "Brain metastases. Patients with treated brain metastases can be enrolled.": an
        # allowance only takes patients out of an exclusion (all[rest, manual]) and only lets
        # more into an inclusion (any[rest, manual]); as one more piece of the list it would
        # exclude the very patients it allows
        rest = _flat("all" if section == "inclusion" else "any", rules)
        return _flat("any" if section == "inclusion" else "all", [rest, *allowances])
    rules += allowances
    if not rules:
        return ManualRule(reason=NO_CONTENT)
    kind = "all" if section == "inclusion" else "any"
    if lead and any(r.kind != "manual" for rule in rules for r in _leaves(rule)):
        return _kept_as_evidence(norm, rules, kind)
    if norm.endswith(":"):
        rules.append(ManualRule(reason="ends with ':' and what follows is not part of it"))
        if section == "exclusion" and any(r.kind != "manual" for r in rules):
            # "Patients infected by HBV, HCV, HDV:" — excluded only if they have one of them
            return compose.with_law(_flat("all", rules), "qualifier")
        # "Age 65-70 years:" in an inclusion may name the subgroup the items after it are for
        return _kept_as_evidence(norm, rules, kind)
    if len(rules) > 1 and any(
        r.kind == "manual" and wording.SUBGROUP_SENTENCE.search(_reason_text(r)) for r in rules
    ):
        # "ALT/AST > 2 × ULN. For patients with hepatic metastases, ALT/AST > 5 × ULN …": a
        # sentence for a subgroup, not read, changes what the others mean for that subgroup
        return _kept_as_evidence(norm, rules, kind)
    if len(rules) > 1 and any(
        r.kind == "manual" and _DEFINES.search(_reason_text(r)) for r in rules[1:]
    ):
        # "… active hepatitis B virus infection, … Active hepatitis B was defined as HBV DNA ≥
        # ULN": a later sentence, not read, defines a term the rules before it decide on
        return _kept_as_evidence(norm, rules, kind)
    if len(rules) > 1 and _subject_before(rules):
        # "Patients must be able to avoid close household contact with persons with eczema …;
        # pregnant or nursing women; children under 5 years": a sentence, not read, that names
        # another person may make the sentences after it about that person
        return _kept_as_evidence(norm, rules, kind)
    if len(rules) > 1 and _named_again(rules):
        # "No previous use of St. John's Wort. Subjects with prior history of St. John's Wort use
        # must abstain from use for 30 days …": a later sentence, not read, speaks of what an
        # earlier one decides on, so it may relax or narrow it
        return _kept_as_evidence(norm, rules, kind)
    if section == "exclusion" and any(r.kind == "not" for r in rules):
        # "No other liver disease" listed under exclusions: "no" restates the section or
        # turns the item into a requirement; which one the text means is for a person
        return _kept_as_evidence(norm, rules, kind)
    if all(r.kind == "manual" for r in rules) and len(rules) > 1:
        return _kept_as_evidence(norm, rules, kind)
    if _SUBJECT_WITH.match(norm) and any(
        r.kind != "manual" for rule in rules for r in _leaves(rule)
    ):
        # "Patients with a history of cardiac disease must have a normal ejection fraction …
        # and have no angina": what follows is asked of those patients only
        return _kept_as_evidence(norm, rules, kind)
    return compose.with_law(_flat(kind, rules), "separate")


_SUBJECT_WITH = re.compile(
    r"(?i)^\W*(?:all\s+)?(?:patients|subjects|participants|those|persons|individuals|women|men)"
    r"\s+(?:with|who\s+(?:have|had|has))\b[^.;]{0,120}?\b(?:must|should|shall|will\s+need|"
    r"need\s+to|are\s+required|is\s+required)\b"
)


_LEADS_ON = re.compile(r"(?i):\W*\w?\W*$|\bsuch\s+as\b|\bincluding\b|\bfollowing\b")


def _leads_on(said: str) -> bool:
    if said.isascii() and ":" not in said:  # (case folding beyond ASCII: see _is_allowance)
        low = said.lower()
        if "such" not in low and "including" not in low and "following" not in low:
            return False
    return _LEADS_ON.search(said) is not None


_SUBJECTS = compose.SCOPE_CLASSES["subject"]
_CONTACT_LENS = re.compile(r"contact\s+lens")


def _subject_before(rules: list[Rule]) -> bool:
    """Whether a sentence not read names a person other than the patient before one read."""
    for k, r in enumerate(rules[:-1]):
        said = _CONTACT_LENS.sub("", _reason_text(r).lower())
        if r.kind == "manual" and not _SUBJECTS.isdisjoint(re.findall(r"[a-z]+", said)):
            return any(x.kind != "manual" for later in rules[k + 1 :] for x in _leaves(later))
    return False


# "Known history of HIV. Note: No HIV testing is required …": a later sentence about the test,
# not the condition, changes nothing the earlier one decides.
_NO_TEST_NEEDED = re.compile(
    r"(?i)\b(?:test(?:ing)?|screening|scans?|imaging)\b.{0,60}\bnot\s+(?:required|mandatory|"
    r"needed|necessary)\b|\bno\b.{0,40}\b(?:test(?:ing)?|screening|scans?)\b.{0,40}\b(?:is|are)\s+"
    r"required\b|\bno\s+(?:upper\s+|lower\s+)?age\s+(?:limit|restriction)"
)


def _named_again(rules: list[Rule]) -> bool:
    """Whether a sentence not read names a condition, drug, lab or measure a sentence before it
    decides on."""
    decided: set[str] = set()
    for r in rules:
        said = _reason_text(r)
        if r.kind == "manual" and said and decided and not _NO_TEST_NEEDED.search(said):
            toks = grammar.tokenize(said)
            if any(t.type in ("COND", "DRUG") and t.value in decided for t in toks):
                return True
            if any(t.type in ("LAB", "MEASURE") and f"{t.type}:{t.value}" in decided for t in toks):
                # "… creatinine-clearance > 50 ml/min. If calculated creatinine-clearance is < 50
                # ml/min, an EDTA clearance should be performed" (NCT03540420): another way in
                return True
            if "age" in decided and any(t.type in ("AGE", "OLD") for t in toks):
                # "Are at least 18 years old. Patients living in USA … can be at least 12
                # years old": another age for some patients
                return True
        for leaf in iter_rules(r):
            if leaf.kind == "age":
                decided.add("age")
            elif leaf.kind == "condition":
                decided.add(leaf.condition)  # type: ignore[union-attr]
            elif leaf.kind == "therapy":
                decided.update(leaf.agents)  # type: ignore[union-attr]
            elif leaf.kind == "lab":
                decided.add(f"LAB:{leaf.analyte}")  # type: ignore[union-attr]
            elif leaf.kind == "measure":
                decided.add(f"MEASURE:{leaf.name}")  # type: ignore[union-attr]
    return False


def _reason_text(rule: Rule) -> str:
    return rule.reason if isinstance(rule, ManualRule) else ""


def _kept_as_evidence(norm: str, rules: list[Rule], kind: str) -> Rule:
    """Sentences none of which decides: one manual rule, keeping what they read as evidence."""
    read = [r.evidence if isinstance(r, ManualRule) else compose.computable_part(r) for r in rules]
    read = [r for r in read if r is not None]
    if not read:
        return _manual(norm)
    return compose.assisted(norm, "no part decides alone", _flat(kind, read))


_SENTENCE_BREAK = re.compile(r"[.;]\s")


# Every reading of _ALLOWANCE holds one of these words; most sentences hold none. (ASCII text
# only: the pattern's case folding also matches a few letters that ``str.lower`` leaves alone.)
# A later sentence "Chronic hepatitis B on antiviral allowed as per institutional guideline"
# (NCT06918782, fresh audit 76): an allowance, though alone such a line may hold requirements
_ALLOWED_AFTER = re.compile(
    r"(?i)^(?!.*\b(?:not|never|no)\b).*\b(?:allowed|permitted)"
    r"(?:\W*$|\s+(?:as\s+per|per|if|when|provided|according\s+to)\b)"
)
_ALLOWANCE_WORDS = (
    "allowed", "eligible", "permi", "selected", "enrol", "included", "acceptable", "exempt",
    "participate", "exception", "entered", "accepted", "admitted", "registered", "randomi",
    "receive", "transfused", "given", "include", "apply", "agreed", "discussed",
)  # fmt: skip


def _is_allowance(sentence: str) -> bool:
    if sentence.isascii():
        low = sentence.lower()
        if not any(w in low for w in _ALLOWANCE_WORDS):
            return False
    return bool(_ALLOWANCE.search(sentence)) and not _NOT_ALLOWED.search(sentence)


@lru_cache(maxsize=4096)  # every item under a lead-in asks again
def context_problem(context: str, section: Section) -> str | None:
    """Why a lead-in changes its items' meaning, or None when it only introduces them.

    A lead-in is harmless only when every word of it is list glue ("Patients must have the
    following:", "Adequate organ function as defined below:", "Hepatic:"). Anything else can name
    a subgroup ("Recurrent tumor:", "DONOR:", "Healthy control subjects …:"), a time window
    ("None of the following within the past 6 months:"), a negation, or alternatives ("at least
    2 of the following:") — the items are then not rules on their own, so they stay manual.
    """
    norm = grammar.normalise(context)
    quoted = norm[:120]
    if heading_group(context):
        if norm.strip().lower().startswith("allowed"):
            return f"what a patient may have, not a requirement: '{quoted}'"
        return f"criteria for a group its heading names: '{quoted}'"
    if _RISKY_CONTEXT.search(norm):
        return f"depends on its lead-in: '{quoted}'"
    if _SOME_OF.search(norm) or (section == "inclusion" and _ANY_OF.search(norm)):
        return f"one of alternatives listed in its lead-in: '{quoted}'"
    if section == "exclusion":  # "Patients with any of the following … are excluded:"
        norm = _WITH_THE_FOLLOWING.sub(" ", norm)
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", norm)]
    glue = _LEAD_GLUE | (_LEAD_GLUE_EXCLUSION if section == "exclusion" else frozenset())
    if section == "exclusion" and _MAY_BE_ELIGIBLE.search(norm) and not _NOT_ELIGIBLE.search(norm):
        # "You may be eligible for this study if you:" under exclusions: requirements misfiled
        return f"a lead-in of requirements under exclusions: '{quoted}'"
    if section == "exclusion" and _NOT_ELIGIBLE.search(norm):
        glue = glue | {"not"}
    odd = [w for w in words if w not in glue]
    if odd or not words or set(words) <= _POPULATION:
        return f"depends on its lead-in: '{quoted}'"
    return None


# Words of lead-ins that only introduce a list, restate the section or name an NCI category
# ("Hepatic:", "Biologic therapy:"), read off the corpus's most frequent lead-ins.
# fmt: off
_LEAD_GLUE = frozenset([
    "a", "adequate", "all", "an", "and", "applicable", "are", "as", "assessed", "at", "based",
    "baseline", "be", "below", "biologic", "biological", "blood", "bone", "by", "cardiac",
    "cardiovascular", "characteristics", "chemotherapy", "coagulation", "concurrent", "criteria",
    "data", "pretreatment", "pre-treatment",
    "criterion", "defined", "demonstrate", "determined", "eligibility", "eligible", "end",
    "endocrine", "entry", "expectancy", "following", "follows", "for", "function", "functional",
    "functions", "gender", "general", "haematological", "haematology", "have", "hematologic",
    "hematological", "hematology", "hematopoietic", "hepatic", "hormonal", "if", "important",
    "in", "include", "includes", "including", "inclusion", "indicators", "is", "kidney", "lab",
    "laboratory", "life", "liver", "major", "marrow", "may", "meet", "meets", "must", "normal",
    "of", "organ", "organs", "other", "others", "parameter", "parameters", "participant",
    "participants", "participate", "participation", "patient", "patients", "performance", "prior",
    "pulmonary", "qualify", "radiotherapy", "renal", "requirement", "requirements", "result",
    "results", "routine", "screening", "sex", "should", "status", "studies", "study", "subject",
    "subjects", "sufficient", "surgery", "test", "tests", "that", "the", "therapy", "these",
    "they", "this", "to", "trial", "value", "values", "volunteer", "volunteers", "who", "will",
    "you", "your",
])
_LEAD_GLUE_EXCLUSION = frozenset([
    "any", "conditions", "diseases", "exclusion", "excluded", "exclude", "following", "from",
    "reasons", "symptoms",
])
# A lead-in that is only a population noun ("PATIENT:" beside "DONOR:") names a subgroup.
_POPULATION = frozenset([
    "patient", "patients", "participant", "participants", "subject", "subjects", "volunteer",
    "volunteers",
])
# fmt: on
_WITH_THE_FOLLOWING = re.compile(r"(?i)\bwith\s+(?:any\s+of\s+)?the\s+following\b")
_MAY_BE_ELIGIBLE = re.compile(r"(?i)\b(?:may|will|can|could)\s+be\s+eligible\b|\beligible\s+if\b")
_NOT_ELIGIBLE = re.compile(
    r"(?i)\bnot\s+(?:be\s+)?(?:eligible|enrolled|included|qualify|allowed\s+to\s+participate)"
)
_SOME_OF = re.compile(
    r"(?i)\b(?:at\s+least|minimum\s+of|\d+|two|three|four|five)\s+(?:or\s+more\s+)?"
    r"(?:of|out\s+of)\b"
)
_ANY_OF = re.compile(r"(?i)\b(?:one|any|either|some)\s+(?:or\s+more\s+)?of\b|\beither\b|\bor\b")


def _strip_label(toks: list[Tok]) -> list[Tok]:
    """Drop a short label before a colon ("Coagulation function: INR < 1.2")."""
    if "COLON" not in map(grammar.TYPE, toks):
        return toks  # (most sentences: the loop below would find nothing)
    for k, t in enumerate(toks):
        if t.type == "COLON":
            head = toks[:k]
            rest = toks[k + 1 :]
            if len(head) <= 5 and all(h.type == "WORD" for h in head):
                # a category label ("Renal:", "Coagulation function:") is dropped only when what
                # follows names its own variable; any other label is text to review
                if any(t.type in _SELF_NAMED for t in rest) and all(
                    h.value.lower() in _LABEL_WORDS for h in head
                ):
                    return rest
                return toks
            return toks[:k] + toks[k + 1 :]  # "Age: 18 and over"
    return toks


_DEFINES = re.compile(r"(?i)\b(?:is|are|was|were|be)\s+defined\s+(?:as|by)\b|\bdefinition\s+of\b")
_RECRUITED = re.compile(
    r"(?i)\b(?:are|is|will\s+be)\s+(?:actively\s+|especially\s+|particularly\s+)?"
    r"(?:recruited|sought|encouraged\s+to\s+(?:apply|participate|enrol|enroll|join)|welcome[d]?)\b"
)
_RECRUITED_WORDS = ("recruited", "sought", "encouraged", "welcome")  # one is in every match
_CAUSE_EITHER = re.compile(
    r"(?i)\b(?:due|secondary|related|attributable|caused|associated|induced)\b(?:\s+\w+)?\s+"
    r"either\b"
)


def _history_of_active(toks: list[Tok]) -> list[Tok]:
    """ "Known history of active tuberculosis": an active disease at any time, the past too
    (read as "active", a tuberculosis treated in 2015 would pass)."""
    if "HIST" not in map(grammar.TYPE, toks):
        return toks
    return [t for k, t in enumerate(toks) if not _past_activity(toks, k)]


def _past_activity(toks: list[Tok], k: int) -> bool:
    t = toks[k]
    if t.type != "ACTIVE" or t.value.lower() != "active" or not k or toks[k - 1].type != "HIST":
        return False
    nxt = toks[k + 1] if k + 1 < len(toks) else None
    # (the activity of a tumour or of a disease that flares stays a judgement)
    return nxt is not None and nxt.type == "COND" and not compose.judged_activity(nxt.value)


def _no_either(toks: list[Tok]) -> list[Tok]:
    """ "18 to 45 years of age, either male or female": the "either" of a both-sexes phrase is
    not a connective between the age and the sexes (read as one, it admitted anyone)."""
    if "SEXALL" not in map(grammar.TYPE, toks):
        return toks  # (most criteria: nothing to drop)
    return [
        t
        for k, t in enumerate(toks)
        if not (
            t.type == "OR"
            and t.value.lower() == "either"
            and k + 1 < len(toks)
            and toks[k + 1].type == "SEXALL"
        )
    ]


def _appositions(toks: list[Tok]) -> list[Tok]:
    """Spelled-out words before a parenthesised analyte abbreviation are its name.

    "International normalised (prothrombin time) ratio (INR) < 1.2" → INR < 1.2, only when a
    comparator follows and the words start the clause.
    """
    out = toks
    if "LPAR" not in map(grammar.TYPE, toks):
        return toks  # (most criteria: no parenthesis to look at)
    for k in range(len(toks) - 3):
        if not (
            toks[k].type == "LPAR"
            and toks[k + 1].type in {"LAB", "MEASURE", "VITAL"}
            and toks[k + 2].type == "RPAR"
            and toks[k + 3].type in {"CMP", "EQ"}
        ):
            continue
        j = k
        depth = 0
        while j > 0:
            prev = toks[j - 1]
            if prev.type == "RPAR":
                depth += 1
            elif prev.type == "LPAR":
                if depth == 0:
                    break
                depth -= 1
            elif (prev.type not in {"WORD", "TIMES"} and depth == 0) or (
                depth > 0 and prev.type not in {"WORD", "TIMES"}
            ):
                break
            j -= 1
        run = toks[j:k]
        plain = all(t.type in {"WORD", "TIMES", "LPAR", "RPAR"} for t in run)
        if run and len(run) <= 8 and plain:  # noqa: SIM102 - two separate conditions, read apart
            if j == 0 or toks[j - 1].type in {"COLON", "COMMA", "SEMI", "STOP"}:
                name = toks[k + 1]
                out = [*toks[:j], Tok(name.type, name.value, toks[j].start, toks[k + 2].end)]
                return out + _appositions(toks[k + 3 :])
    return out
