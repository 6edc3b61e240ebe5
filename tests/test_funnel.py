"""Funnel counts and attrition on the example patients."""

from __future__ import annotations

from conftest import HCC, HCC_PATIENTS, ICC, ICC_PATIENTS
from eligibility.batch import iter_records, load_trials, screen_records
from eligibility.funnel import build_funnels


def funnel_for(rules, patients):  # type: ignore[no-untyped-def]
    trials, _ = load_trials([rules])
    (funnel,), errors = build_funnels(
        trials, screen_records(trials, iter_records(patients), detail=False)
    )
    assert not errors
    return funnel.to_dict()


def test_hcc_funnel() -> None:
    f = funnel_for(HCC, HCC_PATIENTS)
    assert f["screened"] == 5
    assert f["verdicts"] == {"eligible": 1, "ineligible": 4, "indeterminate": 0}
    steps = {s["id"]: s for s in f["criteria"]}
    for cid in ("age", "I3", "I4", "E1"):
        assert steps[cid]["fail"] == 1, cid
        assert steps[cid]["pass"] == 4, cid
    assert [s["remaining"] for s in f["criteria"]][:7] == [4, 4, 4, 4, 3, 2, 1]
    assert f["criteria"][-1]["remaining"] == 1
    assert all(s["pass"] + s["fail"] + s["unknown"] + s["review"] == 5 for s in f["criteria"])


def test_icc_funnel() -> None:
    f = funnel_for(ICC, ICC_PATIENTS)
    assert f["verdicts"] == {"eligible": 1, "ineligible": 3, "indeterminate": 1}
    steps = {s["id"]: s for s in f["criteria"]}
    assert steps["I6.1b"]["fail"] == 1 and steps["I6.4b"]["fail"] == 1 and steps["E9"]["fail"] == 1
    assert sum(s["unknown"] for s in f["criteria"]) == 5  # P09's missing labs
    remaining = {s["id"]: s["remaining"] for s in f["criteria"]}
    assert remaining["I6.1a"] == 5 and remaining["I6.1b"] == 4
    assert remaining["I6.4b"] == 3 and remaining["E9"] == 2 and remaining["E16"] == 2
