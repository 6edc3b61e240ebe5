"""FHIR R4 resources (``fhir.resources`` models) → one patient's profile, as the profile JSON.

The screening then runs unchanged on the profile (one evaluator): this module only decides
what each resource says in the profile's words, and lists what it cannot say as *ignored*,
with the reason (``Patient.ignored``), so nothing is dropped silently. Codes resolve through
the vocabulary: LOINC through ``analytes.yaml`` and ``loinc.yaml``, SNOMED CT through
``snomed.yaml``, RxNorm through ``rxnorm.yaml``, ICD-10-CM and ATC as a profile's codes.
Resources entered in error, cancelled, not done, refuted or not taken are never used.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .. import vocab
from ..vocab.data import _load, fold
from .units import UCUM_SYSTEM, convert

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
ICD10 = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
REVIEW_CODE = "urn:eligibility:review"
"""``Basic.code`` system of a coordinator's review: FHIR has no resource for a decision on a
trial criterion, so this project reads one ``Basic`` per review (README, "FHIR input")."""

NEVER_USED = {
    "Observation": {"entered-in-error", "cancelled"},
    "Condition": set(),
    "MedicationStatement": {"entered-in-error", "not-taken", "intended"},
    "MedicationRequest": {"entered-in-error", "cancelled", "draft"},
    "MedicationAdministration": {"entered-in-error", "not-done"},
    "Procedure": {"entered-in-error", "not-done", "preparation"},
}


@cache
def _codes(name: str) -> dict[str, str]:
    return {str(e["code"]): str(e["concept"]) for e in _load(name)["codes"]}


@cache
def _fields() -> dict[str, Any]:
    return _load("loinc.yaml")["fields"]


@cache
def _field_of() -> dict[str, str]:
    """LOINC code or folded code text → profile field (``ecog``, ``pregnant`` …)."""
    out: dict[str, str] = {}
    for name, spec in _fields().items():
        for code in spec.get("loinc", ()):
            out[code] = name
        for text in spec.get("texts", ()):
            out[fold(text)] = name
    return out


@cache
def _panels() -> frozenset[str]:
    return frozenset(str(p["loinc"]) for p in _load("loinc.yaml")["panels"])


@dataclass
class Draft:
    """A profile being derived: the JSON object, and what could not go into it."""

    profile: dict[str, Any]
    ignored: list[dict[str, str]] = field(default_factory=list)
    _newest: dict[str, tuple[dt.date | None, str]] = field(default_factory=dict)

    def ignore(self, label: str, reason: str) -> None:
        self.ignored.append({"resource": label, "reason": reason})

    def single(self, name: str, value: Any, when: dt.date | None, label: str) -> None:
        """A field holding one value (ECOG, pregnancy): the newest dated result counts."""
        if name in self._newest:
            before, kept = self._newest[name]
            if before is not None and (when is None or when <= before):
                self.ignore(label, f"an older {name} result; {kept} of {before} is used")
                return
            self.ignore(kept, f"an older {name} result; {label} of {when} is used")
        self.profile[name] = value
        self._newest[name] = (when, label)


def label_of(resource: Any) -> str:
    return (
        f"{resource.get_resource_type()}/{resource.id}"
        if resource.id
        else (resource.get_resource_type())
    )


def day(value: Any) -> dt.date | None:
    """The calendar day of a FHIR date or dateTime as written; None for a partial date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _codings(concept: Any) -> list[Any]:
    return list(concept.coding or ()) if concept is not None else []


def _text(concept: Any) -> str | None:
    if concept is None:
        return None
    if concept.text:
        return str(concept.text)
    return next((str(c.display) for c in _codings(concept) if c.display), None)


def _code(concept: Any, systems: Iterable[str]) -> list[str]:
    wanted = set(systems)
    return [str(c.code) for c in _codings(concept) if c.system in wanted and c.code]


def _status_code(concept: Any) -> str | None:
    return next((str(c.code) for c in _codings(concept) if c.code), None)


# --- Patient --------------------------------------------------------------------------------


