"""Sweeps: a scenario run over a designed set of points, declared in YAML.

A sweep file names a base scenario, the fields that vary (their values or ranges), the
design that picks the points (full factorial, or a Latin hypercube from
``scipy.stats.qmc``) and the replications per point::

    name: reps_and_sla
    base: ../baseline.yaml          # relative to this file
    set: {months: 6}                # optional: fixed overrides for every point
    design: full_factorial          # or latin_hypercube (then also `samples: 20`)
    replications: 5
    seed: 0
    factors:
      team.reps: [6, 8, 10]                       # a list of values
      sla.first_touch_minutes: {values: [5, 60]}  # the same, spelled out
      routing.lead_cap: {low: 200, high: 800, type: int, levels: 4}  # a range
    kpis: [won_deals, revenue]      # optional: keep only these KPIs

A range needs ``levels`` in a full factorial (evenly spaced values, ends included); a
Latin hypercube samples it uniformly (``type: int`` gives whole numbers). Every point
runs on the same seeds (common random numbers across points). The result is one tidy
DataFrame: ``point``, one column per factor, then the columns of
:func:`funnelsim.experiments.replicate.replicate`.
"""

from __future__ import annotations

import inspect
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from ..errors import InputError
from ..limits import check as check_limit
from ..metrics import kpi_range
from ..safe_io import read_text
from ..safe_yaml import YamlError, load_yaml
from ..scenario import Scenario, _field_path, load_scenario
from ..stats import summarise
from .executors import Executor
from .replicate import check_kpi, replication_seeds, simulate_many, tidy_runs
from .store import ResultStore

if TYPE_CHECKING:
    from scipy.stats import qmc

__all__ = ["Factor", "Sweep", "SweepFile", "FactorSpec", "load_sweep", "sweep_from_dict", "run_sweep",
           "summarize_sweep", "count_points", "DESIGNS", "SAFE_NAME"]

DESIGNS = ("full_factorial", "latin_hypercube")
_KEYS = ("name", "description", "base", "set", "design", "samples", "replications", "seed", "factors", "kpis")


