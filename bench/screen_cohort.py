"""Cohort screening benchmark: synthetic profiles against both seed trials.

Prints patient×trial screenings per second (statuses only, and with reasons rendered),
peak memory, the ratio against a hand-written plain-Python check of NCT04669496's computable
criteria on the same in-memory profiles, and a streaming run from a JSONL file showing that
memory does not grow with the input. Figures only; no assertions (CI machines are noisy).

    python bench/screen_cohort.py               # 20,000 profiles in memory, 10k/100k streaming
    python bench/screen_cohort.py -n 5000 --stream 0
    python bench/screen_cohort.py -n 0 --stream --cli 0 --stages 5000 --repeats 5   # steps apart
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from eligibility import Patient
from eligibility.batch import compile_file, screen_many
from eligibility.evaluate import Options, build_facts, statuses

ROOT = Path(__file__).resolve().parent.parent
TRIALS = [ROOT / "rules" / "NCT03859128.yaml", ROOT / "rules" / "NCT04669496.yaml"]
AS_OF = date(2024, 3, 1)

# (test name as charted, unit, ref_low, ref_high, typical low, typical high)
LABS: list[tuple[str, str | None, float | None, float | None, float, float]] = [
    ("ANC", "10^9/L", 1.8, 7.7, 0.8, 8.0),
    ("platelets", "10^9/L", 150, 400, 40, 450),
    ("hemoglobin", "g/dL", 12.0, 16.0, 7.5, 17.0),
    ("albumin", "g/dL", 3.5, 5.2, 2.5, 5.2),
    ("INR", None, 0.8, 1.2, 0.8, 1.6),
    ("T3", "nmol/L", 1.2, 3.1, 0.5, 6.5),
    ("T4", "nmol/L", 66, 181, 30, 380),
    ("total bilirubin", "µmol/L", 3, 21, 4, 45),
    ("ALT", "U/L", 7, 40, 10, 170),
    ("AST", "U/L", 8, 40, 10, 170),
    ("creatinine", "µmol/L", 59, 104, 45, 180),
    ("creatinine clearance", "mL/min", None, None, 35, 130),
    ("CA19-9", "U/mL", 0, 37, 5, 400),
    ("HBV DNA", "copies/mL", None, None, 0, 30000),
]
# Other spellings and units a chart uses, to exercise the vocabulary and unit conversion.
ALT_SPELLINGS = {
    "platelets": [("PLT", "10^3/uL", 1.0), ("platelet count", "/mm3", 1000.0)],
    "hemoglobin": [("Hb", "g/L", 10.0)],
    "total bilirubin": [("TBIL", "mg/dL", 1 / 17.1)],
    "ALT": [("SGPT", "U/L", 1.0)],
}
CONDITIONS = [
    ("hepatocellular carcinoma", "C22.0"),
    ("intrahepatic cholangiocarcinoma", "C22.1"),
    ("HIV infection", None),
    ("chronic hepatitis B", None),
    ("hypertension", None),
    ("tuberculosis", None),
    ("psoriasis", None),
    ("rheumatoid arthritis", None),
    ("interstitial lung disease", None),
    ("ascites", None),
    ("portal vein tumor thrombus", None),
]
DRUGS = ["nivolumab", "pembrolizumab", "lenvatinib", "prednisone", "gemcitabine", "sorafenib"]
MANUAL = {
    "NCT03859128": ["I1", "I2", "E1", "E2", "E7"],
    "NCT04669496": ["I1", "I4", "I5", "I7", "I8", "E1", "E2", "E5", "E8", "E11", "E12", "E14"],
}


def synthetic_profile(rng: random.Random, n: int) -> dict[str, Any]:
    """One plausible liver-cancer clinic profile; about a third have a gap or an odd unit."""
    birth = AS_OF - timedelta(days=int(rng.uniform(30, 82) * 365.25))
    lab_date = (AS_OF - timedelta(days=rng.randint(1, 40))).isoformat()
    labs = []
    for name, unit, lo, hi, a, b in LABS:
        if rng.random() < 0.04:
            continue  # not drawn
        value = round(rng.uniform(a, b), 2)
        ref_lo, ref_hi, shown, shown_unit = lo, hi, name, unit
        if name in ALT_SPELLINGS and rng.random() < 0.3:
            shown, shown_unit, factor = rng.choice(ALT_SPELLINGS[name])
            value = round(value * factor, 3)
            ref_lo = None if lo is None else round(lo * factor, 3)
            ref_hi = None if hi is None else round(hi * factor, 3)
        lab: dict[str, Any] = {"test": shown, "value": value}
        if shown_unit:
            lab["unit"] = shown_unit
        if ref_lo is not None and rng.random() > 0.03:
            lab["ref_low"] = ref_lo
        if ref_hi is not None and rng.random() > 0.03:
            lab["ref_high"] = ref_hi
        lab["date"] = lab_date
        labs.append(lab)
    conditions = []
    for name, code in rng.sample(CONDITIONS, rng.randint(1, 3)):
        c: dict[str, Any] = {"name": name, "status": rng.choice(["active", "active", "resolved"])}
        if code:
            c["code"] = code
        c["onset"] = (AS_OF - timedelta(days=rng.randint(30, 3000))).isoformat()
        if c["status"] == "resolved" and rng.random() < 0.8:
            c["end"] = (AS_OF - timedelta(days=rng.randint(1, 29))).isoformat()
        conditions.append(c)
    treatments = []
    for name in rng.sample(DRUGS, rng.choice([0, 0, 0, 1, 2])):
        start = AS_OF - timedelta(days=rng.randint(20, 2000))
        treatments.append(
            {
                "name": name,
                "start": start.isoformat(),
                "end": (start + timedelta(days=90)).isoformat(),
            }
        )
    sex = rng.choice(["female", "male"])
    trial = rng.choice(list(MANUAL))
    reviews = [
        {"trial": trial, "criterion": c, "status": "pass" if rng.random() < 0.9 else "fail"}
        for c in MANUAL[trial]
        if rng.random() < 0.85
    ]
    profile: dict[str, Any] = {
        "id": f"S{n:06d}",
        "sex": sex,
        "birth_date": birth.isoformat(),
        "screening_date": AS_OF.isoformat(),
        "ecog": rng.choices([0, 1, 2, 3], [60, 25, 10, 5])[0],
        "child_pugh": rng.choices(
            [
                {"class": "A", "score": 5},
                {"class": "A", "score": 6},
                "A",
                {"class": "B", "score": 7},
            ],
            [40, 20, 25, 15],
        )[0],
        "labs": labs,
        "vitals": [
            {"name": "systolic blood pressure", "value": rng.randint(100, 170), "unit": "mmHg"},
            {"name": "diastolic blood pressure", "value": rng.randint(60, 105), "unit": "mmHg"},
        ],
        "conditions": conditions,
        "treatments": treatments,
        "reviews": reviews,
    }
    if sex == "female":
        profile["pregnant"] = rng.random() < 0.02
        profile["breastfeeding"] = False
    return profile


def profiles(n: int, seed: int = 20240301) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        yield synthetic_profile(rng, i)


# --- the hand-written baseline ------------------------------------------------------------
# What a competent programmer would write by hand for NCT04669496's computable criteria, for
# the spellings and units this generator produces: dictionaries instead of a vocabulary, fixed
# unit factors, no reasons. Manual parts are skipped (treated as satisfied).

_LAB = {
    "anc": "neutrophils",
    "platelets": "platelets",
    "plt": "platelets",
    "platelet count": "platelets",
    "hemoglobin": "hemoglobin",
    "hb": "hemoglobin",
    "albumin": "albumin",
    "inr": "inr",
    "t3": "t3",
    "t4": "t4",
    "total bilirubin": "total_bilirubin",
    "tbil": "total_bilirubin",
    "alt": "alt",
    "sgpt": "alt",
    "ast": "ast",
    "creatinine": "creatinine",
    "creatinine clearance": "creatinine_clearance",
    "ca19-9": "ca19_9",
    "hbv dna": "hbv_dna",
}
# (analyte, unit) -> factor to the unit the rule uses
_FACTOR = {
    ("neutrophils", "10^9/L"): 1.0,
    ("platelets", "10^9/L"): 1.0,
    ("platelets", "10^3/uL"): 1.0,
    ("platelets", "/mm3"): 0.001,
    ("hemoglobin", "g/dL"): 1.0,
    ("hemoglobin", "g/L"): 0.1,
    ("albumin", "g/dL"): 1.0,
    ("inr", None): 1.0,
    ("creatinine_clearance", "mL/min"): 1.0,
    ("ca19_9", "U/mL"): 1.0,
    ("hbv_dna", "copies/mL"): 1.0,
}
_CONDITION_GROUPS = {
    "hepatocellular carcinoma": {"hcc", "malignancy"},
    "intrahepatic cholangiocarcinoma": {"icc", "malignancy"},
    "hiv infection": {"hiv"},
    "chronic hepatitis b": {"hbv", "liver_disease"},
    "hypertension": {"hypertension"},
    "tuberculosis": {"tb"},
    "psoriasis": {"psoriasis", "autoimmune"},
    "rheumatoid arthritis": {"autoimmune"},
    "interstitial lung disease": {"ild"},
    "ascites": {"ascites", "liver_disease"},
    "portal vein tumor thrombus": {"pvtt"},
}
_DRUG_GROUPS = {
    "nivolumab": "pd1",
    "pembrolizumab": "pd1",
    "lenvatinib": "lenvatinib",
    "prednisone": "steroid",
    "gemcitabine": "chemo",
    "sorafenib": "mki",
}
_YEAR = timedelta(days=365.25)


def _hand_profile(d: dict[str, Any], as_of: date) -> tuple[dict[str, Any], ...]:
    """A raw profile dict as a hand-written screen would index it: labs by key (newest on or
    before the as-of date, dates parsed), condition groups, drug groups, age."""
    labs: dict[str, dict[str, Any]] = {}
    for lab in d.get("labs", ()):
        key = _LAB.get(lab["test"].lower())
        if key is None:
            continue
        day = date.fromisoformat(lab["date"]) if "date" in lab else date.min
        if day > as_of:
            continue
        seen = labs.get(key)
        if seen is None or day > seen["_day"]:
            labs[key] = {**lab, "_day": day}
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in d.get("conditions", ()):
        if "end" in c:
            c["_end"] = date.fromisoformat(c["end"])
        for g in _CONDITION_GROUPS.get((c.get("name") or "").lower(), ()):
            groups.setdefault(g, []).append(c)
    drugs = {_DRUG_GROUPS.get(t["name"].lower()) for t in d.get("treatments", ())}
    born = date.fromisoformat(d["birth_date"]) if "birth_date" in d else None
    age = None
    if born is not None:
        age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
    return labs, groups, drugs, age


def hand_screen_dicts(d: dict[str, Any], as_of: date, both: bool = True) -> tuple[str, str]:
    """Both seed trials' computable criteria by hand on a raw profile dict: (verdict, verdict);
    with ``both`` false, NCT04669496's alone (the first verdict is then empty)."""
    labs, groups, drugs, age = _hand_profile(d, as_of)

    def at_least(key: str, limit: float, strict: bool = False) -> bool | None:
        lab = labs.get(key)
        f = None if lab is None else _FACTOR.get((key, lab.get("unit")))
        if f is None:
            return None
        return lab["value"] * f > limit if strict else lab["value"] * f >= limit

    def ratio(key: str, mult: float, upper: bool) -> bool | None:
        lab = labs.get(key)
        ref = None if lab is None else lab.get("ref_high" if upper else "ref_low")
        if not ref:
            return None
        return lab["value"] <= mult * ref if upper else lab["value"] >= mult * ref

    def all_of(*values: bool | None) -> bool | None:
        return False if False in values else None if None in values else True

    def has(group: str, active: bool = False, within_year: bool = False) -> bool:
        for c in groups.get(group, ()):
            if active and c["status"] != "active":
                continue
            if (
                within_year
                and c["status"] != "active"
                and ("_end" not in c or c["_end"] < as_of - _YEAR)
            ):
                continue
            return True
        return False

    def verdict(checks: list[bool | None]) -> str:
        if False in checks:
            return "ineligible"
        return "indeterminate" if None in checks else "eligible"

    cp = d.get("child_pugh")
    cls = None if cp is None else cp if isinstance(cp, str) else cp.get("class")
    ecog, sex = d.get("ecog"), d.get("sex")
    cp_a = None if cls is None else cls == "A"
    hcc = (
        ""
        if not both
        else verdict(
            [
                None if age is None else 18 <= age <= 75,
                None if sex is None else True,
                has("hcc"),
                cp_a,
                None if ecog is None else ecog == 0,
                not (drugs & {"pd1"}),
                not has("pvtt"),
                not has("autoimmune"),
                not has("liver_disease"),
            ]
        )
    )
    inr = labs.get("inr")
    bp = {v["name"]: v["value"] for v in d.get("vitals", ())}
    other_cancer = any(
        c for c in groups.get("malignancy", ()) if "icc" not in _CONDITION_GROUPS[c["name"].lower()]
    )
    hbv = at_least("hbv_dna", 10000, strict=True)
    pregnant, feeding = d.get("pregnant"), d.get("breastfeeding")
    icc = verdict(
        [
            None if age is None else 18 <= age <= 70,
            None if sex is None else True,
            None if ecog is None or cp_a is None else (ecog == 0 and cp_a),
            has("icc"),
            at_least("neutrophils", 1.5),
            at_least("platelets", 90),
            at_least("hemoglobin", 9),
            at_least("albumin", 3.5),
            None if inr is None else inr["value"] < 1.2,
            all_of(
                ratio("t3", 2, True),
                ratio("t3", 0.5, False),
                ratio("t4", 2, True),
                ratio("t4", 0.5, False),
            ),
            ratio("total_bilirubin", 1.5, True),
            all_of(ratio("alt", 3, True), ratio("ast", 3, True)),
            all_of(ratio("creatinine", 1.5, True), at_least("creatinine_clearance", 60)),
            None
            if sex == "female" and (pregnant is None or feeding is None)
            else not (pregnant or feeding),
            not has("hcc"),
            not (drugs & {"pd1", "lenvatinib", "chemo"}),
            not other_cancer,
            not has("tb", within_year=True),
            not any(c["name"].lower() != "psoriasis" for c in groups.get("autoimmune", ())),
            not has("ild"),
            "steroid" not in drugs,
            not has("hiv"),
            not (
                has("hypertension")
                and (
                    bp.get("systolic blood pressure", 0) >= 140
                    or bp.get("diastolic blood pressure", 0) >= 90
                )
            ),
            None if hbv is None else not hbv,
            not has("ascites", active=True),
        ]
    )
    return hcc, icc


