"""One error root, so the CLI can turn any failure into one line: file, where, problem.

Each error names the file, the place inside it (a field path such as ``$.labs[0].value`` or a
line such as ``line 12``) and a short message a trial coordinator can act on.
"""

from __future__ import annotations


class EligibilityError(Exception):
    """A problem a user can fix, located by file and field path or line."""

    def __init__(self, message: str, file: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.where = where

    def __str__(self) -> str:
        """One line, ``file: where: message``, leaving out the parts that are unknown."""
        return ": ".join(part for part in (self.file, self.where, self.message) if part)


class InputError(EligibilityError):
    """A rules file or patient profile that cannot be read or does not validate."""


class IngestError(EligibilityError):
    """A trial record could not be read or understood (arguments in record order)."""

    def __init__(self, file: str | None, where: str | None, message: str) -> None:
        super().__init__(message, file, where)


def internal_message(exc: BaseException) -> str:
    """One line for an exception that is a bug, however it is worded (cut to 300 characters)."""
    detail = " ".join(str(exc).split())[:300]
    return f"internal error: {type(exc).__name__}: {detail}"
