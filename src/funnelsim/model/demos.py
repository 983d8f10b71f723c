"""Step 9 of a lead's path: demos — booked into free slots of the rep's working hours; no-shows won back.

An SQL's demo is wanted ``booking_lag_days`` (exponential mean) later and booked into the
first free slot of its rep's calendar from then: within working hours, on the quarter
hour, not overlapping another demo. A held demo takes ``demo_minutes`` and becomes an
opportunity with ``opportunity_rate``. A no-show costs the rep ``dial_minutes``; the rep
then reaches out — at once, then one working day apart, at most ``reschedule_attempts``
times over the lead's life — and each reach-out books a new demo with
``reschedule_success``: k reach-outs win back 1 − (1 − s)^k of no-shows.
"""

from __future__ import annotations

import bisect
import math

from ..units import MINUTES_PER_DAY
from .items import ALERT, DEMO, Demo, Lead, ReachOut, Rep

__all__ = ["DemoStep"]

SLOT_GRID = 15.0  # demos start on the quarter hour


class DemoStep:
    """Booking, holding and rebooking demos (a part of ``FunnelModel``)."""

    def _free_slot(self, rep: Rep, wanted: float, length: float) -> float:
        cal, slots = self.cal, rep.slots
        past = bisect.bisect_left(slots, (self.env.now - MINUTES_PER_DAY,))
        if past > 64:  # forget demos long held: the calendar stays as short as the bookings ahead
            del slots[:past]
        t = wanted
        while True:
            t = cal.next_start(t)
            t = math.ceil(t / SLOT_GRID - 1e-9) * SLOT_GRID
            if not cal.on_duty(t):
                continue
            if t + length > cal.shift_end(t) + 1e-9:
                t = cal.shift_end(t)
                continue
            k = bisect.bisect_left(slots, (t,))
            if k and slots[k - 1][1] > t:  # the demo before runs into t
                t = slots[k - 1][1]
                continue
            if k < len(slots) and slots[k][0] < t + length:  # the next demo starts too soon
                t = slots[k][1]
                continue
            slots.insert(k, (t, t + length))
            return t

    def _book_demo(self, lead: Lead, rep: Rep) -> None:
        j = lead.demo_tries
        now = self.env.now
        wanted = now + self.booking_lag[j][lead.j]
        due = self._free_slot(rep, wanted, self.scenario.demo.demo_minutes)
        lead.demo_booked_at = now
        self._log(lead.i, "demo_booked", rep.id)
        self.seq += 1
        self._at(due, rep, (DEMO, due, self.seq, Demo(lead, j, self.seq)))

    def _demo(self, rep: Rep, item: Demo):
        lead, j = item.lead, item.try_
        i = lead.i
        demo = self.scenario.demo
        lead.demo_tries = j + 1
        no_show = self.u_no_show[j][lead.j] < demo.no_show_probability
        duration = self.scenario.team.dial_minutes if no_show else demo.demo_minutes
        rep.demos += 1

        def done() -> None:
            if no_show:
                self._log(i, "no_show_once", rep.id)
                self._next_reach_out(lead, rep, self.env.now)
                return
            lead.demo_held_at = self.env.now
            self._log(i, "demo_held", rep.id)
            if self.u_opportunity[lead.j] >= demo.opportunity_rate:
                self._resolve(lead, "no_opportunity")
                return
            self._deals(lead, rep)

        return duration, done

    def _next_reach_out(self, lead: Lead, rep: Rep, due: float) -> None:
        if lead.reach_outs >= self.scenario.demo.reschedule_attempts:
            self._resolve(lead, "no_show")
            return
        self.seq += 1
        self._at(due, rep, (ALERT, due, self.seq, ReachOut(lead, self.seq)))

    def _reach_out(self, rep: Rep, item: ReachOut):
        lead = item.lead
        i, n = lead.i, lead.reach_outs
        lead.reach_outs += 1
        rep.calls += 1
        rebooked = self.u_reschedule[n][lead.j] < self.scenario.demo.reschedule_success
        team = self.scenario.team
        duration = (team.talk_minutes if rebooked else team.dial_minutes) / rep.speed

        def done() -> None:
            if rebooked:
                self._log(i, "rescheduled", rep.id)
                self._book_demo(lead, rep)
            else:
                self._next_reach_out(lead, rep, self.cal.business_offset(self.env.now, MINUTES_PER_DAY))

        return duration, done
