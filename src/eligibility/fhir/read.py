"""Reading FHIR input: a Bundle or a Patient (JSON), or a Bulk Data export (NDJSON), into
profiles, one per Patient resource, or located errors.

Every resource this project reads is validated by its ``fhir.resources`` model (R4B, which
reads R4 resources) before it is mapped (``mapping``); a problem is one ``InputError`` naming
the file, the resource's place (``$.entry[3].resource.code.coding``, or ``line 7`` of an NDJSON
file) and the problem. A Bulk Data export is read in two passes: the first keeps, for each
patient, where its lines are (a file and line number; the byte offset of each line); the second
reads one patient's resources at a time, so memory grows with the number of resources (≈ 40
bytes each, ``bench/fhir_input.py``), not with their contents.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterator
from contextlib import ExitStack
from functools import cache
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ..errors import InputError
from ..loaders import MAX_JSONL_LINE_BYTES, json_path, parse_json, patient_from_data
from ..patient import Patient
from . import mapping

MAPPED = ("Observation", "Condition", "Procedure", "MedicationStatement", "MedicationRequest")
MAPPED += ("MedicationAdministration", "AllergyIntolerance", "Basic")
CONDITION_TYPES = frozenset({"Condition"})
TREATMENT_TYPES = frozenset(
    {"MedicationStatement", "MedicationRequest", "MedicationAdministration", "Procedure"}
)
_SUBJECT = {"AllergyIntolerance": "patient"}
_LINE_BITS = 40  # a resource's place: its file's number and its line number, in one int


@cache
def _model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def _require(file: str) -> None:
    """The ``fhir`` extra's libraries, or one line saying how to install them."""
    from importlib.util import find_spec

    for name in ("fhir.resources", "ucumvert"):
        try:
            found = find_spec(name) is not None
        except ImportError:  # the parent package ``fhir`` is missing
            found = False
        if not found:
            raise InputError(f"FHIR input needs {name}: pip install 'eligibility[fhir]'", file)


def _validated(data: dict[str, Any], file: str, where: str) -> Any:
    """The resource as its model, or an ``InputError`` at the first problem."""
    rtype = data.get("resourceType")
    try:
        model = _model(rtype)  # type: ignore[arg-type]
    except (KeyError, ValueError, AttributeError):
        raise InputError(f"unknown resourceType {rtype!r} (FHIR R4)", file, where) from None
    if "contained" in data:  # each contained resource is read, and validated, on its own
        data = {k: v for k, v in data.items() if k != "contained"}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        path = json_path(tuple(errors[0]["loc"]))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        msg = str(errors[0].get("msg", "invalid")).removeprefix("Value error, ")
        raise InputError(msg + more, file, where + path[1:]) from None
    except KeyError:  # fhir_core looks a nested resource's type up without a check
        raise InputError(
            "holds a nested resource of an unknown resourceType", file, where
        ) from None
    except (TypeError, ValueError, AttributeError) as exc:  # the library's own, on odd input
        raise InputError(f"not a valid FHIR R4 resource ({exc})", file, where) from None


def _shape(data: Any, file: str, where: str) -> dict[str, Any]:
    """A resource must be an object with a resourceType, before any model sees it."""
    if not isinstance(data, dict):
        raise InputError("expected a FHIR resource (a JSON object)", file, where)
    rtype = data.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise InputError("a resource without resourceType", file, f"{where}.resourceType")
    return data


def _reference(data: dict[str, Any]) -> str | None:
    ref = data.get(_SUBJECT.get(data["resourceType"], "subject"))
    found = ref.get("reference") if isinstance(ref, dict) else None
    return found if isinstance(found, str) else None


def _patient_key(ref: str) -> str:
    """``Patient/p1``, ``https://host/fhir/Patient/p1`` and ``Patient/p1/_history/2`` → p1."""
    parts = ref.split("/_history/")[0].split("/")
    return parts[-1] if len(parts) >= 2 and parts[-2] == "Patient" else ref


# --- one patient ----------------------------------------------------------------------------


