"""A seeded synthetic OMOP extract (Parquet) for tests and benchmarks.

Persons carry the labs, conditions and drugs the seed trials (``rules/``) ask about, written the
way warehouses write them: LOINC codes or local test names in ``measurement_source_value``, mixed
units (platelets in 10^9/L and /mm3, bilirubin in mg/dL and µmol/L, a few units nobody can
convert), reference ranges (sometimes absent), missing values, undated and stale results and
same-day duplicates, ICD-10-CM codes with and without dots, resolved and history codes, drug
names, brand names and regimens, with and without dates. The distributions are invented to
exercise every branch of the rules, not to look like any real population. The same seed always
writes the same files.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from .. import vocab

REFERENCE_DATE = date(2024, 3, 1)
"""Results and diagnoses are dated around this day (screen with ``--as-of 2024-03-01``)."""

# analyte id: (typical low, typical high, normal range low, high) in the analyte's own unit:
# invented, to put results on both sides of the seed trials' thresholds.
_LABS: dict[str, tuple[float, float, float, float]] = {
    "neutrophils": (0.5, 8.0, 1.8, 7.5),
    "platelets": (40.0, 400.0, 150.0, 400.0),
    "hemoglobin": (7.0, 17.0, 12.0, 17.0),
    "albumin": (2.5, 5.0, 3.5, 5.0),
    "total_bilirubin": (0.2, 4.0, 0.2, 1.2),
    "alt": (8.0, 200.0, 7.0, 40.0),
    "ast": (8.0, 200.0, 8.0, 40.0),
    "creatinine": (0.4, 3.0, 0.6, 1.2),
    "inr": (0.8, 2.0, 0.8, 1.2),
    "ca19_9": (1.0, 120.0, 0.0, 37.0),
    "t3": (0.5, 4.0, 1.2, 2.8),
    "t4": (30.0, 200.0, 60.0, 150.0),
    "systolic_bp": (95.0, 180.0, 90.0, 140.0),
    "diastolic_bp": (55.0, 110.0, 60.0, 90.0),
    "hbv_dna": (0.0, 50000.0, 0.0, 0.0),
    "body_weight": (45.0, 110.0, 0.0, 0.0),
}
_BAD_UNITS = ("furlongs", "G/L", "")

_CODES = (
    "C22.1",
    "C221",
    "C22.0",
    "C22.7",
    "C78.7",
    "C79.31",
    "C79.3",
    "C18.9",
    "C44.91",
    "D06.9",
    "C73",
    "Z85.3",
    "B18.1",
    "B18.0",
    "B18.2",
    "B19.10",
    "Z22.51",
    "B20",
    "Z21",
    "A15.0",
    "Z86.11",
    "J84.10",
    "J68.0",
    "M32.9",
    "K75.4",
    "K74.60",
    "K70.31",
    "R18.8",
    "K72.90",
    "K76.82",
    "E80.4",
    "K83.01",
    "I10",
    "I15.0",
    "F10.21",
    "F11.20",
    "E11.9",
    "J45.909",
    "K21.9",
    "L40.0",
)
_DRUGS = (
    "toripalimab",
    "Keytruda",
    "nivolumab",
    "atezolizumab",
    "ipilimumab",
    "lenvatinib",
    "Lenvima",
    "sorafenib",
    "GEMOX",
    "gemcitabine",
    "oxaliplatin",
    "capecitabine",
    "prednisone",
    "dexamethasone",
    "methotrexate",
    "tacrolimus",
    "aspirin",
    "metformin",
    "entecavir",
    "chemotherapy",
)
_PROCEDURES = ("hepatectomy", "TACE", "radiotherapy", "liver transplantation")


def _term(rng: random.Random, a: vocab.Analyte) -> str:
    choices = [*a.loinc[:1], a.name, *a.synonyms[:3]]
    return rng.choice(choices) if choices else a.id


def _unit(rng: random.Random, a: vocab.Analyte) -> str | None:
    if rng.random() < 0.01:
        return rng.choice(_BAD_UNITS)
    units = [u for u in a.units if "log10" not in u] or [a.unit or "1"]
    u = rng.choice(units)
    return None if u == "1" and rng.random() < 0.5 else u


def _in_unit(value: float, a: vocab.Analyte, unit: str | None) -> float:
    try:
        return round(vocab.convert(value, a.unit, unit, a.id), 4)
    except vocab.UnitError:
        return round(value, 4)


def _day(rng: random.Random, back: int) -> date:
    return REFERENCE_DATE - timedelta(days=rng.randint(-5, back))


_EXTRA = {  # the CDM's own id and concept columns (read with the concept tables only)
    "person": ((), ()),
    "measurement": (("measurement_id",), ("measurement_concept_id", "unit_concept_id")),
    "condition_occurrence": (
        ("condition_occurrence_id",),
        ("condition_concept_id", "condition_source_concept_id"),
    ),
    "drug_exposure": (("drug_exposure_id",), ("drug_concept_id",)),
    "procedure_occurrence": (("procedure_occurrence_id",), ("procedure_concept_id",)),
}


def tables() -> dict[str, dict[str, list]]:
    from .extract import COLUMNS

    t = {
        name: {k: [] for k in (*_EXTRA[name][0], *COLUMNS[name], *_EXTRA[name][1])}
        for name in COLUMNS
    }
    observation = ("observation_id", "person_id", "observation_concept_id")
    rest = ("observation_source_value", "observation_date", "value_as_string")
    t["observation"] = {k: [] for k in (*observation, *rest)}
    return t


def _end(rng: random.Random, start: date | None, share: float, days: int) -> date | None:
    if start is None or rng.random() >= share:
        return None
    return start + timedelta(days=rng.randint(0, days))


def add_entry(
    table: dict[str, list], pid: int, name: str, start: date | None, end: date | None
) -> None:
    """One condition, drug exposure or procedure: row id, person, source value, start, end,
    and a concept id of 0 (unmapped), in the table's column order."""
    columns = list(table)
    row = (len(table[columns[0]]) + 1, pid, name, start, end, *[0] * (len(columns) - 5))
    for column, value in zip(columns, row, strict=True):
        table[column].append(value)


