"""The one evaluator against its golden table, a reference model and its renderer.

Statuses of every example patient × seed trial × as-of date × option are pinned in
``tests/golden/screen_examples.json`` (regenerate it with ``ELIGIBILITY_UPDATE_GOLDEN=1`` when a
change of semantics is meant, and review the diff). On generated profiles (hypothesis): the
compiled composites (which short-circuit) agree with a plain Kleene evaluation over every
sub-rule; the rendered reasons carry the evaluator's truth at every node and never fail; the
truth-only path (CSV) and the rendered path give the same statuses; a trial that has screened
other patients (memo tables, unit caches) gives the statuses of a freshly compiled one.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from eligibility import Patient, load_patient
from eligibility.batch import Trial, compile_file
from eligibility.evaluate import (
    FALSE,
    REVIEW,
    TRUE,
    UNKNOWN,
    CompiledTrial,
    Node,
    Options,
    build_facts,
    compile_rules,
    statuses,
)
from eligibility.facts import Facts
from eligibility.model import AllRule, AnyRule, NotRule
from eligibility.patient import Lab
from eligibility.reasons import TRUTHS, evaluate, explain

ROOT = Path(__file__).resolve().parent.parent
TRIALS = [compile_file(p) for p in sorted((ROOT / "rules").glob("*.yaml"))]
EXAMPLES = sorted((ROOT / "examples" / "patients").glob("*.json"))
OPTIONS = [
    Options(),  # results up to 90 days old decide
    Options(if_absent="unknown"),
    Options(max_lab_age_days=10),
    Options(max_lab_age_days=None),  # any age
]
OPTION_NAMES = ["absent", "unknown", "max-lab-age-10", "any-age"]
GOLDEN = Path(__file__).parent / "golden" / "screen_examples.json"


def kleene(node: Node, facts: Facts) -> int:
    """Reference truth: every sub-rule evaluated, no short-circuit, Kleene's tables."""
    if isinstance(node.rule, NotRule):
        return (TRUE, FALSE, UNKNOWN, REVIEW)[kleene(node.children[0], facts)]
    if isinstance(node.rule, AllRule | AnyRule):
        truths = {kleene(k, facts) for k in node.children}
        decisive, other = (FALSE, TRUE) if isinstance(node.rule, AllRule) else (TRUE, FALSE)
        if decisive in truths:
            return decisive
        if truths == {other}:
            return other
        first, second = (UNKNOWN, REVIEW) if isinstance(node.rule, AllRule) else (REVIEW, UNKNOWN)
        return first if first in truths else second
    return node.check(facts)[0]


def joined_reference(node: Node, facts: Facts) -> str:
    """A composite's reason with every child rendered, then the decisive ones kept (the
    renderer renders only those): the same text either way."""
    outs = [explain(k, facts) for k in node.children]
    truth = TRUTHS[node.check(facts)[0]]
    decisive = TRUTHS[FALSE] if isinstance(node.rule, AllRule) else TRUTHS[TRUE]
    if truth is decisive:
        outs = [o for o in outs if o.truth is decisive]
    return "; ".join(dict.fromkeys(o.reason for o in outs))


def walk(node: Node):  # type: ignore[no-untyped-def]
    yield node
    for k in node.children:
        yield from walk(k)


def consistent(compiled: CompiledTrial, patient: Patient, as_of: date, options: Options) -> None:
    """Truth-only and rendered statuses agree; every node's rendered truth is its checked one;
    composites equal the reference; an unknown criterion names the data to collect."""
    facts = build_facts(patient, as_of, options)
    found = statuses(compiled, facts)
    detailed = evaluate(compiled, facts)
    assert found == [c.status for c in detailed.criteria], (patient.id, compiled.trial_id)
    for c, result in zip(compiled.criteria, detailed.criteria, strict=True):
        assert c.statuses[kleene(c.node, facts)] == result.status, (c.id, result.reason)
        for node in walk(c.node):
            truth = node.check(facts)[0]
            shown = explain(node, facts)
            assert shown.truth is TRUTHS[truth], (c.id, node.rule)
            if isinstance(node.rule, AllRule | AnyRule):
                assert shown.reason == joined_reference(node, facts), (c.id, node.rule)
        assert result.reason
        if result.status == "unknown":
            assert result.missing, (c.id, result.reason)
    json.dumps(detailed.to_dict())


