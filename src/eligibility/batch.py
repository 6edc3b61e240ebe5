"""Cohort screening: many rules files × many profiles, streamed, one row per input.

Rules files are compiled once and fingerprinted by SHA-256; profiles are read one at a time
(JSONL files are never held in memory) and indexed once into ``Facts`` shared by every trial;
reasons are rendered only when the report shows them (``detail``). A rules file or profile
that cannot be read becomes an error row and the run goes on, so nothing is silently lost.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import compress
from pathlib import Path
from typing import Any, Literal, NamedTuple

from . import __version__
from . import today as _today
from .errors import InputError, internal_message
from .evaluate import (
    CompiledTrial,
    Options,
    build_facts,
    compile_rules,
    review_warnings,
    statuses,
)
from .fhir import NDJSON, is_bulk
from .loaders import STDIN, is_jsonl, iter_patients, load_rules, load_rules_all, source_name
from .model import RuleSet
from .patient import Patient
from .result import ScreeningResult, Status

RULES_SUFFIXES = frozenset({".yaml", ".yml"})
PATIENT_SUFFIXES = frozenset({".json", ".jsonl"})
STATUSES: tuple[Status, ...] = ("pass", "fail", "unknown", "review")

RowVerdict = Literal["eligible", "ineligible", "indeterminate", "error"]


def file_sha256(path: str | Path) -> str:
    """Fingerprint of the exact bytes screened against, for the audit trail."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Trial:
    """One rules file, compiled, with the file it came from and its digest."""

    path: str
    rules: RuleSet
    compiled: CompiledTrial
    sha256: str

    @property
    def trial_id(self) -> str:
        return self.compiled.trial_id


def compile_file(path: str | Path) -> Trial:
    """Load, validate and compile a rules file; raises ``InputError`` with its location."""
    return _compile(path, load_rules(path))


def compile_all(path: str | Path) -> list[Trial | InputError]:
    """Every trial of a rules file (one a YAML document, as ``parse`` writes several studies),
    compiled; a bad document is its ``InputError``. All share the file's digest."""
    return [r if isinstance(r, InputError) else _compile(path, r) for r in load_rules_all(path)]


def _compile(path: str | Path, rules: RuleSet) -> Trial:
    try:
        digest = file_sha256(path)
    except OSError as exc:  # vanished between the two reads
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from None
    compiled = compile_rules(rules, rules_sha256=digest)
    return Trial(str(path), rules, compiled, digest)


# --- inputs -------------------------------------------------------------------------------


