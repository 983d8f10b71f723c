"""A finished sweep, ready to show in a notebook: an overview, charts, a table and the staffing answer.

:class:`SweepStudy` takes a sweep's finished table (the means and 95% confidence intervals
of every point, as :func:`funnelsim.experiments.sweep.summarize_sweep` gives them) and an optional
staffing search result, and only presents them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..metrics import kpi_label
from ..experiments.staffing import Staffing
from ..experiments.sweep import Sweep
from .format import format_value, months_text
from .html import Markup, frame_html, no_maths, render
from .plots import figure_html, sweep_figure, sweep_heatmap, sweep_scatter
from .words import field_words, value_text

__all__ = ["SweepStudy", "DEFAULT_SWEEP_KPIS"]

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
                    row[kpi_label(r.kpi)] = (f"{format_value(r.kpi, r.mean)} ({format_value(r.kpi, r.ci_low)} – "
                                             f"{format_value(r.kpi, r.ci_high)})")
            rows.append(row)
        return pd.DataFrame(rows).set_index("point")

    def overview_html(self) -> str:
        sw = self.sweep
        return render("sweep/overview.html.j2", name=sw.name, description=sw.description or "", base=sw.base.name,
                      months=months_text(sw.base.months), hash=sw.base.hash, design=sw.design.replace("_", " "),
                      points=len(self.summary["point"].unique()), replications=sw.replications, seed=sw.seed,
                      factors=[(f.name, _factor_text(f)) for f in sw.factors])

    def staffing_html(self) -> str:
        result = self.staffing
        if result is None:
            return render("sweep/staffing.html.j2", answers=None)
        answers = []
        for row in result.summary.to_dict(orient="records"):
            combo = {k: v for k, v in row.items() if k in result.vary}
            where = (" with " + ", ".join(f"{field_words(k)} = {value_text(k, v)}" for k, v in combo.items())
                     if combo else "")
            answers.append({"where": where, "met": bool(row["met"]), "reps": int(row["reps"]) if row["met"] else None,
                            "monotone": row.get("monotone", True)})
        table = frame_html(result.evaluations, index=False, classes="staffing", float_format=lambda v: f"{v:,.3g}")
        return render("sweep/staffing.html.j2", answers=answers, target=str(result.target), max_reps=result.max_reps,
                      min_reps=result.min_reps, replications=result.replications, table=Markup(table))

    def show(self, key: str = "overview") -> None:
        """Display 'overview', 'charts', 'table' or 'staffing' in a notebook."""
        from IPython.display import HTML, display

        if key == "overview":
            display(HTML(self.overview_html()))
        elif key == "charts":
            for figure in self.figures():
                display(HTML(no_maths(figure_html(figure, figure.get_suptitle() or "sweep chart"))))
        elif key == "table":
            display(HTML(frame_html(self.table())))
        elif key == "staffing":
            display(HTML(self.staffing_html()))
        else:
            raise KeyError(f"unknown part {key!r}; use overview, charts, table or staffing")


def _factor_text(factor: Any) -> str:
    if factor.values is not None:
        return ", ".join(value_text(factor.name, v) for v in factor.values)
    levels = f" in {factor.levels} levels" if factor.levels else ""
    return f"from {factor.low:g} to {factor.high:g}{levels}{' (whole numbers)' if factor.integer else ''}"
