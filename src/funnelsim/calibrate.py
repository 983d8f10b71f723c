"""Calibration: fit a scenario's inputs to a CRM export, with standard errors and fit checks.

``calibrate(export, base)`` estimates, from an export read by :func:`funnelsim.crm.read_export`:

* arrivals — a Poisson model with hour-of-day × day-of-week rates (maximum likelihood by
  iterative proportional fitting over the hours the export covers) and each source's volume;
* lead quality — each source's legitimate share (persona known), persona shares, each
  persona's (and junk's) mean fit and interest from the CRM features (inverting the link of
  :mod:`funnelsim.crm`), their Beta concentration (method of moments, feature noise removed);
* marketing hand-off (exponential mean) and nurture (click probability and days to click,
  a truncated exponential, by maximum likelihood);
* response — answer probability per attempt and the reachable shares of legitimate and
  junk leads (a cure model: contact at attempt k has likelihood r·(1−p)^(k−1)·p);
* the speed-to-lead curve P(SQL | contacted t minutes after engaging) =
  p_durable + p_perishable·m(t), by maximum likelihood (scipy.optimize) with the base's
  curve shape m (and its half-life for the exponential and linear curves);
* demos — no-show and reschedule probability, demo → opportunity; deals — win rate
  (accounting for several opportunities per account), extra opportunities, and lognormal
  sales cycle and deal value (with persona multipliers).

Policies — team hours, cadence, SLA, routing, caps, the MQL rule, costs — cannot be read
off an export: they come from a base scenario (or funnelsim's defaults). The number of
reps is the number of distinct owners. Every estimate carries a standard error (Fisher
information or the delta method) and every model part a goodness-of-fit check.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .atomic import atomic_path
from .crm import (
    COMPANY_SIZE_NOISE,
    UNKNOWN_PERSONA,
    fit_from_company_size,
    interest_from_engagement,
    minutes_since,
    read_export,
)
from .model.qualification import qualification_probability
from .errors import InputError
from .model.population import MAX_EXTRA_OPPORTUNITIES
from .scenario import (
    MINUTES_PER_DAY,
    MINUTES_PER_MONTH,
    Scenario,
    Source,
    SpeedToLead,
    load_scenario,
    scenario_from_dict,
)

__all__ = [
    "Calibration",
    "calibrate",
    "calibrate_file",
    "write_calibrated",
    "calibrated_yaml",
    "compare_funnel",
    "DECAY_BINS",
]

#: bin edges (minutes from engagement to contact) of the speed-to-lead table
DECAY_BINS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 240.0, 480.0, 1440.0, 2880.0, 10080.0, math.inf)
_STAGES = (("lead", "created_at"), ("mql", "mql_at"), ("contacted", "contacted_at"), ("sql", "sql_at"),
           ("demo_held", "demo_held_at"), ("opportunity", "opportunity_at"), ("won", None))
_MIN_DAYS = 7.0


@dataclass
class Calibration:
    """A calibrated scenario, its estimates with standard errors, fit checks and tables."""

    scenario: Scenario
    fitted: dict[str, Any]  # the fitted fields as a nested mapping (what the YAML sets)
    estimates: pd.DataFrame  # parameter, value, se, low, high, n, note
    checks: pd.DataFrame  # check, observed, fitted, statistic, df, p_value
    tables: dict[str, pd.DataFrame]  # arrivals_by_hour, arrivals_by_weekday, decay, decay_curve, attempts, conversion
    source: str
    leads: int
    first: pd.Timestamp
    last: pd.Timestamp

    def estimate(self, parameter: str) -> pd.Series:
        """The row of one parameter, e.g. ``calibration.estimate("opportunities.win_rate")``."""
        rows = self.estimates[self.estimates["parameter"] == parameter]
        if rows.empty:
            raise KeyError(parameter)
        return rows.iloc[0]

    def text(self) -> str:
        """The fit quality, as ``funnelsim calibrate`` prints it."""
        lines = [f"Calibrated from {self.source}: {self.leads:,} leads created {self.first:%Y-%m-%d %H:%M} to "
                 f"{self.last:%Y-%m-%d %H:%M} ({self.scenario.months:.2f} months)", ""]
        est = self.estimates
        profile = est["parameter"].str.startswith("arrivals.")
        width = max(len(p) for p in est.loc[~profile, "parameter"])
        lines.append(f"  {'parameter':<{width}}  {'estimate':>11}  {'95% CI':>25}  {'n':>8}")
        for row in est[~profile].itertuples():
            ci = "" if not np.isfinite(row.se) else f"[{_fmt(row.low)}, {_fmt(row.high)}]"
            n = "" if row.n is None or not np.isfinite(row.n) else f"{int(row.n):,}"
            note = f"  {row.note}" if row.note else ""
            lines.append(f"  {row.parameter:<{width}}  {_fmt(row.value):>11}  {ci:>25}  {n:>8}{note}")
        for name in ("hourly_profile", "weekday_profile"):
            rows = est[est["parameter"].str.startswith(f"arrivals.{name}")]
            worst = float(np.nanmax(rows["se"] / rows["value"].where(rows["value"] > 0))) if len(rows) else math.nan
            lines.append(f"  arrivals.{name}: " + " ".join(f"{v:.2f}" for v in rows["value"]) +
                         f"  (relative SE up to {100 * worst:.0f}%)")
        lines += ["", "  fit quality"]
        cw = max(len(c) for c in self.checks["check"])
        lines.append(f"  {'check':<{cw}}  {'observed':>10}  {'fitted':>10}  test")
        for row in self.checks.itertuples():
            test = ""
            if np.isfinite(row.statistic):
                test = f"{row.test} = {row.statistic:.2f}" + (f" on {int(row.df)} df" if np.isfinite(row.df) else "")
                if np.isfinite(row.p_value):
                    test += f", p = {row.p_value:.3g}"
            lines.append(f"  {row.check:<{cw}}  {_fmt(row.observed):>10}  {_fmt(row.fitted):>10}  {test}")
        return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    value = float(value)
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.4g}"


class _Collector:
    """Estimates and checks as they are made."""

    def __init__(self) -> None:
        self.estimates: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []

    def add(self, parameter: str, value: float, se: float = math.nan, n: float = math.nan, note: str = "") -> None:
        se = float(se) if se is not None and np.isfinite(se) else math.nan
        self.estimates.append({"parameter": parameter, "value": float(value), "se": se,
                               "low": float(value) - 1.96 * se, "high": float(value) + 1.96 * se,
                               "n": float(n), "note": note})

    def check(self, check: str, observed: float, fitted: float, test: str = "", statistic: float = math.nan,
              df: float = math.nan, p_value: float = math.nan) -> None:
        self.checks.append({"check": check, "observed": float(observed), "fitted": float(fitted), "test": test,
                            "statistic": float(statistic), "df": float(df), "p_value": float(p_value)})


def _se_binomial(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / n) if n > 0 else math.nan


def _wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


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


def _sig(value: float, digits: int = 4) -> float:
    """Round to `digits` significant digits for a readable YAML file."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits}g}")


