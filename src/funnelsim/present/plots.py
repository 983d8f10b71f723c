"""Charts of replications: the funnel, speed-to-lead, leaks, money, A/B effects, sweeps.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot (no global
figure registry), so the same charts work in notebooks, in the what-if panel and in the
HTML report. Every bar and line shows a mean over replications with its 95% confidence
interval, as :func:`funnelsim.stats.summarise` gives them (columns mean, ci_low, ci_high).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..metrics import kpi_label, speed_quantile
from ..vocabulary import FUNNEL_STAGES, LEAK_LABELS, LEAK_REASONS, STAGE_KPIS, STAGE_LABELS
from .format import count, format_minutes, format_value, kpi_unit, money, short_value

__all__ = [
    "FUNNEL_KPIS",
    "LEAK_KPIS",
    "PALETTE",
    "funnel_figure",
    "speed_to_lead_figure",
    "speed_legend",
    "SPEED_CLOCK",
    "SLA_CLOCK",
    "leak_figure",
    "money_figure",
    "effect_figure",
    "sweep_figure",
    "sweep_heatmap",
    "sweep_scatter",
    "figure_png",
    "figure_html",
]

#: (stage shown on the chart, KPI holding its count), top of the funnel first
FUNNEL_KPIS: tuple[tuple[str, str], ...] = tuple((STAGE_LABELS[stage], STAGE_KPIS[stage])
                                                 for stage, _ in FUNNEL_STAGES)

#: (reason shown on the chart, KPI holding its count), in funnel order
LEAK_KPIS: tuple[tuple[str, str], ...] = tuple((LEAK_LABELS[reason], f"leak_{reason}") for reason in LEAK_REASONS)

#: colours by position: the baseline first (grey), then the variants
PALETTE: tuple[str, ...] = ("#8c8c8c", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _lookup(summary: pd.DataFrame, scenario: str, kpi: str) -> tuple[float, float, float]:
    row = summary[(summary["scenario"] == scenario) & (summary["kpi"] == kpi)]
    if row.empty:
        return math.nan, math.nan, math.nan
    r = row.iloc[0]
    return float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])


def _error(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)])


def _grouped_bars(ax: Any, summary: pd.DataFrame, scenarios: Sequence[str], kpis: Sequence[str], *,
                  hide_zero: bool = False) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """One horizontal bar per KPI and scenario, side by side, with 95% CI whiskers.

    Returns the KPIs' y positions and, per scenario, each bar's (position, mean, CI high) for labels.
    """
    y = np.arange(len(kpis))
    height = 0.8 / max(1, len(scenarios))
    bars = []
    for i, name in enumerate(scenarios):
        values = np.array([_lookup(summary, name, kpi) for kpi in kpis]).reshape(-1, 3)
        mean, low, high = values[:, 0], values[:, 1], values[:, 2]
        pos = y - 0.4 + height * (i + 0.5)
        shown = np.where(mean > 0, mean, np.nan) if hide_zero else mean
        ax.barh(pos, shown, height=height * 0.92, color=_colour(i), label=name,
                xerr=_error(mean, low, high), error_kw={"elinewidth": 0.8, "capsize": 2})
        bars.append((pos, mean, high))
    return y, bars


def funnel_figure(summary: pd.DataFrame, scenarios: Sequence[str], *, title: str | None = None) -> Figure:
    """Stage counts side by side (log scale, so the bottom of the funnel stays readable)."""
    fig = Figure(figsize=(8.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    stages = [s for s, _ in FUNNEL_KPIS]
    y, bars = _grouped_bars(ax, summary, scenarios, [kpi for _, kpi in FUNNEL_KPIS], hide_zero=True)
    for pos, mean, high in bars:
        for p, m, h in zip(pos, mean, high):
            if math.isfinite(m) and m > 0:
                ax.text(max(m, h if math.isfinite(h) else m) * 1.1, p, count(m), va="center", fontsize=7.5)
    ax.set_xscale("log")
    ax.set_yticks(y, stages)
    ax.invert_yaxis()
    ax.set_xlabel("leads reaching the stage (mean over replications, log scale; bars: 95% CI)")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlim(1, ax.get_xlim()[1] * 2.5)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(title or "The funnel: leads reaching each stage")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


#: (minutes, label) of the speed-to-lead axis
_TIME_TICKS: tuple[tuple[float, str], ...] = (
    (1.0, "1 min"), (5.0, "5 min"), (15.0, "15 min"), (60.0, "1 h"), (240.0, "4 h"), (1440.0, "1 day"),
    (7 * 1440.0, "1 week"), (30 * 1440.0, "30 days"),
)


#: the clock of the speed-to-lead curve, said on the chart and beside every table of it
SPEED_CLOCK = "wall clock from the lead engaging"
#: the clock of the first-touch SLA (and its compliance), which the curve does not use
SLA_CLOCK = "business hours from the hand-off to sales"


def speed_legend(name: str, median: float, within_hour: float) -> str:
    """The legend of one speed-to-lead curve, formatted exactly as the KPI tables format the two figures."""
    return (f"{name} (median {format_value('speed_to_lead_median', median)}, "
            f"{format_value('touched_within_1_hour', within_hour)} within 1 h)")


def speed_to_lead_figure(speed: Mapping[str, np.ndarray | pd.Series], slas: Mapping[str, float] | None = None,
                         *, title: str | None = None, labels: Mapping[str, str] | None = None) -> Figure:
    """Share of MQLs first touched within t minutes of engaging (one curve per scenario).

    ``speed`` maps scenario name to speed-to-lead values in minutes of every MQL (a lead not
    touched is NaN or +inf: it keeps the curve below 100%); ``slas`` maps name to its
    first-touch SLA. The time is wall-clock from engaging (:data:`SPEED_CLOCK`); the SLA lines
    are drawn for reference but the SLA counts business hours from hand-off (:data:`SLA_CLOCK`).
    The legend (unless ``labels`` gives one per name, as the what-if panel does from its table's
    figures) holds the median and the share within 1 hour of these values, formatted by
    :func:`speed_legend` like the KPI tables; the median counts every MQL ("not touched" when
    fewer than half were).
    """
    fig = Figure(figsize=(8.5, 3.8), layout="constrained")
    ax = fig.add_subplot()
    upper = 1.0
    for i, (name, values) in enumerate(speed.items()):
        arr = np.asarray(values, dtype=float)
        total = len(arr)
        touched = np.sort(arr[np.isfinite(arr)])
        if total == 0 or len(touched) == 0:
            continue
        touched = np.clip(touched, 0.1, None)
        share = np.arange(1, len(touched) + 1) / total
        label = (labels or {}).get(name) or speed_legend(
            name, speed_quantile(arr, 0.5), float((arr <= 60.0 + 1e-9).sum()) / total)
        ax.step(touched, share, where="post", color=_colour(i), lw=1.8, label=label)
        upper = max(upper, float(touched[-1]))
        if slas and name in slas and slas[name] is not None:
            ax.axvline(max(float(slas[name]), 0.1), color=_colour(i), ls="--", lw=1)
            ax.text(max(float(slas[name]), 0.1) * 1.05, 0.03 + 0.07 * i,
                    f"SLA {format_minutes(float(slas[name]))} (business hours from hand-off)", color=_colour(i),
                    fontsize=7)
    ax.set_xscale("log")
    ticks = [(t, label) for t, label in _TIME_TICKS if t <= upper * 1.5]
    ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.set_xlim(0.5, upper * 1.5)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel(f"time to the first call, {SPEED_CLOCK} (log scale)")
    ax.set_ylabel("share of MQLs touched")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_title(title or "Speed-to-lead: how fast leads get their first call")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def leak_figure(summary: pd.DataFrame, scenarios: Sequence[str], *, title: str | None = None) -> Figure:
    """Where leads end when they do not become customers, by reason, side by side."""
    present = [(label, kpi) for label, kpi in LEAK_KPIS
               if any(_lookup(summary, s, kpi)[0] > 0 for s in scenarios)]
    fig = Figure(figsize=(8.5, 0.45 * max(3, len(present)) * max(1, len(scenarios)) ** 0.5 + 1.2),
                 layout="constrained")
    ax = fig.add_subplot()
    y, bars = _grouped_bars(ax, summary, scenarios, [kpi for _, kpi in present])
    for pos, mean, high in bars:
        for p, m, h in zip(pos, mean, high):
            if math.isfinite(m):
                ax.text(max(m, h if math.isfinite(h) else m), p, "  " + count(m), va="center", fontsize=7.5)
    ax.set_yticks(y, [label for label, _ in present])
    ax.invert_yaxis()
    ax.margins(x=0.15)
    ax.set_xlabel("leads ending here (mean over replications; bars: 95% CI)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(title or "Where leads leak")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def money_figure(summary: pd.DataFrame, scenarios: Sequence[str],
                 panels: Sequence[tuple[str, str]] = (("revenue_per_month", "Revenue per month"),
                                                      ("cost_per_month", "Cost per month of leads"),
                                                      ("cost_per_acquisition", "Cost per acquisition")),
                 *, title: str | None = None) -> Figure:
    """Small bar charts of money KPIs (one panel each), with 95% CIs."""
    fig = Figure(figsize=(8.5, 3.2), layout="constrained")
    axes = fig.subplots(1, len(panels))
    axes = np.atleast_1d(axes)
    x = np.arange(len(scenarios))
    for ax, (kpi, label) in zip(axes, panels):
        values = np.array([_lookup(summary, s, kpi) for s in scenarios]).reshape(-1, 3)
        mean, low, high = values[:, 0], values[:, 1], values[:, 2]
        ax.bar(x, np.nan_to_num(mean), color=[_colour(i) for i in range(len(scenarios))],
               yerr=_error(np.nan_to_num(mean), np.nan_to_num(low), np.nan_to_num(high)), capsize=3)
        for xi, m in zip(x, mean):
            ax.text(xi, (m if math.isfinite(m) else 0) * 0.5, money(m), ha="center", va="center", fontsize=8,
                    color="white", fontweight="bold")
        ax.set_xticks(x, scenarios, rotation=20 if len(scenarios) > 2 else 0, fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v)))
        ax.spines[["top", "right"]].set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


_VERDICT_COLOURS = {"B wins": "#2ca02c", "A wins": "#d62728", "no practical difference": "#7f7f7f",
                    "not enough replications yet": "#ff7f0e", "not comparable": "#b0b0b0", "no verdict": "#b0b0b0"}


def effect_figure(table: pd.DataFrame, *, verdict_text: Sequence[str] | None = None,
                  title: str | None = None) -> Figure:
    """Relative change of each KPI (variant vs baseline) with its 95% CI, coloured by verdict.

    ``table`` has columns variant, kpi, rel_change, rel_ci_low, rel_ci_high, verdict;
    ``verdict_text`` (one per row) replaces the verdict strings on the chart.
    """
    rows = table.reset_index(drop=True)
    texts = list(verdict_text) if verdict_text is not None else [str(v) for v in rows["verdict"]]
    labels = [f"{kpi_label(k)}" + (f"  [{v}]" if rows["variant"].nunique() > 1 else "")
              for k, v in zip(rows["kpi"], rows["variant"])]
    fig = Figure(figsize=(8.5, 0.42 * max(3, len(rows)) + 1.0), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    for i, r in rows.iterrows():
        colour = _VERDICT_COLOURS.get(str(r["verdict"]), "#1f77b4")
        mid, lo, hi = (100 * float(r[c]) for c in ("rel_change", "rel_ci_low", "rel_ci_high"))
        if math.isfinite(lo) and math.isfinite(hi):
            ax.plot([lo, hi], [i, i], color=colour, lw=2.2)
        if math.isfinite(mid):
            ax.plot([mid], [i], "o", color=colour, ms=6)
            ax.text(hi if math.isfinite(hi) else mid, i, f"  {mid:+.1f}%  {texts[i]}", va="center",
                    fontsize=8, color=colour)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.margins(x=0.35)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+.0f}%"))
    ax.set_xlabel("change from the baseline (dot) and its 95% confidence interval (line)")
    ax.set_title(title or "What changes, and how sure we are")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def sweep_figure(summary: pd.DataFrame, field: str, kpis: Sequence[str], *, group: str | None = None,
                 title: str | None = None) -> Figure:
    """How each KPI responds to one varied field: mean line with a 95% CI band.

    ``summary`` holds means and intervals grouped by ``field`` (and optionally ``group``,
    drawn as one line per value).
    """
    kpis = list(kpis)
    fig = Figure(figsize=(8.5, 2.9 * math.ceil(len(kpis) / 2)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(math.ceil(len(kpis) / 2), min(2, len(kpis)), squeeze=False)).ravel()
    groups = [None] if group is None else list(dict.fromkeys(summary[group]))
    for ax, kpi in zip(axes, kpis):
        part = summary[summary["kpi"] == kpi]
        for i, g in enumerate(groups):
            line = part if g is None else part[part[group] == g]
            line = line.sort_values(field)
            x = pd.to_numeric(line[field], errors="coerce")
            categorical = x.isna().any()
            xs = np.arange(len(line)) if categorical else x.to_numpy(dtype=float)
            ax.plot(xs, line["mean"], "o-", color=_colour(i + 1), ms=4,
                    label=None if g is None else f"{group} = {g}")
            ax.fill_between(xs, line["ci_low"], line["ci_high"], color=_colour(i + 1), alpha=0.2, lw=0)
            if categorical:
                ax.set_xticks(xs, [str(v) for v in line[field]], fontsize=8)
        _unit_axis(ax, kpi)
        ax.set_title(kpi_label(kpi), fontsize=10)
        ax.set_xlabel(field, fontsize=8)
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        if group is not None:
            ax.legend(fontsize=7, frameon=False)
    for ax in axes[len(kpis):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def sweep_scatter(summary: pd.DataFrame, field: str, kpis: Sequence[str], *, title: str | None = None) -> Figure:
    """Each point's mean (with its 95% CI) against one field, for designs where other fields vary too."""
    kpis = list(kpis)
    fig = Figure(figsize=(8.5, 2.9 * math.ceil(len(kpis) / 2)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(math.ceil(len(kpis) / 2), min(2, len(kpis)), squeeze=False)).ravel()
    for ax, kpi in zip(axes, kpis):
        part = summary[summary["kpi"] == kpi]
        x = pd.to_numeric(part[field], errors="coerce").to_numpy(dtype=float)
        mean, low, high = (part[c].to_numpy(dtype=float) for c in ("mean", "ci_low", "ci_high"))
        ax.errorbar(x, mean, yerr=_error(mean, np.nan_to_num(low, nan=mean), np.nan_to_num(high, nan=mean)),
                    fmt="o", color=_colour(1), ms=4, capsize=2, elinewidth=0.8)
        _unit_axis(ax, kpi)
        ax.set_title(kpi_label(kpi), fontsize=10)
        ax.set_xlabel(field, fontsize=8)
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[len(kpis):]:
        ax.set_visible(False)
    fig.suptitle(title or f"Each sampled point against {field} (other fields vary too)", fontsize=11)
    return fig


def _unit_axis(ax: Any, kpi: str) -> None:
    unit = kpi_unit(kpi)
    if unit == "ratio":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    elif unit == "money":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v)))


