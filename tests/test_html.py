"""Printable worksheets: every criterion shown, statuses in words, untrusted text escaped."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from datetime import date
from html import escape
from pathlib import Path

import pytest
import yaml

from conftest import ICC, PATIENTS
from eligibility.batch import compile_file
from eligibility.cli import main
from eligibility.evaluate import build_facts, compile_rules
from eligibility.loaders import load_patient, load_rules
from eligibility.model import RuleSet
from eligibility.patient import Patient
from eligibility.reasons import evaluate
from eligibility.result import ScreeningResult
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


# --- layout in a real browser, and text as a reader sees it (issue 11, item 18) -------------

LONG_URL = "https://clinicaltrials.example.org/" + "x" * 60
ESCAPED = r"tumour diameter \>5 cm, \*any\* of \[A\], grade\_3"
SHOWN = "tumour diameter >5 cm, *any* of [A], grade_3"


def _every_status() -> ScreeningResult:
    """One criterion of each status, with long unbroken tokens and markdown escapes."""
    criteria = [
        ("I1", ESCAPED, {"kind": "sex", "allowed": ["female"]}),  # pass
        ("I2", LONG_URL, {"kind": "sex", "allowed": ["male"]}),  # fail
        (
            "I3",
            "INR ≤ 1.5 " + "C22.0;C22.1;C22.7;C22.8;C22.9;" * 3,
            {"kind": "lab", "analyte": "inr", "comparator": "<=", "value": 1.5},
        ),  # unknown
        (
            "I4",
            f"see {LONG_URL}",
            {"kind": "manual", "reason": f"not understood: '{ESCAPED} {LONG_URL}'"},
        ),  # review
    ]
    ruleset = RuleSet.model_validate({
        "trial": {"id": "NCT00000001"},
        "criteria": [{"id": i, "section": "inclusion", "text": t, "rule": r} for i, t, r in criteria],
    })  # fmt: skip
    patient = Patient.model_validate({"id": "P1", "sex": "female"})
    return evaluate(compile_rules(ruleset), build_facts(patient, date(2024, 3, 1)))


def _chromium() -> str:
    """Debian's chromium (``.ci/run`` installs it as root), else skip with the reason."""
    pytest.importorskip("playwright.sync_api", reason="python playwright is not installed")
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium on PATH (apt-get install chromium): worksheet layout not checked")


# Each cell's box, the box of its laid-out content, and its row; measured by the browser.
_MEASURE = """() => [...document.querySelectorAll('section.sheet tbody tr')].map(tr =>
  [...tr.children].map(td => {
    const range = document.createRange(); range.selectNodeContents(td);
    const box = td.getBoundingClientRect(), ink = range.getBoundingClientRect();
    return {cls: td.className, text: td.textContent, left: box.left, right: box.right,
            inkLeft: ink.left, inkRight: ink.right, scroll: td.scrollWidth, client: td.clientWidth};
  }))"""


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_playwright() as p:
        # timeout=0: no wall-clock limit in a unit test
        browser = p.chromium.launch(executable_path=executable, args=flags, timeout=0)
        yield browser
        browser.close()


@pytest.mark.parametrize(
    ("width", "media"),
    [(1280, "screen"), (800, "screen"), (480, "screen"), (700, "print")],  # 700 px: A4 paper
    ids=["wide screen", "laptop", "phone", "A4 paper"],
)
def test_worksheet_cells_do_not_overprint_in_chromium(
    browser, tmp_path: Path, width: int, media: str
) -> None:  # type: ignore[no-untyped-def]
    """The status words ("☐ REVIEW — needs a person") stay inside their cell: no cell's
    content reaches into the next one (the reason), on screen or on paper."""
    page_file = tmp_path / "sheet.html"
    page_file.write_text("".join(render_html([_every_status()])), encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(0)
    page.emulate_media(media=media)
    page.goto(page_file.as_uri())
    rows = page.evaluate(_MEASURE)
    page.close()
    assert len(rows) == 4 and all(len(cells) == 7 for cells in rows)
    statuses = [cells[2]["text"] for cells in rows]
    assert statuses == ["✓ PASS", "✗ FAIL", "? UNKNOWN — collect data", "☐ REVIEW — needs a person"]
    for cells in rows:
        for cell, right in itertools.pairwise(cells):
            assert cell["right"] <= right["left"] + 1.5  # collapsed borders share a pixel
            if cell["text"].strip():  # an empty cell has no content box
                assert cell["inkRight"] <= right["left"] + 0.5, (
                    f"{cell['text']!r} overprints {right['text'][:30]!r}"
                )
        for cell in cells:
            if not cell["text"].strip():
                continue  # an empty cell has no content box
            assert cell["scroll"] <= cell["client"] + 1, f"{cell['text'][:40]!r} overflows its cell"
            assert cell["inkLeft"] >= cell["left"] - 0.5


def test_markdown_escapes_are_shown_as_a_reader_sees_them(tmp_path: Path) -> None:
    """`\\>`, `\\*`, `\\[`, `\\_` as ClinicalTrials.gov writes them: unescaped in the worksheet,
    the terminal table and the funnel; JSON keeps the raw text."""
    import io

    from rich.console import Console

    from eligibility.batch_report import funnel_table
    from eligibility.funnel import Funnel
    from eligibility.report import render_table, to_json

    result = _every_status()
    page = "".join(render_html([result]))
    assert escape(SHOWN) in page and "\\&gt;" not in page and "\\*" not in page
    out = io.StringIO()
    render_table(result, Console(file=out, width=200, color_system=None))
    assert SHOWN in out.getvalue() and "\\>" not in out.getvalue()
    funnel = Funnel.__new__(Funnel)  # only what the table reads
    step = type(
        "Step",
        (),
        {
            "id": "I1",
            "section": "inclusion",
            "text": ESCAPED,
            "counts": dict.fromkeys(("pass", "fail", "unknown", "review"), 0),
        },
    )()
    object.__setattr__(funnel, "trial", "T")
    object.__setattr__(funnel, "screened", 0)
    object.__setattr__(funnel, "steps", [step])
    object.__setattr__(funnel, "remaining", lambda: [0])
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(funnel_table(funnel, 200))
    assert SHOWN in out.getvalue()
    assert json.loads(to_json(result))["criteria"][0]["text"] == ESCAPED  # raw, as recorded


@pytest.mark.parametrize("width", [80, 100, 160])
def test_terminal_table_folds_long_tokens_instead_of_cutting_them(width: int) -> None:
    import io

    from rich.console import Console

    from eligibility.report import render_table

    out = io.StringIO()
    render_table(_every_status(), Console(file=out, width=width, color_system=None))
    text = out.getvalue()
    assert "…" not in text
    # the Source text column, line by line: the URL is folded over lines, every character kept
    column = "".join(
        line.split("│")[3].strip() for line in text.splitlines() if line.count("│") == 5
    )
    assert LONG_URL in column


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
