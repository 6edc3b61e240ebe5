"""Data files in the user's cache folder: JSON with a checksum, named by a key of their sources.

Why apart: the parser's tables (``tables.py``) and the vocabulary (``vocab/data.py``) both keep
what they build from package files, and the vocabulary must not import Lark to do so. A file
is named ``<name>-<key>.json``, where the key hashes the package and Python versions and the
bytes it was built from, so an edit makes a new file and an old one is never read. JSON, never
pickle (nothing read from disk can run code), with a SHA-256 of the body on the first line, so
a file cut short or damaged is not read either.

Nothing here raises or prints: a folder that cannot be read or written, a damaged file or data
that JSON cannot hold mean the caller builds the data, as without a cache.
``ELIGIBILITY_CACHE_DIR`` names the folder; set to the empty string it turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import __version__


def cache_dir() -> Path | None:
    """The folder for cached data, or None when caching is off."""
    given = os.environ.get("ELIGIBILITY_CACHE_DIR")
    if given is not None:
        return Path(given) if given else None
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "eligibility"


def key_of(parts: Iterable[bytes | str]) -> str:
    """Hash of the package and Python versions and ``parts`` (texts, file bytes)."""
    digest = hashlib.sha256()
    for part in (__version__, sys.version.split()[0], *parts):
        digest.update((part.encode() if isinstance(part, str) else part) + b"\0")
    return digest.hexdigest()[:32]


def load(
    name: str, key: str | None, object_hook: Callable[[dict[str, Any]], Any] | None = None
) -> Any | None:
    """The data stored under ``name`` and ``key``, or None (no file, unreadable, damaged)."""
    path = _path(name, key)
    if path is None:
        return None
    try:
        raw = path.read_bytes()
        check, _, body = raw.partition(b"\n")
        if hashlib.sha256(body).hexdigest().encode() != check:
            return None
        return json.loads(body, object_hook=object_hook)
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None


def store(name: str, key: str | None, data: Any) -> None:
    """Write JSON ``data`` under ``name`` and ``key``, whole or not at all; older keys of
    ``name`` are removed."""
    path = _path(name, key)
    if path is None:
        return
    try:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError):
        return  # data this format cannot hold: no cache, never a wrong one
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
            os.replace(tmp, path)  # readers see the old file or the whole new one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for old in path.parent.glob(f"{name}-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        return


def _path(name: str, key: str | None) -> Path | None:
    folder = cache_dir()
    return None if folder is None or key is None else folder / f"{name}-{key}.json"