def _clip01(value: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return float(min(hi, max(lo, value)))


# --------------------------------------------------------------------------- the pieces


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
                       "sql_at", "demo_held_at", "opportunity_at", "closed_at"):
            out.t[column] = minutes_since(frame[column], origin)
        return out


def _in_base_order(found: Sequence[Any], known: Sequence[str]) -> list[str]:
    """Names found in an export: the base's in the base's order first, then new ones as they appear."""
    found = [str(x) for x in found]
    return [name for name in known if name in found] + [name for name in found if name not in known]


def _arrivals(data: _Export, base: Scenario, col: _Collector, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    from scipy import stats  # here, not at the top: scipy.stats is slow to import
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
    frame = data.frame
    base_costs = {s.name: s.cost_per_lead for s in base.sources}
    default_cost = Source.model_fields["cost_per_lead"].default
    sources = []
    names = _in_base_order(pd.unique(frame["source"].to_numpy()), [s.name for s in base.sources])
    legit = (frame["persona"].to_numpy() != UNKNOWN_PERSONA)
    for name in names:
        mask = frame["source"].to_numpy() == name
        n = int(mask.sum())
        per_month = n * MINUTES_PER_MONTH / weighted_exposure
        share = float(legit[mask].mean())
        col.add(f"sources[{name}].leads_per_month", per_month, per_month / math.sqrt(n), n)
        col.add(f"sources[{name}].legitimate_share", share, _se_binomial(share, n), n)
        sources.append({"name": str(name), "leads_per_month": _sig(per_month, 5), "legitimate_share": _sig(share),
                        "cost_per_lead": base_costs.get(str(name), default_cost)})
    return {"months": round(months, 3), "sources": sources,
            "arrivals": {"hourly_profile": [round(float(x), 3) for x in hour_w],
                         "weekday_profile": [round(float(x), 3) for x in day_w]}}


def _lead_quality(data: _Export, base: Scenario, col: _Collector) -> dict[str, Any]:
    frame = data.frame
    persona = frame["persona"].to_numpy()
    fit = fit_from_company_size(frame["company_size"].to_numpy())
    interest = interest_from_engagement(frame["pages_viewed"].to_numpy(), frame["email_clicks"].to_numpy())
    legit = persona != UNKNOWN_PERSONA
    n_legit = int(legit.sum())
    base_personas = {p.name: p for p in base.leads.personas}
    out: dict[str, Any] = {}
    personas: list[dict[str, Any]] = []
    noise_var = (COMPANY_SIZE_NOISE / 3.5) ** 2
    numerator = denominator = var_denominator = 0.0
    names = _in_base_order(pd.unique(persona[legit]), [p.name for p in base.leads.personas])
    groups: list[tuple[str, np.ndarray]] = [(name, persona == name) for name in names]
    groups.append((UNKNOWN_PERSONA, ~legit))
    for name, mask in groups:
        n = int(mask.sum())
        if n == 0:
            continue
        f, i = fit[mask], interest[mask]
        mf, mi = float(f.mean()), float(i.mean())
        sf = float(f.std(ddof=1)) if n > 1 else math.nan
        si = float(i.std(ddof=1)) if n > 1 else math.nan
        label = "leads.junk" if name == UNKNOWN_PERSONA else f"leads.personas[{name}]"
        col.add(f"{label}.fit", mf, sf / math.sqrt(n), n)
        col.add(f"{label}.interest", mi, si / math.sqrt(n), n)
        if n > 1:
            # Var(estimate) = m(1-m)/(c+1) + noise variance, for fit and interest alike
            vf, vi = float(f.var(ddof=1)), float(i.var(ddof=1))
            numerator += n * (_clip01(mf) * (1 - _clip01(mf)) + _clip01(mi) * (1 - _clip01(mi)))
            denominator += n * ((vf - noise_var) + (vi - mi / 30.0))
            var_denominator += n * n * 2.0 * (vf * vf + vi * vi) / (n - 1)
        if name == UNKNOWN_PERSONA:
            out["junk"] = {"fit": _sig(_clip01(mf, 0.001, 0.999)), "interest": _sig(_clip01(mi, 0.001, 0.999))}
        else:
            share = n / n_legit
            col.add(f"leads.personas[{name}].share", share, _se_binomial(share, n_legit), n_legit)
            old = base_personas.get(name)
            personas.append({"name": name, "share": _sig(share), "fit": _sig(_clip01(mf, 0.001, 0.999)),
                             "interest": _sig(_clip01(mi, 0.001, 0.999)),
                             "deal_value_multiplier": old.deal_value_multiplier if old else 1.0})
    if personas:
        out["personas"] = personas
    if denominator > 0 and numerator > denominator:
        conc = numerator / denominator - 1.0
        se = (conc + 1.0) * math.sqrt(var_denominator) / denominator
        col.add("leads.concentration", conc, se, len(frame))
        out["concentration"] = _sig(conc)
    else:
        col.add("leads.concentration", base.leads.concentration, note="features too noisy: kept the base value")
    return out


def _mql_checks(data: _Export, base: Scenario, quality: dict[str, Any], col: _Collector) -> None:
    """Do the fitted fit/interest distributions and the base's marketing rule reproduce who qualifies?"""
    from scipy import stats  # here, not at the top: scipy.stats is slow to import
    mk = base.marketing
    if mk.score_model is not None or "concentration" not in quality:
        return
    frame = data.frame
    conc = quality["concentration"]
    persona = frame["persona"].to_numpy()
    direct = frame["mql"].to_numpy() & ~frame["nurtured"].to_numpy()
    filtered = frame["status"].to_numpy() == "filtered"
    groups = [(p["name"], p["fit"], p["interest"], persona == p["name"]) for p in quality.get("personas", [])]
    if "junk" in quality:
        groups.append((UNKNOWN_PERSONA, quality["junk"]["fit"], quality["junk"]["interest"],
                       persona == UNKNOWN_PERSONA))
    grid = (np.arange(4000) + 0.5) / 4000
    expected_direct = expected_filtered = 0.0
    for _, mf, mi, mask in groups:
        n = int(mask.sum())
        fit_pdf = stats.beta.pdf(grid, mf * conc, (1 - mf) * conc) / 4000
        w = mk.score_fit_weight
        if w < 1:
            need = (mk.mql_threshold / 100.0 - w * grid) / (1 - w)
            p_interest = stats.beta.sf(np.clip(need, 0, 1), mi * conc, (1 - mi) * conc)
            p_interest = np.where(need <= 0, 1.0, np.where(need > 1, 0.0, p_interest))
        else:
            p_interest = (100.0 * grid >= mk.mql_threshold).astype(float)
        keep = grid >= mk.min_fit
        expected_direct += n * float((fit_pdf * p_interest * keep).sum())
        expected_filtered += n * float((fit_pdf * ~keep).sum())
    n = len(frame)
    for label, observed, expected in (("leads qualified at once (MQL, not nurtured)", int(direct.sum()),
                                       expected_direct),
                                      ("leads filtered out by marketing", int(filtered.sum()), expected_filtered)):
        p = expected / n
        z = (observed - expected) / math.sqrt(max(n * p * (1 - p), 1e-12))
        col.check(label, observed / n, p, "z", z, math.nan, float(2 * stats.norm.sf(abs(z))))


def _handoff_and_nurture(data: _Export, base: Scenario, col: _Collector) -> dict[str, Any]:
    from scipy import optimize, stats  # here, not at the top: scipy.stats is slow to import
    frame = data.frame
    out: dict[str, Any] = {}
    direct = frame["mql"].to_numpy() & ~frame["nurtured"].to_numpy()
    delay = (data.t["mql_at"] - data.t["created_at"])[direct]
    if len(delay):
        mean = float(delay.mean())
        col.add("marketing.handoff_minutes", mean, mean / math.sqrt(len(delay)), len(delay))
        out["marketing"] = {"handoff_minutes": _sig(mean)}
        if mean > 0 and len(delay) > 5:
            ks = stats.kstest(delay, "expon", args=(0, mean))
            col.check("hand-off delay exponential", mean, mean, "KS", ks.statistic, math.nan, ks.pvalue)
    else:
        col.add("marketing.handoff_minutes", base.marketing.handoff_minutes, note="no MQLs: kept the base value")

    nurture = base.nurture
    nurtured = frame["nurtured"].to_numpy() & (frame["status"].to_numpy() != "capped_out")
    n = int(nurtured.sum())
    if not nurture.enabled or n == 0:
        return out
    days = ((data.t["engaged_at"] - data.t["created_at"]) / MINUTES_PER_DAY)[nurtured]
    clicked = days > 0
    k = int(clicked.sum())
    T = nurture.max_days
    if k < 2:
        col.add("nurture.click_probability", k / n, _se_binomial(k / n, n), n, note="too few clicks")
        return out
    mean_days = float(days[clicked].mean())

    def excess(mu: float) -> float:  # truncated exponential mean minus the observed mean
        return mu - T / math.expm1(T / mu) - mean_days if T / mu < 700 else mu - mean_days

    if mean_days >= T / 2:
        mu = 100.0 * T
    else:
        mu = optimize.brentq(excess, 1e-6 * T, 1e4 * T)
    reach = -math.expm1(-T / mu)
    c = min(1.0, k / n / reach)

    def nll(x: np.ndarray) -> float:
        cc, mm = float(x[0]), float(x[1])
        if not (0 < cc < 1 and mm > 0):
            return 1e300
        f = -math.expm1(-T / mm)
        return -(k * math.log(cc) - k * math.log(mm) - float(days[clicked].sum()) / mm
                 + (n - k) * math.log(max(1e-300, 1 - cc * f)))

    se = _hessian_se(nll, np.array([c, mu]), [1e-9, 1e-9], [1 - 1e-9, np.inf])
    col.add("nurture.click_probability", c, se[0], n)
    col.add("nurture.mean_days_to_click", mu, se[1], k)
    out["nurture"] = {"click_probability": _sig(_clip01(c)), "mean_days_to_click": _sig(mu)}
    return out


def _response(data: _Export, base: Scenario, col: _Collector, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    from scipy import optimize, stats  # here, not at the top: scipy.stats is slow to import
    frame = data.frame
    attempts = frame["attempts"].to_numpy()
    tried = attempts > 0
    contacted = ~np.isnan(data.t["contacted_at"])
    junk = frame["persona"].to_numpy() == UNKNOWN_PERSONA
    out: dict[str, Any] = {}
    owners = pd.unique(frame["owner"].to_numpy()[frame["owner"].to_numpy() != ""])
    if len(owners):
        col.add("team.reps", len(owners), note="distinct owners")
        out["team"] = {"reps": int(len(owners))}
    if tried.sum() < 10 or contacted.sum() < 2:
        col.add("follow_up.answer_probability", base.follow_up.answer_probability, note="too few calls: kept base")
        return out
    kmax = int(attempts.max())
    # counts[g, k, c]: group (0 legit, 1 junk), attempts k, contacted c
    counts = np.zeros((2, kmax + 1, 2))
    np.add.at(counts, (junk[tried].astype(int), attempts[tried], contacted[tried].astype(int)), 1)
    ks = np.arange(kmax + 1)

    def nll_natural(x: np.ndarray) -> float:
        r = np.clip(np.asarray(x[:2], dtype=float), 1e-12, 1 - 1e-12)
        p = float(np.clip(x[2], 1e-12, 1 - 1e-12))
        total = 0.0
        for g in range(2):
            hit = np.log(r[g]) + (np.maximum(ks - 1, 0)) * math.log(1 - p) + math.log(p)
            miss = np.log((1 - r[g]) + r[g] * (1 - p) ** ks)
            total += float((counts[g, :, 1] * hit).sum() + (counts[g, :, 0] * miss).sum())
        return -total

    def nll_logit(z: np.ndarray) -> float:
        return nll_natural(1.0 / (1.0 + np.exp(-np.asarray(z))))

    start = np.zeros(3)
    res = optimize.minimize(nll_logit, start, method="BFGS")
    x = 1.0 / (1.0 + np.exp(-res.x))
    se = _hessian_se(nll_natural, x, [1e-9] * 3, [1 - 1e-9] * 3)
    n_legit, n_junk = int(counts[0].sum()), int(counts[1].sum())
    out["leads"] = {}
    for index, (name, n) in enumerate((("reachable_legitimate", n_legit), ("reachable_junk", n_junk))):
        if n:  # no calls to a group: its reachable share stays as in the base
            col.add(f"leads.{name}", x[index], se[index], n)
            out["leads"][name] = _sig(x[index])
    col.add("follow_up.answer_probability", x[2], se[2], int(attempts[tried].sum()))
    out["follow_up"] = {"answer_probability": _sig(x[2])}

    # contacted at attempt k: observed vs fitted (leads still being called at attempt k)
    rows = []
    chi2, cells = 0.0, 0
    for k in range(1, kmax + 1):
        observed = float(counts[:, k, 1].sum())
        expected = 0.0
        for g in range(2):
            # leads that reached attempt k: contacted at k or later, or gave up after k or later
            at_risk_contacted = counts[g, k:, 1].sum()
            at_risk_missed = counts[g, k:, 0].sum()
            r, p = x[g], x[2]
            # P(contacted at k | reached attempt k uncontacted) under the cure model
            reach_k = r * (1 - p) ** (k - 1)
            hazard = reach_k * p / ((1 - r) + reach_k)
            expected += (at_risk_contacted + at_risk_missed) * hazard
        rows.append({"attempt": k, "contacted_observed": observed, "contacted_fitted": expected})
        if expected > 5:
            chi2 += (observed - expected) ** 2 / expected
            cells += 1
    tables["attempts"] = pd.DataFrame(rows)
    if cells > 3:
        col.check("contacts by attempt number", float(counts[:, :, 1].sum()), float(sum(r["contacted_fitted"]
                  for r in rows)), "chi2", chi2, cells - 3, float(stats.chi2.sf(chi2, cells - 3)))
    offsets = len(base.follow_up.attempt_offsets)
    if kmax != offsets:
        col.check(f"most attempts on a lead (base cadence has {offsets})", kmax, offsets)
    return out


def _decay(curve: str, t: np.ndarray, half_life: float, published: np.ndarray | None) -> np.ndarray:
    if curve == "published":
        return published if published is not None else qualification_probability(
            SpeedToLead(curve="published", p_durable=0.0, p_perishable=1.0), t)
    if curve == "exponential":
        return np.exp(-math.log(2.0) * t / half_life)
    if curve == "linear":
        return np.maximum(0.0, 1.0 - t / (2.0 * half_life))
    return np.ones_like(t)


def _speed_to_lead(data: _Export, base: Scenario, col: _Collector, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    from scipy import optimize, stats  # here, not at the top: scipy.stats is slow to import
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
    curve = sp.curve
    published = _decay("published", t, 1.0, None) if curve == "published" else None
    with_half_life = curve in ("exponential", "linear")

    def nll(x: np.ndarray) -> float:
        a, b = float(x[0]), float(x[1])
        h = float(x[2]) if with_half_life else 1.0
        if h <= 0:
            return 1e300
        p = np.clip(a + b * _decay(curve, t, h, published), 1e-12, 1 - 1e-12)
        return -float((y * np.log(p) + (1 - y) * np.log1p(-p)).sum())

    rate = float(y.mean())
    if curve == "none":
        a, b = rate, 0.0
        x = np.array([a, b])
        se = np.array([_se_binomial(rate, n), math.nan])
    else:
        x0 = [max(0.01, rate * 0.8), min(0.5, 1 - rate * 0.8)] + ([sp.half_life_minutes] if with_half_life else [])
        bounds = [(0.0, 1.0), (0.0, 1.0)] + ([(0.01, 1e5)] if with_half_life else [])
        cons = [{"type": "ineq", "fun": lambda z: 1.0 - z[0] - z[1]}]
        best = None
        for start in (x0, [rate, 0.05] + x0[2:], [0.5 * rate, 0.9 - 0.5 * rate] + x0[2:]):
            res = optimize.minimize(nll, np.array(start, dtype=float), method="SLSQP", bounds=bounds,
                                    constraints=cons, options={"maxiter": 500, "ftol": 1e-12})
            if best is None or res.fun < best.fun:
                best = res
        x = np.clip(best.x, 0.0, None)
        if x[0] + x[1] > 1:
            x[1] = 1 - x[0]
        se = _hessian_se(nll, x, [0.0, 0.0] + ([0.01] if with_half_life else []),
                         [1.0, 1.0] + ([1e5] if with_half_life else []))
    col.add("speed_to_lead.p_durable", x[0], se[0], n)
    col.add("speed_to_lead.p_perishable", x[1], se[1], n)
    out: dict[str, Any] = {"p_durable": _sig(x[0]), "p_perishable": _sig(x[1])}
    if out["p_durable"] + out["p_perishable"] > 1:
        out["p_perishable"] = float(f"{1 - out['p_durable']:.6f}")
    if with_half_life:
        col.add("speed_to_lead.half_life_minutes", x[2], se[2], n)
        out["half_life_minutes"] = _sig(x[2])

    h = float(x[2]) if with_half_life else 1.0
    p_fit = x[0] + x[1] * _decay(curve, t, h, published)
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
        low, high = _wilson(k, m)
        rows.append({"from_minutes": edges[j], "to_minutes": edges[j + 1], "leads": m,
                     "median_minutes": float(np.median(t[mask])) if m else math.nan,
                     "observed": k / m if m else math.nan, "low": low, "high": high,
                     "fitted": expected / m if m else math.nan})
        if m and var > 0:
            chi2 += (k - expected) ** 2 / var
            cells += 1
    tables["decay"] = pd.DataFrame(rows)
    grid = np.concatenate([[0.0], np.geomspace(0.1, 20_000.0, 200)])
    tables["decay_curve"] = pd.DataFrame({"minutes": grid, "fitted": x[0] + x[1] * _decay(curve, grid, h, None)})
    params = len(x)
    if cells > params:
        col.check("SQL rate by speed-to-lead band", float(y.mean()), float(p_fit.mean()), "chi2", chi2,
                  cells - params, float(stats.chi2.sf(chi2, cells - params)))
    return {"speed_to_lead": out}


def _demos_and_deals(data: _Export, base: Scenario, col: _Collector) -> dict[str, Any]:
    from scipy import optimize, stats  # here, not at the top: scipy.stats is slow to import
    frame = data.frame
    demo: dict[str, Any] = {}
    opp_out: dict[str, Any] = {}
    appointments = frame["demo_appointments"].to_numpy()
    no_shows = frame["demo_no_shows"].to_numpy()
    held = frame["demo_held"].to_numpy()
    total = int(appointments.sum())
    if total:
        p = float(no_shows.sum() / total)
        col.add("demo.no_show_probability", p, _se_binomial(p, total), total)
        demo["no_show_probability"] = _sig(p)
        R = base.demo.reschedule_attempts
        booked = appointments >= 1
        eligible = int((appointments[booked] - 1).sum() + (~held[booked] & (appointments[booked] <= R)).sum())
        if R > 0 and eligible:
            s = float((appointments[booked] - 1).sum() / eligible)
            col.add("demo.reschedule_success", s, _se_binomial(s, eligible), eligible)
            demo["reschedule_success"] = _sig(s)
    n_held = int(held.sum())
    opportunity = frame["opportunity"].to_numpy()
    if n_held:
        rate = float(opportunity[held].mean())
        col.add("demo.opportunity_rate", rate, _se_binomial(rate, n_held), n_held)
        demo["opportunity_rate"] = _sig(rate)

    decided = opportunity & (frame["status"].to_numpy() != "open")  # deals still open are not lost yet
    k = frame["opportunities"].to_numpy()[decided]
    won = frame["won"].to_numpy()[decided]
    if len(k) >= 2:
        def nll(x: np.ndarray) -> float:
            w = float(np.clip(x[0], 1e-12, 1 - 1e-12))
            return -float(np.log(-np.expm1(k[won] * math.log1p(-w))).sum() + (k[~won] * math.log1p(-w)).sum())

        res = optimize.minimize_scalar(lambda w: nll(np.array([w])), bounds=(1e-9, 1 - 1e-9), method="bounded",
                                       options={"xatol": 1e-10})
        w = float(res.x)
        se = _hessian_se(nll, np.array([w]), [1e-9], [1 - 1e-9])[0]
        col.add("opportunities.win_rate", w, se, int(k.sum()))
        opp_out["win_rate"] = _sig(w)
        extra = k - 1
        S, below = float(extra.sum()), float((extra < MAX_EXTRA_OPPORTUNITIES).sum())
        q = S / (S + below) if S + below > 0 else 0.0
        se_q = math.sqrt(q * q * (1 - q) ** 2 / (S * (1 - q) ** 2 + below * q * q)) if 0 < q < 1 else math.nan
        col.add("opportunities.extra_opportunity_probability", q, se_q, len(k))
        opp_out["extra_opportunity_probability"] = _sig(min(q, 0.9))

    single = frame["opportunities"].to_numpy() == 1
    closed = ~np.isnan(data.t["closed_at"])
    cycle = ((data.t["closed_at"] - data.t["opportunity_at"]) / MINUTES_PER_DAY)[single & closed]
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

    deals = single & frame["won"].to_numpy()
    amount = frame["amount"].to_numpy()[deals]
    persona = frame["persona"].to_numpy()[deals]
    multipliers: dict[str, float] = {}
    if len(amount) >= 3 and (amount > 0).all():
        logs = np.log(amount)
        mu = float(logs.mean())
        residual = logs.copy()
        groups = {}
        for name in pd.unique(persona):
            mask = persona == name
            groups[str(name)] = (float(logs[mask].mean()), int(mask.sum()))
            residual[mask] = logs[mask] - logs[mask].mean()
        sigma = float(math.sqrt((residual ** 2).sum() / len(logs)))
        col.add("opportunities.deal_value_median", math.exp(mu), math.exp(mu) * sigma / math.sqrt(len(logs)),
                len(logs), note="geometric mean of all deals")
        col.add("opportunities.deal_value_sigma", sigma, sigma / math.sqrt(2 * len(logs)), len(logs))
        opp_out["deal_value_median"] = _sig(math.exp(mu))
        opp_out["deal_value_sigma"] = _sig(sigma)
        for name, (m, count) in groups.items():
            multipliers[name] = math.exp(m - mu)
            col.add(f"leads.personas[{name}].deal_value_multiplier", multipliers[name],
                    multipliers[name] * sigma * math.sqrt(max(0.0, 1 / count - 1 / len(logs))), count)
            col.add(f"leads.personas[{name}].median_deal_value", math.exp(m), math.exp(m) * sigma / math.sqrt(count),
                    count, note="deal_value_median × multiplier")
        if sigma > 0:
            ks = stats.kstest(residual / sigma, "norm")
            col.check("deal value lognormal (by persona)", math.exp(mu), math.exp(mu), "KS", ks.statistic, math.nan,
                      ks.pvalue)
    out: dict[str, Any] = {}
    if demo:
        out["demo"] = demo
    if opp_out:
        out["opportunities"] = opp_out
    out["_multipliers"] = multipliers
    return out


def _conversion(data: _Export) -> pd.DataFrame:
    frame = data.frame
    counts = []
    for stage, column in _STAGES:
        reached = frame["won"].to_numpy() if column is None else frame[column].notna().to_numpy()
        counts.append(int(reached.sum()))
    rows = []
    for index, ((stage, _), count) in enumerate(zip(_STAGES, counts)):
        previous = counts[index - 1] if index else count
        low, high = _wilson(count, previous)
        rows.append({"stage": stage, "count": count, "from_previous": count / previous if previous else math.nan,
                     "low": low, "high": high})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- entry points


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def calibrate(export: pd.DataFrame, base: Scenario | None = None, source: str = "export") -> Calibration:
    """Fit a scenario to an export read by :func:`funnelsim.crm.read_export`.

    Fields an export cannot show (policies, costs, the MQL rule) come from `base`, or
    from funnelsim's defaults when no base is given.
    """
    base = base if base is not None else Scenario()
    data = _Export.of(export)
    col = _Collector()
    tables: dict[str, pd.DataFrame] = {}
    try:
        fitted = _arrivals(data, base, col, tables)
    except InputError as exc:
        raise InputError(source, exc.field, exc.message) from None
    quality = _lead_quality(data, base, col)
    response = _response(data, base, col, tables)
    deals = _demos_and_deals(data, base, col)
    multipliers = deals.pop("_multipliers")
    for persona in quality.get("personas", []):
        if persona["name"] in multipliers:
            persona["deal_value_multiplier"] = _sig(multipliers[persona["name"]])
    leads_part = {k: quality[k] for k in ("personas", "junk", "concentration") if k in quality}
    leads_part.update(response.pop("leads", {}))
    fitted["leads"] = leads_part
    for part in (_handoff_and_nurture(data, base, col), response, _speed_to_lead(data, base, col, tables), deals):
        for key, value in part.items():
            fitted[key] = _merge(fitted.get(key, {}), value) if isinstance(value, dict) else value
    _mql_checks(data, base, quality, col)
    tables["conversion"] = _conversion(data)
    merged = _merge(base.model_dump(mode="json"), fitted)
    merged["name"] = "calibrated"
    first, last = export["created_at"].min(), export["created_at"].max()
    merged["description"] = (f"Calibrated from {Path(source).name}: {len(export):,} leads created "
                             f"{first:%Y-%m-%d} to {last:%Y-%m-%d}.")
    scenario = scenario_from_dict(merged, f"{source} (calibrated)")
    order = ["months", "sources", "arrivals", "leads", "marketing", "nurture", "team", "follow_up", "speed_to_lead",
             "demo", "opportunities"]
    fitted = {key: fitted[key] for key in order if key in fitted}
    return Calibration(scenario, fitted, pd.DataFrame(col.estimates), pd.DataFrame(col.checks), tables, source,
                       len(export), first, last)


def calibrate_file(export_path: str | Path, base_path: str | Path | None = None) -> Calibration:
    """Read and check an export, then calibrate it (against the scenario file `base_path`, if given)."""
    base = load_scenario(base_path) if base_path is not None else None
    return calibrate(read_export(export_path), base, str(export_path))


def calibrated_yaml(calibration: Calibration, path: str | Path, base_path: str | Path | None = None) -> str:
    """The calibrated scenario as YAML: ``extends`` the base and sets the fitted fields, or complete."""
    path = Path(path)
    header = [f"# {calibration.scenario.description}",
              "# Written by `funnelsim calibrate`; fitted fields only, policies come from the base."
              if base_path is not None else
              "# Written by `funnelsim calibrate`; fields an export cannot show are funnelsim's defaults.",
              "# Fit quality:"]
    header += ["#   " + line.rstrip() for line in calibration.text().splitlines()[2:] if line.strip()]
    if base_path is not None:
        body: dict[str, Any] = {"extends": _extends_path(Path(base_path), path), "name": path.stem,
                                "description": calibration.scenario.description, **calibration.fitted}
    else:
        body = calibration.scenario.model_dump(mode="json")
        body["name"] = path.stem
    text = yaml.safe_dump(body, sort_keys=False, default_flow_style=None, allow_unicode=True, width=110)
    return "\n".join(header) + "\n" + text


def _extends_path(base: Path, out: Path) -> str:
    """The base as seen from the output's folder: relative within one tree, else absolute."""
    base, folder = base.resolve(), out.resolve().parent
    if os.path.commonpath([base, folder]) == base.anchor:
        return base.as_posix()
    return Path(os.path.relpath(base, folder)).as_posix()


def write_calibrated(calibration: Calibration, path: str | Path, base_path: str | Path | None = None) -> Path:
    """Write the calibrated scenario atomically, after checking that it loads back as the same scenario."""
    text = calibrated_yaml(calibration, path, base_path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        loaded = load_scenario(tmp)
        if loaded.hash != calibration.scenario.hash:  # pragma: no cover - a bug, not a user error
            raise AssertionError("the calibrated scenario does not load back as fitted")
    return Path(path)


def compare_funnel(calibration: Calibration, seeds: Sequence[int] = (0,)) -> pd.DataFrame:
    """Simulate the calibrated scenario and set its funnel beside the export's.

    ``z`` is the difference of the stage conversion (from the previous stage) in units of
    its binomial standard error (export and simulation are independent samples).
    """
    from .metrics import funnel_table
    from .simulation import simulate

    observed = calibration.tables["conversion"]
    sims = [funnel_table(simulate(calibration.scenario, seed, record_events=False)) for seed in seeds]
    counts = np.mean([s["count"].to_numpy(dtype=float) for s in sims], axis=0)
    table = observed[["stage", "count", "from_previous"]].rename(columns={"count": "observed",
                                                                          "from_previous": "observed_rate"})
    table["simulated"] = counts
    previous = np.concatenate([[counts[0]], counts[:-1]])
    table["simulated_rate"] = np.divide(counts, previous, out=np.full(len(counts), np.nan), where=previous > 0)
    obs_prev = np.concatenate([[observed["count"].iloc[0]], observed["count"].to_numpy()[:-1]]).astype(float)
    p1, p2 = table["observed_rate"].to_numpy(float), table["simulated_rate"].to_numpy(float)
    n2 = previous * len(seeds)
    var = p1 * (1 - p1) / np.maximum(obs_prev, 1) + p2 * (1 - p2) / np.maximum(n2, 1)
    table["z"] = np.divide(p2 - p1, np.sqrt(var), out=np.full(len(var), np.nan), where=var > 0)
    return table