def hand_screen_file(path: str, out: Any, as_of: date = AS_OF) -> int:
    """The hand-written cohort run: read JSONL, parse each line, screen both trials, write a CSV
    row per screening (what a script a programmer writes for one clinic would do)."""
    import csv

    writer = csv.writer(out)
    writer.writerow(["patient", "trial", "verdict"])
    n = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            hcc, icc = hand_screen_dicts(d, as_of)
            writer.writerow([d["id"], "NCT03859128", hcc])
            writer.writerow([d["id"], "NCT04669496", icc])
            n += 2
    return n


# --- measurements -------------------------------------------------------------------------


def _rate(label: str, count: int, seconds: float) -> float:
    rate = count / seconds
    print(f"  {label:<46} {rate:>12,.0f} /s  ({seconds:.2f} s for {count:,})")
    return rate


def in_memory(n: int) -> None:
    print(f"in-memory: {n:,} synthetic profiles × {len(TRIALS)} seed trials, as of {AS_OF}")
    patients = [Patient.model_validate(d) for d in profiles(n)]
    trials = [compile_file(p) for p in TRIALS]
    options = Options()
    for p in patients[:500]:  # warm up: pint's registry, unit factors, name caches
        for t in trials:
            statuses(t.compiled, build_facts(p, AS_OF, options))
    gc.collect()

    t0 = time.perf_counter()
    for p in patients:
        facts = build_facts(p, AS_OF, options)
        for t in trials:
            statuses(t.compiled, facts)
    fast = _rate("engine, statuses only (CSV, funnel)", n * len(trials), time.perf_counter() - t0)

    t0 = time.perf_counter()
    for r in screen_many(trials, patients, as_of=AS_OF, detail=True):
        r.to_dict()
    _rate(
        "engine, detailed (reasons, evidence, to_dict)", n * len(trials), time.perf_counter() - t0
    )

    icc = trials[1]
    t0 = time.perf_counter()
    for p in patients:
        statuses(icc.compiled, build_facts(p, AS_OF, options))
    engine_one = time.perf_counter() - t0
    raw = list(profiles(n))
    t0 = time.perf_counter()
    for d in raw:
        hand_screen_dicts(d, AS_OF, both=False)
    hand = time.perf_counter() - t0
    _rate("engine, NCT04669496 only (incl. indexing)", n, engine_one)
    _rate("hand-written baseline, NCT04669496", n, hand)
    print(
        f"  ratio engine / hand-written: {engine_one / hand:.2f}×  "
        f"(target ≤ 2×; screenings/s target ≥ 50,000: {'met' if fast >= 50_000 else 'NOT met'})"
    )

    tracemalloc.start()
    for _ in screen_many(trials, patients[:2000], as_of=AS_OF, detail=True):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak traced memory while screening 2,000 (detailed): {peak / 1e6:.1f} MB")


