"""The behaviours a credible funnel model shows (face validity), as paired tests with CIs.

Sargent's face-validity, extreme-condition and sensitivity tests, for a lead funnel
(see the brief): quality predicts conversion; leads go cold; hiring helps while reps are
the bottleneck and only adds cost once they idle; a cap with redistribution beats
hoarding under uneven load; persistence pays with diminishing returns; k reach-outs win
back 1 − (1 − s)^k of no-shows; and the extreme conditions. Comparisons are paired on
common random numbers (same seeds, so the same leads), and every tolerance is a 95%
confidence interval from ``scipy.stats`` — never a tuned threshold.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from funnelsim import load_scenario
from funnelsim.model import simulate

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SEEDS = tuple(range(1, 7))  # six paired replications
MONTHS = 3


@lru_cache(maxsize=None)
def leads(name: str, overrides: tuple[str, ...] = (), seed: int = 1, months: float = MONTHS) -> pd.DataFrame:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml", [f"months={months}", *overrides])
    return simulate(scenario, seed, record_events=False).leads


def won(frame: pd.DataFrame) -> float:
    return float((frame["outcome"] == "won").sum())


def sqls(frame: pd.DataFrame) -> float:
    return float(frame["sql_at"].notna().sum())


def contacted(frame: pd.DataFrame) -> float:
    return float(frame["contacted_at"].notna().sum())


def touched_within_hour(frame: pd.DataFrame) -> float:
    """Share of MQLs first touched within an hour of engaging (never touched counts as not)."""
    mql = frame[frame["mql_at"].notna()]
    return float((mql["speed_to_lead"] <= 60).mean())


def paired_ci(measure, a: tuple, b: tuple, seeds=SEEDS) -> tuple[float, float]:
    """95% CI of the mean paired difference measure(B) − measure(A) over common-random-number seeds."""
    xa = np.array([measure(leads(*a, seed=s)) for s in seeds])
    xb = np.array([measure(leads(*b, seed=s)) for s in seeds])
    ci = stats.ttest_rel(xb, xa).confidence_interval(0.95)
    return float(ci.low), float(ci.high)


BASE = ("baseline", ())


# --------------------------------------------------------------------------- quality


def test_quality_predicts_conversion():
    """Top score quartile of contacted legitimate leads qualifies more often than the bottom one."""
    gaps = []
    for seed in SEEDS:
        frame = leads(*BASE, seed=seed)
        reached = frame[frame["legitimate"] & frame["contacted_at"].notna()]
        low, high = reached["score"].quantile([0.25, 0.75])
        top = reached.loc[reached["score"] >= high, "sql_at"].notna().mean()
        bottom = reached.loc[reached["score"] <= low, "sql_at"].notna().mean()
        gaps.append(top - bottom)
    ci = stats.ttest_1samp(gaps, 0.0).confidence_interval(0.95)
    assert ci.low > 0.05, f"top vs bottom quartile SQL rate gap, 95% CI [{ci.low:.3f}, {ci.high:.3f}]"


def test_quality_raises_deal_value_and_win_rate():
    """Won deals of leads with above-median fit are worth more than those below the median."""
    frames = [leads(*BASE, seed=s, months=6) for s in SEEDS]
    wins = pd.concat(frames)
    wins = wins[wins["outcome"] == "won"]
    median_fit = wins["fit"].median()
    high = np.log(wins.loc[wins["fit"] > median_fit, "revenue"])
    low = np.log(wins.loc[wins["fit"] <= median_fit, "revenue"])
    ci = stats.ttest_ind(high, low, equal_var=False).confidence_interval(0.95)
    assert ci.low > 0, f"log revenue gap, 95% CI [{ci.low:.3f}, {ci.high:.3f}]"


# --------------------------------------------------------------------------- speed and cold leads


def test_slower_first_touch_lowers_sqls():
    """Reps who look at new leads every 4 hours instead of every 2.5 minutes qualify fewer leads."""
    fast = ("baseline", ("sla.first_touch_minutes=5",))
    slow = ("baseline", ("team.new_lead_check_minutes=240",))
    low, high = paired_ci(sqls, fast, slow)
    assert high < 0, f"SQLs (4 h − 2.5 min checks), 95% CI [{low:.1f}, {high:.1f}]"


def test_leads_left_for_weeks_are_worth_less():
    """Legitimate leads first reached two weeks or more after engaging qualify less often than within a day."""
    gaps = []
    for seed in SEEDS:
        frame = leads(*BASE, seed=seed, months=6)
        reached = frame[frame["legitimate"] & frame["contacted_at"].notna()]
        wait = reached["contacted_at"] - reached["engaged_at"]
        day = reached.loc[(wait > 60) & (wait <= 1440), "sql_at"].notna().mean()
        weeks = reached.loc[wait >= 14 * 1440, "sql_at"].notna().mean()
        gaps.append(day - weeks)
    ci = stats.ttest_1samp(gaps, 0.0).confidence_interval(0.95)
    assert ci.low > 0, f"SQL rate within a day − after two weeks, 95% CI [{ci.low:.3f}, {ci.high:.3f}]"


# --------------------------------------------------------------------------- capacity


#: hoarding builds up over months: capacity effects are measured over half a year, on eight seeds
LONG = ("months=6",)
LONG_SEEDS = tuple(range(1, 9))


def test_hiring_helps_while_reps_are_the_bottleneck():
    """The baseline's reps are overloaded: two more raise won deals and first-touch speed."""
    base, more = ("baseline", LONG), ("baseline", (*LONG, "team.reps=6"))
    low, high = paired_ci(won, base, more, seeds=LONG_SEEDS)
    assert low > 0, f"won deals (6 − 4 reps), 95% CI [{low:.1f}, {high:.1f}]"
    low, high = paired_ci(touched_within_hour, base, more, seeds=LONG_SEEDS)
    assert low > 0, f"share touched within 1 h (6 − 4 reps), 95% CI [{low:.3f}, {high:.3f}]"


