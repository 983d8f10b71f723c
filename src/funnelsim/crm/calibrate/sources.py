"""The source mix: each source's volume per month and its legitimate share (persona known)."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ...scenario import Scenario, Source
from ...units import MINUTES_PER_MONTH
from ..schema import UNKNOWN_PERSONA
from .fitting import _Collector, _Export, _in_base_order, _se_binomial, _sig


def _sources(data: _Export, base: Scenario, col: _Collector, weighted_exposure: float) -> list[dict[str, Any]]:
    """Each source's leads per month over the arrivals' weighted exposure (minutes), and its legitimate share;
    costs per lead come from the base."""
    frame = data.frame
    base_costs = {s.name: s.cost_per_lead for s in base.sources}
    default_cost = Source.model_fields["cost_per_lead"].default
    sources = []
    names = _in_base_order(pd.unique(frame["source"].to_numpy()), [s.name for s in base.sources])
    legit = (frame["persona"].to_numpy() != UNKNOWN_PERSONA)
    for name in names:
        mask = frame["source"].to_numpy() == name
        n = int(mask.sum())
        per_month = n * MINUTES_PER_MONTH / weighted_exposure
        share = float(legit[mask].mean())
        col.add(f"sources[{name}].leads_per_month", per_month, per_month / math.sqrt(n), n)
        col.add(f"sources[{name}].legitimate_share", share, _se_binomial(share, n), n)
        sources.append({"name": str(name), "leads_per_month": _sig(per_month, 5), "legitimate_share": _sig(share),
                        "cost_per_lead": base_costs.get(str(name), default_cost)})
    return sources
