"""The lead population: arrival times and every per-lead random draw, made up front.

Everything random about a lead — when it arrives, whether it is legitimate, its persona,
fit, interest, whether it can be reached, what happens on each call attempt, whether it
turns up to a demo, what it buys — is drawn here, vectorised, from streams keyed by
source and quantity. The simulation only *reads* these draws, so two scenarios with the
same sources and seed see exactly the same leads, and differ only where policy differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..rng import Streams
from ..scenario import Scenario
from ..units import MINUTES_PER_DAY, MINUTES_PER_MONTH

__all__ = ["LeadPopulation", "generate_leads", "MAX_EXTRA_OPPORTUNITIES"]

MAX_EXTRA_OPPORTUNITIES = 4


@dataclass
class LeadPopulation:
    """Column arrays, one entry per lead, sorted by arrival time."""

    created: np.ndarray
    source: np.ndarray  # source index
    legitimate: np.ndarray
    persona: np.ndarray  # persona index, -1 for junk
    fit: np.ndarray
    interest: np.ndarray
    reachable: np.ndarray
    handoff: np.ndarray  # minutes
    click: np.ndarray  # minutes after entering nurture until the first click, inf if never
    review: np.ndarray  # minutes from a sales-ready click to marketing's next review of the nurture list
    u_sql: np.ndarray
    u_opportunity: np.ndarray
    extra_opportunities: np.ndarray
    # per attempt k: (n,) arrays
    u_answer: list[np.ndarray] = field(default_factory=list)
    call_scale: list[np.ndarray] = field(default_factory=list)  # standard exponential or 1
    # per demo try j
    u_no_show: list[np.ndarray] = field(default_factory=list)
    u_reschedule: list[np.ndarray] = field(default_factory=list)
    booking_lag: list[np.ndarray] = field(default_factory=list)  # minutes
    # per opportunity i
    u_win: list[np.ndarray] = field(default_factory=list)
    cycle: list[np.ndarray] = field(default_factory=list)  # minutes
    deal_value: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.created)


def _arrival_times(gen_counts: np.random.Generator, gen_times: np.random.Generator, scenario: Scenario,
                   per_month: float) -> np.ndarray:
    """Non-homogeneous Poisson arrivals with a rate constant within each hour of the week."""
    horizon = scenario.horizon_minutes
    hourly = np.asarray(scenario.arrivals.hourly_profile, dtype=float)
    weekly = np.asarray(scenario.arrivals.weekday_profile, dtype=float)
    week = np.outer(weekly, hourly).ravel()  # 168 hours, Monday 00:00 first
    week = week / week.mean()
    n_bins = int(np.ceil(horizon / 60.0))
    starts = np.arange(n_bins) * 60.0
    widths = np.minimum(60.0, horizon - starts)
    rate = per_month / MINUTES_PER_MONTH * week[np.arange(n_bins) % 168]
    counts = gen_counts.poisson(rate * widths)
    times = np.repeat(starts, counts) + gen_times.random(counts.sum()) * np.repeat(widths, counts)
    return np.sort(times)


def _beta(gen: np.random.Generator, mean: np.ndarray, concentration: float) -> np.ndarray:
    mean = np.clip(mean, 1e-3, 1 - 1e-3)
    return gen.beta(mean * concentration, (1 - mean) * concentration)


def generate_leads(scenario: Scenario, streams: Streams) -> LeadPopulation:
    """Draw the whole lead population of one replication."""
    parts: list[dict[str, np.ndarray]] = []
    personas = scenario.leads.personas
    persona_p = np.array([p.share for p in personas], dtype=float)
    persona_p /= persona_p.sum()
    persona_fit = np.array([p.fit for p in personas])
    persona_interest = np.array([p.interest for p in personas])
    conc = scenario.leads.concentration
    n_attempts = len(scenario.follow_up.attempt_offsets)
    n_demos = scenario.demo.reschedule_attempts + 1
    n_opps = 1 + MAX_EXTRA_OPPORTUNITIES
    fixed_calls = scenario.team.call_time_distribution == "fixed"

    for index, source in enumerate(scenario.sources):
        def g(*key: str, _s: str = source.name) -> np.random.Generator:
            return streams.generator("lead", _s, *key)

        created = _arrival_times(g("arrival-counts"), g("arrival-times"), scenario, source.leads_per_month)
        n = len(created)
        legit = g("legitimate").random(n) < source.legitimate_share
        persona = np.where(legit, g("persona").choice(len(personas), size=n, p=persona_p), -1)
        fit_mean = np.where(legit, persona_fit[np.maximum(persona, 0)], scenario.leads.junk.fit)
        interest_mean = np.where(legit, persona_interest[np.maximum(persona, 0)], scenario.leads.junk.interest)
        reach_p = np.where(legit, scenario.leads.reachable_legitimate, scenario.leads.reachable_junk)
        click_p = np.where(legit, scenario.nurture.click_probability, scenario.nurture.junk_click_probability)
        clicks = g("nurture-click").random(n) < click_p
        click_after = g("nurture-delay").standard_exponential(n) * scenario.nurture.mean_days_to_click * MINUTES_PER_DAY
        u_extra = g("extra-opportunities").random(n)
        q = scenario.opportunities.extra_opportunity_probability
        # geometric number of extra opportunities: P(k or more) = q**k
        extra = np.zeros(n, dtype=int)
        for k in range(1, MAX_EXTRA_OPPORTUNITIES + 1):
            extra += u_extra < q**k
        part = {
            "created": created,
            "source": np.full(n, index, dtype=int),
            "legitimate": legit,
            "persona": persona,
            "fit": _beta(g("fit"), fit_mean, conc),
            "interest": _beta(g("interest"), interest_mean, conc),
            "reachable": g("reachable").random(n) < reach_p,
            "handoff": g("handoff").standard_exponential(n) * scenario.marketing.handoff_minutes,
            "click": np.where(clicks, click_after, np.inf),
            "review": g("nurture-review").standard_exponential(n) * scenario.nurture.review_days * MINUTES_PER_DAY,
            "u_sql": g("qualify").random(n),
            "u_opportunity": g("opportunity").random(n),
            "extra_opportunities": extra,
        }
        for k in range(n_attempts):
            part[f"u_answer{k}"] = g("answer", str(k)).random(n)
            part[f"call_scale{k}"] = np.ones(n) if fixed_calls else g("call-time", str(k)).standard_exponential(n)
        for j in range(n_demos):
            part[f"u_no_show{j}"] = g("no-show", str(j)).random(n)
            part[f"u_reschedule{j}"] = g("reschedule", str(j)).random(n)
            part[f"booking_lag{j}"] = (
                g("booking-lag", str(j)).standard_exponential(n) * scenario.demo.booking_lag_days * MINUTES_PER_DAY
            )
        value_mult = np.array([p.deal_value_multiplier for p in personas])[np.maximum(persona, 0)]
        for i in range(n_opps):
            opp = scenario.opportunities
            part[f"u_win{i}"] = g("win", str(i)).random(n)
            part[f"cycle{i}"] = (
                opp.cycle_days_median * np.exp(opp.cycle_days_sigma * g("cycle", str(i)).standard_normal(n))
                * MINUTES_PER_DAY
            )
            part[f"deal_value{i}"] = (
                opp.deal_value_median * value_mult * np.exp(opp.deal_value_sigma * g("deal-value", str(i)).standard_normal(n))
            )
        parts.append(part)

    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(merged["created"], kind="stable")
    merged = {key: value[order] for key, value in merged.items()}

    def cols(prefix: str, count: int) -> list[np.ndarray]:
        return [merged.pop(f"{prefix}{i}") for i in range(count)]

    u_answer = cols("u_answer", n_attempts)
    call_scale = cols("call_scale", n_attempts)
    u_no_show = cols("u_no_show", n_demos)
    u_reschedule = cols("u_reschedule", n_demos)
    booking_lag = cols("booking_lag", n_demos)
    u_win = cols("u_win", n_opps)
    cycle = cols("cycle", n_opps)
    deal_value = cols("deal_value", n_opps)
    return LeadPopulation(
        **merged,
        u_answer=u_answer,
        call_scale=call_scale,
        u_no_show=u_no_show,
        u_reschedule=u_reschedule,
        booking_lag=booking_lag,
        u_win=u_win,
        cycle=cycle,
        deal_value=deal_value,
    )