def fresh(trial: Trial, patient: Patient, as_of: date, options: Options) -> None:
    """A trial compiled now (empty memo tables and unit caches) gives the shared one's statuses."""
    facts = build_facts(patient, as_of, options)
    assert statuses(compile_rules(trial.rules), facts) == statuses(trial.compiled, facts)


def both(trial: Trial, patient: Patient, as_of: date, options: Options) -> None:
    consistent(trial.compiled, patient, as_of, options)
    fresh(trial, patient, as_of, options)


def _golden() -> dict[str, str]:
    out = {}
    for path in EXAMPLES:
        patient = load_patient(path)
        for trial in TRIALS:
            for as_of in (date(2024, 3, 1), date(2020, 1, 1), date(2030, 6, 30)):
                for name, options in zip(OPTION_NAMES, OPTIONS, strict=True):
                    facts = build_facts(patient, as_of, options)
                    found = statuses(trial.compiled, facts)
                    key = f"{path.stem} {trial.trial_id} {as_of} {name}"
                    out[key] = "".join(s[0] for s in found)
    return out


def test_example_statuses_match_the_golden_table() -> None:
    found = _golden()
    if os.environ.get("ELIGIBILITY_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(found, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = {k: (expected.get(k), v) for k, v in found.items() if expected.get(k) != v}
    assert not changed, changed
    assert set(expected) == set(found)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("options", OPTIONS, ids=OPTION_NAMES)
def test_examples_are_consistent(path: Path, options: Options) -> None:
    patient = load_patient(path)
    for trial in TRIALS:
        for as_of in (date(2024, 3, 1), date(2020, 1, 1), date(2030, 6, 30)):
            both(trial, patient, as_of, options)


# --- generated profiles ---------------------------------------------------------------------

LAB_NAMES = [
    "ANC",
    "neutrophils",
    "platelets",
    "PLT",
    "hemoglobin",
    "Hb",
    "albumin",
    "INR",
    "T3",
    "T4",
    "total bilirubin",
    "TBIL",
    "ALT",
    "SGPT",
    "AST",
    "creatinine",
    "creatinine clearance",
    "CA19-9",
    "HBV DNA",
    "1742-6",
    "weight",
    "body weight",
    "mystery test",
]
UNITS = [
    None,
    "1",
    "10^9/L",
    "10^3/uL",
    "/mm3",
    "g/dL",
    "g/L",
    "mg/dL",
    "umol/L",
    "µmol/L",
    "U/L",
    "U/mL",
    "mL/min",
    "nmol/L",
    "copies/mL",
    "IU/mL",
    "kg",
    "lb",
    "log10 IU/mL",
    "G/L",
    "furlongs",
]
CONDITIONS = [
    "hepatocellular carcinoma",
    "intrahepatic cholangiocarcinoma",
    "HIV infection",
    "hypertension",
    "tuberculosis",
    "psoriasis",
    "hypothyroidism",
    "lupus",
    "interstitial lung disease",
    "pneumonitis",
    "ascites",
    "skin cancer",
    "cancer",
    "gilbert syndrome",
    "hepatitis B",
    "C22.0",
    "B18.0",
    "B18.1",
    "C78.7",
    "C22.1",
    "B20",
    "made-up disease",
]
DRUGS = [
    "nivolumab",
    "Keytruda",
    "toripalimab",
    "atezolizumab",
    "ipilimumab",
    "lenvatinib",
    "prednisone",
    "tacrolimus",
    "gemcitabine",
    "aspirin",
]
CRITERIA = [(t.trial_id, c) for t in TRIALS for c in t.compiled.ids]

dates = st.dates(min_value=date(2015, 1, 1), max_value=date(2025, 12, 31))
opt_dates = st.none() | dates
numbers = st.floats(min_value=0, max_value=500, allow_nan=False) | st.sampled_from(
    [0.5, 1.2, 1.5, 3.5, 9, 37, 60, 90, 120, 140, 10000]
)


@st.composite
def labs(draw: st.DrawFn, when: st.SearchStrategy[date | None] = opt_dates) -> dict:
    lo = draw(st.none() | st.floats(min_value=0, max_value=50))
    hi = draw(st.none() | st.floats(min_value=0.1, max_value=200))
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return {
        "test": draw(st.sampled_from(LAB_NAMES)),
        "value": draw(numbers),
        "unit": draw(st.sampled_from(UNITS)),
        "ref_low": lo,
        "ref_high": hi,
        "date": draw(when.map(lambda d: d and d.isoformat())),
    }


@st.composite
def conditions(
    draw: st.DrawFn,
    names: list[str] = CONDITIONS,
    onsets: st.SearchStrategy[date | None] = opt_dates,
    ends: st.SearchStrategy[date | None] = opt_dates,
) -> dict:
    onset, end = draw(onsets), draw(ends)
    if onset and end and end < onset:
        onset, end = end, onset
    name = draw(st.sampled_from(names))
    key = "code" if name[:1].isupper() and name[1:3].isdigit() else "name"
    return {
        key: name,
        "status": draw(st.sampled_from(["active", "resolved"])),
        "onset": onset and onset.isoformat(),
        "end": end and end.isoformat(),
    }


@st.composite
def treatments(draw: st.DrawFn) -> dict:
    start, end = draw(opt_dates), draw(opt_dates)
    if start and end and end < start:
        start, end = end, start
    return {
        "name": draw(st.sampled_from(DRUGS)),
        "start": start and start.isoformat(),
        "end": end and end.isoformat(),
    }


@st.composite
def profiles(draw: st.DrawFn, when: st.SearchStrategy[date | None] = opt_dates) -> dict:
    birth = draw(st.none() | st.dates(min_value=date(1930, 1, 1), max_value=date(2015, 1, 1)))
    reviews = [
        {"trial": t, "criterion": c, "status": draw(st.sampled_from(["pass", "fail"]))}
        # not unique: two reviews of one criterion may disagree (then neither decides)
        for t, c in draw(st.lists(st.sampled_from(CRITERIA), max_size=12))
    ]
    return {
        "id": "H",
        "sex": draw(st.sampled_from([None, "female", "male"])),
        "birth_date": birth and birth.isoformat(),
        # with a birth date too, an age checked against it only at the as-of date
        "age": draw(st.none() | st.floats(min_value=0, max_value=100)),
        "ecog": draw(st.none() | st.integers(0, 5)),
        "karnofsky": draw(st.none() | st.integers(0, 10).map(lambda k: 10 * k)),
        "ascites": draw(st.sampled_from([None, "none", "mild", "moderate-severe"])),
        "encephalopathy": draw(st.sampled_from([None, "none", "grade 1-2", "grade 3-4"])),
        "child_pugh": draw(
            st.none()
            | st.sampled_from(["A", "B", "C"])
            | st.integers(5, 15).map(lambda s: {"score": s})
        ),
        "labs": draw(st.lists(labs(when), max_size=12)),
        "vitals": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "name": st.sampled_from(
                            ["systolic blood pressure", "diastolic blood pressure"]
                        ),
                        "value": st.floats(min_value=40, max_value=220),
                        "unit": st.just("mmHg"),
                        "date": when.map(lambda d: d and d.isoformat()),
                    }
                ),
                max_size=3,
            )
        ),
        # None: no such list in the profile (not recorded, unlike [])
        "conditions": draw(st.none() | st.lists(conditions(), max_size=4)),
        "treatments": draw(st.none() | st.lists(treatments(), max_size=3)),
        "pregnant": draw(st.sampled_from([None, True, False])),
        "breastfeeding": draw(st.sampled_from([None, True, False])),
        "reviews": reviews,
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=profiles(), as_of=dates, options=st.sampled_from(OPTIONS))
def test_generated_profiles_are_consistent(profile: dict, as_of: date, options: Options) -> None:
    try:
        patient = Patient.model_validate(profile)
    except ValidationError:
        return  # an impossible profile is the loader's business, not the evaluator's
    for trial in TRIALS:
        both(trial, patient, as_of, options)
        both(trial, patient, as_of + timedelta(days=400), options)