def stages(n: int, repeats: int) -> None:
    """Where a cohort run's time goes, per profile: each step of the CLI's path timed apart
    (CPU time, the median of ``repeats``) on the previous step's output, with the
    hand-written screen of the same JSON lines as the baseline. The collector is paused while
    a step runs: these steps hold every profile at once, which a stream never does (it frees
    each profile as it goes, and the collector barely runs)."""
    import statistics

    from msgspec.json import Encoder

    from eligibility.loaders import parse_json, patient_from_data
    from eligibility.patient_fast import read_clean
    from eligibility.reasons import evaluate

    lines = [json.dumps(d) for d in profiles(n)]
    trials = [compile_file(p) for p in TRIALS]
    options = Options()

    def timed(step: Any) -> tuple[float, Any]:
        runs, out = [], None
        for _ in range(repeats):
            gc.collect()
            gc.disable()
            t0 = time.process_time()
            out = step()
            runs.append(time.process_time() - t0)
            gc.enable()
        return statistics.median(runs) * 1e6 / n, out

    print(
        f"profile stages: {n:,} JSONL lines, µs of CPU per profile (× {len(TRIALS)} trials "
        f"where it says), median of {repeats}"
    )
    rows: list[tuple[str, float]] = []
    hand, _ = timed(lambda: [hand_screen_dicts(json.loads(x), AS_OF) for x in lines])
    rows.append(("hand-written: json.loads + plain checks of both trials", hand))
    plain, _ = timed(lambda: [json.loads(x) for x in lines])
    rows.append(("  of which json.loads (no checks)", plain))
    strict, data = timed(lambda: [parse_json(x, "cohort.jsonl", i) for i, x in enumerate(lines)])
    rows.append(("load: parse_json (strict JSON: duplicates, NaN, characters)", strict))
    valid, _ = timed(lambda: [patient_from_data(d, "cohort.jsonl") for d in data])
    rows.append(("load: validate the profile (pydantic + the model's checks)", valid))
    both, _ = timed(lambda: [Patient.model_validate_json(x) for x in lines])
    rows.append(("  (for comparison: pydantic reading the JSON itself)", both))
    fast, clean = timed(lambda: [read_clean(x) for x in lines])
    rows.append(("load: the fast reader (patient_fast.read_clean), what the CLI uses", fast))
    assert all(p is not None for p in clean), "a clean profile left the fast path"
    index, facts = timed(lambda: [build_facts(p, AS_OF, options) for p in clean])
    rows.append(("facts: build_facts (index once for every trial)", index))
    truth, _ = timed(lambda: [statuses(t.compiled, f) for f in facts for t in trials])
    rows.append(("screen: statuses, both trials (what CSV needs)", truth))
    render, results = timed(lambda: [evaluate(t.compiled, f) for f in facts for t in trials])
    rows.append(("report: render reasons, both trials (JSONL)", render))
    old_encode, _ = timed(lambda: [json.dumps(r.to_dict(), ensure_ascii=False) for r in results])
    rows.append(("  (for comparison: to_dict + json.dumps, as before)", old_encode))
    encoder = Encoder().encode
    encode, _ = timed(lambda: [encoder(r).decode() for r in results])
    rows.append(("report: msgspec encoding of the result structs (JSONL)", encode))
    for label, us in rows:
        print(f"  {label:<64} {us:8.1f} µs  {us / hand:5.2f}× hand-written")
    reference = strict + valid + index + truth
    csv_path = fast + index + truth
    jsonl_path = csv_path + render + encode
    print(
        f"  sum, CSV path: {csv_path:.0f} µs ({csv_path / hand:.1f}×, loading "
        f"{fast / csv_path:.0%}; with the reference reader {reference:.0f} µs, "
        f"{reference / hand:.1f}×); JSONL path: {jsonl_path:.0f} µs "
        f"({jsonl_path / hand:.1f}×, rendering and encoding {(render + encode) / jsonl_path:.0%})"
    )


