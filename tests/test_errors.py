"""Hostile patient profiles: each class of bad input gets one located line and exit 2.

Every row is (name, file bytes, where, message fragment): the CLI must print exactly one line
``error: FILE: WHERE: MESSAGE`` on stderr, exit 2 and show no traceback. The names are the
rows of the hostile-input table in README.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eligibility.cli import main

ROOT = Path(__file__).resolve().parent.parent
HCC = str(ROOT / "rules/NCT03859128.yaml")


def profile(**fields: object) -> bytes:
    return json.dumps({"id": "x", **fields}).encode()


def lab(**fields: object) -> dict[str, object]:
    return {"test": "ALT", "value": 30, "unit": "U/L", **fields}


DEEP = b'{"id": "x", "labs": ' + b"[" * 100 + b"]" * 100 + b"}"
ABYSS = b'{"id": "x", "labs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

PROFILE_ERRORS = [
    # --- bytes and encodings
    ("empty file", b"", None, "file is empty"),
    ("whitespace only", b" \n\t\n", None, "file is empty"),
    ("non-UTF-8 bytes", b'{"id": "caf\xe9"}', "line 1", "not UTF-8 text (byte 0xe9 at offset 11)"),
    ("UTF-16 file", '{"id": "x"}'.encode("utf-16"), None, "UTF-16 text; save the file as UTF-8"),
    # --- JSON syntax
    (
        "malformed JSON",
        b'{"id": "x",',
        "line 1, column 12",
        "malformed JSON: Expecting property name",
    ),
    (
        "top-level string",
        b'"x"',
        None,
        "expected a JSON object (one patient profile), got a string",
    ),
    ("top-level null", b"null", None, "got null"),
    ("NaN", b'{"id": "x", "age": NaN}', None, "malformed JSON: NaN is not a number JSON allows"),
    ("Infinity", b'{"id": "x", "age": Infinity}', None, "Infinity is not a number JSON allows"),
    ("-Infinity", b'{"id": "x", "age": -Infinity}', None, "-Infinity is not a number JSON allows"),
    (
        "number overflowing to infinity",
        b'{"id": "x", "labs": [{"test": "ALT", "value": 1e999}]}',
        "$.labs[0].value",
        "not a finite number",
    ),
    (
        "integer of 5000 digits",
        b'{"id": "x", "ecog": ' + b"9" * 5000 + b"}",
        None,
        "malformed JSON: Exceeds the limit (4300 digits)",
    ),
    ("duplicate key", b'{"id": "x", "id": "y"}', None, "malformed JSON: duplicate key 'id'"),
    (
        "duplicate key in a lab",
        b'{"id": "x", "labs": [{"test": "ALT", "value": 1, "value": 2}]}',
        None,
        "duplicate key 'value'",
    ),
    ("nesting 100 deep", DEEP, "$.labs" + "[0]" * 63, "nested deeper than 64 levels"),
    ("nesting 100000 deep", ABYSS, None, "nested deeper than 64 levels"),
    # --- strings
    (
        "control character (ANSI escape) in a string",
        b'{"id": "\\u001b[2J"}',
        "$.id",
        "contains a control character (U+001B at character 0)",
    ),
    ("unpaired surrogate", b'{"id": "\\ud800"}', "$.id", "contains an unpaired surrogate (U+D800"),
    (
        "control character in a key",
        b'{"id": "x", "\\u0007": 1}',
        '$["?"]',
        "key contains a control character (U+0007",
    ),
    ("100 KB value is quoted short", profile(sex="a" * 100_000), "$.sex", "(got 'aaaaaaaa"),
    # --- types
    (
        "string for a number",
        profile(labs=[lab(value="85")]),
        "$.labs[0].value",
        "Input should be a valid number (got '85')",
    ),
    (
        "boolean for a number",
        profile(labs=[lab(value=True)]),
        "$.labs[0].value",
        "Input should be a valid number (got true)",
    ),
    ("string for ECOG", profile(ecog="1"), "$.ecog", "Input should be a valid integer (got '1')"),
    ("fraction for ECOG", profile(ecog=1.5), "$.ecog", "Input should be a valid integer (got 1.5)"),
    (
        "string for a flag",
        profile(pregnant="no"),
        "$.pregnant",
        "Input should be a valid boolean (got 'no')",
    ),
    (
        "number for a flag",
        profile(pregnant=0),
        "$.pregnant",
        "Input should be a valid boolean (got 0)",
    ),
    ("number for the id", profile(id=17), "$.id", "Input should be a valid string (got 17)"),
    ("object for a list", profile(labs={"test": "ALT"}), "$.labs", "Input should be a valid list"),
    # --- impossible values
    ("ECOG 9", profile(ecog=9), "$.ecog", "Input should be less than or equal to 5 (got 9)"),
    ("ECOG -1", profile(ecog=-1), "$.ecog", "greater than or equal to 0 (got -1)"),
    (
        "Karnofsky 75",
        profile(karnofsky=75),
        "$.karnofsky",
        "Karnofsky is given in steps of 10 (got 75)",
    ),
    ("Karnofsky 110", profile(karnofsky=110), "$.karnofsky", "less than or equal to 100"),
    ("age 200", profile(age=200), "$.age", "less than or equal to 130 (got 200)"),
    ("negative age", profile(age=-1), "$.age", "greater than or equal to 0"),
    (
        "negative ALT",
        profile(labs=[lab(value=-5)]),
        "$.labs[0].value",
        "ALT cannot be negative (alanine aminotransferase) (got -5)",
    ),
    (
        "negative ULN",
        profile(labs=[lab(ref_high=-40)]),
        "$.labs[0].ref_high",
        "ALT ref_high cannot be negative",
    ),
    (
        "negative blood pressure",
        profile(vitals=[{"name": "systolic blood pressure", "value": -1}]),
        "$.vitals[0].value",
        "cannot be negative",
    ),
    (
        "ref_low above ref_high",
        profile(labs=[lab(ref_low=50, ref_high=40)]),
        "$.labs[0]",
        "ref_low 50 is above ref_high 40",
    ),
    (
        "Child-Pugh class D",
        profile(child_pugh="D"),
        "$.child_pugh.class",
        "Input should be 'A', 'B' or 'C'",
    ),
    (
        "Child-Pugh score 3",
        profile(child_pugh={"score": 3}),
        "$.child_pugh.score",
        "greater than or equal to 5",
    ),
    (
        "Child-Pugh class and score disagree",
        profile(child_pugh={"class": "A", "score": 8}),
        "$.child_pugh",
        "score 8 is class B, not A",
    ),
    # --- dates
    (
        "date not ISO",
        profile(birth_date="01/02/1990"),
        "$.birth_date",
        "expected an ISO date YYYY-MM-DD (got '01/02/1990')",
    ),
    (
        "date as a timestamp",
        profile(birth_date=1700000000),
        "$.birth_date",
        "expected an ISO date YYYY-MM-DD (got 1700000000)",
    ),
    (
        "30 February",
        profile(birth_date="2024-02-30"),
        "$.birth_date",
        "day value is outside expected range",
    ),
    (
        "screening before birth",
        profile(birth_date="2030-01-01", screening_date="2024-03-01"),
        "$.screening_date",
        "is before birth_date 2030-01-01",
    ),
    # dates outside 1900-01-01 .. 2200-12-31 (eligibility.limits): typing errors, and arithmetic on them overflows
    (
        "birth date before 1900",
        profile(birth_date="1899-12-31"),
        "$.birth_date",
        "date 1899-12-31 is outside the plausible range 1900-01-01 to 2200-12-31",
    ),
    (
        "screening date in year 1",
        profile(screening_date="0001-03-01"),
        "$.screening_date",
        "date 0001-03-01 is outside the plausible range",
    ),
    (
        "lab dated in year 9999",
        profile(labs=[lab(date="9999-12-31")]),
        "$.labs[0].date",
        "date 9999-12-31 is outside the plausible range",
    ),
    (
        "review dated after 2200",
        profile(
            reviews=[{"trial": "T", "criterion": "I1", "status": "pass", "date": "2201-01-01"}]
        ),
        "$.reviews[0].date",
        "outside the plausible range",
    ),
    # age is completed years at the screening date: a birth date that contradicts it is a conflict, as for Child-Pugh
    (
        "age and birth date disagree",
        profile(age=40, birth_date="1990-01-01", screening_date="2024-03-01"),
        "$.age",
        "age 40 disagrees with birth_date 1990-01-01 (34 completed years on screening_date 2024-03-01)",
    ),
    (
        "treatment ends before it starts",
        profile(treatments=[{"name": "sorafenib", "start": "2024-02-01", "end": "2024-01-01"}]),
        "$.treatments[0]",
        "end 2024-01-01 is before start 2024-02-01",
    ),
    (
        "condition ends before onset",
        profile(conditions=[{"name": "HIV", "onset": "2024-02-01", "end": "2024-01-01"}]),
        "$.conditions[0]",
        "end 2024-01-01 is before onset 2024-02-01",
    ),
    # --- shape
    ("missing id", b'{"sex": "male"}', "$.id", "required field is missing"),
    ("empty id", profile(id=""), "$.id", "at least 1 character"),
    (
        "unknown field",
        profile(ecgo=1),
        "$.ecgo",
        "unknown field (not part of the format; check the spelling)",
    ),
    (
        "unknown field in a lab",
        profile(labs=[lab(units="U/L")]),
        "$.labs[0].units",
        "unknown field",
    ),
    (
        "condition without name or code",
        profile(conditions=[{"status": "active"}]),
        "$.conditions[0]",
        "a condition needs a name or a code",
    ),
]


@pytest.mark.parametrize(
    "name,content,where,message", PROFILE_ERRORS, ids=[row[0] for row in PROFILE_ERRORS]
)
def test_profile_error(tmp_path, capsys, name, content, where, message):
    path = tmp_path / "p.json"
    path.write_bytes(content)
    assert main(["screen", HCC, str(path)]) == 2
    err = capsys.readouterr().err
    prefix = f"error: {path}: " + (f"{where}: " if where else "")
    assert err.startswith(prefix), err[:300]
    assert message in err, err[:300]
    assert err.count("\n") == 1 and "Traceback" not in err
    assert len(err) < 400, "an error is one short line, whatever the input's size"


def test_missing_file(tmp_path, capsys):
    assert main(["screen", HCC, str(tmp_path / "nope.json")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope.json'}: file not found\n"


def test_directory_for_a_file(tmp_path, capsys):
    # A directory is read for its profiles (cohort screening, issue 5); an empty one is an error.
    assert main(["screen", HCC, str(tmp_path)]) == 2
    assert "no .yaml, .yml, .json or .jsonl files" in capsys.readouterr().err


def test_profile_over_the_size_limit(tmp_path, capsys):
    path = tmp_path / "big.json"
    path.write_bytes(b'{"id": "x", "pad": "' + b"a" * (16 * 1024 * 1024) + b'"}')
    assert main(["screen", HCC, str(path)]) == 2
    assert "file is larger than the 16 MiB limit for a JSON file" in capsys.readouterr().err


def test_byte_order_mark_is_accepted(tmp_path, capsys):
    src = ROOT / "examples/patients/p01_eligible_hcc.json"
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + src.read_bytes())
    assert main(["screen", HCC, str(path), "--format", "json"]) == 0


def test_hostile_files_never_show_a_traceback(tmp_path):
    """The real console script, as a user runs it: exit 2 and one line, for each kind of file."""
    for i, (_, content, _, message) in enumerate(PROFILE_ERRORS[::6]):
        path = tmp_path / f"p{i}.json"
        path.write_bytes(content)
        proc = subprocess.run(
            [sys.executable, "-m", "eligibility", "screen", HCC, str(path)],
            capture_output=True,
            check=False,
        )
        err = proc.stderr.decode()
        assert proc.returncode == 2 and message in err and "Traceback" not in err, err
