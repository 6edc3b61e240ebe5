"""Parse trees → rule models, and criterion text → one rule with every word accounted for.

Three layers, each small:

* ``_Clauses`` (a Lark transformer, applied inside the LALR parser) turns one clause's tree into
  a *builder*: a function of the criterion's context (section, escaped page) that returns a rule
  or raises ``NotUnderstood`` — section-dependent readings (an exclusion list of conditions is a
  disjunction) are decided there, once.
* ``parse_criterion`` splits the criterion into sentences and, inside a sentence, into chunks at
  its top-level connectives; runs of chunks are parsed longest-first, and what does not parse
  becomes a ``manual`` piece quoting the text. Pieces are joined by the sentence's connective;
  when that is unclear, or an un-understood piece holds an exception or condition, the whole
  sentence is ``manual``: a wrong computable rule is worse than none.
* ``parse_record`` (record assembly) gives every split criterion its id, span, context and rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache
from itertools import pairwise

from lark import Token, Transformer, v_args

from eligibility import compose, grammar, vocab
from eligibility.grammar import Tok
from eligibility.ingest import TrialRecord, heading_group
from eligibility.model import (
    AgeRule,
    AllRule,
    AnyRule,
    BreastfeedingRule,
    ChildPughRule,
    ConditionRule,
    Criterion,
    LabRule,
    ManualRule,
    MeasureRule,
    NotRule,
    PerformanceRule,
    PregnancyRule,
    Rule,
    RuleSet,
    Section,
    SexRule,
    Span,
    TherapyRule,
    Trial,
    VitalRule,
    Window,
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

# --------------------------------------------------------------------------- helpers


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _int(text: str) -> int:
    value = _num(text)
    if not value.is_integer():
        raise NotUnderstood(f"{text} is not a whole number")
    return int(value)


def _union(rules: list[Rule]) -> list[Rule]:
    """Alternatives of conditions read the same way, as few as mean the same: "alcohol or drug
    abuse" is substance abuse, "CNS or brain metastases" CNS metastases (vocab.condition_union).
    Only conditions with identical qualifiers are merged."""
    groups: dict[str, list[str]] = {}
    for r in rules:
        if r.kind == "condition":
            key = r.model_dump_json(exclude={"condition"})
            groups.setdefault(key, []).append(r.condition)  # type: ignore[union-attr]
    keep = {key: vocab.condition_union(ids) for key, ids in groups.items()}
    out: list[Rule] = []
    for r in rules:
        if r.kind != "condition":
            out.append(r)
            continue
        key = r.model_dump_json(exclude={"condition"})
        for cid in keep.pop(key, []):
            out.append(r.model_copy(update={"condition": cid}))
    return out


def _op(symbol: str) -> str:
    return {"≥": ">=", "≤": "<=", ">": ">", "<": "<", "=": "="}[symbol]


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


def _seps(items: Iterable[object]) -> set[str]:
    """Connective words among the children of a list rule."""
    found: set[str] = set()
    for it in items:
        if isinstance(it, set):
            found |= it
    return found


def _list_kind(seps: set[str], ctx: Ctx, negated: bool = False, slash_or: bool = False) -> str:
    """How a list of names sharing one predicate combines.

    Exclusion lists enumerate what excludes ("HIV, HBV and HCV"): any. Under a negation "no X or
    Y" means none of them: any inside the not. Inclusion lists follow their connective.
    """
    if ctx.section == "exclusion" or negated:
        return "any"
    if "slash" in seps:  # "ALT/AST ≤ 3 × ULN" is both; "Stroke/TIA" is either
        seps = (seps - {"slash"}) | {"or" if slash_or else "comma"}
    if "or" in seps and "and" in seps:
        raise NotUnderstood("a list joined by both 'and' and 'or'")
    return "any" if "or" in seps else "all"


@cache
def _analyte(aid: str) -> vocab.Analyte:
    a = vocab.analyte(aid)
    if a is None:  # pragma: no cover - ids come from the vocabulary itself
        raise NotUnderstood(f"unrecognised analyte {aid!r}")
    return a


_VIRAL_MANGLED = re.compile(r"10([3-9])")


# --------------------------------------------------------------------------- quantities


@dataclass(frozen=True, slots=True)
class Q:
    """A parsed quantity: number text with unit, mangled cell unit, bare, or a ULN/LLN multiple."""

    kind: str  # unit | mangled | bare | limit
    num: str
    unit: str | None = None


def _measure(typ: str, aid: str, op: str, q: Q, ctx: Ctx) -> Rule:
    a = _analyte(aid)
    if op == "=":
        raise NotUnderstood(f"an exact value for {a.name}")
    if q.kind == "limit":
        if typ != "LAB":
            raise NotUnderstood(f"{a.name} relative to {q.unit}")
        return LabRule(
            analyte=aid,
            comparator=op,
            multiple=_num(q.num),
            of=q.unit,  # type: ignore[arg-type]
        )
    value = _num(q.num)
    unit = q.unit
    if q.kind == "mangled":
        if a.unit not in {"10^9/L", "10^12/L"}:
            raise NotUnderstood(f"'*10…/L' after {a.name}, which is not a cell count")
    elif q.kind == "bare":
        m = _VIRAL_MANGLED.fullmatch(q.num)
        if a.unit == "1":
            unit = None
        else:
            raise NotUnderstood(f"{a.name} {q.num} has no unit")
        del m
    if q.kind == "unit" and "copies/mL" in a.units and ctx.escaped:
        m = _VIRAL_MANGLED.fullmatch(q.num)
        if m:  # "HBV DNA \>104 copies/ml": a superscript lost on the page, i.e. 10^4
            value = 10.0 ** int(m.group(1))
    if unit is not None:
        _check_unit(a, unit)
    if typ == "VITAL":
        return VitalRule(name=aid, comparator=op, value=value, unit=unit)  # type: ignore[arg-type]
    if typ == "MEASURE":
        return MeasureRule(name=aid, comparator=op, value=value, unit=unit)  # type: ignore[arg-type]
    return LabRule(analyte=aid, comparator=op, value=value, unit=unit)  # type: ignore[arg-type]


@cache
def _check_unit(a: vocab.Analyte, unit: str) -> None:
    if unit == a.unit or unit in a.units:
        return
    if a.units and "copies/mL" in a.units:
        raise NotUnderstood(f"unit {unit} for {a.name}")
    try:
        factor = vocab.conversion_factor(unit, a.unit, a.id)
    except vocab.UnitError as exc:
        raise NotUnderstood(f"unit {unit} does not fit {a.name}") from exc
    # "Bilirubin ≤ 2.0 g/dL" (for mg/dL) converts to 2,000 mg/dL and never binds: a unit a
    # hundredfold or more away from every unit the analyte is reported in is a typo, not a bound
    usual = [u for u in (a.unit, *a.units) if u]
    spread = []
    for u in usual:
        try:
            spread.append(abs(math.log10(factor / vocab.conversion_factor(u, a.unit, a.id))))
        except (vocab.UnitError, ValueError, ZeroDivisionError):
            continue
    if spread and min(spread) >= 2:
        raise NotUnderstood(f"unit {unit} is implausible for {a.name} (usually {', '.join(usual)})")


# --------------------------------------------------------------------------- the transformer


@dataclass(frozen=True, slots=True)
class _Except:
    """What an "except …" names, and what it asks of them ("fully treated"), if anything."""

    conditions: list[str]
    qualifier: str


def _others(cid: str, ctx: Ctx) -> list[str]:
    """ "Other malignancy" in a trial of ICC: every malignancy but the trial's own."""
    own = [p for p in ctx.primary if p != cid and vocab.condition_matches(cid, p)]
    if not own:
        raise NotUnderstood("'other' relative to a condition the trial's title does not name")
    if any(vocab.condition_matches("malignancy", p) for p in own) and cid == "malignancy":
        # the trial's cancer spreads: its metastases (C77-C79) are not "other malignancy"
        own.append("secondary_malignancy")
    return own


