"""KPIs of one replication: the funnel, speed-to-lead, SLA compliance, load, leaks, money.

Every KPI is a float under a stable snake_case name, so replications stack into a tidy
table (one row per replication × KPI) and A/B comparisons can pair them by name.
Speed-to-lead is in minutes, money in the scenario's currency.

Two rules keep a KPI from telling the opposite story:

* **Speed-to-lead is measured over every MQL.** A lead never touched has waited forever:
  its speed-to-lead is ``+inf``, so the median and the 90th percentile are the empirical
  quantiles of all MQLs (:func:`speed_quantile`: the smallest t such that at least that
  share of MQLs was touched within t; no interpolation) and are ``+inf`` — shown as
  "not touched" — when fewer than half (a tenth) of the MQLs were touched. Fewer reps can
  never look faster. ``+inf`` is a plain float: Parquet and the result store keep it;
  strict JSON has no infinity, so the JSON outputs write ``null`` (read it together with
  ``mql_to_touched``: the median is ``+inf`` exactly when that share is below one half).
  The mean over touched leads only is kept as ``speed_to_lead_mean_touched`` and never
  gets a verdict.
* **"A beats B" only on a measure defined the same way for both.** :data:`KPI_DEFINED_BY`
  says which scenario settings a KPI's definition reads (the SLA clauses read the SLA);
  :func:`comparability_note` tells when two scenarios measure a KPI differently, and the
  comparison then gives it no verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .calendar import BusinessCalendar
from .units import MINUTES_PER_HOUR, MINUTES_PER_MONTH, MINUTES_PER_WEEK, WEEKDAYS
from .vocabulary import FUNNEL_STAGES, LEAK_REASONS

if TYPE_CHECKING:
    from .model import SimulationResult

__all__ = [
    "kpis",
    "funnel_table",
    "leak_table",
    "speed_to_lead",
    "speed_quantile",
    "sla_minutes",
    "duty_between",
    "kpi_label",
    "comparability_note",
    "KPI_INFO",
    "KPI_DEFINED_BY",
    "DEFINITION_TERMS",
    "NO_VERDICT_KPIS",
    "UNBOUNDED_KPIS",
    "kpi_range",
    "FUNNEL_STAGES",
]

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
    "mql_to_touched": ("MQL → touched (called at least once)", "ratio", +1),
    "mql_to_contacted": ("MQL → contacted", "ratio", +1),
    "contacted_to_sql": ("Contacted → SQL", "ratio", +1),
    "sql_to_demo_held": ("SQL → demo held", "ratio", +1),
    "demo_held_to_opportunity": ("Demo held → opportunity", "ratio", +1),
    "opportunity_to_won": ("Opportunity → won", "ratio", +1),
    # speed-to-lead: wall-clock minutes from engaging (creation, or the click that made it sales-ready)
    # to the first call, over every MQL; never touched = +inf
    "speed_to_lead_median": ("Speed-to-lead, median of all MQLs", "minutes", -1),
    "speed_to_lead_p90": ("Speed-to-lead, 90th percentile of all MQLs", "minutes", -1),
    "speed_to_lead_mean_touched": ("Speed-to-lead, mean of touched leads only", "minutes", 0),
    "touched_within_5_min": ("MQLs touched within 5 min of engaging", "ratio", +1),
    "touched_within_1_hour": ("MQLs touched within 1 hour of engaging", "ratio", +1),
    "touched_within_1_business_day": ("MQLs touched within 1 business day of hand-off", "ratio", +1),
    # the SLA's clauses, each measured against the scenario's own SLA (see KPI_DEFINED_BY)
    "mql_delivery": ("MQLs delivered ÷ promised (SLA)", "ratio", +1),
    "assignment_sla_compliance": ("MQLs assigned within the assignment SLA", "ratio", +1),
    "sla_compliance": ("MQLs touched within the first-touch SLA", "ratio", +1),
    "first_week_attempt_compliance": ("MQLs called the SLA's minimum in week one (or reached)", "ratio", +1),
    "mqls_per_month": ("MQLs per month", "count", 0),
    "attempts_per_lead": ("Call attempts per MQL", "count", 0),
    "rep_utilisation": ("Rep utilisation", "ratio", 0),
    "backlog_mean": ("Leads open in sales, time average", "count", -1),
    "backlog_max": ("Leads open in sales, daily maximum", "count", -1),
    "revenue": ("Revenue", "money", +1),
    "revenue_per_month": ("Revenue per month", "money", +1),
    "won_deals_per_month": ("Won deals per month", "count", +1),
    "work_months": ("Months reps work (arrivals and the cohort's tail)", "months", 0),
    "lead_cost": ("Lead cost", "money", -1),
    "rep_cost": ("Rep cost", "money", -1),
    "total_cost": ("Total cost", "money", -1),
    "cost_per_lead": ("Cost per lead", "money", -1),
    "cost_per_acquisition": ("Cost per acquisition", "money", -1),
}


# --------------------------------------------------------------------------- what a KPI's definition reads


def _minutes_words(minutes: float) -> str:
    return f"{minutes:g} min" if minutes < 120 else f"{minutes / MINUTES_PER_HOUR:g} h"


def _clock_words(minutes: float) -> str:
    return f"{int(minutes // 60):02d}:{int(minutes % 60):02d}"


def _team_hours(team: Any) -> tuple[float, float, tuple[str, ...]]:
    """The shift's start and end (minutes of the day) and the working days, in week order."""
    start, end = team.shift
    return float(start), float(end), tuple(d for d in WEEKDAYS if d in team.working_days)


