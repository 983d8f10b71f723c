"""KPIs of one replication: the funnel, speed-to-lead, SLA compliance, load, leaks, money.

Every KPI is a float under a stable snake_case name, so replications stack into a tidy
table (one row per replication × KPI) and A/B comparisons can pair them by name.
Speed-to-lead is in minutes, money in the scenario's currency.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .calendar import BusinessCalendar
from .units import MINUTES_PER_DAY
from .vocabulary import FUNNEL_STAGES, LEAK_REASONS

if TYPE_CHECKING:
    from .model import SimulationResult

__all__ = ["kpis", "funnel_table", "leak_table", "sla_minutes", "kpi_label", "KPI_INFO", "FUNNEL_STAGES"]

#: name -> (label, unit, direction: +1 higher is better, -1 lower is better, 0 neutral)
KPI_INFO: dict[str, tuple[str, str, int]] = {
    "leads": ("Leads", "count", 0),
    "legitimate_leads": ("Legitimate leads", "count", 0),
    "mqls": ("MQLs handed to sales", "count", 0),
    "contacted": ("Leads contacted", "count", +1),
    "sqls": ("Sales-qualified leads", "count", +1),
    "demos_held": ("Demos held", "count", +1),
    "opportunities": ("Opportunities", "count", +1),
    "won_deals": ("Won deals", "count", +1),
    "lead_to_won": ("Lead → won", "ratio", +1),
    "mql_to_contacted": ("MQL → contacted", "ratio", +1),
    "contacted_to_sql": ("Contacted → SQL", "ratio", +1),
    "sql_to_demo_held": ("SQL → demo held", "ratio", +1),
    "demo_held_to_opportunity": ("Demo held → opportunity", "ratio", +1),
    "opportunity_to_won": ("Opportunity → won", "ratio", +1),
    "speed_to_lead_mean": ("Speed-to-lead, mean", "minutes", -1),
    "speed_to_lead_median": ("Speed-to-lead, median", "minutes", -1),
    "speed_to_lead_p90": ("Speed-to-lead, 90th percentile", "minutes", -1),
    "share_within_sla": ("First touches within SLA", "ratio", +1),
    "sla_compliance": ("MQLs touched within SLA", "ratio", +1),
    "assignment_sla_compliance": ("MQLs assigned within SLA", "ratio", +1),
    "first_week_attempt_compliance": ("Leads called enough in week one", "ratio", +1),
    "mqls_per_month": ("MQLs per month", "count", 0),
    "attempts_per_lead": ("Call attempts per MQL", "count", 0),
    "rep_utilisation": ("Rep utilisation", "ratio", 0),
    "backlog_mean": ("Leads open in sales, time average", "count", -1),
    "backlog_max": ("Leads open in sales, daily maximum", "count", -1),
    "revenue": ("Revenue", "money", +1),
    "revenue_per_month": ("Revenue per month", "money", +1),
    "won_deals_per_month": ("Won deals per month", "count", +1),
    "lead_cost": ("Lead cost", "money", -1),
    "rep_cost": ("Rep cost", "money", -1),
    "total_cost": ("Total cost", "money", -1),
    "cost_per_lead": ("Cost per lead", "money", -1),
    "cost_per_acquisition": ("Cost per acquisition", "money", -1),
}


def _share(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else math.nan


def _reached(leads: pd.DataFrame, column: str) -> pd.Series:
    return leads[column].notna()


def funnel_table(result: "SimulationResult") -> pd.DataFrame:
    """Stage counts and conversion from the stage before and from the top."""
    leads = result.leads
    counts = [int(_reached(leads, col).sum()) for _, col in FUNNEL_STAGES]
    rows = []
    for index, ((stage, _), count) in enumerate(zip(FUNNEL_STAGES, counts)):
        previous = counts[index - 1] if index else count
        rows.append({
            "stage": stage,
            "count": count,
            "from_previous": _share(count, previous),
            "from_leads": _share(count, counts[0]),
        })
    return pd.DataFrame(rows)


def leak_table(result: "SimulationResult") -> pd.DataFrame:
    """Where leads ended, by outcome, with counts and shares (every lead is in exactly one row)."""
    counts = result.leads["outcome"].value_counts(sort=False)
    table = counts.rename_axis("outcome").reset_index(name="count")
    table["share"] = table["count"] / max(1, len(result.leads))
    return table


def sla_minutes(result: "SimulationResult", start: pd.Series, end: pd.Series) -> np.ndarray:
    """Minutes between two times on the scenario's SLA clock (business hours or calendar)."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    if result.scenario.sla.clock == "calendar":
        return end - start
    return BusinessCalendar(result.scenario.team).duty_between(start, end)


