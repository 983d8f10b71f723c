"""The one error type users see: it names the file, the field and what was wrong."""

from __future__ import annotations

__all__ = ["FunnelsimError", "ScenarioError", "InputError", "OutputError", "printable"]


def printable(text: object) -> str:
    """`text` on one line with control characters (newlines, ANSI escapes, NUL) shown as escapes."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class FunnelsimError(Exception):
    """Base class for every error funnelsim reports to a user (CLI exit code 2)."""

    exit_code = 2

    def __str__(self) -> str:
        return printable(super().__str__())


class InputError(FunnelsimError):
    """Bad input: names the source (a file or an option), the field and the problem.

    The text is always one line: control characters in a file name, a field or a value
    quoted from a hostile file are shown escaped, never sent raw to the terminal.
    """

    def __init__(self, source: str | None, field: str | None, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
        super().__init__(self._text())

    def _text(self) -> str:
        where = printable(self.source or "<input>")
        if self.field:
            return f"{where}: {printable(self.field)}: {printable(self.message)}"
        return f"{where}: {printable(self.message)}"

    def __str__(self) -> str:
        return self._text()


class ScenarioError(InputError):
    """A scenario file (or an override of it) is malformed."""


class OutputError(InputError):
    """An output cannot be written: names the option (or file) and the path."""
