"""Structured eligibility rules: the contract between parser, reviewer and evaluator.

Every rule kind is its own pydantic class with a ``kind`` literal, joined in the ``Rule``
discriminated union, so a rules file is validated by shape and nothing downstream handles dicts.
Rules describe a *fact about the patient*; section polarity (exclusion) is applied once, at the
criterion level, by the evaluator.

A rule that loads can be evaluated: types are strict (``"18"`` is not 18, ``"yes"`` is not true),
numbers are finite, and bounds are plausible (ages 0–150, windows up to ``MAX_WINDOW_DAYS``, no
negative bound on a vocabulary analyte, which every result would meet). Rules hold no dates.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from . import vocab
from .limits import MAX_WINDOW_DAYS

SCHEMA_VERSION = 1
MAX_AGE_YEARS = 150
"""The largest age bound a rule may state (profiles record 0–130)."""

Comparator = Literal["<", "<=", ">", ">="]
Section = Literal["inclusion", "exclusion"]
Sex = Literal["female", "male"]
ChildPughClass = Literal["A", "B", "C"]
Limit = Literal["ULN", "LLN"]
IfAbsent = Literal["absent", "unknown"]
# What a lab window counts back from in the text; every one is read against the as-of date.
WindowAnchor = Literal[
    "screening", "randomization", "registration", "enrollment", "study entry", "first dose"
]


TimeUnit = Literal["days", "weeks", "months", "years"]
UNIT_DAYS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}
"""Days per unit of time: months and years at their mean Gregorian lengths (a convention)."""


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in a reviewed rules file must not vanish. Strict types:
    a YAML 1.1 spelling read as text (``1:15``, ``yes``) is an error, never coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class _RuleBase(_Strict):
    """Rules always serialise ``kind`` first, even when defaults are left out."""

    @model_serializer(mode="wrap")
    def _kind_first(self, handler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            return {"kind": self.kind, **{k: v for k, v in data.items() if k != "kind"}}
        return data


class Window(_Strict):
    """A period counted back from the as-of date, e.g. 3 months."""

    amount: float = Field(gt=0)
    unit: TimeUnit

    def days(self) -> float:
        """Length in days; months and years use their mean lengths (30.4375 / 365.25 days)."""
        return self.amount * UNIT_DAYS[self.unit]

    @model_validator(mode="after")
    def _plausible(self) -> Window:
        # Date arithmetic overflows near 10^9 days; no record spans more than a long life.
        if self.days() > MAX_WINDOW_DAYS:
            raise ValueError(
                f"a window of {self.describe()} is longer than {MAX_WINDOW_DAYS} days "
                f"({MAX_WINDOW_DAYS // 365} years)"
            )
        return self

    def describe(self) -> str:
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        unit = self.unit[:-1] if amount == 1 else self.unit
        return f"{amount} {unit}"


class AgeRule(_RuleBase):
    """Age at the as-of date; registry bounds are inclusive whole years.

    An inclusive bound compares age in completed years ("≥ 18": from the 18th birthday; "≤ 75":
    until the day before the 76th). A strict bound compares exact age by date arithmetic: "> 18"
    holds from the day after the 18th birthday (on the birthday exact age is 18, not more), and
    "< 65" until the day before the 65th. A 29 February birthday falls on 1 March in common
    years. With only ``age`` recorded (completed years), a strict bound is decided when every
    exact age it allows agrees: completed 18 against "> 18" is unknown (it could be 18 years and
    0 days) and asks for the birth date; 19 passes; 64 against "< 65" passes.
    """

    kind: Literal["age"] = "age"
    min: float | None = Field(default=None, ge=0, le=MAX_AGE_YEARS)
    max: float | None = Field(default=None, ge=0, le=MAX_AGE_YEARS)
    min_inclusive: bool = True
    max_inclusive: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> AgeRule:
        if self.min is None and self.max is None:
            raise ValueError("an age rule needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min age {self.min:g} is above max age {self.max:g}")
        return self


class SexRule(_RuleBase):
    kind: Literal["sex"] = "sex"
    allowed: list[Sex] = Field(min_length=1)


class PerformanceRule(_RuleBase):
    """ECOG (0-5) or Karnofsky (0-100) performance status: an allowed set and/or bounds."""

    kind: Literal["performance"] = "performance"
    scale: Literal["ecog", "karnofsky"]
    allowed: list[int] | None = None
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _check(self) -> PerformanceRule:
        top = 5 if self.scale == "ecog" else 100
        if self.allowed is None and self.min is None and self.max is None:
            raise ValueError("a performance rule needs allowed, min or max")
        for v in [*(self.allowed or []), self.min, self.max]:
            if v is not None and not 0 <= v <= top:
                raise ValueError(f"{self.scale} value {v} is outside 0-{top}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class ChildPughRule(_RuleBase):
    """Child-Pugh class set and/or score bounds (5-15), e.g. class A only, or A5-B7."""

    kind: Literal["child_pugh"] = "child_pugh"
    classes: list[ChildPughClass] | None = None
    min_score: int | None = Field(default=None, ge=5, le=15)
    max_score: int | None = Field(default=None, ge=5, le=15)

    @model_validator(mode="after")
    def _check(self) -> ChildPughRule:
        if self.classes is None and self.min_score is None and self.max_score is None:
            raise ValueError("a child_pugh rule needs classes, min_score or max_score")
        if (
            self.min_score is not None
            and self.max_score is not None
            and self.min_score > self.max_score
        ):
            raise ValueError(f"min_score {self.min_score} is above max_score {self.max_score}")
        return self


class LabRule(_RuleBase):
    """A lab bound: an absolute value with unit, or a multiple of the patient's ULN/LLN.

    ``analyte`` is a vocabulary id or any synonym that resolves to one. "Within N x the normal
    range" is written as ``all`` of a ``<= N x ULN`` and a ``>= LLN / N`` lab rule, so a reviewer
    sees both bounds.
    """

    kind: Literal["lab"] = "lab"
    analyte: str = Field(min_length=1)
    comparator: Comparator
    value: float | None = None
    unit: str | None = None
    multiple: float | None = Field(default=None, gt=0)
    of: Limit | None = None
    # Only results dated in [as-of - within, as-of] count (the global lab age limit still
    # applies: the stricter wins); ``before`` keeps what the text counts back from
    # ("randomization"), which is read against the as-of (screening) date and said so.
    within: Window | None = None
    before: WindowAnchor | None = None

    @field_validator("value")
    @classmethod
    def _sign(cls, v: float | None, info: ValidationInfo) -> float | None:
        return _not_below_zero(v, info.data.get("analyte"))

    @model_validator(mode="after")
    def _check(self) -> LabRule:
        absolute = self.value is not None
        relative = self.multiple is not None or self.of is not None
        if absolute == relative:
            raise ValueError("a lab rule needs either value (+ unit) or multiple + of (ULN/LLN)")
        if relative and (self.multiple is None or self.of is None):
            raise ValueError("a relative lab rule needs both multiple and of")
        if relative and self.unit is not None:
            raise ValueError("a lab rule relative to ULN/LLN takes no unit")
        _window_anchored(self.within, self.before)
        return self


def _window_anchored(within: Window | None, before: str | None) -> None:
    if before is not None and within is None:
        raise ValueError("'before' names what a window counts back from: it needs 'within'")


def _not_below_zero(value: float | None, name: object) -> float | None:
    """Every vocabulary analyte is a non-negative quantity (as profiles are checked): a
    negative bound is met by every result or by none, so it is a typo, not a criterion."""
    if value is not None and value < 0 and isinstance(name, str):
        a = vocab.analyte(name)
        if a is not None:
            raise ValueError(f"a bound on {a.name} cannot be negative")
    return value


class _NumericBound(_RuleBase):
    name: str = Field(min_length=1)
    comparator: Comparator
    value: float
    unit: str | None = None
    within: Window | None = None  # as for ``LabRule``
    before: WindowAnchor | None = None

    @model_validator(mode="after")
    def _anchored(self) -> _NumericBound:
        _window_anchored(self.within, self.before)
        return self

    @field_validator("value")
    @classmethod
    def _sign(cls, v: float, info: ValidationInfo) -> float | None:
        return _not_below_zero(v, info.data.get("name"))


class VitalRule(_NumericBound):
    """A vital sign bound, e.g. systolic blood pressure >= 140 mmHg."""

    kind: Literal["vital"] = "vital"


class MeasureRule(_NumericBound):
    """Another numeric fact, measured or derived (creatinine clearance, LVEF, QTc, BMI)."""

    kind: Literal["measure"] = "measure"


class ConditionRule(_RuleBase):
    """A diagnosis or history is present (optionally active, optionally recent; ``history:
    review`` when the words do not say whether a resolved one counts).

    ``if_absent`` says what it means when the profile does not list the condition: ``absent``
    (the profile's problem list is taken as complete, the default) or ``unknown``.
    """

    kind: Literal["condition"] = "condition"
    condition: str = Field(min_length=1)
    active: bool | None = None
    # ``review``: the words say neither "active/current" nor "history of" ("No angina",
    # "Evidence of CNS metastases"), so an entry recorded as resolved may or may not count: a
    # person decides. Unset: a resolved entry counts (a history).
    history: Literal["review"] | None = None
    within: Window | None = None
    # ``True``: the words date the diagnosis ("diagnosed within 3 years"), so an entry counts in
    # the window by its onset, as an event does, whatever the concept's nature.
    onset: bool | None = None
    except_: list[str] = Field(default_factory=list, alias="except")
    if_absent: IfAbsent | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TherapyRule(_RuleBase):
    """Prior exposure to an agent or drug class, optionally within a window before as-of."""

    kind: Literal["therapy"] = "therapy"
    agents: list[str] = Field(min_length=1)
    within: Window | None = None
    if_absent: IfAbsent | None = None


MAX_LIFE_EXPECTANCY_YEARS = 150
"""The longest life expectancy a rule bound or a profile estimate may state."""


class LifeExpectancyRule(_RuleBase):
    """A bound on the recorded life expectancy estimate ("≥ 12 weeks", "< 3 months").

    The investigator's estimate is a recorded fact like a lab result: "in the opinion of the
    investigator" is how it is made, not a judgement left to the reviewer. A range is written as
    ``all`` of two rules. How the estimate is compared (its age, weeks against months) is the
    evaluator's (``evaluate.life_expectancy_truth``).
    """

    kind: Literal["life_expectancy"] = "life_expectancy"
    comparator: Comparator
    value: float = Field(gt=0)
    unit: TimeUnit

    @model_validator(mode="after")
    def _plausible(self) -> LifeExpectancyRule:
        if self.value * UNIT_DAYS[self.unit] > MAX_LIFE_EXPECTANCY_YEARS * 365.25:
            raise ValueError(
                f"a life expectancy of {self.value:g} {self.unit} is longer than "
                f"{MAX_LIFE_EXPECTANCY_YEARS} years"
            )
        return self


class PregnancyRule(_RuleBase):
    kind: Literal["pregnancy"] = "pregnancy"


class BreastfeedingRule(_RuleBase):
    kind: Literal["breastfeeding"] = "breastfeeding"


class ManualRule(_RuleBase):
    """Not computable: consent, investigator judgement, or text outside the grammar.

    ``evidence`` is a computable piece the text contains but that cannot decide the criterion
    alone (a modifier it did not read reaches it: "MI, stroke or other events within 6 months").
    It is evaluated and shown to the reviewer, never used as a verdict: the status stays review.
    """

    kind: Literal["manual"] = "manual"
    reason: str = Field(min_length=1)
    evidence: Rule | None = None
    # Inside all/any: the composition law under which the computable siblings may decide
    # without this part (separate | qualifier | allowance; see eligibility.compose).
    law: Literal["separate", "qualifier", "allowance"] | None = None


class AllRule(_RuleBase):
    kind: Literal["all"] = "all"
    rules: list[Rule] = Field(min_length=1)


class AnyRule(_RuleBase):
    kind: Literal["any"] = "any"
    rules: list[Rule] = Field(min_length=1)


class NotRule(_RuleBase):
    kind: Literal["not"] = "not"
    rule: Rule


Rule = Annotated[
    AgeRule
    | SexRule
    | PerformanceRule
    | ChildPughRule
    | LabRule
    | VitalRule
    | MeasureRule
    | ConditionRule
    | TherapyRule
    | PregnancyRule
    | BreastfeedingRule
    | LifeExpectancyRule
    | ManualRule
    | AllRule
    | AnyRule
    | NotRule,
    Field(discriminator="kind"),
]

for _composite in (ManualRule, AllRule, AnyRule, NotRule):
    _composite.model_rebuild()


class Span(_Strict):
    """Character offsets [start, end) of the criterion's text in the source record."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _order(self) -> Span:
        if self.end < self.start:
            raise ValueError(f"span end {self.end} is before start {self.start}")
        return self


class Criterion(_Strict):
    """One criterion of the source: its verbatim text and span, and the rule that checks it.

    ``context`` is the lead-in of a sub-list item ("organ function as follows:"); ``note`` is for
    the reviewer (what was not understood, how the rule was reconciled).
    """

    id: str = Field(min_length=1)
    section: Section
    text: str
    span: Span | None = None
    context: str | None = None
    rule: Rule
    note: str | None = None


class Trial(_Strict):
    id: str = Field(min_length=1)
    title: str | None = None
    source: str | None = None


class RuleSet(_Strict):
    """One trial's criteria, as stored in ``rules/NCT….yaml``."""

    schema_version: Literal[1] = SCHEMA_VERSION
    trial: Trial
    criteria: list[Criterion]

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleSet:
        seen: set[str] = set()
        for c in self.criteria:
            if c.id in seen:
                raise ValueError(f"criterion id {c.id!r} is used twice")
            seen.add(c.id)
        return self


def iter_rules(rule: Rule):
    """Yield a rule and all rules nested in it, depth first."""
    yield rule
    if isinstance(rule, AllRule | AnyRule):
        for child in rule.rules:
            yield from iter_rules(child)
    elif isinstance(rule, NotRule):
        yield from iter_rules(rule.rule)