def _window(amount: str, unit: str) -> Window:
    if unit not in {"days", "weeks", "months", "years"}:
        raise NotUnderstood(f"a window in {unit or 'unknown units'}")
    value = _num(amount)
    if value <= 0:
        raise NotUnderstood("a zero-length window")
    return Window(amount=value, unit=unit)  # type: ignore[arg-type]


_CP_CLASS_SCORES = {"A": range(5, 7), "B": range(7, 10), "C": range(10, 16)}


def _cp_rule(scores: set[int]) -> ChildPughRule:
    classes = [c for c, r in _CP_CLASS_SCORES.items() if set(r) <= scores]
    if scores == {s for c in classes for s in _CP_CLASS_SCORES[c]}:
        return ChildPughRule(classes=classes)  # type: ignore[arg-type]
    lo, hi = min(scores), max(scores)
    if scores != set(range(lo, hi + 1)):
        raise NotUnderstood("Child-Pugh scores that are not one range")
    return ChildPughRule(min_score=lo if lo > 5 else None, max_score=hi if hi < 15 else None)


@v_args(inline=True)
class _Clauses(Transformer):
    """Tree → builder. Method names are the grammar's rule names (see criteria.lark)."""

    def start(self, clause: Builder) -> Builder:
        return clause

    # -- connectives
    def sep(self, *toks: Token) -> set[str]:
        words = {t.type for t in toks}
        if "ANDOR" in words or "OR" in words:
            return {"or"}
        if "AND" in words:
            return {"and"}
        return {"slash"} if words == {"SLASH"} else {"comma"}

    # -- labs
    def analyte(self, *toks: Token) -> tuple[str, str]:
        ids = {t.value for t in toks if t.type in {"LAB", "VITAL", "MEASURE"}}
        if len(ids) != 1:
            raise NotUnderstood("an analyte glossed by a different one")
        first = toks[0]
        return (first.type, first.value)

    def analytes(self, *items: object) -> tuple[list[tuple[str, str]], set[str]]:
        names = [i for i in items if isinstance(i, tuple)]
        return names, _seps(items)

    def q_unit(self, num: Token, unit: Token) -> Q:
        return Q("unit", num.value, unit.value)

    def q_mangled(self, num: Token, unit: Token) -> Q:
        return Q("mangled", num.value, unit.value)

    def q_bare(self, num: Token) -> Q:
        return Q("bare", num.value)

    def q_limit(self, num: Token, *rest: object) -> Q:
        return Q("limit", num.value, rest[-1])  # type: ignore[arg-type]

    def limit(self, tok: Token, *_gloss: Token) -> str:
        return tok.type

    def bound(self, a: object, b: object) -> tuple[str, Q]:
        if isinstance(a, Token):  # CMP quantity
            return (_op(a.value), b)  # type: ignore[return-value]
        return (_op(b.value), a)  # type: ignore[union-attr,return-value]  # quantity CMP_POST

    def bound_eq(self, _eq: Token, q: Q) -> tuple[str, Q]:
        return ("=", q)

    def bound_limit(self, cmp: Token, limit: str) -> tuple[str, Q]:
        return (_op(cmp.value), Q("limit", "1", limit))

    def plain(self, bound: tuple[str, Q]) -> Callable[[str, str, Ctx], Rule]:
        op, q = bound
        return lambda typ, aid, ctx: _measure(typ, aid, op, q, ctx)

    def conditional(self, bound: tuple[str, Q], *rest: object) -> Callable[[str, str, Ctx], Rule]:
        cond_b = next(r for r in rest if callable(r) and not isinstance(r, Token))
        op, q = bound

        def build(typ: str, aid: str, ctx: Ctx) -> Rule:
            base = _measure(typ, aid, op, q, ctx)
            cop, cq, conds = cond_b(ctx)  # type: ignore[misc]
            cond = _flat("any", conds) if len(conds) > 1 else conds[0]
            return AnyRule(rules=[base, AllRule(rules=[cond, _measure(typ, aid, cop, cq, ctx)])])

        return build

    def two_sided(self, cmp: Token, *rest: Token) -> Callable[[str, str, Ctx], Rule]:
        num = next(t for t in rest if t.type == "NUM")
        if _op(cmp.value) not in {"<=", "<"}:
            raise NotUnderstood("a two-sided limit with a lower-bound comparator")
        n = _num(num.value)

        def build(typ: str, aid: str, ctx: Ctx) -> Rule:
            if typ != "LAB" or n < 1:
                raise NotUnderstood("a two-sided normal-range limit")
            return AllRule(
                rules=[
                    LabRule(analyte=aid, comparator="<=", multiple=n, of="ULN"),
                    LabRule(analyte=aid, comparator=">=", multiple=round(1 / n, 6), of="LLN"),
                ]
            )

        return build

    def between(self, _b: Token, lo: Q, _and: Token, hi: Q) -> Callable[[str, str, Ctx], Rule]:
        return self._range(lo, hi)

    def between_to(self, lo: Q, _to: Token, hi: Q) -> Callable[[str, str, Ctx], Rule]:
        return self._range(lo, hi)

    @staticmethod
    def _range(lo: Q, hi: Q) -> Callable[[str, str, Ctx], Rule]:
        if lo.kind == "bare" and hi.kind in {"unit", "limit"}:
            lo = Q(hi.kind, lo.num, hi.unit)

        def build(typ: str, aid: str, ctx: Ctx) -> Rule:
            return AllRule(
                rules=[_measure(typ, aid, ">=", lo, ctx), _measure(typ, aid, "<=", hi, ctx)]
            )

        return build

    def lab_clause(self, names: tuple[list[tuple[str, str]], set[str]], bounds) -> Builder:  # type: ignore[no-untyped-def]
        analytes, seps = names

        def build(ctx: Ctx) -> Rule:
            rules = [bounds(typ, aid, ctx) for typ, aid in analytes]
            kind = _list_kind(seps, ctx)
            if kind == "any" and ctx.section == "inclusion" and len(rules) > 1:
                labs = [r for rule in rules for r in _leaves(rule) if isinstance(r, LabRule)]
                if labs and all(r.comparator in {"<", "<="} for r in labs):
                    # "SGOT or SGPT no greater than 2 × ULN": neither may be over the limit (as
                    # "SGOT or SGPT > 2 × ULN" under exclusions excludes on either)
                    kind = "all"
                else:
                    raise NotUnderstood("an inclusion bound shared by tests joined by 'or'")
            return _flat(kind, rules)

        return build

    # -- age and sex
    def sexes(self, *toks: object) -> list[str]:
        out: set[str] = set()
        for t in toks:
            if isinstance(t, Token):
                out |= {"female", "male"} if t.type == "SEXALL" else {t.value}
        return sorted(out)

    def sex_clause(self, sexes: list[str]) -> Builder:
        return lambda ctx: SexRule(allowed=sexes)  # type: ignore[arg-type]

    @staticmethod
    def _age_parts(toks: tuple[Token, ...]) -> tuple[list[float], list[str], bool]:
        """Numbers (in years), comparators, and whether the clause names age at all."""
        nums: list[float] = []
        ops: list[str] = []
        named = False
        pending: float | None = None
        units: list[str] = []
        for t in toks:
            if t.type == "NUM":
                if pending is not None:
                    nums.append(pending)
                    units.append("")
                pending = _num(t.value)
            elif t.type == "TIMEUNIT":
                if pending is None:
                    raise NotUnderstood("a time unit without a number")
                nums.append(pending)
                units.append(t.value)
                pending = None
                named = named or t.value == "years"
            elif t.type in {"CMP", "CMP_POST", "AGEPOST"}:
                ops.append(_op(t.value))
                named = named or t.type == "AGEPOST"
            elif t.type in {"AGE", "OLD"}:
                named = True
        if pending is not None:
            nums.append(pending)
            units.append("")
        # a bare number shares the unit written after the other one ("18 to 75 years")
        known = {u for u in units if u}
        if len(known) > 1:
            raise NotUnderstood("an age range in mixed units")
        unit = known.pop() if known else "years"
        scale = {"years": 1.0, "months": 1 / 12}.get(unit)
        if scale is None:
            raise NotUnderstood(f"an age in {unit}")
        return [round(n * scale, 4) for n in nums], ops, named

    @staticmethod
    def _explicit(toks: tuple[Token, ...]) -> bool:
        """Says "age", "old", "of age" or "or older"; a bare "18 to 75 years" does not."""
        return any(t.type in {"AGE", "OLD", "AGEPOST"} for t in toks)

    def age_range(self, *toks: Token) -> tuple[Callable[[], AgeRule], bool]:
        nums, _, named = self._age_parts(toks)
        if not named:
            raise NotUnderstood("a number range that does not say it is an age")
        return (lambda: AgeRule(min=nums[0], max=nums[1])), self._explicit(toks)

    def age_cmp(self, *toks: Token) -> tuple[Callable[[], AgeRule], bool]:
        nums, ops, named = self._age_parts(toks)
        if not named:
            raise NotUnderstood("a number that does not say it is an age")
        return (lambda: self._age_bound(ops[0], nums[0])), self._explicit(toks)

    age_post = age_cmp

    def age_two(self, *toks: Token) -> tuple[Callable[[], AgeRule], bool]:
        nums, ops, named = self._age_parts(toks)
        if not named:
            raise NotUnderstood("numbers that do not say they are an age")

        def build() -> AgeRule:
            a, b = self._age_bound(ops[0], nums[0]), self._age_bound(ops[1], nums[1])
            merged = {**a.model_dump(exclude_defaults=True), **b.model_dump(exclude_defaults=True)}
            merged.pop("kind", None)
            return AgeRule(**merged)

        return build, self._explicit(toks)

    @staticmethod
    def _age_bound(op: str, n: float) -> AgeRule:
        if op in {">=", ">"}:
            return AgeRule(min=n, min_inclusive=op == ">=")
        if op in {"<=", "<"}:
            return AgeRule(max=n, max_inclusive=op == "<=")
        raise NotUnderstood("an exact age")

    def age_clause(self, *items: object) -> Builder:
        spec, explicit = items[-1]  # type: ignore[misc]
        sexes = items[0] if len(items) > 1 else None

        def build(ctx: Ctx) -> Rule:
            if not explicit and not ctx.implicit_age:
                raise NotUnderstood("years without 'age' under a lead-in")
            age = spec()
            if sexes and sexes != ["female", "male"]:  # "male or female" restricts nothing
                return AllRule(rules=[SexRule(allowed=sexes), age])  # type: ignore[arg-type]
            return age

        return build

    # -- performance status
    def scale(self, *toks: Token) -> str:
        kinds = {t.type for t in toks if t.type in {"ECOG", "KPS", "PS"}}
        if "ECOG" in kinds and "KPS" in kinds:
            raise NotUnderstood("ECOG and Karnofsky in one clause")
        return "karnofsky" if "KPS" in kinds else ("ecog" if "ECOG" in kinds else "ps")

    @staticmethod
    def _perf_nums(toks: tuple[object, ...]) -> list[int]:
        out = []
        for t in toks:
            if isinstance(t, Token) and t.type == "NUM":
                out.append(_int(t.value))
            elif isinstance(t, Token) and t.type == "UNIT" and t.value != "%":
                raise NotUnderstood(f"performance status in {t.value}")
        return out

    def perf_cmp(self, cmp: Token, *rest: Token) -> tuple[str, list[int]]:
        return (_op(cmp.value), self._perf_nums(rest))

    def perf_post(self, *toks: Token) -> tuple[str, list[int]]:
        post = next(t for t in toks if t.type == "CMP_POST")
        return (_op(post.value), self._perf_nums(toks))

    def perf_range(self, *toks: Token) -> tuple[str, list[int]]:
        lo, hi = self._perf_nums(toks)
        if lo > hi:
            raise NotUnderstood("a descending range")
        return ("range", [lo, hi])

    def perf_list(self, *toks: object) -> tuple[str, list[int]]:
        return ("in", self._perf_nums(toks))

    def perf_clause(self, scale: str, spec: tuple[str, list[int]]) -> Builder:
        op, nums = spec
        if scale == "ps":
            if max(nums) > 5:
                raise NotUnderstood("a performance status without its scale")
            scale = "ecog"
        if scale == "karnofsky" and op in {"in", "range"} and op == "in" and len(nums) == 1:
            pass

        def build(ctx: Ctx) -> Rule:
            n = nums[0]
            if op == ">=":
                return PerformanceRule(scale=scale, min=n)  # type: ignore[arg-type]
            if op == ">":
                return PerformanceRule(scale=scale, min=n + 1)  # type: ignore[arg-type]
            if op == "<=":
                return PerformanceRule(scale=scale, max=n)  # type: ignore[arg-type]
            if op == "<":
                return PerformanceRule(scale=scale, max=n - 1)  # type: ignore[arg-type]
            if op == "range":
                if scale == "karnofsky":
                    return PerformanceRule(scale=scale, min=nums[0], max=nums[1])  # type: ignore[arg-type]
                return PerformanceRule(scale=scale, allowed=list(range(nums[0], nums[1] + 1)))  # type: ignore[arg-type]
            if op == "=" or op == "in":
                return PerformanceRule(scale=scale, allowed=sorted(set(nums)))  # type: ignore[arg-type]
            raise NotUnderstood("a performance status comparison")

        return build

    # -- Child-Pugh
    def cp_letter(self, letter: Token, *rest: object) -> set[int]:
        scores = set(_CP_CLASS_SCORES[letter.value])
        nums = [_int(t.value) for t in rest if isinstance(t, Token) and t.type == "NUM"]
        if nums:
            stated = set(range(nums[0], nums[-1] + 1))
            if not stated <= scores:
                raise NotUnderstood(f"Child-Pugh {letter.value} with scores outside the class")
            scores = stated
        return scores

    def cp_score(self, tok: Token) -> set[int]:
        score = int(tok.value[1:])
        if score not in _CP_CLASS_SCORES[tok.value[0]]:
            raise NotUnderstood(f"Child-Pugh {tok.value} is not a valid class and score")
        return {score}

    def cp_num(self, tok: Token) -> set[int]:
        score = _int(tok.value)
        if not 5 <= score <= 15:
            raise NotUnderstood(f"Child-Pugh score {score} is outside 5-15")
        return {score}

    def cp_cmp(self, cmp: Token, tok: Token) -> set[int]:
        score = int(tok.value[1:]) if tok.type == "CPSCORE" else _int(tok.value)
        op = _op(cmp.value)
        return {s for s in range(5, 16) if _compare(s, op, score)}

    def cp_post(self, tok: Token, post: Token) -> set[int]:
        return self.cp_cmp(post, tok)

    def cp_items(self, *items: object) -> set[int]:
        scores: set[int] = set()
        pending_to = False
        prev: set[int] | None = None
        for it in items:
            if isinstance(it, Token) and it.type == "TO":
                pending_to = True
            elif isinstance(it, set) and all(isinstance(x, int) for x in it) and it:
                if pending_to and prev is not None:
                    scores |= set(range(min(prev), max(it) + 1))
                scores |= it
                prev = it
                pending_to = False
            elif isinstance(it, set) and "and" in it:
                raise NotUnderstood("Child-Pugh classes joined by 'and'")
        return scores

    def cp_clause(self, *items: object) -> Builder:
        scores = next(i for i in items if isinstance(i, set))
        rule = _cp_rule(scores)
        return lambda ctx: rule

    # -- conditions
    def cmod(self, tok: Token) -> str:
        return tok.type

    def cond_item(self, *items: object) -> tuple[str, set[str]]:
        mods = {i for i in items if isinstance(i, str) and not isinstance(i, Token)}
        ids = {t.value for t in items if isinstance(t, Token) and t.type == "COND"}
        if len(ids) != 1:
            raise NotUnderstood("a condition glossed by a different one")
        return (ids.pop(), mods)

    def cond_items(self, *items: object) -> tuple[list[tuple[str, set[str]]], set[str]]:
        return [i for i in items if isinstance(i, tuple)], _seps(items)

    def exception(self, *items: object) -> _Except:
        conds, _seps = items[-1]  # type: ignore[misc]
        if any(mods for _, mods in conds):
            raise NotUnderstood("a qualified exception")
        treated = next((t.value for t in items if isinstance(t, Token) and t.type == "TREATED"), "")
        return _Except([c for c, _ in conds], treated)

    def window(self, *toks: Token) -> Window:
        num = next(t for t in toks if t.type == "NUM")
        unit = next(t for t in toks if t.type == "TIMEUNIT")
        return _window(num.value, unit.value)

    def ever(self, _tok: Token) -> None:
        return None

    def cond_clause(self, *items: object) -> Builder:
        negated = any(isinstance(i, Token) and i.type == "NOT" for i in items)
        conds, seps = next(i for i in items if isinstance(i, tuple))
        within = next((i for i in items if isinstance(i, Window)), None)
        exc = next((i for i in items if isinstance(i, _Except)), _Except([], ""))
        excepts = exc.conditions
        if exc.qualifier and len(conds) > 1:
            raise NotUnderstood("a qualified exception to a list of conditions")

        distinct = len({c for c, _ in conds}) == len(conds)
        if distinct and len(conds) > 1 and conds[0][1] and not any(m for _, m in conds[1:]):
            # "active hepatitis B or C": the first item's modifiers apply to the whole list
            conds = [(c, conds[0][1]) for c, _ in conds]

        def build(ctx: Ctx) -> Rule:
            rules: list[Rule] = []
            for cid, mods in conds:
                active = True if "ACTIVE" in mods and within is None else None
                own = _others(cid, ctx) if "OTHER" in mods else []
                # neither "active" nor "history of" nor a window: whether a resolved entry
                # counts is not in the words ("No angina", "Evidence of CNS metastases")
                bare = not mods & {"ACTIVE", "HIST"} and within is None and not ctx.history
                rules.append(
                    ConditionRule(
                        condition=cid,
                        active=active,
                        history="review" if bare else None,
                        within=within,
                        **{"except": [*own, *(e for e in excepts if e not in own)]},
                    )
                )
            if exc.qualifier:
                # "except fully treated X, Y and Z": X, Y, Z are excepted only when the qualifier
                # holds (read as reaching every item: more review, never a wrong pass), so a
                # patient with one of them is for a person to judge
                rules.append(
                    AllRule(
                        rules=[
                            _flat(
                                "any", [ConditionRule(condition=e, within=within) for e in excepts]
                            ),
                            ManualRule(
                                reason=f"the exception applies only if {exc.qualifier}: "
                                + ", ".join(vocab.condition(e).name for e in excepts)  # type: ignore[union-attr]
                            ),
                        ]
                    )
                )
                rule = AnyRule(rules=rules)
                return NotRule(rule=rule) if negated else rule
            kind = _list_kind(seps, ctx, negated, slash_or=True)
            if kind == "any":  # "active X or X": the unqualified one covers both
                plain = {r.condition for r in rules if r.active is None and r.within is None}  # type: ignore[union-attr]
                rules = [r for r in rules if r.active is None or r.condition not in plain]  # type: ignore[union-attr]
                rules = _union(rules)
            rule = _flat(kind, rules)
            return NotRule(rule=rule) if negated else rule

        return build

    def cond_negative(
        self, items: tuple[list[tuple[str, set[str]]], set[str]], _neg: Token
    ) -> Builder:
        conds, _ = items

        def build(ctx: Ctx) -> Rule:
            rules: list[Rule] = [ConditionRule(condition=c) for c, mods in conds if not mods]
            if len(rules) != len(conds):
                raise NotUnderstood("a qualified negative finding")
            return NotRule(rule=_flat("any", rules))

        return build

    # -- therapy
    def drug(self, *toks: Token) -> tuple[str, str | None]:
        values = [t.value for t in toks if t.type == "DRUG"]
        ids = {v.split("#")[0] for v in values}
        if len(ids) != 1:
            raise NotUnderstood("a drug glossed by a different one")
        head = values[0].split("#")[1] if "#" in values[0] else None
        return (ids.pop(), head)

    def target(self, tok: Token, head: Token | None = None) -> tuple[str, str | None]:
        return ("?" + tok.value, head.value if head is not None else None)

    def drugs(self, *items: object) -> tuple[list[str], set[str]]:
        entries = [i for i in items if isinstance(i, tuple)]
        tail = next((t.value for t in items if isinstance(t, Token) and t.type == "HEAD"), None)
        heads = [h for _, h in entries if h] + ([tail] if tail else [])
        agents: list[str] = []
        for value, head in entries:
            if value.startswith("?"):
                head = head or (heads[-1] if heads else None)
                if head is None:
                    raise NotUnderstood(f"{value[1:]} without 'antibody' or 'inhibitor'")
                concept = vocab.drug(f"{value[1:]} {head}") or vocab.drug(
                    f"{value[1:]} {head.rstrip('s').replace('antibodie', 'antibody')}"
                )
                if concept is None:
                    raise NotUnderstood(f"unrecognised drug '{value[1:]} {head}'")
                value = concept.id
            if value not in agents:
                agents.append(value)
        if tail and not any(h for _, h in entries):
            raise NotUnderstood(f"drug names followed by {tail!r}")
        return agents, _seps(items)

    def therapy_clause(self, *items: object) -> Builder:
        negated = any(isinstance(i, Token) and i.type == "NOT" for i in items)
        agents, seps = next(i for i in items if isinstance(i, tuple))
        within = next((i for i in items if isinstance(i, Window)), None)

        def build(ctx: Ctx) -> Rule:
            if ctx.section == "inclusion" and not negated and "and" in seps:
                rule: Rule = AllRule(rules=[TherapyRule(agents=[a], within=within) for a in agents])
            else:
                rule = TherapyRule(agents=agents, within=within)
            return NotRule(rule=rule) if negated else rule

        return build

    # -- pregnancy and breastfeeding
    def repro(self, tok: Token) -> str:
        return tok.type

    def repro_items(self, *items: object) -> tuple[list[str], set[str]]:
        return [i for i in items if type(i) is str], _seps(items)

    def repro_clause(self, *items: object) -> Builder:
        negated = any(isinstance(i, Token) and i.type == "NOT" for i in items)
        kinds, seps = next(i for i in items if isinstance(i, tuple))
        sexes = [i for i in items if isinstance(i, list)]
        if any(s != ["female"] for s in sexes):
            raise NotUnderstood("pregnancy stated for males")

        def build(ctx: Ctx) -> Rule:
            rules: list[Rule] = [
                PregnancyRule() if k == "PREG" else BreastfeedingRule()
                for k in dict.fromkeys(kinds)
            ]
            rule = _flat(_list_kind(seps, ctx, negated), rules)
            return NotRule(rule=rule) if negated else rule

        return build

    def cond_limit(self, bound: tuple[str, Q], *rest: object):  # type: ignore[no-untyped-def]
        """ "≤ 5 × ULN if liver metastases": the alternative bound and its conditions."""
        op, q = bound
        conds, _ = rest[-1]  # type: ignore[misc]
        if any(mods for _, mods in conds):
            raise NotUnderstood("a qualified condition in a conditional limit")

        def inner(ctx: Ctx) -> tuple[str, Q, list[Rule]]:
            return op, q, [ConditionRule(condition=c) for c, _ in conds]

        return inner


