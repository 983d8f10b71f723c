"""Replications and A/B comparisons with common random numbers: "what happens, and how sure are we?"

Replications (seeds, runs, the tidy table) are :mod:`funnelsim.experiments.replicate`.

:func:`compare` runs the baseline (A) and every variant (B) on the *same* seeds. Every
random quantity of the model is keyed by what it describes, so A and B see the same leads
and differ only where the policy differs (common random numbers); the difference B − A is
then measured per replication and its confidence interval is far narrower than that of
two independent runs (:func:`variance_reduction` measures by how much).

Verdicts compare the interval of B − A with a minimum practical effect δ (in the KPI's
unit, 0 unless the user sets one), using the KPI's direction from
:data:`funnelsim.metrics.KPI_INFO`:

* interval entirely above δ (or below −δ) → the better side wins ("B wins" / "A wins";
  "higher" / "lower" for KPIs without a better direction);
* interval entirely within [−δ, δ] → "no practical difference";
* anything else → "not enough replications yet".

With several variants each is compared with the baseline; per KPI the p-values get Holm's
correction (``p_adjusted``) and the verdict of the comparison with the i-th smallest
p-value uses the interval at level 1 − α/(k − i + 1), the level Holm's step-down test uses;
a win also needs ``p_adjusted < α``.

"A beats B" is only said on a measure defined the same way for both. A row gets the
verdict "not comparable" when the KPI's definition reads a setting in which the two
scenarios differ (:data:`funnelsim.metrics.KPI_DEFINED_BY`: e.g. SLA compliance when the
first-touch SLAs differ), and "no verdict" when the KPI only describes
(:data:`funnelsim.metrics.NO_VERDICT_KPIS`) or is "not touched" (+inf) on one side only in
some replication (:data:`funnelsim.metrics.UNBOUNDED_KPIS`: a difference in minutes does
not exist); the ``note`` column says why and which KPI to read instead. Such rows keep
their means and paired differences but take no part in Holm's correction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..metrics import KPI_INFO, UNBOUNDED_KPIS, comparability_note, kpi_label
from ..scenario import Scenario
from ..stats import paired_comparison, welch_comparison
from .executors import Executor, owned_executor
from .replicate import RunCounts, _check_count, check_kpi, replication_seeds, simulate_many, tidy_runs
from .store import ResultStore

__all__ = [
    "compare",
    "Comparison",
    "variance_reduction",
    "holm",
    "verdict",
    "HEADLINE_KPIS",
    "VERDICTS",
    "METHODS",
    "TABLE_COLUMNS",
]

ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 4000
METHODS = ("paired-t", "bootstrap")
B_WINS, A_WINS, NO_DIFFERENCE, NOT_ENOUGH = "B wins", "A wins", "no practical difference", "not enough replications yet"
HIGHER, LOWER = "higher", "lower"
NOT_COMPARABLE, NO_VERDICT = "not comparable", "no verdict"
VERDICTS = (B_WINS, A_WINS, NO_DIFFERENCE, NOT_ENOUGH, HIGHER, LOWER, NOT_COMPARABLE, NO_VERDICT)
#: the KPIs a verdict summary shows, in this order
HEADLINE_KPIS = ("won_deals", "revenue", "cost_per_acquisition", "lead_to_won", "speed_to_lead_median",
                 "touched_within_1_hour", "sla_compliance")
DEFAULT_PRECISION_KPIS = ("won_deals", "revenue")
TABLE_COLUMNS = ("variant", "kpi", "label", "unit", "mean_baseline", "mean_variant", "diff", "ci_low", "ci_high",
                 "rel_change", "rel_ci_low", "rel_ci_high", "p_value", "p_adjusted", "min_effect", "verdict", "note")


def _kpi_unit(name: str) -> tuple[str, str, int]:
    return KPI_INFO.get(name, (kpi_label(name), "count", 0))


# --------------------------------------------------------------------------- statistics


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, math.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        out[index] = running
    return out


def _holm_levels(p_values: Sequence[float], alpha: float) -> np.ndarray:
    """Per comparison, the α Holm's step-down test compares its p-value with: α/(m − rank)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, alpha / max(1, int(np.isfinite(p).sum())))
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    for rank, index in enumerate(order):
        out[index] = alpha / (len(finite) - rank)
    return out


