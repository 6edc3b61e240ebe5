"""``eligibility convert BUNDLE|DIR …``: the profile JSON the engine derives from FHIR input.

So a reviewer can check the mapping: one profile, pretty-printed, for one patient; one a line
(JSONL) for several. What could not be mapped is in each profile's ``ignored`` list. The output
is a profile file like any other: screening it gives the same statuses as the FHIR input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import InputError
from ..patient import Patient

_LISTS_KEPT_EMPTY = ("conditions", "treatments")  # [] says "none"; no key, "not recorded"


def profile_json(patient: Patient) -> dict[str, Any]:
    """A profile as JSON data that loads back into the same ``Patient``."""
    data = patient.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {k: v for k, v in data.items() if v != [] or k in _LISTS_KEPT_EMPTY}


def profiles(paths: Iterable[str | Path]) -> Iterator[Patient | InputError]:
    """Every profile of the inputs, FHIR or not, in order; a bad record is its error."""
    from ..loaders import iter_patients

    for path in paths:
        yield from iter_patients(path)


def run(paths: list[str], out: IO[str], err: IO[str]) -> int:
    """Write the profiles to ``out`` and each bad record to ``err``; 0, or 2 if any was bad.

    A single profile is pretty-printed; more are JSONL, each written as it is derived.
    """
    items = profiles(paths)
    first = next(items, None)
    second = next(items, None)
    if first is None:
        raise InputError("no patient in the input", paths[0] if paths else None)
    bad = 0

    def emit(item: Patient | InputError, indent: int | None) -> None:
        nonlocal bad
        if isinstance(item, InputError):
            bad += 1
            err.write(f"skipped: {item}\n")
            return
        out.write(json.dumps(profile_json(item), ensure_ascii=False, indent=indent) + "\n")

    if second is None:
        if isinstance(first, InputError):
            raise first
        emit(first, 2)
        return 0
    for item in (first, second, *items):
        emit(item, None)
    return 2 if bad else 0
