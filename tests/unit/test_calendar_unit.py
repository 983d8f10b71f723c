"""The business calendar: on duty, next shift start, next inbox check, duty minutes.

The clock is minutes from Monday 00:00 of week one, so day d starts at d·1440 and
day d is a weekday when d % 7 < 5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from funnelsim.calendar import BusinessCalendar
from funnelsim.scenario import Team

H = 60.0
DAY = 1440.0
WEEK = 7 * DAY
MON, TUE, FRI, SAT, SUN = 0, 1, 4, 5, 6


def at(day: int, hour: float, minute: float = 0.0, week: int = 0) -> float:
    return week * WEEK + day * DAY + hour * H + minute


@pytest.fixture(scope="module")
def office() -> BusinessCalendar:
    return BusinessCalendar(Team(working_hours="09:00-17:00", working_days=["mon", "tue", "wed", "thu", "fri"]))


@pytest.fixture(scope="module")
def always() -> BusinessCalendar:
    return BusinessCalendar(Team(working_hours="00:00-24:00",
                                 working_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))


def test_office_calendar_facts(office: BusinessCalendar) -> None:
    assert (office.start, office.end) == (540.0, 1020.0)
    assert office.days == frozenset(range(5))
    assert office.around_the_clock is False
    assert office.minutes_per_week == 5 * 8 * H


@pytest.mark.parametrize(("t", "on"), [
    (at(MON, 0), False),
    (at(MON, 8, 59.99), False),
    (at(MON, 9), True),  # the shift starts on the minute
    (at(MON, 12, 30), True),
    (at(MON, 16, 59.99), True),
    (at(MON, 17), False),  # and ends before the minute
    (at(TUE, 10), True),
    (at(FRI, 16), True),
    (at(FRI, 17, 1), False),
    (at(SAT, 10), False),
    (at(SUN, 12), False),
    (at(MON, 10, week=1), True),
    (at(SAT, 10, week=3), False),
])
def test_on_duty(office: BusinessCalendar, t: float, on: bool) -> None:
    assert office.on_duty(t) is on


@pytest.mark.parametrize(("t", "start"), [
    (at(MON, 0), at(MON, 9)),
    (at(MON, 8, 30), at(MON, 9)),
    (at(MON, 9), at(MON, 9)),  # on duty: t itself
    (at(MON, 13, 7), at(MON, 13, 7)),
    (at(MON, 17), at(TUE, 9)),
    (at(MON, 23, 59), at(TUE, 9)),
    (at(FRI, 17), at(MON, 9, week=1)),
    (at(SAT, 10), at(MON, 9, week=1)),
    (at(SUN, 23, 59), at(MON, 9, week=1)),
    (at(SAT, 0, week=2), at(MON, 9, week=3)),
])
def test_next_start(office: BusinessCalendar, t: float, start: float) -> None:
    assert office.next_start(t) == start


@pytest.mark.parametrize(("t", "period", "check"), [
    (at(MON, 9), 60, at(MON, 9)),  # a check at the start of the shift
    (at(MON, 9, 10), 60, at(MON, 10)),
    (at(MON, 10), 60, at(MON, 10)),
    (at(MON, 16), 60, at(MON, 16)),
    (at(MON, 16, 30), 60, at(TUE, 9)),  # 17:00 is the end of the shift: the next check is tomorrow
    (at(MON, 7), 60, at(MON, 9)),
    (at(MON, 9, 1), 45, at(MON, 9, 45)),
    (at(MON, 16, 46), 45, at(TUE, 9)),  # 16:30 has passed and 17:15 is after the shift
    (at(MON, 9, 1), 5, at(MON, 9, 5)),
    (at(FRI, 16, 58), 5, at(MON, 9, week=1)),
    (at(SAT, 12), 5, at(MON, 9, week=1)),
    (at(MON, 9, 10), 0, at(MON, 9, 10)),  # period 0: as soon as on duty
    (at(SUN, 3), 0, at(MON, 9, week=1)),
])
def test_next_check(office: BusinessCalendar, t: float, period: float, check: float) -> None:
    assert office.next_check(t, period) == pytest.approx(check, abs=1e-9)


def test_next_check_is_never_before_t_and_always_on_duty(office: BusinessCalendar) -> None:
    for minute in range(0, int(WEEK) * 2, 7):
        for period in (5, 30, 60, 45):
            check = office.next_check(float(minute), period)
            assert check >= minute
            assert office.on_duty(check)
            # a check falls on the grid of `period` minutes from the start of its shift
            assert ((check % DAY) - office.start) % period == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize(("until", "minutes"), [
    (0, 0),
    (at(MON, 9), 0),
    (at(MON, 10), 60),
    (at(MON, 17), 480),
    (at(TUE, 0), 480),
    (at(TUE, 12), 480 + 180),
    (at(SAT, 0), 5 * 480),
    (WEEK, 5 * 480),
    (at(MON, 10, week=1), 5 * 480 + 60),
    (4 * WEEK, 20 * 480),
])
def test_duty_minutes(office: BusinessCalendar, until: float, minutes: float) -> None:
    assert office.duty_minutes(until) == minutes


def test_shift_bounds(office: BusinessCalendar, always: BusinessCalendar) -> None:
    assert office.shift_bounds(at(TUE, 11)) == (at(TUE, 9), at(TUE, 17))
    assert always.shift_bounds(at(TUE, 11)) == (-math.inf, math.inf)


def test_around_the_clock(always: BusinessCalendar) -> None:
    assert always.around_the_clock is True
    assert always.minutes_per_week == WEEK
    for t in (0.0, 59.5, at(SAT, 3), at(SUN, 23, 59.9), 10 * WEEK + 1):
        assert always.on_duty(t)
        assert always.next_start(t) == t
    assert always.next_check(100.0, 15) == 105.0
    assert always.next_check(105.0, 15) == 105.0
    assert always.next_check(at(SUN, 23, 50), 60) == at(MON, 0, week=1)
    assert always.next_check(37.25, 0) == 37.25
    assert always.duty_minutes(12_345.5) == 12_345.5


def test_weekend_only_night_shift() -> None:
    cal = BusinessCalendar(Team(working_hours="20:00-24:00", working_days=["sat", "sun"]))
    assert not cal.around_the_clock
    assert cal.next_start(0.0) == at(SAT, 20)
    assert cal.on_duty(at(SUN, 23, 59)) and not cal.on_duty(at(MON, 0, week=1))
    assert cal.next_start(at(SUN, 23, 59.5)) == at(SUN, 23, 59.5)
    assert cal.next_start(at(MON, 0, week=1)) == at(SAT, 20, week=1)
    assert cal.duty_minutes(WEEK) == 2 * 240
    assert cal.next_check(at(SAT, 23, 30), 60) == at(SUN, 20)


@pytest.mark.parametrize("hours,days", [
    ("09:00-17:00", ["mon", "tue", "wed", "thu", "fri"]),
    ("00:00-24:00", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
    ("18:00-23:30", ["wed", "sat", "sun"]),
])
def test_vectorised_duty_before_equals_the_day_by_day_count(hours, days):
    from funnelsim.calendar import BusinessCalendar
    from funnelsim.scenario import Team

    cal = BusinessCalendar(Team(working_hours=hours, working_days=days))
    times = np.random.default_rng(0).uniform(0, 60 * 1440, 300)
    expected = np.array([cal.duty_minutes(t) for t in times])
    assert np.array_equal(cal.duty_before(times), expected)
    assert np.isnan(cal.duty_before(np.array([np.nan]))[0])
    # a night: from Monday 17:00 to Tuesday 09:30 is half an hour of business time on 9-17 weekdays
    if hours == "09:00-17:00":
        assert cal.duty_between(np.array([17 * 60.0]), np.array([1440 + 9.5 * 60]))[0] == 30.0
