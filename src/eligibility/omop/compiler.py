"""One trial's rules as one SQL query over OMOP CDM v5.4 tables, built as a sqlglot AST.

The query yields a row per ``person``: each criterion's status and the verdict, with the
evaluator's semantics (``evaluate.py``, ``entries.py``, ``facts.py``). Truths are small ints as
in ``compiled.py`` — 0 false, 1 true, 3 review — and SQL NULL is unknown, so Kleene logic falls
out of CASE expressions. Everything that depends on the as-of date (windows, the oldest result
that may decide, completed years) is computed here, in Python, with the evaluator's own date
arithmetic, and enters the query as constants; what a code or unit means enters as ``VALUES``
tables resolved by the vocabulary (``mapping.py``). A rule the compiler cannot express exactly
refuses its whole criterion, which then reads ``review`` with the reason in ``refused``:
never an approximation. No SQL text is assembled here: sqlglot generates each dialect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from sqlglot import exp

from .. import vocab
from ..compiled import REVIEW, TRUE, UNKNOWN
from ..entries import _since
from ..evaluate import compile_rule
from ..facts import Options, build_facts
from ..limits import EARLIEST_DATE, LATEST_DATE
from ..model import (
    AgeRule,
    AllRule,
    AnyRule,
    ConditionRule,
    LabRule,
    LifeExpectancyRule,
    ManualRule,
    MeasureRule,
    NotRule,
    PerformanceRule,
    Rule,
    RuleSet,
    SexRule,
    TherapyRule,
    VitalRule,
)
from ..patient import Patient
from . import mapping
from .labs import converted, lab_ctes, rounded
from .mapping import Terms
from .sources import PERF_DOMAIN, shared_ctes
from .sqlexpr import (
    and_,
    between,
    case,
    col,
    compare,
    day,
    is_null,
    not_,
    not_null,
    null,
    num,
    or_,
    string,
    truth_eq,
    values,
)

DIALECTS = ("duckdb", "spark", "postgres", "trino")


class Refused(Exception):
    """A rule the compiler cannot express exactly; its criterion reads ``review``."""


@dataclass(frozen=True)
class Layers:
    """A trial's truths before they are a select: each rule's column (name, level,
    expression; names unique among trials compiled together), the CTEs joined to ``p``, and
    each criterion's truth over those columns."""

    columns: tuple[tuple[str, int, exp.Expression], ...]
    joins: tuple[str, ...]
    truths: tuple[exp.Expression, ...]


@dataclass
class CompiledQuery:
    """The query of one trial, with the criteria it computes and those it refuses. The
    selects are built when first read: a run that writes CSV from ``compiler.joint`` never
    builds (nor copies) each trial's own query."""

    trial_id: str
    criteria: tuple[tuple[str, str], ...]  # (id, section), in rules-file order
    refused: dict[str, str]  # criterion id -> why it is not computed here
    # what ``truths`` is built from, so trials compiled together can share one (``joint``)
    layers: Layers
    # the CTEs only this trial reads, and those it shares with the trials compiled with it
    # (``compile_trials``: the same tuple object for all of them)
    own: tuple[tuple[str, exp.Expression], ...] = ()
    shared: tuple[tuple[str, exp.Expression], ...] = ()

    @cached_property
    def truths(self) -> exp.Select:
        """``body``'s source: ``person_id`` and each criterion's truth ``t0``, ``t1``… (0
        false, 1 true, 3 review, NULL unknown), for a caller that needs no status strings."""
        return truth_select([(self.layers, [f"t{i}" for i in range(len(self.criteria))])])

    @cached_property
    def body(self) -> exp.Select:
        """The query without WITH and ORDER BY: ``person_id``, each criterion's status (a
        column named by its id) and the verdict."""
        sections = [s for _, s in self.criteria]
        statuses = [
            _status(col(f"t{i}"), s).as_(exp.to_identifier(cid, quoted=True))
            for i, (cid, s) in enumerate(self.criteria)
        ]
        outer = exp.select(
            col("person_id"), *statuses, verdict(sections).as_("verdict"), copy=False
        )
        return outer.from_(exp.alias_(exp.paren(self.truths.copy()), "t"), copy=False)

    @cached_property
    def query(self) -> exp.Select:
        query = self.body.copy().order_by(col("person_id"), copy=False)
        for name, cte in [*self.shared, *self.own]:
            query = query.with_(name, as_=cte.copy(), copy=False)
        return query

    def sql(self, dialect: str = "duckdb", pretty: bool = False) -> str:
        return self.query.sql(dialect=dialect, pretty=pretty)


