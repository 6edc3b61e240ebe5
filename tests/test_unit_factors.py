"""The shipped unit factors (``vocab/factors.py``) give exactly what pint gives.

Every ordered pair of canonical units, for no analyte and for every analyte with a molar mass
or a valence (the only analyte data a pint conversion reads), converted through the shipped
table and through pint's registry: the same float, or the same error. And the file is what
``bench/unit_factors.py`` would write today, so an edit to units.yaml (or a new pint) that is
not followed by regenerating it fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from eligibility import vocab
from eligibility.vocab import factors

ROOT = Path(__file__).resolve().parent.parent


def _outcome(fn, src, dst, pre, a):  # type: ignore[no-untyped-def]
    try:
        return fn(src, dst, pre, a)
    except vocab.UnitError as exc:
        return f"error: {exc}"


def test_the_shipped_file_is_what_pint_computes_today() -> None:
    shipped = json.loads(
        resources.files("eligibility.vocab").joinpath(factors.NAME).read_text(encoding="utf-8")
    )
    computed = factors.compute(vocab._registry(), [s.pint for s in vocab._units().specs.values()])
    assert shipped == computed, "run `python bench/unit_factors.py` after editing units.yaml"


def test_every_conversion_is_bit_identical_to_pint() -> None:
    """Every pair for no analyte; for an analyte, the pairs where its data is read: units of
    other dimensions (molar mass: whether they convert depends on the dimensions alone, so one
    analyte tries every such pair and the others those that convert) and per-charge units
    (valence)."""
    specs = list(vocab._units().specs.values())
    table = factors.shipped()
    assert table is not None
    dims = table.dimension
    molar = {(a, b) for a, b, _ in table.molar}
    cases = [(s, d, 1.0, None) for s in specs for d in specs]
    first = True
    for a in vocab._analytes().by_id.values():
        if a.molar_mass:
            cases += [
                (s, d, 1.0, a)
                for s in specs
                for d in specs
                if dims[s.pint] != dims[d.pint] and (first or (s.pint, d.pint) in molar)
            ]
            first = False
        if a.valence:
            cases += [(s, d, 1.0 / a.valence, a) for s in specs if s.per_charge for d in specs]
    for s, d, pre, a in cases:
        fast = _outcome(vocab._pint_factor, s, d, pre, a)
        ref = _outcome(vocab._pint_factor_by_pint, s, d, pre, a)
        assert fast == ref, (s.canonical, d.canonical, pre, a and a.name)
    assert len(cases) > 3000


def test_a_cohort_run_does_not_build_pints_registry() -> None:
    """Converting the bundled cohort's units (µmol/L, mg/dL, 10^3/µL ...) needs no pint."""
    code = (
        "import sys, os\n"
        "from eligibility.cli import main\n"
        "sys.stdout = open(os.devnull, 'w')\n"
        "main(['screen', 'rules/', 'examples/cohort.jsonl', '--format', 'jsonl', '--no-progress'])\n"
        "sys.stdout = sys.__stdout__\n"
        "print('pint' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("missing", ["dimension", "same"])
def test_a_damaged_table_is_not_used(missing: str) -> None:
    raw = json.loads(
        resources.files("eligibility.vocab").joinpath(factors.NAME).read_text(encoding="utf-8")
    )
    del raw[missing]
    with pytest.raises(KeyError):
        factors.from_data(raw)
