"""``funnelsim notebook NAME -p KEY VALUE …``: run a bundled notebook with papermill.

A thin wrapper: the parameters are checked by
:func:`funnelsim.commands.notebook_params.check_given` (the check the notebook itself runs)
before any kernel starts, so a bad one is one line and exit code 2; then papermill executes
the notebook in its own folder and the executed copy (and, with ``--html``, its HTML with the
code hidden) is written. Paths given with ``-p`` are relative to the working folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from ..errors import FunnelsimError, OutputError
from ..safe_io import check_output_file
from .notebook_params import SPECS, ParameterError, check_given, notebook_path
from .options import non_negative_int

__all__ = ["register", "run", "parse_parameters"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "notebook", help="run a bundled notebook with papermill (parameters checked first)",
        description="Run one of the bundled notebooks with papermill and write the executed copy. The parameters "
                    "(`papermill notebooks/NAME.ipynb --help-notebook` lists them) are checked before any kernel "
                    "starts; paths given here are relative to the working folder.")
    p.add_argument("name", choices=list(SPECS), metavar="NAME", help=f"the notebook: {', '.join(SPECS)}")
    p.add_argument("-p", "--parameter", dest="parameters", nargs=2, action="append", default=[],
                   metavar=("KEY", "VALUE"),
                   help="a parameter; VALUE is read as YAML (5, 0.5, null, [a.yaml, b.yaml], {won_deals: 5}); "
                        "repeat a list parameter to add items")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="the executed notebook to write (default reports/NAME.ipynb)")
    p.add_argument("--html", type=Path, default=None, help="also write the executed notebook as HTML (code hidden)")
    p.add_argument("--timeout", type=non_negative_int, default=3600,
                   help="seconds a notebook cell may run (0: no limit)")
    p.set_defaults(handler=run)


def _value(text: str) -> Any:
    """A value as papermill's ``-y`` reads it (YAML); ``None`` too, as papermill's ``-p`` reads it."""
    if text == "None":
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_parameters(notebook: str, pairs: list[list[str]]) -> dict[str, Any]:
    """``[["variants", "a.yaml"], ["variants", "b.yaml"]]`` -> ``{"variants": ["a.yaml", "b.yaml"]}``."""
    spec = SPECS[notebook]
    out: dict[str, Any] = {}
    problems = []
    for key, text in pairs:
        value = _value(text)
        if key not in out:
            out[key] = value
        elif key in spec and "list[" in spec[key].type:
            previous = out[key] if isinstance(out[key], list) else [out[key]]
            out[key] = previous + (value if isinstance(value, list) else [value])
        else:
            problems.append((key, "given twice (only a list parameter may be repeated)"))
    if problems:
        raise ParameterError(notebook, problems)
    return out


def run(args: argparse.Namespace) -> int:
    import papermill as pm

    source = notebook_path(args.name)
    output: Path = args.output or Path("reports") / source.name
    try:
        parameters = check_given(args.name, parse_parameters(args.name, args.parameters))
    except ParameterError as exc:
        for line in exc.lines():
            print(f"funnelsim: error: {line}", file=sys.stderr)
        return exc.exit_code
    if output.resolve() == source.resolve():
        raise OutputError("--output", None, f"{output}: would overwrite the bundled notebook")
    check_output_file(output, "--output")  # before the notebook runs: its work is not lost to a bad destination
    if args.html is not None:
        check_output_file(args.html, "--html")
    print(f"Running notebooks/{source.name} with papermill (kernel python3)…", file=sys.stderr)
    try:
        pm.execute_notebook(str(source), str(output), parameters=parameters, kernel_name="python3",
                            progress_bar=False, log_output=False, cwd=str(source.parent),
                            execution_timeout=args.timeout or None,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except pm.PapermillExecutionError as exc:
        reason = str(exc.evalue).splitlines()[0] if exc.evalue else ""
        raise FunnelsimError(f"{source.name}: the notebook failed in cell {exc.exec_count}: {exc.ename}: "
                             f"{reason} (the executed copy with the error: {output})") from None
    print(output)
    if args.html is not None:
        from ..atomic import write_text
        from ..present.render import notebook_to_html

        print(write_text(args.html, notebook_to_html(output, source.stem.replace("_", " "))))
    return 0