def _hours(scenario: Any) -> tuple[float, float, tuple[str, ...]]:
    return _team_hours(scenario.team)


def _hours_words(value: Any) -> str:
    if value == "calendar":
        return "calendar time"
    start, end, days = value
    return f"{_clock_words(start)}–{_clock_words(end)} {'/'.join(days)}"


def _sla_clock(scenario: Any) -> Any:
    return "calendar" if scenario.sla.clock == "calendar" else _hours(scenario)


#: a setting a KPI's definition reads: term -> (words, its value in a scenario, how the value reads)
DEFINITION_TERMS: dict[str, tuple[str, Callable[[Any], Any], Callable[[Any], str]]] = {
    "first_touch_sla": ("the first-touch SLA", lambda s: float(s.sla.first_touch_minutes), _minutes_words),
    "assignment_sla": ("the assignment SLA", lambda s: float(s.sla.assign_within_minutes), _minutes_words),
    "week_one_attempts": ("the week-one attempts SLA", lambda s: int(s.sla.min_attempts_first_week),
                          lambda v: f"{v} attempts"),
    "mql_promise": ("the promised MQLs a month", lambda s: float(s.sla.mqls_per_month), lambda v: f"{v:g}"),
    "sla_clock": ("the SLA clock", _sla_clock, _hours_words),
    "business_day": ("the team's business day", _hours, _hours_words),
}

#: KPI -> (terms of DEFINITION_TERMS its definition reads, a KPI defined the same way everywhere to read
#: instead); a KPI not listed is defined the same way in every scenario
KPI_DEFINED_BY: dict[str, tuple[tuple[str, ...], str | None]] = {
    "mql_delivery": (("mql_promise",), "mqls_per_month"),
    "assignment_sla_compliance": (("assignment_sla", "sla_clock"), None),
    "sla_compliance": (("first_touch_sla", "sla_clock"), "touched_within_1_hour"),
    "first_week_attempt_compliance": (("week_one_attempts",), "attempts_per_lead"),
    "touched_within_1_business_day": (("business_day",), "touched_within_1_hour"),
}

#: KPIs that describe but never decide: KPI -> (why, what to read instead)
NO_VERDICT_KPIS: dict[str, tuple[str, str]] = {
    "speed_to_lead_mean_touched": ("it averages touched leads only, so touching fewer leads can make it look "
                                   "faster", "speed_to_lead_median"),
}