def add_person(rng: random.Random, p: dict[str, list], pid: int) -> None:
    """A person aged 12-88 at the reference date; a few without month and day of birth or
    with a day no month has, some of no recorded sex."""
    p["person_id"].append(pid)
    p["gender_concept_id"].append(
        rng.choice((8507, 8532, 8507, 8532, 0) if rng.random() < 0.1 else (8507, 8532))
    )
    age = rng.randint(12, 88)
    p["year_of_birth"].append(REFERENCE_DATE.year - age)
    partial = rng.random() < 0.03
    p["month_of_birth"].append(None if partial else rng.randint(1, 12))
    p["day_of_birth"].append(None if partial else rng.randint(1, 28 if rng.random() < 0.9 else 31))


def add_measurement(
    m: dict[str, list],
    pid: int,
    term: str,
    when: date | None,
    value: float | None,
    unit: str | None,
    lo: float | None,
    hi: float | None,
) -> None:
    """One measurement row, unmapped (concept id 0)."""
    m["measurement_id"].append(len(m["person_id"]) + 1)
    m["person_id"].append(pid)
    m["measurement_concept_id"].append(0)
    m["unit_concept_id"].append(0)
    m["measurement_source_value"].append(term)
    m["measurement_date"].append(when)
    m["value_as_number"].append(value)
    m["unit_source_value"].append(unit)
    m["range_low"].append(lo)
    m["range_high"].append(hi)


def add_performance(rng: random.Random, m: dict[str, list], pid: int) -> None:
    """ECOG for most persons, Karnofsky for a few, by their LOINC codes."""
    for code, top in (("89247-1", 4), ("89243-0", 100)):
        if rng.random() < (0.8 if top == 4 else 0.15):
            when = _day(rng, 200)
            value = rng.randint(0, top) if top == 4 else rng.randrange(40, 101, 10)
            add_measurement(m, pid, code, when, float(value), None, None, None)


