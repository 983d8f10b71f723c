"""The bundled notebooks' parameters: declared here, checked the same way in the notebook and by ``funnelsim notebook``.

Each notebook's tagged ``parameters`` cell holds the defaults, the type annotations and a
help comment per parameter (what ``papermill NOTEBOOK --help-notebook`` shows); :data:`SPECS`
holds the same names and types with the rule each value must meet
(``tests/functional/test_notebook_params.py`` keeps the two in step). The cell after the
parameters runs::

    globals().update(check_parameters("ab_compare", globals()))

which refuses a parameter the notebook does not declare (papermill's ``injected-parameters``
cell is compared with the declared names), accepts one string where a list is expected,
resolves paths relative to the notebook's folder wherever the kernel runs, and ends in a
:class:`ParameterError`: one line per mistake, naming the notebook and the parameter, shown
by IPython without a traceback. ``funnelsim notebook`` runs :func:`check_values` before any
kernel starts.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, printable

__all__ = [
    "NOTEBOOK_DIR",
    "SPECS",
    "Param",
    "ParameterError",
    "check_parameters",
    "check_values",
    "check_names",
    "check_given",
    "notebook_defaults",
    "notebook_folder",
    "notebook_path",
]

#: the folder of the bundled notebooks (the source tree this package runs from)
NOTEBOOK_DIR = Path(__file__).resolve().parents[3] / "notebooks"
#: the comment papermill puts first in the cell it injects
_INJECTED_HEADER = "# Parameters\n"


class ParameterError(InputError):
    """One or more notebook parameters are wrong: one line per mistake, naming the notebook and the parameter."""

    def __init__(self, notebook: str, problems: list[tuple[str, str]]) -> None:
        self.notebook = notebook
        self.problems = list(problems)
        name, message = self.problems[0]
        super().__init__(f"{notebook}.ipynb", name, message)

    def lines(self) -> list[str]:
        return [f"{printable(self.notebook)}.ipynb: {printable(n)}: {printable(m)}" for n, m in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return [f"ParameterError: {line}" for line in self.lines()]


class _Bad(Exception):
    """A value breaks its rule (the message says how); `name` is the parameter to blame when it is not obvious."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


# --------------------------------------------------------------------------- values


def _int(least: int) -> Callable[[Any, Path], int]:
    def check(value: Any, base: Path) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"{value!r} is not a whole number")
        if value < least:
            raise _Bad(f"must be at least {least}, got {value}")
        return value

    return check


