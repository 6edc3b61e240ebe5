"""Shared by the tools that write a generated, committed file (closure.yaml, remission.yaml)."""

from __future__ import annotations

from pathlib import Path


def write_or_check(path: Path, text: str, check: bool) -> int:
    """With ``check``, 0 when ``path`` already holds ``text`` and 1 when it is out of date
    (nothing written); else write it. A test runs the check, so a stale file fails CI."""
    if check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        return 0 if current == text else 1
    path.write_text(text, encoding="utf-8")
    return 0


def finish(path: Path, root: Path, text: str, check: bool, count: int) -> int:
    """The end of such a tool's ``main``: check, or write and say what was written."""
    if check:
        return write_or_check(path, text, True)
    write_or_check(path, text, False)
    print(f"wrote {path.relative_to(root)} ({count} codes)")
    return 0
