"""Screen patients against clinical-trial eligibility criteria with explicit, auditable rules.

Library use::

    from eligibility import load_rules, load_patient, screen
    result = screen(load_rules("rules/NCT03859128.yaml"), load_patient("examples/patients/p.json"))
    result.verdict, [c.status for c in result.criteria], result.to_dict()
"""

from __future__ import annotations

__version__ = "0.1.0"

from datetime import date
from importlib import import_module
from typing import TYPE_CHECKING

from .limits import DEFAULT_MAX_LAB_AGE_DAYS

if TYPE_CHECKING:
    from .errors import EligibilityError, InputError
    from .loaders import load_patient, load_rules, load_rules_all
    from .model import RuleSet
    from .patient import Patient
    from .result import CriterionResult, ScreeningResult

# The public names are imported on first use (PEP 562), not here: ``eligibility --version`` and
# the parser need none of pydantic's models or the evaluator, which cost most of a start-up.
_LAZY = {
    "EligibilityError": "errors",
    "InputError": "errors",
    "load_patient": "loaders",
    "load_rules": "loaders",
    "load_rules_all": "loaders",
    "RuleSet": "model",
    "Patient": "patient",
    "CriterionResult": "result",
    "ScreeningResult": "result",
}


def __getattr__(name: str) -> object:
    """A public name from its module, imported the first time it is asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def today() -> date:
    """The date the caller runs on: the one clock read in the package (screen() and cohort runs
    without an as-of date use it; evaluation below never does)."""
    return date.today()


def screen(
    rules: RuleSet,
    patient: Patient,
    as_of: date | None = None,
    *,
    if_absent: str = "absent",
    max_lab_age_days: int | None = DEFAULT_MAX_LAB_AGE_DAYS,
) -> ScreeningResult:
    """Screen one patient against one trial.

    The as-of date is ``as_of``, else the profile's ``screening_date``, else today; it is the
    only place a clock is read, so results are reproducible when a date is given. Results
    older than ``max_lab_age_days`` before it do not decide (None: any age).
    """
    from .evaluate import Options, build_facts, compile_rules
    from .reasons import evaluate

    when = as_of or patient.screening_date or today()
    options = Options(if_absent=if_absent, max_lab_age_days=max_lab_age_days)  # type: ignore[arg-type]
    return evaluate(compile_rules(rules), build_facts(patient, when, options))


__all__ = [
    "CriterionResult",
    "EligibilityError",
    "InputError",
    "Patient",
    "RuleSet",
    "ScreeningResult",
    "__version__",
    "load_patient",
    "load_rules",
    "load_rules_all",
    "screen",
]
