"""Rewrite ``src/eligibility/vocab/unit_factors.json`` from pint (run after editing units.yaml).

The file holds the factors pint uses between the ``pint`` expressions of units.yaml, so that a
cohort run converts units without building pint's registry (``vocab/factors.py``);
``tests/test_units.py`` fails when the file no longer matches what pint computes.

    python bench/unit_factors.py
"""

from __future__ import annotations

import json
from pathlib import Path

from eligibility import vocab
from eligibility.vocab import factors

OUT = Path(__file__).resolve().parent.parent / "src" / "eligibility" / "vocab" / factors.NAME


def main() -> None:
    exprs = [s.pint for s in vocab._units().specs.values()]
    data = factors.compute(vocab._registry(), exprs)
    rows = {
        k: ",\n  ".join(json.dumps(r, ensure_ascii=False) for r in data[k])
        for k in ("same", "molar")
    }
    text = (
        "{\n"
        f' "source": {json.dumps(data["source"])},\n'
        f' "dimension": {json.dumps(data["dimension"], indent=1, ensure_ascii=False)},\n'
        f' "same": [\n  {rows["same"]}\n ],\n'
        f' "molar": [\n  {rows["molar"]}\n ]\n'
        "}\n"
    )
    assert json.loads(text) == data
    OUT.write_text(text, encoding="utf-8")
    print(f"{OUT}: {len(data['same'])} same-dimension and {len(data['molar'])} molar factors")


if __name__ == "__main__":
    main()
