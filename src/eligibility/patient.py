"""Patient profiles (JSON): what the evaluator knows about one person, validated on load.

Unknown fields are errors, not silently dropped: a misspelt ``"ecgo"`` must not read as "ECOG
unknown". Dates are ISO dates. Names of tests, conditions and drugs are kept as written and
resolved against the vocabulary by the evaluator, so a profile keeps the chart's own words.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _finite(v: float | None) -> float | None:
    if v is not None and not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


class Lab(_Strict):
    """One result; ``ref_low``/``ref_high`` are the lab's own normal range (LLN/ULN)."""

    test: str = Field(min_length=1)
    value: float
    unit: str | None = None
    ref_low: float | None = None
    ref_high: float | None = None
    date: dt.date | None = None

    _finite_value = field_validator("value", "ref_low", "ref_high")(_finite)

    @model_validator(mode="after")
    def _range(self) -> Lab:
        if self.ref_low is not None and self.ref_high is not None and self.ref_low > self.ref_high:
            raise ValueError(f"ref_low {self.ref_low:g} is above ref_high {self.ref_high:g}")
        return self


class Vital(_Strict):
    name: str = Field(min_length=1)
    value: float
    unit: str | None = None
    date: dt.date | None = None

    _finite_value = field_validator("value")(_finite)


class ConditionEntry(_Strict):
    """A diagnosis by ``name`` or ``code`` (ICD-10), with its status and dates."""

    name: str | None = None
    code: str | None = None
    status: Literal["active", "resolved"] = "active"
    onset: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _check(self) -> ConditionEntry:
        if not (self.name or self.code):
            raise ValueError("a condition needs a name or a code")
        if self.onset and self.end and self.end < self.onset:
            raise ValueError(f"end {self.end} is before onset {self.onset}")
        return self


class Treatment(_Strict):
    name: str = Field(min_length=1)
    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _check(self) -> Treatment:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class ChildPugh(_Strict):
    class_: Literal["A", "B", "C"] | None = Field(default=None, alias="class")
    score: int | None = Field(default=None, ge=5, le=15)

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


class Review(_Strict):
    """A coordinator's decision on a criterion that needs review, recorded in the profile.

    It answers only the ``manual`` parts of that criterion; computable parts are still checked
    against the data, so a review cannot hide a failing lab.
    """

    trial: str = Field(min_length=1)
    criterion: str = Field(min_length=1)
    status: Literal["pass", "fail"]
    by: str | None = None
    date: dt.date | None = None
    note: str | None = None


class Patient(_Strict):
    id: str = Field(min_length=1)
    sex: Literal["female", "male"] | None = None
    birth_date: dt.date | None = None
    age: float | None = Field(default=None, ge=0, le=130)
    screening_date: dt.date | None = None
    ecog: int | None = Field(default=None, ge=0, le=5)
    karnofsky: int | None = Field(default=None, ge=0, le=100)
    child_pugh: ChildPugh | None = None
    labs: list[Lab] = Field(default_factory=list)
    vitals: list[Vital] = Field(default_factory=list)
    conditions: list[ConditionEntry] = Field(default_factory=list)
    treatments: list[Treatment] = Field(default_factory=list)
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    # Child-Pugh inputs that are not lab values, used when ``child_pugh`` itself is not given.
    ascites: Literal["none", "mild", "moderate-severe"] | None = None
    encephalopathy: Literal["none", "grade 1-2", "grade 3-4"] | None = None
    reviews: list[Review] = Field(default_factory=list)

    @field_validator("child_pugh", mode="before")
    @classmethod
    def _child_pugh_letter(cls, v: object) -> object:
        """Accept the common shorthand ``"A"`` as well as ``{"class": "A", "score": 5}``."""
        return {"class": v.strip().upper()} if isinstance(v, str) else v

    @field_validator("karnofsky")
    @classmethod
    def _karnofsky_step(cls, v: int | None) -> int | None:
        if v is not None and v % 10:
            raise ValueError("Karnofsky is given in steps of 10")
        return v