def verdict(low: float, high: float, min_effect: float, direction: int) -> str:
    """The verdict for an interval of B − A, a minimum practical effect and a KPI direction."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return NOT_ENOUGH
    delta = abs(min_effect)
    if low >= -delta and high <= delta:
        return NO_DIFFERENCE
    if low > delta:
        return {1: B_WINS, -1: A_WINS}.get(direction, HIGHER)
    if high < -delta:
        return {1: A_WINS, -1: B_WINS}.get(direction, LOWER)
    return NOT_ENOUGH


class _Difference:
    """B − A of one KPI over paired replications: the interval at any level, and a p-value.

    A pair with a NaN side is left out. A pair that is +inf ("not touched") on both sides
    counts as equal; a pair that is infinite on one side only has no difference in the
    KPI's unit: it is counted in ``unbounded`` and the interval and p-value are NaN.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, method: str, rng: np.random.Generator | None) -> None:
        valid = ~(np.isnan(a) | np.isnan(b))
        self.a, self.b = a[valid], b[valid]
        same = self.a == self.b  # also two equal infinities, whose difference would be NaN
        with np.errstate(invalid="ignore"):
            self.d = np.where(same, 0.0, self.b - self.a)
        self.n = len(self.d)
        self.unbounded = int((~np.isfinite(self.d)).sum())
        self.method = method
        self.boot: np.ndarray | None = None
        if self.unbounded:
            return
        if method == "bootstrap" and self.n >= 2 and rng is not None:
            idx = rng.integers(0, self.n, size=(BOOTSTRAP_RESAMPLES, self.n))
            self.boot = self.d[idx].mean(axis=1)

    @property
    def mean(self) -> float:
        with np.errstate(invalid="ignore"):
            return float(self.d.mean()) if self.n else math.nan

    def interval(self, confidence: float) -> tuple[float, float]:
        if self.unbounded:
            return math.nan, math.nan
        if self.boot is None:
            _, low, high, _ = paired_comparison(np.zeros(self.n), self.d, confidence)  # d already holds B − A
            return low, high
        tail = (1 - confidence) / 2
        low, high = np.quantile(self.boot, [tail, 1 - tail])
        return float(low), float(high)

    def p_value(self) -> float:
        if self.unbounded:
            return math.nan
        if self.boot is None:
            return paired_comparison(np.zeros(self.n), self.d).p_value
        below, above = float(np.mean(self.boot <= 0)), float(np.mean(self.boot >= 0))
        return min(1.0, 2 * min(below, above))


def _differences(a_vals: dict[str, np.ndarray], b_vals: dict[str, np.ndarray], names: Sequence[str], method: str,
                 seed: int, variant_index: int) -> dict[str, _Difference]:
    out = {}
    for k, name in enumerate(names):
        rng = None
        if method == "bootstrap":
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(0xB007, variant_index, k))))
        out[name] = _Difference(a_vals[name], b_vals[name], method, rng)
    return out


def _relative(value: float, base: float) -> float:
    return value / abs(base) if math.isfinite(base) and base != 0 else math.nan