def synthesize(persons: int, seed: int = 0) -> dict[str, dict[str, list]]:
    """The tables as columns; ``write`` stores them."""
    rng = random.Random(seed)
    t = tables()
    analytes = [vocab.analyte(a) for a in _LABS]
    for pid in range(1, persons + 1):
        add_person(rng, t["person"], pid)
        m = t["measurement"]
        for a in analytes:
            assert a is not None
            if rng.random() < 0.12:
                continue
            lo, hi, ref_lo, ref_hi = _LABS[a.id]
            for _ in range(2 if rng.random() < 0.05 else 1):
                when = _day(rng, 120)
                for _dup in range(2 if rng.random() < 0.06 else 1):  # same-day duplicates
                    unit = _unit(rng, a)
                    value = rng.uniform(lo, hi)
                    term = _term(rng, a)
                    dated = None if rng.random() < 0.02 else when
                    v = None if rng.random() < 0.02 else _in_unit(value, a, unit)
                    ranged = ref_hi > 0 and rng.random() < 0.85
                    lo_ = _in_unit(ref_lo, a, unit) if ranged else None
                    hi_ = _in_unit(ref_hi, a, unit) if ranged else None
                    add_measurement(m, pid, term, dated, v, unit, lo_, hi_)
        add_performance(rng, m, pid)
        for _ in range(rng.choice((0, 1, 1, 2, 3, 4))):
            start = None if rng.random() < 0.05 else _day(rng, 3000)
            end = _end(rng, start, 0.25, 800)
            add_entry(t["condition_occurrence"], pid, rng.choice(_CODES), start, end)
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            start = None if rng.random() < 0.08 else _day(rng, 1500)
            add_entry(
                t["drug_exposure"], pid, rng.choice(_DRUGS), start, _end(rng, start, 0.6, 200)
            )
        if rng.random() < 0.1:
            add_entry(
                t["procedure_occurrence"], pid, rng.choice(_PROCEDURES), _day(rng, 2000), None
            )
        if rng.random() < 0.3:
            o = t["observation"]
            o["observation_id"].append(len(o["person_id"]) + 1)
            o["person_id"].append(pid)
            o["observation_concept_id"].append(0)
            o["observation_source_value"].append("smoking status")
            o["observation_date"].append(_day(rng, 400))
            o["value_as_string"].append(rng.choice(("never", "former", "current")))
    return t


_TYPES = {
    "_id": "int64",
    "year": "int32",
    "month": "int32",
    "day_of": "int32",
    "date": "date32",
    "value_as_number": "float64",
    "range": "float64",
}


def _type(column: str):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    if column in ("vocabulary_id", "concept_class_id", "relationship_id"):
        return pa.string()
    for key, kind in _TYPES.items():
        if key in column:
            return {
                "int64": pa.int64(),
                "int32": pa.int32(),
                "date32": pa.date32(),
                "float64": pa.float64(),
            }[kind]
    return pa.string()


def write(tables: dict[str, dict[str, list]], folder: Path) -> list[Path]:
    """One Parquet file per table (``NAME.parquet``), written beside and renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, columns in tables.items():
        table = pa.table({k: pa.array(v, type=_type(k)) for k, v in columns.items()})
        target = folder / f"{name}.parquet"
        partial = folder / f".{name}.parquet.part"
        pq.write_table(table, partial)
        partial.replace(target)
        written.append(target)
    return written


LOCAL_CONCEPTS = 2_000_000_001
"""OMOP keeps concept ids above 2,000,000,000 for local concepts: the synthetic ones."""


class _Concepts:
    """The ``concept`` and ``concept_relationship`` rows written so far, one id per code."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}
        self.concept: dict[str, list] = {
            k: [] for k in ("concept_id", "concept_name", "vocabulary_id", "concept_class_id")
        }
        self.concept["concept_code"] = []
        self.concept["standard_concept"] = []
        self.relationship: dict[str, list] = {
            k: [] for k in ("concept_id_1", "concept_id_2", "relationship_id")
        }

    def id(self, vocabulary: str, code: str, name: str, cls: str, standard: str = "S") -> int:
        key = (vocabulary, code)
        if key not in self.ids:
            self.ids[key] = LOCAL_CONCEPTS + len(self.ids)
            row = (self.ids[key], name, vocabulary, cls, code, standard)
            for column, value in zip(self.concept, row, strict=True):
                self.concept[column].append(value)
        return self.ids[key]

    def relate(self, a: int, b: int, relationship: str) -> None:
        for column, value in zip(self.relationship, (a, b, relationship), strict=True):
            self.relationship[column].append(value)