def test_hiring_beyond_idle_reps_only_adds_cost():
    """With reps idle, two more change won deals by less than 2% (the CI lies inside ±2%)."""
    idle = ("baseline", ("team.reps=14",))
    more = ("baseline", ("team.reps=16",))
    mean = np.mean([won(leads(*idle, seed=s)) for s in SEEDS])
    low, high = paired_ci(won, idle, more)
    assert -0.02 * mean < low and high < 0.02 * mean, f"won deals (16 − 14 reps), 95% CI [{low:.1f}, {high:.1f}]"


def test_cap_with_redistribution_beats_hoarding_under_uneven_load():
    """Seniors with large territories hoard leads; a 500-lead cap sends new leads to juniors and wins more deals.

    The cap binds once the seniors hold 500 leads (after a few months): measured over a year.
    """
    base, capped = ("baseline", ("months=12",)), ("lead_cap_500", ("months=12",))
    low, high = paired_ci(won, base, capped, seeds=LONG_SEEDS)
    assert low > 0, f"won deals (cap − hoarding), 95% CI [{low:.1f}, {high:.1f}]"
    aged = lambda frame: float((frame["outcome"] == "aged_out").sum())  # noqa: E731
    low, high = paired_ci(aged, base, capped, seeds=LONG_SEEDS)
    assert high < 0, f"aged-out leads (cap − hoarding), 95% CI [{low:.1f}, {high:.1f}]"


def test_reclaiming_untouched_leads_beats_hoarding():
    """Leads a senior leaves untouched 7 days go to a junior with room: more won deals, fewer aged out."""
    base, reclaim = ("baseline", LONG), ("reclaim_untouched", LONG)
    low, high = paired_ci(won, base, reclaim, seeds=LONG_SEEDS)
    assert low > 0, f"won deals (reclaim − hoarding), 95% CI [{low:.1f}, {high:.1f}]"


# --------------------------------------------------------------------------- persistence and no-shows

#: an unloaded team, so attempts are made when the cadence says
ROOMY = ("team.reps=30",)


