"""``eligibility parse`` end to end: record → rules YAML → validate → screen, and API v2 JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from eligibility.cli import main
from eligibility.loaders import load_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"


def test_parse_validate_screen_registry_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "tmp.yaml"
    assert main(["parse", str(ROOT / "seeds/NCT04669496_registry_page.txt"), "-o", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    capsys.readouterr()
    patient = ROOT / "examples/patients/p05_ineligible_alt_uln.json"
    code = main(["screen", str(out), str(patient), "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "ineligible"
    assert code == 1
    failed = [c for c in result["criteria"] if c["status"] == "fail"]
    assert [c["id"] for c in failed] == ["I6.4b"]  # the ALT/AST ≤ 3 × ULN criterion, computable
    assert "ALT" in failed[0]["text"]


def test_parse_api_v2_study(tmp_path: Path) -> None:
    out = tmp_path / "study.yaml"
    assert main(["parse", str(FIXTURES / "api_v2_study.json"), "-o", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    ruleset = load_rules(out)
    assert ruleset.trial.id == "NCT05000001"
    kinds = {c.id: c.rule.kind for c in ruleset.criteria}
    assert kinds["age"] == "age"  # the structured minimumAge/maximumAge fields
    assert {c.section for c in ruleset.criteria} == {"inclusion", "exclusion"}
    assert any(k not in {"manual", "age", "sex"} for k in kinds.values())


def test_parse_api_v2_list_names_a_bad_study(capsys: pytest.CaptureFixture[str]) -> None:
    # the fixture's third study has sex "BOTH SEXES": the other two are parsed, that one is a
    # located line on stderr, and the run exits 2 like a cohort screening with a bad input
    assert main(["parse", str(FIXTURES / "api_v2_studies.json")]) == 2
    out, err = capsys.readouterr()
    assert [d["trial"]["id"] for d in yaml.safe_load_all(out)] == ["NCT05000002", "NCT05000003"]
    assert err == (
        f"skipped: {FIXTURES / 'api_v2_studies.json'}: "
        "$.studies[2].protocolSection.eligibilityModule.sex: "
        "expected ALL, FEMALE or MALE, got 'BOTH SEXES'\n"
    )


def _study(nct: str, criteria: object) -> dict[str, object]:
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct},
            "eligibilityModule": {"eligibilityCriteria": criteria, "minimumAge": "18 Years"},
        }
    }


GOOD = "Inclusion Criteria:\n* ECOG 0-1\n\nExclusion Criteria:\n* Pregnancy"
BATCHES = [
    # id, document, the bad studies' paths: every other study is parsed
    (
        "studies object, bad fourth study",
        {"studies": [_study(f"NCT0000000{i}", 7 if i == 3 else GOOD) for i in range(5)]},
        ["$.studies[3].protocolSection.eligibilityModule.eligibilityCriteria"],
    ),
    (
        "top-level list, two bad studies",
        [_study("NCT00000000", GOOD), "not a study", _study("NCT00000002", GOOD), None],
        ["$[1]", "$[3]"],
    ),
]


@pytest.mark.parametrize(("doc", "bad"), [b[1:] for b in BATCHES], ids=[b[0] for b in BATCHES])
def test_parse_batch_goes_on_past_bad_studies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: object, bad: list[str]
) -> None:
    src, out = tmp_path / "batch.json", tmp_path / "batch.yaml"
    src.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["parse", str(src), "-o", str(out)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[2] for line in lines] == bad  # one line each: file, path, problem
    assert all(line.startswith(f"skipped: {src}: $") for line in lines)
    assert "Traceback" not in "".join(lines)
    docs = list(yaml.safe_load_all(out.read_text(encoding="utf-8")))
    studies = doc["studies"] if isinstance(doc, dict) else doc
    assert len(docs) == len(studies) - len(bad)
    assert all(d["criteria"][0]["id"] == "age" for d in docs)


def test_parse_a_lone_bad_record_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "one.json"
    src.write_text(json.dumps(_study("NCT00000001", ["not text"])), encoding="utf-8")
    assert main(["parse", str(src)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {src}: $.protocolSection.eligibilityModule.eligibilityCriteria")


def test_parser_failure_on_one_study_is_a_bug_but_not_a_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import eligibility.coverage

    real = eligibility.coverage.parse_record

    def flaky(record):  # type: ignore[no-untyped-def]
        if record.id == "NCT00000001":
            raise RuntimeError("boom\non two lines")
        return real(record)

    monkeypatch.setattr(eligibility.coverage, "parse_record", flaky)
    src = tmp_path / "batch.json"
    src.write_text(json.dumps([_study(f"NCT0000000{i}", GOOD) for i in range(3)]), "utf-8")
    assert main(["parse", str(src)]) == 4  # exit 4: a bug, reported once the rest is written
    out, err = capsys.readouterr()
    assert [d["trial"]["id"] for d in yaml.safe_load_all(out)] == ["NCT00000000", "NCT00000002"]
    assert err == f"skipped: {src}: NCT00000001: internal error: RuntimeError: boom on two lines\n"
    monkeypatch.setenv("ELIGIBILITY_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["parse", str(src)])


def test_coverage_counts_bad_studies_and_goes_on() -> None:
    from eligibility.coverage import measure

    cov = measure([FIXTURES / "api_v2_studies.json"])
    assert cov.trials == 2
    [error] = cov.errors
    assert "$.studies[2].protocolSection.eligibilityModule.sex" in error


_MANUAL = {"kind": "manual", "reason": "not understood: 'other events'"}
_EVIDENCE = {**_MANUAL, "evidence": {"kind": "condition", "condition": "myocardial_infarction"}}
_LAB = {"kind": "lab", "analyte": "alt", "comparator": "<=", "multiple": 3, "of": "ULN"}


@pytest.mark.parametrize(
    "rule,expected",
    [
        (_LAB, "computable"),
        ({"kind": "all", "rules": [_LAB, _MANUAL]}, "partial"),
        ({"kind": "all", "rules": [_LAB, _EVIDENCE]}, "partial"),
        (_MANUAL, "manual"),
        ({"kind": "any", "rules": [_MANUAL, _MANUAL]}, "manual"),
        (_EVIDENCE, "assisted"),
        ({"kind": "any", "rules": [_MANUAL, _EVIDENCE]}, "assisted"),
        ({"kind": "not", "rule": _EVIDENCE}, "assisted"),
    ],
)
def test_coverage_classifies_assisted_apart(rule: dict, expected: str) -> None:
    from pydantic import TypeAdapter

    from eligibility.coverage import Coverage, add_rule, classify
    from eligibility.model import Rule

    parsed = TypeAdapter(Rule).validate_python(rule)
    assert classify(parsed) == expected
    cov = Coverage()
    add_rule(cov, parsed)
    counts = {k: getattr(cov, k) for k in ("computable", "partial", "assisted", "manual")}
    assert counts == {k: int(k == expected) for k in counts}
    # the evidence is not counted as a computable rule kind: it never decides
    assert "condition" not in cov.by_kind


def test_coverage_shows_the_assisted_column(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import eligibility.coverage
    from eligibility.model import ManualRule, RuleSet

    real = eligibility.coverage.parse_record

    def with_evidence(record):  # type: ignore[no-untyped-def]
        rules = real(record)
        evidence = ManualRule.model_validate(_EVIDENCE)
        c = rules.criteria[-1].model_copy(update={"rule": evidence})
        return RuleSet(trial=rules.trial, criteria=[*rules.criteria[:-1], c])

    monkeypatch.setattr(eligibility.coverage, "parse_record", with_evidence)
    src = FIXTURES / "api_v2_study.json"
    assert main(["coverage", str(src), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["assisted"] == 1
    assert list(data)[:6] == ["trials", "criteria", "computable", "partial", "assisted", "manual"]
    assert main(["coverage", str(src)]) == 0
    out = capsys.readouterr().out
    assert "  assisted          1" in out


# --- parse → validate: spans point into what validate reads (issue 11, items 15 and 16) ------

_API = json.loads((FIXTURES / "api_v2_study.json").read_text(encoding="utf-8"))
_API_CRLF = json.loads(json.dumps(_API).replace("\\n", "\\r\\n"))
_API_OTHER = json.loads(json.dumps(_API_CRLF).replace("NCT05000001", "NCT05000009"))
_SEED = (ROOT / "seeds/NCT04669496_registry_page.txt").read_bytes()
_CORPUS = (
    json.dumps({"nct_id": "NCT00000009", "inclusion_text": "* ECOG 0-1\r\n* Age >= 18 years",
                "exclusion_text": "* Pregnancy"})
    + "\n"
)  # fmt: skip
ROUND_TRIPS = [
    # id, file name, bytes
    ("API v2 JSON", "study.json", json.dumps(_API).encode()),
    ("API v2 JSON with CRLF in the criteria", "study.json", json.dumps(_API_CRLF).encode()),
    ("API v2 JSON with a BOM", "study.json", b"\xef\xbb\xbf" + json.dumps(_API).encode()),
    ("API v2 list of studies", "studies.json", json.dumps([_API, _API_OTHER]).encode()),
    ("registry page with CRLF", "seed.txt", _SEED.replace(b"\n", b"\r\n")),
    ("registry page with a BOM", "seed.txt", b"\xef\xbb\xbf" + _SEED),
    (
        "registry page with a BOM and CRLF",
        "seed.txt",
        b"\xef\xbb\xbf" + _SEED.replace(b"\n", b"\r\n"),
    ),
    ("corpus JSONL line", "corpus.jsonl", b"\n" + _CORPUS.encode()),
]


@pytest.mark.parametrize(
    ("name", "data"), [r[1:] for r in ROUND_TRIPS], ids=[r[0] for r in ROUND_TRIPS]
)
def test_parse_then_validate_checks_every_span(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    name: str, data: bytes,
) -> None:  # fmt: skip
    """`parse X -o x.yaml && validate x.yaml` passes, from another folder too, and the spans
    really are checked: a criterion text edited by hand is caught."""
    (tmp_path / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    assert main(["parse", name, "-o", "x.yaml"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["validate", "../x.yaml"]) == 0
    assert capsys.readouterr().out == "../x.yaml: OK\n"  # no "note": the source was read
    docs = list(yaml.safe_load_all((tmp_path / "x.yaml").read_text(encoding="utf-8")))
    spanned = [c for d in docs for c in d["criteria"] if "span" in c]
    assert len(spanned) >= 3
    spanned[-1]["text"] += "!"
    (tmp_path / "x.yaml").write_text(yaml.safe_dump_all(docs, allow_unicode=True), "utf-8")
    assert main(["validate", "../x.yaml"]) == 2
    assert "text differs from the source at span" in capsys.readouterr().out


NOTES = [
    # id, trial.source, files written beside the rules file, the note
    (
        "source not found",
        "gone.txt",
        {},
        "trial.source 'gone.txt' not found beside the rules file, in its parent folder or in the working directory: spans not checked",
    ),
    (
        "absolute source",
        "/etc/hostname",
        {},
        "trial.source '/etc/hostname' is outside the tree: not read, spans not checked",
    ),
    (
        "source above the tree",
        "../src.txt",
        {},
        "trial.source '../src.txt' is outside the tree: not read, spans not checked",
    ),
    ("no source", "", {}, "no trial.source: spans not checked"),
    (
        "source not UTF-8",
        "src.txt",
        {"src.txt": b"Inclusion: \xe9"},
        "trial.source 'src.txt' is not UTF-8 text: spans not checked",
    ),
    (
        "no record of the trial",
        "s.json",
        {"s.json": json.dumps([_study("NCT1", GOOD), _study("NCT2", GOOD)]).encode()},
        "trial.source 's.json' has no record for T: spans not checked",
    ),
]


@pytest.mark.parametrize(
    ("source", "files", "note"), [r[1:] for r in NOTES], ids=[r[0] for r in NOTES]
)
def test_validate_says_when_spans_are_not_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    source: str, files: dict[str, bytes], note: str,
) -> None:  # fmt: skip
    """A note line, not an error: the exit code stays 0 and the file is OK."""
    sub = tmp_path / "rules"
    sub.mkdir()
    for fname, data in files.items():
        (sub / fname).write_bytes(data)
    rules = sub / "r.yaml"
    rules.write_text(
        f"schema_version: 1\ntrial:\n  id: T\n  source: '{source}'\ncriteria:\n"
        "  - {id: I1, section: inclusion, text: x, span: {start: 0, end: 1}, rule: {kind: pregnancy}}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(rules)]) == 0
    assert capsys.readouterr().out == f"{rules}: note: {note}\n{rules}: OK\n"


def test_validate_reads_the_source_beside_the_rules_file_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "rules"
    sub.mkdir()
    (sub / "src.txt").write_text("Inclusion: ECOG 0-1", encoding="utf-8")
    (tmp_path / "src.txt").write_text("Inclusion: Age 18", encoding="utf-8")  # parent and cwd
    (sub / "r.yaml").write_text(
        "schema_version: 1\ntrial: {id: T, source: src.txt}\ncriteria:\n"
        "  - {id: I1, section: inclusion, text: ECOG 0-1, span: {start: 11, end: 19},"
        " rule: {kind: performance, scale: ecog, max: 1}}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "rules/r.yaml"]) == 0
    assert capsys.readouterr().out == "rules/r.yaml: OK\n"


def test_parse_writes_the_source_relative_to_the_rules_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An absolute or cwd-relative input is named from the rules file's folder (or its parent,
    the ``rules/`` + ``seeds/`` layout), so validate finds it wherever it is run."""
    (tmp_path / "seeds").mkdir()
    seed = tmp_path / "seeds" / "study.json"
    seed.write_text(json.dumps(_API), encoding="utf-8")
    monkeypatch.chdir(tmp_path / "seeds")
    assert main(["parse", str(seed), "-o", str(tmp_path / "rules" / "x.yaml")]) != 0  # no folder
    (tmp_path / "rules").mkdir()
    assert main(["parse", str(seed), "-o", str(tmp_path / "rules" / "x.yaml")]) == 0
    assert main(["parse", "study.json", "-o", "here.yaml"]) == 0
    assert load_rules(tmp_path / "rules" / "x.yaml").trial.source == "seeds/study.json"
    assert load_rules(tmp_path / "seeds" / "here.yaml").trial.source == "study.json"


