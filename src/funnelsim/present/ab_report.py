"""The leadership report: a finished A/B comparison in plain language, with charts and provenance.

:class:`ABReport` takes a finished :class:`~funnelsim.experiments.compare.Comparison` (and one
replication's speed-to-lead per scenario, drawn by whoever ran the comparison) and only
presents it: HTML sections with stable headings (:data:`SECTIONS`), rendered from the
jinja2 templates in ``templates/ab/``, which the ``ab_compare`` notebook displays one per
cell. :mod:`funnelsim.present.render` turns the executed notebook into one HTML file.

The summary opens with a sentence such as "Following up within 5 minutes instead of
1 hour raises won deals by 18% (95% CI 11–25%) and revenue by $60k a month (95% CI
$40k–$80k), at no extra cost" (:func:`funnelsim.present.words.summary_sentences`).
"""

from __future__ import annotations

import datetime as dt
import math
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..experiments.compare import Comparison
from ..metrics import kpi_label, kpi_range
from ..scenario import Scenario
from ..stats import summarise
from ..vocabulary import LEAK_WHY
from .format import change_text, format_value, months_text
from .html import Markup, render
from .plots import (
    FUNNEL_KPIS,
    LEAK_KPIS,
    effect_figure,
    figure_html,
    funnel_figure,
    leak_figure,
    money_figure,
    speed_to_lead_figure,
)
from .words import comparison_row, flatten, assumptions_table, summary_sentences, verdict_words

