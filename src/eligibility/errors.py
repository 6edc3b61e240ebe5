"""One error root for the package, so a caller can catch every expected failure in one place.

Each error names the file, the place inside it (a field path such as
``$.protocolSection.eligibilityModule.sex`` or a line such as ``line 12``) and a short message a
trial coordinator can act on.
"""

from __future__ import annotations


class EligibilityError(Exception):
    """Base of every error this package raises on purpose."""

    def __init__(self, file: str | None, where: str | None, message: str) -> None:
        super().__init__(file, where, message)
        self.file = file
        self.where = where
        self.message = message

    def __str__(self) -> str:
        """One line, ``file: where: message``, leaving out the parts that are unknown."""
        return ": ".join(p for p in (self.file, self.where, self.message) if p)


class IngestError(EligibilityError):
    """A trial record could not be read or understood."""