@dataclass(frozen=True)
class Factor:
    """One scenario field that varies: a list of values, or a range [low, high]."""

    name: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    levels: int | None = None

    def grid(self) -> list[Any]:
        """The values a full factorial uses."""
        if self.values is not None:
            return list(self.values)
        assert self.low is not None and self.high is not None and self.levels is not None
        points = np.linspace(self.low, self.high, self.levels)
        if self.integer:
            return list(dict.fromkeys(int(round(x)) for x in points))
        return [float(x) for x in points]

    def at(self, u: float) -> Any:
        """The value at quantile u in [0, 1) of this factor (Latin hypercube)."""
        if self.values is not None:
            return self.values[min(len(self.values) - 1, int(u * len(self.values)))]
        assert self.low is not None and self.high is not None
        if self.integer:
            lo, hi = int(self.low), int(self.high)
            return min(hi, lo + int(u * (hi - lo + 1)))
        return float(self.low + u * (self.high - self.low))


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: base scenario, factors, design, replications and seed."""

    name: str
    base: Scenario
    factors: tuple[Factor, ...]
    design: str = "full_factorial"
    samples: int | None = None
    replications: int = 5
    seed: int = 0
    kpis: tuple[str, ...] | None = None
    description: str = ""
    source: str = "<sweep>"

    def _rows(self) -> list[tuple]:
        if self.design == "full_factorial":
            return list(itertools.product(*(f.grid() for f in self.factors)))
        sampler = _latin_hypercube(len(self.factors), self.seed)
        return [tuple(f.at(u) for f, u in zip(self.factors, sample)) for sample in sampler.random(self.samples)]

    def points(self) -> pd.DataFrame:
        """One row per point (``point`` index, one column per factor), in run order.

        A factor level of ``null`` (no cap, never) stays ``None`` (an object column), not NaN.
        """
        names = [f.name for f in self.factors]
        rows = self._rows()
        columns = {}
        for j, name in enumerate(names):
            values = [row[j] for row in rows]
            columns[name] = pd.Series(values, dtype=object if any(v is None for v in values) else None)
        frame = pd.DataFrame(columns, columns=names)
        frame.insert(0, "point", np.arange(len(rows), dtype=np.int64))
        return frame

    def scenarios(self) -> list[Scenario]:
        """The scenario of every point (validated: a bad value names the point and the field)."""
        out = []
        names = [f.name for f in self.factors]
        for point, values in enumerate(self._rows()):
            row = dict(zip(names, values))
            overrides = {"name": f"{self.name}-{point:03d}", **{k: _plain(v) for k, v in row.items()}}
            out.append(self.base.with_overrides(overrides, source=f"{self.source} (point {point}: {_describe(row)})"))
        return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _describe(row: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_plain(v)}" for k, v in row.items())


def _latin_hypercube(dimensions: int, seed: int) -> "qmc.LatinHypercube":
    from scipy.stats import qmc

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(0x5EE9,))))
    if "rng" in inspect.signature(qmc.LatinHypercube).parameters:
        return qmc.LatinHypercube(d=dimensions, rng=rng)
    return qmc.LatinHypercube(d=dimensions, seed=rng)  # scipy < 1.15


# --------------------------------------------------------------------------- loading

#: a sweep's name becomes a folder name (results/sweeps/<name>): letters, digits, and . _ - + ( ) and spaces
SAFE_NAME = re.compile(r"^[^\W_]([\w.+() -]*[\w.+()-])?$")
MAX_NAME_LENGTH = 100


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    return value


def _finite_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"must be a number, got {value!r}")
    return float(value)


_Whole = Annotated[int, BeforeValidator(_whole_number)]
_Finite = Annotated[float, BeforeValidator(_finite_number)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FactorSpec(_Schema):
    """One factor as written: ``values: [...]``, or a range ``low``, ``high``, ``type``, ``levels``."""

    values: list[Any] | None = Field(default=None, min_length=1)
    low: _Finite | None = None
    high: _Finite | None = None
    type: Literal["int", "float"] = "float"
    levels: Annotated[_Whole, Field(ge=1)] | None = None


class SweepFile(_Schema):
    """The schema of a sweep file (unknown fields are errors, as in a scenario)."""

    name: str | None = None
    description: str = ""
    base: Annotated[str, Field(min_length=1)]
    set: dict[str, Any] | list[str] | None = None
    design: Literal["full_factorial", "latin_hypercube"] = "full_factorial"
    samples: Annotated[_Whole, Field(ge=1)] | None = None
    replications: Annotated[_Whole, Field(ge=1)] = 5
    seed: Annotated[_Whole, Field(ge=0, lt=2**63)] = 0
    factors: Annotated[dict[Annotated[str, Field(min_length=1, max_length=200)], FactorSpec], Field(min_length=1)]
    kpis: Annotated[list[Annotated[str, Field(max_length=100)]], Field(min_length=1)] | None = None

    @field_validator("factors", mode="before")
    @classmethod
    def _lists_are_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"values": v} if isinstance(v, list) else v for k, v in value.items()}
        return value


_MESSAGES = {
    "model_type": "must be a list of values or a mapping with values, or low and high",
    "dict_type": "must be a mapping",
    "too_short": "must be non-empty (at least one)",
    "missing": "is required",
}


def _schema_error(exc: ValidationError, source: str) -> InputError:
    err = exc.errors(include_url=False)[0]
    loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and (x.startswith("function-") or
                                                                          x in ("list[str]", "dict[str,any]"))))
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        msg = ("unknown key (use values, or low, high, type, levels)" if loc and loc[0] == "factors" else
               f"unknown field (a sweep has: {', '.join(_KEYS)})")
    elif kind == "literal_error" and loc == ("design",):
        msg = f"must be one of {', '.join(DESIGNS)}, got {err.get('input')!r}"
    elif kind == "literal_error":
        msg = f"must be int or float, got {err.get('input')!r}"
    elif kind in ("greater_than_equal", "less_than"):
        msg = f"must be a whole number of at least {err['ctx'].get('ge', 0)}, got {err.get('input')!r}" \
            if kind == "greater_than_equal" else f"must be below {err['ctx']['lt']}"
    elif kind in _MESSAGES:
        msg = _MESSAGES[kind]
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind == "missing" and loc == ("factors",):
        msg = "needs a mapping of at least one scenario field to its values or range"
    elif kind == "too_short" and loc == ("factors",):
        msg = "needs a mapping of at least one scenario field to its values or range"
    elif loc == ("base",) and kind in ("missing", "string_type", "string_too_short"):
        msg = "needs the path of the base scenario file"
    elif loc == ("set",):
        msg = "must be a mapping of field: value (or a list of 'field=value')"
    return InputError(source, _field_path(loc), msg)


def _sweep_name(value: Any, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(source, "name", "must be a non-empty text")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_LENGTH:
        raise InputError(source, "name", f"must be at most {MAX_NAME_LENGTH} bytes long (it names the output folder)")
    if not SAFE_NAME.match(value) or value in (".", ".."):
        raise InputError(source, "name", f"{value!r} is not a safe folder name: use letters, digits, spaces and "
                                         ". _ - + ( ), starting with a letter or digit (no '/', no '..')")
    return value


def _default_name(source: str) -> str:
    stem = re.sub(r"[^\w.+()-]+", "_", Path(source).stem).strip("._ ")[:MAX_NAME_LENGTH]
    return stem if stem and SAFE_NAME.match(stem) else "sweep"


def _factor(name: str, spec: FactorSpec, source: str, design: str) -> Factor:
    if not name.strip():
        raise InputError(source, "factors", f"a factor must be a scenario field such as team.reps, got {name!r}")
    field = f"factors.{name}"
    if spec.values is not None:
        if spec.low is not None or spec.high is not None or spec.levels is not None or "type" in spec.model_fields_set:
            raise InputError(source, field, "give either values or a range (low, high), not both")
        check_limit("sweep_points", len(spec.values), source, f"{field}.values", "values of one factor")
        return Factor(name=name, values=tuple(spec.values))
    if spec.low is None or spec.high is None:
        raise InputError(source, field, "a range needs both low and high (or give values: [...])")
    low, high = spec.low, spec.high
    if high < low:
        raise InputError(source, field, f"high ({high:g}) must not be below low ({low:g})")
    if spec.type == "int" and (not low.is_integer() or not high.is_integer()):
        raise InputError(source, field, "an int range needs whole-number low and high")
    if spec.levels is not None:
        check_limit("sweep_points", spec.levels, source, f"{field}.levels", "levels of one factor")
    elif design == "full_factorial":
        raise InputError(source, field, "a range in a full factorial needs levels (how many evenly spaced values)")
    return Factor(name=name, low=low, high=high, integer=spec.type == "int", levels=spec.levels)


def _grid_size(factor: Factor) -> int:
    if factor.values is not None:
        return len(factor.values)
    assert factor.levels is not None and factor.low is not None and factor.high is not None
    if factor.integer:
        return min(factor.levels, int(factor.high - factor.low) + 1)
    return factor.levels


def count_points(factors: tuple[Factor, ...], design: str, samples: int | None) -> int:
    """How many points a design has, computed without building them (for the limits)."""
    if design == "latin_hypercube":
        return int(samples or 0)
    return math.prod(_grid_size(f) for f in factors)


def sweep_from_dict(data: Any, source: str = "<sweep>", folder: Path | None = None) -> Sweep:
    """Validate a sweep mapping (as read from YAML); ``base`` is resolved against `folder`.

    The file's structure is checked by :class:`SweepFile`; then the limits (points,
    replications, simulations) and the name, all before any scenario is loaded; then
    every point is validated as a scenario. Nothing has run when this raises.
    """
    if not isinstance(data, dict):
        raise InputError(source, None, f"a sweep must be a mapping of fields, got {type(data).__name__}")
    if any(not isinstance(k, str) for k in data):
        raise InputError(source, None, "every field name must be text")
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        raise _schema_error(exc, source) from None
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:  # defensive: never a traceback
        raise InputError(source, None, f"invalid sweep: {exc}") from None
    name = _sweep_name(spec.name, source) if spec.name is not None else _default_name(source)
    if spec.design == "latin_hypercube":
        if spec.samples is None:
            raise InputError(source, "samples", "a latin_hypercube design needs samples (a whole number of at least 1)")
    elif spec.samples is not None:
        raise InputError(source, "samples", "only a latin_hypercube design takes samples")
    factors = tuple(_factor(key, value, source, spec.design) for key, value in spec.factors.items())
    points = count_points(factors, spec.design, spec.samples)
    check_limit("sweep_points", points, source, "samples" if spec.design == "latin_hypercube" else "factors",
                "points of the sweep")
    check_limit("replications", spec.replications, source, "replications")
    check_limit("simulations", points * spec.replications, source, "replications",
                f"simulations ({points:,} points x {spec.replications:,} replications)")
    kpis = tuple(check_kpi(k, f"{source}: kpis") for k in spec.kpis) if spec.kpis is not None else None
    overrides: dict[str, Any] | list[str] = spec.set or {}
    target = (folder or Path(".")) / spec.base
    try:
        found = target.exists() or target.is_symlink()
    except (OSError, ValueError):
        found = False
    if not found:
        raise InputError(source, "base", f"scenario file {spec.base!r} not found (looked for {target})")
    base = load_scenario(target, overrides or None)
    sweep = Sweep(name=name, base=base, factors=factors, design=spec.design, samples=spec.samples,
                  replications=spec.replications, seed=spec.seed, kpis=kpis, description=spec.description,
                  source=source)
    sweep.scenarios()  # every point must be a valid scenario before anything runs
    return sweep


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep YAML file (errors name the file and the field)."""
    path = Path(path)
    text = read_text(path, "yaml_bytes", str(path))
    try:
        data = load_yaml(text)
    except YamlError as exc:
        where = f" at line {exc.line}" + (f", column {exc.column}" if exc.column else "") if exc.line else ""
        raise InputError(str(path), None, f"YAML syntax error{where}: {exc.problem}") from None
    return sweep_from_dict(data, str(path), path.parent)