def kpis(result: "SimulationResult") -> dict[str, float]:
    """Every KPI of one replication, as a flat dict of floats."""
    sc = result.scenario
    leads = result.leads
    months = sc.months
    out: dict[str, float] = {}
    funnel = funnel_table(result).set_index("stage")["count"]
    out["leads"] = float(funnel["lead"])
    out["legitimate_leads"] = float(leads["legitimate"].sum())
    out["mqls"] = float(funnel["mql"])
    out["contacted"] = float(funnel["contacted"])
    out["sqls"] = float(funnel["sql"])
    out["demos_held"] = float(funnel["demo_held"])
    out["opportunities"] = float(funnel["opportunity"])
    out["won_deals"] = float(funnel["won"])
    out["lead_to_won"] = _share(funnel["won"], funnel["lead"])
    out["mql_to_contacted"] = _share(funnel["contacted"], funnel["mql"])
    out["contacted_to_sql"] = _share(funnel["sql"], funnel["contacted"])
    out["sql_to_demo_held"] = _share(funnel["demo_held"], funnel["sql"])
    out["demo_held_to_opportunity"] = _share(funnel["opportunity"], funnel["demo_held"])
    out["opportunity_to_won"] = _share(funnel["won"], funnel["opportunity"])

    mql = leads[leads["mql_at"].notna()]
    touched = mql["speed_to_lead"].dropna().to_numpy()
    sla = sc.sla.first_touch_minutes
    if len(touched):
        out["speed_to_lead_mean"] = float(touched.mean())
        out["speed_to_lead_median"] = float(np.median(touched))
        out["speed_to_lead_p90"] = float(np.quantile(touched, 0.9))
    else:
        out["speed_to_lead_mean"] = out["speed_to_lead_median"] = out["speed_to_lead_p90"] = math.nan
    # the SLA clock starts when sales receives the lead (hand-off), speed-to-lead when the lead engaged;
    # it runs in business hours unless the scenario says calendar time
    waited = sla_minutes(result, mql["mql_at"], mql["first_touch_at"])
    waited = waited[~np.isnan(waited)]
    within = int((waited <= sla + 1e-9).sum())
    out["share_within_sla"] = _share(within, len(waited))
    out["sla_compliance"] = _share(within, len(mql))
    to_assign = sla_minutes(result, mql["mql_at"], mql["assigned_at"])
    assigned_in = (to_assign <= sc.sla.assign_within_minutes + 1e-9).sum()
    out["assignment_sla_compliance"] = _share(assigned_in, len(mql))
    contacted_week1 = (mql["contacted_at"] - mql["mql_at"]) <= 7 * MINUTES_PER_DAY
    enough = contacted_week1 | (mql["attempts_week1"] >= sc.sla.min_attempts_first_week)
    out["first_week_attempt_compliance"] = _share(enough.sum(), len(mql))
    out["mqls_per_month"] = out["mqls"] / months
    out["attempts_per_lead"] = float(mql["attempts"].mean()) if len(mql) else math.nan

    reps = result.reps
    out["rep_utilisation"] = _share(reps["busy_minutes"].sum(), reps["duty_minutes"].sum())
    out["backlog_mean"] = float(result.stats["mean_leads_in_sales"])
    out["backlog_max"] = float(result.backlog["open_leads"].max()) if len(result.backlog) else 0.0

    out["revenue"] = float(leads["revenue"].sum())
    out["revenue_per_month"] = out["revenue"] / months
    out["won_deals_per_month"] = out["won_deals"] / months
    out["lead_cost"] = float(leads["cost"].sum())
    out["rep_cost"] = sc.team.reps * sc.team.cost_per_rep_month * months
    out["total_cost"] = out["lead_cost"] + out["rep_cost"]
    out["cost_per_lead"] = _share(out["lead_cost"], out["leads"])
    out["cost_per_acquisition"] = _share(out["total_cost"], out["won_deals"])

    counts = leads["outcome"].value_counts()
    for reason in (*LEAK_REASONS, "open"):
        out[f"leak_{reason}"] = float(counts.get(reason, 0))
    return out


def kpi_label(name: str) -> str:
    if name in KPI_INFO:
        return KPI_INFO[name][0]
    if name.startswith("leak_"):
        return "Leaked: " + name[5:].replace("_", " ")
    return name.replace("_", " ")