# --- the compiler -------------------------------------------------------------------------


@dataclass
class _Entry:
    """One condition or therapy rule as rows of its pass: the codes or names it reads (with
    their flags) and its outcome on a matched entry (0 nothing, 1 unsure, 2 hit)."""

    rows: list[tuple]
    outcome: exp.Expression


@dataclass
class _Ctx:
    as_of: date
    options: Options
    terms: Terms
    ctes: list[tuple[str, exp.Expression]] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    counter: int = 0
    needs: set[str] = field(default_factory=set)
    # each rule's truth as a named column, at a level above its children's (so no expression
    # repeats a child's: a flat plan, not a tree copied into every CASE that reads it)
    columns: list[tuple[str, int, exp.Expression]] = field(default_factory=list)
    levels: dict[str, int] = field(default_factory=dict)
    # (column, its truth on a row of the analyte, the analyte's code)
    labs: list[tuple[str, exp.Expression, int]] = field(default_factory=list)
    lab_values: list[tuple[str, exp.Expression]] = field(default_factory=list)
    # the condition and therapy rules of every trial, rows of one pass each (``_entry_pass``)
    entries: dict[str, list[_Entry]] = field(
        default_factory=lambda: {"conditions": [], "treatments": []}
    )

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def level(self, e: exp.Expression) -> int:
        return self.levels.get(e.name, -1) if isinstance(e, exp.Column) else -1

    def column(self, e: exp.Expression, kids: list[exp.Expression]) -> exp.Expression:
        """``e`` as a column one level above ``kids`` (leaves: level 0, beside the joins)."""
        if isinstance(e, exp.Literal | exp.Null):
            return e
        name = self.name("n")
        level = 1 + max((self.level(k) for k in kids), default=-1)
        self.columns.append((name, level, e))
        self.levels[name] = level
        return col(name)

    def cte(self, name: str, query: exp.Expression, join: bool = False) -> None:
        self.ctes.append((name, query))
        if join:
            self.joins.append(name)


def compile_trial(
    rules: RuleSet,
    as_of: date,
    options: Options | None = None,
    terms: Terms | None = None,
) -> CompiledQuery:
    """The trial's query at ``as_of``; ``terms``: the strings to resolve (default: the
    vocabulary's own spellings of what the rules name, ``mapping.default_terms``)."""
    return compile_trials([rules], as_of, options, terms)[0]


def compile_trials(
    rulesets: list[RuleSet],
    as_of: date,
    options: Options | None = None,
    terms: Terms | None = None,
) -> list[CompiledQuery]:
    """Several trials compiled together: one measurement pass for all. Every trial's lab
    rules on an analyte are columns of the same ``labs_<code>`` CTE (one grouping of that
    analyte's ``current`` rows), and the person, condition and treatment CTEs are shared, so
    ``joint`` gives every trial's truths from one join of them, each read once
    (``csvout.plan``). Each ``query`` still stands alone."""
    options = options or Options()
    if terms is None:
        terms = Terms()
        for rules in rulesets:
            terms = terms | mapping.default_terms(rules)
    ctx = _Ctx(as_of, options, terms)
    parts = []
    for rules in rulesets:
        ctx.ctes, ctx.joins, ctx.columns, ctx.levels = [], [], [], {}
        refused, layers = _body(ctx, rules)
        parts.append((rules, refused, tuple(ctx.ctes), layers))
    base = exp.select(
        col("person_id"), col("gender_concept_id"), _age_expression(as_of).as_("age"), copy=False
    ).from_("person", copy=False)
    shared = [("p", base), *shared_ctes(ctx.needs, ctx.terms, ctx.as_of, ctx.options)]
    if ctx.labs:
        shared += lab_ctes(ctx.lab_values, ctx.labs)
    shared += [
        (_PASS[table], _entry_pass(table, specs)) for table, specs in ctx.entries.items() if specs
    ]
    together = tuple(shared)  # one object: ``csvout.plan`` tells trials compiled together by it
    return [
        CompiledQuery(
            rules.trial.id,
            tuple((c.id, c.section) for c in rules.criteria),
            refused,
            layers,
            own,
            together,
        )
        for rules, refused, own, layers in parts
    ]


