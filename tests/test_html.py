"""Printable worksheets: every criterion shown, statuses in words, untrusted text escaped."""

from __future__ import annotations

import re
from pathlib import Path

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