@dataclass
class Inputs:
    """Positional arguments sorted into rules files and patient files, plus what was rejected.

    ``notes`` are lines for stderr about inputs left out on purpose (a sub-folder, a dangling
    link, a file given twice): not errors, so they do not change the exit code.
    """

    rules: list[Path] = field(default_factory=list)
    patients: list[Path] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _entry_problem(path: Path) -> str | None:
    """Why a directory entry cannot be read as a file (None for a regular file)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if exc.errno == errno.ENOENT and path.is_symlink():
            return f"a symbolic link to nothing ({os.readlink(path)})"
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a sub-folder (folders are not read recursively)"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO); name it on the command line to read it"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def _identity(path: Path) -> tuple[int, int] | str:
    """Same file, whatever the spelling: device and inode, else the resolved path."""
    if path == STDIN:
        return "-"
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (st.st_dev, st.st_ino)


def classify(paths: Iterable[str | Path]) -> Inputs:
    """``.yaml/.yml`` are rules, ``.json/.jsonl`` are profiles; a directory contributes its files.

    Directory contents are taken in name order (not recursively) so a run is reproducible;
    regular files of other types inside a directory are ignored, anything else there (a
    sub-folder, a dangling link, a link loop, a FIFO) is named in ``notes``. A named file of
    an unknown type or a path that does not exist is an error; ``-`` is standard input, and a
    named pipe or device (``/dev/stdin``) is read as JSONL. A file given twice is read once.
    """
    out = Inputs()
    seen: dict[tuple[int, int] | str, Path] = {}

    def add(path: Path, kind: list[Path]) -> None:
        key = _identity(path)
        if key in seen:
            first = source_name(seen[key])
            again = "given twice" if first == source_name(path) else f"same file as {first}"
            out.notes.append(f"warning: {source_name(path)}: {again}; read once")
            return
        seen[key] = path
        kind.append(path)

    for raw in paths:
        if str(raw) == "-":
            add(STDIN, out.patients)
            continue
        path = Path(raw)
        suffix = path.suffix.lower()
        if path.is_dir():
            found = False
            try:
                children = sorted(path.iterdir())
            except OSError as exc:
                out.errors.append(InputError(f"cannot read: {exc.strerror}", str(path)))
                continue
            if is_bulk(path):  # a FHIR Bulk Data export: its .ndjson files are one cohort
                add(path, out.patients)
                found = True
                children = [c for c in children if c.suffix.lower() != NDJSON]
            for child in children:
                problem = _entry_problem(child)
                if problem is not None:
                    out.notes.append(f"skipped: {child}: {problem}")
                    continue
                suffix = child.suffix.lower()
                if suffix in RULES_SUFFIXES | PATIENT_SUFFIXES:
                    add(child, out.rules if suffix in RULES_SUFFIXES else out.patients)
                    found = True
            if not found:
                out.errors.append(InputError("no .yaml, .yml, .json or .jsonl files", str(path)))
        elif suffix in RULES_SUFFIXES:
            add(path, out.rules)
        elif suffix in PATIENT_SUFFIXES | {NDJSON} or (path.exists() and is_jsonl(path)):
            add(path, out.patients)
        elif not path.exists():
            out.errors.append(InputError("file not found", str(path)))
        else:
            out.errors.append(
                InputError("not a rules (.yaml, .yml) or patient (.json, .jsonl) file", str(path))
            )
    return out


@dataclass(frozen=True, slots=True)
class Record:
    """A profile read from ``source`` (``file`` or ``file#3`` for the 3rd record of a list)."""

    source: str
    item: Patient | InputError


def iter_records(paths: Iterable[Path], *, fast: bool = False) -> Iterator[Record]:
    """Profiles one at a time, in file order; JSONL is read line by line (``fast``: clean
    lines by the fast reader, ``loaders.iter_patients``).

    A file holding one profile is named as is; records of a JSONL file or a JSON list are
    numbered from 1 (``cohort.jsonl#7``; for JSONL without blank lines, the line number).
    """
    for path in paths:
        name = source_name(path)
        items = iter_patients(path, fast=fast)
        first = next(items, None)
        if first is None:
            continue
        second = next(items, None)
        if second is None and not is_jsonl(path) and not _in_list(first):
            yield Record(name, first)
            continue
        yield Record(f"{name}#1", first)
        if second is not None:
            yield Record(f"{name}#2", second)
        for n, item in enumerate(items, 3):
            yield Record(f"{name}#{n}", item)


def _in_list(item: Patient | InputError) -> bool:
    """An error located at ``$[3]…`` came from a JSON list (``$["key"]`` is a key, not an index)."""
    return isinstance(item, InputError) and re.match(r"\$\[\d+\]", item.where or "") is not None


# --- rows ---------------------------------------------------------------------------------


class Row(NamedTuple):
    """One line of a cohort report: a screening, or an input that could not be screened.

    ``result`` (reasons, evidence) is filled only when the run asked for detail; summaries
    (verdict, counts, failing criteria) are always there. A named tuple: immutable, and built
    several times as fast as a frozen dataclass (one per screening).
    """

    source: str
    trial: str | None
    patient: str | None
    as_of: date | None
    verdict: RowVerdict
    statuses: tuple[Status, ...] = ()
    failed: tuple[str, ...] = ()
    rules_sha256: str | None = None
    error: str | None = None
    result: ScreeningResult | None = None
    internal: bool = False
    warnings: tuple[str, ...] = ()  # as ``ScreeningResult.warnings``, on both paths

    @property
    def counts(self) -> dict[str, int]:
        return {s: self.statuses.count(s) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        """The single-screen JSON fields (when detailed) plus ``source``; errors say why."""
        if self.result is not None:
            return {**self.result.to_dict(), "source": self.source}
        d: dict[str, Any] = {
            "trial": self.trial,
            "patient": self.patient,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "verdict": self.verdict,
        }
        if self.error is None:
            d["counts"] = self.counts
            d["failed"] = list(self.failed)
            d["engine_version"] = __version__
            if self.rules_sha256:
                d["rules_sha256"] = self.rules_sha256
        else:
            d["error"] = self.error
        d["source"] = self.source
        return d


def error_row(source: str, exc: InputError, trial: str | None = None) -> Row:
    return Row(source, trial, None, None, "error", error=str(exc))


def internal_row(source: str, exc: Exception, trial: str | None, patient: str | None) -> Row:
    """A record the engine failed on (a bug): its own error row, and the run goes on."""
    where = ": ".join(x for x in (source, trial) if x)
    message = (
        f"{where}: {internal_message(exc)} "
        "(a bug: please report it; ELIGIBILITY_DEBUG=1 shows the traceback)"
    )
    return Row(source, trial, patient, None, "error", error=message, internal=True)


class DuplicateIds:
    """Notices a patient id seen before in the run, so a funnel's counts can be trusted.

    Keeps one 64-bit hash per id in a flat open-addressing table (at most 16 bytes an id, where
    a ``set`` of ints takes about 90), so memory stays small for a million profiles; a hash
    collision could only add a warning, never drop a record.
    """

    def __init__(self) -> None:
        self._slots = array("q", bytes(8 * 1024))
        self._used = 0

    def note(self, record: Record) -> str | None:
        """A warning line for a repeated id, else None."""
        if isinstance(record.item, InputError) or self._add(hash(record.item.id) or 1):
            return None
        return (
            f"warning: {record.source}: patient id {record.item.id!r} was already read in "
            "this run; it is screened and counted again"
        )

    def _add(self, key: int) -> bool:
        """Insert a non-zero key (0 marks a free slot); False when it was there already."""
        slots, mask = self._slots, len(self._slots) - 1
        i = key & mask
        while slots[i]:
            if slots[i] == key:
                return False
            i = (i + 1) & mask
        slots[i] = key
        self._used += 1
        if 2 * self._used > len(slots):
            old, self._slots, self._used = slots, array("q", bytes(16 * len(slots))), 0
            for k in old:
                if k:
                    self._add(k)
        return True


def load_trials(paths: Iterable[Path]) -> tuple[list[Trial], list[Row]]:
    """Compile every trial of every rules file; a bad one becomes an error row (and is skipped)."""
    trials, errors = [], []
    for path in paths:
        try:
            compiled = compile_all(path)
        except InputError as exc:
            compiled = [exc]
        for item in compiled:
            if isinstance(item, InputError):
                errors.append(error_row(str(path), item))
            else:
                trials.append(item)
    return trials, errors


def screen_one(
    trial: Trial,
    facts: Any,
    source: str,
    *,
    detail: bool,
    screened: frozenset[str] = frozenset(),
    quiet: frozenset[tuple[str, str]] | None = None,
) -> Row:
    """Screen indexed facts against one trial: with reasons rendered, or statuses only.
    ``screened``: every trial id of the run (a review of one of them is not a stray);
    ``quiet``: (trial, criterion) pairs of the run's trials that a review may name without a
    warning (``review_keys``), so the usual profile skips ``review_warnings``."""
    if detail:
        from .reasons import evaluate  # here: a CSV run never renders a reason

        known = () if quiet is not None and facts.reviews.keys() <= quiet else None
        result = evaluate(trial.compiled, facts, screened, known)
        found = tuple(c.status for c in result.criteria)
        verdict = result.verdict
        warnings = result.warnings
    else:
        result = None
        found = tuple(statuses(trial.compiled, facts))
        # ``verdict_of``, read off the tuple in C
        if "fail" in found:
            verdict = "ineligible"
        else:
            verdict = "eligible" if found.count("pass") == len(found) else "indeterminate"
        if quiet is not None and facts.reviews.keys() <= quiet:
            warnings = ()
        else:
            warnings = review_warnings(facts.patient, trial.compiled, screened)
    ids = trial.compiled.ids
    if len(ids) != len(found):  # pragma: no cover - one status a criterion, always
        raise ValueError("a status for each criterion")
    failed = tuple(compress(ids, map("fail".__eq__, found))) if "fail" in found else ()
    return Row(
        source,
        trial.trial_id,
        facts.patient.id,
        facts.as_of,
        verdict,
        found,
        failed,
        trial.sha256,
        None,
        result,
        warnings=warnings,
    )


def review_keys(trials: Iterable[Trial]) -> frozenset[tuple[str, str]]:
    """The (trial, criterion) pairs a recorded review may name in a run of ``trials`` and be
    used: a profile whose reviews are all among them has no review warning for any trial."""
    return frozenset((t.trial_id, c) for t in trials for c in t.compiled.reviewable)


def screen_records(
    trials: list[Trial],
    records: Iterable[Record],
    *,
    as_of: date | None = None,
    today: date | None = None,
    options: Options | None = None,
    detail: bool = True,
    reraise: bool = False,
) -> Iterator[Row]:
    """Rows for each record × trial, patient by patient; a bad record gives one error row.

    The as-of date is ``as_of``, else each profile's ``screening_date``, else ``today`` (read
    once by the caller, so a run that crosses midnight stays consistent). Any exception while
    screening one record (a bug) is that record's error row, ``internal``; the run goes on
    (``reraise`` lets it propagate instead, for debugging).
    """
    options = options or Options()
    fallback = today or _today()
    screened = frozenset(t.trial_id for t in trials)
    quiet = review_keys(trials)
    for record in records:
        item = record.item
        if isinstance(item, InputError):
            yield error_row(record.source, item)
            continue
        try:
            when = as_of or item.screening_date or fallback
            facts = build_facts(item, when, options)
        except Exception as exc:
            if reraise:
                raise
            yield internal_row(record.source, exc, None, item.id)
            continue
        for trial in trials:
            try:
                row = screen_one(
                    trial, facts, record.source, detail=detail, screened=screened, quiet=quiet
                )
            except Exception as exc:
                if reraise:
                    raise
                row = internal_row(record.source, exc, trial.trial_id, item.id)
            yield row


def screen_many(
    trials: list[Trial],
    patients: Iterable[Patient],
    *,
    as_of: date | None = None,
    options: Options | None = None,
    detail: bool = True,
) -> Iterator[ScreeningResult | Row]:
    """Library convenience for in-memory profiles: detailed results, or summary rows."""
    records = (Record(p.id, p) for p in patients)
    for row in screen_records(trials, records, as_of=as_of, options=options, detail=detail):
        yield row.result if detail and row.result is not None else row


def exit_code(verdicts: Iterable[RowVerdict | Literal["internal"]]) -> int:
    """The run's exit code, read like one screening's verdict (README, "Screening a cohort").

    4 if the engine failed on a record (``internal``, a bug); else 2 if any input could not be
    screened; else 1 if any screening is ineligible; else 3 if any is indeterminate; else 0
    (every screening eligible). No screenings at all is 2.
    """
    seen = set(verdicts)
    if "internal" in seen:
        return 4
    if "error" in seen or not seen:
        return 2
    if "ineligible" in seen:
        return 1
    if "indeterminate" in seen:
        return 3
    return 0
