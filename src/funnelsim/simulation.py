"""Run a scenario: the model, with lead scores from a trained model when the scenario names one.

This is the one place that joins the simulation core and the lead-scoring layer, so the
model never imports scoring (or the CRM features scoring is built on).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from .crm import DEFAULT_EPOCH, check_export_window, parse_epoch, write_export
from .model import SimulationResult
from .model import simulate as simulate_model
from .scenario import Scenario

__all__ = ["simulate", "export_scenario"]


def simulate(scenario: Scenario, seed: int = 0, *, record_events: bool = True, **kwargs: Any) -> SimulationResult:
    """Run one replication of `scenario` with `seed` and return its tables."""
    scorer = None
    if scenario.marketing.score_model is not None:
        from .crm.scoring import population_scores  # scikit-learn is only imported when a model is named

        scorer = population_scores
    return simulate_model(scenario, seed, record_events=record_events, scorer=scorer, **kwargs)


def export_scenario(scenario: Scenario, path: str | Path, seed: int = 0,
                    start: datetime = DEFAULT_EPOCH) -> SimulationResult:
    """Simulate `scenario` once and write its leads as a CRM export (synthetic CRM data)."""
    epoch = parse_epoch(start)
    check_export_window(epoch, scenario.months)
    result = simulate(scenario, seed, record_events=False)
    write_export(result, path, epoch)
    return result
