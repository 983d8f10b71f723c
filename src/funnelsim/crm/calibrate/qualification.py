"""Qualification: the SQL model, jointly with lead quality, by maximum likelihood.

P(SQL | reached t after engaging) = expit(logit(p_durable·0.5^(days / durable_half_life_days)
+ p_perishable·m(t)) + sql_per_fit·Δfit + sql_per_interest·Δinterest + rep skill), with the
base's curve shape m; the speed-to-lead table (:data:`DECAY_BINS`) and the fitted curve.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ...model import qualification_probability
from ...scenario import Scenario, SpeedToLead
from ...stats import wilson_interval
from ...units import MINUTES_PER_DAY
from ..schema import UNKNOWN_PERSONA
from .fitting import _Collector, _expit, _Export, _half_life, _hessian_se, _logit, _sig
from .quality import _Latent


#: bin edges (minutes from engagement to contact) of the speed-to-lead table
DECAY_BINS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 240.0, 480.0, 1440.0, 2880.0, 10080.0, math.inf)


def _decay(curve: str, t: np.ndarray, half_life: float, published: np.ndarray | None) -> np.ndarray:
    if curve == "published":
        return published if published is not None else qualification_probability(
            SpeedToLead(curve="published", p_durable=0.0, p_perishable=1.0, durable_half_life_days=None), t)
    if curve == "exponential":
        return np.exp(-math.log(2.0) * t / half_life)
    if curve == "linear":
        return np.maximum(0.0, 1.0 - t / (2.0 * half_life))
    return np.ones_like(t)


def _speed_to_lead(data: _Export, base: Scenario, col: _Collector, tables: dict[str, pd.DataFrame],
                   latent: _Latent, skill: np.ndarray) -> dict[str, Any]:
    """P(SQL | reached t after engaging) jointly with lead quality, by maximum likelihood.

    P = expit( logit(p_durable·0.5^(d/durable_half_life) + p_perishable·m(t))
               + sql_per_fit·(fit − average) + sql_per_interest·(interest − average) + rep skill )

    over reached legitimate leads, with the base's curve shape m (and its half-life
    fitted for the exponential and linear curves), fit and interest by regression
    calibration (:class:`_Latent`) and their posterior spread through the probit
    approximation. The slopes fitted on the raw inverted features (attenuated by their
    noise) are shown as a check.
    """
    from scipy import optimize, stats
    frame = data.frame
    contacted = ~np.isnan(data.t["contacted_at"])
    legit = frame["persona"].to_numpy() != UNKNOWN_PERSONA
    junk_sqls = int((frame["sql"].to_numpy() & ~legit).sum())
    col.check("SQLs among leads of unknown persona", junk_sqls, 0)
    use = contacted & legit
    t = np.maximum(0.0, (data.t["contacted_at"] - data.t["engaged_at"])[use])
    y = frame["sql"].to_numpy()[use].astype(float)
    n = len(t)
    sp = base.speed_to_lead
    if n < 20:
        col.add("speed_to_lead.p_durable", sp.p_durable, note="too few contacted leads: kept the base curve")
        return {}
    days = t / MINUTES_PER_DAY
    offset = skill[use]
    mf = np.nan_to_num(latent.fit[use] - latent.ref_fit)
    mi = np.nan_to_num(latent.interest[use] - latent.ref_interest)
    vf, vi, cv = (np.nan_to_num(v[use]) for v in (latent.var_fit, latent.var_interest, latent.cov))
    naive = (latent.naive_fit[use] - latent.ref_fit, latent.naive_interest[use] - latent.ref_interest)
    curve = sp.curve
    published = _decay("published", t, 1.0, None) if curve == "published" else None
    with_half_life = curve in ("exponential", "linear")
    perishable = curve != "none"
    names = ["p_durable"] + (["p_perishable"] if perishable else []) + ["rate"] + \
        (["half_life_minutes"] if with_half_life else []) + ["sql_per_fit", "sql_per_interest"]
    at = {name: i for i, name in enumerate(names)}

    def prob(x: np.ndarray, f: np.ndarray = mf, i: np.ndarray = mi, with_spread: bool = True) -> np.ndarray:
        pd_ = float(x[0])
        pp = float(x[at["p_perishable"]]) if perishable else 0.0
        h = float(x[at["half_life_minutes"]]) if with_half_life else 1.0
        m = _decay(curve, t, h, published) if perishable else 0.0
        p0 = np.clip(pd_ * np.exp(-float(x[at["rate"]]) * days) + pp * m, 1e-12, 1 - 1e-12)
        bf, bi = float(x[at["sql_per_fit"]]), float(x[at["sql_per_interest"]])
        eta = _logit(p0) + bf * f + bi * i + offset
        if with_spread:
            eta = eta / np.sqrt(1.0 + math.pi / 8.0 * np.maximum(bf * bf * vf + bi * bi * vi + 2 * bf * bi * cv, 0.0))
        return np.clip(_expit(eta), 1e-12, 1 - 1e-12)

    def nll_with(f: np.ndarray, i: np.ndarray, spread: bool) -> Callable[[np.ndarray], float]:
        def nll(x: np.ndarray) -> float:
            if (x[at["half_life_minutes"]] <= 0 if with_half_life else False) or x[at["rate"]] < 0:
                return 1e300
            p = prob(x, f, i, spread)
            return -float((y * np.log(p) + (1 - y) * np.log1p(-p)).sum())
        return nll

    nll = nll_with(mf, mi, True)
    q = base.leads.quality
    rate0 = math.log(2.0) / sp.durable_half_life_days if sp.durable_half_life_days else 0.0
    sql_rate = float(y.mean())
    bounds = [(0.0, 1.0)] + ([(0.0, 1.0)] if perishable else []) + [(0.0, 5.0)] + \
        ([(0.01, 1e5)] if with_half_life else []) + [(-20.0, 20.0), (-20.0, 20.0)]
    cons = [{"type": "ineq", "fun": lambda z: 1.0 - z[0] - z[1]}] if perishable else []
    starts = []
    for a, b in ((sp.p_durable, sp.p_perishable), (max(0.01, 0.8 * sql_rate), min(0.5, 1 - 0.8 * sql_rate)),
                 (sql_rate, 0.05), (0.5 * sql_rate, 0.9 - 0.5 * sql_rate)):
        starts.append([a] + ([b] if perishable else []) + [rate0] + ([sp.half_life_minutes] if with_half_life else [])
                      + [q.sql_per_fit, q.sql_per_interest])
    best = None
    for start in starts:
        res = optimize.minimize(nll, np.array(start, dtype=float), method="SLSQP", bounds=bounds, constraints=cons,
                                options={"maxiter": 500, "ftol": 1e-12})
        if best is None or res.fun < best.fun:
            best = res
    x = best.x.copy()
    x[: 2 if perishable else 1] = np.clip(x[: 2 if perishable else 1], 0.0, 1.0)
    x[at["rate"]] = max(0.0, x[at["rate"]])
    if perishable and x[0] + x[1] > 1:
        x[1] = 1 - x[0]
    lower = [b[0] for b in bounds]
    upper = [b[1] for b in bounds]
    se = _hessian_se(nll, x, lower, upper)
    note = "regression calibration" if latent.conditioned else "regression calibration, no MQL rule"
    col.add("speed_to_lead.p_durable", x[0], se[0], n, note="average legitimate lead, just engaged")
    out: dict[str, Any] = {"p_durable": _sig(x[0])}
    if perishable:
        col.add("speed_to_lead.p_perishable", x[1], se[1], n)
        out["p_perishable"] = _sig(x[1])
        if out["p_durable"] + out["p_perishable"] > 1:
            out["p_perishable"] = float(f"{1 - out['p_durable']:.6f}")
    if with_half_life:
        col.add("speed_to_lead.half_life_minutes", x[at["half_life_minutes"]], se[at["half_life_minutes"]], n)
        out["half_life_minutes"] = _sig(x[at["half_life_minutes"]])
    out["durable_half_life_days"] = _half_life(col, "speed_to_lead.durable_half_life_days", float(x[at["rate"]]),
                                               se[at["rate"]], n, "days since engaging")
    quality = {}
    for name in ("sql_per_fit", "sql_per_interest"):
        col.add(f"leads.quality.{name}", x[at[name]], se[at[name]], n, note=note)
        quality[name] = _sig(x[at[name]])

    # the naive slopes: the same likelihood on the raw inverted features (biased towards 0)
    raw = optimize.minimize(nll_with(naive[0], naive[1], False), x, method="SLSQP", bounds=bounds, constraints=cons,
                            options={"maxiter": 500, "ftol": 1e-12})
    for name in ("sql_per_fit", "sql_per_interest"):
        col.check(f"{name} on raw features (attenuated)", float(raw.x[at[name]]), float(x[at[name]]))

    h = float(x[at["half_life_minutes"]]) if with_half_life else 1.0
    p_fit = prob(x)
    edges = np.array(DECAY_BINS)
    which = np.digitize(t, edges[1:-1])
    rows = []
    chi2, cells = 0.0, 0
    for j in range(len(edges) - 1):
        mask = which == j
        m = int(mask.sum())
        k = float(y[mask].sum())
        expected = float(p_fit[mask].sum())
        var = float((p_fit[mask] * (1 - p_fit[mask])).sum())
        low, high = wilson_interval(k, m)[1:] if m else (math.nan, math.nan)
        rows.append({"from_minutes": edges[j], "to_minutes": edges[j + 1], "leads": m,
                     "median_minutes": float(np.median(t[mask])) if m else math.nan,
                     "observed": k / m if m else math.nan, "low": low, "high": high,
                     "fitted": expected / m if m else math.nan})
        if m and var > 0:
            chi2 += (k - expected) ** 2 / var
            cells += 1
    tables["decay"] = pd.DataFrame(rows)
    grid = np.concatenate([[0.0], np.geomspace(0.1, 60_000.0, 240)])
    pp = x[1] if perishable else 0.0
    tables["decay_curve"] = pd.DataFrame({
        "minutes": grid,
        "fitted": x[0] * np.exp(-x[at["rate"]] * grid / MINUTES_PER_DAY)
        + (pp * _decay(curve, grid, h, None) if perishable else 0.0)})
    params = len(x)
    if cells > params:
        col.check("SQL rate by speed-to-lead band", float(y.mean()), float(p_fit.mean()), "chi2", chi2,
                  cells - params, float(stats.chi2.sf(chi2, cells - params)))
    return {"speed_to_lead": out, "leads": {"quality": quality}}
