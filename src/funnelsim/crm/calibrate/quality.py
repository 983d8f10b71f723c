"""Calibration: fit a scenario's inputs to a CRM export, with standard errors and fit checks.

``calibrate(export, base)`` estimates, from an export read by :func:`funnelsim.crm.read.read_export`:

* arrivals — a Poisson model with hour-of-day × day-of-week rates (maximum likelihood by
  iterative proportional fitting over the hours the export covers) and each source's volume;
* lead quality — each source's legitimate share (persona known), persona shares, each
  persona's (and junk's) mean fit and interest from the CRM features (inverting the link of
  :mod:`funnelsim.crm.features`), their Beta concentration (method of moments, feature noise removed);
* marketing hand-off (exponential mean); nurture — the click probability of legitimate and
  of junk leads and the days to click (a truncated exponential), and marketing's review of
  the nurture list (click → MQL is exponential review + exponential hand-off), by maximum
  likelihood;
* response — a cure model per lead: reachable shares of legitimate and junk leads, and the
  answer probability per attempt moved by the lead's interest (``answer_per_interest``) and
  halving every ``answer_half_life_days`` since it engaged;
* qualification — P(SQL | reached t after engaging) = expit(logit(p_durable·0.5^(days /
  durable_half_life_days) + p_perishable·m(t)) + sql_per_fit·Δfit + sql_per_interest·Δinterest),
  jointly by maximum likelihood with the base's curve shape m;
* demos — no-show probability, rebooking success per reach-out, demo → opportunity; deals —
  win rate and ``win_per_fit`` (several opportunities per account), extra opportunities,
  lognormal sales cycle, and deal value with persona multipliers and ``deal_value_per_fit``.

Fit and interest are latent and the export's features measure them with noise, which
would bias the quality slopes towards 0; they enter the fits by regression calibration
(:class:`_Latent`), and the slopes fitted on the raw features are shown as a check.
Half-lives are fitted as decay rates (0 = no cooling).

Policies — team hours, cadence, SLA, routing, caps, the MQL rule, costs — and the
mechanisms an export cannot show (rep tiers, skill and speed spreads, attention, reclaiming,
the interest a click adds) come from a base scenario (or funnelsim's defaults); the report
lists them. The number of reps is the number of distinct owners. Every estimate carries a
standard error (Fisher information or the delta method) and every model part a
goodness-of-fit check.
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

from ...atomic import atomic_path
from ...calendar import BusinessCalendar
from ..features import COMPANY_SIZE_NOISE, fit_from_company_size, interest_from_engagement
from ..read import minutes_since, read_export
from ..schema import UNKNOWN_PERSONA
from ...errors import InputError
from ...model import MAX_EXTRA_OPPORTUNITIES, qualification_probability
from ...stats import wilson_interval
from ...scenario import (
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
    # arrivals_by_hour, arrivals_by_weekday, decay, decay_curve, attempts, conversion, and decay_rates: each
    # half-life as fitted, a rate per day (ln 2 / half-life) with its standard error
    tables: dict[str, pd.DataFrame]
    source: str
    leads: int
    first: pd.Timestamp
    last: pd.Timestamp
    from_base: dict[str, str] = field(default_factory=dict)  # field -> why an export cannot show it

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
        if self.from_base:
            lines += ["", "  taken from the base scenario (an export cannot identify them)"]
            fw = max(len(k) for k in self.from_base)
            lines += [f"  {key:<{fw}}  {why}" for key, why in self.from_base.items()]
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
                       "sql_at", "demo_held_at", "opportunity_at", "resolved_at"):
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


#: grids (bin midpoints) over which a lead's fit and interest are integrated
_FIT_GRID = (np.arange(200) + 0.5) / 200
_INTEREST_GRID = (np.arange(100) + 0.5) / 100


@dataclass
class _Latent:
    """Each legitimate MQL's fit and interest as the model uses them, given what the export shows.

    Fit and interest are latent; the export's features measure them with known noise
    (:mod:`funnelsim.crm.features`). Plugging the noisy inverses into a regression attenuates its
    slopes (for interest the noise variance is about as large as the spread between
    leads), so the fits below use *regression calibration*: each lead's posterior mean
    E[x | features, persona, how it became an MQL] under the fitted Beta prior of its
    persona, the feature noise, and the base's MQL rule (a direct MQL scored at least
    the threshold; a clicked one scored below it before and at least it after the
    campaign click raised its interest by ``interest_boost``). The posterior
    (co)variances go into the logistic fits through the probit approximation
    E[expit(a + s)] ≈ expit((a + E s) / √(1 + π·Var s / 8)). NaN where not computed
    (junk, leads never handed to sales).
    """

    fit: np.ndarray
    interest: np.ndarray  # interest the model uses: after a campaign click, raised by interest_boost
    var_fit: np.ndarray
    var_interest: np.ndarray
    cov: np.ndarray
    naive_fit: np.ndarray  # the plain inverted features (attenuated when used as regressors)
    naive_interest: np.ndarray
    ref_fit: float  # the calibrated scenario's average legitimate lead (the slopes' centre)
    ref_interest: float
    conditioned: bool  # the MQL rule was used (not with a trained score model)


def _latent_quality(data: _Export, base: Scenario, quality: dict[str, Any]) -> _Latent:
    from scipy import stats  # here, not at the top: scipy.stats is slow to import
    frame = data.frame
    n = len(frame)
    persona = frame["persona"].to_numpy()
    w_fit = fit_from_company_size(frame["company_size"].to_numpy())
    count = (frame["pages_viewed"].to_numpy().astype(float) - 1.0 + frame["email_clicks"].to_numpy())
    w_interest = interest_from_engagement(frame["pages_viewed"].to_numpy(), frame["email_clicks"].to_numpy())
    nurtured = frame["nurtured"].to_numpy()
    clicked = nurtured & (data.t["engaged_at"] > data.t["created_at"])
    boost = base.nurture.interest_boost
    naive_interest = np.where(clicked, np.minimum(1.0, w_interest + boost), w_interest)
    personas = quality.get("personas") or [p.model_dump() for p in base.leads.personas]
    conc = float(quality.get("concentration", base.leads.concentration))
    shares = np.array([p["share"] for p in personas], dtype=float)
    ref_fit = float((shares * [p["fit"] for p in personas]).sum() / shares.sum())
    ref_interest = float((shares * [p["interest"] for p in personas]).sum() / shares.sum())
    out = {name: np.full(n, math.nan) for name in ("fit", "interest", "var_fit", "var_interest", "cov")}
    mk = base.marketing
    conditioned = mk.score_model is None
    fg, ig = _FIT_GRID, _INTEREST_GRID
    noise_sd = COMPANY_SIZE_NOISE / 3.5
    per_interest = 30.0  # pages − 1 + clicks is Poisson(30 · interest)
    mql = frame["mql"].to_numpy()
    direct = mql & ~nurtured
    w = mk.score_fit_weight

    def qualifies(f: np.ndarray, i: np.ndarray) -> np.ndarray:
        return (f >= mk.min_fit) & (100.0 * (w * f + (1 - w) * i) >= mk.mql_threshold - 1e-9)

    F, I = np.meshgrid(fg, ig, indexing="ij")
    boosted = np.minimum(1.0, ig + boost)
    regions = {  # which (fit, interest) cells a lead can come from, and the interest the model then uses
        "direct": (qualifies(F, I) if conditioned else np.ones_like(F, dtype=bool), ig),
        "clicked": ((F >= mk.min_fit) & ~qualifies(F, I) & qualifies(F, np.minimum(1.0, I + boost))
                    if conditioned else np.ones_like(F, dtype=bool), boosted),
        "other": (np.ones_like(F, dtype=bool), ig),
    }
    for p in personas:
        mask = (persona == p["name"]) & mql
        if not mask.any():
            continue
        a_f, b_f = _clip01(p["fit"], 1e-3, 1 - 1e-3) * conc, (1 - _clip01(p["fit"], 1e-3, 1 - 1e-3)) * conc
        a_i, b_i = (_clip01(p["interest"], 1e-3, 1 - 1e-3) * conc, (1 - _clip01(p["interest"], 1e-3, 1 - 1e-3)) * conc)
        log_pf = stats.beta.logpdf(fg, a_f, b_f)[None, :] - 0.5 * ((w_fit[mask, None] - fg[None, :]) / noise_sd) ** 2
        log_pi = (stats.beta.logpdf(ig, a_i, b_i)[None, :] + count[mask, None] * np.log(per_interest * ig)[None, :]
                  - per_interest * ig[None, :])
        pf = np.exp(log_pf - log_pf.max(axis=1, keepdims=True))
        pi = np.exp(log_pi - log_pi.max(axis=1, keepdims=True))
        kind = np.where(direct[mask], 0, np.where(clicked[mask], 1, 2))
        rows = np.flatnonzero(mask)
        for code, name in enumerate(("direct", "clicked", "other")):
            sub = kind == code
            if not sub.any():
                continue
            region, used = regions[name]
            R = region.astype(float)
            f_, i_ = pf[sub], pi[sub]
            a0 = i_ @ R.T  # (leads, fit cells): interest mass allowed at each fit
            a1 = (i_ * used) @ R.T
            a2 = (i_ * used * used) @ R.T
            mass = (f_ * a0).sum(1)
            empty = mass <= 0  # features at odds with the rule (rounding): drop the condition
            if empty.any():
                a0[empty] = i_[empty].sum(1, keepdims=True)
                a1[empty] = (i_[empty] * used).sum(1, keepdims=True)
                a2[empty] = (i_[empty] * used * used).sum(1, keepdims=True)
                mass = (f_ * a0).sum(1)
            ef = (f_ * fg * a0).sum(1) / mass
            ef2 = (f_ * fg * fg * a0).sum(1) / mass
            ei = (f_ * a1).sum(1) / mass
            ei2 = (f_ * a2).sum(1) / mass
            efi = (f_ * fg * a1).sum(1) / mass
            where = rows[sub]
            out["fit"][where] = ef
            out["interest"][where] = ei
            out["var_fit"][where] = np.maximum(ef2 - ef * ef, 0.0)
            out["var_interest"][where] = np.maximum(ei2 - ei * ei, 0.0)
            out["cov"][where] = efi - ef * ei
    return _Latent(out["fit"], out["interest"], out["var_fit"], out["var_interest"], out["cov"], w_fit,
                   naive_interest, ref_fit, ref_interest, conditioned)

def _handoff_and_nurture(data: _Export, base: Scenario, col: _Collector) -> dict[str, Any]:
    from scipy import optimize, stats  # here, not at the top: scipy.stats is slow to import
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
    from scipy import optimize, stats  # here, not at the top: scipy.stats is slow to import
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

def _decay(curve: str, t: np.ndarray, half_life: float, published: np.ndarray | None) -> np.ndarray:
    if curve == "published":
        return published if published is not None else qualification_probability(
            SpeedToLead(curve="published", p_durable=0.0, p_perishable=1.0, durable_half_life_days=None), t)
    if curve == "exponential":
        return np.exp(-math.log(2.0) * t / half_life)
    if curve == "linear":
        return np.maximum(0.0, 1.0 - t / (2.0 * half_life))
    return np.ones_like(t)


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

def _reschedule(appointments: np.ndarray, held: np.ndarray, reach_outs: int, col: _Collector) -> float | None:
    """Rebooking after no-shows: each reach-out books a new demo with s, at most R over a lead's life.

    The export shows appointments A and whether a demo was held, not the reach-outs: a
    lead whose last appointment was missed had exactly A − 1 successes in its R reach-outs
    (Binomial(R, s) = A − 1); a lead held after A − 1 no-shows had at least A − 1.
    """
    from scipy import optimize, stats
    R = reach_outs
    booked = appointments >= 1
    a, h = appointments[booked], held[booked]
    final_no_show = ~h
    won_back = h & (a >= 2)
    if R <= 0 or not (final_no_show.any() or won_back.any()):
        return None
    successes_missed = a[final_no_show] - 1
    successes_held = a[won_back] - 1

    def nll(x: np.ndarray) -> float:
        s = float(np.clip(x[0], 1e-12, 1 - 1e-12))
        return -float(stats.binom.logpmf(successes_missed, R, s).sum()
                      + stats.binom.logsf(successes_held - 1, R, s).sum())

    res = optimize.minimize_scalar(lambda s: nll(np.array([s])), bounds=(1e-9, 1 - 1e-9), method="bounded",
                                   options={"xatol": 1e-10})
    s = float(res.x)
    se = _hessian_se(nll, np.array([s]), [1e-9], [1 - 1e-9])[0]
    n = int(final_no_show.sum() + won_back.sum())
    col.add("demo.reschedule_success", s, se, n, note=f"per reach-out, {R} over a lead's life (base)")
    return _sig(s)


def _demos_and_deals(data: _Export, base: Scenario, col: _Collector, latent: _Latent,
                     skill: np.ndarray) -> dict[str, Any]:
    from scipy import optimize, stats  # here, not at the top: scipy.stats is slow to import
    frame = data.frame
    demo: dict[str, Any] = {}
    opp_out: dict[str, Any] = {}
    quality: dict[str, Any] = {}
    appointments = frame["demo_appointments"].to_numpy()
    no_shows = frame["demo_no_shows"].to_numpy()
    held = frame["demo_held"].to_numpy()
    total = int(appointments.sum())
    if total:
        p = float(no_shows.sum() / total)
        col.add("demo.no_show_probability", p, _se_binomial(p, total), total)
        demo["no_show_probability"] = _sig(p)
        s = _reschedule(appointments, held, base.demo.reschedule_attempts, col)
        if s is not None:
            demo["reschedule_success"] = s
    n_held = int(held.sum())
    opportunity = frame["opportunity"].to_numpy()
    if n_held:
        rate = float(opportunity[held].mean())
        col.add("demo.opportunity_rate", rate, _se_binomial(rate, n_held), n_held)
        demo["opportunity_rate"] = _sig(rate)

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
    if demo:
        out["demo"] = demo
    if opp_out:
        out["opportunities"] = opp_out
    if quality:
        out["leads"] = {"quality": quality}
    out["_multipliers"] = multipliers
    return out


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


def _from_base(base: Scenario, fitted: dict[str, Any]) -> dict[str, str]:
    """The mechanisms' parameters an export cannot identify, kept from the base, and why."""
    team, routing, nurture = base.team, base.routing, base.nurture
    out = {
        "team.tiers": "routing weights, skill and speed per tier: the export does not say which owner is in which tier"
                      + (f" ({', '.join(t.name for t in team.tiers)})" if team.tiers else ""),
        "team.skill_spread": f"{team.skill_spread:g}: a rep's skill is confounded with its leads' luck and routing",
        "team.speed_spread": f"{team.speed_spread:g}: call durations are not exported",
        "team.max_calls_per_day": f"{team.max_calls_per_day}: attempts are exported as counts, not per day",
        "routing.reclaim_untouched_days": f"{routing.reclaim_untouched_days}: reassignments are not exported "
                                          "(only the last owner)",
        "nurture.interest_boost": f"{nurture.interest_boost:g}: engagement is exported as before the click",
    }
    if "review_days" not in fitted.get("nurture", {}):
        out["nurture.review_days"] = (f"{nurture.review_days:g}: "
                                      + ("hot-lead alerts skip the review" if nurture.hot_lead_alerts
                                         else "too few campaign clicks handed to sales"))
    if "reschedule_success" not in fitted.get("demo", {}):
        out["demo.reschedule_success"] = (f"{base.demo.reschedule_success:g}: no reach-outs to no-shows "
                                          f"(demo.reschedule_attempts = {base.demo.reschedule_attempts})")
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
        low, high = wilson_interval(count, previous)[1:] if 0 <= count <= previous else (math.nan, math.nan)
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
    """Fit a scenario to an export read by :func:`funnelsim.crm.read.read_export`.

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
    latent = _latent_quality(data, base, quality)
    skill = _owner_skill(export, base)
    response = _response(data, base, col, tables, latent)
    sql = _speed_to_lead(data, base, col, tables, latent, skill)
    deals = _demos_and_deals(data, base, col, latent, skill)
    multipliers = deals.pop("_multipliers")
    for persona in quality.get("personas", []):
        if persona["name"] in multipliers:
            persona["deal_value_multiplier"] = _sig(multipliers[persona["name"]])
    leads_part: dict[str, Any] = {k: quality[k] for k in ("personas", "junk", "concentration") if k in quality}
    for part in (response, sql, deals):
        leads_part = _merge(leads_part, part.pop("leads", {}))
    fitted["leads"] = leads_part
    for part in (_handoff_and_nurture(data, base, col), response, sql, deals):
        for key, value in part.items():
            fitted[key] = _merge(fitted.get(key, {}), value) if isinstance(value, dict) else value
    _mql_checks(data, base, quality, col)
    tables["conversion"] = _conversion(data)
    tables["decay_rates"] = pd.DataFrame(col.rates, columns=["parameter", "rate_per_day", "se"])
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
                       len(export), first, last, _from_base(base, fitted))


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
    from ...metrics import funnel_table
    from ...simulation import simulate

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
