"""Plain-text KPI tables for the terminal."""

from __future__ import annotations

import math

from .metrics import KPI_INFO, kpi_label
from .scenario import Scenario

__all__ = ["kpi_text", "format_value"]


def format_value(name: str, value: float) -> str:
    """A KPI value for people; +inf speed-to-lead (too few MQLs touched for the quantile) reads "not touched"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    unit = KPI_INFO.get(name, ("", "count", 0))[1]
    if math.isinf(value):
        return "not touched" if unit == "minutes" and value > 0 else "—"
    if unit == "months":
        return f"{value:,.2f} months"
    if unit == "ratio":
        return f"{100 * value:.1f}%"
    if unit == "money":
        return f"${value:,.0f}"
    if unit == "minutes":
        return f"{value:,.1f} min" if value < 120 else f"{value / 60:,.1f} h"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def kpi_text(scenario: Scenario, seed: int, figures: dict[str, float]) -> str:
    lines = [f"{scenario.name}  (hash {scenario.hash}, seed {seed}, {scenario.months:g} months of leads)"]
    width = max(len(kpi_label(k)) for k in figures)
    for name, value in figures.items():
        lines.append(f"  {kpi_label(name):<{width}}  {format_value(name, value)}")
    return "\n".join(lines)
