"""Units of the simulation clock: minutes, from Monday 00:00 of week one.

Defined once, at the bottom of the package: every layer imports them from here.
"""

from __future__ import annotations

__all__ = ["MINUTES_PER_HOUR", "MINUTES_PER_DAY", "MINUTES_PER_WEEK", "MINUTES_PER_MONTH", "WEEKDAYS"]

MINUTES_PER_HOUR = 60.0
MINUTES_PER_DAY = 1440.0
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
#: a month is a twelfth of a Julian year (365.25 days)
MINUTES_PER_MONTH = 365.25 / 12 * MINUTES_PER_DAY
#: the clock's day 0 is a Monday
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
