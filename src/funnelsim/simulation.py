"""Run a scenario: the model, with lead scores from a trained model when the scenario names one.

This is the one place that joins the simulation core and the lead-scoring layer, so the
model never imports scoring (or the CRM features scoring is built on). Writing a
simulation as a CRM export is :func:`funnelsim.crm.export.export_scenario`.
"""

from __future__ import annotations

from typing import Any

from .model import SimulationResult
from .model import simulate as simulate_model
from .scenario import Scenario

__all__ = ["simulate"]


def simulate(scenario: Scenario, seed: int = 0, *, record_events: bool = True, **kwargs: Any) -> SimulationResult:
    """Run one replication of `scenario` with `seed` and return its tables."""
    scorer = None
    if scenario.marketing.score_model is not None:
        from .crm.scoring import population_scores  # scikit-learn is only imported when a model is named

        scorer = population_scores
    return simulate_model(scenario, seed, record_events=record_events, scorer=scorer, **kwargs)

