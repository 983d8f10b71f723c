"""The experiments behind the workbench's views, run here and handed to :mod:`funnelsim.present` finished.

:func:`build_report` runs the paired comparison and draws one replication's leads per
scenario for the speed-to-lead chart, then hands them to
:class:`~funnelsim.present.ab_report.ABReport`; :func:`build_sweep_study` runs a sweep and
the staffing search and hands their tables to
:class:`~funnelsim.present.sweep_study.SweepStudy`. The ``ab_compare`` and ``sweep``
notebooks call these (``funnelsim report`` executes ``ab_compare``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..experiments.compare import _display_names, compare
from ..experiments.executors import Executor, make_executor, owned_executor
from ..experiments.replicate import check_kpi
from ..experiments.staffing import parse_target, staff
from ..experiments.store import ResultStore
from ..experiments.sweep import Sweep, load_sweep, run_sweep, summarize_sweep
from ..metrics import speed_to_lead
from ..present.ab_report import ABReport
from ..present.sweep_study import DEFAULT_SWEEP_KPIS, SweepStudy
from ..scenario import Scenario, load_scenario
from ..simulation import simulate

__all__ = ["build_report", "build_sweep_study"]


def _runner(executor: Executor | str | None, workers: int | None,
            dask_address: str | None) -> tuple[Executor | None, bool]:
    """The executor to use, and whether it is opened (and must be closed) here."""
    own = isinstance(executor, str) or (executor is None and (workers is not None or dask_address is not None))
    if own:
        return make_executor(executor if isinstance(executor, str) else None, dask_address, workers), True
    return executor if not isinstance(executor, str) else None, False


def build_report(baseline: str | Path | Scenario, variants: Sequence[str | Path | Scenario], *,
                 replications: int = 10, seed: int = 0, precision: float | None = None,
                 max_replications: int = 100, min_effects: dict[str, float] | None = None,
                 overrides: Sequence[str] = (), months: float | None = None,
                 executor: Executor | str | None = None, workers: int | None = None,
                 dask_address: str | None = None, store: ResultStore | str | Path | None = None,
                 progress: bool = False) -> ABReport:
    """Load the scenarios, run the paired comparison, sample speed-to-lead per scenario: the report's inputs.

    ``executor`` is an :class:`~funnelsim.experiments.executors.Executor` you manage, or a kind
    (``"serial"``, ``"pool"``, ``"dask"``) that is opened with ``workers`` /
    ``dask_address`` and closed here; ``None`` leaves the choice to :func:`compare`.
    ``store`` (a :class:`~funnelsim.experiments.store.ResultStore` or its folder) reuses replications
    already run, e.g. by ``funnelsim compare``.
    """
    if not variants:
        raise InputError("variants", None, "need at least one variant scenario to compare with the baseline")
    extra = [*overrides, *([f"months={months}"] if months is not None else [])]
    loaded: list[Scenario] = []
    paths: list[str | Path | None] = []
    for item in [baseline, *variants]:
        if isinstance(item, Scenario):
            loaded.append(item.with_overrides(extra) if extra else item)
            paths.append(None)
        else:
            loaded.append(load_scenario(item, extra or None))
            paths.append(item)
    runner, own = _runner(executor, workers, dask_address)
    try:
        comparison = compare(loaded[0], loaded[1:], replications=replications, seed=seed, precision=precision,
                             max_replications=max_replications, min_effects=min_effects, executor=runner,
                             store=ResultStore(store) if isinstance(store, (str, Path)) else store,
                             progress=progress)
    finally:
        if own and runner is not None:
            runner.close()
    speed_seed = int(list(comparison.seeds)[0])
    speed = {}
    for name, scenario in zip(_display_names(loaded), loaded):
        leads = simulate(scenario, speed_seed, record_events=False).leads
        speed[name] = speed_to_lead(leads[leads["mql_at"].notna()])
    return ABReport(comparison=comparison, paths=paths, speed=speed, speed_seed=speed_seed)


def build_sweep_study(sweep: str | Path | Sweep, *, replications: int | None = None, months: float | None = None,
                      kpis: Sequence[str] | None = None, staffing_target: str | None = None,
                      staffing_replications: int = 5, executor: Executor | str | None = None,
                      workers: int | None = None, dask_address: str | None = None,
                      store: ResultStore | str | Path | None = None, progress: bool = False) -> SweepStudy:
    """Run a sweep (optionally with fewer replications or a shorter horizon) and the staffing search.

    The staffing search varies the number of reps of the sweep's base scenario until
    ``staffing_target`` (e.g. ``"speed_to_lead_median <= 120"``) is met, once per value of
    the other factors of a full factorial (up to 12 combinations).
    """
    plan = load_sweep(sweep) if isinstance(sweep, (str, Path)) else sweep
    changes: dict[str, Any] = {}
    if replications is not None:
        changes["replications"] = int(replications)
    if months is not None:
        changes["base"] = plan.base.with_overrides({"months": months}, source="months")
    plan = dataclasses.replace(plan, **changes)
    chosen = [check_kpi(k, "kpis") for k in (kpis or plan.kpis or DEFAULT_SWEEP_KPIS)]
    goal = parse_target(staffing_target, "staffing_target") if staffing_target else None
    runner, own = _runner(executor, workers, dask_address)
    stored = ResultStore(store) if isinstance(store, (str, Path)) else store
    try:
        with owned_executor(runner) as ex:
            runs = run_sweep(plan, executor=ex, store=stored, progress=progress)
            staffing = None
            if goal is not None:
                vary = {f.name: f.grid() for f in plan.factors if f.name != "team.reps"} \
                    if plan.design == "full_factorial" else {}
                if math.prod(len(v) for v in vary.values()) > 12:
                    vary = {}
                staffing = staff(plan.base, goal, replications=staffing_replications, seed=plan.seed, vary=vary,
                                 executor=ex, store=stored, progress=progress)
    finally:
        if own and runner is not None:
            runner.close()
    return SweepStudy(sweep=plan, runs=runs, summary=summarize_sweep(runs), kpis=chosen, staffing=staffing)
