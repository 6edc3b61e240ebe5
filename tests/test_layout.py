"""The layout docs/architecture.md describes holds: data flows one way, nothing below the CLI
prints, modules stay small, and the documents name the modules that exist.

Read from the source text (``ast``), so a lazy import inside a function counts as much as one at
the top of a module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "src" / "eligibility"

# The two pipelines of docs/architecture.md; they meet only in model.py and vocab/.
PARSER = {"ingest", "headings", "split", "normalize", "grammar", "phrases", "tables", "parse"}
PARSER |= {"compose", "coverage", "transform"}
SCREENER = {
    "patient",
    "facts",
    "derive",
    "evaluate",
    "compiled",
    "entries",
    "reasons",
    "reasons_entries",
    "batch",
    "result",
}
SCREENER |= {"report", "batch_report", "worksheet", "funnel"}

MAX_LINES = 850  # "no module past ~800 lines", with room for a small edit
# Modules issue 12's evaluator rewrite brings under the limit (one evaluator instead of two).
OVER_FOR_NOW: set[str] = set()  # none left after issue 12's split


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    """``parse/clauses.py`` → ``parse.clauses``; ``vocab/__init__.py`` → ``vocab``."""
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str:
    return module.split(".")[0]


def _imports(path: Path) -> set[str]:
    """Package modules the file imports, as names relative to ``eligibility``."""
    here = _name(path).split(".") if _name(path) else []
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                mod = ".".join([*base, node.module] if node.module else base)
                mod = f"eligibility.{mod}" if mod else "eligibility"
            else:
                mod = node.module or ""
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for n in names:
            if n.startswith("eligibility."):
                found.add(n.removeprefix("eligibility."))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_data_flows_one_way(path: Path) -> None:
    """A parser module imports nothing of the screener, and a screener module nothing of the
    parser: rules files are the one place they meet."""
    stage = _stage(_name(path))
    other = SCREENER if stage in PARSER else PARSER if stage in SCREENER else set()
    wrong = sorted(m for m in _imports(path) if _stage(m) in other)
    assert not wrong, f"{path.relative_to(PKG)} imports {wrong} across the rules file"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_nothing_below_the_cli_prints(path: Path) -> None:
    """Renderers write to the stream or console they are given; only the CLI picks one."""
    rel = str(path.relative_to(PKG))
    if rel == "cli.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prints = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
    ]
    assert not prints, f"{rel} calls print() at lines {prints}"
    if rel == "output.py":  # the standard-output sink the CLI is handed
        return
    streams = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and n.attr in {"stdout", "stderr"}
        and isinstance(n.value, ast.Name)
        and n.value.id == "sys"
    ]
    assert not streams, f"{rel} writes to sys.stdout/sys.stderr at lines {streams}"


def test_modules_stay_small() -> None:
    big = {
        str(p.relative_to(PKG)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert set(big) <= OVER_FOR_NOW, f"modules past {MAX_LINES} lines: {big}"


def _documented() -> list[str]:
    """Module files under src/eligibility a document should name (not the package glue)."""
    return [
        str(p.relative_to(PKG))
        for p in _modules()
        if p.name not in {"__init__.py", "__main__.py"} or p.parent != PKG
    ]


def test_architecture_names_every_module_and_only_those() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [m for m in _documented() if m not in text and f"`{Path(m).name}`" not in text]
    assert not missing, f"docs/architecture.md does not name {missing}"
    named = set(re.findall(r"`((?:[\w]+/)*\w+\.py)`", text))
    gone = sorted(n for n in named if not n.startswith("tests/") and not (PKG / n).exists())
    assert not gone, f"docs/architecture.md names modules that do not exist: {gone}"


def test_readme_layout_names_every_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = [m for m in _documented() if Path(m).name not in layout]
    assert not missing, f"README 'Layout' does not name {missing}"
