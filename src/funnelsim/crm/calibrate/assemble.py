"""Calibration: fit a scenario's inputs to a CRM export, with standard errors and fit checks.

``calibrate(export, base)`` runs the fits on an export read by
:func:`funnelsim.crm.read.read_export`, one module each, in this order:

* :mod:`.arrivals` — a Poisson model with hour-of-day × day-of-week rates (maximum
  likelihood by iterative proportional fitting over the hours the export covers);
* :mod:`.sources` — each source's volume and legitimate share (persona known);
* :mod:`.quality` — persona shares, each persona's (and junk's) mean fit and interest from
  the CRM features (inverting the link of :mod:`funnelsim.crm.features`), their Beta
  concentration (method of moments, feature noise removed), and each MQL's latent fit and
  interest for regression calibration;
* :mod:`.response` — a cure model per lead: reachable shares of legitimate and junk leads,
  and the answer probability per attempt moved by the lead's interest
  (``answer_per_interest``) and halving every ``answer_half_life_days`` since it engaged;
* :mod:`.qualification` — P(SQL | reached t after engaging) = expit(logit(p_durable·0.5^(days /
  durable_half_life_days) + p_perishable·m(t)) + sql_per_fit·Δfit + sql_per_interest·Δinterest),
  jointly by maximum likelihood with the base's curve shape m;
* :mod:`.demos` — no-show probability, rebooking success per reach-out, demo → opportunity;
* :mod:`.deals` — win rate and ``win_per_fit`` (several opportunities per account), extra
  opportunities, lognormal sales cycle, and deal value with persona multipliers and
  ``deal_value_per_fit``;
* :mod:`.nurture` — marketing hand-off (exponential mean); the click probability of
  legitimate and of junk leads and the days to click (a truncated exponential), and
  marketing's review of the nurture list (click → MQL is exponential review + exponential
  hand-off), by maximum likelihood.

This module then builds the calibrated scenario (:class:`Calibration`), prints its fit
table (:meth:`Calibration.text`) and writes it (:func:`write_calibrated`). What the fits
share — the export as minutes, the collector of estimates and checks, standard errors —
is in :mod:`.fitting`.

Fit and interest are latent and the export's features measure them with noise, which
would bias the quality slopes towards 0; they enter the fits by regression calibration
(:class:`.quality._Latent`), and the slopes fitted on the raw features are shown as a check.
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ...atomic import atomic_path
from ...errors import InputError
from ...scenario import Scenario, load_scenario, merge_mappings, scenario_from_dict
from ...stats import wilson_interval
from ..read import read_export
from .arrivals import _arrivals
from .deals import _deals
from .demos import _demos
from .fitting import _Collector, _Export, _owner_skill, _sig
from .nurture import _handoff_and_nurture
from .qualification import _speed_to_lead
from .quality import _latent_quality, _lead_quality, _mql_checks
from .response import _response
from .sources import _sources

__all__ = [
    "Calibration",
    "calibrate",
    "calibrate_file",
    "write_calibrated",
    "calibrated_yaml",
    "compare_funnel",
]


_STAGES = (("lead", "created_at"), ("mql", "mql_at"), ("contacted", "contacted_at"), ("sql", "sql_at"),
           ("demo_held", "demo_held_at"), ("opportunity", "opportunity_at"), ("won", None))


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
        arrivals, exposure = _arrivals(data, col, tables)
    except InputError as exc:
        raise InputError(source, exc.field, exc.message) from None
    fitted: dict[str, Any] = {"months": arrivals["months"], "sources": _sources(data, base, col, exposure),
                              "arrivals": arrivals["arrivals"]}
    quality = _lead_quality(data, base, col)
    latent = _latent_quality(data, base, quality)
    skill = _owner_skill(export, base)
    response = _response(data, base, col, tables, latent)
    sql = _speed_to_lead(data, base, col, tables, latent, skill)
    demos = _demos(data, base, col)
    deals, multipliers = _deals(data, base, col, latent, skill)
    nurture = _handoff_and_nurture(data, base, col)
    _mql_checks(data, base, quality, col)

    for persona in quality.get("personas", []):
        if persona["name"] in multipliers:
            persona["deal_value_multiplier"] = _sig(multipliers[persona["name"]])
    leads_part: dict[str, Any] = {k: quality[k] for k in ("personas", "junk", "concentration") if k in quality}
    for part in (response, sql, deals):
        leads_part = merge_mappings(leads_part, part.pop("leads", {}))
    fitted["leads"] = leads_part
    for part in (nurture, response, sql, demos, deals):
        for key, value in part.items():
            fitted[key] = merge_mappings(fitted.get(key, {}), value) if isinstance(value, dict) else value
    tables["conversion"] = _conversion(data)
    tables["decay_rates"] = pd.DataFrame(col.rates, columns=["parameter", "rate_per_day", "se"])
    merged = merge_mappings(base.model_dump(mode="json"), fitted)
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
