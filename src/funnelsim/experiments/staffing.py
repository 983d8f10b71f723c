"""Staffing search: the smallest number of reps that meets a target.

A target is a small sentence over KPIs (see :data:`TARGET_HELP`)::

    sla_compliance >= 0.95                      # the mean over replications
    sla_compliance >= 95%                       # the same
    P(won_deals_per_month >= 25) >= 0.9         # the share of replications meeting it
    sla_compliance >= 0.9 and backlog_mean <= 400

For each candidate rep count the scenario runs ``replications`` times on the same seeds;
a mean condition is met when the mean is on the right side of the threshold, a
probability condition when the share of replications meeting the inner condition is at
least the probability. The search assumes that more reps never hurt the target (it
bisects between ``min_reps`` and ``max_reps``); every evaluated point is reported, and
``monotone`` says whether what was seen agrees with that assumption.

Other levers may be fixed (``--set routing.lead_cap=300``) or varied: ``vary`` runs the
search once per combination of their values, e.g. per lead cap and SLA.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..scenario import Scenario
from ..stats import t_interval, wilson_interval
from .executors import Executor, owned_executor
from .replicate import check_kpi, replication_seeds, simulate_many, tidy_runs
from .store import ResultStore

__all__ = ["Condition", "Target", "parse_target", "staff", "Staffing", "TARGET_HELP"]

TARGET_HELP = ("a target such as 'sla_compliance >= 0.95', 'sla_compliance >= 95%', "
               "'P(won_deals_per_month >= 25) >= 0.9', or several joined by 'and'")
_OPS = {">=": np.greater_equal, "<=": np.less_equal, ">": np.greater, "<": np.less}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?"
_OP = r">=|<=|>|<|≥|≤"
_MEAN = re.compile(rf"^(?:mean\(\s*(?P<k1>\w+)\s*\)|(?P<k2>\w+))\s*(?P<op>{_OP})\s*(?P<x>{_NUMBER})$")
_PROB = re.compile(rf"^P\(\s*(?P<k>\w+)\s*(?P<op>{_OP})\s*(?P<x>{_NUMBER})\s*\)\s*(?P<pop>>=|>|≥)\s*(?P<p>{_NUMBER})$",
                   re.IGNORECASE)


def _op(text: str) -> str:
    return {"≥": ">=", "≤": "<="}.get(text, text)


def _value(text: str, source: str = "--target") -> float:
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not math.isfinite(value):  # 1e999 overflows to inf, which is refused like "inf" itself
        raise InputError(source, None, f"{text!r} is not a finite number")
    return value


@dataclass(frozen=True)
class Condition:
    """``kpi op threshold`` on the mean, or ``P(kpi op threshold) >= probability``."""

    kpi: str
    op: str
    threshold: float
    probability: float | None = None
    strict_probability: bool = False

    def __str__(self) -> str:
        inner = f"{self.kpi} {self.op} {self.threshold:g}"
        if self.probability is None:
            return inner
        return f"P({inner}) {'>' if self.strict_probability else '>='} {self.probability:g}"

    def evaluate(self, values: Sequence[float]) -> dict[str, Any]:
        """Estimate, its 95% interval and whether the condition is met, from one value per replication."""
        v = np.asarray(values, dtype=float)
        if self.probability is None:
            # NaN is left out; +inf ("not touched") stays: it fails an upper bound, as it should
            mean, low, high = t_interval(v)
            return {"estimate": mean, "ci_low": low, "ci_high": high,
                    "met": bool(_OPS[self.op](mean, self.threshold))}  # a NaN mean (no values) is not met
        hits = _OPS[self.op](v, self.threshold)  # NaN never meets it
        share = float(hits.mean()) if len(v) else math.nan
        _, low, high = wilson_interval(int(hits.sum()), len(v))
        met = share > self.probability if self.strict_probability else share >= self.probability
        return {"estimate": share, "ci_low": low, "ci_high": high, "met": bool(met)}


@dataclass(frozen=True)
class Target:
    """All conditions must hold."""

    conditions: tuple[Condition, ...]
    text: str = ""

    def __str__(self) -> str:
        return " and ".join(str(c) for c in self.conditions)


def parse_target(text: str, source: str = "--target") -> Target:
    """Parse a target sentence; a malformed one is an InputError naming `source`."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(source, None, f"is empty; give {TARGET_HELP}")
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        part = part.strip()
        prob = _PROB.match(part)
        mean = None if prob else _MEAN.match(part)
        if prob:
            kpi = check_kpi(prob["k"], source)
            p = _value(prob["p"], source)
            if not 0 <= p <= 1:
                raise InputError(source, None, f"in {part!r}: a probability must be between 0 and 1 (or 0% and 100%)")
            conditions.append(Condition(kpi, _op(prob["op"]), _value(prob["x"], source), p, _op(prob["pop"]) == ">"))
        elif mean:
            kpi = check_kpi(mean["k1"] or mean["k2"], source)
            conditions.append(Condition(kpi, _op(mean["op"]), _value(mean["x"], source)))
        else:
            raise InputError(source, None, f"cannot read {part!r}; give {TARGET_HELP}")
    return Target(tuple(conditions), text.strip())