_CHILD = """
import os, resource, sys, time
from eligibility.cli import main
argv = sys.argv[1:]
t0 = time.perf_counter()
c0 = time.process_time()
with open(os.devnull, "w") as sink:
    sys.stdout = sink
    code = main(argv)
sys.stdout = sys.__stdout__
seconds = time.perf_counter() - t0
cpu = time.process_time()
try:  # VmHWM is this process's own peak; ru_maxrss would carry the parent's over exec
    with open("/proc/self/status") as fh:
        peak = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, peak, code, cpu - c0)
"""


def streaming(counts: list[int]) -> None:
    """Each count in a fresh process, so its peak RSS (VmHWM) is its own."""
    import subprocess

    print("streaming: JSONL on disk → `eligibility screen … --format csv` → /dev/null")
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            path = Path(tmp) / f"cohort_{n}.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                for d in profiles(n):
                    fh.write(json.dumps(d) + "\n")
            argv = [
                "screen",
                *map(str, TRIALS),
                str(path),
                "--format",
                "csv",
                "--no-progress",
                "--as-of",
                AS_OF.isoformat(),
            ]
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, *argv], capture_output=True, text=True, check=False
            )
            seconds, rss_kb, code, _ = done.stdout.split()
            mb = path.stat().st_size / 1e6
            print(
                f"  {n:>7,} profiles ({mb:,.0f} MB): {n * len(TRIALS) / float(seconds):>7,.0f} "
                f"screenings/s (read + validate + screen + CSV), peak RSS "
                f"{int(rss_kb) / 1024:.0f} MB, exit {code}"
            )
            path.unlink()


