"""Arrivals: a Poisson model with hour-of-day × day-of-week rates.

Maximum likelihood by iterative proportional fitting over the hours the export covers,
with a chi-squared check by hour of the week; the span of the export in months.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...errors import InputError
from ...units import MINUTES_PER_DAY, MINUTES_PER_MONTH
from .fitting import _Collector, _Export


_MIN_DAYS = 7.0


def _arrivals(data: _Export, col: _Collector, tables: dict[str, pd.DataFrame]) -> tuple[dict[str, Any], float]:
    """The fitted ``months`` and ``arrivals``, and the minutes of exposure weighted by the fitted week
    (each source's volume per month is its leads over them, :func:`funnelsim.crm.calibrate.sources._sources`)."""
    from scipy import stats
    created = data.t["created_at"]
    a, b = float(created.min()), float(created.max())
    if b - a < _MIN_DAYS * MINUTES_PER_DAY:
        raise InputError("export", "created_at", f"the leads span {(b - a) / MINUTES_PER_DAY:.1f} days; "
                                                 f"calibration needs at least {_MIN_DAYS:.0f} days of leads")
    hours = np.arange(math.floor(a / 60.0), math.ceil(b / 60.0))
    width = np.clip(np.minimum((hours + 1) * 60.0, b) - np.maximum(hours * 60.0, a), 0.0, None)
    exposure = np.bincount(hours % 168, weights=width, minlength=168).reshape(7, 24)
    counts = np.bincount((np.floor(created / 60.0).astype(np.int64)) % 168, minlength=168).reshape(7, 24)
    day, hour = np.ones(7), np.ones(24)
    for _ in range(500):  # iterative proportional fitting = Poisson MLE with day and hour effects
        new_hour = np.divide(counts.sum(0), (day[:, None] * exposure).sum(0), out=np.zeros(24),
                             where=(day[:, None] * exposure).sum(0) > 0)
        new_day = np.divide(counts.sum(1), (new_hour[None, :] * exposure).sum(1), out=np.zeros(7),
                            where=(new_hour[None, :] * exposure).sum(1) > 0)
        change = np.max(np.abs(new_hour - hour)) + np.max(np.abs(new_day - day))
        hour, day = new_hour, new_day
        if change < 1e-12 * max(1.0, float(hour.max())):
            break
    hour_w = hour / hour.mean()
    day_w = day / day.mean()
    week = np.outer(day_w, hour_w)
    week = week / week.mean()
    weighted_exposure = float((week * exposure).sum())
    total = len(created)
    fitted = total * week * exposure / weighted_exposure
    chi2 = float((((counts - fitted) ** 2) / np.where(fitted > 0, fitted, np.inf)).sum())
    df = int((exposure > 0).sum()) - 1 - 23 - 6
    col.check("arrivals by hour of week", total, float(fitted.sum()), "chi2", chi2, df, float(stats.chi2.sf(chi2, df)))
    hour_counts = counts.sum(0)
    day_counts = counts.sum(1)
    for h in range(24):
        col.add(f"arrivals.hourly_profile[{h}]", hour_w[h], hour_w[h] / math.sqrt(hour_counts[h]) if hour_counts[h]
                else math.nan, hour_counts[h])
    for d in range(7):
        col.add(f"arrivals.weekday_profile[{d}]", day_w[d], day_w[d] / math.sqrt(day_counts[d]) if day_counts[d]
                else math.nan, day_counts[d])
    hours_exposed = exposure.sum(0) / 60.0
    days_exposed = exposure.sum(1) / MINUTES_PER_DAY
    tables["arrivals_by_hour"] = pd.DataFrame({
        "hour": np.arange(24), "observed": hour_counts, "fitted": fitted.sum(0),
        "observed_per_hour": hour_counts / hours_exposed, "fitted_per_hour": fitted.sum(0) / hours_exposed,
    })
    tables["arrivals_by_weekday"] = pd.DataFrame({
        "weekday": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "observed": day_counts,
        "fitted": fitted.sum(1), "observed_per_day": day_counts / days_exposed,
        "fitted_per_day": fitted.sum(1) / days_exposed,
    })

    months = (b - a) / MINUTES_PER_MONTH
    col.add("months", months, note="span of created_at")
    return ({"months": round(months, 3),
             "arrivals": {"hourly_profile": [round(float(x), 3) for x in hour_w],
                          "weekday_profile": [round(float(x), 3) for x in day_w]}}, weighted_exposure)