# --- several studies: -o DIR/ writes one file a study; a multi-document file is several trials


def _studies(tmp_path: Path, ids: list[str]) -> Path:
    src = tmp_path / "batch.json"
    src.write_text(json.dumps([_study(i, GOOD) for i in ids]), encoding="utf-8")
    return src


@pytest.mark.parametrize("out", ["out/", "existing"])
def test_parse_to_a_folder_writes_one_file_a_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], out: str
) -> None:
    src = _studies(tmp_path, ["NCT00000001", "NCT00000002", "NCT00000001", "bad/../id"])
    (tmp_path / "existing").mkdir()
    assert main(["parse", str(src), "-o", f"{tmp_path}/{out}"]) == 0
    folder = tmp_path / out.rstrip("/")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["NCT00000001-2.yaml", "NCT00000001.yaml", "NCT00000002.yaml", "record4.yaml"]
    assert capsys.readouterr().err == f"wrote 4 rules file(s) to {folder}\n"
    capsys.readouterr()
    assert main(["validate", *sorted(str(p) for p in folder.iterdir())]) == 0
    assert all(load_rules(folder / n).trial.source == "batch.json" for n in names)


MULTI_BAD = "---\nschema_version: 1\ntrial: {id: BAD}\ncriteria:\n  - {id: I1, section: inclusion, text: t, rule: {kind: lab}}\n"


