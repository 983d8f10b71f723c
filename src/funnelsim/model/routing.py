"""Step 5 of a lead's path: routing — which rep owns an MQL, when, and what the lead cap does.

Continuous routing assigns at hand-off; batched routing at ``batch_times`` on working
days (a daily CRM pull). ``round_robin`` deals leads in turn in proportion to the reps'
routing weights (smooth weighted round robin: equal weights give plain turns);
``least_loaded`` picks the rep with the fewest open leads for its weight; ``score_based``
sends the top half of MQL scores to the first half of the team; ``shared_queue`` leaves
a lead unowned until a rep first touches it. A hot-lead alert goes to the rep with the
fewest open leads for its weight, whatever the policy: the one most likely free to call.

A rep owns its leads until it dispositions them. A rep at ``lead_cap`` gets no new lead:
the lead goes to the next rep under the cap (redistribution). When every rep is at the
cap, ``at_cap`` decides: ``wait`` for a free slot, back to ``nurture`` (once), or
``discard``. With ``reclaim_untouched_days``, a lead its rep has left untouched that long
(no attempt since it was assigned, or since its last attempt) goes back to the pool: to
the rep under the cap with the least load for its weight, who carries on its cadence.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

from ..scenario import clock_minutes
from ..units import MINUTES_PER_DAY
from .items import Lead, Rep

__all__ = ["RoutingStep"]


class RoutingStep:
    """MQL hand-off, routing, caps, redistribution and reclaiming (a part of ``FunnelModel``)."""

    def _mql(self, lead: Lead) -> None:
        lead.mql_at = self.env.now
        lead.in_sales = True
        self._sales_delta(+1)
        self._log(lead.i, "mql")
        if self.ageing is not None:
            self.ageing_queue.append((lead.mql_at + self.ageing, lead, lead.mql_at))
        if self.scenario.routing.mode == "batched" and not lead.hot:
            self.batch.append(lead)
        else:
            self._route(lead)

    def _batcher(self):
        env = self.env
        times = sorted(clock_minutes(t) for t in self.scenario.routing.batch_times)
        days = self.cal.days
        day = 0
        while not self._finished():
            for tod in times:
                at = day * MINUTES_PER_DAY + tod
                if at < env.now or (day % 7) not in days:
                    continue
                yield env.timeout(at - env.now)
                pending, self.batch = self.batch, []
                for lead in pending:
                    if lead.in_sales:
                        self._route(lead)
            day += 1

    def _weighted_turn(self, reps: list[Rep]) -> Rep | None:
        """Smooth weighted round robin over the reps under the cap."""
        cap = self.cap
        best, total = None, 0.0
        for rep in reps:
            if rep.open < cap:
                rep.current_wrr += rep.weight
                total += rep.weight
                if best is None or rep.current_wrr > best.current_wrr:
                    best = rep
        if best is not None:
            best.current_wrr -= total
        return best

    def _least_loaded(self, reps: list[Rep], exclude: Rep | None = None) -> Rep | None:
        cap = self.cap
        best, load = None, math.inf
        for rep in reps:
            if rep.open < cap and rep is not exclude and rep.open / rep.weight < load:
                best, load = rep, rep.open / rep.weight
        return best

    def _pick_rep(self, lead: Lead) -> Rep | None:
        policy = self.scenario.routing.policy
        if lead.hot:  # an alert goes to the rep with the most room, who can call now
            return self._least_loaded(self.reps)
        if policy == "round_robin":
            return self._weighted_turn(self.reps)
        if policy == "score_based":
            group = self.reps[: self.senior] if lead.score >= self.score_split else self.reps[self.senior :] or self.reps
            return self._least_loaded(group) or self._least_loaded(self.reps)
        return self._least_loaded(self.reps)

    def _route(self, lead: Lead) -> None:
        if self.scenario.routing.policy == "shared_queue":
            lead.assigned_at = self.env.now
            self._log(lead.i, "assigned")
            self._first_call(lead, None)
            return
        rep = self._pick_rep(lead)
        if rep is not None:
            self._assign(lead, rep)
            return
        at_cap = self.scenario.routing.at_cap
        self._log(lead.i, "at_cap")
        if at_cap == "wait":
            self.waiting.append(lead)
        else:
            self._leave_sales(lead)
            if at_cap == "nurture" and not lead.renurtured:
                lead.renurtured = True
                lead.hot = False
                self._nurture(lead)
            else:
                self._resolve(lead, "capped_out")

    def _assign(self, lead: Lead, rep: Rep) -> None:
        now = self.env.now
        if math.isnan(lead.assigned_at):
            lead.assigned_at = now
        lead.owned_at = now
        lead.rep = rep.id
        rep.open += 1
        self._log(lead.i, "assigned", rep.id)
        if self.reclaim is not None:
            self._watch(lead, now + self.reclaim)
        if lead.attempts:  # reclaimed mid-cadence: the new owner makes the attempt that is due
            self._schedule_call(lead, rep, lead.attempts, self.cal.next_check(now, self.check_period))
        else:
            self._first_call(lead, rep)

    def _watch(self, lead: Lead, deadline: float) -> None:
        self.seq += 1
        heapq.heappush(self.reclaim_queue, (deadline, self.seq, lead, lead.rep))

    def _release(self, rep: Rep) -> None:
        """A rep's slot under the cap came free: waiting leads fill it."""
        rep.open -= 1
        while self.waiting and rep.open < self.cap:
            nxt = self.waiting.popleft()
            if nxt.in_sales:
                self._assign(nxt, rep)

    def _leave_sales(self, lead: Lead) -> None:
        """Prospecting is over for this lead: free its cap slot and its place in the backlog."""
        lead.in_sales = False
        self._void_call(lead)
        lead.closed_at = self.env.now
        self._sales_delta(-1)
        if lead.rep >= 0:
            self._release(self.reps[lead.rep])

    def _reclaim(self, lead: Lead, rep_id: int) -> None:
        """Take back a lead its rep left untouched too long; give it to the least-loaded other rep under the cap."""
        if not lead.in_sales or lead.rep != rep_id or lead.contacted_at == lead.contacted_at:
            return
        last = lead.owned_at if lead.last_touch_at != lead.last_touch_at else max(lead.owned_at, lead.last_touch_at)
        now = self.env.now
        if now < last + self.reclaim - 1e-9:  # touched since: look again later
            self._watch(lead, last + self.reclaim)
            return
        owner = self.reps[rep_id]
        other = self._least_loaded(self.reps, exclude=owner)
        if other is None or other.open >= owner.open - 1:
            self._watch(lead, now + self.reclaim)  # nobody has more room than the owner: it stays
            return
        self._void_call(lead)  # its queued call is void
        lead.reclaimed += 1
        self._log(lead.i, "reclaimed", rep_id)
        self._release(owner)
        self._assign(lead, other)

    def _reclaim_sweeper(self):
        """Reclaims leads past their deadline (a heap: deadlines move when a lead is touched), hourly at most."""
        env, queue = self.env, self.reclaim_queue
        while not self._finished():
            while queue and queue[0][0] <= env.now:
                _deadline, _seq, lead, rep_id = heapq.heappop(queue)
                self._reclaim(lead, rep_id)
            wake = max(queue[0][0], env.now + 60.0) if queue else env.now + self.reclaim
            yield env.timeout(wake - env.now)

    def _deadline_sweeper(self, queue: deque, handle, idle_wait: float):
        """Calls handle(lead, tag) for entries (deadline, lead, tag) of a time-ordered queue, hourly at most."""
        env = self.env
        while not self._finished():
            while queue and queue[0][0] <= env.now:
                _deadline, lead, tag = queue.popleft()
                handle(lead, tag)
            wake = max(queue[0][0], env.now + 60.0) if queue else env.now + idle_wait
            yield env.timeout(wake - env.now)
