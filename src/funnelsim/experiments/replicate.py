"""Replications: seeds, running many (scenario, seed) jobs, and the tidy table of their KPIs.

A replication is one run of :func:`funnelsim.simulate` with one seed. Seeds are spawned
from one root seed, and seed ``i`` depends only on ``(root_seed, i)``: asking for more
replications later extends the list, it never changes the first ones.

:func:`simulate_many` is the one place jobs are sent to an executor
(:mod:`funnelsim.experiments.executors`) and read from or written to a result store
(:mod:`funnelsim.experiments.store`); :func:`run_task` is the module-level function pool and
Dask workers import by name.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..errors import InputError
from ..metrics import KPI_INFO, kpis
from ..scenario import Scenario
from ..simulation import simulate
from ..vocabulary import LEAK_REASONS
from .executors import Executor, owned_executor
from .store import ResultStore

__all__ = ["replication_seeds", "replicate", "RunCounts", "simulate_many", "run_task", "known_kpis", "check_kpi",
           "tidy_runs", "RUN_COLUMNS"]

RUN_COLUMNS = ("scenario", "scenario_hash", "replication", "seed", "kpi", "value")


# --------------------------------------------------------------------------- KPI names


def known_kpis() -> tuple[str, ...]:
    """Every KPI name a replication reports (:data:`KPI_INFO` plus ``leak_<reason>``)."""
    return (*KPI_INFO, *(f"leak_{r}" for r in (*LEAK_REASONS, "open")))


def check_kpi(name: str, source: str = "kpi") -> str:
    """Return `name` if it is a KPI, else raise an InputError that suggests the closest one."""
    names = known_kpis()
    if isinstance(name, str) and name in names:
        return name
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f"did you mean {close[0]}?" if close else "see funnelsim.metrics.KPI_INFO for the names"
    raise InputError(source, str(name), f"unknown KPI ({hint})")


# --------------------------------------------------------------------------- seeds and runs


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(name, None, f"must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def replication_seeds(root_seed: int, n: int) -> list[int]:
    """Seeds of replications 0..n−1; seed i depends only on (root_seed, i), not on n."""
    root = _check_count(root_seed, "seed", 0)
    count = _check_count(n, "replications", 0)
    return [int(np.random.SeedSequence(root, spawn_key=(i,)).generate_state(1, np.uint64)[0] >> np.uint64(1))
            for i in range(count)]


def _run_one(scenario_json: str, seed: int) -> dict[str, float]:
    """One replication, as workers run it: scenario as JSON text in, KPI dict out."""
    scenario = Scenario.model_validate_json(scenario_json)
    return kpis(simulate(scenario, int(seed), record_events=False))


def run_task(task: tuple[str, int]) -> dict[str, float]:
    """Executor entry point: ``task = (scenario_json, seed)``."""
    return _run_one(*task)


@dataclass(frozen=True)
class RunCounts:
    """How many replications were simulated and how many came from the result store."""

    computed: int = 0
    reused: int = 0

    def __add__(self, other: "RunCounts") -> "RunCounts":
        return RunCounts(self.computed + other.computed, self.reused + other.reused)


def simulate_many(jobs: Sequence[tuple[Scenario, int]], *, executor: Executor | None = None,
                  store: ResultStore | None = None, progress: bool = False,
                  desc: str = "replications") -> tuple[list[dict[str, float]], RunCounts]:
    """KPIs of every (scenario, seed) job, in job order; stored ones are read, not rerun.

    Each distinct (scenario hash, seed) runs once; results are stored as they arrive.
    """
    keys = [(sc.hash, int(seed)) for sc, seed in jobs]
    unique: dict[tuple[str, int], Scenario] = {}
    for (sc, _), key in zip(jobs, keys):
        unique.setdefault(key, sc)
    results: dict[tuple[str, int], dict[str, float]] = {}
    if store is not None:
        for key in unique:
            stored = store.get(*key)
            if stored is not None:
                results[key] = stored
    missing = [key for key in unique if key not in results]
    texts: dict[str, str] = {}
    tasks = []
    for key in missing:
        if key[0] not in texts:
            texts[key[0]] = unique[key].model_dump_json()
        tasks.append((texts[key[0]], key[1]))
    with tqdm(total=len(unique), desc=desc, unit="run", disable=not progress, leave=False,
              initial=len(unique) - len(missing)) as bar:

        def on_result(index: int, figures: dict[str, float]) -> None:
            key = missing[index]
            if store is not None:
                store.put(key[0], key[1], figures, unique[key].name)
            bar.update(1)

        if tasks:
            with owned_executor(executor) as ex:
                computed = ex.map(run_task, tasks, on_result=on_result)
            results.update(zip(missing, computed))
    return [results[key] for key in keys], RunCounts(len(missing), len(unique) - len(missing))


def tidy_runs(scenario: str, scenario_hash: str, seeds: Sequence[int],
              figures: Sequence[dict[str, float]], first_replication: int = 0) -> pd.DataFrame:
    """One row per replication × KPI (columns :data:`RUN_COLUMNS`)."""
    rep, seed_col, kpi_col, values = [], [], [], []
    for i, (seed, fig) in enumerate(zip(seeds, figures)):
        rep.extend([first_replication + i] * len(fig))
        seed_col.extend([int(seed)] * len(fig))
        kpi_col.extend(fig.keys())
        values.extend(float(v) for v in fig.values())
    return pd.DataFrame({
        "scenario": [scenario] * len(values),
        "scenario_hash": [scenario_hash] * len(values),
        "replication": np.asarray(rep, dtype=np.int64),
        "seed": np.asarray(seed_col, dtype=np.int64),
        "kpi": kpi_col,
        "value": np.asarray(values, dtype=float),
    })


def replicate(scenario: Scenario, replications: int = 10, seed: int = 0, *, executor: Executor | None = None,
              store: ResultStore | None = None, progress: bool = False) -> pd.DataFrame:
    """Run `scenario` on ``replication_seeds(seed, replications)``; tidy KPIs, one row per replication × KPI.

    ``frame.attrs`` holds ``computed`` and ``reused`` (replications read from `store`).
    """
    if not isinstance(scenario, Scenario):
        raise InputError("scenario", None, f"expected a Scenario, got {type(scenario).__name__}")
    n = _check_count(replications, "replications", 1)
    seeds = replication_seeds(seed, n)
    figures, counts = simulate_many([(scenario, s) for s in seeds], executor=executor, store=store,
                                    progress=progress, desc=scenario.name)
    frame = tidy_runs(scenario.name, scenario.hash, seeds, figures)
    frame.attrs.update(computed=counts.computed, reused=counts.reused)
    return frame
