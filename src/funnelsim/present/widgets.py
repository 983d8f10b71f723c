"""The what-if panel: move a lever, see the funnel and speed-to-lead respond.

:class:`WhatIfPanel` wraps a scenario in ipywidgets controls (reps, first-touch SLA, lead
cap, reclaim of untouched leads, call attempts, queue order, routing). Each change
re-simulates a few replications of a short horizon (one month by default, so an update
takes well under two seconds) with the same seeds as the unchanged baseline, and redraws
the charts beside it. Charts are PNG bytes in ``ipywidgets.Image`` widgets, so the panel
works — and can be tested — without a browser: set ``panel.reps.value = 2`` and read
``panel.summary`` or ``panel.funnel_image.value``.
"""

from __future__ import annotations

import html
import math
import time
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from ..experiments.replicate import replication_seeds
from ..metrics import comparability_note, kpi_label, kpis, speed_to_lead
from ..scenario import Scenario, load_scenario
from ..simulation import simulate
from ..stats import summarise
from ..vocabulary import QUEUE_ORDER_WORDS, ROUTING_POLICY_LABELS
from .format import format_minutes, format_value, months_text
from .plots import figure_png, funnel_figure, speed_to_lead_figure

__all__ = ["WhatIfPanel", "SLA_CHOICES", "LEAD_CAP_CHOICES", "RECLAIM_CHOICES", "SUMMARY_KPIS"]

#: first-touch SLA choices shown in the dropdown: (label, minutes)
SLA_CHOICES: tuple[tuple[str, float], ...] = (
    ("5 minutes", 5.0), ("15 minutes", 15.0), ("30 minutes", 30.0), ("1 hour", 60.0),
    ("4 hours", 240.0), ("1 working day", 480.0), ("1 day", 1440.0),
)
#: per-rep lead cap choices: (label, cap or None for no cap). In the baseline the seniors hold
#: about 150 open leads each after one month and 700-800 after a few: the small caps bind on
#: the panel's short horizon, the large ones on a longer one
LEAD_CAP_CHOICES: tuple[tuple[str, int | None], ...] = (
    ("no cap", None), ("25 leads", 25), ("50 leads", 50), ("100 leads", 100), ("250 leads", 250),
    ("500 leads", 500),
)
#: redistribution: a lead its rep has not touched this many days goes back to the pool (None: never).
#: With a cap, this is the "cap with redistribution" of scenarios/lead_cap_500.yaml
RECLAIM_CHOICES: tuple[tuple[str, float | None], ...] = (
    ("never", None), ("3 days", 3.0), ("7 days", 7.0), ("14 days", 14.0), ("30 days", 30.0),
)
#: the fewest reps the slider reaches at its top (a team several times the scenario's also shows
#: where added reps only idle)
MIN_REPS_RANGE = 16
QUEUE_ORDERS: tuple[tuple[str, str], ...] = tuple((words, order) for order, words in QUEUE_ORDER_WORDS.items())
ROUTING_POLICIES: tuple[tuple[str, str], ...] = tuple((label, policy)
                                                      for policy, label in ROUTING_POLICY_LABELS.items())
#: KPIs in the panel's table, baseline beside what-if
SUMMARY_KPIS: tuple[str, ...] = (
    "mqls", "contacted", "won_deals", "speed_to_lead_median", "touched_within_1_hour", "sla_compliance",
    "revenue_per_month", "cost_per_acquisition",
)
MAX_ATTEMPTS = 12
_EXTRA_ATTEMPT_GAP = 2 * 1440.0  # attempts beyond the scenario's cadence: every two days


def _with_choice(choices: tuple[tuple[str, Any], ...], value: Any, label: str) -> list[tuple[str, Any]]:
    options = list(choices)
    if all(v != value for _, v in options):
        options.append((label, value))
    return options


