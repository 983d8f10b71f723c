"""The things a simulation moves around: leads, reps, and the work items in a rep's queue.

A rep's queue holds named work items — a :class:`Call` (attempt k of a lead's cadence),
a :class:`Demo` (a booked presentation) and a :class:`ReachOut` (a call to rebook a
no-show). The queue itself is a heap of ``(priority class, order key, seq, item)``
tuples: demos first, then alerted first touches, then calls in the team's queue order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import simpy

__all__ = ["Lead", "Rep", "Call", "Demo", "ReachOut", "DEMO", "ALERT", "NORMAL"]

#: priority classes of the work queue: appointments first, then alerted hot leads' first touch, then the rest
DEMO, ALERT, NORMAL = 0, 1, 2

NAN = math.nan


@dataclass(slots=True, eq=False)
class Lead:
    """One lead's state as it moves through the funnel (times in minutes; NaN = not yet)."""

    i: int  # index into the population's draws
    score: float
    interest: float
    engaged_at: float  # creation, or the campaign click that re-engaged it: the speed clock starts here
    sql_shift: float = 0.0  # log-odds shifts from quality (legitimate leads only)
    answer_shift: float = 0.0
    j: int = -1  # index into the model's per-lead draws of the leads that entered the simulation
    mql_at: float = NAN
    assigned_at: float = NAN  # first assignment (the SLA's "assigned within")
    owned_at: float = NAN  # assignment to its current rep
    rep: int = -1
    first_touch_at: float = NAN
    last_touch_at: float = NAN  # the latest attempt
    contacted_at: float = NAN
    closed_at: float = NAN  # prospecting ended (reached, or given up)
    attempts: int = 0
    attempts_week1: int = 0
    sql_at: float = NAN
    demo_booked_at: float = NAN
    demo_held_at: float = NAN
    demo_tries: int = 0
    reach_outs: int = 0
    opportunity_at: float = NAN
    opportunities: int = 0
    won_at: float = NAN
    resolved_at: float = NAN
    revenue: float = 0.0
    outcome: str = "open"
    hot: bool = False  # alerted to sales by a campaign click
    clicked: bool = False  # re-engaged by a campaign click
    nurtured: bool = False
    in_sales: bool = False  # assigned or waiting, prospecting not finished
    pending: int = -1  # seq of the live call item, -1 if none
    renurtured: bool = False
    reclaimed: int = 0  # times taken back from a rep who had left it untouched


@dataclass(slots=True, eq=False)
class Rep:
    """One rep: its tier, skill and speed, its work queue and its day."""

    id: int
    tier: int = 0
    skill: float = 0.0  # log-odds shift on qualifying and winning
    speed: float = 1.0  # call durations are divided by it
    weight: float = 1.0  # routing weight (territory)
    ready: list = field(default_factory=list)  # heap of work due now, in queue order
    compact_at: int = 256  # drop voided calls from `ready` when it grows past this
    future: list = field(default_factory=list)  # heap of (due, seq, entry): work not due yet
    open: int = 0  # leads owned, prospecting not finished
    busy: float = 0.0  # minutes of work within the arrival window
    busy_total: float = 0.0  # minutes of work, the cohort's tail included
    wake: simpy.Event | None = None
    calls: int = 0
    demos: int = 0
    day: int = -1  # attention: the day calls_today counts
    calls_today: int = 0
    current_wrr: float = 0.0  # smooth weighted round robin state
    slots: list = field(default_factory=list)  # booked demo intervals (start, end), sorted


@dataclass(slots=True, eq=False)
class Call:
    """Attempt `attempt` (0 = first touch) of a lead's cadence; live while the lead waits for it."""

    lead: Lead
    attempt: int
    seq: int


@dataclass(slots=True, eq=False)
class Demo:
    """Demo number `try_` (0 = first booking) of a lead, at its booked slot."""

    lead: Lead
    try_: int
    seq: int


@dataclass(slots=True, eq=False)
class ReachOut:
    """A call to a lead that missed its demo, to book a new one."""

    lead: Lead
    seq: int
