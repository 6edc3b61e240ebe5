"""Patient profiles (JSON): what the evaluator knows about one person, validated on load.

Unknown fields are errors, not silently dropped: a misspelt ``"ecgo"`` must not read as "ECOG
unknown". Dates are ISO dates. Names of tests, conditions and drugs are kept as written and
resolved against the vocabulary by the evaluator, so a profile keeps the chart's own words.

Types are strict where lax coercion would change a fact silently: a number is a JSON number
(``true`` is not 1, ``"85"`` is not 85), a flag is ``true``/``false`` (``"no"`` is not false), a
date is an ISO ``YYYY-MM-DD`` string (``1700000000`` is not a timestamp). Values that cannot be
true are errors (a negative concentration, ECOG 9, an end before its start, a screening date
before birth, a date before 1900 or after 2200, an ``age`` the ``birth_date`` contradicts); values
that are merely extreme (ALT 20000 U/L) are accepted as recorded.

A list that is not in the profile is *not recorded*, not empty: without a ``conditions`` key no
diagnosis is known either way, while ``"conditions": []`` says there are none.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import vocab
from .derive import age_years
from .limits import EARLIEST_DATE, LATEST_DATE
from .model import MAX_LIFE_EXPECTANCY_YEARS, UNIT_DAYS, TimeUnit

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(v: object) -> object:
    """Only ``YYYY-MM-DD`` (or a ``date`` from library callers): no timestamps, no 20240101."""
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v
    if isinstance(v, str) and _ISO_DATE.fullmatch(v):
        return v
    raise ValueError("expected an ISO date YYYY-MM-DD")


def _plausible(v: dt.date) -> dt.date:
    """A date outside 1900-2200 is a typing error (``0001-03-01``), and date arithmetic on it
    would overflow: refused where it is read, with its field path."""
    if not EARLIEST_DATE <= v <= LATEST_DATE:
        raise ValueError(
            f"date {v.isoformat()} is outside the plausible range "
            f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}"
        )
    return v


Number = Annotated[float, Field(strict=True)]
"""A JSON number (an integer is fine); never a string or a boolean."""
Integer = Annotated[int, Field(strict=True)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_plausible)]


class _Strict(BaseModel):
    # Built on first use: a cohort of clean JSONL lines is read by ``patient_fast`` and never
    # needs the validators (building them took ≈ 30 ms of every run's start-up).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


def _finite(v: float | None) -> float | None:
    if v is not None and not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


def _not_negative(v: float | None, info: ValidationInfo) -> float | None:
    """Every analyte in the vocabulary is a count, concentration, activity, ratio, pressure or
    size: a negative value is a data error, not a low result. Unrecognised tests are left alone
    (they are never matched), so a signed quantity such as base excess still loads."""
    name = info.data.get("test") or info.data.get("name")
    if v is not None and v < 0 and isinstance(name, str):
        a = vocab.analyte(name)
        if a is not None:
            what = name if info.field_name == "value" else f"{name} {info.field_name}"
            raise ValueError(f"{what} cannot be negative ({a.name})")
    return v


class Lab(_Strict):
    """One result; ``ref_low``/``ref_high`` are the lab's own normal range (LLN/ULN)."""

    test: str = Field(min_length=1)
    value: Number
    unit: str | None = None
    ref_low: Number | None = None
    ref_high: Number | None = None
    date: IsoDate | None = None

    _finite_value = field_validator("value", "ref_low", "ref_high")(_finite)
    _sign = field_validator("value", "ref_low", "ref_high")(_not_negative)

    @model_validator(mode="after")
    def _range(self) -> Lab:
        if self.ref_low is not None and self.ref_high is not None and self.ref_low > self.ref_high:
            raise ValueError(f"ref_low {self.ref_low:g} is above ref_high {self.ref_high:g}")
        return self


class Vital(_Strict):
    name: str = Field(min_length=1)
    value: Number
    unit: str | None = None
    date: IsoDate | None = None

    _finite_value = field_validator("value")(_finite)
    _sign = field_validator("value")(_not_negative)


class ConditionEntry(_Strict):
    """A diagnosis by ``name`` or ``code`` (ICD-10), with its status and dates."""

    name: str | None = None
    code: str | None = None
    status: Literal["active", "resolved"] = "active"
    onset: IsoDate | None = None
    end: IsoDate | None = None

    @model_validator(mode="after")
    def _check(self) -> ConditionEntry:
        if not (self.name or self.code):
            raise ValueError("a condition needs a name or a code")
        if self.onset and self.end and self.end < self.onset:
            raise ValueError(f"end {self.end} is before onset {self.onset}")
        return self