_HAND = """
import os, sys, time
sys.path.insert(0, {bench!r})
from screen_cohort import hand_screen_file
t0 = time.perf_counter()
c0 = time.process_time()
with open(os.devnull, "w") as sink:
    hand_screen_file(sys.argv[1], sink)
print(time.perf_counter() - t0, 0, 0, time.process_time() - c0)
"""


def cli_cohort(n: int, repeats: int) -> None:
    """The CLI on a JSONL file of ``n`` profiles × both trials, ``--format csv`` and ``jsonl``,
    against the hand-written screen of the same file in the same run; each in a fresh
    process, the median of ``repeats`` (interpreter start and imports are not timed)."""
    import statistics
    import subprocess

    print(
        f"CLI cohort: {n:,} profiles (JSONL) × {len(TRIALS)} trials → /dev/null, "
        f"median of {repeats} runs each"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cohort.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for d in profiles(n):
                fh.write(json.dumps(d) + "\n")

        def timed(code: str, argv: list[str]) -> tuple[float, float]:
            """(wall, CPU) seconds of the child's run, the median of ``repeats`` each."""
            walls, cpus = [], []
            for _ in range(repeats):
                done = subprocess.run(
                    [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False
                )
                out = done.stdout.split()
                walls.append(float(out[0]))
                cpus.append(float(out[3]))
            return statistics.median(walls), statistics.median(cpus)

        hand, hand_cpu = timed(_HAND.format(bench=str(Path(__file__).parent)), [str(path)])
        screenings = n * len(TRIALS)
        print(
            f"  {'hand-written (json.loads + plain checks + csv)':<44} {hand:6.2f} s wall "
            f"{hand_cpu:6.2f} s CPU  {screenings / hand_cpu:>9,.0f} /s of CPU"
        )
        one = Path(tmp) / "one.jsonl"
        one.write_text(path.read_text(encoding="utf-8").split("\n", 1)[0] + "\n", "utf-8")

        def argv(fmt_: str, file: Path) -> list[str]:
            return [
                "screen",
                *map(str, TRIALS),
                str(file),
                "--format",
                fmt_,
                "--no-progress",
                "--as-of",
                AS_OF.isoformat(),
            ]

        _, start = timed(_CHILD, argv("csv", one))
        print(f"  {'start-up inside main(): one profile, --format csv':<44} {start:21.2f} s CPU")
        targets = {"csv": 2.0, "jsonl": 4.0}
        for fmt_ in ("csv", "jsonl"):
            took, cpu = timed(_CHILD, argv(fmt_, path))
            print(
                f"  {'eligibility screen --format ' + fmt_:<44} {took:6.2f} s wall "
                f"{cpu:6.2f} s CPU  {screenings / cpu:>9,.0f} /s of CPU  "
                f"{cpu / hand_cpu:5.2f}× hand-written in CPU ({took / hand:5.2f}× in wall; "
                f"{(cpu - start) / hand_cpu:5.2f}× without the start-up) "
                f"(target ≤ {targets[fmt_]:g}×)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="profiles held in memory")
    parser.add_argument(
        "--stream",
        type=int,
        nargs="*",
        default=[10_000, 100_000],
        help="profile counts for the JSONL streaming run (none to skip)",
    )
    parser.add_argument(
        "--cli", type=int, default=20_000, help="profiles for the CLI cohort run (0 to skip)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each CLI measurement")
    parser.add_argument(
        "--stages", type=int, default=5_000, help="profiles for the per-step timing (0 to skip)"
    )
    args = parser.parse_args()
    if args.n:
        in_memory(args.n)
    if args.stages:
        stages(args.stages, args.repeats)
    if args.cli:
        cli_cohort(args.cli, args.repeats)
    if args.stream:
        streaming(args.stream)


if __name__ == "__main__":
    main()