#: KPIs that are +inf when too few MQLs were touched ("not touched"): KPI -> what to read instead
UNBOUNDED_KPIS: dict[str, str] = {
    "speed_to_lead_median": "mql_to_touched",
    "speed_to_lead_p90": "touched_within_1_business_day",
}


def comparability_note(kpi: str, scenarios: Sequence[Any] = ()) -> str:
    """Why `kpi` gets no verdict between `scenarios` ("" when it is defined the same way for all).

    E.g. "not comparable: the first-touch SLA differs (60 min vs 5 min) — see 'MQLs touched
    within 1 hour of engaging'".
    """
    if kpi in NO_VERDICT_KPIS:
        why, see = NO_VERDICT_KPIS[kpi]
        return f"no verdict: {why} — see '{kpi_label(see)}'"
    terms, see = KPI_DEFINED_BY.get(kpi, ((), None))
    differ = []
    for term in terms:
        words, read, show = DEFINITION_TERMS[term]
        values = [read(s) for s in scenarios]
        if any(v != values[0] for v in values[1:]):
            differ.append(f"{words} differs ({' vs '.join(show(v) for v in values)})")
    if not differ:
        return ""
    return "not comparable: " + " and ".join(differ) + (f" — see '{kpi_label(see)}'" if see else "")


# --------------------------------------------------------------------------- tables and clocks


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


def duty_between(team: Any, start: Any, end: Any) -> np.ndarray:
    """On-duty minutes of `team` in [start, end): how long a clock that runs in business hours ran."""
    return BusinessCalendar(team).duty_between(np.asarray(start, dtype=float), np.asarray(end, dtype=float))


