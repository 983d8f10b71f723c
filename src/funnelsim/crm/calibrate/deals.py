"""Deals: win rate and ``win_per_fit``, extra opportunities, the sales cycle, deal value.

An account with several opportunities is won if any is; the sales cycle is lognormal; the
deal value is lognormal with persona multipliers and ``deal_value_per_fit``. Fit enters
by regression calibration (:class:`funnelsim.crm.calibrate.quality._Latent`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...model import MAX_EXTRA_OPPORTUNITIES
from ...scenario import Scenario
from ...units import MINUTES_PER_DAY
from .fitting import _Collector, _expit, _Export, _hessian_se, _logit, _sig
from .quality import _Latent


def _deals(data: _Export, base: Scenario, col: _Collector, latent: _Latent,
           skill: np.ndarray) -> tuple[dict[str, Any], dict[str, float]]:
    """The fitted ``opportunities`` and ``leads.quality`` parts, and each persona's deal value multiplier."""
    from scipy import optimize, stats
    frame = data.frame
    opp_out: dict[str, Any] = {}
    quality: dict[str, Any] = {}
    opportunity = frame["opportunity"].to_numpy()

    # win rate with lead fit: an opportunity is won with w_i = expit(logit w + win_per_fit·(fit − average) + skill),
    # an account with k opportunities with 1 − (1 − w_i)^k
    decided = opportunity & (frame["status"].to_numpy() != "open")  # deals still open are not lost yet
    k = frame["opportunities"].to_numpy()[decided]
    won = frame["won"].to_numpy()[decided]
    f = latent.fit[decided] - latent.ref_fit
    has_fit = np.isfinite(f)
    f = np.where(has_fit, f, 0.0)
    off = skill[decided]
    if len(k) >= 2:
        slope = bool(has_fit.sum() >= 2 and np.ptp(f) > 0)

        def nll(x: np.ndarray) -> float:
            w = float(np.clip(x[0], 1e-12, 1 - 1e-12))
            b = float(x[1]) if slope else 0.0
            wi = _expit(_logit(w) + b * f + off) if (slope or off.any()) else np.full(len(k), w)
            log_lose = k * np.log1p(-np.clip(wi, 1e-15, 1 - 1e-15))
            return -float(np.log(-np.expm1(log_lose[won])).sum() + log_lose[~won].sum())

        start = [base.opportunities.win_rate] + ([base.leads.quality.win_per_fit] if slope else [])
        bounds = [(1e-9, 1 - 1e-9)] + ([(-20.0, 20.0)] if slope else [])
        res = optimize.minimize(nll, np.array(start), method="L-BFGS-B", bounds=bounds)
        x = res.x
        se = _hessian_se(nll, x, [b[0] for b in bounds], [b[1] for b in bounds])
        col.add("opportunities.win_rate", x[0], se[0], int(k.sum()), note="average legitimate lead")
        opp_out["win_rate"] = _sig(x[0])
        if slope:
            col.add("leads.quality.win_per_fit", x[1], se[1], int(len(k)), note="regression calibration")
            quality["win_per_fit"] = _sig(x[1])
        extra = k - 1
        S, below = float(extra.sum()), float((extra < MAX_EXTRA_OPPORTUNITIES).sum())
        q = S / (S + below) if S + below > 0 else 0.0
        se_q = math.sqrt(q * q * (1 - q) ** 2 / (S * (1 - q) ** 2 + below * q * q)) if 0 < q < 1 else math.nan
        col.add("opportunities.extra_opportunity_probability", q, se_q, len(k))
        opp_out["extra_opportunity_probability"] = _sig(min(q, 0.9))

    single = frame["opportunities"].to_numpy() == 1
    closed = ~np.isnan(data.t["resolved_at"])
    cycle = ((data.t["resolved_at"] - data.t["opportunity_at"]) / MINUTES_PER_DAY)[single & closed]
    cycle = cycle[cycle > 0]
    if len(cycle) >= 3:
        logs = np.log(cycle)
        mu, sigma = float(logs.mean()), float(logs.std())
        col.add("opportunities.cycle_days_median", math.exp(mu), math.exp(mu) * sigma / math.sqrt(len(logs)), len(logs))
        col.add("opportunities.cycle_days_sigma", sigma, sigma / math.sqrt(2 * len(logs)), len(logs))
        opp_out["cycle_days_median"] = _sig(math.exp(mu))
        opp_out["cycle_days_sigma"] = _sig(sigma)
        if sigma > 0:
            ks = stats.kstest(logs, "norm", args=(mu, sigma))
            col.check("sales cycle lognormal", math.exp(mu), math.exp(mu), "KS", ks.statistic, math.nan, ks.pvalue)

    multipliers = _deal_values(data, single & frame["won"].to_numpy(), latent, col, opp_out, quality)
    out: dict[str, Any] = {}
    if opp_out:
        out["opportunities"] = opp_out
    if quality:
        out["leads"] = {"quality": quality}
    return out, multipliers


