"""Scenario differences in words: what a variant changes, and what that does, in one sentence.

:func:`change_phrase` names what a variant does differently from the baseline ("Following
up within 5 minutes instead of 1 hour"); :func:`summary_sentences` adds what the finished
comparison says it does to won deals, revenue and cost, with 95% confidence intervals,
and says so honestly when an interval spans zero. :func:`assumptions_table` lists the
settings in which scenarios differ, each value in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..experiments.compare import Comparison, _display_names
from ..scenario import Scenario
from ..vocabulary import (
    AT_CAP_WORDS,
    QUEUE_ORDER_WORDS,
    ROUTING_MODE_WORDS,
    ROUTING_POLICY_LABELS,
    ROUTING_POLICY_WORDS,
)
from .format import duration_words, money, pct, signed_pct

__all__ = [
    "FIELD_WORDS", "field_words", "value_text", "flatten", "assumptions_table", "change_phrase",
    "summary_sentences", "verdict_words", "comparison_row", "direction", "short_duration", "short_change",
    "what_if_name", "NO_CHANGE_NAME",
]

#: the what-if's name while it is still the baseline
NO_CHANGE_NAME = "what-if (no change yet)"

#: plain names of the settings leadership asks about; others are spelled out from their field path
FIELD_WORDS: dict[str, str] = {
    "months": "Months of leads simulated",
    "team.reps": "Sales reps",
    "team.working_hours": "Working hours",
    "team.working_days": "Working days",
    "team.queue_order": "Order reps work their queue",
    "team.cost_per_rep_month": "Cost per rep per month",
    "sla.first_touch_minutes": "First-touch SLA",
    "sla.assign_within_minutes": "Assignment SLA",
    "sla.min_attempts_first_week": "Calls required in week one",
    "routing.policy": "Routing",
    "routing.mode": "When leads are routed",
    "routing.batch_times": "Routing batch times",
    "routing.lead_cap": "Lead cap per rep",
    "routing.at_cap": "When every rep is at the cap",
    "follow_up.attempt_offsets": "Call cadence",
    "follow_up.ageing_days": "Leads aged out after (days)",
    "nurture.hot_lead_alerts": "Hot-lead alerts",
    "demo.reschedule_attempts": "Reschedule attempts after a no-show",
    "demo.no_show_probability": "Demo no-show probability",
    "marketing.mql_threshold": "MQL score threshold",
}
#: setting values in words (an at-cap choice reads as its own name in a table)
_VALUE_WORDS: dict[str, str] = {**QUEUE_ORDER_WORDS, **ROUTING_POLICY_WORDS, **{k: k for k in AT_CAP_WORDS},
                                **ROUTING_MODE_WORDS}


def field_words(path: str) -> str:
    """A setting's plain name: 'Sales reps' for ``team.reps``, else its path spelled out."""
    return FIELD_WORDS.get(path, path.replace("_", " ").replace(".", ": "))


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to scalar values; lists of mappings are indexed by their ``name``."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and data and all(isinstance(v, dict) and "name" in v for v in data):
        for item in data:
            rest = {k: v for k, v in item.items() if k != "name"}
            out.update(flatten(rest, f"{prefix}.{item['name']}"))
    else:
        out[prefix] = data
    return out