# A few dates only, so that several results of one test often share the newest date.
few_dates = st.sampled_from([None, date(2023, 11, 5), date(2024, 2, 20)])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=profiles(few_dates), options=st.sampled_from(OPTIONS))
def test_same_date_results_are_consistent(profile: dict, options: Options) -> None:
    try:
        patient = Patient.model_validate(profile)
    except ValidationError:
        return
    for trial in TRIALS:
        both(trial, patient, date(2024, 3, 1), options)
        both(trial, patient, date(2023, 12, 1), options)


@pytest.mark.parametrize(
    ("alts", "status"),
    [
        ((35, 130), "unknown"),  # one passes ≤ 3 × ULN, one fails: which counts is not guessed
        ((130, 35), "unknown"),  # in either order
        ((35, 40), "pass"),
        ((130, 165), "fail"),
    ],
)
def test_same_date_alt_results_on_a_seed_trial(alts: tuple[float, float], status: str) -> None:
    patient = load_patient(ROOT / "examples" / "patients" / "p10_eligible_icc.json")
    labs = [lab for lab in patient.labs if lab.test.upper() not in {"ALT", "SGPT"}]
    day = date(2024, 2, 28)
    labs += [Lab(test="ALT", value=v, unit="U/L", ref_low=7, ref_high=40, date=day) for v in alts]
    patient = patient.model_copy(update={"labs": labs})
    [trial] = [t for t in TRIALS if t.trial_id == "NCT04669496"]
    detailed = evaluate(trial.compiled, build_facts(patient, date(2024, 3, 1), Options()))
    [alt_ast] = [c for c in detailed.criteria if c.id == "I6.4b"]
    assert alt_ast.status == status, alt_ast.reason
    both(trial, patient, date(2024, 3, 1), Options())