def _deal_values(data: _Export, deals: np.ndarray, latent: _Latent, col: _Collector, opp_out: dict[str, Any],
                 quality: dict[str, Any]) -> dict[str, float]:
    """Deal value: log amount = log median + log persona multiplier + deal_value_per_fit·(fit − average) + σ·z.

    Least squares over won single-opportunity accounts with persona intercepts and the
    regression-calibrated fit (exact for a linear model: no attenuation); σ² is the
    residual variance less the slope² × the mean posterior variance of fit.
    """
    from scipy import stats
    frame = data.frame
    amount = frame["amount"].to_numpy()[deals]
    persona = frame["persona"].to_numpy()[deals]
    f = (latent.fit - latent.ref_fit)[deals]
    vf = latent.var_fit[deals]
    multipliers: dict[str, float] = {}
    if len(amount) < 3 or not (amount > 0).all():
        return multipliers
    logs = np.log(amount)
    names = [str(p) for p in pd.unique(persona)]
    slope = bool(np.isfinite(f).all() and len(amount) > len(names) + 1 and np.ptp(f) > 0)
    X = np.column_stack([(persona == name).astype(float) for name in names] + ([f] if slope else []))
    beta, *_ = np.linalg.lstsq(X, logs, rcond=None)
    residual = logs - X @ beta
    dof = max(1, len(logs) - X.shape[1])
    sigma2_resid = float((residual ** 2).sum() / len(logs))
    cov = np.linalg.pinv(X.T @ X) * float((residual ** 2).sum() / dof)
    b = float(beta[-1]) if slope else 0.0
    sigma = math.sqrt(max(1e-12, sigma2_resid - (b * b * float(np.nanmean(vf)) if slope else 0.0)))
    counts = np.array([(persona == name).sum() for name in names], dtype=float)
    mu = float((counts * beta[: len(names)]).sum() / counts.sum())
    col.add("opportunities.deal_value_median", math.exp(mu), math.exp(mu) * sigma / math.sqrt(len(logs)), len(logs),
            note="geometric mean over the personas' medians")
    col.add("opportunities.deal_value_sigma", sigma, sigma / math.sqrt(2 * len(logs)), len(logs))
    opp_out["deal_value_median"] = _sig(math.exp(mu))
    opp_out["deal_value_sigma"] = _sig(sigma)
    if slope:
        col.add("leads.quality.deal_value_per_fit", b, math.sqrt(cov[-1, -1]), len(logs), note="regression calibration")
        quality["deal_value_per_fit"] = _sig(b)
    for j, name in enumerate(names):
        m = float(beta[j])
        count = int(counts[j])
        multipliers[name] = math.exp(m - mu)
        col.add(f"leads.personas[{name}].deal_value_multiplier", multipliers[name],
                multipliers[name] * math.sqrt(max(0.0, cov[j, j] - 2 * float(counts @ cov[: len(names), j]) / len(logs)
                                                  + float(counts @ cov[: len(names), : len(names)] @ counts)
                                                  / len(logs) ** 2)), count)
        col.add(f"leads.personas[{name}].median_deal_value", math.exp(m), math.exp(m) * math.sqrt(cov[j, j]), count,
                note="deal_value_median × multiplier, average fit")
    if sigma2_resid > 0:
        ks = stats.kstest(residual / math.sqrt(sigma2_resid), "norm")
        col.check("deal value lognormal (by persona and fit)", math.exp(mu), math.exp(mu), "KS", ks.statistic,
                  math.nan, ks.pvalue)
    return multipliers
