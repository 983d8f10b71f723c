"""The funnel model: one module per step of a lead's path (see ``docs/ASSUMPTIONS.md``).

The model imports only the layers below it (scenario, units, vocabulary, calendar, rng);
it never loads a score model or computes KPIs. Use :func:`funnelsim.simulate` to run a
scenario that names a trained score model.
"""

from __future__ import annotations

from ..vocabulary import LEAK_REASONS, OUTCOMES
from .funnel import FunnelModel, Scorer, simulate
from .population import MAX_EXTRA_OPPORTUNITIES, LeadPopulation, generate_leads
from .qualification import CURVES, decay_curve, qualification_probability
from .result import SimulationResult

__all__ = [
    "FunnelModel",
    "SimulationResult",
    "simulate",
    "Scorer",
    "LeadPopulation",
    "generate_leads",
    "MAX_EXTRA_OPPORTUNITIES",
    "CURVES",
    "decay_curve",
    "qualification_probability",
    "OUTCOMES",
    "LEAK_REASONS",
]
