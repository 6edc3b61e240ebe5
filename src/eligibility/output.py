"""Reports written whole or not at all, and never over an input.

Every command's ``-o FILE`` goes through ``Output``: the report is written to a temporary file
beside FILE and renamed over it only when the command succeeds, so a crash, a full disk or a
concurrent run never leaves a half-written or mixed file, and a failed run keeps the old one. A
target that is not a regular file (``/dev/stdout``, a pipe, ``/dev/full``) is written in place.
Write failures become one ``OutputError`` line (exit 2); a closed pipe stays ``BrokenPipeError``
for the CLI to end quietly.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from .errors import InputError

STDOUT_NAME = "<stdout>"


class OutputError(InputError):
    """A report that could not be written: no space, no permission, or an input as target."""


def cannot_write(name: str, exc: OSError) -> OutputError:
    return OutputError(f"cannot write: {exc.strerror or exc}", name)


class Sink:
    """A text stream whose write failures are ``OutputError`` naming the target.

    Not an ``io`` subclass on purpose: those flush again when collected, which would raise a
    second time (a traceback at exit) after the first failure was reported.
    """

    def __init__(self, raw: IO[str], name: str) -> None:
        self.raw = raw
        self.name = name
        self._binary: Any = None  # the byte layer's write, once the text layer is flushed

    def write(self, text: str) -> int:
        try:
            return self.raw.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise cannot_write(self.name, exc) from None

    def write_bytes(self, data: bytes) -> None:
        """UTF-8 text already encoded (JSONL lines), written to the byte layer below the text
        stream when that is where the same bytes would go, as soon (UTF-8, no newline
        translation, not flushed line by line as a terminal is):
        decoding a long line only for the text layer to encode it again took a tenth of a
        cohort run. Else decoded and written as text."""
        if self._binary is None:
            self._binary = False
            buffer = getattr(self.raw, "buffer", None)
            encoding = getattr(self.raw, "encoding", None) or ""
            lines = getattr(self.raw, "line_buffering", False)
            if buffer is not None and not lines and os.linesep == "\n" and _is_utf8(encoding):
                self.flush()  # what was written as text goes first
                self._binary = buffer.write
        if self._binary is False:
            self.write(data.decode())
            return
        try:
            self._binary(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise cannot_write(self.name, exc) from None

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self.raw.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise cannot_write(self.name, exc) from None

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.raw, "encoding", None) or "utf-8"


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def stdout_sink() -> Sink:
    return Sink(sys.stdout, STDOUT_NAME)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def refuse_input_as_output(target: str | None, inputs: Iterable[str | Path]) -> None:
    """``-o`` naming one of the inputs (or a file inside an input folder) is refused before
    anything is opened for writing: the same resolved path or the same inode (a hard link)."""
    if not target or target == "-":
        return
    out = Path(target)
    out_id, out_real = _identity(out), os.path.realpath(out)
    for raw in inputs:
        if str(raw) == "-":
            continue
        path = Path(raw)
        candidates = [path]
        if path.is_dir():
            with contextlib.suppress(OSError):
                candidates += sorted(path.iterdir())
        for p in candidates:
            same = os.path.realpath(p) == out_real or (
                out_id is not None and _identity(p) == out_id
            )
            if same:
                raise OutputError(f"is also an input ({p}); write the report elsewhere", target)


class Output:
    """``-o FILE`` (atomically, see the module docstring) or stdout, as a context manager."""

    def __init__(self, target: str | None) -> None:
        self.target = target if target and target != "-" else None
        self._fh: IO[str] | None = None
        self._tmp: str | None = None
        self._final: Path | None = None

    def __enter__(self) -> Sink:
        if self.target is None:
            return stdout_sink()
        path = Path(os.path.realpath(self.target))  # through a link, replace what it names
        try:
            st: os.stat_result | None = path.stat()
        except OSError:
            st = None
        try:
            if st is not None and not stat.S_ISREG(st.st_mode):
                if stat.S_ISDIR(st.st_mode):
                    raise OutputError("is a directory, expected a file name", self.target)
                self._fh = open(path, "w", encoding="utf-8", newline="")
            else:
                self._temporary(path, st)
        except OSError as exc:
            self._discard()
            raise cannot_write(self.target, exc) from None
        assert self._fh is not None
        return Sink(self._fh, self.target)

    def _temporary(self, path: Path, st: os.stat_result | None) -> None:
        """A new file beside ``path`` with the permissions ``path`` has (or would get)."""
        fd, self._tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self._final = path
        mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
        os.fchmod(fd, mode)

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if self._fh is None:
            return
        if exc_type is not None:
            self._discard()
            return
        try:
            self._fh.close()
            if self._tmp is not None and self._final is not None:
                os.replace(self._tmp, self._final)
                self._tmp = None
        except OSError as exc:
            self._discard()
            raise cannot_write(self.target or "", exc) from None

    def _discard(self) -> None:
        """Drop the temporary file (the old report, if any, stays as it was)."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no getter)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
