"""The statistics funnelsim reports, defined once: thin wrappers on :mod:`scipy.stats`.

* :func:`t_interval` — the mean of some replications and its Student-t interval;
* :func:`wilson_interval` — a share ``successes / n`` and its Wilson score interval
  (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``);
* :func:`paired_comparison` — B − A over paired replications (common random numbers):
  the mean difference, ``scipy.stats.ttest_rel(...).confidence_interval()`` and its p-value;
* :func:`welch_comparison` — B − A for independent samples (Welch,
  ``scipy.stats.ttest_ind(equal_var=False)``);
* :func:`summarise` — mean, sd, n and the t interval of one column per group of a tidy table.

One rule for every function, so a figure never means two things:

* **NaN values are left out** (e.g. cost per acquisition in a replication with no won deal).
* **Fewer than two values (n = 1)**: the estimate is still given (the one value, or NaN
  with none), the interval and the p-value are NaN. One replication says nothing about
  spread, so no interval is claimed — neither a zero-width one nor a made-up one.
* **No spread** (every value the same, n ≥ 2): the interval collapses onto the estimate
  (half-width 0) and the p-value of a comparison is 1 if the difference is 0, else 0.

``scipy.stats`` is slow to import (about a second), so it is imported inside the functions:
``import funnelsim`` and every pool worker stay light until a statistic is asked for.

>>> t_interval([10.0, 12.0, 14.0]).estimate
12.0
>>> t_interval([7.0])
Interval(estimate=7.0, low=nan, high=nan)
>>> [round(x, 4) for x in wilson_interval(8, 10)]
[0.8, 0.4902, 0.9433]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["Interval", "Difference", "t_interval", "wilson_interval", "paired_comparison", "welch_comparison",
           "summarise", "CONFIDENCE"]

#: the confidence level every interval uses unless told otherwise
CONFIDENCE = 0.95


class Interval(NamedTuple):
    """An estimate and its confidence interval."""

    estimate: float
    low: float
    high: float


class Difference(NamedTuple):
    """An estimated difference B − A, its confidence interval and two-sided p-value."""

    estimate: float
    low: float
    high: float
    p_value: float


_NO_INTERVAL = (math.nan, math.nan)


def _t_quantile(confidence: float, df):
    from scipy import stats

    return stats.t.ppf(0.5 + confidence / 2, df)


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean of `values` ± Student's t quantile × standard error (NaN left out; +inf kept).

    An infinite value makes the mean infinite and the interval NaN.

    >>> low, high = t_interval([1.0, 2.0, 3.0, 4.0])[1:]
    >>> round(low, 3), round(high, 3)
    (0.446, 4.554)
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = len(v)
    if n < 2:
        return Interval(float(v[0]) if n else math.nan, *_NO_INTERVAL)
    with np.errstate(invalid="ignore"):
        mean = float(v.mean())
        half = float(_t_quantile(confidence, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """The share ``successes / n`` and its Wilson score interval; NaN throughout when n = 0.

    >>> wilson_interval(0, 0)
    Interval(estimate=nan, low=nan, high=nan)
    >>> [round(x, 4) for x in wilson_interval(0, 5)]
    [0.0, 0.0, 0.4345]
    """
    from scipy import stats

    k, trials = int(successes), int(n)
    if k != successes or trials != n or not 0 <= k <= trials:
        raise ValueError(f"wilson_interval needs whole counts 0 <= successes <= n, got {successes!r} of {n!r}")
    if trials == 0:
        return Interval(math.nan, *_NO_INTERVAL)
    ci = stats.binomtest(k, trials).proportion_ci(confidence, method="wilson")
    return Interval(k / trials, float(ci.low), float(ci.high))


def paired_comparison(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Difference:
    """B − A over paired values: mean difference, paired t interval and p-value (``ttest_rel``).

    A pair whose difference is not finite (a NaN side, an infinity) is left out.

    >>> d = paired_comparison([10.0, 11.0, 12.0, 13.0], [11.0, 13.0, 13.0, 15.0])
    >>> d.estimate, round(d.low, 3), round(d.high, 3), round(d.p_value, 4)
    (1.5, 0.581, 2.419, 0.0138)
    >>> paired_comparison([1.0, 2.0], [3.0, 4.0])  # no spread: the interval is the difference
    Difference(estimate=2.0, low=2.0, high=2.0, p_value=0.0)
    """
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore"):
        d = y - x
    keep = np.isfinite(d)
    x, y, d = x[keep], y[keep], d[keep]
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    if n < 2:
        return Difference(mean, *_NO_INTERVAL, math.nan)
    if float(d.std(ddof=1)) == 0.0:
        return Difference(mean, mean, mean, 1.0 if mean == 0.0 else 0.0)
    result = stats.ttest_rel(y, x)
    ci = result.confidence_interval(confidence)
    return Difference(mean, float(ci.low), float(ci.high), float(result.pvalue))


def welch_comparison(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Difference:
    """Mean of `b` − mean of `a` for independent samples, with Welch's t interval and p-value.

    Non-finite values are left out of their sample.

    >>> d = welch_comparison([1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0])
    >>> d.estimate, round(d.low, 3), round(d.high, 3)
    (3.0, -0.898, 6.898)
    """
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    diff = float(y.mean() - x.mean()) if len(x) and len(y) else math.nan
    if len(x) < 2 or len(y) < 2:
        return Difference(diff, *_NO_INTERVAL, math.nan)
    if x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y) == 0.0:
        return Difference(diff, diff, diff, 1.0 if diff == 0.0 else 0.0)
    result = stats.ttest_ind(y, x, equal_var=False)
    ci = result.confidence_interval(confidence)
    return Difference(diff, float(ci.low), float(ci.high), float(result.pvalue))


def summarise(frame: pd.DataFrame, by: Sequence[str], value: str = "value",
              confidence: float = CONFIDENCE, bounds: Callable[[Any], tuple[float, float]] | None = None,
              bound_by: str = "kpi") -> pd.DataFrame:
    """Per group of `by`: mean, sd, n and the t interval of the mean of column `value`.

    Returns the `by` columns then ``mean, sd, n, ci_low, ci_high``, one row per group in
    order of first appearance; a missing key (NaN/None) is a group of its own. NaN values
    are left out of their group (a group of NaN only has n = 0); n = 1 gives NaN sd and interval.

    `bounds` maps a group's `bound_by` value to the range its mean can take (a count is never
    negative, a share never above 1); the interval is cut to that range. With few replications a
    t interval can reach past it ("18 won deals, 95% CI −13 to 50"); the true mean lies in the
    range, so cutting the interval there never lowers its coverage.

    >>> runs = pd.DataFrame({"kpi": ["won", "won", "won", "lost"], "value": [4.0, 6.0, 8.0, 1.0]})
    >>> summarise(runs, by=["kpi"]).round(3).to_dict(orient="records")[1]
    {'kpi': 'lost', 'mean': 1.0, 'sd': nan, 'n': 1, 'ci_low': nan, 'ci_high': nan}
    >>> wide = pd.DataFrame({"kpi": ["won", "won"], "value": [2.0, 30.0]})
    >>> summarise(wide, by=["kpi"], bounds=lambda kpi: (0.0, math.inf))[["ci_low", "ci_high"]].round(1).values.tolist()
    [[0.0, 193.9]]
    """
    keys = list(by)
    out = frame.groupby(keys, sort=False, dropna=False)[value].agg(mean="mean", sd="std", n="count").reset_index()
    n = out["n"]
    t = _t_quantile(confidence, np.maximum(n - 1, 1))
    half = np.where(n >= 2, t * out["sd"] / np.sqrt(n.clip(lower=1)), np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    if bounds is not None:
        ranges = [bounds(key) for key in out[bound_by]]
        low = np.array([r[0] for r in ranges], dtype=float)
        high = np.array([r[1] for r in ranges], dtype=float)
        out["ci_low"] = np.where(out["ci_low"].isna(), np.nan, np.maximum(out["ci_low"], low))
        out["ci_high"] = np.where(out["ci_high"].isna(), np.nan, np.minimum(out["ci_high"], high))
    return out[[*keys, "mean", "sd", "n", "ci_low", "ci_high"]]
