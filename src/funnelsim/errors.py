"""The one error type users see: it names the file, the field and what was wrong."""

from __future__ import annotations

__all__ = ["FunnelsimError", "ScenarioError", "InputError"]


class FunnelsimError(Exception):
    """Base class for every error funnelsim reports to a user (CLI exit code 2)."""

    exit_code = 2


class InputError(FunnelsimError):
    """Bad input: names the source (a file or an option), the field and the problem."""

    def __init__(self, source: str | None, field: str | None, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source or "<input>"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class ScenarioError(InputError):
    """A scenario file (or an override of it) is malformed."""