def sla_minutes(result: "SimulationResult", start: pd.Series, end: pd.Series) -> np.ndarray:
    """Minutes between two times on the scenario's SLA clock (business hours or calendar)."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    if result.scenario.sla.clock == "calendar":
        return end - start
    return duty_between(result.scenario.team, start, end)


def speed_to_lead(leads: pd.DataFrame) -> np.ndarray:
    """Wall-clock minutes from engaging to the first touch, per lead; +inf for a lead never touched."""
    first = leads["first_touch_at"].to_numpy(dtype=float)
    engaged = leads["engaged_at"].to_numpy(dtype=float)
    return np.where(np.isnan(first), math.inf, first - engaged)


def speed_quantile(speed: Any, q: float) -> float:
    """The q-quantile of speed-to-lead over all MQLs, a lead not touched (NaN or +inf) counting as +inf.

    The empirical quantile without interpolation: the smallest t such that at least a share
    q of the MQLs was touched within t; +inf when fewer than q were touched; NaN for no MQL.
    """
    values = np.asarray(speed, dtype=float)
    if not len(values):
        return math.nan
    values = np.where(np.isnan(values), math.inf, values)
    k = max(1, math.ceil(q * len(values) - 1e-9))
    return float(np.partition(values, k - 1)[k - 1])


# --------------------------------------------------------------------------- the KPIs


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
    mql = leads[leads["mql_at"].notna()]
    n_mql = len(mql)
    speed = speed_to_lead(mql)
    touched = speed[np.isfinite(speed)]
    out["mql_to_touched"] = _share(len(touched), n_mql)
    out["mql_to_contacted"] = _share(funnel["contacted"], funnel["mql"])
    out["contacted_to_sql"] = _share(funnel["sql"], funnel["contacted"])
    out["sql_to_demo_held"] = _share(funnel["demo_held"], funnel["sql"])
    out["demo_held_to_opportunity"] = _share(funnel["opportunity"], funnel["demo_held"])
    out["opportunity_to_won"] = _share(funnel["won"], funnel["opportunity"])

    # speed-to-lead over every MQL, in wall-clock time from engaging: what perishes
    out["speed_to_lead_median"] = speed_quantile(speed, 0.5)
    out["speed_to_lead_p90"] = speed_quantile(speed, 0.9)
    out["speed_to_lead_mean_touched"] = float(touched.mean()) if len(touched) else math.nan
    out["touched_within_5_min"] = _share((speed <= 5.0 + 1e-9).sum(), n_mql)
    out["touched_within_1_hour"] = _share((speed <= MINUTES_PER_HOUR + 1e-9).sum(), n_mql)
    start, end = sc.team.shift
    on_duty = duty_between(sc.team, mql["mql_at"], mql["first_touch_at"])  # NaN when never touched
    out["touched_within_1_business_day"] = _share((on_duty <= (end - start) + 1e-9).sum(), n_mql)

    # every clause of the SLA, against the scenario's own SLA; the clocks start at hand-off and run in
    # business hours unless the SLA says calendar; a lead never assigned / touched is a breach
    out["mqls_per_month"] = out["mqls"] / months
    out["mql_delivery"] = _share(out["mqls_per_month"], sc.sla.mqls_per_month)
    assigned = sla_minutes(result, mql["mql_at"], mql["assigned_at"])
    out["assignment_sla_compliance"] = _share((assigned <= sc.sla.assign_within_minutes + 1e-9).sum(), n_mql)
    waited = sla_minutes(result, mql["mql_at"], mql["first_touch_at"])
    out["sla_compliance"] = _share((waited <= sc.sla.first_touch_minutes + 1e-9).sum(), n_mql)
    reached_week1 = (mql["contacted_at"] - mql["mql_at"]) <= MINUTES_PER_WEEK
    enough = reached_week1 | (mql["attempts_week1"] >= sc.sla.min_attempts_first_week)
    out["first_week_attempt_compliance"] = _share(enough.sum(), n_mql)
    out["attempts_per_lead"] = float(mql["attempts"].mean()) if n_mql else math.nan

    reps = result.reps
    out["rep_utilisation"] = _share(reps["busy_minutes"].sum(), reps["duty_minutes"].sum())  # arrival window
    out["backlog_mean"] = float(result.stats["mean_leads_in_sales"])
    out["backlog_max"] = float(result.backlog["open_leads"].max()) if len(result.backlog) else 0.0

    out["revenue"] = float(leads["revenue"].sum())
    out["revenue_per_month"] = out["revenue"] / months
    out["won_deals_per_month"] = out["won_deals"] / months
    # reps are paid for every month they work: the arrival months, or longer while the cohort's tail is worked
    work_end = float(result.stats.get("work_end_minutes", result.stats["horizon_minutes"]))
    out["work_months"] = max(float(months), work_end / MINUTES_PER_MONTH)
    out["lead_cost"] = float(leads["cost"].sum())
    out["rep_cost"] = sc.team.reps * sc.team.cost_per_rep_month * out["work_months"]
    out["total_cost"] = out["lead_cost"] + out["rep_cost"]
    out["cost_per_lead"] = _share(out["lead_cost"], out["leads"])
    out["cost_per_acquisition"] = _share(out["total_cost"], out["won_deals"])

    counts = leads["outcome"].value_counts()
    for reason in (*LEAK_REASONS, "open"):
        out[f"leak_{reason}"] = float(counts.get(reason, 0))
    return out


#: ratios that are not shares: marketing can deliver more MQLs than the SLA promised
_RATIOS_ABOVE_ONE = frozenset({"mql_delivery"})


def kpi_range(name: str) -> tuple[float, float]:
    """The values a KPI (and so its mean) can take: shares 0-1, counts, minutes and money 0 up;
    a name this module does not know: anything.

    >>> kpi_range("won_deals"), kpi_range("sla_compliance"), kpi_range("leak_no_answer")
    ((0.0, inf), (0.0, 1.0), (0.0, inf))
    """
    unit = KPI_INFO[name][1] if name in KPI_INFO else ("count" if name.startswith("leak_") else None)
    if unit is None:
        return (-math.inf, math.inf)
    return (0.0, 1.0) if unit == "ratio" and name not in _RATIOS_ABOVE_ONE else (0.0, math.inf)


def kpi_label(name: str) -> str:
    if name in KPI_INFO:
        return KPI_INFO[name][0]
    if name.startswith("leak_"):
        return "Leaked: " + name[5:].replace("_", " ")
    return name.replace("_", " ")