# --- exact-age bounds, events in windows and assisted review ------------------------------

_MI6 = {
    "kind": "condition",
    "condition": "myocardial_infarction",
    "within": {"amount": 6, "unit": "months"},
}
_STROKE3 = {"kind": "condition", "condition": "stroke", "within": {"amount": 3, "unit": "months"}}
_OVER_18 = {"kind": "age", "min": 18, "min_inclusive": False}
NEW_SHAPES = {
    "trial": {"id": "TNEW"},
    "criteria": [
        {"id": "I1", "section": "inclusion", "text": "t", "rule": _OVER_18},
        {
            "id": "I2",
            "section": "inclusion",
            "text": "t",
            "rule": {
                "kind": "age",
                "min": 18,
                "max": 65,
                "min_inclusive": False,
                "max_inclusive": False,
            },
        },
        {
            "id": "I3",
            "section": "inclusion",
            "text": "t",
            "rule": {"kind": "age", "min": 18, "max": 65, "max_inclusive": False},
        },
        {
            "id": "I4",
            "section": "inclusion",
            "text": "t",
            "rule": {
                "kind": "age",
                "min": 18.5,
                "max": 64.25,
                "min_inclusive": False,
                "max_inclusive": False,
            },
        },
        {
            "id": "I5",
            "section": "inclusion",
            "text": "t",
            "rule": {"kind": "manual", "reason": "r", "evidence": _OVER_18},
        },
        {
            "id": "I6",
            "section": "inclusion",
            "text": "t",
            "rule": {
                "kind": "all",
                "rules": [_OVER_18, {"kind": "manual", "reason": "r", "evidence": _MI6}],
            },
        },
        {"id": "E1", "section": "exclusion", "text": "t", "rule": _MI6},
        {"id": "E2", "section": "exclusion", "text": "t", "rule": _STROKE3},
        {
            "id": "E3",
            "section": "exclusion",
            "text": "t",
            "rule": {
                "kind": "condition",
                "condition": "cerebrovascular_disease",
                "within": {"amount": 6, "unit": "months"},
            },
        },
        {
            "id": "E4",
            "section": "exclusion",
            "text": "t",
            "rule": {"kind": "condition", "condition": "myocardial_infarction"},
        },
        {
            "id": "E5",
            "section": "exclusion",
            "text": "t",
            "rule": {
                "kind": "condition",
                "condition": "tuberculosis",
                "within": {"amount": 1, "unit": "years"},
            },
        },
        {
            "id": "E6",
            "section": "exclusion",
            "text": "t",
            "rule": {
                "kind": "condition",
                "condition": "myocardial_infarction",
                "active": True,
                "within": {"amount": 6, "unit": "months"},
            },
        },
        {
            "id": "E7",
            "section": "exclusion",
            "text": "t",
            "rule": {"kind": "manual", "reason": "r", "evidence": _MI6},
        },
        {
            "id": "E8",
            "section": "exclusion",
            "text": "t",
            "rule": {
                "kind": "any",
                "rules": [_MI6, {"kind": "manual", "reason": "r", "evidence": _STROKE3}],
            },
        },
    ],
}
EVENT_CONDITIONS = [
    "MI",
    "heart attack",
    "I21.9",
    "I25.2",
    "stroke",
    "CVA",
    "TIA",
    "tuberculosis",
    "cerebrovascular disease",
    "made-up disease",
]
near = st.dates(min_value=date(2023, 1, 1), max_value=date(2024, 3, 1))


