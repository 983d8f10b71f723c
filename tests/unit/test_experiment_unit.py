"""Unit tests of the experiment statistics: seeds, intervals, Holm, verdicts, the comparison table."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from funnelsim.errors import InputError
from funnelsim.experiments.compare import (
    HEADLINE_KPIS,
    TABLE_COLUMNS,
    VERDICTS,
    Comparison,
    _comparison_table,
    holm,
    verdict,
)
from funnelsim.experiments.replicate import check_kpi, known_kpis, replication_seeds, tidy_runs
from funnelsim.metrics import KPI_INFO
from funnelsim.scenario import Scenario


# ------------------------------------------------------------------ seeds


@given(root=st.integers(0, 2**32), n=st.integers(0, 40), extra=st.integers(0, 20))
@settings(max_examples=40, deadline=None)
def test_seed_i_depends_only_on_root_and_i(root: int, n: int, extra: int) -> None:
    short, longer = replication_seeds(root, n), replication_seeds(root, n + extra)
    assert longer[:n] == short
    assert len(set(longer)) == len(longer)
    assert all(0 <= s < 2**63 for s in longer)


def test_seeds_differ_between_roots_and_are_stable() -> None:
    assert replication_seeds(0, 5) != replication_seeds(1, 5)
    assert replication_seeds(0, 3) == replication_seeds(0, 3)
    assert not set(replication_seeds(0, 50)) & set(replication_seeds(1, 50))


@pytest.mark.parametrize("root, n", [(-1, 3), (0, -1), (1.5, 2), (True, 2), ("0", 2)])
def test_bad_seed_arguments_are_input_errors(root, n) -> None:
    with pytest.raises(InputError):
        replication_seeds(root, n)


# ------------------------------------------------------------------ intervals


def test_holm_textbook_example() -> None:
    # sorted p: 0.01*3, 0.03*2, 0.04*1 -> running maximum 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.02]) == pytest.approx([0.02])
    assert holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])
    out = holm([0.01, math.nan, 0.02])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=8))
@settings(max_examples=60, deadline=None)
def test_holm_never_below_raw_and_keeps_order(p: list[float]) -> None:
    adjusted = holm(p)
    assert np.all(adjusted >= np.asarray(p) - 1e-15)
    assert np.all(adjusted <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= -1e-15)


# ------------------------------------------------------------------ verdicts


@pytest.mark.parametrize("low, high, delta, direction, expected", [
    (1.0, 3.0, 0.0, +1, "B wins"),
    (1.0, 3.0, 0.0, -1, "A wins"),
    (-3.0, -1.0, 0.0, +1, "A wins"),
    (-3.0, -1.0, 0.0, -1, "B wins"),
    (1.0, 3.0, 0.0, 0, "higher"),
    (-3.0, -1.0, 0.0, 0, "lower"),
    (-1.0, 3.0, 0.0, +1, "not enough replications yet"),
    (0.0, 0.0, 0.0, +1, "no practical difference"),
    (0.5, 1.5, 2.0, +1, "no practical difference"),
    (1.0, 3.0, 2.0, +1, "not enough replications yet"),  # could be below the smallest effect that matters
    (2.5, 3.0, 2.0, +1, "B wins"),
    (-1.5, 1.5, 2.0, -1, "no practical difference"),
    (math.nan, math.nan, 0.0, +1, "not enough replications yet"),
])
def test_verdict_rules(low, high, delta, direction, expected) -> None:
    assert verdict(low, high, delta, direction) == expected
    assert expected in VERDICTS


def test_check_kpi_suggests_the_closest_name() -> None:
    assert check_kpi("won_deals") == "won_deals"
    assert "leak_no_show" in known_kpis()
    assert set(KPI_INFO) <= set(known_kpis())
    with pytest.raises(InputError, match="did you mean won_deals"):
        check_kpi("won_dels", "--min-effect")


# ------------------------------------------------------------------ the comparison table


def _figures(values: dict[str, list[float]]) -> list[dict[str, float]]:
    n = len(next(iter(values.values())))
    return [{k: v[i] for k, v in values.items()} for i in range(n)]


def test_table_has_the_contract_columns_and_exact_paired_difference() -> None:
    base = {"won_deals": [10.0, 20.0, 30.0, 40.0], "revenue": [1.0, 2.0, 3.0, 4.0], "leads": [5.0, 6.0, 7.0, 8.0]}
    variant = {"won_deals": [15.0, 25.0, 35.0, 45.0], "revenue": [1.0, 2.0, 3.0, 4.0], "leads": [5.0, 6.0, 7.0, 8.0]}
    table = _comparison_table([_figures(base), _figures(variant)], ["A", "B"], {}, "paired-t", 0)
    assert tuple(table.columns) == TABLE_COLUMNS
    won = table.set_index("kpi").loc["won_deals"]
    # every replication gains exactly 5: the paired interval has no width although A varies a lot
    assert (won["diff"], won["ci_low"], won["ci_high"]) == (5.0, 5.0, 5.0)
    assert won["rel_change"] == pytest.approx(5 / 25)
    assert won["verdict"] == "B wins" and won["label"] == "Won deals" and won["unit"] == "count"
    assert table.set_index("kpi").loc["revenue", "verdict"] == "no practical difference"


def test_min_effect_turns_a_small_sure_gain_into_no_practical_difference() -> None:
    base = {"won_deals": [10.0, 20.0, 30.0, 40.0]}
    variant = {"won_deals": [11.0, 21.2, 30.9, 41.1]}
    figures = [_figures(base), _figures(variant)]
    plain = _comparison_table(figures, ["A", "B"], {}, "paired-t", 0).iloc[0]
    assert plain["verdict"] == "B wins"
    strict = _comparison_table(figures, ["A", "B"], {"won_deals": 5.0}, "paired-t", 0).iloc[0]
    assert strict["verdict"] == "no practical difference" and strict["min_effect"] == 5.0


def test_several_variants_use_holm_for_the_verdict() -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(100, 10, 10)
    noise = np.array([-1.2, 0.4, 1.1, -0.3, 0.9, -0.8, 1.3, -0.5, 0.2, 0.6])
    # shift chosen so that the raw two-sided p-value is 0.04: below 0.05, but Holm's (x2) is above it
    se = noise.std(ddof=1) / math.sqrt(len(noise))
    shift = stats.t.ppf(1 - 0.04 / 2, len(noise) - 1) * se - noise.mean()
    b = a + shift + noise
    p_raw = stats.ttest_rel(b, a).pvalue
    assert p_raw == pytest.approx(0.04)
    c = a + rng.normal(0, 1, 10) * 1e-3  # a second variant with no effect at all
    single = _comparison_table([_figures({"won_deals": list(a)}), _figures({"won_deals": list(b)})],
                               ["A", "B"], {}, "paired-t", 0).iloc[0]
    assert single["verdict"] == "B wins" and single["p_adjusted"] == pytest.approx(p_raw)
    both = _comparison_table([_figures({"won_deals": list(a)}), _figures({"won_deals": list(b)}),
                              _figures({"won_deals": list(c)})], ["A", "B", "C"], {}, "paired-t", 0)
    row = both.set_index("variant").loc["B"]
    assert row["p_value"] == pytest.approx(p_raw)
    assert row["p_adjusted"] == pytest.approx(min(1.0, 2 * p_raw))
    assert row["verdict"] == "not enough replications yet"


def test_bootstrap_is_seeded_and_close_to_t_for_many_replications() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(50, 5, 200)
    b = a + rng.normal(1.0, 2.0, 200)
    figures = [_figures({"won_deals": list(a)}), _figures({"won_deals": list(b)})]
    boot1 = _comparison_table(figures, ["A", "B"], {}, "bootstrap", 7).iloc[0]
    boot2 = _comparison_table(figures, ["A", "B"], {}, "bootstrap", 7).iloc[0]
    t = _comparison_table(figures, ["A", "B"], {}, "paired-t", 7).iloc[0]
    assert boot1["ci_low"] == boot2["ci_low"] and boot1["ci_high"] == boot2["ci_high"]
    width_t, width_b = t["ci_high"] - t["ci_low"], boot1["ci_high"] - boot1["ci_low"]
    assert width_b == pytest.approx(width_t, rel=0.15)
    assert boot1["ci_low"] < boot1["diff"] < boot1["ci_high"]
    assert boot1["verdict"] == t["verdict"] == "B wins"


def test_comparison_to_dict_is_json_ready_and_verdicts_are_headline_kpis() -> None:
    kpis = {name: [1.0, 2.0, 3.0] for name in HEADLINE_KPIS}
    kpis["cost_per_acquisition"] = [math.nan, 2.0, 3.0]
    figures = [_figures(kpis), _figures({k: [v + 1 for v in vals] for k, vals in kpis.items()})]
    table = _comparison_table(figures, ["A", "B"], {}, "paired-t", 0)
    runs = tidy_runs("A", "h", [1, 2, 3], figures[0])
    scenario = Scenario()
    result = Comparison(baseline=scenario, variants=[scenario], runs=runs, table=table, replications=3,
                        seeds=[1, 2, 3], method="paired-t", precision=None, precision_reached=None)
    assert list(result.verdicts()["kpi"]) == list(HEADLINE_KPIS)
    text = json.dumps(result.to_dict(), allow_nan=False)
    data = json.loads(text)
    assert data["precision_reached"] is None and len(data["table"]) == len(HEADLINE_KPIS)
    assert set(data["table"][0]) == set(TABLE_COLUMNS)
