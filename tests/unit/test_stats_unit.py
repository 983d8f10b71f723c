"""funnelsim.stats: the wrappers agree with scipy.stats and follow one rule for n = 1."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from funnelsim.stats import paired_comparison, summarise, t_interval, welch_comparison, wilson_interval


def test_t_interval_matches_scipy() -> None:
    v = np.random.default_rng(1).normal(5, 2, 11)
    ci = stats.ttest_1samp(v, 0.0).confidence_interval(0.9)
    est, low, high = t_interval(v, 0.9)
    assert est == pytest.approx(v.mean()) and (low, high) == pytest.approx((ci.low, ci.high))


def test_wilson_matches_scipy_and_refuses_fractions() -> None:
    ci = stats.binomtest(7, 19).proportion_ci(0.95, method="wilson")
    assert wilson_interval(7, 19) == pytest.approx((7 / 19, ci.low, ci.high))
    with pytest.raises(ValueError):
        wilson_interval(2.5, 10)


def test_paired_and_welch_match_scipy() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(10, 2, 12)
    b = a + rng.normal(0.8, 0.5, 12)
    ref = stats.ttest_rel(b, a)
    assert paired_comparison(a, b) == pytest.approx((np.mean(b - a), *ref.confidence_interval(), ref.pvalue))
    c = rng.normal(6, 3, 9)
    ref = stats.ttest_ind(c, a, equal_var=False)
    assert welch_comparison(a, c) == pytest.approx((c.mean() - a.mean(), *ref.confidence_interval(), ref.pvalue))


def test_one_rule_for_n_1_and_no_spread() -> None:
    assert t_interval([3.0])[0] == 3.0 and all(math.isnan(x) for x in t_interval([3.0])[1:])
    assert math.isnan(t_interval([]).estimate)
    one = paired_comparison([1.0], [4.0])
    assert one.estimate == 3.0 and all(math.isnan(x) for x in one[1:])
    one = welch_comparison([1.0], [4.0, 5.0])
    assert one.estimate == 3.5 and all(math.isnan(x) for x in one[1:])
    assert paired_comparison([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]) == (0.0, 0.0, 0.0, 1.0)
    assert welch_comparison([1.0, 1.0], [2.0, 2.0]) == (1.0, 1.0, 1.0, 0.0)
    assert t_interval([2.0, 2.0]) == (2.0, 2.0, 2.0)
    assert paired_comparison([0.0, 0.0], [2.0, 2.0]) == (2.0, 2.0, 2.0, 0.0)


def test_nan_left_out_and_inf_kept() -> None:
    assert t_interval([1.0, math.nan, 3.0]).estimate == 2.0
    est, low, high = t_interval([1.0, math.inf])
    assert est == math.inf and math.isnan(low) and math.isnan(high)
    assert paired_comparison([1.0, math.nan, 2.0, 1.0], [2.0, 5.0, 3.0, math.inf]) == (1.0, 1.0, 1.0, 0.0)


def test_summarise_per_group() -> None:
    runs = pd.DataFrame({"level": [1, 1, 1, None, None], "kpi": ["k"] * 5, "value": [1.0, 2.0, 3.0, 5.0, math.nan]})
    out = summarise(runs, by=["level", "kpi"])
    assert list(out.columns) == ["level", "kpi", "mean", "sd", "n", "ci_low", "ci_high"]
    first, second = out.to_dict(orient="records")
    assert (first["mean"], first["n"]) == (2.0, 3)
    assert (first["ci_low"], first["ci_high"]) == pytest.approx(tuple(t_interval([1.0, 2.0, 3.0])[1:]))
    assert second["n"] == 1 and second["mean"] == 5.0 and math.isnan(second["ci_low"])


def test_summarise_cuts_an_interval_to_the_range_its_mean_can_take() -> None:
    # two replications: t(1) = 12.7 stretches the interval of a count below zero and of a share above one
    runs = pd.DataFrame({"kpi": ["won", "won", "share", "share", "free", "free"],
                         "value": [2.0, 30.0, 0.5, 0.98, 2.0, 30.0]})
    ranges = {"won": (0.0, math.inf), "share": (0.0, 1.0), "free": (-math.inf, math.inf)}
    plain = summarise(runs, by=["kpi"]).set_index("kpi")
    cut = summarise(runs, by=["kpi"], bounds=ranges.__getitem__).set_index("kpi")
    assert plain.loc["won", "ci_low"] < 0 and plain.loc["share", "ci_high"] > 1  # what the reader was shown
    assert cut.loc["won", "ci_low"] == 0.0 and cut.loc["won", "ci_high"] == plain.loc["won", "ci_high"]
    assert cut.loc["share", "ci_high"] == 1.0 and cut.loc["share", "ci_low"] == 0.0
    assert cut.loc["free"].equals(plain.loc["free"])  # a KPI without a range keeps its t interval
    assert (cut["mean"] == plain["mean"]).all()
    one = summarise(pd.DataFrame({"kpi": ["won"], "value": [3.0]}), by=["kpi"], bounds=ranges.__getitem__)
    assert math.isnan(one.loc[0, "ci_low"]) and math.isnan(one.loc[0, "ci_high"])  # n = 1: still no interval