def patient(resource: Any, draft: Draft) -> None:
    label = label_of(resource)
    if resource.gender in ("female", "male"):
        draft.profile["sex"] = resource.gender
    elif resource.gender:
        draft.ignore(label, f"gender {resource.gender!r} is not a sex the criteria name")
    born = day(resource.birthDate)
    if born is not None:
        draft.profile["birth_date"] = born.isoformat()
    elif resource.birthDate:
        draft.ignore(label, f"birthDate {resource.birthDate} is not a full date")


# --- Observation ----------------------------------------------------------------------------


def observation(resource: Any, draft: Draft) -> None:
    label = label_of(resource)
    when = day(resource.effectiveDateTime) or (
        day(resource.effectivePeriod.start) if resource.effectivePeriod else None
    )
    loinc = _code(resource.code, [LOINC])
    if any(c in _panels() for c in loinc) or (
        resource.component and resource.valueQuantity is None
    ):
        for i, part in enumerate(resource.component or ()):
            _result(part, part.code, when, f"{label} component[{i}]", draft)
        if not resource.component:
            draft.ignore(label, "a panel without components")
        return
    _result(resource, resource.code, when, label, draft, resource.referenceRange)


def _result(
    item: Any,
    code: Any,
    when: dt.date | None,
    label: str,
    draft: Draft,
    ranges: Any = None,
) -> None:
    """One result (an Observation or one of its components) into the field it fills."""
    loinc = _code(code, [LOINC])
    text = _text(code)
    name = next((_field_of()[c] for c in loinc if c in _field_of()), None)
    if name is None and text and fold(text) in _field_of():
        name = _field_of()[fold(text)]
    if name is not None:
        _scalar(name, item, when, label, draft)
        return
    analyte = next((a for c in loinc if (a := vocab.analyte(c))), None)
    if analyte is None and text:
        analyte = vocab.analyte(text)
    if analyte is None:
        what = f"LOINC {', '.join(loinc)}" if loinc else "no LOINC code"
        draft.ignore(label, f"{what} ({text or 'no text'}) is not a test the vocabulary knows")
        return
    q = item.valueQuantity
    if q is None or q.value is None:
        absent = _text(item.dataAbsentReason) if item.dataAbsentReason else None
        if absent:
            why = f"no value ({absent})"
        elif item.valueCodeableConcept is not None or item.valueString:
            why = "a coded or text result; the profile holds numeric results only"
        else:
            why = "no value"
        draft.ignore(label, f"{analyte.name}: {why}")
        return
    if q.comparator:  # "<5": a bound of the result, not the result
        draft.ignore(
            label, f"{analyte.name}: value {q.comparator}{q.value} is a bound, not a value"
        )
        return
    key = "vitals" if analyte.category == "vital" else "labs"  # measures (CrCl) as labs
    out: dict[str, Any] = {("test" if key == "labs" else "name"): analyte.name}
    out.update(_quantity(analyte, q))
    if key == "labs" and ranges:  # the first range is the lab's normal range
        for end, bound in (("ref_low", ranges[0].low), ("ref_high", ranges[0].high)):
            if bound is not None and bound.value is not None:
                got = _converted(analyte, bound, q)
                if got is not None and got[1] == out.get("unit", got[1]):
                    out[end] = got[0]
                else:
                    draft.ignore(label, f"{analyte.name} {end}: not in the unit of the value")
    if when is not None:
        out["date"] = when.isoformat()
    draft.profile.setdefault(key, []).append(out)


def _converted(analyte: vocab.Analyte, q: Any, value_q: Any) -> tuple[float, str | None] | None:
    """A quantity (a range bound may leave its unit to the value's) in the analyte's unit."""
    code = q.code or value_q.code
    system = q.system or value_q.system
    number = float(q.value)
    if code and system == UCUM_SYSTEM:
        got = convert(number, str(code), analyte)
        return None if isinstance(got, str) else got
    unit = q.unit or value_q.unit or code
    return number, str(unit) if unit else None


def _quantity(analyte: vocab.Analyte, q: Any) -> dict[str, Any]:
    number = float(q.value)
    if q.code and q.system == UCUM_SYSTEM:
        got = convert(number, str(q.code), analyte)
        if isinstance(got, str):
            # kept, so the criterion is ``unknown`` naming the unit; " (UCUM)" is never a
            # spelling of units.yaml, so the profile path cannot read it as something else
            return {"value": number, "unit": f"{q.code} (UCUM: {got})"}
        return {"value": got[0], "unit": got[1]}
    unit = q.unit or q.code
    return {"value": number, **({"unit": str(unit)} if unit else {})}


