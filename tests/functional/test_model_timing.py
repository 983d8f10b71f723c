"""Time in business hours: cadence offsets, demo slots, shift ends, attention (issue 8, item 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from funnelsim import load_scenario
from funnelsim.calendar import BusinessCalendar
from funnelsim.model import simulate

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"
ROOMY = ("months=1", "team.reps=30", "team.tiers=[]")  # attempts are made when the cadence says


def events_of(result, name: str):
    return result.events[result.events["event"] == name]


def test_cadence_offsets_run_in_business_time():
    scenario = load_scenario(BASELINE, list(ROOMY))
    result = simulate(scenario, 3)
    cal = BusinessCalendar(scenario.team)
    offsets = scenario.follow_up.attempt_offsets
    attempts = events_of(result, "attempt").groupby("lead_id")["time"].apply(list)
    checked = fridays = 0
    for times in attempts:
        first = times[0]
        for k in range(1, len(times)):
            due = cal.business_offset(first, offsets[k])
            assert times[k] >= due - 1e-6, "an attempt came before its business-time due time"
            checked += 1
        if len(times) > 2 and int(first // 1440) % 7 == 4:  # first touch on a Friday
            fridays += 1
            assert int(times[2] // 1440) % 7 == 0, "the '1d' attempt after a Friday call is on Monday"
    assert checked > 1000 and fridays > 10


def test_demos_are_held_in_working_hours_and_never_overlap():
    scenario = load_scenario(BASELINE, ["months=2"])
    result = simulate(scenario, 4)
    held = events_of(result, "demo_held")
    minute, weekday = held["time"] % 1440, (held["time"] // 1440).astype(int) % 7
    # a demo ends on time within the shift (it may start late only behind a call)
    assert ((minute > 9 * 60) & (minute <= 17 * 60 + 1e-6)).all() and (weekday < 5).all()
    booked = result.leads.dropna(subset=["demo_booked_at"])
    assert len(booked) > 100
    # per rep, the booked slots do not overlap: held demos end at least a demo apart
    for _, times in held.groupby("rep")["time"]:
        ends = np.sort(times.to_numpy())
        assert (np.diff(ends) >= scenario.demo.demo_minutes - 1e-6).all()


@pytest.mark.parametrize("reps", [1, 2])
def test_no_work_past_the_shift_so_utilisation_never_exceeds_one(reps):
    scenario = load_scenario(BASELINE, ["months=1", f"team.reps={reps}", "team.tiers=[]"])
    result = simulate(scenario, 5)
    assert (result.reps["utilisation"] <= 1.0 + 1e-9).all()
    assert (result.reps["utilisation"] > 0.95).all(), "one or two reps on 4,000 leads a month are saturated"
    cal = BusinessCalendar(scenario.team)
    work_end = result.stats["work_end_minutes"]
    assert (result.reps["busy_minutes_total"] <= cal.duty_minutes(work_end) + 1e-6).all()


def test_attention_caps_the_calls_a_rep_makes_in_a_day():
    scenario = load_scenario(BASELINE, ["months=1", "team.reps=2", "team.tiers=[]", "team.max_calls_per_day=25"])
    result = simulate(scenario, 6)
    attempts = events_of(result, "attempt")
    per_day = attempts.groupby([attempts["rep"], (attempts["time"] // 1440).astype(int)]).size()
    assert per_day.max() == 25
    free = simulate(load_scenario(BASELINE, ["months=1", "team.reps=2", "team.tiers=[]"]), 6)
    free_attempts = events_of(free, "attempt")
    assert free_attempts.groupby([free_attempts["rep"], (free_attempts["time"] // 1440).astype(int)]).size().max() > 25