def value_text(path: str, value: Any) -> str:
    """A setting's value in words: 'no cap', '6 calls, at 0, 30 minutes, …', 'newest first'."""
    if value is None:
        return "none" if not path.endswith("lead_cap") else "no cap"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if path.endswith("attempt_offsets"):
            return f"{len(value)} calls, at " + ", ".join(duration_words(float(v)) if v else "0" for v in value)
        return ", ".join(value_text(path, v) for v in value)
    if isinstance(value, float) and path.endswith("_minutes"):
        return duration_words(value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, str):
        return _VALUE_WORDS.get(value, value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def assumptions_table(scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """The settings in which the scenarios differ: one row per field, one column per scenario.

    Columns: ``field`` (dotted path), ``setting`` (in words), then each scenario's name with
    its value in words. ``months`` always appears (it sets the horizon of every figure).
    """
    flat = [flatten(s.behaviour_dict()) for s in scenarios]
    names = _display_names(scenarios)
    keys = list(dict.fromkeys(k for f in flat for k in f))
    rows = []
    for key in keys:
        values = [f.get(key, "—") for f in flat]
        if key != "months" and all(v == values[0] for v in values[1:]):
            continue
        row: dict[str, Any] = {"field": key, "setting": field_words(key)}
        for scenario, value in zip(names, values):
            row[scenario] = value_text(key, value) if value != "—" else "—"
        rows.append(row)
    return pd.DataFrame(rows, columns=["field", "setting", *names])


def _one_change(path: str, old: Any, new: Any) -> str:
    if path == "sla.first_touch_minutes":
        return f"following up within {duration_words(new)} instead of {duration_words(old)}"
    if path == "team.reps":
        more = int(new) - int(old)
        verb = "hiring" if more > 0 else "cutting"
        return f"{verb} {abs(more)} rep{'s' if abs(more) != 1 else ''} ({new} instead of {old})"
    if path == "routing.lead_cap":
        if new is None:
            return f"removing the cap of {old} open leads per rep"
        if old is None:
            return f"capping each rep at {new} open leads (instead of no cap)"
        return f"capping each rep at {new} open leads instead of {old}"
    if path == "routing.at_cap":
        return (f"handling leads that find every rep full by {AT_CAP_WORDS.get(new, new)} instead of "
                f"{AT_CAP_WORDS.get(old, old)}")
    if path == "team.queue_order":
        return f"working the queue {QUEUE_ORDER_WORDS.get(new, new)} instead of {QUEUE_ORDER_WORDS.get(old, old)}"
    if path == "routing.policy":
        return f"routing leads {ROUTING_POLICY_WORDS.get(new, new)} instead of {ROUTING_POLICY_WORDS.get(old, old)}"
    if path == "routing.mode":
        return f"routing leads {ROUTING_MODE_WORDS.get(new, new)} instead of {ROUTING_MODE_WORDS.get(old, old)}"
    if path == "nurture.hot_lead_alerts":
        return ("alerting sales the moment a nurtured lead clicks (hot-lead alerts)" if new
                else "switching hot-lead alerts off")
    if path == "demo.reschedule_attempts":
        before = "never" if not old else f"up to {old} time{'s' if old != 1 else ''}"
        return f"reaching out up to {new} times to rebook a demo no-show instead of {before}"
    if path == "routing.reclaim_untouched_days":
        if new is None:
            return "letting reps keep leads they leave untouched"
        return f"taking back leads a rep leaves untouched {duration_words(new * 1440)} (to the least-loaded rep)"
    if path == "follow_up.attempt_offsets" and isinstance(new, list) and isinstance(old, list):
        if len(new) != len(old):
            return f"calling each lead up to {len(new)} times instead of {len(old)}"
        return "changing when follow-up calls are made"
    return f"changing {field_words(path)} from {value_text(path, old)} to {value_text(path, new)}"


def short_duration(minutes: float) -> str:
    """A duration as an adjective: '5-min', '1-hour', '8-hour', '2-day'."""
    minutes = float(minutes)
    for size, unit in ((1440.0, "day"), (60.0, "hour")):
        if minutes >= size and (minutes / size).is_integer():
            return f"{minutes / size:g}-{unit}"
    return f"{minutes:g}-min"


def short_change(path: str, new: Any) -> str:
    """One changed setting in a few words for a column heading: '6 reps', '5-min SLA', 'cap of 50 leads'."""
    if path == "team.reps":
        return f"{new} rep{'' if new == 1 else 's'}"
    if path == "sla.first_touch_minutes":
        return f"{short_duration(new)} SLA"
    if path == "routing.lead_cap":
        return "no lead cap" if new is None else f"cap of {new} leads"
    if path == "routing.reclaim_untouched_days":
        return "no reclaim" if new is None else f"reclaim after {duration_words(float(new) * 1440)}"
    if path == "follow_up.attempt_offsets" and isinstance(new, list):
        return f"{len(new)} call{'' if len(new) == 1 else 's'}"
    if path == "team.queue_order":
        return QUEUE_ORDER_WORDS.get(new, str(new))
    if path == "routing.policy":
        return f"routing: {ROUTING_POLICY_LABELS.get(new, str(new))}"
    return f"{field_words(path)} {value_text(path, new)}"


def what_if_name(baseline: Scenario, variant: Scenario) -> str:
    """A variant named after what it changes: '6 reps, 5-min SLA' (:data:`NO_CHANGE_NAME` when nothing)."""
    a, b = flatten(baseline.behaviour_dict()), flatten(variant.behaviour_dict())
    parts = [short_change(key, b.get(key)) for key in dict.fromkeys([*a, *b])
             if a.get(key) != b.get(key) and key != "name"]
    return ", ".join(parts) if parts else NO_CHANGE_NAME


def change_phrase(baseline: Scenario, variant: Scenario) -> str:
    """What the variant does differently, as a phrase that can open a sentence."""
    a, b = flatten(baseline.behaviour_dict()), flatten(variant.behaviour_dict())
    phrases: list[str] = []
    for key in dict.fromkeys([*a, *b]):
        if a.get(key) == b.get(key):
            continue
        if key == "routing.batch_times" and b.get("routing.mode") == a.get("routing.mode") == "continuous":
            continue  # batch times do nothing while routing is continuous
        phrases.append(_one_change(key, a.get(key), b.get(key)))
    if not phrases:
        text = "running the same settings again"
    elif len(phrases) <= 2:
        text = " and ".join(phrases)
    else:
        text = f"changing {len(phrases)} settings (see Assumptions)"
    return text[0].upper() + text[1:]


# --------------------------------------------------------------------------- effects


def direction(row: pd.Series) -> int:
    """+1 when the whole confidence interval of the difference is above zero, -1 below, else 0."""
    low, high = float(row["ci_low"]), float(row["ci_high"])
    if math.isfinite(low) and low > 0:
        return +1
    if math.isfinite(high) and high < 0:
        return -1
    return 0


def comparison_row(table: pd.DataFrame, variant: str, kpi: str) -> pd.Series | None:
    """The comparison table's row of one variant and KPI, or None."""
    rows = table[(table["variant"] == variant) & (table["kpi"] == kpi)]
    return None if rows.empty else rows.iloc[0]


def _rel(row: pd.Series) -> tuple[float, float, float] | None:
    values = tuple(float(row[c]) for c in ("rel_change", "rel_ci_low", "rel_ci_high"))
    return values if all(map(math.isfinite, values)) else None


def _won_words(row: pd.Series) -> str:
    """Won deals moved by how much, for a sentence whose verb is 'raises'/'lowers'."""
    rel = _rel(row)
    if rel is None:  # the baseline won nothing: absolute numbers
        diff, low, high = (float(row[c]) for c in ("diff", "ci_low", "ci_high"))
        return f"won deals by {abs(diff):.1f} (95% CI {min(abs(low), abs(high)):.1f}–{max(abs(low), abs(high)):.1f})"
    mid, low, high = rel if direction(row) > 0 else (-rel[0], -rel[2], -rel[1])
    return f"won deals by {pct(mid)} (95% CI {pct(low)[:-1]}–{pct(high)})"


def _won_neutral(row: pd.Series) -> str:
    rel = _rel(row)
    if rel is None:
        diff, low, high = (float(row[c]) for c in ("diff", "ci_low", "ci_high"))
        return f"won deals {diff:+.1f} (95% CI {low:+.1f} to {high:+.1f})"
    return f"won deals {signed_pct(rel[0])} (95% CI {signed_pct(rel[1])} to {signed_pct(rel[2])})"


def _revenue_words(row: pd.Series) -> str:
    diff, low, high = (float(row[c]) for c in ("diff", "ci_low", "ci_high"))
    if direction(row) < 0:
        diff, low, high = -diff, -high, -low
    return f"revenue by {money(diff)} a month (95% CI {money(low)}–{money(high)})"


def _revenue_neutral(row: pd.Series) -> str:
    diff, low, high = (float(row[c]) for c in ("diff", "ci_low", "ci_high"))
    return f"revenue {money(diff, True)} a month (95% CI {money(low, True)} to {money(high, True)})"


def _effect_sentence(change: str, won: pd.Series, revenue: pd.Series) -> str:
    """The change and what it does to won deals and revenue, honest when an interval spans zero."""
    verbs = {1: "raises", -1: "lowers"}
    dw, dr = direction(won), direction(revenue)
    if dw != 0 and dw == dr:
        return f"{change} {verbs[dw]} {_won_words(won)} and {_revenue_words(revenue)}"
    if dw != 0:
        tail = (f"while it {verbs[dr]} {_revenue_words(revenue)}" if dr != 0 else
                f"while the effect on revenue is not clear ({_revenue_neutral(revenue)}, a range that includes "
                "no change)")
        return f"{change} {verbs[dw]} {_won_words(won)}, {tail}"
    if dr != 0:
        return (f"{change} {verbs[dr]} {_revenue_words(revenue)}, while the effect on won deals is not clear "
                f"({_won_neutral(won)}, a range that includes no change)")
    return (f"{change} makes no clear difference yet: {_won_neutral(won)} and {_revenue_neutral(revenue)} — "
            "both ranges include no change —")


def _cost_clause(row: pd.Series | None, months: float, baseline_total: float) -> str:
    if row is None:
        return ""
    diff, lo, hi = (float(row[c]) / months for c in ("diff", "ci_low", "ci_high"))
    tolerance = 1e-6 * max(1.0, abs(baseline_total) / months)
    if abs(lo) <= tolerance and abs(hi) <= tolerance:
        return ", at no extra cost"
    if direction(row) > 0:
        return f", for {money(diff)} more in rep and lead cost per month of leads"
    if direction(row) < 0:
        return f", and costs {money(-diff)} less per month of leads"
    return (f", with cost changing by {money(diff, True)} per month of leads (95% CI {money(lo, True)} to "
            f"{money(hi, True)})")


def summary_sentences(comparison: Comparison, baseline: Scenario, variants: Sequence[Scenario]) -> list[str]:
    """One plain-language sentence per variant: the change, won deals, revenue, cost — with CIs."""
    table = comparison.table
    names = _display_names([baseline, *variants])
    out = []
    for variant, name in zip(variants, names[1:]):
        change = change_phrase(baseline, variant)
        won = comparison_row(table, name, "won_deals")
        revenue = comparison_row(table, name, "revenue_per_month")
        if won is None or revenue is None:
            out.append(f"{change}: the comparison has no won-deal or revenue figures.")
            continue
        cost = comparison_row(table, name, "total_cost")
        baseline_total = float(cost["mean_baseline"]) if cost is not None else 0.0
        sentence = _effect_sentence(change, won, revenue) + _cost_clause(cost, baseline.months, baseline_total)
        out.append(sentence.replace("—,", "—") + ".")
    return out


def verdict_words(verdict: str, baseline: str, variant: str) -> str:
    """A comparison verdict as the report says it: 'five_minute_sla wins', 'higher with more_reps'."""
    return {
        "B wins": f"{variant} wins",
        "A wins": f"{baseline} wins",
        "no practical difference": "no practical difference",
        "not enough replications yet": "not enough replications yet",
        "higher": f"higher with {variant}",
        "lower": f"lower with {variant}",
        "not comparable": "not comparable",
        "no verdict": "no verdict",
    }.get(verdict, verdict)
