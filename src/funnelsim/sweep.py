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
:func:`funnelsim.experiment.replicate`.
"""

from __future__ import annotations

import inspect
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from .errors import InputError
from .executors import Executor
from .experiment import check_kpi, replication_seeds, simulate_many, tidy_runs
from .scenario import Scenario, load_scenario
from .store import ResultStore

if TYPE_CHECKING:
    from scipy.stats import qmc

__all__ = ["Factor", "Sweep", "load_sweep", "sweep_from_dict", "run_sweep", "summarize_sweep", "DESIGNS"]

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

    def points(self) -> pd.DataFrame:
        """One row per point (``point`` index, one column per factor), in run order."""
        names = [f.name for f in self.factors]
        if self.design == "full_factorial":
            rows = list(itertools.product(*(f.grid() for f in self.factors)))
        else:
            sampler = _latin_hypercube(len(self.factors), self.seed)
            rows = [tuple(f.at(u) for f, u in zip(self.factors, sample)) for sample in sampler.random(self.samples)]
        frame = pd.DataFrame(rows, columns=names)
        frame.insert(0, "point", np.arange(len(frame), dtype=np.int64))
        return frame

    def scenarios(self) -> list[Scenario]:
        """The scenario of every point (validated: a bad value names the point and the field)."""
        out = []
        for row in self.points().to_dict(orient="records"):
            point = int(row.pop("point"))
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


def _whole(value: Any, source: str, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(source, field, f"must be a whole number of at least {minimum}, got {value!r}")
    return value


def _number(value: Any, source: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(source, field, f"must be a number, got {value!r}")
    return float(value)


def _factor(name: Any, spec: Any, source: str, design: str) -> Factor:
    if not isinstance(name, str) or not name.strip():
        raise InputError(source, "factors", f"a factor must be a scenario field such as team.reps, got {name!r}")
    field = f"factors.{name}"
    if isinstance(spec, list):
        spec = {"values": spec}
    if not isinstance(spec, dict):
        raise InputError(source, field, "must be a list of values or a mapping with values, or low and high")
    unknown = sorted(set(spec) - {"values", "low", "high", "type", "levels"})
    if unknown:
        raise InputError(source, f"{field}.{unknown[0]}", "unknown key (use values, or low, high, type, levels)")
    if "values" in spec:
        if set(spec) - {"values"}:
            raise InputError(source, field, "give either values or a range (low, high), not both")
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise InputError(source, f"{field}.values", "must be a non-empty list")
        return Factor(name=name, values=tuple(values))
    if "low" not in spec or "high" not in spec:
        raise InputError(source, field, "a range needs both low and high (or give values: [...])")
    kind = spec.get("type", "float")
    if kind not in ("int", "float"):
        raise InputError(source, f"{field}.type", f"must be int or float, got {kind!r}")
    low, high = _number(spec["low"], source, f"{field}.low"), _number(spec["high"], source, f"{field}.high")
    if high < low:
        raise InputError(source, field, f"high ({high:g}) must not be below low ({low:g})")
    if kind == "int" and (not low.is_integer() or not high.is_integer()):
        raise InputError(source, field, "an int range needs whole-number low and high")
    levels = spec.get("levels")
    if levels is not None:
        levels = _whole(levels, source, f"{field}.levels", 1)
    elif design == "full_factorial":
        raise InputError(source, field, "a range in a full factorial needs levels (how many evenly spaced values)")
    return Factor(name=name, low=low, high=high, integer=kind == "int", levels=levels)


def sweep_from_dict(data: Any, source: str = "<sweep>", folder: Path | None = None) -> Sweep:
    """Validate a sweep mapping (as read from YAML); ``base`` is resolved against `folder`."""
    if not isinstance(data, dict):
        raise InputError(source, None, f"a sweep must be a mapping of fields, got {type(data).__name__}")
    unknown = [k for k in data if k not in _KEYS]
    if unknown:
        raise InputError(source, str(unknown[0]), f"unknown field (a sweep has: {', '.join(_KEYS)})")
    design = data.get("design", "full_factorial")
    if design not in DESIGNS:
        raise InputError(source, "design", f"must be one of {', '.join(DESIGNS)}, got {design!r}")
    samples = data.get("samples")
    if design == "latin_hypercube":
        samples = _whole(samples, source, "samples", 1)
    elif samples is not None:
        raise InputError(source, "samples", "only a latin_hypercube design takes samples")
    replications = _whole(data.get("replications", 5), source, "replications", 1)
    seed = _whole(data.get("seed", 0), source, "seed", 0)
    factors_raw = data.get("factors")
    if not isinstance(factors_raw, dict) or not factors_raw:
        raise InputError(source, "factors", "needs a mapping of at least one scenario field to its values or range")
    factors = tuple(_factor(name, spec, source, design) for name, spec in factors_raw.items())
    kpis = data.get("kpis")
    if kpis is not None:
        if not isinstance(kpis, list) or not kpis:
            raise InputError(source, "kpis", "must be a non-empty list of KPI names")
        kpis = tuple(check_kpi(k, f"{source}: kpis") for k in kpis)
    base_path = data.get("base")
    if not isinstance(base_path, str) or not base_path.strip():
        raise InputError(source, "base", "needs the path of the base scenario file")
    overrides = data.get("set") or {}
    if isinstance(overrides, dict):
        overrides = dict(overrides)
    elif isinstance(overrides, list) and all(isinstance(o, str) for o in overrides):
        overrides = list(overrides)
    else:
        raise InputError(source, "set", "must be a mapping of field: value (or a list of 'field=value')")
    target = (folder or Path(".")) / base_path
    if not target.is_file():
        raise InputError(source, "base", f"scenario file {base_path!r} not found (looked for {target})")
    base = load_scenario(target, overrides or None)
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name.strip():
        raise InputError(source, "name", "must be a non-empty text")
    sweep = Sweep(name=name, base=base, factors=factors, design=design, samples=samples,
                  replications=replications, seed=seed, kpis=kpis, description=str(data.get("description", "")),
                  source=source)
    sweep.scenarios()  # every point must be a valid scenario before anything runs
    return sweep


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep YAML file (errors name the file and the field)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), None, f"cannot read file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(str(path), None, f"YAML syntax error{where}: {getattr(exc, 'problem', None) or exc}") from None
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
    """Per point × KPI: mean, standard deviation, replications and the t interval of the mean."""
    from scipy import stats

    fixed = {"scenario", "scenario_hash", "replication", "seed", "kpi", "value"}
    keys = [c for c in frame.columns if c not in fixed]
    grouped = frame.groupby([*keys, "kpi"], sort=False, dropna=False)["value"]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    t = stats.t.ppf(0.5 + confidence / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] >= 2, t * out["sd"] / np.sqrt(out["n"].clip(lower=1)), np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out

