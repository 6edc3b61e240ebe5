"""Printable worksheets: every criterion shown, statuses in words, untrusted text escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import ICC, PATIENTS
from eligibility.batch import compile_file
from eligibility.cli import main
from eligibility.evaluate import build_facts, compile_rules, evaluate
from eligibility.loaders import load_patient, load_rules
from eligibility.model import RuleSet
from eligibility.worksheet import render_html


def test_worksheet_lists_every_criterion_with_status_words(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    patient = PATIENTS / "p09_indeterminate_missing_labs.json"
    code = main(["screen", str(ICC), str(patient), "--format", "html", "-o", str(target)])
    page = target.read_text(encoding="utf-8")
    assert code == 3
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    trial = compile_file(ICC)
    for c in trial.rules.criteria:
        assert f"<td>{c.id}<br>" in page
    assert "? INDETERMINATE" in page and "✓ PASS" in page and "? UNKNOWN" in page
    assert "2024-03-01" in page and trial.sha256 in page
    assert "☐ " in page  # what to collect, as tick boxes
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no external assets
    assert "<script" not in page


def test_untrusted_text_is_escaped() -> None:
    rules = load_rules(ICC).model_dump(by_alias=True)
    evil = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    rules["criteria"][0]["text"] = evil
    rules["criteria"][0]["id"] = "<b>age</b>"
    rules["trial"]["id"] = "NCT<i>1</i>"
    ruleset = RuleSet.model_validate(rules)
    patient = load_patient(PATIENTS / "p10_eligible_icc.json")
    result = evaluate(compile_rules(ruleset), build_facts(patient, patient.screening_date))
    page = "".join(render_html([result], [("bad<1>.json", "<script>x</script>")]))
    assert "<script" not in page and "<img" not in page and "<b>age" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in page
    assert "NCT&lt;i&gt;1&lt;/i&gt;" in page and "bad&lt;1&gt;.json" in page


def test_cohort_html_accounts_for_every_input(tmp_path: Path, cohort_jsonl: Path) -> None:
    target = tmp_path / "all.html"
    code = main(["screen", str(ICC), str(cohort_jsonl), "--format", "html", "-o", str(target)])
    page = target.read_text(encoding="utf-8")
    assert code == 2
    assert page.count("<section class=sheet>") == 5
    assert "Inputs that could not be screened" in page and "line 3" in page


RLO, PDF, LRI, PDI, RLM = "\u202e", "\u202c", "\u2066", "\u2069", "\u200f"
BIDI = [
    # (output, command, profile file, options, how <U+202E> is written, what it shows)
    ("table", "screen", "p.json", [], "<U+202E>", "text id patient"),
    ("worksheet", "screen", "p.json", ["--format", "html"], "&lt;U+202E&gt;", "text id patient"),
    ("cohort table", "screen", "p.jsonl", [], "<U+202E>", "patient"),
    ("funnel", "funnel", "p.jsonl", [], "<U+202E>", "text id"),
]


@pytest.mark.parametrize("name,command,fname,options,rlo,parts", BIDI, ids=[row[0] for row in BIDI])
def test_bidi_controls_are_shown_escaped(tmp_path, name, command, fname, options, rlo, parts):
    """Overrides and isolates in criteria text, ids and profile values are shown as <U+202E>
    in everything a person reads; a mark (RLM) is kept; JSON keeps the raw text."""
    rules = load_rules(ICC).model_dump(by_alias=True, exclude_none=True)
    rules["criteria"][0]["text"] = f"age {RLO}81 ≤{PDF} and {LRI}x{PDI} {RLM}"
    rules["criteria"][0]["id"] = f"I{RLO}1"
    rules_path = tmp_path / "r.yaml"
    rules_path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    profile = json.loads((PATIENTS / "p10_eligible_icc.json").read_text(encoding="utf-8"))
    profile["id"] = f"P{RLO}10"
    (tmp_path / fname).write_text(json.dumps(profile) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    inputs = [command, str(rules_path), str(tmp_path / fname), "-o", str(out)]
    main([*inputs, *options])
    shown = out.read_text(encoding="utf-8")
    assert not any(c in shown for c in (RLO, PDF, LRI, PDI)), shown
    esc = {c: rlo.replace("202E", f"{ord(c):04X}") for c in (RLO, PDF, LRI, PDI)}
    expected = {
        "text": [esc[RLO] + "81", "≤" + esc[PDF], esc[LRI] + "x" + esc[PDI]],
        "id": [f"I{esc[RLO]}1"],
        "patient": [f"P{esc[RLO]}10"],
    }
    for part in parts.split():
        assert all(e in shown for e in expected[part]), (part, shown)
    if name in ("table", "worksheet"):
        assert RLM in shown  # a mark reorders nothing: kept
    main([*inputs, "--format", "json"])
    assert RLO in out.read_text(encoding="utf-8")  # JSON is data: the raw text