def truth_select(layers: list[tuple[Layers, list[str]]]) -> exp.Select:
    """``person_id`` and the truths of every ``Layers`` under the given names, from one
    join of ``p`` with the CTEs they read and one stack of levels (each rule's column a level
    above its children's)."""
    columns = [c for part, _ in layers for c in part.columns]
    joins = dict.fromkeys(j for part, _ in layers for j in part.joins)
    top = max((lvl for _, lvl, _ in columns), default=0)
    inner = exp.select(
        col("person_id", "p"), *[e.as_(n) for n, lvl, e in columns if lvl == 0], copy=False
    )
    inner = inner.from_("p", copy=False)
    for name in joins:
        inner = inner.join(
            name,
            on=exp.EQ(this=col("person_id", name), expression=col("person_id", "p")),
            join_type="left",
            copy=False,
        )
    for level in range(1, top + 1):
        inner = exp.select(
            "*", *[e.as_(n) for n, lvl, e in columns if lvl == level], copy=False
        ).from_(exp.alias_(exp.paren(inner, copy=False), f"s{level}", copy=False), copy=False)
    named = [t.as_(n) for part, names in layers for t, n in zip(part.truths, names, strict=True)]
    return exp.select(col("person_id"), *named, copy=False).from_(
        exp.alias_(exp.paren(inner, copy=False), "s", copy=False), copy=False
    )


def joint(queries: list[CompiledQuery]) -> exp.Select | None:
    """The truths of trials compiled together as one select, the ``j``-th trial's criterion
    ``i`` as ``t{j}_{i}``: one join and one stack for all, so the shared CTEs are each read
    once (None when the queries were not compiled together)."""
    if not queries or any(q.shared is not queries[0].shared for q in queries):
        return None
    return truth_select(
        [(q.layers, [f"t{j}_{i}" for i in range(len(q.criteria))]) for j, q in enumerate(queries)]
    )


def _body(ctx: _Ctx, rules: RuleSet) -> tuple[dict[str, str], Layers]:
    """One trial's rules as columns over the CTEs: what it refuses, and its ``Layers``."""
    refused: dict[str, str] = {}
    truths: list[exp.Expression] = []
    for c in rules.criteria:
        mark = (len(ctx.ctes), len(ctx.joins), set(ctx.needs), len(ctx.columns), len(ctx.labs))
        passes = {k: len(v) for k, v in ctx.entries.items()}
        try:
            truth = _rule(ctx, c.rule)
        except Refused as why:
            del ctx.ctes[mark[0] :], ctx.joins[mark[1] :], ctx.columns[mark[3] :]
            del ctx.labs[mark[4] :], ctx.lab_values[2 * mark[4] :]
            for k, n in passes.items():
                del ctx.entries[k][n:]
            ctx.needs = mark[2]
            refused[c.id] = str(why)
            truth = exp.Literal.number(REVIEW)
        truths.append(truth)
    return refused, Layers(tuple(ctx.columns), tuple(ctx.joins), tuple(truths))


def _status(t: exp.Expression, section: str) -> exp.Expression:
    yes, no = ("pass", "fail") if section == "inclusion" else ("fail", "pass")
    return case(
        (truth_eq(t, TRUE), string(yes)),
        (truth_eq(t, 0), string(no)),
        (truth_eq(t, REVIEW), string("review")),
        default=string("unknown"),
    )


def verdict(sections: list[str], prefix: str = "t") -> exp.Expression:
    """The verdict over the truths ``t0``, ``t1``… (``{prefix}{i}``) of criteria in these
    sections."""
    t = [col(f"{prefix}{i}") for i in range(len(sections))]
    fails = [truth_eq(t[i], 0 if s == "inclusion" else 1) for i, s in enumerate(sections)]
    passes = [truth_eq(t[i], 1 if s == "inclusion" else 0) for i, s in enumerate(sections)]
    if not sections:
        return string("eligible")
    return case(
        (exp.paren(or_(*fails)), string("ineligible")),
        (exp.paren(and_(*passes)), string("eligible")),
        default=string("indeterminate"),
    )


