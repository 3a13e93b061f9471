"""Errors a user can make, reported as one clear message instead of a traceback."""

from __future__ import annotations


class RftError(Exception):
    """A user-facing error: ``where`` (file[:line] and/or field) + what is wrong + the fix."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text

    def at(self, where: str) -> "RftError":
        """The same error, located (prefixing any location it already had)."""
        inner = f"{where}: {self.where}" if self.where else where
        return RftError(self.message, where=inner, fix=self.fix)


class GraderError(Exception):
    """Raised while grading one sample; recorded as a grader error, never scored 0."""
