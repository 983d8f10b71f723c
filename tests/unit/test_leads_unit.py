"""The lead population: Poisson arrivals by hour and weekday, lead attributes, common random numbers.

Statistical checks use fixed seeds and 99.9% intervals (z = 3.29) of the exact sampling
distribution (Poisson for counts, binomial for shares), so each fails by chance with
probability 0.001 at most — and, with fixed seeds, either always or never.
"""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from funnelsim.model.population import MAX_EXTRA_OPPORTUNITIES, LeadPopulation, generate_leads
from funnelsim.rng import Streams
from funnelsim.scenario import MINUTES_PER_DAY, MINUTES_PER_MONTH, Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"
Z = 3.29  # two-sided 99.9%
FOUR_WEEKS = 28 * MINUTES_PER_DAY / MINUTES_PER_MONTH  # in months: whole weeks see the mean profile exactly
POLICY_VARIANTS = ["five_minute_sla", "more_reps", "score_first_queue", "hot_lead_alerts", "daily_crm_pull",
                   "lead_cap_500", "reclaim_untouched", "more_reps"]


def poisson_ok(count: int, mean: float) -> bool:
    return abs(count - mean) <= Z * math.sqrt(mean)


def binomial_ok(successes: int, n: int, p: float) -> bool:
    return abs(successes - n * p) <= Z * math.sqrt(n * p * (1 - p))


def one_source(volume: float = 2000, months: float = 1.0, **extra: object) -> Scenario:
    overrides = {"months": months, "sources": [{"name": "inbound", "leads_per_month": volume,
                                                "legitimate_share": 0.3}]}
    overrides.update(extra)
    return load_scenario(BASELINE, overrides)


def same_population(a: LeadPopulation, b: LeadPopulation) -> None:
    for f in fields(LeadPopulation):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, list):
            assert len(x) == len(y), f.name
            for i, (xi, yi) in enumerate(zip(x, y)):
                np.testing.assert_array_equal(xi, yi, err_msg=f"{f.name}[{i}]")
        else:
            np.testing.assert_array_equal(x, y, err_msg=f.name)


# --------------------------------------------------------------------------- arrivals


def test_arrival_count_matches_the_monthly_volume() -> None:
    flat = one_source(2000, months=1.0, **{"arrivals.hourly_profile": [1] * 24, "arrivals.weekday_profile": [1] * 7})
    counts = [len(generate_leads(flat, Streams(seed))) for seed in range(10)]
    assert all(poisson_ok(c, 2000) for c in counts), counts
    assert poisson_ok(sum(counts), 20_000), sum(counts)
    assert len(set(counts)) > 1  # it is random, not a fixed number


def test_arrival_count_with_the_baseline_profile_over_whole_weeks() -> None:
    scenario = load_scenario(BASELINE, [f"months={FOUR_WEEKS!r}"])
    pop = generate_leads(scenario, Streams(3))
    for index, source in enumerate(scenario.sources):
        assert poisson_ok(int((pop.source == index).sum()), source.leads_per_month * FOUR_WEEKS), source.name
    assert poisson_ok(len(pop), sum(s.leads_per_month for s in scenario.sources) * FOUR_WEEKS)


def test_arrivals_are_sorted_and_inside_the_horizon(short_baseline: Scenario) -> None:
    pop = generate_leads(short_baseline, Streams(1))
    assert np.all(np.diff(pop.created) >= 0)
    assert pop.created.min() >= 0 and pop.created.max() < short_baseline.horizon_minutes
    assert all(len(getattr(pop, f.name)) == len(pop) for f in fields(LeadPopulation)
               if not isinstance(getattr(pop, f.name), list))


