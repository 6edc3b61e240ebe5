"""Benchmark: what FHIR input costs, against a profile screening measured in the same run.

Usage: python bench/fhir_input.py [--runs N] [--patients N]

Prints, each the median of N runs (fresh processes for the CLI rows, wall clock and child CPU):
  profile screening       eligibility screen rules/NCT03859128.yaml examples/patients/p01_…
  FHIR Bundle screening   the same trial, examples/fhir/f01_eligible_hcc.bundle.json
  import fhir.resources   the R4B models this project reads (in a fresh process)
  UCUM registry           ucumvert's pint registry, built once per process
  per resource            validating + mapping one Observation, in process (warm)
  Bulk export             a synthetic export of --patients patients × 12 Observations, read
                          through iter_patients (in process, after the one-off costs)
  peak memory             traced peak while reading that export, and one 4 times larger
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from startup import _command, _median  # noqa: E402 - the same timing as bench/startup.py

HCC = "rules/NCT03859128.yaml"


def _fresh(code: str, runs: int) -> float:
    """Median seconds a statement takes in a fresh interpreter (timed inside it)."""
    timer = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    out = [
        float(subprocess.run([sys.executable, "-c", timer], capture_output=True, text=True,
                             check=True, cwd=ROOT).stdout)
        for _ in range(runs)
    ]  # fmt: skip
    return statistics.median(out)


def _export(folder: Path, patients: int) -> None:
    """A Bulk Data export: Patient.ndjson and Observation.ndjson (12 labs a patient)."""
    lab = json.loads((ROOT / "examples/fhir/bulk/Observation.ndjson").open().readline())
    with (folder / "Patient.ndjson").open("w") as p, (folder / "Observation.ndjson").open("w") as o:
        for n in range(patients):
            pid = f"p{n}"
            p.write(json.dumps({"resourceType": "Patient", "id": pid, "gender": "male",
                                "birthDate": "1960-01-01"}) + "\n")  # fmt: skip
            subject = {"reference": f"Patient/{pid}"}
            for k in range(12):
                o.write(json.dumps({**lab, "id": f"{pid}-{k}", "subject": subject}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--patients", type=int, default=500)
    args = parser.parse_args()
    cmd, env = _command(), {"PATH": "/usr/bin:/bin"}
    rows = []
    for label, path in (
        ("profile screening", "examples/patients/p01_eligible_hcc.json"),
        ("FHIR Bundle screening", "examples/fhir/f01_eligible_hcc.bundle.json"),
    ):
        wall, cpu = _median([*cmd, "screen", HCC, path, "--format", "json"], args.runs, env)
        rows.append((label, f"{wall * 1000:.0f} ms ({cpu * 1000:.0f} ms CPU)"))
    models = "from eligibility.fhir.read import _model; [_model(t) for t in ('Bundle', 'Patient'"
    models += ", 'Observation', 'Condition', 'MedicationStatement', 'Procedure')]"
    rows.append(
        ("import fhir.resources (R4B models read)", f"{_fresh(models, args.runs) * 1000:.0f} ms")
    )
    ucum = "from eligibility.fhir.units import _registry; _registry()"
    rows.append(("UCUM registry (ucumvert)", f"{_fresh(ucum, args.runs) * 1000:.0f} ms"))

    from eligibility.loaders import iter_patients

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _export(folder, 5)
        list(iter_patients(folder))  # the one-off costs: models, registry
        _export(folder, args.patients)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            got = sum(1 for _ in iter_patients(folder))
            times.append(time.perf_counter() - t0)
        assert got == args.patients
        per = statistics.median(times) / (args.patients * 13)
        peaks = []
        for n in (args.patients, args.patients * 4):
            _export(folder, n)
            tracemalloc.start()
            for _ in iter_patients(folder):
                pass
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        _export(folder, args.patients)
        rows.append(("per resource (validate + map, Bulk)", f"{per * 1e6:.0f} µs"))
        rows.append(
            (
                f"Bulk export, {args.patients} patients × 13 resources",
                f"{statistics.median(times):.2f} s",
            )
        )
    grow = (peaks[1] - peaks[0]) / (args.patients * 3 * 13)
    rows.append(
        (
            f"peak traced memory, {args.patients} vs {args.patients * 4} patients",
            f"{peaks[0] / 1e6:.1f} MB vs {peaks[1] / 1e6:.1f} MB ({grow:.0f} bytes a resource)",
        )
    )
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
