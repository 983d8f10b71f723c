"""The what-if panel: move a lever, see the funnel and speed-to-lead respond.

:class:`WhatIfPanel` wraps a scenario in ipywidgets controls (reps, first-touch SLA, lead
cap, reclaim of untouched leads, call attempts, queue order, routing). Each change
re-simulates a few replications of a short horizon (one month by default, so an update
takes well under two seconds) with the same seeds as the unchanged baseline, and redraws
the charts beside it. Charts are PNG bytes in ``ipywidgets.Image`` widgets, so the panel
works — and can be tested — without a browser: set ``panel.reps.value = 2`` and read
``panel.summary`` or ``panel.funnel_image.value``.

One definition of each figure: the table and the charts take their numbers from the same
summary and format them with the same formatter (the speed-to-lead legend's median is the
table's), and each clock is named — speed-to-lead is wall clock from the lead engaging, the
first-touch SLA counts business hours from the hand-off. The what-if column is named after
what changed (:func:`funnelsim.present.words.what_if_name`, "6 reps, 5-min SLA"); every
piece of HTML is marked so MathJax leaves its dollar signs alone (:mod:`.html`).
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
from ..metrics import comparability_note, kpi_label, kpi_range, kpis, speed_to_lead
from ..scenario import Scenario, load_scenario
from ..simulation import simulate
from ..stats import summarise
from ..vocabulary import QUEUE_ORDER_WORDS, ROUTING_POLICY_LABELS
from .format import format_minutes, format_value, months_text
from .html import frame_html, no_maths
from .plots import SLA_CLOCK, SPEED_CLOCK, figure_png, funnel_figure, speed_legend, speed_to_lead_figure
from .words import what_if_name

__all__ = ["WhatIfPanel", "SummaryFrame", "LiveSummary", "SLA_CHOICES", "LEAD_CAP_CHOICES", "RECLAIM_CHOICES",
           "SUMMARY_KPIS", "ROW_LABELS", "WHAT_IF", "NONE"]

#: the what-if's key in ``panel.summary`` and :meth:`WhatIfPanel.value` (people see its words instead)
WHAT_IF = "what_if"

#: first-touch SLA choices shown in the dropdown: (label, minutes)
SLA_CHOICES: tuple[tuple[str, float], ...] = (
    ("5 minutes", 5.0), ("15 minutes", 15.0), ("30 minutes", 30.0), ("1 hour", 60.0),
    ("4 hours", 240.0), ("1 working day", 480.0), ("1 day", 1440.0),
)
#: the dropdowns' value for "no cap" and "never": ipywidgets 8 shows a ``None`` value as no
#: selection at all (a blank box), so the panel says "none" with 0 and reads it back as None
NONE = 0
#: per-rep lead cap choices: (label, cap; NONE for no cap). In the baseline the seniors hold
#: about 150 open leads each after one month and 700-800 after a few: the small caps bind on
#: the panel's short horizon, the large ones on a longer one
LEAD_CAP_CHOICES: tuple[tuple[str, int], ...] = (
    ("no cap", NONE), ("25 open leads", 25), ("50 open leads", 50), ("100 open leads", 100),
    ("250 open leads", 250), ("500 open leads", 500),
)
#: redistribution: a lead its rep has not touched this many days goes back to the pool (NONE: never).
#: With a cap, this is the "cap with redistribution" of scenarios/lead_cap_500.yaml
RECLAIM_CHOICES: tuple[tuple[str, float], ...] = (
    ("never", float(NONE)), ("3 days", 3.0), ("7 days", 7.0), ("14 days", 14.0), ("30 days", 30.0),
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
#: table rows whose KPI label does not say its clock: here it is said
ROW_LABELS: dict[str, str] = {
    "speed_to_lead_median": f"Speed-to-lead, median of all MQLs ({SPEED_CLOCK})",
    "touched_within_1_hour": f"MQLs touched within 1 hour ({SPEED_CLOCK})",
    "sla_compliance": f"MQLs touched within the first-touch SLA ({SLA_CLOCK})",
}
MAX_ATTEMPTS = 12
_EXTRA_ATTEMPT_GAP = 2 * 1440.0  # attempts beyond the scenario's cadence: every two days


class SummaryFrame(pd.DataFrame):
    """A summary table that shows in a notebook as HTML no front-end reads as maths."""

    @property
    def _constructor(self) -> type[SummaryFrame]:
        return SummaryFrame

    def _repr_html_(self) -> str:
        return frame_html(self)


class LiveSummary:
    """The panel's summary table as a notebook output that follows the panel.

    Displayed, it is the panel's :attr:`~WhatIfPanel.summary_view` widget, which every update
    redraws, in JupyterLab and in the Voilà app alike (Voilà renders plain outputs once, on the
    server, so an updated display would never reach its page). The same output carries the
    table as HTML for readers without widgets (an executed notebook converted to HTML).
    """

    def __init__(self, panel: WhatIfPanel) -> None:
        self.panel = panel

    def _repr_html_(self) -> str:
        return str(self.panel.summary_view.value)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        view = self.panel.summary_view
        display({"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                               "model_id": view.model_id},
                 "text/html": self._repr_html_(), "text/plain": "the what-if summary table"}, raw=True)


def _row_label(kpi: str) -> str:
    return ROW_LABELS.get(kpi, kpi_label(kpi))


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
        style = {"description_width": "210px"}
        layout = w.Layout(width="480px")
        # from no reps at all (the extreme condition: nothing is contacted) to several times the team
        self.reps = w.IntSlider(value=team.reps, min=0, max=max(MIN_REPS_RANGE, 4 * team.reps),
                                description="Sales reps (people)", continuous_update=False, style=style, layout=layout)
        self.first_touch_sla = w.Dropdown(
            options=_with_choice(SLA_CHOICES, sla.first_touch_minutes, format_minutes(sla.first_touch_minutes)),
            value=sla.first_touch_minutes, description="First-touch SLA (business time)", style=style,
            layout=layout)
        cap = NONE if routing.lead_cap is None else routing.lead_cap
        self.lead_cap = w.Dropdown(options=_with_choice(LEAD_CAP_CHOICES, cap, f"{cap} open leads"), value=cap,
                                   description="Lead cap per rep", style=style, layout=layout)
        reclaim = float(NONE) if routing.reclaim_untouched_days is None else routing.reclaim_untouched_days
        reclaim_label = f"{reclaim:g} day{'' if reclaim == 1 else 's'}"
        self.reclaim = w.Dropdown(options=_with_choice(RECLAIM_CHOICES, reclaim, reclaim_label), value=reclaim,
                                  description="Reclaim untouched after", style=style, layout=layout)
        self.attempts = w.IntSlider(value=len(self.baseline.follow_up.attempt_offsets), min=1,
                                    max=max(MAX_ATTEMPTS, len(self.baseline.follow_up.attempt_offsets)),
                                    description="Call attempts (per lead)", continuous_update=False, style=style,
                                    layout=layout)
        self.queue_order = w.Dropdown(options=list(QUEUE_ORDERS), value=team.queue_order, description="Queue order",
                                      style=style, layout=layout)
        self.routing = w.Dropdown(options=list(ROUTING_POLICIES), value=routing.policy, description="Routing",
                                  style=style, layout=layout)
        self.status = w.HTML()
        self.table = w.HTML()
        #: the summary table below the panel: updated with every recompute, so it is never stale
        self.summary_view = w.HTML()
        self.reset_button = w.Button(description="Reset to baseline", icon="undo", layout=w.Layout(width="auto"),
                                     tooltip="Put every lever back at the baseline's setting")
        self.reset_button.on_click(lambda _: self.reset())
        self.busy = False
        self.funnel_image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.speed_image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        #: the speed chart's legend in words (an Image widget has no alt text)
        self.speed_caption = w.HTML()
        note = w.HTML(no_maths(
            f"<p><b>What if…</b> {html.escape(self.baseline.name)}: move a lever; the what-if re-simulates "
            f"{self.replications} replications of <b>{months_text(self.months)}</b> "
            "of leads (a short horizon, so figures are rough; use the A/B report for decisions) with the same "
            f"leads as the baseline. Speed-to-lead is {SPEED_CLOCK}; the first-touch SLA counts "
            f"{SLA_CLOCK}.</p>"))
        controls = w.VBox([self.reps, self.first_touch_sla, self.lead_cap, self.reclaim, self.attempts,
                           self.queue_order, self.routing, self.reset_button])
        self.widget = w.VBox([note, w.HBox([controls, self.table]), self.status, self.funnel_image,
                              self.speed_image, self.speed_caption])
        self.controls = (self.reps, self.first_touch_sla, self.lead_cap, self.reclaim, self.attempts,
                         self.queue_order, self.routing)
        self._initial = {c: c.value for c in self.controls}
        self._resetting = False
        self._baseline_runs, self._baseline_speed = self._simulate(self.baseline)
        self.summary = pd.DataFrame()
        self.what_if_name = WHAT_IF
        self.speed_figure: Any = None  # the last charts drawn (matplotlib Figures), as shown in the images
        self.funnel_figure: Any = None
        self.last_seconds = math.nan
        self.update()
        for control in self.controls:
            control.observe(self._changed, names="value")

    # ------------------------------------------------------------------ controls

    def _changed(self, change: Any = None) -> None:
        if not self._resetting:
            self.update()

    def reset(self) -> None:
        """Put every lever back at the baseline's setting and recompute once."""
        self._resetting = True
        try:
            for control, value in self._initial.items():
                control.value = value
        finally:
            self._resetting = False
        self.update()

    @property
    def lead_cap_setting(self) -> int | None:
        """The lead cap the dropdown says, as the scenario writes it (None: no cap)."""
        return None if self.lead_cap.value == NONE else int(self.lead_cap.value)

    @property
    def reclaim_setting(self) -> float | None:
        """The reclaim period the dropdown says, in days, as the scenario writes it (None: never)."""
        return None if self.reclaim.value == NONE else float(self.reclaim.value)

    def settings_text(self) -> list[str]:
        """Each lever's current setting with its unit: 'First-touch SLA = 1 hour (business hours from …)'."""
        sla = float(self.first_touch_sla.value)
        cap, reclaim, reps = self.lead_cap_setting, self.reclaim_setting, int(self.reps.value)
        return [
            f"Sales reps = {reps} rep{'' if reps == 1 else 's'}",
            f"First-touch SLA = {format_minutes(sla)} ({SLA_CLOCK})",
            "Lead cap per rep = " + ("no cap" if cap is None else f"{cap} open leads"),
            "Reclaim untouched after = " + ("never" if reclaim is None else f"{reclaim:g} days"),
            f"Call attempts = {int(self.attempts.value)} calls per lead",
            f"Queue order = {dict((v, k) for k, v in QUEUE_ORDERS)[self.queue_order.value]}",
            f"Routing = {dict((v, k) for k, v in ROUTING_POLICIES)[self.routing.value]}",
        ]

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for control in (*self.controls, self.reset_button):
            control.disabled = busy
        self.reset_button.description = "Re-simulating…" if busy else "Reset to baseline"
        self.reset_button.icon = "hourglass-half" if busy else "undo"
        if busy:
            self.status.value = no_maths(f"<small><b>Re-simulating</b> {self.replications} replications × "
                                         f"{months_text(self.months)}…</small>")

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
            "name": WHAT_IF,
            "team.reps": int(self.reps.value),
            "sla.first_touch_minutes": float(self.first_touch_sla.value),
            "routing.lead_cap": self.lead_cap_setting,
            "routing.reclaim_untouched_days": self.reclaim_setting,
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
        """Re-simulate the what-if and redraw every output (called on each control change).

        While it runs the controls are disabled and the status and button say so; the table,
        both charts and :attr:`summary_view` are redrawn from one summary.
        """
        started = time.perf_counter()
        self._set_busy(True)
        try:
            what_if = self.scenario()
            runs, speed = self._simulate(what_if)
            both = pd.concat([self._baseline_runs, runs], ignore_index=True)
            self.summary = summarise(both, by=["scenario", "kpi"], bounds=kpi_range)
            self.what_if_name = shown = self._shown_name(what_if)
            keys = [self.baseline.name, WHAT_IF]
            names = [self.baseline.name, shown]
            on_charts = self.summary.assign(scenario=self.summary["scenario"].map({WHAT_IF: shown}).fillna(
                self.summary["scenario"]))
            self.funnel_figure = funnel_figure(on_charts, names, title="The funnel, baseline vs what-if")
            self.funnel_image.value = figure_png(self.funnel_figure, dpi=80)
            self.speed_figure = speed_to_lead_figure(
                {self.baseline.name: self._baseline_speed, shown: speed},
                {self.baseline.name: self.baseline.sla.first_touch_minutes, shown: what_if.sla.first_touch_minutes},
                labels={name: self.speed_label(key, name) for key, name in zip(keys, names)})
            self.speed_image.value = figure_png(self.speed_figure, dpi=80)
            # the legend in words below the chart: read by a screen reader (and a browser test)
            self.speed_caption.value = no_maths(
                "<small>Speed-to-lead: " + html.escape("; ".join(
                    self.speed_label(key, name) for key, name in zip(keys, names))) + "</small>",
                css="funnelsim-speed-legend")
            notes = {k: comparability_note(k, [self.baseline, what_if]) for k in SUMMARY_KPIS}
            self.table.value = self._table_html(keys, names, {k: n for k, n in notes.items() if n})
            self.summary_view.value = self._summary_html()
        finally:
            self._set_busy(False)
        self.last_seconds = time.perf_counter() - started
        self.status.value = no_maths(
            f"<small>Re-simulated {self.replications} replications × {months_text(self.months)} in "
            f"{self.last_seconds:.1f} s. What-if: {html.escape('; '.join(self.settings_text()))}.</small>")

    def _shown_name(self, what_if: Scenario) -> str:
        name = what_if_name(self.baseline, what_if)
        return name if name != self.baseline.name else f"{name} (what-if)"

    def speed_label(self, scenario: str, name: str | None = None) -> str:
        """The speed-to-lead chart's legend for one scenario, from the table's own figures and formatter."""
        return speed_legend(name or scenario, self.value("speed_to_lead_median", scenario),
                            self.value("touched_within_1_hour", scenario))

    def value(self, kpi: str, scenario: str = WHAT_IF) -> float:
        """Mean of one KPI over the replications of the last update (``scenario``: 'what_if' or the baseline name)."""
        row = self.summary[(self.summary["scenario"] == scenario) & (self.summary["kpi"] == kpi)]
        return float(row["mean"].iloc[0]) if len(row) else math.nan

    def summary_table(self, kpis: tuple[str, ...] = SUMMARY_KPIS) -> SummaryFrame:
        """The last update's figures: one row per KPI, mean and 95% CI for baseline and what-if.

        A snapshot; :meth:`live_summary` is the same table kept up to date below the panel.
        """
        rows = []
        keys = {self.baseline.name: self.baseline.name, WHAT_IF: self.what_if_name}
        for kpi in kpis:
            row: dict[str, Any] = {"kpi": _row_label(kpi)}
            for key, shown in keys.items():
                part = self.summary[(self.summary["scenario"] == key) & (self.summary["kpi"] == kpi)]
                if len(part):
                    r = part.iloc[0]
                    row[shown] = (f"{format_value(kpi, r['mean'])} ({format_value(kpi, r['ci_low'])} – "
                                  f"{format_value(kpi, r['ci_high'])})")
            rows.append(row)
        return SummaryFrame(pd.DataFrame(rows).set_index("kpi"))

    def live_summary(self) -> LiveSummary:
        """The summary table for a cell below the panel: displayed, it is redrawn on every update."""
        return LiveSummary(self)

    def _summary_html(self) -> str:
        table = self.summary_table()
        head = "".join(f"<th data-scenario='{key}' style='text-align:right;padding:2px 8px'>{html.escape(n)}</th>"
                       for key, n in zip((self.baseline.name, WHAT_IF), table.columns))
        body = "".join(f"<tr><td style='padding:2px 8px'>{html.escape(str(kpi))}</td>" +
                       "".join(f"<td style='text-align:right;padding:2px 8px'>{html.escape(str(v))}</td>"
                               for v in row) + "</tr>" for kpi, row in table.iterrows())
        return no_maths(f"<p>Means and 95% confidence intervals over the {self.replications} replications of the "
                        f"last update (it follows the panel):</p><table style='border-collapse:collapse'>"
                        f"<tr><th></th>{head}</tr>{body}</table>", css="funnelsim-summary")

    def _table_html(self, keys: list[str], names: list[str], notes: dict[str, str] | None = None) -> str:
        """Baseline beside what-if; `notes` (KPI -> why) marks measures the two define differently."""
        notes = notes or {}
        head = "".join(f"<th data-scenario='{html.escape(k)}' style='text-align:right;padding:2px 8px'>"
                       f"{html.escape(n)}</th>" for k, n in zip(keys, names))
        body = []
        for kpi in SUMMARY_KPIS:
            cells = "".join(f"<td data-kpi='{kpi}' style='text-align:right;padding:2px 8px'>"
                            f"{html.escape(format_value(kpi, self.value(kpi, k)))}</td>" for k in keys)
            mark = " *" if kpi in notes else ""
            body.append(f"<tr><td style='padding:2px 8px'>{html.escape(_row_label(kpi))}{mark}</td>{cells}</tr>")
        footnotes = "".join(f"<br>* {html.escape(kpi_label(k))}: {html.escape(n)}" for k, n in notes.items())
        return no_maths(f"<table style='border-collapse:collapse;margin-left:24px'><tr><th></th>{head}</tr>"
                        f"{''.join(body)}</table><p style='margin-left:24px'><small>Means over {self.replications} "
                        f"replications of {months_text(self.months)}.{footnotes}</small></p>")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