__all__ = ["SECTIONS", "ABReport", "VERDICT_KPIS", "SPEED_KPIS", "SLA_KPIS", "MONEY_KPIS", "PROJECT_ROOT"]

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
#: KPIs of the verdict table, in order
VERDICT_KPIS: tuple[str, ...] = (
    "won_deals", "revenue_per_month", "cost_per_acquisition", "lead_to_won", "contacted", "sqls",
    "speed_to_lead_median", "touched_within_1_hour", "sla_compliance",
)
#: stage-to-stage conversion rates under the funnel chart
RATE_KPIS: tuple[str, ...] = (
    "lead_to_won", "mql_to_contacted", "contacted_to_sql", "sql_to_demo_held", "demo_held_to_opportunity",
    "opportunity_to_won",
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
#: the project folder: scenario paths inside it are shown relative to it
PROJECT_ROOT = Path(__file__).resolve().parents[3]
_VERDICT_CLASSES = {"B wins": "verdict-B", "A wins": "verdict-A", "no practical difference": "verdict-none",
                    "not enough replications yet": "verdict-more", "not comparable": "verdict-none",
                    "no verdict": "verdict-none"}


def _verdict_class(verdict: str) -> str:
    return _VERDICT_CLASSES.get(verdict, "verdict-none")


def shown_path(path: str | Path | None, name: str) -> str:
    """A scenario's file as a reader of the report knows it: relative to the project when inside it."""
    if path is None:
        return f"(in memory: {name})"
    path = Path(path)
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


@dataclass
class ABReport:
    """Everything the report shows: a finished comparison, where its scenarios came from, speed samples.

    ``paths`` holds each scenario's file, baseline first (``None`` for a scenario built in
    memory); ``speed`` maps each display name to the speed-to-lead in minutes of every MQL of
    one replication (seed ``speed_seed``), for the speed-to-lead chart.
    """

    comparison: Comparison
    paths: Sequence[str | Path | None]
    speed: Mapping[str, np.ndarray]
    speed_seed: int
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    version: str = __version__

    @property
    def baseline(self) -> Scenario:
        return self.comparison.baseline

    @property
    def variants(self) -> list[Scenario]:
        return list(self.comparison.variants)

    @property
    def scenarios(self) -> list[Scenario]:
        return [self.baseline, *self.variants]

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
        months = {n: s.months for n, s in zip(self.names, self.scenarios)}
        cost = runs[runs["kpi"] == "total_cost"].copy()
        cost["kpi"] = "cost_per_month"
        cost["value"] = cost["value"] / cost["scenario"].map(lambda n: months.get(n, 1))
        return summarise(pd.concat([runs, cost], ignore_index=True), by=["scenario", "kpi"], bounds=kpi_range)

    # ------------------------------------------------------------------ HTML

    def header(self) -> str:
        return render("ab/header.html.j2", title=self.title, version=self.version,
                      made=self.created.strftime("%d %B %Y"))

    def section(self, key: str) -> str:
        """One section's HTML, starting with its stable heading."""
        headings = dict(SECTIONS)
        if key not in headings:
            raise KeyError(f"unknown section {key!r}; sections are {[k for k, _ in SECTIONS]}")
        context = self._section_contexts()[key]()
        return render("ab/section.html.j2", key=key, heading=headings[key], **context)

    def show(self, key: str | None = None) -> None:
        """Display the header (``key=None``) or one section in a notebook."""
        from IPython.display import HTML, display

        display(HTML(self.header() if key is None else self.section(key)))  # each marked NO_MATHS

    def to_html(self) -> str:
        """The whole report as one HTML document without a notebook (previews, tests)."""
        body = "\n".join([self.header(), *(self.section(k) for k, _ in SECTIONS)])
        return render("ab/document.html.j2", title=self.title, body=Markup(body))

    # ------------------------------------------------------------------ what each section shows

    def _section_contexts(self) -> dict[str, Callable[[], dict[str, Any]]]:
        return {"summary": self._summary, "verdict": self._verdict, "funnel": self._funnel, "leaks": self._leaks,
                "speed": self._speed, "money": self._money_and_cost, "assumptions": self._assumptions,
                "provenance": self._provenance}

    def _kpi_table(self, kpis: Sequence[str], with_verdict: bool = True, labels: Mapping[str, str] | None = None,
                   notes: tuple[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
        """The rows of a KPI table: baseline, each variant's value and change with its 95% CI (and verdict)."""
        table = self.comparison.table
        base, variants = self.names[0], self.names[1:]
        rows = []
        for kpi in kpis:
            first = None
            cells: list[dict[str, str] | None] = []
            for v in variants:
                row = comparison_row(table, v, kpi)
                if row is None:
                    cells.append(None)
                    continue
                first = row if first is None else first
                verdict = str(row["verdict"])
                cells.append({"value": format_value(kpi, row["mean_variant"]),
                              "change": change_text(kpi, row["diff"], row["ci_low"], row["ci_high"]),
                              "verdict_class": _verdict_class(verdict), "verdict": verdict_words(verdict, base, v),
                              "note": str(row.get("note", "") or "")})
            if first is None:
                continue
            rows.append({"label": (labels or {}).get(kpi, kpi_label(kpi)),
                         "baseline": format_value(kpi, first["mean_baseline"]), "cells": cells,
                         "note": notes[1].get(kpi, "") if notes else ""})
        return {"baseline": base, "variants": variants, "with_verdict": with_verdict,
                "note_heading": notes[0] if notes else None, "rows": rows}

    def _summary(self) -> dict[str, Any]:
        c = self.comparison
        base = self.names[0]
        verdicts = []
        for name in self.names[1:]:
            row = comparison_row(c.table, name, "won_deals")
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
            verdicts.append({"name": name, "css": _verdict_class(verdict), "advice": advice,
                             "words": verdict_words(verdict, base, name)})
        return {"sentences": summary_sentences(c, self.baseline, self.variants), "verdicts": verdicts,
                "replications": c.replications, "months": months_text(self.baseline.months)}

    def _verdict(self) -> dict[str, Any]:
        table = self.comparison.table
        chosen = table[table["kpi"].isin(VERDICT_KPIS)].copy()
        chosen["order"] = chosen["kpi"].map({k: i for i, k in enumerate(VERDICT_KPIS)})
        chosen = chosen.sort_values(["order", "variant"])
        words = [verdict_words(str(v), self.names[0], str(n)) for v, n in zip(chosen["verdict"], chosen["variant"])]
        figure = figure_html(effect_figure(chosen, verdict_text=words),
                             "Relative change of each headline measure with its 95% CI")
        return {"headline": self._kpi_table(VERDICT_KPIS), "figure": Markup(figure),
                "method": str(self.comparison.method),
                "every": self._kpi_table(list(dict.fromkeys(table["kpi"])))}

    def _funnel(self) -> dict[str, Any]:
        figure = figure_html(funnel_figure(self.summary(), self.names), "The funnel of each scenario, side by side")
        return {"figure": Markup(figure), "stages": self._kpi_table([kpi for _, kpi in FUNNEL_KPIS], False),
                "rates": self._kpi_table(RATE_KPIS, False)}

    def _leaks(self) -> dict[str, Any]:
        summary = self.summary()
        figure = figure_html(leak_figure(summary, self.names), "Where leads leak, by reason")
        present = [kpi for _, kpi in LEAK_KPIS if (summary[summary["kpi"] == kpi]["mean"] > 0).any()]
        why = {f"leak_{reason}": sentence for reason, sentence in LEAK_WHY.items()}
        return {"figure": Markup(figure),
                "leaks": self._kpi_table(present, False, labels={k: v for v, k in LEAK_KPIS},
                                         notes=("Why it happens", why))}

    def _speed(self) -> dict[str, Any]:
        slas = {n: s.sla.first_touch_minutes for n, s in zip(self.names, self.scenarios)}
        figure = figure_html(speed_to_lead_figure(self.speed, slas), "Share of MQLs first touched within a given time")
        return {"seed": self.speed_seed, "figure": Markup(figure), "speed": self._kpi_table(SPEED_KPIS, False),
                "sla": self._kpi_table(SLA_KPIS, False)}

    def _money_and_cost(self) -> dict[str, Any]:
        figure = figure_html(money_figure(self.summary(), self.names), "Revenue, cost and cost per acquisition")
        return {"figure": Markup(figure), "money": self._kpi_table(MONEY_KPIS),
                "months": months_text(self.baseline.months)}

    def _assumptions(self) -> dict[str, Any]:
        table = assumptions_table(self.scenarios)
        rows = [{"setting": str(r["setting"]), "values": [str(r[n]) for n in self.names]} for _, r in table.iterrows()]
        total = len(flatten(self.baseline.behaviour_dict()))
        return {"descriptions": [(n, s.description or "no description") for n, s in zip(self.names, self.scenarios)],
                "others": total - len(table), "names": self.names, "rows": rows}

    def _provenance(self) -> dict[str, Any]:
        c = self.comparison
        seeds = list(c.seeds)
        seed_text = ", ".join(map(str, seeds)) if len(seeds) <= 12 else \
            f"{', '.join(map(str, seeds[:5]))}, … , {seeds[-1]} ({len(seeds)} seeds)"
        precision = c.precision if c.precision is not None else "none (fixed replications)"
        facts = [
            ("Replications per scenario", str(c.replications)),
            ("Root seed", str(c.root_seed)),
            ("Seeds of the replications", seed_text),
            ("Replications simulated / reused from the result store", f"{c.computed} / {c.reused}"),
            ("Comparison method", str(c.method)),
            ("Target precision", str(precision)),
            ("Precision reached", {True: "yes", False: "no (maximum replications reached)"}.get(
                c.precision_reached, "—")),
            ("funnelsim version", self.version),
            ("Python", platform.python_version()),
            ("Created (UTC)", self.created.strftime("%Y-%m-%d %H:%M")),
        ]
        scenarios = [(n, shown_path(p, s.name), s.hash) for n, p, s in zip(self.names, self.paths, self.scenarios)]
        return {"scenarios": scenarios, "facts": facts}