def _scalar(name: str, item: Any, when: dt.date | None, label: str, draft: Draft) -> None:
    """ECOG, Karnofsky, pregnancy status, Child-Pugh: fields of one value."""
    spec = _fields()[name]
    value: Any = None
    if item.valueInteger is not None:
        value = int(item.valueInteger)
    elif item.valueQuantity is not None and item.valueQuantity.value is not None:
        number = float(item.valueQuantity.value)
        value = int(number) if number.is_integer() else None
    elif item.valueString:
        value = str(item.valueString).strip()
    elif item.valueCodeableConcept is not None:
        answers = spec.get("answers", {})
        value = next(
            (answers[c.code] for c in _codings(item.valueCodeableConcept) if c.code in answers),
            None,
        )
        if value is None and name == "child_pugh":
            value = _text(item.valueCodeableConcept)
    elif item.valueBoolean is not None and name == "pregnant":
        value = bool(item.valueBoolean)
    if name == "child_pugh" and value is not None:
        value = {"score": value} if isinstance(value, int) else _pugh_class(str(value))
    if value is None or isinstance(value, bool) != (name == "pregnant"):
        draft.ignore(label, f"{name}: a value this project does not read")
        return
    draft.single(name, value, when, label)


def _pugh_class(text: str) -> str | None:
    """ "A", "class A", "Child-Pugh A" → "A"; anything else is not read (None)."""
    letter = re.sub(r"(?i)^(child[- ]?(turcotte[- ]?)?pugh)?\s*(class)?\s*", "", text.strip())
    return letter.upper() if letter.upper() in ("A", "B", "C") else None


# --- Condition, Procedure ---------------------------------------------------------------------


def condition(resource: Any, draft: Draft) -> None:
    label = label_of(resource)
    verification = _status_code(resource.verificationStatus)
    if verification in ("entered-in-error", "refuted"):
        draft.ignore(label, f"verificationStatus {verification}: never used")
        return
    entry = _named(resource.code, ICD10, "snomed.yaml", vocab.condition)
    if entry is None:
        draft.ignore(label, "no ICD-10 code, known SNOMED CT code or text")
        return
    if verification in ("unconfirmed", "provisional", "differential"):
        # not a diagnosis, but not nothing: an entry named "unconfirmed HIV infection" (no
        # code) may be HIV infection, so "no HIV infection" is unknown, never a pass
        known = vocab.condition(entry["code"]) if entry.get("code") else None
        what = entry.get("name") or (known.name if known else None)
        draft.ignore(label, f"verificationStatus {verification}: read as a possible diagnosis")
        if what:
            possible = {"name": f"{verification} {what}", "status": "active"}
            draft.profile.setdefault("conditions", []).append(possible)
        return
    onset = day(resource.onsetDateTime) or (
        day(resource.onsetPeriod.start) if resource.onsetPeriod else None
    )
    end = day(resource.abatementDateTime) or (
        day(resource.abatementPeriod.end or resource.abatementPeriod.start)
        if resource.abatementPeriod
        else None
    )
    clinical = _status_code(resource.clinicalStatus)
    if clinical in ("inactive", "remission", "resolved") or (clinical is None and end):
        entry["status"] = "resolved"
    else:
        entry["status"] = "active"
        if end is not None:
            draft.ignore(label, f"abatement {end} of a condition recorded as {clinical}")
            end = None
    _dated(draft, label, entry, ("onset", "end"), (onset, end))
    draft.profile.setdefault("conditions", []).append(entry)


def _named(
    concept: Any, code_systems: Iterable[str], table: str, resolve: Any
) -> dict[str, Any] | None:
    """``name`` (a mapped concept's name, else the text) and ``code`` (ICD-10 or ATC)."""
    codes = _code(concept, code_systems)
    mapped = next(
        (_codes(table)[c] for c in _code(concept, [SNOMED, RXNORM]) if c in _codes(table)), None
    )
    found = resolve(mapped) if mapped else None
    name = found.name if found is not None else _text(concept)
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if codes:
        out["code"] = codes[0]
    return out or None