def _number(value: Any, base: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{value!r} is not a number")
    if not math.isfinite(value):
        raise _Bad(f"must be a finite number, got {value!r}")
    return float(value)


def _positive(value: Any, base: Path) -> float:
    number = _number(value, base)
    if number <= 0:
        raise _Bad(f"must be more than 0, got {number:g}")
    return number


def _share(value: Any, base: Path) -> float:
    number = _number(value, base)
    if not 0 < number < 1:
        raise _Bad(f"must be a share between 0 and 1, e.g. 0.05; got {number:g}")
    return number


def _text(value: Any, base: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{value!r} must be a non-empty text")
    return value.strip()


def _path(value: Any, base: Path) -> str:
    """A path relative to the notebook's folder (or absolute), made absolute; ``""`` stays ``""`` (none)."""
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str):
        raise _Bad(f"{value!r} is not a path")
    if not value.strip():
        return ""
    if "\x00" in value:
        raise _Bad("not a usable path (NUL byte)")
    return str((base / Path(value).expanduser()).resolve())


def _file(value: Any, base: Path) -> str:
    path = _path(value, base)
    if not path:
        raise _Bad("needs a file path")
    if not Path(path).is_file():
        raise _Bad(f"{path}: file not found" if not Path(path).exists() else f"{path}: not a file")
    return path


def _file_or_empty(value: Any, base: Path) -> str:
    return _file(value, base) if _path(value, base) else ""


def _strings(value: Any, base: Path) -> list[str]:
    """A list of texts; one text is a list of one."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"{value!r} must be a text or a list of texts")
    return list(value)


def _files(value: Any, base: Path) -> list[str]:
    return [_file(v, base) for v in _strings(value, base)]


def _kpis(value: Any, base: Path) -> list[str]:
    from ..experiments.replicate import check_kpi

    return [check_kpi(name, "kpis") for name in _strings(value, base)]


def _effects(value: Any, base: Path) -> dict[str, float]:
    from .options import parse_min_effects

    if not isinstance(value, Mapping):
        raise _Bad(f"{value!r} must be a mapping of KPI to smallest difference, e.g. {{'won_deals': 5}}")
    return parse_min_effects([f"{k}={v}" for k, v in value.items()])


def _target(value: Any, base: Path) -> str:
    from ..experiments.staffing import parse_target

    return parse_target(_text(value, base), "staffing_target").text


def _choice(*options: str) -> Callable[[Any, Path], str]:
    def check(value: Any, base: Path) -> str:
        if value not in options:
            raise _Bad(f"{value!r} is not one of {', '.join(options)}")
        return value

    return check


def _optional(check: Callable[[Any, Path], Any]) -> Callable[[Any, Path], Any]:
    def optional(value: Any, base: Path) -> Any:
        return None if value is None else check(value, base)

    return optional


@dataclass(frozen=True)
class Param:
    """A notebook parameter: its type as the notebook annotates it, and the rule its value meets."""

    type: str
    check: Callable[[Any, Path], Any]
    path: bool = False  # a path (or paths): relative to the notebook, or to the working folder on the CLI


_EXECUTORS = _optional(_choice("serial", "pool", "dask"))
#: where a notebook's replications run and are kept: the last parameters of ab_compare and sweep
_RUN_ON: dict[str, Param] = {
    "executor": Param("Optional[str]", _EXECUTORS),
    "workers": Param("Optional[int]", _optional(_int(1))),
    "dask_address": Param("Optional[str]", _optional(_text)),
    "store": Param("Optional[str]", _optional(_path), path=True),
}

#: every bundled notebook's parameters, in the order of its parameters cell
SPECS: dict[str, dict[str, Param]] = {
    "ab_compare": {
        "baseline": Param("str", _file, path=True),
        "variants": Param("list[str]", _files, path=True),
        "replications": Param("int", _int(2)),
        "precision": Param("Optional[float]", _optional(_share)),
        "max_replications": Param("int", _int(2)),
        "seed": Param("int", _int(0)),
        "min_effects": Param("Optional[dict[str, float]]", _optional(_effects)),
        "overrides": Param("list[str]", _strings),
        "months": Param("Optional[float]", _optional(_positive)),
        **_RUN_ON,
    },
    "sweep": {
        "sweep": Param("str", _file, path=True),
        "replications": Param("Optional[int]", _optional(_int(1))),
        "months": Param("Optional[float]", _optional(_positive)),
        "kpis": Param("Optional[list[str]]", _optional(_kpis)),
        "staffing_target": Param("Optional[str]", _optional(_target)),
        "staffing_replications": Param("int", _int(1)),
        **_RUN_ON,
    },
    "what_if": {
        "scenario": Param("str", _file, path=True),
        "replications": Param("int", _int(1)),
        "months": Param("float", _positive),
        "seed": Param("int", _int(0)),
    },
    "calibrate": {
        "export": Param("str", _file_or_empty, path=True),
        "base": Param("Optional[str]", _optional(_file), path=True),
        "scenario": Param("str", _file, path=True),
        "months": Param("float", _positive),
        "seed": Param("int", _int(0)),
        "check_funnel": Param("int", _int(0)),
        "output": Param("str", _path, path=True),
    },
}


# --------------------------------------------------------------------------- what the values must meet together


def _blame(name: str, run: Callable[[], Any]) -> Any:
    """`run()`, an input error in it blamed on the parameter `name`."""
    try:
        return run()
    except InputError as exc:
        if exc.source == name or (exc.source or "").endswith("(--set)"):  # the parameter, not an option
            raise _Bad(exc.message if exc.field in (None, name) else f"{exc.field}: {exc.message}", name) from None
        raise _Bad(str(exc), name) from None


def _load_scenarios(values: dict[str, Any], files: list[tuple[str, str]], overrides: list[str]) -> None:
    """Each scenario file read alone (blames its parameter), then with the overrides, then with the months."""
    from ..scenario import load_scenario

    months = values.get("months")
    for name, path in files:
        _blame(name, lambda: load_scenario(path))
        if overrides:
            _blame("overrides", lambda: load_scenario(path, overrides))
        if months is not None:
            _blame("months", lambda: load_scenario(path, [*overrides, f"months={months}"]))


def _load_sweep(values: dict[str, Any]) -> None:
    from ..experiments.sweep import load_sweep

    plan = _blame("sweep", lambda: load_sweep(values["sweep"]))
    if values["months"] is not None:
        _blame("months", lambda: plan.base.with_overrides({"months": values["months"]}, source="months"))


def _together(notebook: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    """The rules that need more than one value, or a file read: (parameter, message) problems."""
    from ..limits import check as check_limit

    checks: list[Callable[[], Any]] = []
    problems: list[tuple[str, str]] = []
    if notebook == "ab_compare":
        if not values["variants"]:
            problems.append(("variants", "needs at least one variant scenario to compare with the baseline"))
        if values["precision"] is not None and values["max_replications"] < values["replications"]:
            problems.append(("max_replications", f"must be at least replications ({values['replications']})"))
        checks.append(lambda: _blame("replications", lambda: check_limit(
            "replications", values["replications"], "replications", None)))
        files = [("baseline", values["baseline"]), *(("variants", v) for v in values["variants"])]
        checks.append(lambda: _load_scenarios(values, files, values["overrides"]))
    elif notebook == "what_if":
        checks.append(lambda: _load_scenarios(values, [("scenario", values["scenario"])], []))
    elif notebook == "calibrate":
        files = [("scenario", values["scenario"])] + ([("base", values["base"])] if values["base"] else [])
        checks.append(lambda: _load_scenarios({}, files, []))
        checks.append(lambda: _load_scenarios(values, [("scenario", values["scenario"])], []))
    elif notebook == "sweep":
        checks.append(lambda: _load_sweep(values))
    for check in checks:
        try:
            check()
        except _Bad as exc:
            problems.append((exc.name or notebook, str(exc)))
    return problems


# --------------------------------------------------------------------------- the checks


def _spec(notebook: str) -> dict[str, Param]:
    name = notebook.removesuffix(".ipynb")
    if name not in SPECS:
        raise InputError("notebook", None, f"unknown notebook {notebook!r}; the bundled ones are "
                                           f"{', '.join(SPECS)}")
    return SPECS[name]


def check_names(notebook: str, names: list[str] | set[str]) -> None:
    """Refuse any name the notebook does not declare (with the closest declared name as a hint)."""
    declared = list(_spec(notebook))
    problems = []
    for name in sorted(set(names) - set(declared)):
        close = difflib.get_close_matches(str(name), declared, n=1)
        hint = f"did you mean {close[0]}?" if close else f"the parameters are {', '.join(declared)}"
        problems.append((str(name), f"unknown parameter ({hint})"))
    if problems:
        raise ParameterError(notebook.removesuffix(".ipynb"), problems)


def check_values(notebook: str, values: Mapping[str, Any], base: str | Path) -> dict[str, Any]:
    """Every declared parameter of `notebook` checked and cleaned (paths absolute, one text made a list).

    `values` must hold every declared parameter; relative paths are taken from `base` (the
    notebook's folder). Raises :class:`ParameterError` with one line per mistake.
    """
    spec = _spec(notebook)
    name = notebook.removesuffix(".ipynb")
    check_names(name, set(values))
    base = Path(base)
    clean: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, param in spec.items():
        if key not in values:
            problems.append((key, "is not set (the notebook's parameters cell must define it)"))
            continue
        try:
            clean[key] = param.check(values[key], base)
        except _Bad as exc:
            problems.append((key, str(exc)))
        except InputError as exc:
            problems.append((key, exc.message if exc.field is None else f"{exc.field}: {exc.message}"))
    if not problems:
        problems = _together(name, clean)
    if problems:
        raise ParameterError(name, problems)
    return clean


def notebook_path(notebook: str) -> Path:
    """The bundled notebook called `notebook` (with or without ``.ipynb``)."""
    _spec(notebook)
    return NOTEBOOK_DIR / f"{notebook.removesuffix('.ipynb')}.ipynb"


def notebook_folder(notebook: str) -> Path:
    """The folder relative paths are read from: the kernel's working folder when the notebook is there
    (JupyterLab, ``papermill --cwd``, a copy run where it lies), else the bundled notebooks' folder
    (``papermill notebooks/NAME.ipynb`` from anywhere)."""
    here = Path.cwd()
    if (here / f"{notebook.removesuffix('.ipynb')}.ipynb").is_file() or not NOTEBOOK_DIR.is_dir():
        return here
    return NOTEBOOK_DIR


def _injected_names(history: Any) -> set[str]:
    """The names papermill's injected-parameters cell assigned (the latest such cell in IPython's history)."""
    for source in reversed(list(history or [])):
        if isinstance(source, str) and source.startswith(_INJECTED_HEADER):
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return set()
            return {t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    return set()


def check_parameters(notebook: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """In the notebook, right after the parameters: the declared parameters checked and cleaned.

    `namespace` is the notebook's ``globals()``; names papermill injected that the notebook
    does not declare are refused. Returns the clean values for ``globals().update(...)``.
    """
    values = {k: namespace[k] for k in _spec(notebook) if k in namespace}
    return _checked(notebook, _injected_names(namespace.get("In")), values, notebook_folder(notebook))


def _checked(notebook: str, names: set[str], values: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """`values` checked after the given `names`: every mistake of both in one ParameterError."""
    problems: list[tuple[str, str]] = []
    try:
        check_names(notebook, names)
    except ParameterError as exc:
        problems = exc.problems
    try:
        clean = check_values(notebook, values, base)
    except ParameterError as exc:
        problems += exc.problems
    if problems:
        raise ParameterError(notebook.removesuffix(".ipynb"), problems)
    return clean


def notebook_defaults(path: str | Path) -> dict[str, Any]:
    """The defaults the tagged ``parameters`` cell of the notebook at `path` assigns (literals only)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = [c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return {}
    source = cells[0]["source"]
    tree = ast.parse(source if isinstance(source, str) else "".join(source))
    out: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            out[node.target.id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def _from_cwd(param: Param, value: Any, cwd: Path) -> Any:
    """A path given on the command line, made absolute from the working folder (the notebook runs elsewhere)."""
    if not param.path:
        return value
    if isinstance(value, str) and value.strip():
        return str((cwd / Path(value).expanduser()).resolve())
    if isinstance(value, (list, tuple)):
        return [_from_cwd(param, v, cwd) for v in value]
    return value


def check_given(notebook: str, given: Mapping[str, Any], cwd: str | Path | None = None) -> dict[str, Any]:
    """Before any kernel starts: the parameters given to the bundled `notebook`, checked with its defaults.

    Paths in `given` are relative to `cwd` (the working folder), the defaults' to the
    notebook. Returns the clean given values (paths absolute) to hand to papermill.
    """
    spec = _spec(notebook)
    cwd = Path.cwd() if cwd is None else Path(cwd)
    path = notebook_path(notebook)
    values = {**notebook_defaults(path),
              **{k: _from_cwd(spec[k], v, cwd) if k in spec else v for k, v in given.items()}}
    clean = _checked(notebook, set(given), {k: v for k, v in values.items() if k in spec}, path.parent)
    return {k: clean[k] for k in given}
