"""What every layer of the parser shares: the criterion's context, the refusal, list joining.

Why a module of its own: the transformer, the chunker, the whole-sentence readings and the
criterion level all build rules the same way (``_flat`` joins pieces without nesting, ``_manual``
quotes what is not understood) and all read a criterion under one ``Ctx``; kept here, no layer
imports a layer above it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from eligibility.grammar import Tok
from eligibility.model import AllRule, AnyRule, ManualRule, Rule, Section, iter_rules

# The patients a condition names, in a sentence or line that gives them other limits ("AST/ALT
# ≤ 5X ULN in the presence of liver metastases", "…; if hepatic metastases are present, ≤ 5.0 ×
# ULN"; NCT05442060, NCT04771520, fresh audit 80): read by the subgroup laws of a criterion
# (``wording.SUBGROUP_SENTENCE``) and of a record (``cohorts._FOR_SOME_AFTER``)
FOR_A_CONDITION = (
    r"\bin\s+(?:the\s+)?(?:case|presence)\s+of\b"
    r"|\bif\b[^.;]{0,80}?\b(?:metastas[ie]s|metastatic|involvement)\b"
)

NO_CONTENT = "no computable content recognised"


class NotUnderstood(Exception):
    """A clause parsed but cannot be stated as a rule (unit mismatch, unknown name, …)."""


@dataclass(frozen=True, slots=True)
class Ctx:
    section: Section
    escaped: bool = False
    primary: tuple[str, ...] = ()  # the trial's own conditions, excepted from "other malignancy"
    implicit_age: bool = True  # "18 to 75 years" alone is an age; under "Life expectancy:" not
    history: bool = False  # the criterion (or its lead-in) asks about the past ("History of:")


Builder = Callable[[Ctx], Rule]


def _flat(kind: str, rules: list[Rule]) -> Rule:
    """all/any without a single child and without nesting the same connective."""
    out: list[Rule] = []
    for r in rules:
        for child in r.rules if r.kind == kind else [r]:  # type: ignore[union-attr]
            if (
                child.kind == "manual"
                and out
                and out[-1].kind == "manual"
                and child.evidence is None  # type: ignore[union-attr]
                and out[-1].evidence is None  # type: ignore[union-attr]
            ):
                # neighbouring pieces not understood are one piece to review
                out[-1] = out[-1].model_copy(  # type: ignore[union-attr]
                    update={"reason": f"{out[-1].reason}; {child.reason}"}  # type: ignore[union-attr]
                )
            elif child not in out:
                out.append(child)
    if len(out) == 1:
        return out[0]
    return AllRule(rules=out) if kind == "all" else AnyRule(rules=out)


def _manual(text: str, reason: str | None = None) -> ManualRule:
    snippet = text if len(text) <= 160 else text[:157] + "…"
    return ManualRule(reason=reason or f"not understood: '{snippet}'")


def may_hold(text: str, words: tuple[str, ...]) -> bool:
    """False only when ``text`` is ASCII and holds none of ``words`` (lower-case), in any case.

    Why: a case-insensitive pattern every match of which holds one of the words then cannot
    match, and a substring test is far cheaper than the search (most criteria hold none). Beyond
    ASCII the pattern's case folding reaches letters ``str.lower`` leaves alone ("ſ", "K").
    """
    if not text.isascii():
        return True
    low = text.lower()
    return any(w in low for w in words)


def _words(text: str) -> set[str]:
    """The text's words, lower-cased: what the cue and qualifier word lists are matched against."""
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)}


def _first_at(toks: list[Tok], start: int) -> Tok | None:
    """The first token at or after an offset (the first of a piece)."""
    return next((t for t in toks if t.start >= start), None)


def _cut(norm: str, start: int, end: int) -> str:
    return norm[start:end].strip(" ,;.:")


def _leaves(rule: Rule) -> list[Rule]:
    if rule.kind in {"all", "any"}:
        return [x for r in rule.rules for x in _leaves(r)]  # type: ignore[union-attr]
    return [rule]


def _deep_leaves(rule: Rule) -> list[Rule]:
    """The leaves under ``not`` too ("No history of malignancy … (Controls)")."""
    return [r for r in iter_rules(rule) if r.kind not in {"all", "any", "not"}]