# The fields each rule kind's compilation reads; a field beyond these (one the model gains
# later, as a lab rule's ``within``) set away from its default refuses the criterion, so
# a new meaning never compiles to the old one.
_READ: dict[type, frozenset[str]] = {
    AllRule: frozenset({"kind", "rules"}),
    AnyRule: frozenset({"kind", "rules"}),
    NotRule: frozenset({"kind", "rule"}),
    ManualRule: frozenset({"kind", "reason", "evidence", "law"}),
    AgeRule: frozenset({"kind", "min", "max", "min_inclusive", "max_inclusive"}),
    SexRule: frozenset({"kind", "allowed"}),
    PerformanceRule: frozenset({"kind", "scale", "allowed", "min", "max"}),
    LabRule: frozenset({"kind", "analyte", "comparator", "value", "unit", "multiple", "of"}),
    VitalRule: frozenset({"kind", "name", "comparator", "value", "unit"}),
    MeasureRule: frozenset({"kind", "name", "comparator", "value", "unit"}),
    ConditionRule: frozenset(
        {"kind", "condition", "active", "history", "within", "except_", "if_absent"}
    ),
    TherapyRule: frozenset({"kind", "agents", "within", "if_absent"}),
}


def _unread_field(rule: Rule) -> str | None:
    """A field of ``rule`` set to something the compiler does not read, or None."""
    read = _READ.get(type(rule))
    if read is None:
        return None
    for name, info in type(rule).model_fields.items():
        if name not in read and getattr(rule, name, None) != info.get_default(
            call_default_factory=True
        ):
            return name
    return None


def _rule(ctx: _Ctx, rule: Rule) -> exp.Expression:
    """A rule's truth as an expression over the joined CTEs (NULL: unknown)."""
    if isinstance(rule, LabRule) and getattr(rule, "within", None) is not None:
        raise Refused("a lab rule's own time window ('within') is not compiled to SQL")
    unread = _unread_field(rule)
    if unread is not None:
        raise Refused(f"the {rule.kind} rule's '{unread}' is not compiled to SQL")
    match rule:
        case AllRule() | AnyRule():
            kids = [_rule(ctx, r) for r in rule.rules]
            combine = _all if isinstance(rule, AllRule) else _any
            return ctx.column(combine(kids), kids)
        case NotRule():
            t = _rule(ctx, rule.rule)
            flipped = case(
                (truth_eq(t, 0), exp.Literal.number(1)),
                (truth_eq(t, 1), exp.Literal.number(0)),
                default=t.copy(),
            )
            return ctx.column(flipped, [t])
        case ManualRule():
            return exp.Literal.number(REVIEW)  # an extract records no coordinator's review
        case AgeRule():
            return ctx.column(_age_rule(rule), [])
        case SexRule():
            return ctx.column(_sex_rule(rule), [])
        case PerformanceRule():
            return ctx.column(_performance_rule(ctx, rule), [])
        case MeasureRule() if rule.name.strip().lower() in ("creatinine_clearance", "crcl"):
            raise Refused("creatinine clearance is derived by Cockcroft-Gault when not measured")
        case LabRule() | VitalRule() | MeasureRule():
            return ctx.column(_lab_rule(ctx, rule), [])
        case ConditionRule():
            return ctx.column(_condition_rule(ctx, rule), [])
        case TherapyRule():
            return ctx.column(_therapy_rule(ctx, rule), [])
        case LifeExpectancyRule():
            # OMOP has no one standard concept that extracts use for the investigator's
            # estimate (with its unit and date): a guessed concept would read other data
            raise Refused("life expectancy: OMOP CDM has no standard concept for the estimate")
    raise Refused(f"rule kind '{rule.kind}' is not compiled to SQL")


def _all(kids: list[exp.Expression]) -> exp.Expression:
    """``evaluate._all``: any false → false; any unknown → unknown; any review → review."""
    if len(kids) == 1:
        return kids[0]
    return case(
        (exp.paren(or_(*[truth_eq(k, 0) for k in kids])), exp.Literal.number(0)),
        (exp.paren(or_(*[is_null(k) for k in kids])), null()),
        (exp.paren(or_(*[truth_eq(k, REVIEW) for k in kids])), exp.Literal.number(REVIEW)),
        default=exp.Literal.number(1),
    )


