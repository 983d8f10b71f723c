"""What every fit of the calibration shares.

The export as arrays of minutes (:class:`_Export`), the collector of estimates and fit
checks (:class:`_Collector`), standard errors from the observed information, the logistic
link, rounding for the YAML file, the half-life reported from a fitted decay rate, and
the base's rep skill for the export's owners.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...scenario import Scenario
from ..read import minutes_since


class _Collector:
    """Estimates and checks as they are made."""

    def __init__(self) -> None:
        self.estimates: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []
        self.rates: list[dict[str, Any]] = []  # half-lives as fitted: decay rates per day

    def add(self, parameter: str, value: float, se: float = math.nan, n: float = math.nan, note: str = "",
            low: float | None = None, high: float | None = None) -> None:
        """One estimate; its 95% CI is value ± 1.96·se unless `low` and `high` say otherwise."""
        se = float(se) if se is not None and np.isfinite(se) else math.nan
        self.estimates.append({"parameter": parameter, "value": float(value), "se": se,
                               "low": float(value) - 1.96 * se if low is None else float(low),
                               "high": float(value) + 1.96 * se if high is None else float(high),
                               "n": float(n), "note": note})

    def check(self, check: str, observed: float, fitted: float, test: str = "", statistic: float = math.nan,
              df: float = math.nan, p_value: float = math.nan) -> None:
        self.checks.append({"check": check, "observed": float(observed), "fitted": float(fitted), "test": test,
                            "statistic": float(statistic), "df": float(df), "p_value": float(p_value)})


def _se_binomial(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / n) if n > 0 else math.nan


def _hessian_se(nll: Callable[[np.ndarray], float], x: np.ndarray, lower: Sequence[float] | None = None,
                upper: Sequence[float] | None = None) -> np.ndarray:
    """Standard errors from the observed information (numerical Hessian of the negative log-likelihood).

    At a bound the difference is taken one-sided inside the feasible range.
    """
    x = np.asarray(x, dtype=float)
    k = len(x)
    h = 1e-4 * np.maximum(1.0, np.abs(x))
    lo = np.full(k, -np.inf) if lower is None else np.asarray(lower, dtype=float)
    hi = np.full(k, np.inf) if upper is None else np.asarray(upper, dtype=float)
    centre = np.clip(x, lo + 2 * h, hi - 2 * h)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h[i]
            ej[j] = h[j]
            value = (nll(centre + ei + ej) - nll(centre + ei - ej) - nll(centre - ei + ej) + nll(centre - ei - ej))
            hess[i, j] = hess[j, i] = value / (4 * h[i] * h[j])
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full(k, math.nan)
    diag = np.diag(cov)
    return np.where(diag > 0, np.sqrt(np.abs(diag)), math.nan)


def _expit(x: np.ndarray | float) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def _sig(value: float, digits: int = 4) -> float:
    """Round to `digits` significant digits for a readable YAML file."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits}g}")


def _clip01(value: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return float(min(hi, max(lo, value)))


@dataclass
class _Export:
    """The export as arrays of minutes from Monday 00:00 of the first lead's week."""

    frame: pd.DataFrame
    origin: pd.Timestamp
    t: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> "_Export":
        first = frame["created_at"].min()
        origin = (first - pd.Timedelta(days=first.weekday())).normalize()
        out = cls(frame, origin)
        for column in ("created_at", "engaged_at", "mql_at", "assigned_at", "first_touch_at", "contacted_at",
                       "sql_at", "demo_held_at", "opportunity_at", "resolved_at"):
            out.t[column] = minutes_since(frame[column], origin)
        return out


def _in_base_order(found: Sequence[Any], known: Sequence[str]) -> list[str]:
    """Names found in an export: the base's in the base's order first, then new ones as they appear."""
    found = [str(x) for x in found]
    return [name for name in known if name in found] + [name for name in found if name not in known]


def _half_life(col: _Collector, parameter: str, rate: float, se_rate: float, n: float, what: str) -> float | None:
    """Report a half-life fitted as a decay rate per day (the scale its likelihood is near normal on).

    The standard error is the delta method's; the 95% CI maps the rate's interval, so its
    upper end is infinite when the rate's reaches 0. A rate of 0 is no cooling (null).
    """
    ln2 = math.log(2.0)
    col.rates.append({"parameter": parameter, "rate_per_day": float(rate), "se": float(se_rate)})
    if rate <= 0:
        col.add(parameter, math.inf, note=f"no cooling over {what} seen (rate at 0): null", n=n,
                low=ln2 / (1.96 * se_rate) if np.isfinite(se_rate) and se_rate > 0 else math.nan, high=math.inf)
        return None
    hl = ln2 / rate
    low_rate, high_rate = rate - 1.96 * se_rate, rate + 1.96 * se_rate
    col.add(parameter, hl, hl * se_rate / rate if np.isfinite(se_rate) else math.nan, n,
            note="CI from the decay rate's", low=ln2 / high_rate if np.isfinite(high_rate) else math.nan,
            high=ln2 / low_rate if low_rate > 0 else math.inf)
    return _sig(hl)


def _owner_skill(frame: pd.DataFrame, base: Scenario) -> np.ndarray:
    """Each lead's owner's skill (log-odds) by the base's tiers, for owners named as funnelsim names reps.

    Skill can not be told apart from the lead's luck without knowing who is senior, so
    it is taken from the base (tier skills; the personal spread averages out); 0 for
    owners the base's tiers do not name.
    """
    skills = [t.skill for t in base.team.tiers]
    if not any(skills):
        return np.zeros(len(frame))
    tier_of = base.team.rep_tiers()
    owner = pd.Series(frame["owner"].to_numpy(), dtype=object)
    number = pd.to_numeric(owner.str.extract(r"^rep_(\d+)$", expand=False), errors="coerce").to_numpy() - 1
    out = np.zeros(len(frame))
    ok = np.isfinite(number) & (number >= 0) & (number < len(tier_of))
    out[ok] = [skills[tier_of[int(r)]] for r in number[ok]]
    return out
