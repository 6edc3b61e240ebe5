"""One error root, so the CLI can turn any failure into one line: file, where, problem."""

from __future__ import annotations


class EligibilityError(Exception):
    """A problem a user can fix, located by file and field path or line."""

    def __init__(self, message: str, file: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.where = where

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.where, self.message) if part)


class InputError(EligibilityError):
    """A rules file or patient profile that cannot be read or does not validate."""


class IngestError(EligibilityError):
    """A trial record could not be read or understood (positional order: file, where, message)."""

    def __init__(self, file: str | None, where: str | None, message: str) -> None:
        super().__init__(message, file=file, where=where)