def _any(kids: list[exp.Expression]) -> exp.Expression:
    """``evaluate._any``: any true → true; any review → review; any unknown → unknown."""
    if len(kids) == 1:
        return kids[0]
    return case(
        (exp.paren(or_(*[truth_eq(k, 1) for k in kids])), exp.Literal.number(1)),
        (exp.paren(or_(*[truth_eq(k, REVIEW) for k in kids])), exp.Literal.number(REVIEW)),
        (exp.paren(or_(*[is_null(k) for k in kids])), null()),
        default=exp.Literal.number(0),
    )


# --- person: age and sex ------------------------------------------------------------------


def _days_in_month(y: exp.Expression, m: exp.Expression) -> exp.Expression:
    def mod(a: exp.Expression, n: int) -> exp.Expression:
        return exp.EQ(
            this=exp.Mod(this=a.copy(), expression=exp.Literal.number(n)),
            expression=exp.Literal.number(0),
        )

    leap = and_(mod(y, 4), exp.paren(or_(not_(mod(y, 100)), mod(y, 400))))
    short = exp.In(this=m.copy(), expressions=[exp.Literal.number(n) for n in (4, 6, 9, 11)])
    february = truth_eq(m, 2)
    return case(
        (and_(february, leap), exp.Literal.number(29)),
        (february, exp.Literal.number(28)),
        (short, exp.Literal.number(30)),
        default=exp.Literal.number(31),
    )


def _age_expression(as_of: date) -> exp.Expression:
    """Completed years at the as-of date (``facts.completed_years``) from year, month and day
    of birth; NULL when any is missing or they name no date in 1900–2200, or birth is later."""
    y, m, d = col("year_of_birth"), col("month_of_birth"), col("day_of_birth")
    valid = and_(
        between(y, exp.Literal.number(EARLIEST_DATE.year), exp.Literal.number(LATEST_DATE.year)),
        between(m, exp.Literal.number(1), exp.Literal.number(12)),
        between(d, exp.Literal.number(1), _days_in_month(y, m)),
    )
    before = or_(
        exp.GT(this=m.copy(), expression=exp.Literal.number(as_of.month)),
        exp.paren(
            and_(
                truth_eq(m, as_of.month),
                exp.GT(this=d.copy(), expression=exp.Literal.number(as_of.day)),
            )
        ),
    )
    years = exp.Sub(
        this=exp.Sub(this=exp.Literal.number(as_of.year), expression=y.copy()),
        expression=case((before, exp.Literal.number(1)), default=exp.Literal.number(0)),
    )
    return case(
        (
            and_(valid, exp.GTE(this=exp.paren(years), expression=exp.Literal.number(0))),
            years.copy(),
        ),
        default=null(),
    )


def _age_rule(rule: AgeRule) -> exp.Expression:
    """Inclusive whole-year bounds on completed years (``evaluate.age_parts``); a strict or
    fractional minimum, or a strict maximum, needs exact age by date arithmetic: refused."""
    if rule.min is not None and not (rule.min_inclusive and float(rule.min).is_integer()):
        raise Refused("a strict or fractional minimum age needs exact age, not compiled")
    if rule.max is not None and not rule.max_inclusive:
        raise Refused("a strict maximum age needs exact age, not compiled")
    age = col("age", "p")
    parts = []
    if rule.min is not None:
        parts.append(compare(age, ">=", num(float(rule.min))))
    if rule.max is not None:
        parts.append(compare(age, "<=", num(float(rule.max))))
    return _all(parts)


def _sex_rule(rule: SexRule) -> exp.Expression:
    g = col("gender_concept_id", "p")
    known = [k for k, v in mapping.gender_concepts().items()]
    allowed = [k for k, v in mapping.gender_concepts().items() if v in rule.allowed]
    yes = (
        exp.In(this=g.copy(), expressions=[exp.Literal.number(k) for k in allowed])
        if allowed
        else None
    )
    known_expr = exp.In(this=g.copy(), expressions=[exp.Literal.number(k) for k in known])
    whens = [] if yes is None else [(yes, exp.Literal.number(1))]
    return case(*whens, (known_expr, exp.Literal.number(0)), default=null())


# --- performance status -------------------------------------------------------------------


