"""Numbers, money and durations for people: one formatter per kind, used by every view.

The HTML report, the sweep study, the charts, the what-if panel and the terminal tables
all format through this module, so "$60k", "12%" and "2.5 h" read the same everywhere.

    >>> money(60_000), money(-5_000, signed=True), money(1_250_000)
    ('$60k', '−$5.0k', '$1.25M')
    >>> format_minutes(150), duration_words(10080), format_value("sla_compliance", 0.873)
    ('2.5 h', '1 week', '87.3%')
"""

from __future__ import annotations

import math

from ..metrics import KPI_INFO

__all__ = [
    "format_value", "kpi_unit", "count", "money", "pct", "signed_pct", "format_minutes", "signed_minutes",
    "duration_words", "months_text", "short_value", "change_text",
]

MINUS = "−"  # a real minus sign, as leadership reads it in print


def kpi_unit(kpi: str) -> str:
    """The unit of a KPI: 'count', 'ratio', 'money', 'minutes' or 'months'."""
    return KPI_INFO.get(kpi, ("", "count", 0))[1]


def format_value(name: str, value: float | None) -> str:
    """A KPI value for people; +inf speed-to-lead (too few MQLs touched for the quantile) reads "not touched"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    unit = kpi_unit(name)
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
    return count(value)


def count(value: float) -> str:
    """A count (often a mean over replications), the same in tables and on charts: whole numbers
    from 100 up and for whole values, one decimal below ('15.3 won deals' in the table and on the bar)."""
    if not math.isfinite(value):
        return "—"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"


def money(value: float, signed: bool = False) -> str:
    """Dollars in the size a reader takes in at a glance: '$850', '$4.5k', '$60k', '$1.25M'."""
    if not math.isfinite(value):
        return "—"
    sign = MINUS if value < 0 else ("+" if signed else "")
    value = abs(value)
    if value >= 1e6:
        return f"{sign}${value / 1e6:,.2f}M"
    if value >= 1e4:
        return f"{sign}${value / 1e3:,.0f}k"
    if value >= 1e3:
        return f"{sign}${value / 1e3:,.1f}k"
    return f"{sign}${value:,.0f}"


def pct(share: float) -> str:
    """A share as a percentage: whole percents from 9.5% up, one decimal below."""
    return f"{100 * share:.0f}%" if abs(share) >= 0.095 or share == 0 else f"{100 * share:.1f}%"


def signed_pct(share: float) -> str:
    return ("+" if share >= 0 else MINUS) + pct(abs(share))


def format_minutes(value: float | None) -> str:
    """A duration for people: '4 min', '2.5 h', '3.1 days'."""
    if value is None or not math.isfinite(value):
        return "—"
    if value < 1:
        return f"{value * 60:.0f} s"
    if value < 120:
        return f"{value:.0f} min" if value >= 10 or float(value).is_integer() else f"{value:.1f} min"
    if value < 2 * 1440:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} days"


def signed_minutes(value: float) -> str:
    return ("+" if value >= 0 else MINUS) + format_minutes(abs(value))


def duration_words(minutes: float) -> str:
    """A setting's duration in whole units where it has them: '5 minutes', '1 hour', '2 weeks'."""
    minutes = float(minutes)
    for size, unit in ((10080.0, "week"), (1440.0, "day"), (60.0, "hour")):
        if minutes >= size and (minutes / size).is_integer():
            n = int(minutes / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    if minutes.is_integer():
        return f"{int(minutes)} minute{'s' if minutes != 1 else ''}"
    return format_minutes(minutes)


def months_text(months: float) -> str:
    """'1 month', '0.25 months', '12 months'."""
    return f"{months:g} month{'' if months == 1 else 's'}"


def short_value(kpi: str, value: float) -> str:
    """A KPI value short enough for a heat-map cell."""
    unit = kpi_unit(kpi)
    if not math.isfinite(value):
        return "not touched" if unit == "minutes" and value > 0 else "—"
    if unit == "ratio":
        return f"{100 * value:.1f}%"
    if unit == "money":
        return money(value)
    if unit == "minutes":
        return format_minutes(value)
    return count(value)


def change_text(kpi: str, diff: float, low: float, high: float) -> str:
    """A difference with its confidence interval in the KPI's unit: '+2.5 pts (+1.0 to +4.0)'."""
    unit = kpi_unit(kpi)
    if not all(map(math.isfinite, (diff, low, high))):
        return "—"
    if unit == "ratio":
        places = 1 if max(abs(low), abs(high)) >= 0.01 else 2
        return f"{100 * diff:+.{places}f} pts ({100 * low:+.{places}f} to {100 * high:+.{places}f})"
    if unit == "money":
        return f"{money(diff, True)} ({money(low, True)} to {money(high, True)})"
    if unit == "minutes":
        return f"{signed_minutes(diff)} ({signed_minutes(low)} to {signed_minutes(high)})"
    return f"{diff:+,.1f} ({low:+,.1f} to {high:+,.1f})"
