"""funnelsim: a SimPy workbench for sales-lead management.

The names a notebook needs are here; everything else is imported from its layer:
:mod:`funnelsim.scenario`, :mod:`funnelsim.model`, :mod:`funnelsim.metrics`,
:mod:`funnelsim.stats`, :mod:`funnelsim.experiments` (executors, result store, sweeps,
staffing), :mod:`funnelsim.crm` (exports, calibration, scoring) and
:mod:`funnelsim.present` (report, plots, what-if panel).

    >>> from funnelsim import kpis, load_scenario, simulate
    >>> result = simulate(load_scenario("scenarios/baseline.yaml", ["months=0.25"]), seed=1)
    >>> kpis(result)["leads"]
    1002.0

``import funnelsim`` stays light (pool and Dask workers import it): the report, which needs
matplotlib and papermill, is the one name imported on first use (see :func:`__getattr__`).
"""

from __future__ import annotations

from ._version import __version__
from .crm.calibrate import calibrate_file
from .experiments import Comparison, compare, load_sweep, replicate, run_sweep, staff
from .metrics import kpis
from .model import SimulationResult
from .scenario import Scenario, load_scenario
from .simulation import simulate

__all__ = [
    "__version__",
    "Scenario",
    "load_scenario",
    "simulate",
    "SimulationResult",
    "kpis",
    "replicate",
    "compare",
    "Comparison",
    "load_sweep",
    "run_sweep",
    "staff",
    "calibrate_file",
    "build_report",
]

#: where the one lazily imported name lives
_REPORT_MODULE = "commands.workbench"


def __getattr__(name: str):
    """``funnelsim.build_report``, imported on first use: matplotlib and papermill only when a report is made."""
    if name == "build_report":
        from importlib import import_module

        return import_module(f"{__name__}.{_REPORT_MODULE}").build_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