# --------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """The result of :func:`compare`: every replication and one row per variant × KPI."""

    baseline: Scenario
    variants: list[Scenario]
    runs: pd.DataFrame
    table: pd.DataFrame
    replications: int
    seeds: list[int]
    method: str
    precision: float | None
    precision_reached: bool | None
    precision_kpis: list[str] = field(default_factory=list)
    root_seed: int = 0
    confidence: float = 1 - ALPHA
    computed: int = 0
    reused: int = 0

    def verdicts(self) -> pd.DataFrame:
        """The table filtered to the headline KPIs (:data:`HEADLINE_KPIS`), in that order."""
        rank = {name: i for i, name in enumerate(HEADLINE_KPIS)}
        rows = self.table[self.table["kpi"].isin(rank)].copy()
        rows["_variant"] = rows["variant"].map({n: i for i, n in enumerate(self.table["variant"].unique())})
        rows["_rank"] = rows["kpi"].map(rank)
        return rows.sort_values(["_variant", "_rank"]).drop(columns=["_variant", "_rank"]).reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values (NaN becomes None)."""
        names = list(self.table["variant"].unique()) if len(self.table) else [v.name for v in self.variants]
        return {
            "baseline": {"name": self.runs["scenario"].iloc[0] if len(self.runs) else self.baseline.name,
                         "hash": self.baseline.hash},
            "variants": [{"name": n, "hash": v.hash} for n, v in zip(names, self.variants)],
            "replications": int(self.replications),
            "root_seed": int(self.root_seed),
            "seeds": [int(s) for s in self.seeds],
            "method": self.method,
            "confidence": self.confidence,
            "precision": self.precision,
            "precision_kpis": list(self.precision_kpis),
            "precision_reached": self.precision_reached,
            "computed": int(self.computed),
            "reused": int(self.reused),
            "table": [{k: _json_value(v) for k, v in row.items()} for row in self.table.to_dict(orient="records")],
        }


def _json_value(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _display_names(scenarios: Sequence[Scenario]) -> list[str]:
    names: list[str] = []
    for position, sc in enumerate(scenarios):
        name = sc.name
        if name in names:
            name = f"{sc.name} ({position})"
        names.append(name)
    return names


def _check_compare_args(baseline: Any, variants: Any, replications: Any, precision: Any, precision_kpis: Any,
                        max_replications: Any, min_effects: Any, method: Any) -> tuple[list[Scenario], int, dict, list]:
    if not isinstance(baseline, Scenario):
        raise InputError("baseline", None, f"expected a Scenario, got {type(baseline).__name__}")
    variant_list = [variants] if isinstance(variants, Scenario) else list(variants or [])
    if not variant_list:
        raise InputError("variants", None, "needs at least one variant scenario to compare with the baseline")
    for v in variant_list:
        if not isinstance(v, Scenario):
            raise InputError("variants", None, f"expected Scenario objects, got {type(v).__name__}")
    n = _check_count(replications, "replications", 2)
    if method not in METHODS:
        raise InputError("method", None, f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    effects: dict[str, float] = {}
    for name, value in (min_effects or {}).items():
        check_kpi(name, "min_effects")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError("min_effects", name, f"must be a number, got {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise InputError("min_effects", name, f"must be zero or more (in the KPI's unit), got {value!r}")
        effects[name] = number
    kpi_list: list[str] = []
    if precision is not None:
        if isinstance(precision, bool) or not isinstance(precision, (int, float)) or not 0 < precision < 1:
            raise InputError("precision", None, f"must be a relative half-width between 0 and 1, e.g. 0.05; got {precision!r}")
        _check_count(max_replications, "max_replications", n)
        kpi_list = [check_kpi(k, "precision_kpis") for k in (precision_kpis or DEFAULT_PRECISION_KPIS)]
    return variant_list, n, effects, kpi_list


def compare(baseline: Scenario, variants: Scenario | list[Scenario], *, replications: int = 10, seed: int = 0,
            precision: float | None = None, precision_kpis: list[str] | None = None, max_replications: int = 100,
            min_effects: dict[str, float] | None = None, method: str = "paired-t",
            executor: Executor | None = None, store: ResultStore | None = None,
            progress: bool = False) -> Comparison:
    """Compare every variant with the baseline on common random numbers.

    With `precision`, `replications` is the first batch: replications are added until the
    95% interval of the relative change (B − A)/A of every `precision_kpis` KPI (default
    won deals and revenue) is at most ± `precision` for every variant, or
    `max_replications` is reached; ``precision_reached`` says which.
    """
    variant_list, n, effects, kpi_list = _check_compare_args(
        baseline, variants, replications, precision, precision_kpis, max_replications, min_effects, method)
    scenarios = [baseline, *variant_list]
    names = _display_names(scenarios)
    figures: list[list[dict[str, float]]] = [[] for _ in scenarios]
    counts = RunCounts()
    reached: bool | None = None
    with owned_executor(executor) as ex:
        while True:
            seeds = replication_seeds(seed, n)
            done = len(figures[0])
            jobs = [(sc, s) for sc in scenarios for s in seeds[done:]]
            new, batch = simulate_many(jobs, executor=ex, store=store, progress=progress,
                                       desc=f"compare {n} replications")
            counts += batch
            step = n - done
            for i in range(len(scenarios)):
                figures[i].extend(new[i * step:(i + 1) * step])
            if precision is None:
                break
            widest = _widest_relative_half_width(figures, kpi_list, method, seed)
            reached = bool(widest <= precision)
            if reached or n >= max_replications:
                break
            needed = n * (widest / precision) ** 2 if math.isfinite(widest) else 2 * n
            n = int(min(max_replications, max(n + 1, min(2 * n, math.ceil(needed)))))
    runs = pd.concat([tidy_runs(names[i], sc.hash, seeds, figures[i]) for i, sc in enumerate(scenarios)],
                     ignore_index=True)
    table = _comparison_table(figures, names, effects, method, seed, scenarios)
    return Comparison(baseline=baseline, variants=variant_list, runs=runs, table=table, replications=n,
                      seeds=seeds, method=method, precision=precision, precision_reached=reached,
                      precision_kpis=kpi_list, root_seed=int(seed), computed=counts.computed, reused=counts.reused)


def _values(figures: list[dict[str, float]], names: Sequence[str]) -> dict[str, np.ndarray]:
    return {k: np.array([f.get(k, math.nan) for f in figures], dtype=float) for k in names}


def _widest_relative_half_width(figures: list[list[dict[str, float]]], kpi_list: Sequence[str], method: str,
                                seed: int) -> float:
    base = _values(figures[0], kpi_list)
    widest = 0.0
    for j, variant in enumerate(figures[1:]):
        diffs = _differences(base, _values(variant, kpi_list), kpi_list, method, seed, j)
        for name, diff in diffs.items():
            low, high = diff.interval(1 - ALPHA)
            rel = _relative((high - low) / 2, float(diff.a.mean()) if diff.n else math.nan)
            if not math.isfinite(rel):
                return math.inf
            widest = max(widest, rel)
    return widest


def _unbounded_note(name: str, diff: _Difference) -> str:
    see = UNBOUNDED_KPIS.get(name)
    return (f"no verdict: in {diff.unbounded} of {diff.n} replications only one side is 'not touched' (too few "
            "MQLs touched for this quantile), which has no difference in minutes"
            + (f" — see '{kpi_label(see)}'" if see else ""))


def _comparison_table(figures: list[list[dict[str, float]]], names: Sequence[str], effects: dict[str, float],
                      method: str, seed: int, scenarios: Sequence[Scenario] | None = None) -> pd.DataFrame:
    """One row per variant × KPI; with `scenarios` (baseline first), KPIs defined differently get no verdict."""
    kpi_names = list(dict.fromkeys(k for f in figures[0] for k in f))
    base = _values(figures[0], kpi_names)
    diffs = [_differences(base, _values(v, kpi_names), kpi_names, method, seed, j)
             for j, v in enumerate(figures[1:])]
    rows: list[dict[str, Any]] = [{} for _ in range(len(diffs) * len(kpi_names))]
    for k, name in enumerate(kpi_names):
        label, unit, direction = _kpi_unit(name)
        notes = []
        for j, per_variant in enumerate(diffs):
            pair = [scenarios[0], scenarios[j + 1]] if scenarios is not None else []
            note = comparability_note(name, pair)
            if not note and per_variant[name].unbounded:
                note = _unbounded_note(name, per_variant[name])
            notes.append(note)
        p = np.array([d[name].p_value() for d in diffs])
        # a row without a verdict is no test: it takes no part in Holm's correction
        tested = np.where([not note for note in notes], p, math.nan)
        adjusted = holm(tested)
        levels = _holm_levels(tested, ALPHA)
        delta = effects.get(name, 0.0)
        for j, per_variant in enumerate(diffs):
            diff = per_variant[name]
            mean_a = float(diff.a.mean()) if diff.n else math.nan
            mean_b = float(diff.b.mean()) if diff.n else math.nan
            low, high = diff.interval(1 - ALPHA)
            if notes[j]:
                decided = NOT_COMPARABLE if notes[j].startswith(NOT_COMPARABLE) else NO_VERDICT
            else:
                v_low, v_high = diff.interval(1 - levels[j])
                decided = verdict(v_low, v_high, delta, direction)
                if decided not in (NO_DIFFERENCE, NOT_ENOUGH) and not adjusted[j] < ALPHA:
                    decided = NOT_ENOUGH
            rel = sorted((_relative(low, mean_a), _relative(high, mean_a)))
            rows[j * len(kpi_names) + k] = {
                "variant": names[j + 1], "kpi": name, "label": label, "unit": unit,
                "mean_baseline": mean_a, "mean_variant": mean_b, "diff": diff.mean, "ci_low": low, "ci_high": high,
                "rel_change": _relative(diff.mean, mean_a), "rel_ci_low": rel[0], "rel_ci_high": rel[1],
                "p_value": float(p[j]), "p_adjusted": float(adjusted[j]), "min_effect": delta, "verdict": decided,
                "note": notes[j],
            }
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


# --------------------------------------------------------------------------- variance reduction


def variance_reduction(baseline: Scenario, variant: Scenario, kpi: str = "won_deals", *, replications: int = 10,
                       seed: int = 0, executor: Executor | None = None, store: ResultStore | None = None,
                       progress: bool = False) -> dict[str, float]:
    """How much narrower the paired (common random numbers) interval of B − A is than an independent one.

    Paired: A and B on seeds 0..n−1. Independent: A on seeds 0..n−1, B on seeds n..2n−1
    (same root seed), with Welch's interval. Returns both 95% half-widths and their ratio.
    """
    check_kpi(kpi, "kpi")
    n = _check_count(replications, "replications", 2)
    seeds = replication_seeds(seed, 2 * n)
    common, other = seeds[:n], seeds[n:]
    jobs = [(baseline, s) for s in common] + [(variant, s) for s in common] + [(variant, s) for s in other]
    figures, _ = simulate_many(jobs, executor=executor, store=store, progress=progress, desc="variance reduction")
    values = np.array([f[kpi] for f in figures], dtype=float)
    a, b_paired, b_indep = values[:n], values[n:2 * n], values[2 * n:]
    diff, low, high, _ = paired_comparison(a, b_paired)
    diff_i, low_i, high_i, _ = welch_comparison(a, b_indep)
    paired_half, indep_half = (high - low) / 2, (high_i - low_i) / 2
    return {
        "kpi": kpi,
        "replications": n,
        "mean_baseline": float(a.mean()),
        "mean_variant": float(b_paired.mean()),
        "mean_variant_independent": float(b_indep.mean()),
        "paired_diff": diff,
        "paired_half_width": paired_half,
        "independent_diff": diff_i,
        "independent_half_width": indep_half,
        "ratio": indep_half / paired_half if paired_half > 0 else math.inf,
    }