def test_persistence_pays_with_diminishing_returns():
    """Contacts by attempt number fall attempt after attempt; most contacts come by the 6th attempt."""
    offsets = '["0m","30m","1d","2d","4d","6d","8d","10d","12d","14d"]'
    frame = leads("baseline", (*ROOMY, f"follow_up.attempt_offsets={offsets}"))
    reached = frame[frame["contacted_at"].notna()]
    counts = reached["attempts"].value_counts().reindex(range(1, 11), fill_value=0).to_numpy()
    # each further attempt adds fewer contacts than the one before (Poisson 95% CIs of the counts do not overlap)
    for k in range(5):
        upper_next = stats.poisson.ppf(0.975, counts[k + 1]) if counts[k + 1] else 0
        lower_this = stats.poisson.ppf(0.025, counts[k])
        assert upper_next < lower_this, f"attempt {k + 2} adds {counts[k + 1]} contacts, attempt {k + 1} {counts[k]}"
    by_sixth = stats.binomtest(int(counts[:6].sum()), int(counts.sum())).proportion_ci(0.95)
    assert by_sixth.low > 0.85, f"share of contacts by the 6th attempt, 95% CI [{by_sixth.low:.3f}, {by_sixth.high:.3f}]"
    assert counts[0] < counts[1:].sum(), "more than half of contacts come after the first call (Velocify)"


def test_more_attempts_raise_contacts():
    three = ("baseline", (*ROOMY, 'follow_up.attempt_offsets=["0m","30m","1d"]'))
    six = ("baseline", ROOMY)
    low, high = paired_ci(contacted, three, six)
    assert low > 0, f"contacts (6 − 3 attempts), 95% CI [{low:.1f}, {high:.1f}]"


@pytest.mark.parametrize("k", [1, 3])
def test_reach_outs_win_back_one_minus_one_minus_s_to_the_k_of_no_shows(k):
    s = 0.5
    scenario = load_scenario(SCENARIOS / "baseline.yaml",
                             ["months=6", *ROOMY, "demo.no_show_probability=0.4",
                              f"demo.reschedule_attempts={k}", f"demo.reschedule_success={s}"])
    won_back = missed = 0
    for seed in SEEDS[:3]:
        events = simulate(scenario, seed).events
        first = events[events["event"] == "no_show_once"].groupby("lead_id")["time"].min()
        rebooked = events[events["event"] == "rescheduled"].groupby("lead_id")["time"].min()
        missed += len(first)
        won_back += int((rebooked.reindex(first.index) > first).sum())
    ci = stats.binomtest(won_back, missed).proportion_ci(0.95)
    assert ci.low <= 1 - (1 - s) ** k <= ci.high, f"won back {won_back}/{missed}, 95% CI [{ci.low:.3f}, {ci.high:.3f}]"


# --------------------------------------------------------------------------- extreme conditions


def test_no_reps_means_nothing_contacted():
    frame = leads("baseline", ("team.reps=0", "team.tiers=[]"))
    assert frame["mql_at"].notna().sum() > 0
    assert frame["first_touch_at"].notna().sum() == 0 and contacted(frame) == 0 and won(frame) == 0


def test_nobody_answers_means_no_sql():
    frame = leads("baseline", ("follow_up.answer_probability=0",))
    assert frame["attempts"].sum() > 0
    assert contacted(frame) == 0 and sqls(frame) == 0 and won(frame) == 0


def test_double_volume_on_the_same_team_is_slower_and_converts_less_per_lead():
    double = ("baseline", tuple(f"sources.{i}.leads_per_month={2 * v}" for i, v in enumerate((2200, 1000, 500, 300))))
    low, high = paired_ci(touched_within_hour, BASE, double)
    assert high < 0, f"share touched within 1 h (double − base), 95% CI [{low:.3f}, {high:.3f}]"
    per_lead = lambda frame: won(frame) / len(frame)  # noqa: E731
    xa = np.array([per_lead(leads(*BASE, seed=s)) for s in SEEDS])
    xb = np.array([per_lead(leads(*double, seed=s)) for s in SEEDS])
    ci = stats.ttest_ind(xb, xa, equal_var=False).confidence_interval(0.95)  # different leads: not paired
    assert ci.high < 0, f"won per lead (double − base), 95% CI [{ci.low:.5f}, {ci.high:.5f}]"
