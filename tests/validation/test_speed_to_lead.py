"""The published speed-to-lead figures, reproduced by the default curve and by the simulator.

Two steps, each checked on its own:
1. the ``published`` curve m(t) of the ``perishable`` preset (p_durable 0, p_perishable 1)
   gives the published odds ratios (Oldroyd 2007; Oldroyd, McElheran & Elkington, HBR 2011);
2. the simulator qualifies leads as the curve says: in a response-time experiment
   (``scenarios/validation/speed_to_lead.yaml``) the observed qualification in each band of
   response times matches the curve within its binomial confidence interval, and the
   simulated odds ratios' 95% CIs contain the curve's and overlap the published ranges.
Published ratios are odds ratios: compare odds, not probabilities.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from funnelsim import load_scenario, simulate
from funnelsim.model.qualification import qualification_probability

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def odds(p: float) -> float:
    return p / (1.0 - p)


@lru_cache(maxsize=None)
def perishable():
    return load_scenario(SCENARIOS / "perishable.yaml")


def p_at(minutes: float) -> float:
    return float(qualification_probability(perishable().speed_to_lead, minutes))


def mean_p(lo: float, hi: float) -> float:
    value, _ = integrate.quad(p_at, lo, hi, limit=200, points=[5, 30, 60])
    return value / (hi - lo)


def test_perishable_preset_has_no_durable_part():
    sp = perishable().speed_to_lead
    assert (sp.curve, sp.p_durable, sp.p_perishable) == ("published", 0.0, 1.0)
    assert p_at(0.0) == pytest.approx(1.0, abs=1e-3)


def test_curve_reproduces_published_odds_ratios():
    # 5 vs 30 minutes: 21x (Oldroyd 2007); tolerance from the issue: [15, 30]
    assert 15 <= odds(p_at(5)) / odds(p_at(30)) <= 30
    # 5 vs 10 minutes: about 4x (same study, as re-quoted); tolerance [3, 5]
    assert 3 <= odds(p_at(5)) / odds(p_at(10)) <= 5
    # contact tried within the first hour vs in the second hour: about 7x (HBR 2011)
    assert 5 <= odds(mean_p(0, 60)) / odds(mean_p(60, 120)) <= 9
    # first hour vs 24 hours or later (24 h to 72 h): more than 60x (HBR 2011, "> 60x")
    assert odds(mean_p(0, 60)) / odds(mean_p(24 * 60, 72 * 60)) >= 45


@lru_cache(maxsize=None)
def experiment():
    result = simulate(load_scenario(SCENARIOS / "validation" / "speed_to_lead.yaml"), 0, record_events=False)
    leads = result.leads
    delay = leads["speed_to_lead"].to_numpy()
    qualified = leads["sql_at"].notna().to_numpy()
    assert np.isfinite(delay).all(), "every lead is contacted in this experiment"
    return delay, qualified


BANDS = [(0, 2), (2, 4), (4, 6), (6, 9), (9, 11), (11, 20), (20, 25), (25, 35), (35, 60), (60, 120)]


@pytest.mark.slow
@pytest.mark.parametrize("lo,hi", BANDS)
def test_simulated_qualification_follows_the_curve(lo, hi):
    delay, qualified = experiment()
    band = (delay >= lo) & (delay < hi)
    p = np.array([p_at(t) for t in delay[band]])
    expected, variance = p.sum(), (p * (1 - p)).sum()
    observed = qualified[band].sum()
    # 99.5% two-sided: ten bands are tested, so a Bonferroni-style margin keeps the family at ~5%
    z = stats.norm.ppf(1 - 0.005 / 2)
    assert band.sum() > 500, "the design puts enough contacts in every band"
    assert abs(observed - expected) <= z * math.sqrt(variance), (
        f"band {lo}-{hi} min: {observed} qualified, curve expects {expected:.1f} ± {math.sqrt(variance):.1f}"
    )


def _odds_ratio_ci(a_band, b_band):
    delay, qualified = experiment()
    sa = (delay >= a_band[0]) & (delay < a_band[1])
    sb = (delay >= b_band[0]) & (delay < b_band[1])
    a1, a0 = qualified[sa].sum(), (~qualified[sa]).sum()
    b1, b0 = qualified[sb].sum(), (~qualified[sb]).sum()
    log_or = math.log((a1 / a0) / (b1 / b0))
    se = math.sqrt(1 / a1 + 1 / a0 + 1 / b1 + 1 / b0)  # Woolf
    curve = odds(mean_p(*a_band)) / odds(mean_p(*b_band))
    return math.exp(log_or - 1.96 * se), math.exp(log_or + 1.96 * se), curve


@pytest.mark.slow
def test_simulated_odds_ratio_5_vs_30_minutes():
    lo, hi, curve = _odds_ratio_ci((4, 6), (25, 35))
    assert lo <= curve <= hi
    assert lo <= 30 and hi >= 15, f"simulated 95% CI [{lo:.1f}, {hi:.1f}] misses the published range [15, 30]"


@pytest.mark.slow
def test_simulated_odds_ratio_5_vs_10_minutes():
    lo, hi, curve = _odds_ratio_ci((4, 6), (9, 11))
    assert lo <= curve <= hi
    assert lo <= 5 and hi >= 3, f"simulated 95% CI [{lo:.2f}, {hi:.2f}] misses the published range [3, 5]"
