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
    text = {"deep.json": deep, "deep_list.json": f"[{good}, {deep}]", "deep.jsonl": f"{good}\n{deep}\n"}
    src.write_text(text[file], encoding="utf-8")
    code = main(["parse", str(src)])
    out, err = capsys.readouterr()
    assert code == 2 and "Recursion" not in err, err
    assert err.splitlines()[-1].endswith(message.format(source=src)), err
    assert ("NCT00000001" in out) == (file == "deep.jsonl")
    assert main(["coverage", str(src), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == 1