def _performance_truth(rule: PerformanceRule, scale: str, value: int) -> int | None:
    """The evaluator's own truth for a profile holding only this value (a finite table)."""
    patient = Patient(id="x", **{scale: value})
    t = compile_rule(rule).check(build_facts(patient, date(2000, 1, 1)))[0]
    return None if t == UNKNOWN else int(t)


def _performance_rule(ctx: _Ctx, rule: PerformanceRule) -> exp.Expression:
    ctx.needs.add("perf")
    if "perf" not in ctx.joins:
        ctx.joins.append("perf")
    own = rule.scale
    other = "karnofsky" if own == "ecog" else "ecog"

    def table(scale: str) -> exp.Expression:
        c = col(scale, "perf")
        whens = []
        for v in PERF_DOMAIN[scale]:
            t = _performance_truth(rule, scale, v)
            whens.append((truth_eq(c, v), null() if t is None else exp.Literal.number(t)))
        return case(*whens, default=null())

    return case(
        (not_null(col(own, "perf")), table(own)),
        (not_null(col(other, "perf")), table(other)),
        default=null(),
    )


# --- labs ---------------------------------------------------------------------------------


def _lab_rule(ctx: _Ctx, rule: LabRule | VitalRule | MeasureRule) -> exp.Expression:
    """The newest current results of the analyte (``facts.latest`` and ``ties``), each
    checked as ``evaluate._lab_node`` checks one; several on that date decide only together.

    Every lab rule on the analyte, of every trial, is one column of ``labs_<code>``
    (``lab_ctes``): per row of the analyte, the rule's truth on that result (0/1, 2 unknown),
    then per person the agreed truth of the rows of the newest date."""

    name = rule.analyte if isinstance(rule, LabRule) else rule.name
    a = vocab.analyte(name)
    if a is None:
        return exp.Literal.number(REVIEW)  # the evaluator's "unrecognised"
    if a.id == "creatinine_clearance":
        raise Refused("creatinine clearance is derived by Cockcroft-Gault when not measured")
    if rule.within is not None:
        raise Refused(f"a lab window (within {rule.within.describe()}) is not compiled to SQL")
    v, u = col("v"), col("u")
    if isinstance(rule, LabRule) and rule.of is not None:
        ok = mapping.native_units(ctx.terms, a.id)
        ref = col("hi" if rule.of == "ULN" else "lo")
        bound = exp.Mul(this=num(float(rule.multiple or 1.0)), expression=ref.copy())
        foreign = not_null(u)
        if ok:
            listed = exp.In(this=u.copy(), expressions=[string(x) for x in ok])
            foreign = and_(foreign, not_(listed))
        value: exp.Expression = v
        usable = not_(or_(foreign, is_null(ref), exp.LTE(this=ref.copy(), expression=num(0.0))))
        threshold_expr: exp.Expression = bound
    else:
        target = (
            (rule.unit if rule.unit is not None else a.unit)
            if isinstance(rule, LabRule)
            else (rule.unit or a.unit)
        )
        threshold = float(rule.value)  # type: ignore[arg-type]
        factors = mapping.unit_factors(ctx.terms, a.id, target)
        whens = []
        for unit, conversion in factors.items():
            when = is_null(u) if unit is None else exp.EQ(this=u.copy(), expression=string(unit))
            whens.append((when, rounded(converted(v, conversion), threshold, conversion)))
        value = case(*whens, default=null()) if whens else null()
        usable = exp.true()
        threshold_expr = num(threshold)
    ctx.needs.add("latest")
    ctx.needs.add("labs:" + a.id)
    column = ctx.name("lab")
    code = mapping.analyte_code(a.id)
    # the value and bound the rule compares, computed once per row of the analyte (NULL:
    # unknown), then the truth on them: 0/1, 2 unknown
    x, b = f"{column}_x", f"{column}_b"
    ctx.lab_values.append((x, case((usable, value), default=null())))
    ctx.lab_values.append((b, threshold_expr))
    r = compare(col(x), rule.comparator, col(b))
    ctx.labs.append((column, exp.Coalesce(this=r, expressions=[exp.Literal.number(2)]), code))
    cte = f"labs_{code}"
    if cte not in ctx.joins:
        ctx.joins.append(cte)
    return col(column, cte)


# --- conditions and therapies ---------------------------------------------------------------


def _absent(ctx: _Ctx, if_absent: str | None) -> exp.Expression:
    mode = if_absent if if_absent is not None else ctx.options.if_absent
    return null() if mode == "unknown" else exp.Literal.number(0)