def event_entries() -> st.SearchStrategy[dict]:
    return conditions(EVENT_CONDITIONS, st.none() | near | dates, st.none() | near)


@st.composite
def near_birthdays(draw: st.DrawFn, as_of: date) -> date:
    """A birth date a few days either side of an 18th, 19th, 64th or 65th birthday (or 29 Feb)."""
    if draw(st.booleans()):
        return draw(st.sampled_from([date(1960, 2, 29), date(2004, 2, 29), date(2008, 2, 29)]))
    years = draw(st.sampled_from([17, 18, 19, 64, 65, 66]))
    try:
        day = as_of.replace(year=as_of.year - years)
    except ValueError:
        day = date(as_of.year - years, 3, 1)
    return day + timedelta(days=draw(st.integers(-3, 3)))


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_new_rule_shapes_are_consistent(events_vocab, data: st.DataObject) -> None:
    from eligibility.model import RuleSet

    rules = RuleSet.model_validate(NEW_SHAPES)
    compiled = compile_rules(rules)
    as_of = data.draw(
        st.sampled_from([date(2024, 3, 1), date(2026, 3, 1), date(2028, 2, 29)]) | near
    )
    age_kind = data.draw(st.sampled_from(["birth", "age", "none"]))
    profile: dict = {"id": "N", "conditions": data.draw(st.lists(event_entries(), max_size=3))}
    if age_kind == "birth":
        profile["birth_date"] = data.draw(near_birthdays(as_of)).isoformat()
    elif age_kind == "age":
        profile["age"] = data.draw(st.sampled_from([17, 18, 18.5, 19, 63, 64, 64.9, 65, 66]))
    profile["reviews"] = [
        {"trial": "TNEW", "criterion": c, "status": data.draw(st.sampled_from(["pass", "fail"]))}
        for c in data.draw(st.lists(st.sampled_from(["I5", "I6", "E7", "E8"]), unique=True))
    ]
    patient = Patient.model_validate(profile)
    options = data.draw(st.sampled_from(OPTIONS))
    consistent(compiled, patient, as_of, options)
    detailed = evaluate(compiled, build_facts(patient, as_of, options))
    for c in detailed.criteria:
        if c.id in {"I5", "E7"} and c.status == "review":
            assert c.assisted and c.reason.startswith("needs review: r; evidence: ")
