"""The ``funnelsim`` command line. Every user error ends in one line on stderr and exit 2.

Each command lives in its own module under ``funnelsim.commands`` and provides
``register(subparsers)``; :data:`COMMANDS` lists them in the order ``--help`` shows.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .errors import FunnelsimError

__all__ = ["main", "COMMANDS"]

COMMANDS: tuple[str, ...] = ("run", "compare", "sweep", "staff", "export", "calibrate", "score", "report")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        self.exit(2, f"funnelsim: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="funnelsim", description="Simulate the sales-lead funnel and compare policies.")
    parser.add_argument("--version", action="version", version=f"funnelsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"funnelsim.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except FunnelsimError as exc:
        print(f"funnelsim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("funnelsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
