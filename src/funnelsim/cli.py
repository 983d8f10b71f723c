"""The ``funnelsim`` command line. Every user error ends in one line on stderr and exit 2.

Each command lives in its own module under ``funnelsim.commands`` and provides
``register(subparsers)``; :data:`COMMANDS` lists them in the order ``--help`` shows.

Global options: ``--limit NAME=VALUE`` raises one of the documented limits for this
command (``docs/LIMITS.md``); ``--debug`` shows the traceback of an unexpected error,
which otherwise ends in one line and exit code 1 (a bug: user errors are exit code 2).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ._version import __version__
from .errors import FunnelsimError, printable

__all__ = ["main", "COMMANDS"]

COMMANDS: tuple[str, ...] = ("run", "compare", "sweep", "staff", "export", "calibrate", "score", "report",
                             "notebook", "whatif")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        self.exit(2, f"funnelsim: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="funnelsim", description="Simulate the sales-lead funnel and compare policies.")
    parser.add_argument("--version", action="version", version=f"funnelsim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                        help="raise a limit for this command, e.g. --limit months=240 (see docs/LIMITS.md)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"funnelsim.commands.{name}").register(sub)
    return parser


@contextmanager
def _limits(items: list[str]) -> Iterator[None]:
    """Set the environment variables of `--limit` options for the duration of one command."""
    from .limits import parse_limit_option

    settings = dict(parse_limit_option(item) for item in items)
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _limits(args.limit):
            return int(args.handler(args) or 0)
    except FunnelsimError as exc:
        print(f"funnelsim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("funnelsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: a bug, never a user error
        if args.debug:
            raise
        reason = printable(str(exc).splitlines()[0] if str(exc).strip() else "")[:300]
        print(f"funnelsim: internal error: {type(exc).__name__}: {reason} (a bug; rerun with --debug for the "
              "traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