@dataclass
class Staffing:
    """The result of :func:`staff`."""

    target: Target
    scenario: Scenario
    summary: pd.DataFrame  # one row per combination of varied fields: reps (or missing), met
    evaluations: pd.DataFrame  # one row per combination × rep count × condition evaluated
    runs: pd.DataFrame  # tidy replications of every evaluated point
    replications: int
    seeds: list[int]
    min_reps: int
    max_reps: int
    vary: dict[str, list[Any]] = field(default_factory=dict)
    computed: int = 0
    reused: int = 0

    @property
    def reps(self) -> int | None:
        """The answer when nothing was varied (None: the target is not met within max_reps)."""
        value = self.summary["reps"].iloc[0]
        return None if pd.isna(value) else int(value)

    def to_dict(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _json(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]

        return {
            "scenario": {"name": self.scenario.name, "hash": self.scenario.hash},
            "target": str(self.target),
            "replications": self.replications,
            "seeds": [int(s) for s in self.seeds],
            "min_reps": self.min_reps,
            "max_reps": self.max_reps,
            "vary": self.vary,
            "computed": self.computed,
            "reused": self.reused,
            "summary": records(self.summary),
            "evaluations": records(self.evaluations),
        }


def _json(value: Any) -> Any:
    if value is pd.NA or value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check_vary(scenario: Scenario, vary: dict[str, Sequence[Any]] | None) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, values in (vary or {}).items():
        if name == "team.reps":
            raise InputError("vary", name, "the search itself varies the number of reps")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise InputError("vary", name, "needs a non-empty list of values")
        out[name] = list(values)
        for value in out[name]:
            scenario.with_overrides({name: value}, source="vary")
    return out


def staff(scenario: Scenario, target: str | Target, *, min_reps: int = 1, max_reps: int | None = None,
          replications: int = 20, seed: int = 0, vary: dict[str, Sequence[Any]] | None = None,
          executor: Executor | None = None, store: ResultStore | None = None, progress: bool = False) -> Staffing:
    """The smallest rep count in [min_reps, max_reps] meeting `target`, per combination of `vary`.

    ``max_reps`` defaults to twice the scenario's reps (at least its reps + 10).
    """
    goal = parse_target(target, "target") if isinstance(target, str) else target
    if isinstance(min_reps, bool) or not isinstance(min_reps, int) or min_reps < 1:
        raise InputError("min_reps", None, f"must be a whole number of at least 1, got {min_reps!r}")
    top = max_reps if max_reps is not None else max(2 * scenario.team.reps, scenario.team.reps + 10)
    if isinstance(top, bool) or not isinstance(top, int) or top < min_reps:
        raise InputError("max_reps", None, f"must be a whole number of at least min_reps ({min_reps}), got {top!r}")
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise InputError("replications", None, f"must be a whole number of at least 1, got {replications!r}")
    fields = _check_vary(scenario, vary)
    scenario.with_overrides({"team.reps": top}, source="max_reps")
    seeds = replication_seeds(seed, replications)
    combos = [dict(zip(fields, values)) for values in itertools.product(*fields.values())] or [{}]
    evaluations: list[dict[str, Any]] = []
    run_frames: list[pd.DataFrame] = []
    summary: list[dict[str, Any]] = []
    computed = reused = 0

    with owned_executor(executor) as ex:
        for combo in combos:
            seen: dict[int, bool] = {}

            def met(reps: int) -> bool:
                nonlocal computed, reused
                if reps in seen:
                    return seen[reps]
                sc = scenario.with_overrides({**combo, "team.reps": reps, "name": f"{scenario.name} ({reps} reps)"})
                figures, counts = simulate_many([(sc, s) for s in seeds], executor=ex, store=store,
                                                progress=progress, desc=f"{reps} reps")
                computed, reused = computed + counts.computed, reused + counts.reused
                runs = tidy_runs(sc.name, sc.hash, seeds, figures)
                runs.insert(0, "reps", reps)
                for position, (name, value) in enumerate(combo.items()):
                    runs.insert(position, name, [value] * len(runs))
                run_frames.append(runs)
                ok = True
                for condition in goal.conditions:
                    result = condition.evaluate([f.get(condition.kpi, math.nan) for f in figures])
                    evaluations.append({**combo, "reps": reps, "condition": str(condition), **result})
                    ok = ok and result["met"]
                seen[reps] = ok
                return ok

            answer: int | None = None
            if met(top):
                lo, hi = min_reps - 1, top  # invariant: lo fails (or is below the range), hi meets
                if met(min_reps):
                    hi = min_reps
                else:
                    lo = min_reps
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if met(mid):
                        hi = mid
                    else:
                        lo = mid
                answer = hi
            ordered = sorted(seen.items())
            monotone = all(not (a_ok and not b_ok) for (_, a_ok), (_, b_ok) in zip(ordered, ordered[1:]))
            summary.append({**combo, "reps": answer, "met": answer is not None, "evaluated": len(seen),
                            "monotone": monotone})

    summary_frame = pd.DataFrame(summary)
    summary_frame["reps"] = summary_frame["reps"].astype("Int64")
    evaluations_frame = pd.DataFrame(evaluations).sort_values([*fields, "reps"], kind="stable")
    return Staffing(target=goal, scenario=scenario, summary=summary_frame,
                    evaluations=evaluations_frame.reset_index(drop=True),
                    runs=pd.concat(run_frames, ignore_index=True), replications=replications, seeds=seeds,
                    min_reps=min_reps, max_reps=top, vary=fields, computed=computed, reused=reused)
