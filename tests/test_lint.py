"""The codebase stays ruff-clean: a lint failure is a test failure."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_clean():
    beside = Path(sys.executable).parent / "ruff"
    ruff = str(beside) if beside.exists() else shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the test extras)")
    proc = subprocess.run(
        [ruff, "check", "src", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_module_binds_a_constant_twice():
    """A second ``_NAME = re.compile(…)`` in one module silently replaces the first for every
    use above it (session 31: a ``_WITH_VALUE`` added to compose.py replaced the scope class of
    the same name); ruff's F811 sees only functions and imports."""
    import ast

    twice = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        seen: set[str] = set()
        for node in ast.parse(path.read_text("utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            for t in targets:
                if isinstance(t, ast.Name) and t.id.lstrip("_").isupper():
                    if t.id in seen:
                        twice.append(f"{path.relative_to(ROOT)}: {t.id}")
                    seen.add(t.id)
    assert not twice, twice
