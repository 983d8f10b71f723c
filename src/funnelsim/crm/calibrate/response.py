"""Response: who answers a call, as a cure model per lead.

Reachable shares of legitimate and junk leads, and the answer probability per attempt
moved by the lead's interest (``answer_per_interest``) and halving every
``answer_half_life_days`` since it engaged; attempt times from the base's cadence plus
the reps' mean lateness. The number of reps is the number of distinct owners.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...calendar import BusinessCalendar
from ...scenario import Scenario
from ...units import MINUTES_PER_DAY
from ..schema import UNKNOWN_PERSONA
from .fitting import _Collector, _expit, _Export, _half_life, _hessian_se, _logit, _sig
from .quality import _Latent


def _attempt_days(data: _Export, base: Scenario, rows: np.ndarray, kmax: int) -> np.ndarray:
    """Days from engaging to each call attempt (rows × kmax), as far as the export shows them.

    The export holds the first touch, the number of attempts, and the last attempt's time
    for a reached lead (contacted_at) and for one that never answered (resolved_at, when
    its last call ended). Attempt k is due at the base's cadence offset in business time
    from the first touch; reps running late make it later. An attempt whose time is not
    exported is placed at its due time plus the mean lateness of the attempts k whose
    time is known, never before the previous attempt nor after the last one.
    """
    cal = BusinessCalendar(base.team)
    offsets = list(base.follow_up.attempt_offsets)
    first = data.t["first_touch_at"][rows]
    engaged = data.t["engaged_at"][rows]
    contacted = ~np.isnan(data.t["contacted_at"][rows])
    gave_up = data.frame["status"].to_numpy()[rows] == "unresponsive"  # closed when its last call ended
    last = np.where(contacted, data.t["contacted_at"][rows], np.where(gave_up, data.t["resolved_at"][rows], np.inf))
    last = np.where(np.isnan(last), np.inf, last)
    attempts = data.frame["attempts"].to_numpy()[rows].astype(int)
    due = np.tile(first[:, None], (1, kmax))
    cache: dict[tuple[float, float], float] = {}
    for r in np.flatnonzero(attempts > 1):
        for k in range(1, min(int(attempts[r]), kmax)):
            offset = offsets[min(k, len(offsets) - 1)]
            key = (first[r], offset)
            value = cache.get(key)
            if value is None:
                value = cache[key] = cal.business_offset(first[r], offset)
            due[r, k] = value
    known = np.isfinite(last)
    index = np.clip(attempts - 1, 0, kmax - 1)
    lateness = np.zeros(kmax)
    for k in range(1, kmax):
        seen = known & (index == k)
        if seen.any():
            lateness[k] = float(np.maximum(0.0, last[seen] - due[seen, k]).mean())
    times = due + lateness[None, :]
    times[:, 0] = first
    for k in range(1, kmax):
        times[:, k] = np.minimum(np.maximum(times[:, k], times[:, k - 1]), last)
    times[known, index[known]] = last[known]
    return np.maximum(0.0, times - engaged[:, None]) / MINUTES_PER_DAY


def _response(data: _Export, base: Scenario, col: _Collector, tables: dict[str, pd.DataFrame],
              latent: _Latent) -> dict[str, Any]:
    """Who answers a call: reachable shares, the answer probability, its interest slope and half-life.

    A cure model per lead: reachable with r (legitimate or junk), then attempt k answers
    with q_k = expit(logit p + answer_per_interest·(interest − average)) · 0.5^(d_k / half-life),
    d_k days since engaging (see :func:`_attempt_days`); contact at attempt K has likelihood
    r·Π_{k<K}(1 − q_k)·q_K, no contact after K attempts (1 − r) + r·Π_{k≤K}(1 − q_k).
    Maximum likelihood over the decay rate ln 2 / half-life ≥ 0 (0: answering never cools).
    """
    from scipy import optimize, stats
    frame = data.frame
    attempts = frame["attempts"].to_numpy()
    tried = attempts > 0
    contacted_all = ~np.isnan(data.t["contacted_at"])
    junk_all = frame["persona"].to_numpy() == UNKNOWN_PERSONA
    out: dict[str, Any] = {}
    owners = pd.unique(frame["owner"].to_numpy()[frame["owner"].to_numpy() != ""])
    if len(owners):
        col.add("team.reps", len(owners), note="distinct owners")
        out["team"] = {"reps": int(len(owners))}
    if tried.sum() < 10 or contacted_all.sum() < 2:
        col.add("follow_up.answer_probability", base.follow_up.answer_probability, note="too few calls: kept base")
        return out
    rows = np.flatnonzero(tried)
    K = attempts[rows].astype(int)
    kmax = int(K.max())
    contacted = contacted_all[rows]
    junk = junk_all[rows]
    x = np.where(junk, 0.0, latent.interest[rows] - latent.ref_interest)
    x = np.where(np.isfinite(x), x, 0.0)
    days = _attempt_days(data, base, rows, kmax)
    k_index = np.arange(kmax)[None, :]
    before = k_index < (K - contacted)[:, None]  # unanswered attempts
    at = (k_index == (K - 1)[:, None]) & contacted[:, None]  # the attempt that reached the lead
    groups = [g for g, mask in ((0, ~junk), (1, junk)) if mask.any()]
    slope = bool((~junk).any() and np.ptp(x[~junk]) > 0)

    def unpack(z: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        r = np.full(2, 0.5)
        for j, g in enumerate(groups):
            r[g] = z[j]
        p = float(z[len(groups)])
        a = float(z[len(groups) + 1]) if slope else 0.0
        return r, p, a, float(z[-1])

    def q_matrix(p: float, a: float, lam: float) -> np.ndarray:
        base_q = _expit(_logit(p) + a * x) if a != 0.0 else np.full(len(x), p)
        return base_q[:, None] * np.exp(-lam * days)

    def nll(z: np.ndarray) -> float:
        r, p, a, lam = unpack(z)
        if not (0 < p < 1 and lam >= 0 and all(0 < r[g] < 1 for g in groups)):
            return 1e300
        q = np.clip(q_matrix(p, a, lam), 1e-300, 1 - 1e-15)
        miss = (np.log1p(-q) * before).sum(1)
        hit = (np.log(q) * at).sum(1)
        rr = r[junk.astype(int)]
        ll = np.where(contacted, np.log(rr) + miss + hit, np.log((1 - rr) + rr * np.exp(miss)))
        return -float(ll.sum())

    def nll_free(u: np.ndarray) -> float:  # logits of r and p, the slope, the decay rate
        z = u.copy()
        z[:len(groups) + 1] = _expit(u[:len(groups) + 1])
        return nll(z)

    fu = base.follow_up
    lam0 = math.log(2.0) / fu.answer_half_life_days if fu.answer_half_life_days else 0.0
    start = np.array([0.0] * len(groups) + [_logit(fu.answer_probability)] +
                     ([base.leads.quality.answer_per_interest] if slope else []) + [lam0])
    bounds = [(-30, 30)] * (len(groups) + 1) + ([(-20, 20)] if slope else []) + [(0.0, 5.0)]
    res = optimize.minimize(nll_free, start, method="L-BFGS-B", bounds=bounds)
    z = res.x.copy()
    z[:len(groups) + 1] = _expit(res.x[:len(groups) + 1])
    lower = [1e-9] * (len(groups) + 1) + ([-20.0] if slope else []) + [0.0]
    upper = [1 - 1e-9] * (len(groups) + 1) + ([20.0] if slope else []) + [5.0]
    se = _hessian_se(nll, z, lower, upper)
    r, p, a, lam = unpack(z)
    n_calls = int(K.sum())
    out["leads"] = {}
    for j, g in enumerate(groups):
        name = ("reachable_legitimate", "reachable_junk")[g]
        col.add(f"leads.{name}", r[g], se[j], int(((junk if g else ~junk)).sum()))
        out["leads"][name] = _sig(r[g])
    col.add("follow_up.answer_probability", p, se[len(groups)], n_calls, note="average legitimate lead, just engaged")
    out["follow_up"] = {"answer_probability": _sig(p)}
    if slope:
        col.add("leads.quality.answer_per_interest", a, se[len(groups) + 1], int((~junk).sum()),
                note="regression calibration" if latent.conditioned else "regression calibration, no MQL rule")
        out["leads"]["quality"] = {"answer_per_interest": _sig(a)}
    out["follow_up"]["answer_half_life_days"] = _half_life(col, "follow_up.answer_half_life_days", lam, se[-1],
                                                           n_calls, "days since engaging")

    # contacted at attempt k: observed vs fitted (leads still uncontacted when attempt k was made)
    q = q_matrix(p, a, lam)
    rr = r[junk.astype(int)]
    alive = np.ones(len(rows))  # Π_{j<k} (1 − q_j)
    rows_out = []
    chi2, cells = 0.0, 0
    for k in range(kmax):
        at_risk = K >= k + 1
        hazard = rr * alive * q[:, k] / ((1 - rr) + rr * alive)
        observed = float((at_risk & contacted & (K == k + 1)).sum())
        expected = float(hazard[at_risk].sum())
        rows_out.append({"attempt": k + 1, "contacted_observed": observed, "contacted_fitted": expected})
        if expected > 5:
            chi2 += (observed - expected) ** 2 / expected
            cells += 1
        alive = alive * (1 - q[:, k])
    tables["attempts"] = pd.DataFrame(rows_out)
    params = len(z)
    if cells > params:
        col.check("contacts by attempt number", float(contacted.sum()), float(sum(r_["contacted_fitted"]
                  for r_ in rows_out)), "chi2", chi2, cells - params, float(stats.chi2.sf(chi2, cells - params)))
    offsets = len(base.follow_up.attempt_offsets)
    if kmax != offsets:
        col.check(f"most attempts on a lead (base cadence has {offsets})", kmax, offsets)
    return out
