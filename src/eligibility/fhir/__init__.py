"""FHIR R4 input: Bundles, Patients with contained resources and Bulk Data NDJSON exports,
read into patient profiles (``read``, ``mapping``, ``units``) and shown by ``eligibility
convert`` (``convert``). Nothing here is imported until FHIR input is detected: the models of
``fhir.resources`` and the UCUM registry cost ≈ 0.5 s and ≈ 0.8 s to load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NDJSON = ".ndjson"


def is_fhir(data: Any) -> bool:
    """A JSON object naming a ``resourceType`` is FHIR; a profile has no such key."""
    return isinstance(data, dict) and "resourceType" in data


def is_bulk(path: Path) -> bool:
    """A Bulk Data export: an ``.ndjson`` file, or a folder holding some."""
    if path.suffix.lower() == NDJSON:
        return True
    try:
        return path.is_dir() and any(p.suffix.lower() == NDJSON for p in path.iterdir())
    except OSError:
        return False
