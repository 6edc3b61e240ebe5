"""The fast reader of clean profiles: ``patient.py``'s models as msgspec structs, read in C.

A cohort run reads each profile once, and the reference path (strict ``json.loads`` with hooks,
then pydantic with a Python validator per lab) costs several times the screening itself. This
reader decodes JSON text straight into structs with the same fields, types and bounds
(``Meta``), and checks what the models check in Python in one ``__post_init__`` a struct.

It accepts a subset of what the reference accepts and never anything else: whatever it is not
sure of — a problem of any kind, a negative value (an error only for a recognised analyte), a
duplicate key, deep nesting, a character or an escape the loaders refuse — gives
``None``, and the caller reads that line by the reference path, which yields the same profile
or the exact error line (``tests/test_fast_reader.py`` compares the two on generated profiles,
valid and not). The structs answer the same attribute reads as ``patient.Patient`` (the
evaluator, facts and reasons read only attributes).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

import msgspec

from .derive import age_years
from .limits import EARLIEST_DATE, LATEST_DATE
from .loaders import json_outside_strings, json_suspect
from .model import MAX_LIFE_EXPECTANCY_YEARS, UNIT_DAYS
from .patient import score_class

_NonNeg = Annotated[float, msgspec.Meta(ge=0)]
_Text = Annotated[str, msgspec.Meta(min_length=1)]


class _Bad(ValueError):
    """A check failed: the reference path reads the line and words the error."""


def _plausible(*days: dt.date | None) -> None:
    for d in days:
        if d is not None and not EARLIEST_DATE <= d <= LATEST_DATE:
            raise _Bad


class Lab(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    test: _Text
    value: _NonNeg
    unit: str | None = None
    ref_low: _NonNeg | None = None
    ref_high: _NonNeg | None = None
    date: dt.date | None = None

    def __post_init__(self) -> None:
        lo, hi = self.ref_low, self.ref_high
        if lo is not None and hi is not None and lo > hi:
            raise _Bad
        _plausible(self.date)


class Vital(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: _Text
    value: _NonNeg
    unit: str | None = None
    date: dt.date | None = None

    def __post_init__(self) -> None:
        _plausible(self.date)


class ConditionEntry(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: str | None = None
    code: str | None = None
    status: Literal["active", "resolved"] = "active"
    onset: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if not (self.name or self.code):
            raise _Bad
        _plausible(self.onset, self.end)
        if self.onset and self.end and self.end < self.onset:
            raise _Bad


class Treatment(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: _Text
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        _plausible(self.start, self.end)
        if self.start and self.end and self.end < self.start:
            raise _Bad


class ChildPugh(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    class_: Literal["A", "B", "C"] | None = msgspec.field(default=None, name="class")
    score: Annotated[int, msgspec.Meta(ge=5, le=15)] | None = None

    def __post_init__(self) -> None:
        if self.class_ is None and self.score is None:
            raise _Bad
        if self.class_ and self.score and score_class(self.score) != self.class_:
            raise _Bad

    def resolved_class(self) -> str | None:
        return self.class_ or (score_class(self.score) if self.score else None)


class LifeExpectancy(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    value: Annotated[float, msgspec.Meta(gt=0)]
    unit: Literal["days", "weeks", "months", "years"]
    date: dt.date | None = None

    def __post_init__(self) -> None:
        if self.value * UNIT_DAYS[self.unit] > MAX_LIFE_EXPECTANCY_YEARS * 365.25:
            raise _Bad
        _plausible(self.date)


class Review(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    trial: _Text
    criterion: _Text
    status: Literal["pass", "fail"]
    by: str | None = None
    date: dt.date | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        _plausible(self.date)


class Ignored(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    resource: _Text
    reason: _Text


_CLASS_LETTER = {"A": ChildPugh("A"), "B": ChildPugh("B"), "C": ChildPugh("C")}


class Patient(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``patient.Patient``'s fields; ``child_pugh`` also as the shorthand letter, made a
    ``ChildPugh`` after decoding, as the model's "before" validator does."""

    id: _Text
    sex: Literal["female", "male"] | None = None
    birth_date: dt.date | None = None
    screening_date: dt.date | None = None
    age: Annotated[float, msgspec.Meta(ge=0, le=130)] | None = None
    ecog: Annotated[int, msgspec.Meta(ge=0, le=5)] | None = None
    karnofsky: Annotated[int, msgspec.Meta(ge=0, le=100, multiple_of=10)] | None = None
    child_pugh: ChildPugh | str | None = None
    labs: list[Lab] = []
    vitals: list[Vital] = []
    conditions: list[ConditionEntry] | None = None
    treatments: list[Treatment] | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    life_expectancy: LifeExpectancy | None = None
    ascites: Literal["none", "mild", "moderate-severe"] | None = None
    encephalopathy: Literal["none", "grade 1-2", "grade 3-4"] | None = None
    reviews: list[Review] = []
    ignored: list[Ignored] = []

    def __post_init__(self) -> None:
        cp = self.child_pugh
        if isinstance(cp, str):
            letter = _CLASS_LETTER.get(cp.strip().upper())
            if letter is None:
                raise _Bad
            self.child_pugh = letter
        born, on = self.birth_date, self.screening_date
        _plausible(born, on)
        if born is not None and on is not None and born > on:
            raise _Bad
        age = self.age
        if age is not None and born and on and math.floor(age) != age_years(born, on):
            raise _Bad


_DECODE = msgspec.json.Decoder().decode
_LISTS = ("labs", "vitals", "conditions", "treatments", "reviews")


def read_clean(text: str) -> Patient | None:
    """One clean profile from JSON text, or None when the reference path must read it."""
    if json_suspect(text):
        return None
    try:
        data = _DECODE(text)
        keys = _keys(data)
        p = msgspec.convert(data, Patient)
    except (msgspec.ValidationError, msgspec.DecodeError, TypeError, AttributeError):
        return None
    # A repeated key is kept once (the last) by the decoder: the text then holds more keys,
    # so more colons outside strings, than the decoded objects. Counting every colon is a
    # quick first test; a colon inside a string makes the exact count decide.
    if text.count(":") != keys and json_outside_strings(text).count(":") != keys:
        return None
    return p


def _keys(data: dict) -> int:  # type: ignore[type-arg]
    """The keys of a decoded profile's objects (a repeated key counted once). Objects
    anywhere else cannot convert to the structs, so they need no counting."""
    n = len(data)
    for name in _LISTS:
        items = data.get(name)
        if type(items) is list:
            for x in items:
                if type(x) is dict:
                    n += len(x)
    for name in ("child_pugh", "life_expectancy"):
        obj = data.get(name)
        if type(obj) is dict:
            n += len(obj)
    return n
