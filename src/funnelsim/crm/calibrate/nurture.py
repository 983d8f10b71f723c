"""Marketing's hand-off and nurture, by maximum likelihood.

The hand-off delay (exponential mean); the click probability of legitimate and of junk
leads and the days to click (a truncated exponential over ``max_days``); and marketing's
review of the nurture list (click → MQL is exponential review + exponential hand-off).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...scenario import Scenario
from ...units import MINUTES_PER_DAY
from ..schema import UNKNOWN_PERSONA
from .fitting import _clip01, _Collector, _Export, _hessian_se, _se_binomial, _sig


def _handoff_and_nurture(data: _Export, base: Scenario, col: _Collector) -> dict[str, Any]:
    from scipy import optimize, stats
    frame = data.frame
    out: dict[str, Any] = {}
    direct = frame["mql"].to_numpy() & ~frame["nurtured"].to_numpy()
    delay = (data.t["mql_at"] - data.t["created_at"])[direct]
    handoff = base.marketing.handoff_minutes
    if len(delay):
        handoff = mean = float(delay.mean())
        col.add("marketing.handoff_minutes", mean, mean / math.sqrt(len(delay)), len(delay))
        out["marketing"] = {"handoff_minutes": _sig(mean)}
        if mean > 0 and len(delay) > 5:
            ks = stats.kstest(delay, "expon", args=(0, mean))
            col.check("hand-off delay exponential", mean, mean, "KS", ks.statistic, math.nan, ks.pvalue)
    else:
        col.add("marketing.handoff_minutes", base.marketing.handoff_minutes, note="no MQLs: kept the base value")

    nurture = base.nurture
    status = frame["status"].to_numpy()
    nurtured = frame["nurtured"].to_numpy() & (status != "capped_out")
    n = int(nurtured.sum())
    if not nurture.enabled or n == 0:
        return out
    days = ((data.t["engaged_at"] - data.t["created_at"]) / MINUTES_PER_DAY)[nurtured]
    clicked = days > 0
    legit = (frame["persona"].to_numpy() != UNKNOWN_PERSONA)[nurtured]
    k = int(clicked.sum())
    T = nurture.max_days
    groups = [(name, int(mask.sum()), int((clicked & mask).sum()))
              for name, mask in (("click_probability", legit), ("junk_click_probability", ~legit))]
    if k < 2:
        for name, n_g, k_g in groups:
            if n_g:
                col.add(f"nurture.{name}", k_g / n_g, _se_binomial(k_g / n_g, n_g), n_g, note="too few clicks")
        return out
    mean_days = float(days[clicked].mean())
    total_days = float(days[clicked].sum())

    def excess(mu: float) -> float:  # truncated exponential mean minus the observed mean
        return mu - T / math.expm1(T / mu) - mean_days if T / mu < 700 else mu - mean_days

    # the maximum likelihood: the click delay's mean solves the truncated-exponential mean equation,
    # and each group's click probability is its share of clicks over the chance to click within max_days
    mu = 100.0 * T if mean_days >= T / 2 else optimize.brentq(excess, 1e-6 * T, 1e4 * T)
    reach = -math.expm1(-T / mu)
    fitted = [(name, n_g, k_g, min(1.0, k_g / n_g / reach)) for name, n_g, k_g in groups if n_g]

    def nll(x: np.ndarray) -> float:
        mm = float(x[-1])
        if mm <= 0 or not all(0 < c < 1 for c in x[:-1]):
            return 1e300
        f = -math.expm1(-T / mm)
        total = -k * math.log(mm) - total_days / mm
        for c, (_, n_g, k_g, _) in zip(x[:-1], fitted):
            total += (k_g * math.log(c) if k_g else 0.0) + (n_g - k_g) * math.log(max(1e-300, 1 - c * f))
        return -total

    x = np.array([min(c, 1 - 1e-9) if c > 0 else 1e-9 for *_, c in fitted] + [mu])
    se = _hessian_se(nll, x, [1e-9] * len(fitted) + [1e-9], [1 - 1e-9] * len(fitted) + [np.inf])
    out["nurture"] = {}
    for index, (name, n_g, k_g, c) in enumerate(fitted):
        col.add(f"nurture.{name}", c, se[index] if k_g else _se_binomial(c, n_g), n_g)
        out["nurture"][name] = _sig(_clip01(c))
    col.add("nurture.mean_days_to_click", mu, se[-1], k)
    out["nurture"]["mean_days_to_click"] = _sig(mu)
    if not nurture.hot_lead_alerts:
        review = _review_days(data, nurtured, clicked, handoff, col)
        if review is not None:
            out["nurture"]["review_days"] = review
    return out


def _review_days(data: _Export, nurtured: np.ndarray, clicked: np.ndarray, handoff: float,
                 col: _Collector) -> float | None:
    """Marketing's review of the nurture list: click -> MQL is exponential(review) + exponential(hand-off).

    The hand-off mean comes from the leads handed off at once; the review mean is the
    maximum likelihood of the sum (a hypoexponential density) over the clicks that became MQLs.
    """
    from scipy import optimize
    where = np.flatnonzero(nurtured)[clicked]
    gap = (data.t["mql_at"] - data.t["engaged_at"])[where]
    gap = gap[np.isfinite(gap)]
    if len(gap) < 5:
        col.add("nurture.review_days", math.nan, note="too few clicks handed to sales: kept the base value")
        return None
    h = max(float(handoff), 1e-6)

    def nll_minutes(r: float) -> float:
        if r <= 1e-9:
            return float(len(gap) * math.log(h) + gap.sum() / h)
        if abs(r - h) < 1e-6 * h:
            r = h * (1 + 1e-6)
        slow, fast = max(r, h), min(r, h)
        # density (e^{-x/slow} - e^{-x/fast}) / (slow - fast)
        log_density = -gap / slow + np.log(-np.expm1(-gap * (1 / fast - 1 / slow))) - math.log(slow - fast)
        return -float(log_density.sum())

    mean = float(gap.mean())
    upper = max(10.0 * mean, 10.0 * h)
    res = optimize.minimize_scalar(nll_minutes, bounds=(0.0, upper), method="bounded", options={"xatol": 1e-6 * upper})
    r = float(res.x)
    if nll_minutes(0.0) <= res.fun:
        r = 0.0
    se = _hessian_se(lambda x: nll_minutes(float(x[0])), np.array([r]), [0.0], [upper])[0]
    col.add("nurture.review_days", r / MINUTES_PER_DAY, se / MINUTES_PER_DAY, len(gap),
            note="click -> MQL minus the hand-off")
    return _sig(r / MINUTES_PER_DAY)
