"""Grammar actions: one clause's parse tree → a *builder*, and ``_try`` (parse + build a clause).

``_Clauses`` (a Lark transformer; its method names are the rule names of ``criteria.lark``)
turns a tree into a function of the criterion's context (section, escaped page) that returns a
rule or raises ``NotUnderstood``: section-dependent readings (an exclusion list of conditions is
a disjunction) are decided there, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from lark import Token, Transformer, v_args

from eligibility import grammar, vocab
from eligibility.grammar import Tok
from eligibility.model import (
    AgeRule,
    AllRule,
    AnyRule,
    BreastfeedingRule,
    ConditionRule,
    LabRule,
    LifeExpectancyRule,
    ManualRule,
    NotRule,
    PerformanceRule,
    PregnancyRule,
    Rule,
    SexRule,
    TherapyRule,
    Window,
)
from eligibility.parse.base import Builder, Ctx, NotUnderstood, _flat, _leaves
from eligibility.parse.quantities import (
    _CP_CLASS_SCORES,
    Q,
    _cp_rule,
    _int,
    _measure,
    _num,
    _window,
)


def _union(rules: list[Rule]) -> list[Rule]:
    """Alternatives of conditions read the same way, as few as mean the same: "alcohol or drug
    abuse" is substance abuse, "CNS or brain metastases" CNS metastases (vocab.condition_union).
    Only conditions with identical qualifiers are merged."""
    groups: dict[str, list[str]] = {}
    for r in rules:
        if r.kind == "condition":
            key = r.model_dump_json(exclude={"condition"})
            groups.setdefault(key, []).append(r.condition)  # type: ignore[union-attr]
    keep = {key: list(grammar.condition_union(tuple(ids))) for key, ids in groups.items()}
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
    if any(_spreads(p) for p in own) and cid == "malignancy":
        # the trial's cancer spreads: its metastases (C77-C79) are not "other malignancy"
        own.append("secondary_malignancy")
    return own


@cache
def _spreads(cid: str) -> bool:
    """A malignancy whose spread is coded C77-C79 (not a glioma's or a leukaemia's:
    ``metastasises: false`` in conditions.yaml)."""
    if not vocab.condition_matches("malignancy", cid):
        return False
    return not any(
        c.extra.get("metastasises") is False and vocab.condition_matches(c.id, cid)
        for c in vocab.conditions()
    )


def _primary_cancer(cid: str) -> bool:
    """A malignancy that is not a metastasis (MDS and MPN count: WHO's myeloid neoplasms)."""
    if any(vocab.condition_matches(c, cid) for c in _MYELOID):
        return True
    return vocab.condition_matches("malignancy", cid) and not vocab.condition_matches(
        "secondary_malignancy", cid
    )


_MYELOID = ("myelodysplastic_syndrome", "myeloproliferative_neoplasm")


def _distinct_cancers(cids: Iterable[str]) -> bool:
    """True when two of the conditions are different primary cancers, neither a member of the
    other ("breast cancer, lung cancer"): an inclusion listing tumour types names alternatives (a
    trial does not ask for two primaries), whatever the connective says. Metastases are left
    out: "breast cancer and brain metastases" asks for both."""
    found: list[str] = []
    for cid in dict.fromkeys(cids):
        if not _primary_cancer(cid):
            continue
        if any(
            not vocab.condition_matches(c, cid) and not vocab.condition_matches(cid, c)
            for c in found
        ):
            return True
        found.append(cid)
    return False


def _over_in_exclusion(age: AgeRule) -> Rule:
    """ "Age > 60" excluded: over 61 by completed years excludes; between 60 and 61 it depends
    on whether "over 60" counts the years begun (a 60½-year-old is 60 years old, and the
    inclusion "18-60" admits him), so a person decides."""
    n = age.min
    if n is None or age.min_inclusive or not float(n).is_integer():
        return age
    zone = ManualRule(
        reason=f"whether an age between {n:g} and {n + 1:g} is over {n:g}: completed years "
        "say no, exact age says yes",
        law="qualifier",
    )
    return AnyRule(
        rules=[AgeRule(min=n + 1), AllRule(rules=[AgeRule(min=n, min_inclusive=False), zone])]
    )


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
                    # "SGOT or SGPT no greater than 2 × ULN" may mean neither over the limit,
                    # "PT or INR ≤ 1.5 × ULN" whichever test was done (fresh audits 7, 14): both
                    # within decides, both over decides, one over is for a person
                    either = ManualRule(
                        reason="'or' between tests under one bound: whether both must meet it "
                        "or either may is not in the words",
                        law="separate",
                    )
                    return AllRule(
                        rules=[AnyRule(rules=rules), AnyRule(rules=[AllRule(rules=rules), either])]
                    )
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
    def _age_parts(toks: tuple[Token, ...]) -> tuple[list[float], list[str], bool, bool]:
        """Numbers (in years), comparators, whether the clause names age at all, and whether
        it counts in months."""
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
        return [round(n * scale, 4) for n in nums], ops, named, unit == "months"

    @staticmethod
    def _explicit(toks: tuple[Token, ...]) -> bool:
        """Says "age", "old", "of age" or "or older"; a bare "18 to 75 years" does not."""
        return any(t.type in {"AGE", "OLD", "AGEPOST"} for t in toks)

    def age_range(self, *toks: Token) -> tuple[Callable[[], AgeRule], bool]:
        nums, _, named, months = self._age_parts(toks)
        if not named:
            raise NotUnderstood("a number range that does not say it is an age")
        if months:  # "age 1-12 months": up to 12 completed months, i.e. younger than 13
            top = round(nums[1] + 1 / 12, 4)
            return (lambda: AgeRule(min=nums[0], max=top, max_inclusive=False)), self._explicit(
                toks
            )
        return (lambda: AgeRule(min=nums[0], max=nums[1])), self._explicit(toks)

    def age_cmp(self, *toks: Token) -> tuple[Callable[[], AgeRule], bool]:
        nums, ops, named, months = self._age_parts(toks)
        if not named:
            raise NotUnderstood("a number that does not say it is an age")
        return (lambda: self._age_bound(ops[0], nums[0], months)), self._explicit(toks)

    age_post = age_cmp

    def age_two(self, *toks: Token) -> tuple[Callable[[], AgeRule], bool]:
        nums, ops, named, months = self._age_parts(toks)
        if not named:
            raise NotUnderstood("numbers that do not say they are an age")

        def build() -> AgeRule:
            a = self._age_bound(ops[0], nums[0], months)
            b = self._age_bound(ops[1], nums[1], months)
            merged = {**a.model_dump(exclude_defaults=True), **b.model_dump(exclude_defaults=True)}
            merged.pop("kind", None)
            return AgeRule(**merged)

        return build, self._explicit(toks)

    @staticmethod
    def _age_bound(op: str, n: float, months: bool = False) -> AgeRule:
        if op in {">=", ">"}:
            return AgeRule(min=n, min_inclusive=op == ">=")
        if op == "<=" and months:  # "≤ 12 months": 12 completed months, younger than 13
            return AgeRule(max=round(n + 1 / 12, 4), max_inclusive=False)
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
            if ctx.section == "exclusion" and age.max is None:
                age = _over_in_exclusion(age)
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
        grades, step = sorted(set(nums)), 10 if scale == "karnofsky" else 1
        if op == "in" and any(b - a > step for a, b in pairwise(grades)):
            # "ECOG 0 or 2" (NCT05693844): a typo for 0-1 or 0-2, never a scale with a hole
            raise NotUnderstood("a performance status set that skips a grade")

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

    def exc_item(self, *items: object) -> tuple[str, set[str], str]:
        treated = next((t.value for t in items if isinstance(t, Token) and t.type == "TREATED"), "")
        cid, mods = items[-1]  # type: ignore[misc]
        return (cid, mods, treated)

    def exc_items(self, *items: object) -> list[tuple[str, set[str], str]]:
        return [i for i in items if isinstance(i, tuple)]

    def exception(self, *items: object) -> _Except:
        conds: list[tuple[str, set[str], str]] = items[-1]  # type: ignore[assignment]
        if any(mods for _, mods, _t in conds):
            raise NotUnderstood("a qualified exception")
        # "except fully treated X, Y" or "except X or adequately treated Y": the qualifier is
        # read as reaching every item (more review, never a wrong pass)
        lead = next((t.value for t in items if isinstance(t, Token) and t.type == "TREATED"), "")
        treated = lead or next((t for _, _m, t in conds if t), "")
        return _Except([c for c, _m, _t in conds], treated)

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
                if ctx.section == "inclusion" and not negated:
                    # "melanoma or other malignancies" required: a metastasis is a malignancy,
                    # whichever primary it spread from
                    own = [o for o in own if o != "secondary_malignancy"]
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
            if kind == "all" and _distinct_cancers(cid for cid, _ in conds):
                raise NotUnderstood("tumour types listed in an inclusion: alternatives or both")
            if kind == "all" and seps <= {"comma"} and len({cid for cid, _ in conds}) > 1:
                # "Diagnosis: pemphigus vulgaris, pemphigus foliaceus, bullous pemphigoid"
                # (NCT02753777, fresh audit 87): read piece by piece (``chunks``)
                raise NotUnderstood("diagnoses listed with commas alone: alternatives or all?")
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
            # "Hepatitis B negative" is a test result now: a resolved record may or may not
            # still test positive, so it is for a person (history: review)
            rules: list[Rule] = [
                ConditionRule(condition=c, history="review") for c, mods in conds if not mods
            ]
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

    # -- life expectancy
    @staticmethod
    def _life(op: str, num: Token, unit: Token) -> LifeExpectancyRule:
        if unit.value not in {"days", "weeks", "months", "years"}:
            raise NotUnderstood(f"a life expectancy in {unit.value or 'an unknown unit'}")
        return LifeExpectancyRule(comparator=op, value=_num(num.value), unit=unit.value)  # type: ignore[arg-type]

    def life_cmp(self, *toks: Token) -> Rule:
        cmp, num, unit = (t for t in toks if t.type in {"CMP", "LCMP", "NUM", "TIMEUNIT"})
        return self._life(_op(cmp.value), num, unit)

    def life_post(self, *toks: Token) -> Rule:
        num, unit, post = (
            t for t in toks if t.type in {"NUM", "TIMEUNIT", "CMP_POST", "LCMP_POST"}
        )
        return self._life(_op(post.value), num, unit)

    def life_pre(self, *toks: Token) -> Builder:
        """ "Minimum life expectancy of 12 weeks", "less than 3 months life expectancy"; a
        comparator after the number too ("minimum … of 3 months or more") must agree."""
        ops = {_op(t.value) for t in toks if t.type in {"CMP", "CMP_POST", "LCMP_POST"}}
        if len(ops) != 1:
            raise NotUnderstood("two comparators that disagree on one life expectancy")
        num = next(t for t in toks if t.type == "NUM")
        rule = self._life(ops.pop(), num, next(t for t in toks if t.type == "TIMEUNIT"))
        return lambda ctx: rule

    def life_range(self, *toks: Token) -> Rule:
        """ "3-6 months", "between 12 and 24 weeks": both ends inclusive, in the last unit
        unless the first states its own."""
        nums = [t for t in toks if t.type == "NUM"]
        units = [t for t in toks if t.type == "TIMEUNIT"]
        lo, hi = self._life(">=", nums[0], units[0]), self._life("<=", nums[1], units[-1])
        if lo.unit == hi.unit and lo.value >= hi.value:
            raise NotUnderstood("a life expectancy range that is empty or descending")
        return AllRule(rules=[lo, hi])

    def life_clause(self, *items: object) -> Builder:
        rule = next(i for i in items if not isinstance(i, Token))
        return lambda ctx: rule  # type: ignore[return-value]

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


# A clause's rule depends only on its tokens' types and values and on ``Ctx`` (the transformer
# never reads offsets), and short clauses recur across trials ("ECOG 0-1", "ANC ≥ 1,500/mm3"):
# about half of those that reach the parser are repeats. Rules are frozen models, safe to share;
# the table is emptied when full (``grammar.clause_key`` turns the never-parsed away first).
_TRIED: dict[tuple[tuple[tuple[str, str], ...], Ctx], Rule | None] = {}
_TRIED_SIZE = 32768


def _try(toks: list[Tok], ctx: Ctx) -> Rule | None:
    """Parse and build one clause; None when it is not a clause of the grammar or not buildable."""
    key = grammar.clause_key(toks)
    if key is None:
        return None
    memo = (key, ctx)
    if memo in _TRIED:
        return _TRIED[memo]
    rule = _build(toks, ctx)
    if len(_TRIED) >= _TRIED_SIZE:
        _TRIED.clear()
    _TRIED[memo] = rule
    return rule


def _build(toks: list[Tok], ctx: Ctx) -> Rule | None:
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
