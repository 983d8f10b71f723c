"""Step 11 of a lead's path, and the output: what one replication hands back, as tidy tables."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..scenario import Scenario

__all__ = ["SimulationResult"]


@dataclass
class SimulationResult:
    """Everything one replication produced. Tables are tidy pandas DataFrames.

    ``stats`` holds exact time averages and run facts: ``horizon_minutes`` (end of
    arrivals), ``work_end_minutes`` (when the last piece of rep work ended, the cohort's
    tail included), ``mean_leads_in_sales``, ``end_time``.
    KPIs are computed from these tables by :func:`funnelsim.metrics.kpis`.
    """

    scenario: Scenario
    seed: int
    leads: pd.DataFrame  # one row per lead
    events: pd.DataFrame  # one row per event (empty when events were not recorded)
    backlog: pd.DataFrame  # daily samples of open leads, waiting leads and due calls
    reps: pd.DataFrame  # one row per rep: tier, skill, speed, busy and duty minutes, utilisation, calls, demos
    stats: dict[str, float]
