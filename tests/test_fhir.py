"""FHIR R4 input (issue 14): Bundles, a Patient with contained resources and a Bulk Data export
screen criterion for criterion like their profile twins; UCUM codes convert or are named;
malformed FHIR is one located line; nothing is dropped without being listed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility import load_patient, load_rules, screen, vocab
from eligibility.cli import main
from eligibility.errors import InputError
from eligibility.fhir.convert import profile_json
from eligibility.fhir.read import from_json
from eligibility.fhir.units import convert, ucum_code
from eligibility.loaders import iter_patients, patient_from_data
from eligibility.patient import Patient
from eligibility.vocab.data import _load

ROOT = Path(__file__).resolve().parent.parent
FHIR = ROOT / "examples" / "fhir"
TWINS = FHIR / "twins"
HCC, ICC = ROOT / "rules/NCT03859128.yaml", ROOT / "rules/NCT04669496.yaml"
AS_OF = date(2024, 3, 1)

# (FHIR input, rules, [(twin profile, verdict)]): the README's "FHIR input" table
EXAMPLES = [
    ("f01_eligible_hcc.bundle.json", HCC, [("f01_eligible_hcc.json", "eligible")]),
    ("f07_ineligible_hiv.bundle.json", ICC, [("f07_ineligible_hiv.json", "ineligible")]),
    (
        "f09_indeterminate_missing_labs.patient.json",
        ICC,
        [("f09_indeterminate_missing_labs.json", "indeterminate")],
    ),
    (
        "bulk",
        HCC,
        [
            ("B02-age.json", "ineligible"),
            ("B03-ecog.json", "ineligible"),
            ("B08-prior-pd1.json", "ineligible"),
        ],
    ),
]


@pytest.mark.parametrize(("source", "rules", "twins"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_fhir_examples_screen_like_their_profile_twins(source, rules, twins):
    trial = load_rules(rules)
    patients = list(iter_patients(FHIR / source))
    assert len(patients) == len(twins)
    for patient, (twin, verdict) in zip(patients, twins, strict=True):
        assert not isinstance(patient, Exception), patient
        got = screen(trial, patient, AS_OF)
        want = screen(trial, load_patient(TWINS / twin), AS_OF)
        assert got.verdict == want.verdict == verdict
        assert [(c.id, c.status) for c in got.criteria] == [(c.id, c.status) for c in want.criteria]


@pytest.mark.parametrize("source", [e[0] for e in EXAMPLES])
def test_convert_prints_a_profile_that_screens_the_same(source, tmp_path, capsys):
    """The converted profile is a profile like any other: it reloads into the same Patient."""
    assert main(["convert", str(FHIR / source)]) == 0
    out = capsys.readouterr().out
    lines = [out] if out.lstrip().startswith("{\n") else out.splitlines()
    converted = [patient_from_data(json.loads(text), "out") for text in lines]
    assert converted == [p for p in iter_patients(FHIR / source)]
    assert all(profile_json(p) == json.loads(t) for p, t in zip(converted, lines, strict=True))


def test_ignored_data_is_listed_in_json_and_table(capsys):
    bundle = str(FHIR / "f07_ineligible_hiv.bundle.json")
    assert main(["screen", str(ICC), bundle, "--format", "json"]) == 1
    ignored = json.loads(capsys.readouterr().out)["ignored"]
    assert "Condition/ruled-out-tb: verificationStatus refuted: never used" in ignored
    assert "MedicationRequest/cancelled: status cancelled: never used" in ignored
    assert any(line.startswith("AllergyIntolerance/penicillin: ") for line in ignored)
    assert main(["screen", str(ICC), bundle]) == 1
    assert "ignored: MedicationRequest/cancelled: status cancelled" in capsys.readouterr().out


def test_never_used_statuses_do_not_count():
    """An entered-in-error ALT of 320 U/L would fail NCT03859128 I… had it been read."""
    patient = load_patient(FHIR / "f01_eligible_hcc.bundle.json")
    assert [lab.value for lab in patient.labs if lab.test == "alanine aminotransferase"] == [32]
    assert any(i.resource == "Observation/alt-typo" for i in patient.ignored)
    f09 = load_patient(FHIR / "f09_indeterminate_missing_labs.patient.json")
    assert f09.treatments == []  # the not-taken pembrolizumab is no exposure


def _bundle(tmp_path: Path, data: object) -> str:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1960-01-01"}
OBS = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "1742-6"}]},
    "subject": {"reference": "Patient/nobody"},
    "valueQuantity": {"value": 30, "system": "http://unitsofmeasure.org", "code": "U/L"},
}
MALFORMED = [
    (
        "entry not a list",
        {"resourceType": "Bundle", "type": "collection", "entry": {"resource": PATIENT}},
        "$.entry: expected a list of entries",
    ),
    (
        "resource without resourceType",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": PATIENT}, {"resource": {"id": "x"}}],
        },
        "$.entry[1].resource.resourceType: a resource without resourceType",
    ),
    (
        "reference to a missing Patient",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": PATIENT}, {"resource": OBS}],
        },
        "$.entry[1].resource.subject.reference: reference 'Patient/nobody' names no Patient in the bundle",
    ),
    (
        "no Patient",
        {"resourceType": "Bundle", "type": "collection", "entry": []},
        "$: holds no Patient resource",
    ),
    (
        "a field of the wrong type",
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {**PATIENT, "birthDate": 1960}}],
        },
        "$.entry[0].resource.birthDate:",
    ),
    (
        "an unknown resource type",
        {"resourceType": "Bundel"},
        "$: a Bundel resource; expected a Bundle or a Patient",
    ),
]


@pytest.mark.parametrize(
    ("data", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_fhir_is_one_located_line(tmp_path, capsys, data, message):
    path = _bundle(tmp_path, data)
    assert main(["screen", str(HCC), path]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"error: {path}: {message}"), err
    assert main(["convert", path]) == 2


def test_a_bad_record_in_a_bulk_export_is_an_error_row_and_the_rest_are_screened(tmp_path, capsys):
    export = tmp_path / "export"
    shutil.copytree(FHIR / "bulk", export)
    with (export / "Observation.ndjson").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(OBS) + "\n")  # a lab of a patient the export does not hold
        fh.write('{"id": "no-type"}\n')
        bad = {**OBS, "subject": {"reference": "Patient/B03-ecog"}, "status": 7}
        fh.write(json.dumps(bad) + "\n")  # B03's own record is then bad: never screened without it
    assert main(["screen", str(HCC), str(export), "--format", "csv", "--as-of", "2024-03-01"]) == 2
    out, err = capsys.readouterr()
    rows = out.splitlines()[1:]
    verdicts = sorted(r.split(",")[3] for r in rows)
    assert verdicts == ["error", "error", "error", "ineligible", "ineligible"]
    assert "names no Patient in the export" in err
    n = sum(1 for _ in (FHIR / "bulk" / "Observation.ndjson").open())
    assert f"Observation.ndjson: line {n + 2}: $.resourceType: a resource without" in err
    assert f"Observation.ndjson: line {n + 3}: $.status" in err


def test_ndjson_is_accepted_as_a_file_and_a_folder(capsys):
    rc = main(
        ["screen", str(HCC), str(FHIR / "bulk"), "--format", "jsonl", "--as-of", "2024-03-01"]
    )
    assert rc == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["patient"] for r in rows] == ["B02-age", "B03-ecog", "B08-prior-pd1"]
    assert [r["source"] for r in rows] == [f"{FHIR / 'bulk'}#{n}" for n in (1, 2, 3)]
    # one file holding every resource type is a Bulk export too
    assert len(list(iter_patients(FHIR / "bulk" / "Patient.ndjson"))) == 3


# --- UCUM -----------------------------------------------------------------------------------

UCUM = [
    ("alt", 35, "[IU]/L", (35, "U/L")),
    ("alt", 0.5, "ukat/L", (30, "U/L")),
    ("neutrophils", 3100, "{cells}/uL", (3.1, "10^9/L")),
    ("platelets", 182, "10*3/uL", (182, "10^9/L")),
    ("hemoglobin", 129, "g/L", (12.9, "g/dL")),
    ("creatinine", 88.42, "umol/L", (1.0, "mg/dL")),
    ("egfr", 80, "mL/min/{1.73_m2}", (80, "mL/min/1.73m2")),
    ("weight", 150, "[lb_av]", (68.04, "kg")),
    ("inr", 1.1, "{INR}", (1.1, "1")),
    ("tsh", 2, "u[IU]/mL", (2, "mIU/L")),
    ("systolic_bp", 120, "mm[Hg]", (120, "mmHg")),
    # a unit of units.yaml pint cannot reach: kept, the analyte's conversions are the engine's
    ("hbv_dna", 500, "{copies}/mL", (500, "copies/mL")),
    # … and a clearance per body surface stays one, which units.yaml never turns into mL/min
    ("creatinine_clearance", 80, "mL/min/{1.73_m2}", (80, "mL/min/1.73m2")),
]
REFUSED = [
    ("hbv_dna", "{cells}/mL", "does not convert to IU/mL"),  # arbitrary units never meet
    ("weight", "Cel", "does not convert to kg"),
    ("alt", "furlong", "is not a UCUM unit"),
]


@pytest.mark.parametrize(("analyte", "value", "code", "want"), UCUM, ids=[u[2] for u in UCUM])
def test_ucum_codes_convert_to_the_analytes_unit(analyte, value, code, want):
    got = convert(value, code, vocab.analyte(analyte))
    assert isinstance(got, tuple) and got[1] == want[1]
    assert got[0] == pytest.approx(want[0], rel=1e-3)


@pytest.mark.parametrize(("analyte", "code", "problem"), REFUSED, ids=[r[1] for r in REFUSED])
def test_ucum_codes_that_do_not_convert_are_named(analyte, code, problem, tmp_path):
    got = convert(1.0, code, vocab.analyte(analyte))
    assert isinstance(got, str) and code in got and problem in got


def test_a_clearance_per_body_surface_is_never_read_as_ml_per_minute():
    with pytest.raises(vocab.UnitError):
        vocab.conversion_factor("mL/min/1.73m2", "mL/min", "creatinine_clearance")


def test_an_unconvertible_lab_is_unknown_naming_the_unit(tmp_path):
    obs = {**OBS, "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2024-02-20"}
    obs["valueQuantity"] = {"value": 30, "system": "http://unitsofmeasure.org", "code": "mg/dL"}
    obs["referenceRange"] = [
        {"high": {"value": 40, "system": "http://unitsofmeasure.org", "code": "U/L"}}
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": PATIENT}, {"resource": obs}],
    }
    patient = load_patient(_bundle(tmp_path, bundle))
    result = screen(load_rules(HCC), patient, AS_OF)
    assert patient.labs[0].unit == "mg/dL"
    alt = next(c for c in screen(load_rules(ICC), patient, AS_OF).criteria if c.id == "I6.4b")
    assert alt.status == "unknown" and "mg/dL" in alt.reason
    assert result.verdict != "eligible"


def test_every_unit_an_analyte_is_measured_in_has_a_ucum_code():
    units = {a.unit for a in vocab.analytes() if a.unit}
    missing = sorted(u for u in units if ucum_code(u) is None)
    assert not missing, f"vocab/ucum.yaml has no UCUM code for {missing}"
    for unit in units:
        a = next(a for a in vocab.analytes() if a.unit == unit)
        assert convert(1.0, ucum_code(unit), a) == (1.0, unit)


# --- vocabulary -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "resolve"), [("snomed.yaml", vocab.condition), ("rxnorm.yaml", vocab.drug)]
)
def test_every_mapped_concept_exists(name, resolve):
    data = _load(name)
    assert data["source"]
    codes = [e["code"] for e in data["codes"]]
    assert len(codes) == len(set(codes)), "a code mapped twice"
    for e in data["codes"]:
        concept = resolve(e["concept"])
        assert concept is not None and concept.id == e["concept"], e
        assert e["display"]


def test_every_loinc_field_code_is_not_an_analyte():
    """loinc.yaml holds what analytes.yaml does not: a code in both would be read twice."""
    for spec in _load("loinc.yaml")["fields"].values():
        for code in spec.get("loinc", ()):
            assert vocab.analyte(code) is None, code


# --- start-up -------------------------------------------------------------------------------


def test_profile_screening_does_not_import_fhir():
    """``--version`` and a profile screening keep their start-up: the FHIR models, the UCUM
    registry and this project's FHIR reader load only when FHIR input is read."""
    heavy = ("fhir", "fhir.resources", "ucumvert", "eligibility.fhir.read")
    code = (
        "import sys\nfrom eligibility.cli import main\n"
        f"main(['screen', {str(HCC)!r}, {str(ROOT / 'examples/patients/p01_eligible_hcc.json')!r},"
        " '--format', 'json'])\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]"


def test_readme_fhir_commands_run_as_printed(tmp_path, capsys, monkeypatch):
    """The commands at the top of the README's "FHIR input" section, with their verdicts."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## FHIR input", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].split() for line in block.splitlines() if line.strip()]
    monkeypatch.chdir(ROOT)
    codes = []
    for words in commands:
        assert words[0] == "eligibility"
        codes.append(main(words[1:]))
    capsys.readouterr()
    assert codes == [0, 1, 0]  # eligible; three ineligible in the export; the converted profile


def _obs(oid: str, **fields: object) -> dict[str, object]:
    base = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
    }
    return {**base, "effectiveDateTime": "2024-02-20", **fields}


LOINC_CODE = {"coding": [{"system": "http://loinc.org", "code": "1742-6"}]}
ECOG = {"coding": [{"system": "http://loinc.org", "code": "89247-1"}]}
IGNORED = [
    (
        "a bound for a value",
        _obs(
            "a",
            code=LOINC_CODE,
            valueQuantity={
                "value": 5,
                "comparator": "<",
                "code": "U/L",
                "system": "http://unitsofmeasure.org",
            },
        ),
        "alanine aminotransferase: value <5 is a bound, not a value",
    ),
    (
        "a coded result",
        _obs("a", code=LOINC_CODE, valueCodeableConcept={"text": "normal"}),
        "a coded or text result",
    ),
    (
        "no value, with the reason",
        _obs("a", code=LOINC_CODE, dataAbsentReason={"text": "specimen haemolysed"}),
        "no value (specimen haemolysed)",
    ),
    (
        "an unknown code",
        _obs(
            "a",
            code={"coding": [{"system": "http://loinc.org", "code": "0000-0"}]},
            valueQuantity={"value": 1},
        ),
        "LOINC 0000-0 (no text) is not a test the vocabulary knows",
    ),
    (
        "an older ECOG",
        _obs("a", code=ECOG, valueInteger=2, effectiveDateTime="2023-01-01"),
        "an older ecog result; Observation/b of 2024-02-20 is used",
    ),
    (
        "a cancelled result",
        _obs("a", code=LOINC_CODE, status="cancelled"),
        "status cancelled: never used",
    ),
]


@pytest.mark.parametrize(
    ("resource", "reason"), [i[1:] for i in IGNORED], ids=[i[0] for i in IGNORED]
)
def test_what_cannot_be_mapped_is_listed_with_the_reason(tmp_path, resource, reason):
    newest = _obs("b", code=ECOG, valueInteger=1)
    entries = [
        {"resource": {**PATIENT, "birthDate": "1960"}},
        {"resource": resource},
        {"resource": newest},
    ]
    patient = load_patient(
        _bundle(tmp_path, {"resourceType": "Bundle", "type": "collection", "entry": entries})
    )
    assert any(i.resource == "Observation/a" and reason in i.reason for i in patient.ignored)
    assert ("Patient/p1", "birthDate 1960 is not a full date") in [
        (i.resource, i.reason) for i in patient.ignored
    ]
    assert patient.ecog == 1 and patient.labs == [] and patient.birth_date is None


def test_without_the_fhir_extra_fhir_input_says_how_to_install_it(tmp_path):
    code = (
        "import sys\nsys.modules['ucumvert'] = None\n"  # as if not installed
        "from eligibility.cli import main\n"
        f"sys.exit(main(['screen', {str(HCC)!r}, {str(FHIR / 'f01_eligible_hcc.bundle.json')!r}]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2
    assert "FHIR input needs ucumvert: pip install 'eligibility[fhir]'" in out.stderr


def test_a_fhir_line_in_a_jsonl_file_says_where_fhir_is_read(tmp_path, capsys):
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(PATIENT) + "\n", encoding="utf-8")
    assert main(["screen", str(HCC), str(path), "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: line 1: a FHIR resource; FHIR NDJSON is read from .ndjson files" in err


_RESOURCE_TYPES = st.sampled_from(
    ["Patient", "Observation", "Condition", "MedicationStatement", "MedicationRequest",
     "Procedure", "Basic", "Medication", "Encounter", "Bundle", "Nonsense"]
)  # fmt: skip
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8)
    | st.sampled_from(["Patient/p1", "#", "final", "entered-in-error", "1742-6", "2024-02-20",
                       "http://loinc.org", "http://unitsofmeasure.org", "U/L", "[IU]/L"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(["resourceType", "id", "entry", "resource", "subject", "reference",
                         "code", "coding", "system", "valueQuantity", "value", "status",
                         "contained", "gender", "birthDate", "fullUrl", "component"]),
        inner | _RESOURCE_TYPES,
        max_size=5,
    ),
    max_leaves=25,
)  # fmt: skip


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    rtype=_RESOURCE_TYPES,
    body=st.dictionaries(st.text(max_size=3), _JSON, max_size=3),
    entries=st.lists(_JSON, max_size=4),
)
def test_any_json_with_a_resource_type_loads_or_fails_cleanly(rtype, body, entries):
    """Only InputError or profiles, never a crash: a FHIR input is as untrusted as a profile."""
    data = {**body, "resourceType": rtype, "entry": entries, "contained": entries}
    for item in from_json(data, "x.json"):
        assert isinstance(item, InputError | Patient)


def test_a_nested_resource_of_an_unknown_type_is_an_input_error():
    """fhir.resources raises a bare KeyError for it; found by mutating the examples."""
    data = json.loads((FHIR / "f07_ineligible_hiv.bundle.json").read_text())
    data["entry"][1]["resource"]["valueQuantity"] = {"resourceType": "2024"}
    (item,) = from_json(data, "b.json")
    assert isinstance(item, InputError) and str(item).startswith("b.json: $.entry[1].resource")
    # a contained resource of a type not read is listed, as any other
    patient = json.loads((FHIR / "f09_indeterminate_missing_labs.patient.json").read_text())
    patient["contained"][0]["resourceType"] = "2024"
    (item,) = from_json(patient, "p.json")
    assert any("resource type 2024 is not read" in i.reason for i in item.ignored)


def test_an_end_before_its_start_is_listed_and_not_used(tmp_path):
    condition = {
        "resourceType": "Condition",
        "id": "c",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "hypertension"},
        "clinicalStatus": {"coding": [{"code": "resolved"}]},
        "onsetDateTime": "2020-05-01",
        "abatementDateTime": "2019-01-01",
    }
    entries = [{"resource": PATIENT}, {"resource": condition}]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    patient = load_patient(_bundle(tmp_path, bundle))
    assert patient.conditions[0].end is None and patient.conditions[0].status == "resolved"
    reasons = [(i.resource, i.reason) for i in patient.ignored]
    assert reasons == [("Condition/c", "end 2019-01-01 is before onset 2020-05-01")]


def test_an_unconfirmed_diagnosis_is_a_possible_one(tmp_path):
    """Read as absent, an unconfirmed HIV infection passed "no HIV infection": it may be one."""
    from eligibility.facts import MAYBE, condition_hits

    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "provisional",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "B20"}]},
    }
    entries = [{"resource": PATIENT}, {"resource": condition}]
    patient = load_patient(
        _bundle(tmp_path, {"resourceType": "Bundle", "type": "collection", "entry": entries})
    )
    [entry] = patient.conditions  # type: ignore[misc]
    assert entry.code is None and entry.name and "provisional" in entry.name
    hits = condition_hits(entry.code, entry.name)
    assert MAYBE + "hiv_infection" in hits and "hiv_infection" not in hits
    assert any("possible diagnosis" in i.reason for i in patient.ignored)


@pytest.mark.parametrize("name", ["snomed.yaml", "rxnorm.yaml"])
def test_every_mapped_code_names_its_check(name):
    """Each code was checked against a public copy of its code system, named in `checked`."""
    for e in _load(name)["codes"]:
        assert str(e.get("checked", "")).strip(), e