class WhatIfPanel:
    """An ipywidgets panel around one scenario; display it in a notebook, or drive it from Python.

    Attributes of interest: the controls ``reps``, ``first_touch_sla``, ``lead_cap``,
    ``reclaim``, ``attempts``, ``queue_order``, ``routing``; the outputs ``summary`` (a
    DataFrame of KPI means, baseline vs what-if), ``funnel_image`` and ``speed_image`` (PNG widgets),
    ``last_seconds`` (time of the last update) and ``widget`` (the whole panel).
    """

    def __init__(self, scenario: Scenario | str | Path, *, replications: int = 3, months: float = 1.0,
                 seed: int = 0) -> None:
        if isinstance(scenario, (str, Path)):
            scenario = load_scenario(scenario)
        if replications < 1:
            raise ValueError("replications must be at least 1")
        self.baseline = scenario.with_overrides({"months": months})
        self.replications = int(replications)
        self.months = float(months)
        self.seeds = list(replication_seeds(seed, self.replications))
        team, sla, routing = self.baseline.team, self.baseline.sla, self.baseline.routing
        style = {"description_width": "150px"}
        layout = w.Layout(width="420px")
        # from no reps at all (the extreme condition: nothing is contacted) to several times the team
        self.reps = w.IntSlider(value=team.reps, min=0, max=max(MIN_REPS_RANGE, 4 * team.reps),
                                description="Sales reps", continuous_update=False, style=style, layout=layout)
        self.first_touch_sla = w.Dropdown(
            options=_with_choice(SLA_CHOICES, sla.first_touch_minutes, format_minutes(sla.first_touch_minutes)),
            value=sla.first_touch_minutes, description="First-touch SLA", style=style, layout=layout)
        self.lead_cap = w.Dropdown(
            options=_with_choice(LEAD_CAP_CHOICES, routing.lead_cap, f"{routing.lead_cap} leads"),
            value=routing.lead_cap, description="Lead cap per rep", style=style, layout=layout)
        reclaim = routing.reclaim_untouched_days
        reclaim_label = "never" if reclaim is None else f"{reclaim:g} day{'' if reclaim == 1 else 's'}"
        self.reclaim = w.Dropdown(options=_with_choice(RECLAIM_CHOICES, reclaim, reclaim_label), value=reclaim,
                                  description="Reclaim untouched after", style=style, layout=layout)
        self.attempts = w.IntSlider(value=len(self.baseline.follow_up.attempt_offsets), min=1,
                                    max=max(MAX_ATTEMPTS, len(self.baseline.follow_up.attempt_offsets)),
                                    description="Call attempts", continuous_update=False, style=style,
                                    layout=layout)
        self.queue_order = w.Dropdown(options=list(QUEUE_ORDERS), value=team.queue_order, description="Queue order",
                                      style=style, layout=layout)
        self.routing = w.Dropdown(options=list(ROUTING_POLICIES), value=routing.policy, description="Routing",
                                  style=style, layout=layout)
        self.status = w.HTML()
        self.table = w.HTML()
        self.funnel_image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.speed_image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        note = w.HTML(
            f"<p><b>What if…</b> {html.escape(self.baseline.name)}: move a lever; the what-if re-simulates "
            f"{self.replications} replications of <b>{months_text(self.months)}</b> "
            "of leads (a short horizon, so figures are rough; use the A/B report for decisions) with the same "
            "leads as the baseline.</p>")
        controls = w.VBox([self.reps, self.first_touch_sla, self.lead_cap, self.reclaim, self.attempts,
                           self.queue_order, self.routing])
        self.widget = w.VBox([note, w.HBox([controls, self.table]), self.status, self.funnel_image,
                              self.speed_image])
        self.controls = (self.reps, self.first_touch_sla, self.lead_cap, self.reclaim, self.attempts,
                         self.queue_order, self.routing)
        self._baseline_runs, self._baseline_speed = self._simulate(self.baseline)
        self.summary = pd.DataFrame()
        self.last_seconds = math.nan
        self.update()
        for control in self.controls:
            control.observe(self.update, names="value")

    # ------------------------------------------------------------------ levers

    def attempt_offsets(self, attempts: int) -> list[float]:
        """The baseline's cadence cut to ``attempts`` calls, or extended by a call every two days."""
        offsets = list(self.baseline.follow_up.attempt_offsets)
        while len(offsets) < attempts:
            offsets.append(offsets[-1] + _EXTRA_ATTEMPT_GAP)
        return offsets[:attempts]

    def scenario(self) -> Scenario:
        """The baseline with the panel's current lever settings."""
        return self.baseline.with_overrides({
            "name": "what_if",
            "team.reps": int(self.reps.value),
            "sla.first_touch_minutes": float(self.first_touch_sla.value),
            "routing.lead_cap": self.lead_cap.value,
            "routing.reclaim_untouched_days": self.reclaim.value,
            "follow_up.attempt_offsets": self.attempt_offsets(int(self.attempts.value)),
            "team.queue_order": self.queue_order.value,
            "routing.policy": self.routing.value,
        }, source="what-if panel")

    # ------------------------------------------------------------------ simulation

    def _simulate(self, scenario: Scenario) -> tuple[pd.DataFrame, np.ndarray]:
        rows: list[dict[str, Any]] = []
        speed: list[np.ndarray] = []
        for replication, seed in enumerate(self.seeds):
            result = simulate(scenario, seed, record_events=False)
            for kpi, value in kpis(result).items():
                rows.append({"scenario": scenario.name, "replication": replication, "kpi": kpi, "value": value})
            mql = result.leads[result.leads["mql_at"].notna()]
            speed.append(speed_to_lead(mql))
        runs = pd.DataFrame(rows)
        months = scenario.months
        cost = runs[runs["kpi"] == "total_cost"].assign(kpi="cost_per_month")
        cost["value"] = cost["value"] / months
        return pd.concat([runs, cost], ignore_index=True), np.concatenate(speed)

    def update(self, change: Any = None) -> None:
        """Re-simulate the what-if and redraw every output (called on each control change)."""
        started = time.perf_counter()
        what_if = self.scenario()
        runs, speed = self._simulate(what_if)
        both = pd.concat([self._baseline_runs, runs], ignore_index=True)
        summary = summarise(both, by=["scenario", "kpi"])
        names = [self.baseline.name, what_if.name]
        self.summary = summary
        self.funnel_image.value = figure_png(funnel_figure(summary, names, title="The funnel, baseline vs what-if"),
                                             dpi=80)
        self.speed_image.value = figure_png(speed_to_lead_figure(
            {self.baseline.name: self._baseline_speed, what_if.name: speed},
            {self.baseline.name: self.baseline.sla.first_touch_minutes, what_if.name: what_if.sla.first_touch_minutes},
        ), dpi=80)
        notes = {k: comparability_note(k, [self.baseline, what_if]) for k in SUMMARY_KPIS}
        self.table.value = self._table_html(summary, names, {k: n for k, n in notes.items() if n})
        self.last_seconds = time.perf_counter() - started
        self.status.value = (f"<small>Re-simulated {self.replications} replications × {self.months:g} month(s) "
                             f"in {self.last_seconds:.1f} s.</small>")

    def value(self, kpi: str, scenario: str = "what_if") -> float:
        """Mean of one KPI over the replications of the last update (``scenario``: 'what_if' or the baseline name)."""
        row = self.summary[(self.summary["scenario"] == scenario) & (self.summary["kpi"] == kpi)]
        return float(row["mean"].iloc[0]) if len(row) else math.nan

    def summary_table(self, kpis: tuple[str, ...] = SUMMARY_KPIS) -> pd.DataFrame:
        """The last update's figures: one row per KPI, mean and 95% CI for baseline and what-if."""
        rows = []
        for kpi in kpis:
            row: dict[str, Any] = {"kpi": kpi_label(kpi)}
            for name in self.summary["scenario"].unique():
                part = self.summary[(self.summary["scenario"] == name) & (self.summary["kpi"] == kpi)]
                if len(part):
                    r = part.iloc[0]
                    row[name] = (f"{format_value(kpi, r['mean'])} ({format_value(kpi, r['ci_low'])} – "
                                 f"{format_value(kpi, r['ci_high'])})")
            rows.append(row)
        return pd.DataFrame(rows).set_index("kpi")

    def _table_html(self, summary: pd.DataFrame, names: list[str], notes: dict[str, str] | None = None) -> str:
        """Baseline beside what-if; `notes` (KPI -> why) marks measures the two define differently."""
        notes = notes or {}
        head = "".join(f"<th style='text-align:right;padding:2px 8px'>{html.escape(n)}</th>" for n in names)
        body = []
        for kpi in SUMMARY_KPIS:
            cells = "".join(f"<td style='text-align:right;padding:2px 8px'>{format_value(kpi, self.value(kpi, n))}</td>"
                            for n in names)
            mark = " *" if kpi in notes else ""
            body.append(f"<tr><td style='padding:2px 8px'>{html.escape(kpi_label(kpi))}{mark}</td>{cells}</tr>")
        footnotes = "".join(f"<br>* {html.escape(kpi_label(k))}: {html.escape(n)}" for k, n in notes.items())
        return (f"<table style='border-collapse:collapse;margin-left:24px'><tr><th></th>{head}</tr>"
                f"{''.join(body)}</table><p style='margin-left:24px'><small>Means over {self.replications} "
                f"replications of {self.months:g} month(s).{footnotes}</small></p>")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
