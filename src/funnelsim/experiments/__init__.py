"""Experiments: replications, A/B comparisons, sweeps, staffing searches, executors, the result store.

This layer runs the model (:mod:`funnelsim.model`, through :func:`funnelsim.simulate`) many
times and reads the runs with :mod:`funnelsim.stats`; presentation (:mod:`funnelsim.present`)
takes its finished results. Nothing here imports the CRM or presentation layers.

* :mod:`.replicate` — seeds, :func:`replicate`, running many (scenario, seed) jobs;
* :mod:`.compare` — :func:`compare` on common random numbers, verdicts, Holm's correction;
* :mod:`.sweep` — sweep files (a pydantic spec), designs and :func:`run_sweep`;
* :mod:`.staffing` — :func:`staff`, the smallest team that meets a target;
* :mod:`.executors` — serial, process-pool and Dask executors behind one interface;
* :mod:`.store` — :class:`ResultStore`, replications kept on disk by scenario hash and seed.
"""

from __future__ import annotations

from .compare import Comparison, compare, variance_reduction
from .executors import DaskExecutor, Executor, PoolExecutor, SerialExecutor, make_executor
from .replicate import replicate, replication_seeds
from .staffing import Staffing, parse_target, staff
from .store import ResultStore
from .sweep import Sweep, load_sweep, run_sweep, summarize_sweep

__all__ = [
    "replicate", "replication_seeds", "compare", "Comparison", "variance_reduction",
    "Sweep", "load_sweep", "run_sweep", "summarize_sweep", "staff", "Staffing", "parse_target",
    "Executor", "SerialExecutor", "PoolExecutor", "DaskExecutor", "make_executor", "ResultStore",
]
