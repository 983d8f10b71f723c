"""funnelsim: a SimPy workbench for sales-lead management.

    >>> from funnelsim import load_scenario, simulate
    >>> result = simulate(load_scenario("scenarios/baseline.yaml"), seed=1)
    >>> result.kpis()["won_deals"]
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("funnelsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from .errors import FunnelsimError, InputError, ScenarioError
from .metrics import KPI_INFO, funnel_table, kpis, leak_table
from .model import LEAK_REASONS, OUTCOMES, FunnelModel, SimulationResult, simulate
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
