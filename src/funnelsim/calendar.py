"""The business calendar: when reps are on duty. The clock is minutes from Monday 00:00."""

from __future__ import annotations

import math

import numpy as np

from .scenario import Team
from .units import MINUTES_PER_DAY, WEEKDAYS

__all__ = ["BusinessCalendar"]


class BusinessCalendar:
    """Working hours and days; answers 'on duty now?', 'next shift start', 'shift end'."""

    def __init__(self, team: Team) -> None:
        self.start, self.end = team.shift
        self.days = frozenset(WEEKDAYS.index(d) for d in team.working_days)
        self.around_the_clock = self.start == 0.0 and self.end == MINUTES_PER_DAY and len(self.days) == 7
        self.minutes_per_week = (self.end - self.start) * len(self.days)

    def on_duty(self, t: float) -> bool:
        if self.around_the_clock:
            return True
        day = math.floor(t / MINUTES_PER_DAY)
        tod = t - day * MINUTES_PER_DAY
        return (day % 7) in self.days and self.start <= tod < self.end

    def next_start(self, t: float) -> float:
        """t itself when on duty, else the start of the next shift."""
        if self.on_duty(t):
            return t
        day = math.floor(t / MINUTES_PER_DAY)
        tod = t - day * MINUTES_PER_DAY
        if (day % 7) in self.days and tod < self.start:
            return day * MINUTES_PER_DAY + self.start
        for ahead in range(1, 8):
            if ((day + ahead) % 7) in self.days:
                return (day + ahead) * MINUTES_PER_DAY + self.start
        raise AssertionError("a calendar always has a working day")  # pragma: no cover

    def shift_bounds(self, t: float) -> tuple[float, float]:
        """Start and end of the shift that is on at t (t must be on duty)."""
        if self.around_the_clock:
            return -math.inf, math.inf
        day = math.floor(t / MINUTES_PER_DAY)
        return day * MINUTES_PER_DAY + self.start, day * MINUTES_PER_DAY + self.end

    def shift_end(self, t: float) -> float:
        """End of the shift that is on at t (t must be on duty); infinite around the clock."""
        if self.around_the_clock:
            return math.inf
        return math.floor(t / MINUTES_PER_DAY) * MINUTES_PER_DAY + self.end

    @property
    def shift_minutes(self) -> float:
        """Length of one shift: a business day of duty time."""
        return self.end - self.start

    def add_duty(self, t: float, minutes: float) -> float:
        """The moment `minutes` of duty time after t (from the next shift start if t is off duty)."""
        if self.around_the_clock:
            return t + minutes
        t = self.next_start(t)
        while True:
            end = self.shift_end(t)
            if t + minutes < end:
                return t + minutes
            minutes -= end - t
            t = self.next_start(end)

    def add_working_days(self, t: float, days: int) -> float:
        """The same time of day `days` working days after t (t on duty); t itself for 0 days."""
        if days <= 0 or self.around_the_clock:
            return t + days * MINUTES_PER_DAY if self.around_the_clock else t
        day = math.floor(t / MINUTES_PER_DAY)
        tod = t - day * MINUTES_PER_DAY
        while days:
            day += 1
            if day % 7 in self.days:
                days -= 1
        return day * MINUTES_PER_DAY + tod

    def business_offset(self, t: float, offset: float) -> float:
        """A cadence offset in business time: whole days are working days, the rest duty minutes."""
        if self.around_the_clock:
            return t + offset
        days = int(offset // MINUTES_PER_DAY)
        rest = offset - days * MINUTES_PER_DAY
        if days:
            t = self.add_working_days(t, days)  # the same time of day: still on duty
        return self.add_duty(t, rest) if rest else t

    def next_check(self, t: float, period: float) -> float:
        """When a rep who looks at new leads every `period` minutes of duty first sees one from t."""
        t = self.next_start(t)
        if period <= 0:
            return t
        start, end = self.shift_bounds(t)
        if math.isinf(start):
            return math.ceil(t / period) * period
        check = start + math.ceil((t - start) / period - 1e-9) * period
        return check if check < end else self.next_start(end)

    def duty_minutes(self, until: float) -> float:
        """On-duty minutes of one rep in [0, until)."""
        if self.around_the_clock:
            return until
        total = 0.0
        days = int(until // MINUTES_PER_DAY) + 1
        for day in range(days):
            if day % 7 not in self.days:
                continue
            lo = day * MINUTES_PER_DAY + self.start
            hi = min(day * MINUTES_PER_DAY + self.end, until)
            if hi > lo:
                total += hi - lo
        return total

    def duty_before(self, t: np.ndarray) -> np.ndarray:
        """On-duty minutes of one rep in [0, t), vectorised; NaN stays NaN."""
        t = np.asarray(t, dtype=float)
        if self.around_the_clock:
            return t.copy()
        weeks = np.floor(t / (7 * MINUTES_PER_DAY))
        offset = t - weeks * 7 * MINUTES_PER_DAY
        day = np.floor(offset / MINUTES_PER_DAY)
        tod = offset - day * MINUTES_PER_DAY
        shift = self.end - self.start
        working = np.array([d in self.days for d in range(7)], dtype=float)
        before_day = np.concatenate([[0.0], np.cumsum(working)])  # working days before weekday d
        safe_day = np.nan_to_num(day, nan=0.0).astype(int).clip(0, 6)
        partial = np.clip(tod - self.start, 0.0, shift) * working[safe_day]
        out = weeks * self.minutes_per_week + before_day[safe_day] * shift + partial
        return np.where(np.isnan(t), np.nan, out)

    def duty_between(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """On-duty minutes in [start, end): how long an SLA clock that runs in business hours ran."""
        return self.duty_before(end) - self.duty_before(start)
