"""The leadership report: an A/B comparison in plain language, with charts and provenance.

:func:`build_report` runs the comparison and draws one replication's leads per scenario
for the speed-to-lead distribution; :class:`ABReport` turns that into HTML sections with
stable headings (:data:`SECTIONS`), which the ``ab_compare`` notebook displays one per
cell. :func:`render_report` executes that notebook with papermill and converts it with
nbconvert into one self-contained HTML file (code hidden, charts embedded, no external
scripts), written atomically.

The summary opens with a sentence such as "Following up within 5 minutes instead of
1 hour raises won deals by 18% (95% CI 11–25%) and revenue by $60k a month (95% CI
$40k–$80k), at no extra cost", built from the comparison table and the settings in which
the scenarios differ; when a confidence interval spans zero it says so instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import math
import platform
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import __version__
from .atomic import write_text
from .errors import FunnelsimError, InputError
from .executors import Executor, make_executor, owned_executor
from .experiment import Comparison, check_kpi, compare
from .metrics import KPI_INFO, kpi_label, speed_to_lead
from .simulation import simulate
from .plots import (
    FUNNEL_KPIS,
    LEAK_KPIS,
    effect_figure,
    figure_html,
    format_minutes,
    funnel_figure,
    leak_figure,
    money_figure,
    speed_to_lead_figure,
    summarise,
    sweep_figure,
    sweep_heatmap,
    sweep_scatter,
)
from .report_text import format_value
from .safe_io import check_output_file
from .scenario import Scenario, load_scenario
from .staffing import Staffing, parse_target, staff
from .store import ResultStore
from .sweep import Sweep, load_sweep, run_sweep, summarize_sweep

__all__ = [
    "SECTIONS",
    "ABReport",
    "build_report",
    "render_report",
    "notebook_to_html",
    "assumptions_table",
    "change_phrase",
    "summary_sentences",
    "default_notebook",
    "REPORT_NOTEBOOK",
    "SweepStudy",
    "build_sweep_study",
]

#: (key, heading) of every report section, in order; the headings are stable (tests check them)
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("verdict", "Verdict"),
    ("funnel", "The funnel, side by side"),
    ("leaks", "Where leads leak and why"),
    ("speed", "Speed-to-lead"),
    ("money", "Revenue and cost per acquisition"),
    ("assumptions", "Assumptions"),
    ("provenance", "Provenance"),
)
REPORT_NOTEBOOK = "ab_compare.ipynb"
#: KPIs of the verdict table, in order
VERDICT_KPIS: tuple[str, ...] = (
    "won_deals", "revenue_per_month", "cost_per_acquisition", "lead_to_won", "contacted", "sqls",
    "speed_to_lead_median", "touched_within_1_hour", "sla_compliance",
)
#: speed-to-lead over every MQL, and the fixed thresholds that compare across scenarios
SPEED_KPIS: tuple[str, ...] = (
    "speed_to_lead_median", "speed_to_lead_p90", "touched_within_5_min", "touched_within_1_hour",
    "touched_within_1_business_day", "mql_to_touched", "speed_to_lead_mean_touched", "attempts_per_lead",
    "rep_utilisation", "backlog_mean",
)
#: every clause of the SLA, each measured against the scenario's own SLA
SLA_KPIS: tuple[str, ...] = (
    "mql_delivery", "assignment_sla_compliance", "sla_compliance", "first_week_attempt_compliance",
)
MONEY_KPIS: tuple[str, ...] = (
    "revenue_per_month", "won_deals_per_month", "total_cost", "rep_cost", "work_months", "lead_cost",
    "cost_per_lead", "cost_per_acquisition",
)
#: why each leak happens, in words a revenue leader uses
LEAK_WHY: dict[str, str] = {
    "leak_filtered": "Marketing dropped it: spam, students, lost visitors, or too poor a fit to pass to sales.",
    "leak_unengaged": "Nurtured by marketing but never became sales-ready (no click, or still too cold).",
    "leak_capped_out": "Every rep was at the lead cap: the lead was turned away or waited until it went stale.",
    "leak_aged_out": "Sat with a rep, untouched, past the ageing limit (reps skim the top of a long list).",
    "leak_unresponsive": "Every call of the cadence went unanswered.",
    "leak_disqualified": "Reached, but not sales-qualified — often because the call came too late.",
    "leak_no_show": "Booked a demo, did not show up, and was not won back by a reschedule.",
    "leak_no_opportunity": "Demo held, but no opportunity was opened.",
    "leak_lost": "Opportunity opened and lost.",
}
_STYLE = """
<style>
.funnelsim-report { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 15px;
  line-height: 1.5; max-width: 980px; color: #222; }
.funnelsim-report h1 { font-size: 28px; margin: 0.2em 0; }
.funnelsim-report h2 { font-size: 21px; border-bottom: 2px solid #1f77b4; padding-bottom: 3px; margin-top: 1.6em; }
.funnelsim-report .headline { font-size: 18px; background: #f3f7fb; border-left: 5px solid #1f77b4;
  padding: 10px 14px; margin: 0.8em 0; }
.funnelsim-report table { border-collapse: collapse; margin: 0.6em 0 1em 0; font-size: 13.5px; }
.funnelsim-report th, .funnelsim-report td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right;
  vertical-align: top; }
.funnelsim-report th:first-child, .funnelsim-report td:first-child { text-align: left; }
.funnelsim-report td { white-space: nowrap; }
.funnelsim-report td.text, .funnelsim-report th.text { text-align: left; white-space: normal; }
.funnelsim-report .muted { color: #666; font-size: 13px; }
.funnelsim-report .verdict-B { color: #1a7f1a; font-weight: bold; }
.funnelsim-report .verdict-A { color: #c62828; font-weight: bold; }
.funnelsim-report .verdict-none { color: #555; }
.funnelsim-report .verdict-more { color: #c77700; font-weight: bold; }
</style>
"""


# --------------------------------------------------------------------------- words


def _duration_words(minutes: float) -> str:
    minutes = float(minutes)
    for size, unit in ((10080.0, "week"), (1440.0, "day"), (60.0, "hour")):
        if minutes >= size and (minutes / size).is_integer():
            n = int(minutes / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    if minutes.is_integer():
        return f"{int(minutes)} minute{'s' if minutes != 1 else ''}"
    return format_minutes(minutes)


_QUEUE_WORDS = {"newest_first": "newest first", "oldest_first": "oldest first",
                "highest_score": "highest score first", "hot_first": "hot leads first"}
_POLICY_WORDS = {"round_robin": "round robin", "least_loaded": "to the least-loaded rep",
                 "score_based": "by score (best leads to senior reps)", "shared_queue": "through one shared queue"}
_AT_CAP_WORDS = {"wait": "making them wait for a free rep", "nurture": "sending them back to nurture",
                 "discard": "discarding them"}
_MODE_WORDS = {"continuous": "as they arrive", "batched": "in daily batches"}


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to scalar values; lists of mappings are indexed by their ``name``."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and data and all(isinstance(v, dict) and "name" in v for v in data):
        for item in data:
            rest = {k: v for k, v in item.items() if k != "name"}
            out.update(_flatten(rest, f"{prefix}.{item['name']}"))
    else:
        out[prefix] = data
    return out


def _value_text(path: str, value: Any) -> str:
    if value is None:
        return "none" if not path.endswith("lead_cap") else "no cap"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if path.endswith("attempt_offsets"):
            return f"{len(value)} calls, at " + ", ".join(_duration_words(float(v)) if v else "0" for v in value)
        return ", ".join(_value_text(path, v) for v in value)
    if isinstance(value, float) and path.endswith("_minutes"):
        return _duration_words(value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, str):
        words = {**_QUEUE_WORDS, **_POLICY_WORDS, **{k: k for k in _AT_CAP_WORDS}, **_MODE_WORDS}
        return words.get(value, value)
    return f"{value:,}" if isinstance(value, int) else str(value)


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


def _field_words(path: str) -> str:
    return FIELD_WORDS.get(path, path.replace("_", " ").replace(".", ": "))


def assumptions_table(scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """The settings in which the scenarios differ: one row per field, one column per scenario.

    Columns: ``field`` (dotted path), ``setting`` (in words), then each scenario's name with
    its value in words. ``months`` always appears (it sets the horizon of every figure).
    """
    flat = [_flatten(s.behaviour_dict()) for s in scenarios]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    rows = []
    for key in keys:
        values = [f.get(key, "—") for f in flat]
        if key != "months" and all(v == values[0] for v in values[1:]):
            continue
        row: dict[str, Any] = {"field": key, "setting": _field_words(key)}
        for scenario, value in zip(_unique_names(scenarios), values):
            row[scenario] = _value_text(key, value) if value != "—" else "—"
        rows.append(row)
    return pd.DataFrame(rows, columns=["field", "setting", *_unique_names(scenarios)])


def _unique_names(scenarios: Sequence[Scenario]) -> list[str]:
    """Scenario names as :func:`funnelsim.experiment.compare` labels them (a repeated name gets its position)."""
    names: list[str] = []
    for position, s in enumerate(scenarios):
        names.append(f"{s.name} ({position})" if s.name in names else s.name)
    return names


def _one_change(path: str, old: Any, new: Any) -> str:
    if path == "sla.first_touch_minutes":
        return f"following up within {_duration_words(new)} instead of {_duration_words(old)}"
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
        return (f"handling leads that find every rep full by {_AT_CAP_WORDS.get(new, new)} instead of "
                f"{_AT_CAP_WORDS.get(old, old)}")
    if path == "team.queue_order":
        return f"working the queue {_QUEUE_WORDS.get(new, new)} instead of {_QUEUE_WORDS.get(old, old)}"
    if path == "routing.policy":
        return f"routing leads {_POLICY_WORDS.get(new, new)} instead of {_POLICY_WORDS.get(old, old)}"
    if path == "routing.mode":
        return f"routing leads {_MODE_WORDS.get(new, new)} instead of {_MODE_WORDS.get(old, old)}"
    if path == "nurture.hot_lead_alerts":
        return ("alerting sales the moment a nurtured lead clicks (hot-lead alerts)" if new
                else "switching hot-lead alerts off")
    if path == "demo.reschedule_attempts":
        before = "never" if not old else f"up to {old} time{'s' if old != 1 else ''}"
        return f"reaching out up to {new} times to rebook a demo no-show instead of {before}"
    if path == "routing.reclaim_untouched_days":
        if new is None:
            return "letting reps keep leads they leave untouched"
        return f"taking back leads a rep leaves untouched {_duration_words(new * 1440)} (to the least-loaded rep)"
    if path == "follow_up.attempt_offsets" and isinstance(new, list) and isinstance(old, list):
        if len(new) != len(old):
            return f"calling each lead up to {len(new)} times instead of {len(old)}"
        return "changing when follow-up calls are made"
    return f"changing {_field_words(path)} from {_value_text(path, old)} to {_value_text(path, new)}"


def change_phrase(baseline: Scenario, variant: Scenario) -> str:
    """What the variant does differently, as a phrase that can open a sentence."""
    a, b = _flatten(baseline.behaviour_dict()), _flatten(variant.behaviour_dict())
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


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(x) >= 0.095 or x == 0 else f"{100 * x:.1f}%"


def _money(x: float, signed: bool = False) -> str:
    sign = "−" if x < 0 else ("+" if signed else "")
    x = abs(x)
    if x >= 1e6:
        return f"{sign}${x / 1e6:,.2f}M"
    if x >= 1e4:
        return f"{sign}${x / 1e3:,.0f}k"
    if x >= 1e3:
        return f"{sign}${x / 1e3:,.1f}k"
    return f"{sign}${x:,.0f}"


def _direction(row: pd.Series) -> int:
    low, high = float(row["ci_low"]), float(row["ci_high"])
    if math.isfinite(low) and low > 0:
        return +1
    if math.isfinite(high) and high < 0:
        return -1
    return 0


def _row(table: pd.DataFrame, variant: str, kpi: str) -> pd.Series | None:
    rows = table[(table["variant"] == variant) & (table["kpi"] == kpi)]
    return None if rows.empty else rows.iloc[0]


def _signed_pct(x: float) -> str:
    return ("+" if x >= 0 else "−") + _pct(abs(x))


def _rel(row: pd.Series) -> tuple[float, float, float] | None:
    values = tuple(float(row[c]) for c in ("rel_change", "rel_ci_low", "rel_ci_high"))
    return values if all(map(math.isfinite, values)) else None


def _won_words(row: pd.Series) -> str:
    """Won deals moved by how much, for a sentence whose verb is 'raises'/'lowers'."""
    rel = _rel(row)
    direction = _direction(row)
    if rel is None:  # the baseline won nothing: absolute numbers
        diff, low, high = (float(row[c]) for c in ("diff", "ci_low", "ci_high"))
        return f"won deals by {abs(diff):.1f} (95% CI {min(abs(low), abs(high)):.1f}–{max(abs(low), abs(high)):.1f})"
    mid, low, high = rel if direction > 0 else (-rel[0], -rel[2], -rel[1])
    return f"won deals by {_pct(mid)} (95% CI {_pct(low)[:-1]}–{_pct(high)})"


def _won_neutral(row: pd.Series) -> str:
    rel = _rel(row)
    if rel is None:
        diff, low, high = (float(row[c]) for c in ("diff", "ci_low", "ci_high"))
        return f"won deals {diff:+.1f} (95% CI {low:+.1f} to {high:+.1f})"
    return f"won deals {_signed_pct(rel[0])} (95% CI {_signed_pct(rel[1])} to {_signed_pct(rel[2])})"


def _revenue_words(row: pd.Series) -> str:
    diff, low, high = (float(row[c]) for c in ("diff", "ci_low", "ci_high"))
    if _direction(row) < 0:
        diff, low, high = -diff, -high, -low
    return f"revenue by {_money(diff)} a month (95% CI {_money(low)}–{_money(high)})"


def _revenue_neutral(row: pd.Series) -> str:
    diff, low, high = (float(row[c]) for c in ("diff", "ci_low", "ci_high"))
    return f"revenue {_money(diff, True)} a month (95% CI {_money(low, True)} to {_money(high, True)})"


def _effect_sentence(change: str, won: pd.Series, revenue: pd.Series) -> str:
    """The change and what it does to won deals and revenue, honest when an interval spans zero."""
    verbs = {1: "raises", -1: "lowers"}
    dw, dr = _direction(won), _direction(revenue)
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
    if _direction(row) > 0:
        return f", for {_money(diff)} more in rep and lead cost per month of leads"
    if _direction(row) < 0:
        return f", and costs {_money(-diff)} less per month of leads"
    return (f", with cost changing by {_money(diff, True)} per month of leads (95% CI {_money(lo, True)} to "
            f"{_money(hi, True)})")


def summary_sentences(comparison: Comparison, baseline: Scenario, variants: Sequence[Scenario]) -> list[str]:
    """One plain-language sentence per variant: the change, won deals, revenue, cost — with CIs."""
    table = comparison.table
    names = _unique_names([baseline, *variants])
    out = []
    for variant, name in zip(variants, names[1:]):
        change = change_phrase(baseline, variant)
        won = _row(table, name, "won_deals")
        revenue = _row(table, name, "revenue_per_month")
        if won is None or revenue is None:
            out.append(f"{change}: the comparison has no won-deal or revenue figures.")
            continue
        cost = _row(table, name, "total_cost")
        baseline_total = float(cost["mean_baseline"]) if cost is not None else 0.0
        sentence = _effect_sentence(change, won, revenue) + _cost_clause(cost, baseline.months, baseline_total)
        out.append(sentence.replace("—,", "—") + ".")
    return out


def _months(months: float) -> str:
    return f"{months:g} month{'' if months == 1 else 's'}"


def _shown_path(path: str | Path) -> str:
    """A scenario path as a reader of the report knows it: relative to the project when inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path(__file__).resolve().parents[2]))
    except ValueError:
        return str(path)


def _verdict_class(verdict: str) -> str:
    return {"B wins": "verdict-B", "A wins": "verdict-A", "no practical difference": "verdict-none",
            "not enough replications yet": "verdict-more", "not comparable": "verdict-none",
            "no verdict": "verdict-none"}.get(verdict, "verdict-none")


def _verdict_words(verdict: str, baseline: str, variant: str) -> str:
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


def _fmt(kpi: str, value: float) -> str:
    return format_value(kpi, float(value)) if value is not None else "—"


def _diff_text(kpi: str, diff: float, low: float, high: float) -> str:
    unit = KPI_INFO.get(kpi, ("", "count", 0))[1]
    if not all(map(math.isfinite, (diff, low, high))):
        return "—"
    if unit == "ratio":
        places = 1 if max(abs(low), abs(high)) >= 0.01 else 2
        return f"{100 * diff:+.{places}f} pts ({100 * low:+.{places}f} to {100 * high:+.{places}f})"
    if unit == "money":
        return f"{_money(diff, True)} ({_money(low, True)} to {_money(high, True)})"
    if unit == "minutes":
        return f"{_signed_minutes(diff)} ({_signed_minutes(low)} to {_signed_minutes(high)})"
    return f"{diff:+,.1f} ({low:+,.1f} to {high:+,.1f})"


def _signed_minutes(value: float) -> str:
    return ("+" if value >= 0 else "−") + format_minutes(abs(value))


# --------------------------------------------------------------------------- the report


@dataclass
class ABReport:
    """Everything the report shows: the comparison, the scenarios, per-lead speed samples."""

    comparison: Comparison
    baseline: Scenario
    variants: list[Scenario]
    paths: list[str]
    speed: dict[str, np.ndarray]
    speed_seed: int
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    version: str = __version__

    @property
    def names(self) -> list[str]:
        """Display names, baseline first, exactly as the comparison's tables use them."""
        c = self.comparison
        return [str(c.runs["scenario"].iloc[0]), *map(str, dict.fromkeys(c.table["variant"]))]

    @property
    def title(self) -> str:
        return f"{' / '.join(self.names[1:])} vs {self.names[0]}"

    def summary(self) -> pd.DataFrame:
        """Mean and 95% CI of every KPI per scenario (plus cost per month), from the replications."""
        runs = self.comparison.runs
        scenarios = {n: s for n, s in zip(self.names, [self.baseline, *self.variants])}
        cost = runs[runs["kpi"] == "total_cost"].copy()
        cost["kpi"] = "cost_per_month"
        cost["value"] = cost["value"] / cost["scenario"].map(lambda n: scenarios[n].months if n in scenarios else 1)
        return summarise(pd.concat([runs, cost], ignore_index=True))

    # ------------------------------------------------------------------ sections

    def section(self, key: str) -> str:
        """One section's HTML, starting with its stable heading."""
        headings = dict(SECTIONS)
        if key not in headings:
            raise KeyError(f"unknown section {key!r}; sections are {[k for k, _ in SECTIONS]}")
        body = getattr(self, f"_{key}")()
        return f'<div class="funnelsim-report"><h2 id="{key}">{headings[key]}</h2>\n{body}</div>'

    def header(self) -> str:
        made = self.created.strftime("%d %B %Y")
        return (f'{_STYLE}<div class="funnelsim-report"><h1>{html.escape(self.title)}</h1>'
                f'<p class="muted">A/B comparison of lead-management policies · funnelsim {self.version} · '
                f"{made}</p></div>")

    def show(self, key: str | None = None) -> None:
        """Display the header (``key=None``) or one section in a notebook."""
        from IPython.display import HTML, display

        display(HTML(self.header() if key is None else self.section(key)))

    def to_html(self) -> str:
        """The whole report as one HTML document without a notebook (previews, tests)."""
        body = "\n".join([self.header(), *(self.section(k) for k, _ in SECTIONS)])
        return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(self.title)}"
                f"</title></head><body>{body}</body></html>")

    def _rows(self, kpis: Sequence[str], with_verdict: bool = True, labels: dict[str, str] | None = None,
              notes: tuple[str, dict[str, str]] | None = None) -> str:
        """A table of KPIs: baseline, each variant with its change and 95% CI (and verdict, and a note)."""
        table = self.comparison.table
        base, variants = self.names[0], self.names[1:]
        head = ["<th class='text'>Measure</th>", f"<th>{html.escape(base)}</th>"]
        for v in variants:
            head.append(f"<th>{html.escape(v)}</th><th>change (95% CI)</th>")
            if with_verdict:
                head.append("<th class='text'>verdict</th>")
        if notes:
            head.append(f"<th class='text'>{html.escape(notes[0])}</th>")
        lines = [f"<tr>{''.join(head)}</tr>"]
        for kpi in kpis:
            first = None
            cells = []
            for v in variants:
                row = _row(table, v, kpi)
                if row is None:
                    cells.append("<td>—</td><td>—</td>" + ("<td>—</td>" if with_verdict else ""))
                    continue
                first = row if first is None else first
                cells.append(f"<td>{_fmt(kpi, row['mean_variant'])}</td>"
                             f"<td>{_diff_text(kpi, row['diff'], row['ci_low'], row['ci_high'])}</td>")
                if with_verdict:
                    verdict = str(row["verdict"])
                    note = str(row.get("note", "") or "")
                    note_html = f'<br><span class="muted">{html.escape(note)}</span>' if note else ""
                    cells.append(f'<td class="text {_verdict_class(verdict)}">'
                                 f"{html.escape(_verdict_words(verdict, base, v))}{note_html}</td>")
            if first is None:
                continue
            if notes:
                cells.append(f"<td class='text'>{html.escape(notes[1].get(kpi, ''))}</td>")
            label = (labels or {}).get(kpi, kpi_label(kpi))
            lines.append(f"<tr><td>{html.escape(label)}</td><td>{_fmt(kpi, first['mean_baseline'])}</td>"
                         f"{''.join(cells)}</tr>")
        return f"<table>{''.join(lines)}</table>"

    def _summary(self) -> str:
        c = self.comparison
        sentences = summary_sentences(c, self.baseline, self.variants)
        parts = [f'<p class="headline">{html.escape(s)}</p>' for s in sentences]
        base = self.names[0]
        for name in self.names[1:]:
            row = _row(c.table, name, "won_deals")
            if row is None:
                continue
            verdict = str(row["verdict"])
            effect = row.get("min_effect", math.nan)
            threshold = (f" (a practical difference is at least {format_value('won_deals', float(effect))} won deals)"
                         if effect is not None and math.isfinite(float(effect)) and float(effect) > 0 else "")
            if verdict == "not enough replications yet":
                advice = (f"With {c.replications} paired replications the difference in won deals is not yet "
                          "clear enough to call; run more replications or set a target precision.")
            elif verdict == "no practical difference":
                advice = "The whole confidence interval lies within the practical threshold: treat the two as equal."
            else:
                advice = f"The whole confidence interval points the same way{threshold}."
            parts.append(f'<p>Verdict on won deals for {html.escape(name)}: <span class="{_verdict_class(verdict)}">'
                         f"{html.escape(_verdict_words(verdict, base, name))}</span>. {html.escape(advice)}</p>")
        parts.append(
            f'<p class="muted">Every figure is the mean of {c.replications} paired replications of '
            f"{_months(self.baseline.months)} of leads: both sides see the same leads (common random numbers), "
            "so the difference shows the policy, not luck. Ranges are 95% confidence intervals.</p>")
        return "\n".join(parts)

    def _verdict(self) -> str:
        table = self.comparison.table
        chosen = table[table["kpi"].isin(VERDICT_KPIS)].copy()
        chosen["order"] = chosen["kpi"].map({k: i for i, k in enumerate(VERDICT_KPIS)})
        chosen = chosen.sort_values(["order", "variant"])
        words = [_verdict_words(str(v), self.names[0], str(n)) for v, n in zip(chosen["verdict"], chosen["variant"])]
        figure = figure_html(effect_figure(chosen, verdict_text=words),
                             "Relative change of each headline measure with its 95% CI")
        method = self.comparison.method
        note = (f'<p class="muted">Verdicts: "better" only when the whole 95% confidence interval '
                f"(paired comparison, {html.escape(str(method))}) shows an improvement larger than the practical "
                "threshold; \"no practical difference\" when it lies within the threshold; otherwise more "
                "replications are needed.</p>")
        note += ('<p class="muted">"A beats B" is only said on a measure defined the same way for both: a '
                 "measure that reads a setting in which the scenarios differ (such as SLA compliance under two "
                 "different SLAs) is marked not comparable, with the measure to read instead. Speed-to-lead counts "
                 "every MQL; a lead never called counts as not touched, so fewer calls never look faster.</p>")
        return self._rows(VERDICT_KPIS) + figure + note + self._all_kpis()

    def _all_kpis(self) -> str:
        kpis = list(dict.fromkeys(self.comparison.table["kpi"]))
        return f"<details><summary>Every measure</summary>{self._rows(kpis)}</details>"

    def _funnel(self) -> str:
        summary = self.summary()
        figure = figure_html(funnel_figure(summary, self.names), "The funnel of each scenario, side by side")
        rates = ("lead_to_won", "mql_to_contacted", "contacted_to_sql", "sql_to_demo_held",
                 "demo_held_to_opportunity", "opportunity_to_won")
        return (figure + self._rows([kpi for _, kpi in FUNNEL_KPIS], with_verdict=False)
                + "<p>Conversion from one stage to the next:</p>" + self._rows(rates, with_verdict=False))

    def _leaks(self) -> str:
        summary = self.summary()
        figure = figure_html(leak_figure(summary, self.names), "Where leads leak, by reason")
        present = [kpi for _, kpi in LEAK_KPIS if (summary[summary["kpi"] == kpi]["mean"] > 0).any()]
        return (figure + "<p>Every lead that is not won ends in exactly one of these places.</p>"
                + self._rows(present, with_verdict=False, labels=dict((k, v) for v, k in LEAK_KPIS),
                             notes=("Why it happens", LEAK_WHY)))

    def _speed(self) -> str:
        slas = {n: s.sla.first_touch_minutes for n, s in zip(self.names, [self.baseline, *self.variants])}
        figure = figure_html(speed_to_lead_figure(self.speed, slas),
                             "Share of MQLs first touched within a given time")
        return (f"<p>How long a lead waits, from engaging to its first call. Curves: every MQL of one replication "
                f"(seed {self.speed_seed}, the same leads for every scenario); dashed lines: each first-touch "
                "SLA. Further right means slower; a curve ending below 100% means some leads were never "
                "called.</p>" + figure +
                "<p>Median and 90th percentile count every MQL; a lead never called counts as not touched "
                "(\"not touched\" when too few MQLs were called to reach the percentile). The shares touched "
                "within 5 minutes and 1 hour of engaging, and within 1 business day of the hand-off, are "
                "defined the same way in every scenario.</p>" + self._rows(SPEED_KPIS, with_verdict=False) +
                "<p>The SLA, clause by clause, each against the scenario's own SLA:</p>" +
                self._rows(SLA_KPIS, with_verdict=False))

    def _money(self) -> str:
        summary = self.summary()
        figure = figure_html(money_figure(summary, self.names), "Revenue, cost and cost per acquisition")
        months = self.baseline.months
        return (figure + self._rows(MONEY_KPIS) +
                f'<p class="muted">Revenue counts deals won from the leads of the {_months(months)} simulated; '
                "cost is lead acquisition plus reps for every month they work, including the weeks after the "
                "last lead arrived while its follow-up is worked; cost per acquisition = cost ÷ won "
                "deals.</p>")

    def _assumptions(self) -> str:
        scenarios = [self.baseline, *self.variants]
        table = assumptions_table(scenarios)
        head = "".join(f"<th>{html.escape(n)}</th>" for n in self.names)
        rows = "".join(
            "<tr><td>" + html.escape(str(r["setting"])) + "</td>"
            + "".join(f"<td>{html.escape(str(r[n]))}</td>" for n in self.names) + "</tr>"
            for _, r in table.iterrows())
        descriptions = "".join(f"<li><b>{html.escape(n)}</b>: {html.escape(s.description or 'no description')}</li>"
                               for n, s in zip(self.names, scenarios))
        total = len(_flatten(self.baseline.behaviour_dict()))
        return (f"<ul>{descriptions}</ul><p>The settings in which the scenarios differ (and the horizon); the "
                f"other {total - len(table)} settings are identical — see the scenario files.</p>"
                f"<table><tr><th>Setting</th>{head}</tr>{rows}</table>")

    def _provenance(self) -> str:
        c = self.comparison
        seeds = list(c.seeds)
        seed_text = ", ".join(map(str, seeds)) if len(seeds) <= 12 else \
            f"{', '.join(map(str, seeds[:5]))}, … , {seeds[-1]} ({len(seeds)} seeds)"
        rows = "".join(
            f"<tr><td>{html.escape(n)}</td><td class='text'>{html.escape(p)}</td><td><code>{s.hash}</code></td></tr>"
            for n, p, s in zip(self.names, self.paths, [self.baseline, *self.variants]))
        precision = c.precision if getattr(c, "precision", None) is not None else "none (fixed replications)"
        facts = [
            ("Replications per scenario", str(c.replications)),
            ("Root seed", str(getattr(c, "root_seed", "—"))),
            ("Seeds of the replications", seed_text),
            ("Replications simulated / reused from the result store",
             f"{getattr(c, 'computed', '—')} / {getattr(c, 'reused', '—')}"),
            ("Comparison method", str(c.method)),
            ("Target precision", str(precision)),
            ("Precision reached", {True: "yes", False: "no (maximum replications reached)"}.get(
                getattr(c, "precision_reached", None), "—")),
            ("funnelsim version", self.version),
            ("Python", platform.python_version()),
            ("Created (UTC)", self.created.strftime("%Y-%m-%d %H:%M")),
        ]
        fact_rows = "".join(f"<tr><td>{html.escape(k)}</td><td class='text'>{html.escape(v)}</td></tr>"
                            for k, v in facts)
        return (f"<table><tr><th>Scenario</th><th class='text'>File</th><th>Hash</th></tr>{rows}</table>"
                f"<table>{fact_rows}</table><p class='muted'>Same scenario files, seeds and version give the "
                "same figures.</p>")


# --------------------------------------------------------------------------- sweeps

#: KPIs a sweep shows when neither the sweep file nor the caller names any
DEFAULT_SWEEP_KPIS: tuple[str, ...] = ("won_deals", "revenue_per_month", "cost_per_acquisition",
                                       "speed_to_lead_median")


@dataclass
class SweepStudy:
    """A sweep run and summarised, with an optional staffing answer, ready to show in a notebook."""

    sweep: Sweep
    runs: pd.DataFrame
    summary: pd.DataFrame
    kpis: list[str]
    staffing: Staffing | None = None

    @property
    def factors(self) -> list[str]:
        return [f.name for f in self.sweep.factors]

    def figures(self) -> list[Figure]:
        """Line charts with CI bands (one or two factors in a full factorial; the second as one line per
        value, plus a heat map of the first KPI), else each point's mean against each factor."""
        factors, kpis, summary = self.factors, self.kpis, self.summary
        if self.sweep.design == "full_factorial" and len(factors) == 1:
            return [sweep_figure(summary, factors[0], kpis, title=f"How the KPIs respond to {factors[0]}")]
        if self.sweep.design == "full_factorial" and len(factors) == 2:
            return [sweep_figure(summary, factors[0], kpis, group=factors[1],
                                 title=f"How the KPIs respond to {factors[0]}, one line per {factors[1]}"),
                    sweep_heatmap(summary, factors[0], factors[1], kpis[0])]
        return [sweep_scatter(summary, f, kpis) for f in factors]

    def table(self) -> pd.DataFrame:
        """One row per point (factor values), one column per KPI: 'mean (95% CI low – high)'."""
        rows = []
        for keys, part in self.summary.groupby(["point", *self.factors], sort=True):
            row = dict(zip(["point", *self.factors], keys))
            for r in part.itertuples(index=False):
                if r.kpi in self.kpis:
                    row[kpi_label(r.kpi)] = (f"{_fmt(r.kpi, r.mean)} ({_fmt(r.kpi, r.ci_low)} – "
                                             f"{_fmt(r.kpi, r.ci_high)})")
            rows.append(row)
        return pd.DataFrame(rows).set_index("point")

    def overview_html(self) -> str:
        sw = self.sweep
        factors = "".join(f"<li><b>{html.escape(f.name)}</b>: {html.escape(_factor_text(f))}</li>"
                          for f in sw.factors)
        points = len(self.summary["point"].unique())
        return (f'{_STYLE}<div class="funnelsim-report"><h1>Sweep: {html.escape(sw.name)}</h1>'
                f"<p>{html.escape(sw.description or '')}</p><p>Base scenario <b>{html.escape(sw.base.name)}</b> "
                f"({_months(sw.base.months)} of leads, hash <code>{sw.base.hash}</code>); design "
                f"{html.escape(sw.design.replace('_', ' '))}: {points} points × {sw.replications} replications on "
                f"the same seeds (root seed {sw.seed}). Fields that vary:</p><ul>{factors}</ul>"
                f'<p class="muted">Lines and bars: means over replications; bands and whiskers: 95% confidence '
                f"intervals.</p></div>")

    def staffing_html(self) -> str:
        result = self.staffing
        if result is None:
            return '<div class="funnelsim-report"><h2 id="staffing">Staffing</h2><p>No staffing target given.</p></div>'
        lines = []
        for row in result.summary.to_dict(orient="records"):
            combo = {k: v for k, v in row.items() if k in result.vary}
            where = (" with " + ", ".join(f"{_field_words(k)} = {_value_text(k, v)}" for k, v in combo.items())
                     if combo else "")
            if row["met"]:
                reps = int(row["reps"])
                answer = f"<b>{reps} rep{'s are' if reps != 1 else ' is'}</b> enough"
            else:
                answer = f"<b>not met</b> even with {result.max_reps} reps"
            caution = "" if row.get("monotone", True) else " (more reps did not always help: check the table)"
            lines.append(f"<li>To meet <code>{html.escape(str(result.target))}</code>{html.escape(where)}: "
                         f"{answer}{caution}.</li>")
        table = result.evaluations.copy()
        table_html = table.to_html(index=False, classes="staffing", float_format=lambda v: f"{v:,.3g}")
        return (f'<div class="funnelsim-report"><h2 id="staffing">Staffing</h2><ul>{"".join(lines)}</ul>'
                f"<p class='muted'>Bisection over {result.min_reps}–{result.max_reps} reps, {result.replications} "
                "replications per rep count on the same seeds; every rep count checked:</p>"
                f"{table_html}</div>")

    def show(self, key: str = "overview") -> None:
        """Display 'overview', 'charts', 'table' or 'staffing' in a notebook."""
        from IPython.display import HTML, display

        if key == "overview":
            display(HTML(self.overview_html()))
        elif key == "charts":
            for figure in self.figures():
                display(HTML(figure_html(figure, figure.get_suptitle() or "sweep chart")))
        elif key == "table":
            display(self.table())
        elif key == "staffing":
            display(HTML(self.staffing_html()))
        else:
            raise KeyError(f"unknown part {key!r}; use overview, charts, table or staffing")


def _factor_text(factor: Any) -> str:
    if factor.values is not None:
        return ", ".join(_value_text(factor.name, v) for v in factor.values)
    levels = f" in {factor.levels} levels" if factor.levels else ""
    return f"from {factor.low:g} to {factor.high:g}{levels}{' (whole numbers)' if factor.integer else ''}"


def build_sweep_study(sweep: str | Path | Sweep, *, replications: int | None = None, months: float | None = None,
                      kpis: Sequence[str] | None = None, staffing_target: str | None = None,
                      staffing_replications: int = 5, executor: Executor | str | None = None,
                      workers: int | None = None, dask_address: str | None = None,
                      store: ResultStore | str | Path | None = None, progress: bool = False) -> SweepStudy:
    """Run a sweep (optionally with fewer replications or a shorter horizon) and the staffing search.

    The staffing search varies the number of reps of the sweep's base scenario until
    ``staffing_target`` (e.g. ``"speed_to_lead_median <= 120"``) is met, once per value of
    the other factors of a full factorial (up to 12 combinations).
    """
    plan = load_sweep(sweep) if isinstance(sweep, (str, Path)) else sweep
    changes: dict[str, Any] = {}
    if replications is not None:
        changes["replications"] = int(replications)
    if months is not None:
        changes["base"] = plan.base.with_overrides({"months": months}, source="months")
    plan = dataclasses.replace(plan, **changes)
    chosen = [check_kpi(k, "kpis") for k in (kpis or plan.kpis or DEFAULT_SWEEP_KPIS)]
    goal = parse_target(staffing_target, "staffing_target") if staffing_target else None
    own = isinstance(executor, str) or (executor is None and (workers is not None or dask_address is not None))
    runner = make_executor(executor if isinstance(executor, str) else None, dask_address, workers) if own \
        else executor
    stored = ResultStore(store) if isinstance(store, (str, Path)) else store
    try:
        with owned_executor(runner) as ex:
            runs = run_sweep(plan, executor=ex, store=stored, progress=progress)
            staffing = None
            if goal is not None:
                vary = {f.name: f.grid() for f in plan.factors if f.name != "team.reps"} \
                    if plan.design == "full_factorial" else {}
                if math.prod(len(v) for v in vary.values()) > 12:
                    vary = {}
                staffing = staff(plan.base, goal, replications=staffing_replications, seed=plan.seed, vary=vary,
                                 executor=ex, store=stored, progress=progress)
    finally:
        if own and runner is not None:
            runner.close()
    return SweepStudy(sweep=plan, runs=runs, summary=summarize_sweep(runs), kpis=chosen, staffing=staffing)


def build_report(baseline: str | Path | Scenario, variants: Sequence[str | Path | Scenario], *,
                 replications: int = 10, seed: int = 0, precision: float | None = None,
                 max_replications: int = 100, min_effects: dict[str, float] | None = None,
                 overrides: Sequence[str] = (), months: float | None = None,
                 executor: Executor | str | None = None, workers: int | None = None,
                 dask_address: str | None = None, store: ResultStore | str | Path | None = None,
                 progress: bool = False) -> ABReport:
    """Load the scenarios, run the paired comparison and sample speed-to-lead per scenario.

    ``executor`` is an :class:`~funnelsim.executors.Executor` you manage, or a kind
    (``"serial"``, ``"pool"``, ``"dask"``) that is opened with ``workers`` /
    ``dask_address`` and closed here; ``None`` leaves the choice to :func:`compare`.
    ``store`` (a :class:`~funnelsim.store.ResultStore` or its folder) reuses replications
    already run, e.g. by ``funnelsim compare``.
    """
    if not variants:
        raise InputError("variants", None, "need at least one variant scenario to compare with the baseline")
    extra = [*overrides, *([f"months={months}"] if months is not None else [])]
    loaded: list[Scenario] = []
    paths: list[str] = []
    for item in [baseline, *variants]:
        if isinstance(item, Scenario):
            loaded.append(item.with_overrides(extra) if extra else item)
            paths.append(f"(in memory: {item.name})")
        else:
            loaded.append(load_scenario(item, extra or None))
            paths.append(_shown_path(item))
    base, rest = loaded[0], loaded[1:]
    own = isinstance(executor, str) or (executor is None and (workers is not None or dask_address is not None))
    runner = make_executor(executor if isinstance(executor, str) else None, dask_address, workers) if own \
        else executor
    try:
        comparison = compare(base, rest, replications=replications, seed=seed, precision=precision,
                             max_replications=max_replications, min_effects=min_effects, executor=runner,
                             store=ResultStore(store) if isinstance(store, (str, Path)) else store,
                             progress=progress)
    finally:
        if own and runner is not None:
            runner.close()
    speed_seed = int(list(comparison.seeds)[0])
    speed = {}
    for name, scenario in zip(_unique_names(loaded), loaded):
        leads = simulate(scenario, speed_seed, record_events=False).leads
        speed[name] = speed_to_lead(leads[leads["mql_at"].notna()])
    return ABReport(comparison=comparison, baseline=base, variants=list(rest), paths=paths, speed=speed,
                    speed_seed=speed_seed)


def default_notebook() -> Path:
    """The ab_compare notebook of the source tree this package runs from (or under the working folder)."""
    candidates = [Path(__file__).resolve().parents[2] / "notebooks" / REPORT_NOTEBOOK,
                  Path.cwd() / "notebooks" / REPORT_NOTEBOOK]
    for path in candidates:
        if path.is_file():
            return path
    raise InputError("--notebook", None, f"cannot find notebooks/{REPORT_NOTEBOOK}; pass its path with --notebook")


#: an nbconvert template: the lab look without any script fetched from the network
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style>body.jp-Notebook { max-width: 1040px; margin: 0 auto; padding: 12px 24px; }
.jp-OutputArea-output { overflow-x: auto; }</style>{%- endblock extra_css -%}
"""


def notebook_to_html(notebook: Any, title: str = "funnelsim report") -> str:
    """An executed notebook as self-contained HTML: code, prompts and stderr hidden, no external scripts."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    nb.metadata["title"] = title
    nb.cells = [c for c in nb.cells if "report-skip" not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"funnelsim.html.j2": _TEMPLATE})],
                            template_file="funnelsim.html.j2", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def render_report(baseline: str | Path, variants: Sequence[str | Path], output: str | Path, *,
                  replications: int = 10, seed: int = 0, precision: float | None = None,
                  max_replications: int = 100, min_effects: dict[str, float] | None = None,
                  overrides: Sequence[str] = (), months: float | None = None, executor: str | None = None,
                  workers: int | None = None, dask_address: str | None = None, store: str | Path | None = None,
                  notebook: str | Path | None = None, timeout: int | None = 3600) -> Path:
    """Execute the ab_compare notebook with papermill and write it as one self-contained HTML file."""
    import papermill as pm

    # validate inputs here, so a bad file or field is one clear line before any kernel starts
    extra = [*overrides, *([f"months={months}"] if months is not None else [])]
    scenarios = [load_scenario(p, extra or None) for p in [baseline, *variants]]
    for name in min_effects or {}:
        check_kpi(name, "min_effects")
    source = Path(notebook) if notebook is not None else default_notebook()
    if not source.is_file():
        raise InputError("--notebook", None, f"{source}: file not found")
    check_output_file(output, "--output")  # before the notebook runs, so its work is never lost
    parameters = {
        "baseline": str(Path(baseline).resolve()),
        "variants": [str(Path(v).resolve()) for v in variants],
        "replications": int(replications), "seed": int(seed), "precision": precision,
        "max_replications": int(max_replications), "min_effects": dict(min_effects or {}) or None,
        "overrides": list(overrides), "months": months, "executor": executor, "workers": workers,
        "dask_address": dask_address, "store": str(Path(store).resolve()) if store is not None else None,
    }
    title = f"{' / '.join(s.name for s in scenarios[1:])} vs {scenarios[0].name}"
    with tempfile.TemporaryDirectory(prefix="funnelsim-report-") as tmp:
        executed = Path(tmp) / REPORT_NOTEBOOK
        try:
            pm.execute_notebook(str(source), str(executed), parameters=parameters, kernel_name="python3",
                                progress_bar=False, log_output=False, cwd=str(source.parent),
                                execution_timeout=timeout, extra_arguments=["--IPKernelApp.log_level=ERROR"])
        except pm.PapermillExecutionError as exc:
            raise FunnelsimError(f"{source.name}: the notebook failed in cell {exc.exec_count}: "
                                 f"{exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}") from None
        page = notebook_to_html(executed, title)
    return write_text(output, page)