def derive(
    patient: dict[str, Any],
    resources: list[tuple[str, str, dict[str, Any]]],
    file: str,
    where: str,
    *,
    medications: dict[str, Any],
    recorded: frozenset[str],
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """The profile JSON of one Patient (at ``where`` in ``file``) from its resources, each
    given as (file, place, resource).

    ``recorded``: the resource types the input holds at all (for any patient): a list the
    profile keeps as "not recorded" only when nothing of its kind was exported.
    """
    pmodel = _validated(patient, file, where)
    draft = mapping.Draft({"id": str(pmodel.id or "")})
    if not pmodel.id:
        raise InputError("a Patient without an id", file, f"{where}.id")
    if as_of is not None:
        draft.profile["screening_date"] = as_of.isoformat()
    mapping.patient(pmodel, draft)
    if recorded & CONDITION_TYPES:
        draft.profile["conditions"] = []
    if recorded & TREATMENT_TYPES:
        draft.profile["treatments"] = []
    for source, place, data in resources:
        rtype = data["resourceType"]
        if rtype not in MAPPED:
            draft.ignore(f"{rtype}/{data.get('id', '?')}", f"resource type {rtype} is not read")
            continue
        model = _validated(data, source, place)
        _map(model, draft, medications)
    if draft.ignored:
        draft.profile["ignored"] = draft.ignored
    return draft.profile


def _map(model: Any, draft: mapping.Draft, medications: dict[str, Any]) -> None:
    rtype = model.get_resource_type()
    label = mapping.label_of(model)
    status = getattr(model, "status", None)
    if status in mapping.NEVER_USED.get(rtype, ()):
        draft.ignore(label, f"status {status}: never used")
    elif rtype == "Observation":
        mapping.observation(model, draft)
    elif rtype == "Condition":
        mapping.condition(model, draft)
    elif rtype == "Procedure":
        mapping.procedure(model, draft)
    elif rtype == "AllergyIntolerance":
        draft.ignore(label, "allergies are not part of a profile: criteria on them need review")
    elif rtype == "Basic":
        if not mapping.review(model, draft):
            draft.ignore(label, "a Basic resource that is not a review")
    else:
        mapping.medication(model, draft, medications)


def _profile(data: dict[str, Any], file: str, where: str) -> Patient | InputError:
    try:
        return patient_from_data(data, file, where)
    except InputError as exc:
        return exc


# --- Bundles and Patients (JSON) ------------------------------------------------------------


def from_json(data: dict[str, Any], file: str) -> list[Patient | InputError]:
    """A Bundle (collection, searchset, transaction, document …) or a Patient with contained
    resources: one profile per Patient resource; a malformed input is one error."""
    try:
        _require(file)
        return _from_json(data, file)
    except InputError as exc:
        return [exc]


def _entries(data: dict[str, Any], file: str) -> list[tuple[str, dict[str, Any], str | None]]:
    """(place, resource, fullUrl) of every resource, contained ones included."""
    rtype = data.get("resourceType")
    out: list[tuple[str, dict[str, Any], str | None]] = []
    if rtype == "Bundle":
        entries = data.get("entry", [])
        if not isinstance(entries, list):
            raise InputError("expected a list of entries", file, "$.entry")
        for i, entry in enumerate(entries):
            place = f"$.entry[{i}]"
            if not isinstance(entry, dict):
                raise InputError("expected an entry (a JSON object)", file, place)
            if "resource" not in entry:
                continue  # a transaction's delete or a search outcome without a resource
            resource = _shape(entry["resource"], file, f"{place}.resource")
            url = entry.get("fullUrl")
            out.append((f"{place}.resource", resource, url if isinstance(url, str) else None))
    elif rtype == "Patient":
        out.append(("$", _shape(data, file, "$"), None))
    else:
        raise InputError(f"a {rtype} resource; expected a Bundle or a Patient", file, "$")
    for place, resource, _url in list(out):
        contained = resource.get("contained", [])
        if not isinstance(contained, list):
            raise InputError("expected a list of resources", file, f"{place}.contained")
        for j, item in enumerate(contained):
            out.append(
                (f"{place}.contained[{j}]", _shape(item, file, f"{place}.contained[{j}]"), None)
            )
    return out


def _from_json(data: dict[str, Any], file: str) -> list[Patient | InputError]:
    _shape(data, file, "$")
    entries = _entries(data, file)
    patients = [(p, r) for p, r, _ in entries if r["resourceType"] == "Patient"]
    if not patients:
        raise InputError("holds no Patient resource", file, "$")
    keys: dict[str, int] = {}
    owners = [(r, url) for _, r, url in entries if r["resourceType"] == "Patient"]
    for n, (resource, url) in enumerate(owners):
        pid = resource.get("id")
        if isinstance(pid, str):
            keys[f"Patient/{pid}"] = n
            keys[pid] = n
        if url:
            keys[url] = n
    medications = {}
    for place, resource, url in entries:
        if resource["resourceType"] == "Medication":
            model = _validated(resource, file, place)
            for key in (f"Medication/{model.id}", f"#{model.id}", url):
                if key:
                    medications[key] = model
    grouped: list[list[tuple[str, str, dict[str, Any]]]] = [[] for _ in patients]
    recorded = frozenset(r["resourceType"] for _, r, _ in entries)
    for place, resource, _url in entries:
        if resource["resourceType"] in ("Patient", "Medication"):
            continue
        n = _owner(resource, place, file, keys, len(patients))
        if n is not None:
            grouped[n].append((file, place, resource))
    when = _timestamp(data)
    out: list[Patient | InputError] = []
    for (place, resource), items in zip(patients, grouped, strict=True):
        profile = derive(
            resource, items, file, place, medications=medications, recorded=recorded, as_of=when
        )
        out.append(_profile(profile, file, f"Patient/{profile['id']} (derived profile)"))
    return out


def _owner(
    resource: dict[str, Any], place: str, file: str, keys: dict[str, int], count: int
) -> int | None:
    """Which Patient a resource belongs to; None for one that names none (an Organization)."""
    ref = _reference(resource)
    if ref is None:
        if place.startswith("$.contained["):
            return 0  # contained in the Patient the file is
        if resource["resourceType"] in MAPPED and resource["resourceType"] != "Basic":
            if count == 1:
                return 0
            field = _SUBJECT.get(resource["resourceType"], "subject")
            raise InputError("names no patient (several in the bundle)", file, f"{place}.{field}")
        return None
    if ref == "#" and count == 1:
        return 0
    n = keys.get(ref, keys.get(_patient_key(ref)))
    if n is None:
        field = _SUBJECT.get(resource["resourceType"], "subject")
        raise InputError(
            f"reference {ref!r} names no Patient in the bundle", file, f"{place}.{field}.reference"
        )
    return n


def _timestamp(data: dict[str, Any]) -> dt.date | None:
    """``Bundle.timestamp``: when the bundle was assembled, the profile's screening date."""
    stamp = data.get("timestamp") if data.get("resourceType") == "Bundle" else None
    if not isinstance(stamp, str) or len(stamp) < 10:
        return None
    try:
        return dt.date.fromisoformat(stamp[:10])
    except ValueError:
        return None


# --- Bulk Data (NDJSON) ---------------------------------------------------------------------


def bulk_files(path: Path) -> list[Path]:
    """A folder's ``*.ndjson`` files in name order, or the one file named."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() == ".ndjson" and p.is_file())
    return [path]


class _Export:
    """A Bulk Data export's files, open for the second pass, and where each line starts.

    A resource is named by one int, its file's number and its line number (``_LINE_BITS``);
    the line's byte offset is in ``starts``: 8 bytes a line, plus 8 a resource in the index.
    """

    def __init__(self, files: list[Path], stack: ExitStack) -> None:
        self.files = files
        self.starts: list[array[int]] = [array("q") for _ in files]
        self.handles: list[IO[bytes] | None] = [None] * len(files)
        self._stack = stack

    def lines(self, fi: int, bad: list[InputError]) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, resource) per line of file ``fi``; a bad line goes to ``bad``."""
        file, starts = self.files[fi], self.starts[fi]
        try:
            fh = self._stack.enter_context(self.files[fi].open("rb"))
        except OSError as exc:
            bad.append(InputError(f"cannot read: {exc.strerror or exc}", str(file)))
            return
        self.handles[fi] = fh
        while True:
            starts.append(fh.tell())
            raw = fh.readline(MAX_JSONL_LINE_BYTES + 1)
            if not raw:
                return
            n = len(starts)
            if len(raw) > MAX_JSONL_LINE_BYTES:
                while raw and not raw.endswith(b"\n"):
                    raw = fh.readline(MAX_JSONL_LINE_BYTES)
                limit = f"{MAX_JSONL_LINE_BYTES // (1024 * 1024)} MiB"
                bad.append(
                    InputError(f"line is longer than the {limit} limit", str(file), f"line {n}")
                )
                continue
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
                yield n, _shape(parse_json(text, str(file), n), str(file), f"line {n}: $")
            except UnicodeDecodeError:
                bad.append(InputError("not UTF-8 text", str(file), f"line {n}"))
            except InputError as exc:
                bad.append(exc)

    def read(self, place: int) -> tuple[Path, int, dict[str, Any]]:
        """(file, line number, resource) of a place the first pass saw, read again."""
        fi, n = place >> _LINE_BITS, place & ((1 << _LINE_BITS) - 1)
        fh = self.handles[fi]
        assert fh is not None  # the first pass opened it
        fh.seek(self.starts[fi][n - 1])
        raw = fh.readline(MAX_JSONL_LINE_BYTES + 1)
        return self.files[fi], n, parse_json(raw.decode("utf-8-sig"), str(self.files[fi]), n)


def iter_bulk(path: Path) -> Iterator[Patient | InputError]:
    """One profile per Patient of a Bulk Data export; a bad line or patient is its error."""
    files = bulk_files(path)
    try:
        _require(str(path))
    except InputError as exc:
        yield exc
        return
    if not files:
        yield InputError("no .ndjson files", str(path))
        return
    with ExitStack() as stack:
        export = _Export(files, stack)
        patients: dict[str, int] = {}
        index: dict[str, array[int]] = {}
        medications: dict[str, Any] = {}
        recorded: set[str] = set()
        bad: list[InputError] = []
        for fi, file in enumerate(files):
            for n, data in export.lines(fi, bad):
                rtype = data["resourceType"]
                recorded.add(rtype)
                place = fi << _LINE_BITS | n
                if rtype == "Patient" and isinstance(data.get("id"), str):
                    patients.setdefault(data["id"], place)
                elif rtype == "Medication":
                    try:
                        model = _validated(data, str(file), f"line {n}")
                        medications[f"Medication/{model.id}"] = model
                    except InputError as exc:
                        bad.append(exc)
                else:
                    ref = _reference(data)
                    if ref is not None:
                        index.setdefault(_patient_key(ref), array("q")).append(place)
        yield from bad
        for key, places in index.items():
            if key not in patients:
                yield _orphans(export, places)
        kinds = frozenset(recorded)
        for pid, place in patients.items():
            yield _bulk_patient(export, pid, place, index.get(pid, array("q")), medications, kinds)


def _orphans(export: _Export, places: array[int]) -> InputError:
    """Resources naming a patient the export does not hold: one error, at the first."""
    file, n, data = export.read(places[0])
    field = _SUBJECT.get(data["resourceType"], "subject")
    more = f" ({len(places) - 1} more resources of it)" if len(places) > 1 else ""
    return InputError(
        f"reference {_reference(data)!r} names no Patient in the export{more}",
        str(file),
        f"line {n}: $.{field}.reference",
    )


def _bulk_patient(
    export: _Export,
    pid: str,
    place: int,
    places: array[int],
    medications: dict[str, Any],
    recorded: frozenset[str],
) -> Patient | InputError:
    file, n, patient = export.read(place)
    items = []
    for p in places:
        other, k, data = export.read(p)
        items.append((str(other), f"line {k}: $", data))
    where = f"line {n}"
    try:
        profile = derive(
            patient, items, str(file), where, medications=medications, recorded=recorded
        )
    except InputError as exc:
        return exc
    return _profile(profile, str(file), f"{where}: Patient/{pid} (derived profile)")