# --------------------------------------------------------------------------- running


def run_sweep(sweep: Sweep, *, executor: Executor | None = None, store: ResultStore | None = None,
              progress: bool = False) -> pd.DataFrame:
    """Run every point of `sweep` on the same seeds; one tidy row per point × replication × KPI.

    ``frame.attrs`` holds ``computed`` and ``reused`` (replications read from `store`).
    """
    points = sweep.points()
    scenarios = sweep.scenarios()
    seeds = replication_seeds(sweep.seed, sweep.replications)
    jobs = [(sc, s) for sc in scenarios for s in seeds]
    figures, counts = simulate_many(jobs, executor=executor, store=store, progress=progress,
                                    desc=f"sweep {sweep.name}")
    n = len(seeds)
    frames = []
    for i, sc in enumerate(scenarios):
        frame = tidy_runs(sc.name, sc.hash, seeds, figures[i * n:(i + 1) * n])
        frame.insert(0, "point", np.int64(i))
        frames.append(frame)
    runs = pd.concat(frames, ignore_index=True)
    if sweep.kpis is not None:
        runs = runs[runs["kpi"].isin(sweep.kpis)]
    out = points.merge(runs, on="point", how="right", validate="one_to_many").reset_index(drop=True)
    out.attrs.update(computed=counts.computed, reused=counts.reused)
    return out


def summarize_sweep(frame: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per point × KPI: mean, standard deviation, replications and the t interval of the mean,
    cut to the values the KPI can take.

    :func:`funnelsim.stats.summarise` grouped by every column of the point and the KPI.
    """
    fixed = {"scenario", "scenario_hash", "replication", "seed", "kpi", "value"}
    keys = [c for c in frame.columns if c not in fixed]
    return summarise(frame, by=[*keys, "kpi"], confidence=confidence, bounds=kpi_range)