def _ucum() -> dict[str, str]:
    from ..vocab.data import _load

    return {str(k): str(v) for k, v in _load("ucum.yaml")["units"].items()}


def _rxnorm() -> dict[str, str]:
    from ..vocab.data import _load

    return {str(e["concept"]): str(e["code"]) for e in _load("rxnorm.yaml")["codes"]}


def with_concepts(tables: dict[str, dict[str, list]]) -> dict[str, dict[str, list]]:
    """The same extract coded as a warehouse codes it: each term the vocabulary reads the same
    way through a concept (a LOINC code, a UCUM unit, an ICD-10-CM source concept, a SNOMED CT
    concept ``snomed.yaml`` maps to the same entry, an RxNorm ingredient or a clinical drug
    "RxNorm has ing" it) becomes that concept id and its source value is left empty; the rest
    keep their source values. Adds ``concept`` and ``concept_relationship``. The concepts are
    local (ids above 2,000,000,000); codes are the real LOINC, UCUM, ICD-10-CM, SNOMED CT and
    (where ``rxnorm.yaml`` has them) RxNorm codes, other ingredients a ``local:`` code."""
    from ..facts import _drug_id, condition_hits
    from ..vocab.concepts import _icd_normal
    from .concepts import snomed_names
    from .mapping import performance_codes

    c = _Concepts()
    out = {name: {k: list(v) for k, v in cols.items()} for name, cols in tables.items()}
    m = out["measurement"]
    ucum = _ucum()
    perf = {*performance_codes("ecog"), *performance_codes("karnofsky")}
    for i, term in enumerate(m["measurement_source_value"]):
        a = vocab.analyte(term) if term else None
        code = term if term in perf else (a.loinc[0] if a is not None and a.loinc else None)
        if code is not None:
            m["measurement_concept_id"][i] = c.id("LOINC", code, a.name if a else code, "Lab Test")
            m["measurement_source_value"][i] = None
        unit = m["unit_source_value"][i]
        canonical = vocab.unit(unit) if unit else None
        ucum_code = ucum.get(canonical or "")
        if ucum_code is not None and vocab.unit(ucum_code) == canonical:
            m["unit_concept_id"][i] = c.id("UCUM", ucum_code, ucum_code, "Unit")
            m["unit_source_value"][i] = None
    co = out["condition_occurrence"]
    snomed = {name: code for code, name in snomed_names()}
    for i, term in enumerate(co["condition_source_value"]):
        code = _icd_normal(term) if term else None
        if code is None:
            continue
        concept = vocab.condition(term)
        sct = snomed.get(concept.name) if concept is not None else None
        if (
            sct is not None
            and condition_hits(term, None) == condition_hits(None, concept.name)  # type: ignore[union-attr]
            and not vocab.inactive_code(term)
            and not [x for x in vocab.conditions() if concept.id in x.parents]  # type: ignore[union-attr]
        ):  # a SNOMED CT concept only where it says what the code says
            co["condition_concept_id"][i] = c.id("SNOMED", sct, concept.name, "Clinical Finding")  # type: ignore[union-attr]
        else:
            co["condition_source_concept_id"][i] = c.id("ICD10CM", code, code, "ICD10 code", "")
        co["condition_source_value"][i] = None
    d = out["drug_exposure"]
    rxnorm = _rxnorm()
    for i, name in enumerate(d["drug_source_value"]):
        agent = vocab.drug(name) if name else None
        if agent is None or agent.kind != "drug" or _drug_id(agent.name) != agent.id:
            continue
        code = rxnorm.get(agent.id, f"local:{agent.id}")
        ingredient = c.id("RxNorm", code, agent.name, "Ingredient")
        if i % 2:
            drug = c.id(
                "RxNorm",
                f"local:{agent.id}:100mg",
                f"{agent.name} 100 MG Injection",
                "Clinical Drug",
            )
            if drug not in c.relationship["concept_id_1"]:
                c.relate(drug, ingredient, "RxNorm has ing")
            ingredient = drug
        d["drug_concept_id"][i] = ingredient
        d["drug_source_value"][i] = None
    out["concept"] = c.concept
    out["concept_relationship"] = c.relationship
    return out