def test_hourly_and_weekday_profiles_are_respected() -> None:
    hourly = [0.0] * 8 + [1.0] * 4 + [3.0] + [1.0] * 7 + [0.0] * 4  # nobody at night, a lunchtime peak
    weekday = [2.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]  # Mondays double, no weekend leads
    scenario = one_source(4000, months=FOUR_WEEKS * 2, **{"arrivals.hourly_profile": hourly,
                                                          "arrivals.weekday_profile": weekday})
    pop = generate_leads(scenario, Streams(5))
    n = len(pop)
    assert poisson_ok(n, 4000 * FOUR_WEEKS * 2)
    hour = (pop.created % MINUTES_PER_DAY // 60).astype(int)
    day = (pop.created // MINUTES_PER_DAY).astype(int) % 7
    per_hour = np.bincount(hour, minlength=24)
    per_day = np.bincount(day, minlength=7)
    assert all(per_hour[h] == 0 for h in range(24) if hourly[h] == 0)  # zero weight: zero arrivals
    assert per_day[5] == per_day[6] == 0
    assert binomial_ok(int(per_hour[12]), n, 3 / sum(hourly))
    assert binomial_ok(int(per_hour[9]), n, 1 / sum(hourly))
    assert binomial_ok(int(per_day[0]), n, 2 / 6)
    assert binomial_ok(int(per_day[3]), n, 1 / 6)


def test_arrivals_within_an_hour_are_uniform() -> None:
    pop = generate_leads(one_source(3000), Streams(2))
    minute = pop.created % 60
    assert binomial_ok(int((minute < 15).sum()), len(pop), 0.25)
    assert binomial_ok(int((minute >= 30).sum()), len(pop), 0.5)


def test_zero_volume_source_has_no_leads() -> None:
    scenario = load_scenario(BASELINE, ["months=1", "sources.1.leads_per_month=0"])
    pop = generate_leads(scenario, Streams(1))
    assert not np.any(pop.source == 1) and np.any(pop.source == 0)


# --------------------------------------------------------------------------- lead attributes


def test_legitimate_share_per_source(short_baseline: Scenario) -> None:
    pop = generate_leads(short_baseline, Streams(4))
    for index, source in enumerate(short_baseline.sources):
        mine = pop.source == index
        assert binomial_ok(int(pop.legitimate[mine].sum()), int(mine.sum()), source.legitimate_share), source.name


def test_personas_fit_interest_and_reachability() -> None:
    scenario = one_source(20_000)
    pop = generate_leads(scenario, Streams(8))
    legit = pop.legitimate
    n_legit = int(legit.sum())
    assert binomial_ok(n_legit, len(pop), 0.3)
    assert np.all(pop.persona[~legit] == -1) and np.all(pop.persona[legit] >= 0)
    personas = scenario.leads.personas
    shares = np.array([p.share for p in personas]) / sum(p.share for p in personas)
    conc = scenario.leads.concentration
    for index, persona in enumerate(personas):
        mine = pop.persona == index
        assert binomial_ok(int(mine.sum()), n_legit, shares[index]), persona.name
        for attr, mean in (("fit", persona.fit), ("interest", persona.interest)):
            values = getattr(pop, attr)[mine]
            sd = math.sqrt(mean * (1 - mean) / (conc + 1))  # a Beta's spread at this concentration
            assert abs(values.mean() - mean) <= Z * sd / math.sqrt(mine.sum()), (persona.name, attr)
    junk_fit = pop.fit[~legit]
    assert abs(junk_fit.mean() - scenario.leads.junk.fit) <= Z * math.sqrt(0.3 * 0.7 / (conc + 1) / len(junk_fit))
    assert np.all((pop.fit > 0) & (pop.fit < 1) & (pop.interest > 0) & (pop.interest < 1))
    assert binomial_ok(int(pop.reachable[legit].sum()), n_legit, scenario.leads.reachable_legitimate)
    assert binomial_ok(int(pop.reachable[~legit].sum()), int((~legit).sum()), scenario.leads.reachable_junk)


def test_per_lead_draws_have_their_distributions() -> None:
    scenario = one_source(20_000)
    pop = generate_leads(scenario, Streams(9))
    n = len(pop)
    handoff = scenario.marketing.handoff_minutes  # exponential: sd = mean
    assert abs(pop.handoff.mean() - handoff) <= Z * handoff / math.sqrt(n)
    clicks = np.isfinite(pop.click)
    legit = pop.legitimate
    assert binomial_ok(int(clicks[legit].sum()), int(legit.sum()), scenario.nurture.click_probability)
    assert binomial_ok(int(clicks[~legit].sum()), int((~legit).sum()), scenario.nurture.junk_click_probability)
    days = pop.click[clicks] / MINUTES_PER_DAY
    assert abs(days.mean() - scenario.nurture.mean_days_to_click) <= Z * scenario.nurture.mean_days_to_click / math.sqrt(
        clicks.sum())
    q = scenario.opportunities.extra_opportunity_probability
    assert binomial_ok(int((pop.extra_opportunities >= 1).sum()), n, q)
    assert binomial_ok(int((pop.extra_opportunities >= 2).sum()), n, q**2)
    assert pop.extra_opportunities.max() <= MAX_EXTRA_OPPORTUNITIES
    assert binomial_ok(int((pop.u_sql < 0.3).sum()), n, 0.3)
    median_cycle = np.median(pop.cycle[0]) / MINUTES_PER_DAY
    assert median_cycle == pytest.approx(scenario.opportunities.cycle_days_median, rel=0.03)


def test_one_draw_per_attempt_demo_try_and_opportunity(short_baseline: Scenario) -> None:
    pop = generate_leads(short_baseline, Streams(1))
    assert len(pop.u_answer) == len(pop.call_scale) == len(short_baseline.follow_up.attempt_offsets)
    n_demos = short_baseline.demo.reschedule_attempts + 1
    assert len(pop.u_no_show) == len(pop.u_reschedule) == len(pop.booking_lag) == n_demos
    assert len(pop.u_win) == len(pop.cycle) == len(pop.deal_value) == 1 + MAX_EXTRA_OPPORTUNITIES
    fixed = generate_leads(short_baseline.with_overrides(["team.call_time_distribution=fixed"]), Streams(1))
    assert all(np.all(scale == 1.0) for scale in fixed.call_scale)
    np.testing.assert_array_equal(fixed.created, pop.created)


# --------------------------------------------------------------------------- common random numbers


@pytest.mark.parametrize("variant", POLICY_VARIANTS)
def test_policy_variants_see_identical_leads(short_baseline: Scenario, variant: str) -> None:
    other = load_scenario(SCENARIOS / f"{variant}.yaml", ["months=1"])
    assert other.hash != short_baseline.hash
    same_population(generate_leads(short_baseline, Streams(21)), generate_leads(other, Streams(21)))


def test_any_sla_or_team_policy_leaves_the_leads_alone(short_baseline: Scenario) -> None:
    other = short_baseline.with_overrides([
        "sla.first_touch_minutes=1", "sla.assign_within_minutes=5", "team.reps=3", "team.queue_order=oldest_first",
        "routing.policy=least_loaded", "routing.lead_cap=50", "routing.at_cap=discard", "team.working_hours=08:00-20:00",
    ])
    same_population(generate_leads(short_baseline, Streams(4)), generate_leads(other, Streams(4)))


def test_more_reschedules_extend_the_demo_draws_without_changing_them(short_baseline: Scenario) -> None:
    more = load_scenario(SCENARIOS / "no_show_reschedule.yaml", ["months=1"])
    a, b = generate_leads(short_baseline, Streams(2)), generate_leads(more, Streams(2))
    np.testing.assert_array_equal(a.created, b.created)
    assert (len(a.u_no_show), len(b.u_no_show)) == (1, 4)  # no reach-outs in the baseline; 3 in the variant
    for j in range(1):
        np.testing.assert_array_equal(a.u_no_show[j], b.u_no_show[j])
        np.testing.assert_array_equal(a.booking_lag[j], b.booking_lag[j])


def test_adding_a_source_leaves_the_other_sources_leads_alone(short_baseline: Scenario) -> None:
    extra = {"name": "partner_referrals", "leads_per_month": 300, "legitimate_share": 0.6, "cost_per_lead": 80}
    wider = short_baseline.with_overrides(
        {"sources": [s.model_dump() for s in short_baseline.sources] + [extra]})
    a, b = generate_leads(short_baseline, Streams(6)), generate_leads(wider, Streams(6))
    old = b.source < len(short_baseline.sources)
    assert np.any(~old)
    for name in ("created", "source", "legitimate", "persona", "fit", "interest", "reachable", "u_sql"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name)[old], err_msg=name)
    for k in range(len(a.u_answer)):
        np.testing.assert_array_equal(a.u_answer[k], b.u_answer[k][old])


def test_same_seed_same_leads_other_seed_other_leads(short_baseline: Scenario) -> None:
    same_population(generate_leads(short_baseline, Streams(1)), generate_leads(short_baseline, Streams(1)))
    a, b = generate_leads(short_baseline, Streams(1)), generate_leads(short_baseline, Streams(2))
    assert len(a) != len(b) or not np.array_equal(a.created, b.created)


def test_simulated_leads_are_shared_by_baseline_and_five_minute_sla(short_baseline: Scenario) -> None:
    from funnelsim.model import simulate

    five = load_scenario(SCENARIOS / "five_minute_sla.yaml", ["months=1"])
    a = simulate(short_baseline, 17, record_events=False).leads
    b = simulate(five, 17, record_events=False).leads
    attributes = ["created_at", "source", "persona", "legitimate", "fit", "interest", "reachable", "cost"]
    assert len(a) == len(b) > 1000
    for column in attributes:
        np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy(), err_msg=column)
    # and the policy does make a difference downstream
    assert not a["first_touch_at"].equals(b["first_touch_at"])