_T0, _T1, _T2 = exp.Literal.number(0), exp.Literal.number(1), exp.Literal.number(2)


def _in_window(
    s: exp.Expression,
    e: exp.Expression,
    active: exp.Expression | None,
    since: date | None,
    as_of: date,
) -> exp.Expression:
    """``entries.in_window`` as 0 / 1 / 2 (unknown); ``active`` None: always active."""
    whens = [(exp.GT(this=s.copy(), expression=day(as_of)), _T0)]
    if since is None:
        return case(*whens, default=_T1)
    whens.append(
        (not_null(e), case((exp.GTE(this=e.copy(), expression=day(since)), _T1), default=_T0))
    )
    if active is None:
        return case(*whens, default=_T1)
    whens.append((active, _T1))
    whens.append((exp.GTE(this=s.copy(), expression=day(since)), _T1))
    return case(*whens, default=_T2)


def _onset_in_window(s: exp.Expression, since: date, as_of: date) -> exp.Expression:
    return case(
        (is_null(s), _T2),
        (exp.GT(this=s.copy(), expression=day(as_of)), _T0),
        (exp.GTE(this=s.copy(), expression=day(since)), _T1),
        default=_T0,
    )


def _since_date(ctx: _Ctx, window) -> date | None:  # type: ignore[no-untyped-def]
    delta: timedelta | None = _since(window)
    return None if delta is None else ctx.as_of - delta


def _entry_truth(ctx: _Ctx, table: str, entry: _Entry, if_absent: str | None) -> exp.Expression:
    """The rule's truth from its two bits in the one pass over ``table`` (no row: absent)."""
    ctx.needs.add(table)
    word, bits = _slot(len(ctx.entries[table]))
    ctx.entries[table].append(entry)
    name = _PASS[table]
    if name not in ctx.joins:
        ctx.joins.append(name)

    def has(bit: int) -> exp.Expression:
        masked = exp.BitwiseAnd(this=col(f"w{word}", name), expression=num(bit * bits))
        return exp.NEQ(this=masked, expression=_T0.copy())

    return case((has(2), exp.Literal.number(1)), (has(1), null()), default=_absent(ctx, if_absent))


# the pass over each entries CTE: its name, the alias of an entry in it, the column the
# rules' rows match on and the flags each row carries
_PASS = {"conditions": "cond_pass", "treatments": "drug_pass"}
_KEYS = {
    "conditions": ("c", "code", ["maybe", "event", "inactive", "undated", "episode"]),
    "treatments": ("d", "name", ["maybe"]),
}
_PER_WORD = 30  # rules per BIGINT of a pass, two bits each (below the sign bit)


def _slot(i: int) -> tuple[int, int]:
    """The ``i``-th rule of a pass: its word and the value of its lower bit (unsure; the
    bit above it: hit)."""
    return i // _PER_WORD, 4 ** (i % _PER_WORD)


def _entry_pass(table: str, specs: list[_Entry]) -> exp.Expression:
    """One scan of ``table`` for all its rules, of every trial: each entry joined to the rows
    of the rules that name its code, then per person one ``BIT_OR`` per 30 rules: each
    matched row's outcome (0 nothing, 1 unsure, 2 hit) times its rule's ``4^slot`` (``m``
    on the rule's rows), so a rule's two bits say whether any of its entries hit and
    whether any was unsure — its ``MAX`` as before, from one aggregate instead of one
    ``MAX(CASE …)`` per rule. Rules with the same outcome expression share one branch
    (``g``) of the row's ``CASE``."""
    alias, key, flags = _KEYS[table]
    groups: dict[str, int] = {}
    outcomes: list[exp.Expression] = []
    rows = []
    for i, spec in enumerate(specs):
        text = spec.outcome.sql()
        if text not in groups:
            groups[text] = len(outcomes)
            outcomes.append(spec.outcome)
        word, bits = _slot(i)
        rows += [(row[0], word, bits, groups[text], *row[1:]) for row in spec.rows]
    g = col("g", "k")
    branches = [(truth_eq(g, n), o.copy()) for n, o in enumerate(outcomes[:-1])]
    outcome = case(*branches, default=outcomes[-1].copy()) if branches else outcomes[0].copy()
    value = exp.Mul(this=exp.paren(outcome), expression=exp.cast(col("m", "k"), "BIGINT"))
    words = _slot(len(specs) - 1)[0] + 1
    aggs = [
        exp.BitwiseOrAgg(
            this=value.copy() if words == 1 else case((truth_eq(col("w", "k"), w), value.copy()))
        ).as_(f"w{w}")
        for w in range(words)
    ]
    return (
        exp.select(col("person_id", alias), *aggs, copy=False)
        .from_(exp.alias_(exp.to_identifier(table), alias), copy=False)
        .join(
            values("k", [key, "w", "m", "g", *flags], rows),
            on=exp.EQ(this=col(key, alias), expression=col(key, "k")),
            copy=False,
        )
        .group_by(col("person_id", alias), copy=False)
    )


