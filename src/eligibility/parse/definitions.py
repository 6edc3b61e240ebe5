"""Concepts whose meaning the words beside them change: a condition a criterion defines by
readings ("Hypertension. Diastolic blood pressure … above 95 mm Hg"), a site-less carcinoma in
situ listed with one organ's cancers, an allowance for a group the rules do not read. The concept
on record is then evidence, not the decision."""

from __future__ import annotations

import re
from collections.abc import Callable

from eligibility import grammar, vocab
from eligibility.model import AllRule, AnyRule, ManualRule, Rule
from eligibility.parse.base import _leaves

_MEASURE_TOKENS = frozenset(["LAB", "VITAL", "MEASURE"])
# how a text says a condition is defined by readings: "Hypertension defined as …", "Diabetes
# (HbA1c ≥ 6.5 %)", "Hypertension. Diastolic blood pressure … above 95 mm Hg" (a sentence of
# the name alone, then the readings); "Type 2 diabetes with HbA1c 7-10 %" asks for both
_DEFINING = re.compile(
    r"(?i)\b(?:defined\s+(?:as|by)|i\.\s?e\.|(?:as\s+)?evidenced\s+by|as\s+shown\s+by|"
    r"confirmed\s+by|documented\s+by|diagnosed\s+(?:by|as)|based\s+on)\b"
)
_DEFINED_AS = re.compile(r"(?i)\bdefined\s+(?:as|by)\b")
_BOUND_IN_BRACKETS = re.compile(
    r"\([^()]*(?<!\w)\d[^()]*\)"
)  # "(systolic > 150 mmHg …)", not "(HgbA1c)"
# a condition said to be treated ("poorly controlled on medication") is a diagnosis on record
_TREATED = re.compile(
    r"(?i)\b(?:medications?|medicines?|drugs?|treatments?|treated|therapy|therapies|"
    r"antihypertensives?|antihypertensive\s+agents?|insulin|oral\s+agents?)\b"
)
_NAME_SENTENCE = re.compile(r"(?:^|[.;:]\s+)[A-Za-z][\w -]{2,40}\.\s+\S")


def defined_by_readings(text: str, rule: Rule) -> Rule | None:
    """A condition named beside a measurement that defines it ("Hypertension. Diastolic blood
    pressure home readings and clinic readings equal to or above 95 mm Hg", NCT00000485): the
    readings may be the definition, so a recorded diagnosis (or its absence) cannot decide. The
    rule with those condition leaves made evidence, or None."""
    wanted = {
        m
        for r in _leaves(rule)
        if r.kind == "condition"
        for m in vocab.defined_by(r.condition)  # type: ignore[union-attr]
    }
    if not wanted:
        return None
    flat = " ".join(text.split())
    if _TREATED.search(flat) and not _DEFINED_AS.search(flat):
        # "… cannot be well controlled by antihypertensive medication": diagnosed; but "not
        # controlled by the drug, and is defined as: SBP ≥150 mmHg …" (NCT05186545, fresh
        # audit 50) says what counts in readings
        return None
    if not (
        _DEFINING.search(flat) or _NAME_SENTENCE.search(flat) or _BOUND_IN_BRACKETS.search(flat)
    ):
        return None
    named = {
        t.value for t in grammar.tokenize(grammar.normalise(flat)) if t.type in _MEASURE_TOKENS
    }
    hit = sorted(named & wanted)
    if not hit:
        return None
    why = f"the text may define the condition by its readings ({', '.join(hit)})"
    return _conditions_as_evidence(rule, lambda c: bool(vocab.defined_by(c) & named), why)