def _compare(a: float, op: str, b: float) -> bool:
    return {">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b, "=": a == b}[op]


@cache
def _transformer() -> _Clauses:
    return _Clauses()


# --------------------------------------------------------------------------- criterion level

_SPLIT = frozenset({"COMMA", "AND", "OR", "ANDOR"})
_SENTENCE = frozenset({"SEMI", "STOP"})
_CUES = frozenset(
    [
        "allowed",
        "allow",
        "allows",
        "eligible",
        "permitted",
        "permissible",
        "acceptable",
        "accepted",
        "selected",
        "enrolled",
        "included",
        "unless",
        "except",
        "excepting",
        "exceptions",
        "excluding",
        "however",
        "provided",
        "but",
        "exception",
        "exempt",
        "if",
        "when",
        # "SS patients cannot have sarcoidosis, HIV infection, or lymphoma"
        "cannot",
        # "HIV and HTLV-I negative": a negation after the list reaches back over all of it
        "negative",
        "seronegative",
        "negativity",
        "nonreactive",
        "non-reactive",
        "undetectable",
    ]
)
_MAX_RUN = 12
# a later sentence, not understood, that lets patients in: "… can be selected", "Exception: …"
_ALLOWANCE = re.compile(
    r"(?i)\b(?:is|are|be|were)\s+(?:also\s+)?(?:allowed|eligible|permitted|permissible|selected|"
    r"enrolled|included|acceptable|exempt)\b|\bmay\s+(?:participate|enrol|enroll|be\s+eligible)\b|"
    r"^\W*(?:note\W+)?exceptions?\b"
)
_NOT_ALLOWED = re.compile(
    r"(?i)\b(?:not|never|cannot|no\s+longer)\s+(?:be\s+)?(?:allowed|eligible|permitted|selected|"
    r"enrolled|included|participate)|\bineligible\b"
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
_SELF_NAMED = frozenset(
    [
        "LAB",
        "VITAL",
        "MEASURE",
        "COND",
        "DRUG",
        "TARGET",
        "ECOG",
        "KPS",
        "CHILDPUGH",
        "AGE",
        "PREG",
        "BF",
        "SEXALL",
        "SEX",
    ]
)
_RISKY_CONTEXT = re.compile(
    r"\b(?:allowed|permitted|acceptable|except|unless|excluding|not considered|exempt)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    end: int
    rule: Rule | None  # None: not understood
    reason: str | None = None


def _manual(text: str, reason: str | None = None) -> ManualRule:
    snippet = text if len(text) <= 160 else text[:157] + "…"
    return ManualRule(reason=reason or f"not understood: '{snippet}'")


def _context_prefix(context: str | None) -> str:
    """An "Age:" or "Performance status:" lead-in names the variable its items leave out."""
    if not context:
        return ""
    key = vocab.fold(context.strip().rstrip(":"))
    return {"age": "Age ", "performancestatus": "performance status "}.get(key, "")


def parse_criterion(
    text: str, section: Section, context: str | None = None, primary: tuple[str, ...] = ()
) -> Rule:
    """One criterion's rule. Never raises: what is not understood becomes ``manual``."""
    rule = compose.active_tumours(_parse_criterion(text, section, context, primary))
    rule = compose.except_own(rule, section, primary)
    why = compose.undecidable(rule, section, primary) or _age_then(text, rule)
    if why is None:
        return rule
    read = compose.computable_part(rule)
    return compose.assisted(text, why, read) if read is not None else rule


# Words that make a criterion ask about the past, so a resolved entry counts ("History of:",
# "prior", "ever had"); without one, "No angina" may mean now only.
_PAST_WORDS = re.compile(
    r"(?i)\b(?<!family\s)(?:history|historical|prior|previous|previously|past|ever|had|former"
    r"|formerly|survivors?|sequelae|lifetime)\b"
)


# "Age at diagnosis at least 18 years": an age at a past event is not the age at screening.
_AGE_THEN = re.compile(
    r"(?i)\bage[ds]?\s+(?:at|of)\s+(?:the\s+)?(?:time\s+of\s+)?(?:the\s+)?(?:initial\s+|first\s+"
    r"|original\s+|primary\s+|cancer\s+|disease\s+)?(?:diagnos[ie]s|onset|transplant\w*|surgery"
    r"|symptom\w*|menarche|menopause|presentation|injury|first|infection|exposure|stroke)\b"
)


def _age_then(text: str, rule: Rule) -> str | None:
    if _AGE_THEN.search(text) and any(r.kind == "age" for r in _leaves(rule)):
        return "an age at a past event (diagnosis, onset), not the age at screening"
    return None


def _parse_criterion(
    text: str, section: Section, context: str | None, primary: tuple[str, ...]
) -> Rule:
    norm = grammar.normalise(_context_prefix(context) + text)
    if not norm or not grammar.has_anchor(norm):
        return ManualRule(reason=NO_CONTENT)
    if context and not _context_prefix(context):
        why = _context_problem(context, section)
        if why:
            return ManualRule(reason=why)
    if _LINKED.search(norm) or re.match(r"(?i)(?:or|and)\b", norm):
        return ManualRule(reason=f"linked to a neighbouring criterion by 'and'/'or': '{norm}'")
    ctx = Ctx(
        section=section,
        escaped=grammar.had_escapes(text),
        primary=primary,
        implicit_age=not context or bool(_context_prefix(context)),
    )
    if _is_allowance(norm) and not _SENTENCE_BREAK.search(norm.rstrip(" .;")):
        # "Pregnant and nursing women may participate in minimal risk procedures": a permission
        # on its own is no requirement (read as one it would fail everyone else)
        return _manual(norm, f"a permission, not a requirement: '{norm[:120]}'")
    toks = _no_either(_appositions(grammar.tokenize(norm)))
    # the past is asked about by the lead-in, or by words before the first condition named
    # ("History of: …", "Patients with a history of stroke, MI …"); a later "history of nerve
    # injury" is that item's own
    first = next((t.start for t in toks if t.type == "COND"), len(norm))
    head = f"{context or ''} {norm[:first]}"
    ctx = replace(ctx, history=_PAST_WORDS.search(head) is not None)
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
            rule = _sentence(sent, norm, ctx, max(lo, 0), hi)
            said = _cut(norm, lo, hi)
            if reach and any(r.kind == "condition" for r in _leaves(rule)):
                # "… except: Curatively treated BCC. Cervical carcinoma in situ.": the sentences
                # after it may be the exception's items, not criteria
                return _manual(norm, f"an exception whose reach is unclear: '{reach}'")
            if rule.kind == "manual" and k > 0 and _is_allowance(said):
                allowances.append(_manual(said).model_copy(update={"law": "allowance"}))
            elif rule.kind == "manual" and _LEADS_ON.search(said) and compose.scope_word(said):
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
        r.kind == "manual" and _SUBGROUP.search(_reason_text(r)) for r in rules
    ):
        # "ALT/AST > 2 × ULN. For patients with hepatic metastases, ALT/AST > 5 × ULN …": a
        # sentence for a subgroup, not read, changes what the others mean for that subgroup
        return _kept_as_evidence(norm, rules, kind)
    if section == "exclusion" and any(r.kind == "not" for r in rules):
        # "No other liver disease" listed under exclusions: "no" restates the section or
        # turns the item into a requirement; which one the text means is for a person
        return _kept_as_evidence(norm, rules, kind)
    if all(r.kind == "manual" for r in rules) and len(rules) > 1:
        return _kept_as_evidence(norm, rules, kind)
    return compose.with_law(_flat(kind, rules), "separate")


_RUNS_ON = frozenset(["restriction", "judgement", "subject"])
_LEADS_ON = re.compile(r"(?i):\W*\w?\W*$|\bsuch\s+as\b|\bincluding\b|\bfollowing\b")
_SUBGROUP = re.compile(
    r"(?i)\b(?:for|in|among)\s+(?:\w+\s+)?(?:patients|subjects|participants|those|women|men|"
    r"females|males|children|adults|cases)\b|\b(?:applies|apply|applicable|pertains)\s+"
    r"(?:\w+\s+)?to\b|\bif\s+(?:the\s+)?(?:patients?|subjects?|participants?)\s+(?:has|have)\b"
)


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


def _is_allowance(sentence: str) -> bool:
    return bool(_ALLOWANCE.search(sentence)) and not _NOT_ALLOWED.search(sentence)


def _context_problem(context: str, section: Section) -> str | None:
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
        return f"criteria for a group its heading names: '{quoted}'"
    if _RISKY_CONTEXT.search(norm):
        return f"depends on its lead-in: '{quoted}'"
    if _SOME_OF.search(norm) or (section == "inclusion" and _ANY_OF.search(norm)):
        return f"one of alternatives listed in its lead-in: '{quoted}'"
    if section == "exclusion":  # "Patients with any of the following … are excluded:"
        norm = _WITH_THE_FOLLOWING.sub(" ", norm)
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", norm)]
    glue = _LEAD_GLUE | (_LEAD_GLUE_EXCLUSION if section == "exclusion" else frozenset())
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
_NOT_ELIGIBLE = re.compile(
    r"(?i)\bnot\s+(?:be\s+)?(?:eligible|enrolled|included|qualify|allowed\s+to\s+participate)"
)
_SOME_OF = re.compile(
    r"(?i)\b(?:at\s+least|minimum\s+of|\d+|two|three|four|five)\s+(?:or\s+more\s+)?"
    r"(?:of|out\s+of)\b"
)
_ANY_OF = re.compile(r"(?i)\b(?:one|any|either|some)\s+(?:or\s+more\s+)?of\b|\beither\b|\bor\b")


def _split(toks: list[Tok], at: frozenset[str]) -> list[tuple[list[Tok], list[Tok]]]:
    """Chunks at depth-0 separators: [(chunk tokens, separator tokens after it)]."""
    out: list[tuple[list[Tok], list[Tok]]] = []
    cur: list[Tok] = []
    seps: list[Tok] = []
    depth = 0
    for t in toks:
        if t.type == "LPAR":
            depth += 1
        elif t.type == "RPAR":
            depth = max(0, depth - 1)
        if depth == 0 and t.type in at:
            if cur:
                seps.append(t)
            continue
        if seps:
            out.append((cur, seps))
            cur, seps = [], []
        cur.append(t)
    if cur:
        out.append((cur, seps))
    return out


def _strip_label(toks: list[Tok]) -> list[Tok]:
    """Drop a short label before a colon ("Coagulation function: INR < 1.2")."""
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


def _no_either(toks: list[Tok]) -> list[Tok]:
    """ "18 to 45 years of age, either male or female": the "either" of a both-sexes phrase is
    not a connective between the age and the sexes (read as one, it admitted anyone)."""
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


def _two_sexes(rule: Rule) -> bool:
    """ "Women aged 18-45 and men aged 18-60" read as one clause: two groups, not one."""
    found = {s.allowed[0] for s in _leaves(rule) if isinstance(s, SexRule) and len(s.allowed) == 1}
    return len(found) > 1


def _chunked(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule:
    """The sentence cut at its top-level connectives, runs parsed longest-first."""
    chunks = _split(toks, _SPLIT)
    bad = [any(t.type in grammar._NEVER for t in c) for c, _ in chunks]
    pieces: list[_Piece] = []
    boundaries: list[list[Tok]] = []
    hidden: set[str] = set()  # connectives swallowed by merged unknown pieces
    i = 0
    while i < len(chunks):
        rule: Rule | None = None
        j_ok = i + 1
        if not bad[i]:
            limit = i + 1
            while limit < len(chunks) and limit - i < _MAX_RUN and not bad[limit]:
                limit += 1
            for j in range(limit, i, -1):
                run = [t for c, s in chunks[i:j] for t in (*c, *s)]
                run = run[: len(run) - len(chunks[j - 1][1])]
                rule = _try(run, ctx)
                if rule is not None and j > i + 1 and _two_sexes(rule):
                    rule = None  # "women aged 18-45 and men aged 18-60": one group a piece
                if rule is not None:
                    j_ok = j
                    break
        start = chunks[i - 1][1][-1].end if i > 0 else lo
        end = chunks[j_ok - 1][1][0].start if chunks[j_ok - 1][1] else hi
        if rule is None and pieces and pieces[-1].rule is None and not _has_or(boundaries[-1]):
            if any(t.type == "AND" for t in boundaries[-1]):
                hidden.add("and")
            pieces[-1] = _Piece(pieces[-1].start, end, None)  # merge adjacent unknown chunks
            boundaries[-1] = chunks[j_ok - 1][1]
        else:
            pieces.append(_Piece(start, end, rule))
            boundaries.append(chunks[j_ok - 1][1])
        i = j_ok

    for k in range(len(pieces) - 1):
        here, nxt = pieces[k], pieces[k + 1]
        if here.rule is not None and here.rule.kind == "sex" and nxt.rule is None:
            first = _first_at(toks, nxt.start)
            if first is not None and first.type == "SEX":
                # "Male and female smoking participants, …": "male" shares the noun the next
                # piece does not read; alone it would admit men only
                pieces[k] = _Piece(here.start, here.end, None)

    def text_of(p: _Piece) -> str:
        return norm[p.start : p.end].strip(" ,;.:")

    grouped = _sex_groups(toks, pieces, norm, lo, hi)
    if grouped is not None:
        return grouped
    if all(p.rule is None for p in pieces):
        return _manual(norm[lo:hi].strip(" ,;.:"))
    unknown = [p for p in pieces if p.rule is None]
    for p in unknown:
        words = _words(text_of(p))
        if words & _CUES or _has_types(toks, p, {"EXCEPT", "UNLESS", "NOT", "IF"}):
            return _manual(
                norm[lo:hi],
                f"negation, exception or condition not understood: '{text_of(p)}'",
            )
    if any(p.rule is not None and p.rule.kind == "not" for p in pieces[:-1]):
        # "No diabetes or ALT > 3 × ULN": the negation may reach over what follows it
        return _manual(norm[lo:hi], f"scope of a negation unclear: '{norm[lo:hi].strip()}'")
    kinds = set(hidden)
    for b, after in zip(boundaries[:-1], pieces[1:], strict=True):
        types = {t.type for t in b}
        if "OR" in types or "ANDOR" in types:
            kinds.add("or")
        elif "AND" in types and not (ctx.section == "exclusion" and _starts_other(toks, after)):
            kinds.add("and")
    if len(kinds) > 1:
        return _manual(
            norm[lo:hi], f"connective unclear (and/or at one level): '{norm[lo:hi].strip()}'"
        )
    ors = [k for k, b in enumerate(boundaries[:-1]) if {t.type for t in b} & {"OR", "ANDOR"}]
    if ors and any(
        any(t.type == "COMMA" for t in b) and not {t.type for t in b} & {"OR", "ANDOR"}
        for b in boundaries[ors[-1] + 1 : -1]
    ):
        # "female ≥ 18 years old, ECOG 0-2 or KPS ≥ 60, life expectancy > 12 weeks": an "or"
        # inside a comma list, not before its last item, joins its neighbours only
        read = _flat("all", [p.rule for p in pieces if p.rule is not None])
        why = "an 'or' inside a comma list: how far it reaches is unclear"
        return compose.assisted(norm[lo:hi], why, read)
    if kinds == {"or"}:
        kind = "any"
    elif kinds == {"and"}:
        kind = "all"
    else:
        kind = "all" if ctx.section == "inclusion" else "any"
    if kind == "all" and ctx.section == "exclusion" and len(pieces) > 1:
        listed = sum(any(t.type == "COMMA" for t in b) for b in boundaries[:-1])
        if listed and len(pieces) > 2:
            # "History of cardiovascular disease, diabetes mellitus, liver and kidney disease":
            # an excluding enumeration; each item excludes on its own
            kind = "any"
        elif any(p.rule is None or p.rule.kind in {"condition", "therapy"} for p in pieces):
            # "HIV and hepatitis B": a list of exclusions or one patient with both; which one
            # the "and" means is for a person
            read = _flat("all", [q.rule for q in pieces if q.rule is not None])
            return compose.assisted(
                norm[lo:hi],
                "'and' in an exclusion may list alternatives or join requirements",
                read,
            )
    timed = [
        leaf.within is not None  # type: ignore[union-attr]
        for p in pieces
        if p.rule is not None
        for leaf in _leaves(p.rule)
        if leaf.kind in {"condition", "therapy"}
    ]
    if len(set(timed)) > 1 and any(p.rule is None for p in pieces):
        # "acute MI, unstable angina, coronary artery disease or stroke within the last 3
        # months": with an item not read, the window was read on the last item only, though it
        # may reach the whole list
        read = _flat(kind, [q.rule for q in pieces if q.rule is not None])
        why = "a window read on some items of a list may reach the others"
        return compose.assisted(norm[lo:hi], why, read)
    for k, p in enumerate(pieces):
        if p.rule is not None:
            continue
        forward, backward = compose.reach(text_of(p))
        before = any(q.rule is not None for q in pieces[:k])
        after = any(q.rule is not None for q in pieces[k + 1 :])
        if k == 0 and forward is None and backward and backward[0] in _RUNS_ON:
            # the first piece's tail runs on into the list: "Patients with medical conditions
            # that the only manifestation is hydrothorax, ascites, …"
            forward = backward
        scoped = (backward if before else None) or (forward if after else None)
        if scoped is not None:
            # "MI, stroke or other arterial events within the past 6 months": the unread piece's
            # modifier may reach the pieces read, so none of them decides (compose: scope law)
            read = _flat(kind, [q.rule for q in pieces if q.rule is not None])
            return compose.assisted(
                norm[lo:hi],
                f"{scoped[0]} word '{scoped[1]}' in an unread part may reach the rest",
                read,
            )
    rules = [p.rule if p.rule is not None else _manual(text_of(p)) for p in pieces]
    return compose.with_law(_flat(kind, rules), "separate")


def _sex_groups(toks: list[Tok], pieces: list[_Piece], norm: str, lo: int, hi: int) -> Rule | None:
    """ "Women aged 9-45 and men aged 9-15": one group per sex, each with its own limits.

    Read as one conjunction it would fail every patient; the groups are alternatives. When a
    group's piece is not read the criterion is assisted (no group decides for the others).
    """
    sexes = [
        {t.value for t in toks if t.type == "SEX" and p.start <= t.start < p.end} for p in pieces
    ]
    named = [k for k, found in enumerate(sexes) if len(found) == 1]
    if len(named) < 2 or len({next(iter(sexes[k])) for k in named}) < 2:
        return None
    groups: list[list[_Piece]] = []
    for k, p in enumerate(pieces):
        if k in named or not groups:
            groups.append([p])
        else:
            groups[-1].append(p)

    def own_limits(p: _Piece) -> bool:
        if p.rule is None:
            return any(ch.isdigit() for ch in norm[p.start : p.end])
        return any(not isinstance(x, SexRule) for x in _leaves(p.rule))

    if not all(any(own_limits(p) for p in g) for g in groups):
        return None  # "Male and female patients, 18 years or older": one group, both sexes
    text = norm[lo:hi]
    rules: list[Rule] = []
    for g in groups:
        read = [p.rule for p in g]
        if any(r is None for r in read) or not any(
            isinstance(r, SexRule)
            for r in read
            for r in _leaves(r)  # type: ignore[arg-type]
        ):
            parsed = [r for p in pieces if (r := p.rule) is not None]
            return (
                compose.assisted(
                    text, "groups with their own limits, one not read", _flat("any", parsed)
                )
                if parsed
                else _manual(text)
            )
        rules.append(_flat("all", read))  # type: ignore[arg-type]
    return _flat("any", rules)


# ------------------------------------------------------------------ qualified conditions
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
    if not any(r.kind != "manual" for r in _leaves(rest)):
        return None
    return _flat("all", [rest, _manual("", f"qualifier not understood: '{_cut(norm, lo, k_at)}'")])


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


def _with_qualified(toks: list[Tok], norm: str, ctx: Ctx, hi: int) -> Rule | None:
    """ "HCC with at least one risk factor, …": conditions, then a "with"/"by" qualifier.

    The conditions must start the sentence and the qualifier run to its end, with no other
    computable piece and no "or" after it (which could start a new alternative).
    """
    k = next(
        (
            i
            for i in range(1, len(toks))
            if toks[i].type == "BY"
            or re.search(r"(?i)\bwith\s*$", norm[toks[i - 1].end : toks[i].start])
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
# rule is the condition AND those limits. Only upper limits (">", "≥") qualify: "(SBP < 140 and
# DBP < 90)" states the control target, whose failure is not a rule we can write.
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


def _controlled(toks: list[Tok], norm: str, ctx: Ctx, lo: int, hi: int) -> Rule | None:
    """A condition "not controlled", with the limits that define it: all[condition, limits]."""
    if len(toks) < 4 or not _UNCONTROLLED.search(norm[lo:hi]):
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
    return _flat("all", [ConditionRule(condition=conds[0].value), limits])


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


def _has_or(seps: list[Tok]) -> bool:
    return any(t.type in {"OR", "ANDOR"} for t in seps)


def _has_types(toks: list[Tok], piece: _Piece, types: set[str]) -> bool:
    """Does the piece hold a negation, exception or condition whose scope we cannot see?"""
    return any(
        t.type in types
        and piece.start <= t.start < piece.end
        and t.value != "in"
        and not (_starts_other(toks, piece) and _word_prefix(toks, k))
        for k, t in enumerate(toks)
    )


def _starts_other(toks: list[Tok], piece: _Piece) -> bool:
    """ "A, B and other C" closes an enumeration with a catch-all: "and" lists, it does not join."""
    first = _first_at(toks, piece.start)
    return first is not None and first.type == "OTHER" and first.start < piece.end


def _word_prefix(toks: list[Tok], k: int) -> bool:
    """ "and other non-biliary … components": "non" hyphened to its word is no negation there.

    Elsewhere it may be one ("Diabetes, non-compliant with treatment"), and it keeps a sentence
    manual whose chunks would otherwise be read apart ("Males or (non-pregnant) females must be
    at least 18 Years of age").
    """
    t = toks[k]
    if t.type != "NOT" or t.value.lower() != "non" or k + 1 >= len(toks):
        return False
    nxt = toks[k + 1]
    return nxt.value == "-" and nxt.start == t.end


def _try(toks: list[Tok], ctx: Ctx) -> Rule | None:
    """Parse and build one clause; None when it is not a clause of the grammar or not buildable."""
    tree = grammar.parse_tokens(toks)
    if tree is None:
        return None
    try:
        builder = _transformer().transform(tree)
        return builder(ctx)
    except NotUnderstood:
        return None
    except Exception as exc:  # VisitError wraps NotUnderstood raised inside the transformer
        if isinstance(getattr(exc, "orig_exc", None), NotUnderstood):
            return None
        if isinstance(exc, ValueError):  # a model validator refused the values
            return None
        raise


# --------------------------------------------------------------------------- record assembly


def _label_key(label: str | None) -> str | None:
    if not label:
        return None
    key = label.strip().strip("()").rstrip(".)").replace("\\", "").strip()
    return key or None


def parse_record(record: TrialRecord) -> RuleSet:
    """Every criterion of a record with its id, verbatim text, span, context and rule.

    Ids: ``I<n>``/``E<n>`` for top-level items (the source's own number when it has one),
    ``I6.1`` for sub-items, ``I6.1a``/``I6.1b`` for the ";"-pieces of one item, and ``age``/``sex``
    for the registry's structured fields. Items the splitter joined ("… OR" + the next item) take
    the first one's id and the later ids do not shift. A criterion linked to a neighbour it could
    not be joined with is manual.
    """
    from eligibility.split import split_record

    segments = split_record(record)
    criteria: list[Criterion] = _registry_criteria(record)
    ids: dict[int, str] = {}
    counters: dict[object, int] = {}
    pieces: dict[int, list[int]] = {}  # first piece index -> all piece indices
    piece_of: dict[int, int] = {}
    for k, seg in enumerate(segments):
        if seg.kind == "heading":
            continue
        prev = _previous_sibling(segments, k)
        if (
            prev is not None
            and seg.label is None
            and segments[prev].kind == "criterion"
            and "\n" not in record.text[segments[prev].end : seg.start]
        ):
            first = piece_of.get(prev, prev)
            piece_of[k] = first
            pieces.setdefault(first, [first]).append(k)
    for k, seg in enumerate(segments):
        if seg.kind == "heading":
            continue
        parent = seg.parent
        nested = parent is not None and segments[parent].kind != "heading"
        scope: object = (seg.section, parent if nested else None)
        if k in piece_of:
            counters[scope] = counters.get(scope, 0) + _later_items(seg)
            continue
        counters[scope] = counters.get(scope, 0) + 1
        own = _label_key(seg.label)
        number = own if own is not None else str(counters[scope])
        if own is not None and own.isdigit():
            counters[scope] = int(own)
        counters[scope] += _later_items(seg)  # the items joined to it keep their numbers
        prefix = (
            ids[parent] + "."
            if nested and parent in ids
            else ("I" if seg.section == "inclusion" else "E")
        )
        ids[k] = prefix + number
    for first, members in pieces.items():
        base = ids[first]
        for n, k in enumerate(members):
            ids[k] = f"{base}{chr(ord('a') + n)}" if n < 26 else f"{base}.{n}"
    primary = _primary_conditions(record)
    seen: set[str] = {c.id for c in criteria}
    for k, seg in enumerate(segments):
        if seg.kind != "criterion":
            continue
        cid = ids[k]
        while cid in seen:
            cid += "'"
        seen.add(cid)
        if seg.linked:
            flat = " ".join(seg.text.split())
            why = f"linked ('and'/'or', a continued line) to a neighbour not joined: '{flat}'"
            rule: Rule = ManualRule(reason=why)
        else:
            rule = parse_criterion(seg.reading, seg.section, seg.context, primary)
        criteria.append(
            Criterion(
                id=cid,
                section=seg.section,
                text=seg.text,
                span=Span(start=seg.start, end=seg.end),
                context=seg.context,
                rule=rule,
            )
        )
    trial = Trial(id=record.id or "unknown", title=record.title, source=record.source)
    return RuleSet(trial=trial, criteria=criteria)


def _later_items(seg) -> int:  # type: ignore[no-untyped-def]
    """List items (parts on a line of their own) joined to a criterion after its first."""
    p = seg.parts
    return sum(
        "\n" in seg.text[p[i - 1][1] - seg.start : p[i][0] - seg.start] for i in range(1, len(p))
    )


def _previous_sibling(segments: list, k: int) -> int | None:  # type: ignore[type-arg]
    for j in range(k - 1, -1, -1):
        if segments[j].parent == segments[k].parent and segments[j].kind != "heading":
            return j
        if j == segments[k].parent:
            return None
    return None


def _registry_criteria(record: TrialRecord) -> list[Criterion]:
    """The structured age and sex fields as criteria ``age`` and ``sex`` (section inclusion)."""
    out: list[Criterion] = []
    lo = record.min_age.years if record.min_age else None
    hi = record.max_age.years if record.max_age else None
    if lo == 0:
        lo = None
    if lo is not None or hi is not None:
        spans = [a.span for a in (record.min_age, record.max_age) if a is not None and a.span]
        span = (
            Span(start=min(s.start for s in spans), end=max(s.end for s in spans))
            if spans
            else None
        )
        raw = " to ".join(a.raw for a in (record.min_age, record.max_age) if a is not None)
        text = record.text[span.start : span.end] if span else raw
        out.append(
            Criterion(
                id="age", section="inclusion", text=text, span=span, rule=AgeRule(min=lo, max=hi)
            )
        )
    if record.sex:
        allowed = ["female", "male"] if record.sex == "all" else [record.sex]
        span = record.sex_span
        text = record.text[span.start : span.end] if span else record.sex
        out.append(
            Criterion(
                id="sex", section="inclusion", text=text, span=span, rule=SexRule(allowed=allowed)
            )  # type: ignore[arg-type]
        )
    return out


# A cancer named in a title the vocabulary has no concept for (non-Hodgkin lymphoma, glioma):
# the trial is still about a malignancy, so "no prior malignancy" cannot mean any malignancy.
_CANCER_TITLE = re.compile(
    r"(?i)\b(?:cancers?|carcinomas?|adenocarcinomas?|lymphomas?|leuka?emias?|myelomas?|sarcomas?"
    r"|melanomas?|gliomas?|glioblastomas?|astrocytomas?|\w+blastomas?|mesotheliomas?|neoplasms?"
    r"|tumou?rs?|malignan\w*|metasta\w*|oncolog\w*|carcinoids?|seminomas?|germ[- ]cell)\b"
)


# A mental disorder named in a title ("Depersonalization Disorder", "Treatment-resistant
# depression"): "History of mental disorders" there means other ones.
_PSYCH_TITLE = re.compile(
    r"(?i)\b(?:depress\w*|schizo\w*|bipolar|psychos[ie]s|psychotic|anxiety|panic|phobi\w*"
    r"|obsessive|compulsive|ptsd|post-?traumatic|autis\w*|adhd|attention[- ]deficit|dementia"
    r"|depersonali[sz]ation|dissociative|anorexia|bulimia|binge|eating disorders?|insomnia"
    r"|addiction|dependence|alcoholism|substance use|opioid use|cocaine|methamphetamine"
    r"|personality disorders?|psychiatric|mental (?:illness|disorders?|health))\b"
)


def _primary_conditions(record: TrialRecord) -> tuple[str, ...]:
    """Conditions the trial is about, from its title: what "other malignancy" leaves out."""
    if not record.title:
        return ()
    found: list[str] = []
    for t in grammar.tokenize(grammar.normalise(record.title)):
        if t.type == "COND" and t.value not in found:
            found.append(t.value)
    cancer = any(vocab.condition_matches("malignancy", f) for f in found)
    if not cancer and _CANCER_TITLE.search(record.title):
        found.append("malignancy")
    psych = any(vocab.condition_matches("mental_disorder", f) for f in found)
    if not psych and _PSYCH_TITLE.search(record.title):
        found.append("mental_disorder")
    return tuple(found)
