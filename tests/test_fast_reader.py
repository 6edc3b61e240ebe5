"""The fast profile reader (``patient_fast``) against the reference (strict JSON + pydantic).

Property: on any JSON line, the fast reader either declines (``None``) or gives the profile the
reference gives, field by field with the same types; through ``iter_patients`` the two paths
yield the same profiles and the same error lines, and the same statuses and reasons on both
seed trials. Lines are generated near the edges the models check: duplicate keys, spelt-out
nulls and defaults, negative values, inverted ranges, dates out of range, age against birth
date, Child-Pugh shorthand, escapes and colons inside strings, wrong types, unknown fields.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eligibility import patient_fast
from eligibility.batch import compile_file, iter_records, screen_records
from eligibility.errors import InputError
from eligibility.evaluate import Options, build_facts, statuses
from eligibility.loaders import iter_patients, parse_json, patient_from_data
from eligibility.patient import Patient
from eligibility.reasons import evaluate

ROOT = Path(__file__).resolve().parent.parent
TRIALS = [
    compile_file(ROOT / "rules/NCT03859128.yaml"),
    compile_file(ROOT / "rules/NCT04669496.yaml"),
]
AS_OF = date(2024, 3, 1)
sys.path.insert(0, str(ROOT / "bench"))
from screen_cohort import profiles  # noqa: E402


def plain(value: Any) -> Any:
    """A model or a struct as (class name, fields), every scalar with its type."""
    if isinstance(value, msgspec.Struct) or hasattr(type(value), "model_fields"):
        names = (
            value.__struct_fields__
            if isinstance(value, msgspec.Struct)
            else type(value).model_fields
        )
        return (type(value).__name__, {n: plain(getattr(value, n)) for n in names})
    if isinstance(value, list):
        return [plain(v) for v in value]
    return (type(value).__name__, value)


def reference(text: str) -> Any:
    try:
        return patient_from_data(parse_json(text, "f.jsonl", 1), "f.jsonl", "line 1")
    except InputError as exc:
        return exc


# --- generated lines ----------------------------------------------------------------------


def render(value: Any) -> str:
    """JSON text; an object is a list of (key, value) pairs, so a key may repeat."""
    if isinstance(value, Obj):
        return "{" + ", ".join(f"{json.dumps(k)}: {render(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class Obj:
    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


TEXT = st.one_of(
    st.sampled_from(["ALT", "platelets", "HBV DNA", "base excess", "x: y", "µmol/L", "", " a "]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6),
)
NUMBER = st.one_of(
    st.sampled_from([0, -0.0, 1, 5, 7, 10, 40, 130, 131, -1, 2.5, 1e308, 3.0, 15, 16, 100, 105]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(-3, 200),
    st.booleans(),
    st.none(),
    TEXT,
)
DAY = st.one_of(
    st.dates(date(1890, 1, 1), date(2210, 1, 1)).map(date.isoformat),
    st.sampled_from(["2024-02-30", "2024-1-01", "20240101", "2024-01-01T00:00:00", None, 5]),
)
STATUS = st.sampled_from(["active", "resolved", "cured", None])


def obj(fields: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...]) -> Any:
    """An object of some of ``fields`` (the required ones mostly), sometimes a key twice or
    an unknown one."""

    @st.composite
    def build(draw: Any) -> Obj:
        pairs = []
        for name, values in fields.items():
            if (name in required and draw(st.floats(0, 1)) < 0.95) or draw(st.booleans()):
                pairs.append((name, draw(values)))
        extra = draw(st.integers(0, 20))
        if extra == 0 and pairs:
            pairs.append(draw(st.sampled_from(pairs)))  # a repeated key
        elif extra == 1:
            pairs.append(("unknown", 1))
        return Obj(draw(st.permutations(pairs)) if extra == 2 else pairs)

    return build()


LAB = obj(
    {"test": TEXT, "value": NUMBER, "unit": st.one_of(TEXT, st.none()), "ref_low": NUMBER,
     "ref_high": NUMBER, "date": DAY},
    ("test", "value"),
)  # fmt: skip
VITAL = obj({"name": TEXT, "value": NUMBER, "unit": TEXT, "date": DAY}, ("name", "value"))
CONDITION = obj(
    {"name": st.one_of(TEXT, st.none()), "code": st.one_of(TEXT, st.none()), "status": STATUS,
     "onset": DAY, "end": DAY},
    ("name",),
)  # fmt: skip
TREATMENT = obj({"name": TEXT, "start": DAY, "end": DAY}, ("name",))
CHILD_PUGH = st.one_of(
    st.sampled_from(["A", " b ", "c", "D", "", None]),
    obj({"class": st.sampled_from(["A", "B", "C", "a", None]), "score": NUMBER}, ()),
)
LIFE_EXPECTANCY = st.one_of(
    obj(
        {"value": NUMBER, "unit": st.sampled_from(["days", "weeks", "months", "years", "month"]),
         "date": DAY},
        ("value", "unit"),
    ),
    st.sampled_from([6, "6 months", None]),
)  # fmt: skip
REVIEW = obj(
    {"trial": st.sampled_from(["NCT04669496", "NCT03859128", ""]),
     "criterion": st.sampled_from(["I1", "E2", "I5", ""]),
     "status": st.sampled_from(["pass", "fail", "maybe"]), "by": TEXT, "date": DAY,
     "note": TEXT},
    ("trial", "criterion", "status"),
)  # fmt: skip
PROFILE = obj(
    {
        "id": st.one_of(st.sampled_from(["P1", "P2", ""]), TEXT),
        "sex": st.sampled_from(["female", "male", "other", None]),
        "birth_date": DAY,
        "screening_date": DAY,
        "age": NUMBER,
        "ecog": NUMBER,
        "karnofsky": NUMBER,
        "child_pugh": CHILD_PUGH,
        "labs": st.lists(LAB, max_size=4),
        "vitals": st.lists(VITAL, max_size=2),
        "conditions": st.one_of(st.lists(CONDITION, max_size=3), st.none()),
        "treatments": st.one_of(st.lists(TREATMENT, max_size=2), st.none()),
        "pregnant": st.sampled_from([True, False, None, 0, "no"]),
        "breastfeeding": st.sampled_from([True, False, None]),
        "ascites": st.sampled_from(["none", "mild", "moderate-severe", "severe", None]),
        "encephalopathy": st.sampled_from(["none", "grade 1-2", "grade 3-4", None]),
        "life_expectancy": LIFE_EXPECTANCY,
        "reviews": st.lists(REVIEW, max_size=2),
    },
    ("id",),
)
LINES = st.one_of(
    PROFILE.map(render),
    st.integers(0, 500).map(lambda i: json.dumps(_synthetic[i % len(_synthetic)])),
    st.integers(0, 500).map(lambda i: json.dumps(_synthetic[i % len(_synthetic)], indent=1)),
    st.sampled_from(
        ["[]", "null", '"x"', "{", '{"id": "a"} x', '{"id": NaN}', '{"id": "\\u0000"}']
    ),
)
_synthetic = list(profiles(500))


def fuzz(n: int) -> settings:
    return settings(
        max_examples=n,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@fuzz(1000)
@given(LINES)
def test_fast_reader_agrees_with_the_reference(text: str) -> None:
    fast = patient_fast.read_clean(text)
    if fast is None:
        return
    ref = reference(text)
    assert isinstance(ref, Patient), f"fast reader accepted what the reference refuses: {ref}"
    assert plain(fast)[1] == plain(ref)[1]


@fuzz(200)
@given(st.lists(LINES, min_size=1, max_size=6))
def test_both_paths_read_a_file_alike(tmp_path_factory: Any, lines: list[str]) -> None:
    """Same profiles, same error lines, same statuses and reasons on both seed trials."""
    path = tmp_path_factory.mktemp("cohort") / "c.jsonl"
    path.write_text("\n".join(x.replace("\n", " ") for x in lines) + "\n", encoding="utf-8")
    fast, ref = list(iter_patients(path, fast=True)), list(iter_patients(path))
    assert len(fast) == len(ref)
    for a, b in zip(fast, ref, strict=True):
        if isinstance(b, InputError):
            assert isinstance(a, InputError) and str(a) == str(b)
            continue
        assert plain(a)[1] == plain(b)[1]
        fa, fb = build_facts(a, AS_OF, Options()), build_facts(b, AS_OF, Options())  # type: ignore[arg-type]
        for t in TRIALS:
            assert list(statuses(t.compiled, fa)) == list(statuses(t.compiled, fb))
            assert evaluate(t.compiled, fa).to_dict() == evaluate(t.compiled, fb).to_dict()


def test_clean_profiles_take_the_fast_path() -> None:
    """The benchmark's profiles and the bundled cohort are all read by the fast reader."""
    lines = [json.dumps(d) for d in _synthetic]
    lines += (ROOT / "examples/cohort.jsonl").read_text(encoding="utf-8").splitlines()
    assert all(patient_fast.read_clean(x) is not None for x in lines)