def sweep_heatmap(summary: pd.DataFrame, x: str, y: str, kpi: str, *, title: str | None = None) -> Figure:
    """Mean of one KPI over two varied fields (cells annotated with mean and CI half-width)."""
    part = summary[summary["kpi"] == kpi]
    xs = sorted(part[x].unique(), key=_sort_key)
    ys = sorted(part[y].unique(), key=_sort_key)
    grid = np.full((len(ys), len(xs)), np.nan)
    half = np.full_like(grid, np.nan)
    for _, r in part.iterrows():
        grid[ys.index(r[y]), xs.index(r[x])] = r["mean"]
        half[ys.index(r[y]), xs.index(r[x])] = (r["ci_high"] - r["ci_low"]) / 2
    fig = Figure(figsize=(8.5, 0.5 * len(ys) + 2.5), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(grid, aspect="auto", cmap="viridis", origin="lower")
    fig.colorbar(image, ax=ax, label=kpi_label(kpi))
    ax.set_xticks(np.arange(len(xs)), [str(v) for v in xs])
    ax.set_yticks(np.arange(len(ys)), [str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    finite = grid[np.isfinite(grid)]
    middle = float(np.mean(finite)) if finite.size else 0.0
    for (j, i), value in np.ndenumerate(grid):
        if math.isfinite(value):
            ax.text(i, j, f"{short_value(kpi, value)}\n±{short_value(kpi, half[j, i])}", ha="center", va="center",
                    fontsize=7, color="white" if value < middle else "black")
    ax.set_title(title or f"{kpi_label(kpi)} by {x} and {y}")
    return fig


def _sort_key(value: object) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def figure_html(fig: Figure, alt: str, dpi: int = 110) -> str:
    """An ``<img>`` tag with the figure embedded as a data URI (no external file)."""
    data = base64.b64encode(figure_png(fig, dpi)).decode("ascii")
    return (f'<img class="funnelsim-figure" src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
            f'style="max-width:100%;height:auto">')