def procedure(resource: Any, draft: Draft) -> None:
    """A procedure is a treatment in the profile's words ("hepatectomy"), unless its SNOMED CT
    code names a condition concept (a transplant), which is then a condition entry."""
    label = label_of(resource)
    when = day(resource.performedDateTime) or (
        day(resource.performedPeriod.start) if resource.performedPeriod else None
    )
    mapped = next(
        (_codes("snomed.yaml")[c] for c in _code(resource.code, [SNOMED])
         if c in _codes("snomed.yaml")),
        None,
    )  # fmt: skip
    if mapped is not None and vocab.condition(mapped) is not None:
        entry = {"name": vocab.condition(mapped).name, "status": "active"}  # type: ignore[union-attr]
        if when is not None:
            entry["onset"] = when.isoformat()
        draft.profile.setdefault("conditions", []).append(entry)
        return
    name = _text(resource.code)
    if not name:
        draft.ignore(label, "a procedure without a known code or text")
        return
    end = day(resource.performedPeriod.end) if resource.performedPeriod else when
    _treatment(draft, label, name, (when, end))


# --- medications ----------------------------------------------------------------------------


def medication(resource: Any, draft: Draft, medications: dict[str, Any]) -> None:
    """MedicationStatement, MedicationRequest, MedicationAdministration → a treatment."""
    label = label_of(resource)
    concept = resource.medicationCodeableConcept
    if concept is None and resource.medicationReference is not None:
        ref = str(resource.medicationReference.reference or "")
        found = medications.get(ref) or medications.get(ref.removeprefix("#"))
        concept = found.code if found is not None else None
        if found is None:
            draft.ignore(label, f"medicationReference {ref!r} is not in the input")
            return
    entry = _named(concept, [ATC], "rxnorm.yaml", vocab.drug)
    if entry is None:
        draft.ignore(label, "no RxNorm or ATC code and no text")
        return
    name = entry.get("name") or entry["code"]  # an ATC code alone resolves as a drug
    if resource.get_resource_type() == "MedicationRequest":
        start, end = day(resource.authoredOn), None
    else:
        period = resource.effectivePeriod
        start = day(resource.effectiveDateTime) or (day(period.start) if period else None)
        end = day(resource.effectiveDateTime) or (day(period.end) if period else None)
    _treatment(draft, label, name, (start, end))


def _treatment(
    draft: Draft, label: str, name: str, period: tuple[dt.date | None, dt.date | None]
) -> None:
    entry: dict[str, Any] = {"name": name}
    _dated(draft, label, entry, ("start", "end"), period)
    draft.profile.setdefault("treatments", []).append(entry)


def _dated(
    draft: Draft,
    label: str,
    entry: dict[str, Any],
    names: tuple[str, str],
    period: tuple[dt.date | None, dt.date | None],
) -> None:
    """The period's days under ``names``; an end before its start is listed, not used."""
    (first, last), (start, end) = names, period
    if start is not None:
        entry[first] = start.isoformat()
    if end is not None and start is not None and end < start:
        draft.ignore(label, f"{last} {end} is before {first} {start}")
    elif end is not None:
        entry[last] = end.isoformat()


# --- reviews --------------------------------------------------------------------------------


def review(resource: Any, draft: Draft) -> bool:
    """A coordinator's review recorded as ``Basic`` (``REVIEW_CODE``); False if it is not one."""
    if not any(c.system == REVIEW_CODE for c in _codings(resource.code)):
        return False
    parts = {  # extension urls urn:eligibility:review:trial, …:criterion, …:status, …
        str(e.url).rsplit(":", 1)[-1]: e.valueString or e.valueCode
        for e in resource.extension or ()
        if e.url
    }
    entry = {
        k: str(parts[k]) for k in ("trial", "criterion", "status", "by", "note") if parts.get(k)
    }
    if resource.created is not None and day(resource.created) is not None:
        entry["date"] = day(resource.created).isoformat()  # type: ignore[union-attr]
    draft.profile.setdefault("reviews", []).append(entry)
    return True