class Treatment(_Strict):
    name: str = Field(min_length=1)
    start: IsoDate | None = None
    end: IsoDate | None = None

    @model_validator(mode="after")
    def _check(self) -> Treatment:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class ChildPugh(_Strict):
    class_: Literal["A", "B", "C"] | None = Field(default=None, alias="class")
    score: Integer | None = Field(default=None, ge=5, le=15)

    @model_validator(mode="after")
    def _check(self) -> ChildPugh:
        if self.class_ is None and self.score is None:
            raise ValueError("child_pugh needs a class or a score")
        if self.class_ and self.score and score_class(self.score) != self.class_:
            raise ValueError(
                f"score {self.score} is class {score_class(self.score)}, not {self.class_}"
            )
        return self

    def resolved_class(self) -> str | None:
        return self.class_ or (score_class(self.score) if self.score else None)


def score_class(score: int) -> str:
    """Child-Pugh class from score: A 5-6, B 7-9, C 10-15 (Pugh et al., Br J Surg 1973)."""
    return "A" if score <= 6 else "B" if score <= 9 else "C"


class LifeExpectancy(_Strict):
    """The latest life expectancy estimate (the investigator's), and the day it was made: an
    estimate counts from its date (``evaluate.life_expectancy_truth``)."""

    value: Number = Field(gt=0)
    unit: TimeUnit
    date: IsoDate | None = None

    _finite_value = field_validator("value")(_finite)

    @model_validator(mode="after")
    def _check(self) -> LifeExpectancy:
        if self.value * UNIT_DAYS[self.unit] > MAX_LIFE_EXPECTANCY_YEARS * 365.25:
            raise ValueError(
                f"{self.value:g} {self.unit} is longer than {MAX_LIFE_EXPECTANCY_YEARS} years"
            )
        return self


class Review(_Strict):
    """A coordinator's decision on a criterion that needs review, recorded in the profile.

    It answers only the ``manual`` parts of that criterion; computable parts are still checked
    against the data, so a review cannot hide a failing lab.
    """

    trial: str = Field(min_length=1)
    criterion: str = Field(min_length=1)
    status: Literal["pass", "fail"]
    by: str | None = None
    date: IsoDate | None = None
    note: str | None = None


class Ignored(_Strict):
    """Data of the source record that the profile could not hold (FHIR input: an unknown
    code, a status never used), kept with the reason so the screening output lists it."""

    resource: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class Patient(_Strict):
    id: str = Field(min_length=1)
    sex: Literal["female", "male"] | None = None
    birth_date: IsoDate | None = None
    screening_date: IsoDate | None = None
    # after screening_date, so that its validator can compare the two dates (see ``_age``)
    age: Number | None = Field(default=None, ge=0, le=130)
    ecog: Integer | None = Field(default=None, ge=0, le=5)
    karnofsky: Integer | None = Field(default=None, ge=0, le=100)
    child_pugh: ChildPugh | None = None
    labs: list[Lab] = Field(default_factory=list)
    vitals: list[Vital] = Field(default_factory=list)
    # None (the key is absent): not recorded, so nothing is known either way; []: none.
    conditions: list[ConditionEntry] | None = None
    treatments: list[Treatment] | None = None
    pregnant: StrictBool | None = None
    breastfeeding: StrictBool | None = None
    life_expectancy: LifeExpectancy | None = None
    # Child-Pugh inputs that are not lab values, used when ``child_pugh`` itself is not given.
    ascites: Literal["none", "mild", "moderate-severe"] | None = None
    encephalopathy: Literal["none", "grade 1-2", "grade 3-4"] | None = None
    reviews: list[Review] = Field(default_factory=list)
    ignored: list[Ignored] = Field(default_factory=list)

    @field_validator("child_pugh", mode="before")
    @classmethod
    def _child_pugh_letter(cls, v: object) -> object:
        """Accept the common shorthand ``"A"`` as well as ``{"class": "A", "score": 5}``."""
        return {"class": v.strip().upper()} if isinstance(v, str) else v

    @field_validator("screening_date")
    @classmethod
    def _after_birth(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        """A birth date after today is only known at evaluation (it gives ``unknown``); one
        after the profile's own screening date is a contradiction in the file itself."""
        born = info.data.get("birth_date")
        if v is not None and born is not None and born > v:
            raise ValueError(f"is before birth_date {born}")
        return v

    @field_validator("age")
    @classmethod
    def _age(cls, v: float | None, info: ValidationInfo) -> float | None:
        """``age`` is completed years at the screening date: with a birth date and a screening
        date in the same file, one of them is wrong when they disagree, and using either would
        be a guess (as for a Child-Pugh class that its score contradicts)."""
        born, on = info.data.get("birth_date"), info.data.get("screening_date")
        if v is not None and born is not None and on is not None and born <= on:
            years = age_years(born, on)
            if math.floor(v) != years:
                raise ValueError(
                    f"age {v:g} disagrees with birth_date {born} "
                    f"({years} completed years on screening_date {on})"
                )
        return v

    @field_validator("karnofsky")
    @classmethod
    def _karnofsky_step(cls, v: int | None) -> int | None:
        if v is not None and v % 10:
            raise ValueError("Karnofsky is given in steps of 10")
        return v
