"""funnelsim: a SimPy workbench for sales-lead management.

    >>> from funnelsim import load_scenario, simulate
    >>> result = simulate(load_scenario("scenarios/baseline.yaml"), seed=1)
    >>> result.kpis()["won_deals"]
"""

from __future__ import annotations

from ._version import __version__
from .errors import FunnelsimError, InputError, ScenarioError
from .metrics import KPI_INFO, funnel_table, kpis, leak_table
from .model import FunnelModel, SimulationResult
from .simulation import simulate
from .vocabulary import LEAK_REASONS, OUTCOMES
from .scenario import Scenario, load_scenario, scenario_from_dict

__all__ = [
    "__version__",
    "FunnelsimError",
    "InputError",
    "ScenarioError",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "FunnelModel",
    "SimulationResult",
    "simulate",
    "kpis",
    "funnel_table",
    "leak_table",
    "KPI_INFO",
    "OUTCOMES",
    "LEAK_REASONS",
]

# experiments: replications, A/B comparison, sweeps, staffing, executors, result store
from .experiments import (  # noqa: E402
    Comparison, DaskExecutor, Executor, PoolExecutor, ResultStore, SerialExecutor, Staffing, Sweep, compare,
    load_sweep, make_executor, parse_target, replicate, replication_seeds, run_sweep, staff, summarize_sweep,
    variance_reduction,
)

__all__ += [
    "Executor", "SerialExecutor", "PoolExecutor", "DaskExecutor", "make_executor",
    "replication_seeds", "replicate", "compare", "Comparison", "variance_reduction",
    "Sweep", "load_sweep", "run_sweep", "summarize_sweep",
    "staff", "Staffing", "parse_target",
    "ResultStore",
]

# the workbench: leadership report, sweep study and what-if panel. Imported on first use, so
# `import funnelsim` (and every pool worker) does not pay for matplotlib and ipywidgets.
_WORKBENCH = (("ABReport", "report"), ("build_report", "report"), ("render_report", "report"),
              ("SweepStudy", "report"), ("build_sweep_study", "report"), ("WhatIfPanel", "widgets"))
__all__ += [name for name, _ in _WORKBENCH]


def __getattr__(name: str):
    for exported, module in _WORKBENCH:
        if name == exported:
            from importlib import import_module

            return getattr(import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# CRM exports, calibration, lead scoring
from .crm.calibrate import Calibration, calibrate_file, write_calibrated  # noqa: E402
from .crm import read_export, write_export  # noqa: E402
from .crm.export import export_scenario  # noqa: E402
from .crm.scoring import ScoreModel, load_score_model, save_score_model, train_score_model  # noqa: E402

__all__ += [
    "read_export", "write_export", "export_scenario",
    "Calibration", "calibrate_file", "write_calibrated",
    "ScoreModel", "train_score_model", "save_score_model", "load_score_model",
]