def sited_in_situ(text: str, rule: Rule) -> Rule | None:
    """ "Bilateral breast cancer, inflammatory breast cancer or carcinoma in situ" (NCT01662128):
    a bare carcinoma in situ listed with an organ's cancers is that organ's (DCIS), not cervical
    CIS; as any site's it would decide for the wrong patients. The rule with it as evidence."""
    if not any(
        r.kind == "condition" and r.condition == "carcinoma_in_situ"  # type: ignore[union-attr]
        for r in _leaves(rule)
    ):
        return None
    named = {
        t.value
        for t in grammar.tokenize(grammar.normalise(" ".join(text.split())))
        if t.type == "COND"
    }
    sites = {
        c for c in named if c not in _GENERIC_CANCERS and vocab.condition_matches("malignancy", c)
    }
    m = _ORGAN_CANCER.search(text)
    if m is not None:
        sites.add(m.group(0).lower())
    if not sites:
        return None
    shown = sorted({getattr(vocab.condition(x), "name", x).lower() for x in sites})
    why = f"a carcinoma in situ listed with {', '.join(shown)} may be of that site"
    return _conditions_as_evidence(rule, lambda c: c == "carcinoma_in_situ", why)


def _conditions_as_evidence(rule: Rule, which: Callable[[str], bool], why: str) -> Rule:
    """``rule`` with each condition leaf whose concept ``which`` picks made a manual part that
    keeps it as evidence; the other leaves still decide."""
    if rule.kind == "condition" and which(rule.condition):  # type: ignore[union-attr]
        return ManualRule(reason=why, evidence=rule)
    if isinstance(rule, AllRule | AnyRule):
        kept = [_conditions_as_evidence(r, which, why) for r in rule.rules]
        return rule.model_copy(update={"rules": kept})
    return rule


_GENERIC_CANCERS = frozenset(
    ["malignancy", "solid_tumor", "carcinoma_in_situ", "secondary_malignancy"]
)
# an organ's cancer named in words the vocabulary may not hold ("inflammatory breast cancer")
_ORGAN_CANCER = re.compile(
    r"(?i)\b(?:breast|lung|colon|colorectal|rectal|prostate|bladder|urothelial|cervical|cervix"
    r"|ovarian|endometrial|uterine|gastric|stomach|pancreatic|liver|hepatocellular|renal|kidney"
    r"|thyroid|oral|esophageal|oesophageal|head\s+and\s+neck|anal|vulvar|penile|skin)\s+"
    r"(?:cancers?|carcinomas?|tumou?rs?|neoplasms?|malignanc(?:y|ies))\b"
)


# "Patients with a history of peptic ulcer disease …": the group an allowance is for
_GROUP_WITH = re.compile(
    r"(?i)\b(?:patients|subjects|participants|individuals|those|persons|people)\s+with\b"
)
_RELAXED_TYPES = frozenset(["ECOG", "KPS", "PS", "LAB", "VITAL", "MEASURE", "CHILDPUGH", "AGE"])
_ON_CONDITION = re.compile(r"(?i)\b(?:if|provided|as\s+long\s+as|only\s+if|when|unless)\b")


def restricts_others(allowances: list[str], rules: list[Rule]) -> bool:
    """An allowance sentence on a condition ("if …") for a group the read rules do not name
    ("No history of bleeding diathesis. Patients with a history of peptic ulcer disease will be
    eligible if …", NCT00001266): it also keeps out the rest of that group, which is unread."""
    read = {r.condition for rule in rules for r in _leaves(rule) if r.kind == "condition"}  # type: ignore[union-attr]
    if not any(r.kind != "manual" for rule in rules for r in _leaves(rule)):
        return False
    for said in allowances:
        if not _ON_CONDITION.search(said) or not _GROUP_WITH.search(said):
            continue
        toks = grammar.tokenize(grammar.normalise(said))
        if any(t.type in _RELAXED_TYPES for t in toks):
            continue  # "Patients with ECOG 2 are eligible if due to pain": the bound relaxed
        named = {t.value for t in toks if t.type == "COND"}
        if not any(  # none named (or none the rules read): the group may be another one
            vocab.condition_matches(x, y) or vocab.condition_matches(y, x)
            for x in named
            for y in read
        ):
            return True
    return False
