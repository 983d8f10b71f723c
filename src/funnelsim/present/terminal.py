"""Plain-text KPI tables for the terminal."""

from __future__ import annotations

from ..metrics import kpi_label
from ..scenario import Scenario
from .format import format_value

__all__ = ["kpi_text"]


def kpi_text(scenario: Scenario, seed: int, figures: dict[str, float]) -> str:
    lines = [f"{scenario.name}  (hash {scenario.hash}, seed {seed}, {scenario.months:g} months of leads)"]
    width = max(len(kpi_label(k)) for k in figures)
    for name, value in figures.items():
        lines.append(f"  {kpi_label(name):<{width}}  {format_value(name, value)}")
    return "\n".join(lines)