@pytest.mark.parametrize(
    "line",
    [
        '{"id": "a", "id": "b"}',
        '{"id": "a", "labs": [{"test": "ALT", "value": 1, "value": 2}]}',
        '{"id": "a", "note": "12:30", "labs": [{"test": "ALT", "value": 1, "value": 2}]}',
        '{"id": "a", "labs": [{"test": "ALT", "value": -1}]}',
        '{"id": "a", "labs": [{"test": "ALT", "value": 1e400}]}',
        '{"id": "a\\u001b"}',
    ],
)
def test_the_fast_reader_declines(line: str) -> None:
    assert patient_fast.read_clean(line) is None


def test_cli_rows_are_the_same_on_both_paths(tmp_path: Path) -> None:
    """A cohort with clean and bad lines: the same rows whichever reader reads it."""
    path = tmp_path / "c.jsonl"
    good = [json.dumps(d) for d in _synthetic[:40]]
    bad = ['{"id": "x", "ecog": 9}', '{"id": "y", "id": "z"}', "{", '{"id": "n", "age": -1}']
    path.write_text("\n".join(good[:20] + bad + good[20:]) + "\n", encoding="utf-8")
    rows = [
        [r.to_dict() for r in screen_records(TRIALS, iter_records([path], fast=fast), as_of=AS_OF)]
        for fast in (True, False)
    ]
    assert rows[0] == rows[1]
    assert sum(r["verdict"] == "error" for r in rows[0]) == len(bad)


@pytest.mark.parametrize(
    "name", ["Patient", "Lab", "Vital", "ConditionEntry", "Treatment", "ChildPugh", "Review"]
)
def test_the_structs_mirror_the_models(name: str) -> None:
    """A field added to a model must be added to its struct too (the reader would decline
    every profile holding it, and the evaluator would miss the attribute)."""
    from eligibility import patient

    model, struct = getattr(patient, name), getattr(patient_fast, name)
    assert list(struct.__struct_fields__) == list(model.model_fields)
