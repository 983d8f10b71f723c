"""Step 6 of a lead's path: the reps — when they work, and which item of their queue comes next.

Each rep is one SimPy process on duty ``working_hours`` on ``working_days``. It works
one item at a time from its own queue (and the shared queue, under ``shared_queue``
routing): booked demos first, then the first touch of alerted hot leads, then calls in
``queue_order`` — ``newest_first``, ``oldest_first``, ``highest_score`` or ``hot_first``
(leads re-engaged by a campaign click first, then newest). A rep sees a new lead at its
next inbox check. Attention is finite: a rep makes at most ``max_calls_per_day`` calls a
day, and nothing runs past the end of its shift (a call still going is wrapped up then),
so utilisation never exceeds 1. An overloaded rep's older leads starve in its queue.
"""

from __future__ import annotations

import heapq
import math

import simpy

from ..units import MINUTES_PER_DAY
from .items import ALERT, DEMO, NORMAL, Call, Demo, Lead, Rep

__all__ = ["RepsStep"]


class RepsStep:
    """Rep processes and work queues (a part of ``FunnelModel``)."""

    def _key(self, lead: Lead, attempt: int) -> tuple[int, float]:
        if attempt == 0 and lead.hot:
            return ALERT, -lead.engaged_at
        order = self.order
        if order == "newest_first":
            return NORMAL, -lead.engaged_at
        if order == "oldest_first":
            return NORMAL, lead.engaged_at
        if order == "highest_score":
            return NORMAL, -lead.score
        return NORMAL, -lead.engaged_at - (1e12 if lead.clicked else 0.0)  # hot_first, then newest

    def _first_call(self, lead: Lead, rep: Rep | None) -> None:
        now = self.env.now
        due = self.cal.next_start(now) if lead.hot else self.cal.next_check(now, self.check_period)
        self._schedule_call(lead, rep, 0, due)

    def _schedule_call(self, lead: Lead, rep: Rep | None, attempt: int, due: float) -> None:
        self.seq += 1
        if lead.pending < 0:
            self.queued_calls += 1
        lead.pending = self.seq
        cls, key = self._key(lead, attempt)
        self._at(due, rep, (cls, key, self.seq, Call(lead, attempt, self.seq)))

    def _at(self, due: float, rep: Rep | None, entry: tuple) -> None:
        delay = due - self.env.now
        if delay <= 0:
            self._push(rep, entry)
        elif rep is None:
            self.env.timeout(delay).callbacks.append(lambda _ev: self._push(rep, entry))
        else:
            # a rep's future work waits in its own heap; an idle rep sets one timer for the earliest item
            heapq.heappush(rep.future, (due, entry[2], entry))
            if rep.wake is not None and rep.future[0][1] == entry[2]:
                self._set_timer(rep, delay)

    def _set_timer(self, rep: Rep, delay: float) -> None:
        wake = rep.wake

        def ring(_ev: simpy.Event) -> None:
            if not wake.triggered:
                wake.succeed()

        self.env.timeout(delay).callbacks.append(ring)

    def _push(self, rep: Rep | None, entry: tuple) -> None:
        if rep is None:
            heapq.heappush(self.shared, entry)
            if len(self.shared) > self.shared_compact_at:
                self.shared = self._compacted(self.shared)
                self.shared_compact_at = max(256, 2 * len(self.shared))
            if self.idle:
                idle = self.idle.pop(0)
                if idle.wake is not None and not idle.wake.triggered:
                    idle.wake.succeed()
            return
        heapq.heappush(rep.ready, entry)
        if len(rep.ready) > rep.compact_at:
            rep.ready = self._compacted(rep.ready)
            rep.compact_at = max(256, 2 * len(rep.ready))
        if rep.wake is not None and not rep.wake.triggered:
            rep.wake.succeed()

    def _compacted(self, queue: list) -> list:
        """The queue without the calls voided while deep inside it (a starving rep's queue would
        otherwise keep them for ever); same pop order: entries are totally ordered by their seq."""
        live = [entry for entry in queue if self._live(entry)]
        heapq.heapify(live)
        return live

    def _wake_all(self) -> None:
        for rep in self.reps:
            if rep.wake is not None and not rep.wake.triggered:
                rep.wake.succeed()

    def _void_call(self, lead: Lead) -> None:
        """The lead's queued call, if any, will not be made (the queue drops it when it comes up)."""
        if lead.pending >= 0:
            lead.pending = -1
            self.queued_calls -= 1

    @staticmethod
    def _live(entry: tuple) -> bool:
        item = entry[3]
        return type(item) is not Call or item.lead.pending == item.seq

    def _next_item(self, rep: Rep) -> tuple | None:
        ready, shared, future = rep.ready, self.shared, rep.future
        now = self.env.now
        while future and future[0][0] <= now:
            heapq.heappush(ready, heapq.heappop(future)[2])
        live = self._live
        while ready and not live(ready[0]):
            heapq.heappop(ready)
        while shared and not live(shared[0]):
            heapq.heappop(shared)
        if self.max_calls is not None:
            day = int(now // MINUTES_PER_DAY)
            if rep.day != day:
                rep.day, rep.calls_today = day, 0
            if rep.calls_today >= self.max_calls:  # attention spent for today: only booked demos
                return heapq.heappop(ready) if ready and ready[0][0] == DEMO else None
        if shared and rep.open < self.cap and (not ready or shared[0] < ready[0]):
            return heapq.heappop(shared)
        if ready:
            return heapq.heappop(ready)
        return None

    def _rep(self, rep: Rep):
        env, cal = self.env, self.cal
        shift_end = -math.inf
        while True:
            now = env.now
            if now >= shift_end:  # off duty, or a new shift begins
                if not cal.on_duty(now):
                    if self._finished():
                        return
                    yield env.timeout(cal.next_start(now) - now)
                    continue
                shift_end = cal.shift_end(now)
            entry = self._next_item(rep)
            if entry is None:
                if self._finished():
                    return
                rep.wake = env.event()
                self.idle.append(rep)
                wake_at = rep.future[0][0] if rep.future else math.inf
                if self.max_calls is not None and rep.calls_today >= self.max_calls and (rep.ready or self.shared):
                    tomorrow = (math.floor(now / MINUTES_PER_DAY) + 1) * MINUTES_PER_DAY
                    wake_at = min(wake_at, cal.next_start(tomorrow))  # calls again tomorrow
                if wake_at < math.inf:
                    self._set_timer(rep, wake_at - now)
                yield rep.wake
                rep.wake = None
                if rep in self.idle:
                    self.idle.remove(rep)
                continue
            item = entry[3]
            kind = type(item)
            if kind is Call:
                duration, done = self._call(rep, item)
            elif kind is Demo:
                duration, done = self._demo(rep, item)
            else:
                duration, done = self._reach_out(rep, item)
            # nothing runs past the end of the shift: a call still going is wrapped up then
            if now + duration > shift_end:
                duration = shift_end - now
            yield env.timeout(duration)
            end = now + duration
            rep.busy_total += duration
            if now < self.horizon:
                rep.busy += min(end, self.horizon) - now
            if end > self.work_end:
                self.work_end = end
            done()