def _condition_rule(ctx: _Ctx, rule: ConditionRule) -> exp.Expression:
    """``entries.compile_condition``: per entry hit (2), unsure (1) or nothing (0)."""

    c = vocab.condition(rule.condition)
    if c is None or any(vocab.condition(x) is None for x in rule.except_):
        return exp.Literal.number(REVIEW)
    since = _since_date(ctx, rule.within)
    flags = mapping.condition_codes(ctx.terms, rule, since is not None)
    if not flags:
        return _absent(ctx, rule.if_absent)
    s, e = col("s", "c"), col("e", "c")
    maybe, event, inactive = (truth_eq(col(n, "k"), 1) for n in ("maybe", "event", "inactive"))
    active = and_(is_null(e), not_(inactive))
    timing = _in_window(s, e, active, since, ctx.as_of)
    if since is not None:
        onset = case((truth_eq(col("undated", "k"), 1), null()), default=s)
        timing = case((event, _onset_in_window(onset, since, ctx.as_of)), default=timing)
    not_false = exp.NEQ(this=timing.copy(), expression=_T0)
    whens = []
    if rule.active or vocab.is_current(c.id):
        whens.append((not_(active.copy()), _T0))
    whens.append((maybe, case((not_false, _T1), default=_T0)))
    if rule.history == "review":
        whens.append((not_(active.copy()), case((not_false.copy(), _T1), default=_T0)))
    if rule.active or vocab.is_current(c.id) or rule.history == "review" or since is not None:
        # entries._past_episode: an acute episode begun long ago with no end is unknown
        for days in sorted({f.episode for f in flags if f.episode}):
            old = exp.LT(this=s.copy(), expression=day(ctx.as_of - timedelta(days=days)))
            when = and_(truth_eq(col("episode", "k"), days), not_(event.copy()), is_null(e), old)
            whens.append((and_(when, truth_eq(timing.copy(), 1)), _T1))
    whens.append((truth_eq(timing, 1), _T2))
    whens.append((truth_eq(timing, 2), _T1))
    outcome = case(*whens, default=_T0)
    rows = [
        (f.code, int(f.maybe), int(f.event), int(f.inactive), int(f.undated), f.episode)
        for f in flags
    ]
    entry = _Entry(rows, outcome)
    return _entry_truth(ctx, "conditions", entry, rule.if_absent)


def _therapy_rule(ctx: _Ctx, rule: TherapyRule) -> exp.Expression:
    """``entries.compile_therapy``: a member in the window (2); undated under a window, or
    one that may be the agent (1); else nothing (0)."""

    if any(vocab.drug(a) is None for a in rule.agents):
        return exp.Literal.number(REVIEW)
    names = mapping.drug_names(ctx.terms, rule)
    if not names:
        return _absent(ctx, rule.if_absent)
    since = _since_date(ctx, rule.within)
    s, e = col("s", "d"), col("e", "d")
    timing = _in_window(s, e, None, since, ctx.as_of)
    maybe = truth_eq(col("maybe", "k"), 1)
    whens = [(maybe, case((exp.NEQ(this=timing.copy(), expression=_T0), _T1), default=_T0))]
    if since is not None:
        whens.append((and_(is_null(s), is_null(e)), _T1))
    whens.append((truth_eq(timing, 1), _T2))
    outcome = case(*whens, default=_T0)
    entry = _Entry([(n, int(m)) for n, m in names], outcome)
    return _entry_truth(ctx, "treatments", entry, rule.if_absent)