def test_a_file_of_several_trials_is_read_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`parse` of several studies to stdout or `-o FILE` writes one YAML document a study;
    validate, screen and funnel take such a file as several trials, and a bad document is
    located by its number and line and is one error row while the others are screened."""
    src = _studies(tmp_path, ["NCT00000001", "NCT00000002", "NCT00000003", "bad/../id"])
    multi = tmp_path / "multi.yaml"
    assert main(["parse", str(src), "-o", str(multi)]) == 0
    capsys.readouterr()
    assert main(["validate", str(multi)]) == 0
    assert capsys.readouterr().out == f"{multi}: OK\n"
    patient = str(ROOT / "examples/patients/p01_eligible_hcc.json")
    assert main(["screen", str(multi), patient, "--format", "json"]) == 0  # eligible for all
    rows = json.loads(capsys.readouterr().out)
    assert [r["trial"] for r in rows] == ["NCT00000001", "NCT00000002", "NCT00000003", "bad/../id"]
    assert main(["funnel", str(multi), patient, "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["funnels"]) == 4

    multi.write_text(multi.read_text(encoding="utf-8") + MULTI_BAD, encoding="utf-8")
    lines = multi.read_text(encoding="utf-8").splitlines()
    bad_line = len(lines)  # the lab rule without an analyte, on the last line
    assert main(["validate", str(multi)]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"{multi}: document 5: criterion I1: line {bad_line}: $.criteria[0].rule")
    assert main(["screen", str(multi), patient, "--format", "csv"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"skipped: {multi}: document 5: criterion I1: line {bad_line}: ")
    assert out.count("\n") == 1 + 5  # header, four screenings and the error row


def test_load_rules_refuses_several_trials_with_a_reason(tmp_path: Path) -> None:
    from eligibility import InputError, load_rules_all

    path = tmp_path / "two.yaml"
    one = "schema_version: 1\ntrial: {id: T}\ncriteria:\n  - {id: I1, section: inclusion, text: t, rule: {kind: pregnancy}}\n"
    path.write_text(one + "---\n" + one.replace("id: T", "id: U") + "---\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"two.yaml: holds 2 trials \(YAML documents\); load_rules_all reads them"
    ):
        load_rules(path)
    assert [r.trial.id for r in load_rules_all(path)] == ["T", "U"]  # a stray --- is dropped


DEEP_NESTING = [
    ("API v2 JSON", "deep.json", "{source}: nested deeper than 64 levels"),
    ("API v2 list", "deep_list.json", "{source}: nested deeper than 64 levels"),
    ("JSONL line", "deep.jsonl", "{source}: line 2: nested deeper than 64 levels"),
]


@pytest.mark.parametrize("name,file,message", DEEP_NESTING, ids=[d[0] for d in DEEP_NESTING])
def test_parse_of_a_record_nested_200000_deep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, file: str, message: str
) -> None:
    """The profiles' nesting limit (loaders.MAX_DEPTH), not a RecursionError (exit 4)."""
    good = json.dumps(_study("NCT00000001", GOOD))
    deep = good[:-1] + ', "extra": ' + "[" * 200_000 + "]" * 200_000 + "}"
    src = tmp_path / file
    text = {
        "deep.json": deep,
        "deep_list.json": f"[{good}, {deep}]",
        "deep.jsonl": f"{good}\n{deep}\n",
    }
    src.write_text(text[file], encoding="utf-8")
    code = main(["parse", str(src)])
    out, err = capsys.readouterr()
    assert code == 2 and "Recursion" not in err, err
    assert err.splitlines()[-1].endswith(message.format(source=src)), err
    assert ("NCT00000001" in out) == (file == "deep.jsonl")
    assert main(["coverage", str(src), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == 1
