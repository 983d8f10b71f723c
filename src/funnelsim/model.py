"""The funnel process in SimPy: marketing, nurture, routing, reps, follow-up, demos, deals.

One ``FunnelModel`` is one replication: one ``simpy.Environment``, one seed, no global
state. Leads are drawn up front (:mod:`funnelsim.leads`); the simulation decides only
what policy decides — who works which lead when — and reads each lead's pre-drawn luck.

Leads that arrive during the horizon are followed to the end (a cohort view): arrivals
stop at the horizon, reps keep working until every lead has an outcome.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import simpy

from .calendar import BusinessCalendar
from .curves import decay_curve
from .leads import LeadPopulation, generate_leads
from .rng import Streams
from .scenario import Scenario
from .units import MINUTES_PER_DAY
from .vocabulary import LEAK_REASONS, OUTCOMES

__all__ = ["FunnelModel", "SimulationResult", "simulate", "OUTCOMES", "LEAK_REASONS"]

WEEK = 7 * MINUTES_PER_DAY

DEMO, HOT, NORMAL = 0, 1, 2  # work-item classes: appointments first, then alerted hot leads


class _Lead:
    __slots__ = (
        "i", "score", "interest", "engaged_at", "mql_at", "assigned_at", "rep", "first_touch_at",
        "contacted_at", "closed_at", "attempts", "attempts_week1", "sql_at", "demo_booked_at", "demo_held_at",
        "demo_tries", "opportunity_at", "opportunities", "won_at", "resolved_at", "revenue", "outcome", "hot",
        "nurtured", "in_sales", "pending", "renurtured",
    )

    def __init__(self, i: int, score: float, interest: float, created: float) -> None:
        self.i = i
        self.score = score
        self.interest = interest
        self.engaged_at = created
        self.mql_at = math.nan
        self.assigned_at = math.nan
        self.rep = -1
        self.first_touch_at = math.nan
        self.contacted_at = math.nan
        self.closed_at = math.nan
        self.attempts = 0
        self.attempts_week1 = 0
        self.sql_at = math.nan
        self.demo_booked_at = math.nan
        self.demo_held_at = math.nan
        self.demo_tries = 0
        self.opportunity_at = math.nan
        self.opportunities = 0
        self.won_at = math.nan
        self.resolved_at = math.nan
        self.revenue = 0.0
        self.outcome = "open"
        self.hot = False
        self.nurtured = False
        self.in_sales = False  # assigned or waiting, prospecting not finished
        self.pending = -1  # seq of the live call item, -1 if none
        self.renurtured = False


class _Rep:
    __slots__ = ("id", "ready", "future", "open", "busy", "wake", "calls", "demos")

    def __init__(self, rep_id: int) -> None:
        self.id = rep_id
        self.ready: list[tuple] = []  # work items due now, ordered by the queue policy
        self.future: list[tuple] = []  # (due, seq, item): work items not due yet
        self.open = 0
        self.busy = 0.0
        self.wake: simpy.Event | None = None
        self.calls = 0
        self.demos = 0


@dataclass
class SimulationResult:
    """Everything one replication produced. Tables are tidy pandas DataFrames."""

    scenario: Scenario
    seed: int
    leads: pd.DataFrame  # one row per lead
    events: pd.DataFrame  # one row per event (empty when events were not recorded)
    backlog: pd.DataFrame  # daily samples of open leads, waiting leads and due calls
    reps: pd.DataFrame  # one row per rep: busy minutes, duty minutes, utilisation, calls, demos
    stats: dict[str, float]  # exact time averages (open leads) and run facts

    def kpis(self) -> dict[str, float]:
        from .metrics import kpis

        return kpis(self)


class FunnelModel:
    """One replication of one scenario."""

    def __init__(self, scenario: Scenario, seed: int = 0, *, record_events: bool = True) -> None:
        self.scenario = scenario
        self.seed = int(seed)
        self.record_events = record_events
        self.env = simpy.Environment()
        self.cal = BusinessCalendar(scenario.team)
        self.pop: LeadPopulation = generate_leads(scenario, Streams(self.seed))
        # marketing.score_model: a trained model scores every lead up front (at creation, after a click)
        self.model_scores: tuple[list[float], list[float]] | None = None
        if scenario.marketing.score_model is not None:
            from .scoring import population_scores

            self.model_scores = population_scores(scenario, self.seed, self.pop)
        self.m = decay_curve(scenario.speed_to_lead)
        self.reps = [_Rep(r) for r in range(scenario.team.reps)]
        self.shared: list[tuple] = []
        self.waiting: deque[_Lead] = deque()
        self.ageing_queue: deque[tuple[float, _Lead, float]] = deque()  # deadlines in hand-off order
        self.batch: list[_Lead] = []
        self.idle: list[_Rep] = []
        self.events: list[tuple] = []
        self.leads: list[_Lead] = []
        self.unresolved = 0
        self.arrivals_done = False
        self.seq = 0
        self.rr = 0
        self.horizon = scenario.horizon_minutes
        # exact time-average of leads in sales (assigned or waiting, prospecting not done)
        self.in_sales = 0
        self.area = 0.0
        self.area_t = 0.0
        self.backlog: list[tuple] = []
        # hot-path constants
        p = scenario
        self.offsets = list(p.follow_up.attempt_offsets)
        self.p_answer = p.follow_up.answer_probability
        self.ageing = None if p.follow_up.ageing_days is None else p.follow_up.ageing_days * MINUTES_PER_DAY
        self.cap = p.routing.lead_cap if p.routing.lead_cap is not None else math.inf
        check = p.team.new_lead_check_minutes
        self.check_period = p.sla.first_touch_minutes / 2.0 if check is None else check
        self.order = p.team.queue_order
        self.senior = max(1, len(self.reps) // 2)
        self.score_split = self._median_mql_score()
        # per-lead draws as Python lists: indexing them is much faster than numpy scalars
        pop = self.pop
        self.created = pop.created.tolist()
        self.legit = pop.legitimate.tolist()
        self.reachable = pop.reachable.tolist()
        self.handoff = pop.handoff.tolist()
        self.click = pop.click.tolist()
        self.u_sql = pop.u_sql.tolist()
        self.u_answer = [a.tolist() for a in pop.u_answer]
        self.call_scale = [a.tolist() for a in pop.call_scale]
        self.u_no_show = [a.tolist() for a in pop.u_no_show]
        self.u_reschedule = [a.tolist() for a in pop.u_reschedule]
        self.booking_lag = [a.tolist() for a in pop.booking_lag]

    def _median_mql_score(self) -> float:
        """score_based routing: MQLs scoring in the top half go to the first half of the team."""
        mk = self.scenario.marketing
        if self.model_scores is not None:
            scores = np.asarray(self.model_scores[0])
        else:
            scores = 100.0 * (mk.score_fit_weight * self.pop.fit + (1 - mk.score_fit_weight) * self.pop.interest)
        mqls = scores[(scores >= mk.mql_threshold) & (self.pop.fit >= mk.min_fit)]
        return float(np.median(mqls)) if len(mqls) else mk.mql_threshold

    # ------------------------------------------------------------------ bookkeeping

    def _log(self, lead: int, event: str, rep: int = -1) -> None:
        if self.record_events:
            self.events.append((self.env.now, lead, event, rep))

    def _sales_delta(self, delta: int) -> None:
        now = self.env.now
        if now <= self.horizon:
            self.area += self.in_sales * (now - self.area_t)
            self.area_t = now
        elif self.area_t < self.horizon:
            self.area += self.in_sales * (self.horizon - self.area_t)
            self.area_t = self.horizon
        self.in_sales += delta

    def _resolve(self, lead: _Lead, outcome: str, at: float | None = None) -> None:
        lead.outcome = outcome
        lead.resolved_at = self.env.now if at is None else at
        self.unresolved -= 1
        if outcome != "won":
            self._log(lead.i, outcome, lead.rep)

    def _finished(self) -> bool:
        return self.arrivals_done and self.unresolved == 0

    # ------------------------------------------------------------------ marketing

    def _arrivals(self):
        env = self.env
        mk = self.scenario.marketing
        w = mk.score_fit_weight
        fit = self.pop.fit.tolist()
        interest = self.pop.interest.tolist()
        model_scores = self.model_scores[0] if self.model_scores is not None else None
        for i, created in enumerate(self.created):
            if created > env.now:
                yield env.timeout(created - env.now)
            score = model_scores[i] if model_scores is not None else 100.0 * (w * fit[i] + (1 - w) * interest[i])
            lead = _Lead(i, score, interest[i], created)
            self.leads.append(lead)
            self.unresolved += 1
            self._log(i, "created")
            if fit[i] < mk.min_fit:
                self._resolve(lead, "filtered")
            elif lead.score >= mk.mql_threshold:
                self._after(self.handoff[i], self._mql, lead)
            else:
                self._nurture(lead)
        self.arrivals_done = True
        self._wake_all()

    def _after(self, delay: float, fn, *args) -> None:
        if delay <= 0:
            fn(*args)
        else:
            self.env.timeout(delay).callbacks.append(lambda _ev: fn(*args))

    def _nurture(self, lead: _Lead) -> None:
        nurture = self.scenario.nurture
        lead.nurtured = True
        self._log(lead.i, "nurtured")
        delay = self.click[lead.i]
        if not nurture.enabled or delay > nurture.max_days * MINUTES_PER_DAY:
            self._resolve(lead, "capped_out" if lead.renurtured else "unengaged")
            return
        self._after(delay, self._clicked, lead)

    def _clicked(self, lead: _Lead) -> None:
        nurture = self.scenario.nurture
        mk = self.scenario.marketing
        lead.engaged_at = self.env.now
        lead.interest = min(1.0, lead.interest + nurture.interest_boost)
        if self.model_scores is not None:
            lead.score = self.model_scores[1][lead.i]
        else:
            fit = float(self.pop.fit[lead.i])
            lead.score = 100.0 * (mk.score_fit_weight * fit + (1 - mk.score_fit_weight) * lead.interest)
        self._log(lead.i, "clicked")
        if nurture.hot_lead_alerts:
            lead.hot = True
            self._mql(lead)
        elif lead.score >= mk.mql_threshold:
            self._after(self.handoff[lead.i], self._mql, lead)
        else:
            self._resolve(lead, "capped_out" if lead.renurtured else "unengaged")

    # ------------------------------------------------------------------ routing

    def _mql(self, lead: _Lead) -> None:
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
        times = sorted(_minutes_of_day(t) for t in self.scenario.routing.batch_times)
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

    def _pick_rep(self, lead: _Lead) -> _Rep | None:
        reps, cap = self.reps, self.cap
        policy = self.scenario.routing.policy
        if policy == "round_robin":
            n = len(reps)
            for step in range(n):
                rep = reps[(self.rr + step) % n]
                if rep.open < cap:
                    self.rr = (self.rr + step + 1) % n
                    return rep
            return None
        if policy == "score_based":
            group = reps[: self.senior] if lead.score >= self.score_split else reps[self.senior :] or reps
            best = min(group, key=lambda r: r.open)
            if best.open < cap:
                return best
        best = min(reps, key=lambda r: r.open)
        return best if best.open < cap else None

    def _route(self, lead: _Lead) -> None:
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

    def _assign(self, lead: _Lead, rep: _Rep) -> None:
        lead.assigned_at = self.env.now
        lead.rep = rep.id
        rep.open += 1
        self._log(lead.i, "assigned", rep.id)
        self._first_call(lead, rep)

    def _first_call(self, lead: _Lead, rep: _Rep | None) -> None:
        now = self.env.now
        due = self.cal.next_start(now) if lead.hot else self.cal.next_check(now, self.check_period)
        self._schedule_call(lead, rep, 0, due)

    def _leave_sales(self, lead: _Lead) -> None:
        """Prospecting is over for this lead: free its cap slot and its place in the backlog."""
        lead.in_sales = False
        lead.pending = -1
        lead.closed_at = self.env.now
        self._sales_delta(-1)
        if lead.rep >= 0:
            rep = self.reps[lead.rep]
            rep.open -= 1
            while self.waiting and rep.open < self.cap:
                nxt = self.waiting.popleft()
                if nxt.in_sales:
                    self._assign(nxt, rep)

    def _age(self, lead: _Lead, mql_at: float) -> None:
        if not lead.in_sales or lead.mql_at != mql_at or not math.isnan(lead.contacted_at):
            return
        waited = lead.rep < 0 and math.isnan(lead.first_touch_at) and self.scenario.routing.policy != "shared_queue"
        self._leave_sales(lead)
        self._resolve(lead, "capped_out" if waited else "aged_out")

    def _ageing_sweeper(self):
        """Ages out leads past their deadline, waking at most once per hour (hand-offs come in time order)."""
        env, queue = self.env, self.ageing_queue
        while not self._finished():
            while queue and queue[0][0] <= env.now:
                _deadline, lead, mql_at = queue.popleft()
                self._age(lead, mql_at)
            if queue:
                wake = max(queue[0][0], env.now + 60.0)
            else:
                wake = env.now + self.ageing
            yield env.timeout(wake - env.now)

    # ------------------------------------------------------------------ work queues

    def _key(self, lead: _Lead) -> tuple[int, float]:
        if lead.hot and self.scenario.nurture.hot_lead_alerts:
            return HOT, -lead.engaged_at
        order = self.order
        if order == "newest_first":
            return NORMAL, -lead.engaged_at
        if order == "oldest_first":
            return NORMAL, lead.engaged_at
        if order == "highest_score":
            return NORMAL, -lead.score
        return (NORMAL, -lead.engaged_at - (1e12 if lead.hot else 0.0))  # hot_first, then newest

    def _schedule_call(self, lead: _Lead, rep: _Rep | None, k: int, due: float) -> None:
        self.seq += 1
        lead.pending = self.seq
        cls, key = self._key(lead)
        entry = (cls, key, self.seq, "call", lead, k)
        self._at(due, rep, entry)

    def _at(self, due: float, rep: _Rep | None, entry: tuple) -> None:
        delay = due - self.env.now
        if delay <= 0:
            self._push(rep, entry)
        elif rep is None:
            self.env.timeout(delay).callbacks.append(lambda _ev: self._push(rep, entry))
        else:
            # a rep's future work waits in its own heap; an idle rep sets one timer for the earliest item
            heapq.heappush(rep.future, (due, entry[2], entry))
            if rep.wake is not None and (not rep.future or rep.future[0][1] == entry[2]):
                self._set_timer(rep, delay)

    def _set_timer(self, rep: _Rep, delay: float) -> None:
        wake = rep.wake

        def ring(_ev: simpy.Event) -> None:
            if not wake.triggered:
                wake.succeed()

        self.env.timeout(delay).callbacks.append(ring)

    def _push(self, rep: _Rep | None, entry: tuple) -> None:
        if rep is None:
            heapq.heappush(self.shared, entry)
            if self.idle:
                idle = self.idle.pop(0)
                if idle.wake is not None and not idle.wake.triggered:
                    idle.wake.succeed()
            return
        heapq.heappush(rep.ready, entry)
        if rep.wake is not None and not rep.wake.triggered:
            rep.wake.succeed()

    def _wake_all(self) -> None:
        for rep in self.reps:
            if rep.wake is not None and not rep.wake.triggered:
                rep.wake.succeed()

    @staticmethod
    def _live(entry: tuple) -> bool:
        return entry[3] != "call" or entry[4].pending == entry[2]

    def _next_item(self, rep: _Rep) -> tuple | None:
        ready, shared, future = rep.ready, self.shared, rep.future
        now = self.env.now
        while future and future[0][0] <= now:
            heapq.heappush(ready, heapq.heappop(future)[2])
        while ready and not self._live(ready[0]):
            heapq.heappop(ready)
        while shared and not self._live(shared[0]):
            heapq.heappop(shared)
        take_shared = bool(shared) and rep.open < self.cap and (not ready or shared[0] < ready[0])
        if take_shared:
            return heapq.heappop(shared)
        if ready:
            return heapq.heappop(ready)
        return None

    # ------------------------------------------------------------------ reps

    def _rep(self, rep: _Rep):
        env, cal = self.env, self.cal
        while True:
            now = env.now
            if not cal.on_duty(now):
                if self._finished():
                    return
                yield env.timeout(cal.next_start(now) - now)
                continue
            entry = self._next_item(rep)
            if entry is None:
                if self._finished():
                    return
                rep.wake = env.event()
                self.idle.append(rep)
                if rep.future:
                    self._set_timer(rep, rep.future[0][0] - now)
                yield rep.wake
                rep.wake = None
                if rep in self.idle:
                    self.idle.remove(rep)
                continue
            if entry[3] == "call":
                duration, done = self._call(rep, entry[4], entry[5])
            else:
                duration, done = self._demo(rep, entry[4], entry[5])
            yield env.timeout(duration)
            start = now
            end = min(now + duration, self.horizon)
            if end > start:
                rep.busy += end - start
            done()

    def _call(self, rep: _Rep, lead: _Lead, k: int):
        now = self.env.now
        i = lead.i
        team = self.scenario.team
        if lead.rep < 0:  # from the shared queue: the rep who first touches it owns it
            lead.rep = rep.id
            rep.open += 1
        if k == 0:
            lead.first_touch_at = now
        lead.attempts += 1
        if now - lead.mql_at <= WEEK:
            lead.attempts_week1 += 1
        rep.calls += 1
        self._log(i, "attempt", rep.id)
        answered = self.reachable[i] and self.u_answer[k][i] < self.p_answer
        duration = (team.talk_minutes if answered else team.dial_minutes) * self.call_scale[k][i]
        lead.pending = -1

        def done() -> None:
            if not lead.in_sales:  # aged out while on the phone: the call still ends the matter
                return
            if answered:
                lead.contacted_at = now
                self._log(i, "contacted", rep.id)
                t = now - lead.engaged_at
                sp = self.scenario.speed_to_lead
                qualified = self.legit[i] and self.u_sql[i] < sp.p_durable + sp.p_perishable * self.m(t)
                self._leave_sales(lead)
                if qualified:
                    lead.sql_at = self.env.now
                    self._log(i, "sql", rep.id)
                    self._book_demo(lead, rep)
                else:
                    self._resolve(lead, "disqualified")
            elif k + 1 < len(self.offsets):
                due = max(self.env.now, lead.first_touch_at + self.offsets[k + 1])
                self._schedule_call(lead, self.reps[lead.rep], k + 1, due)
            else:
                self._leave_sales(lead)
                self._resolve(lead, "unresponsive")

        return duration, done

    # ------------------------------------------------------------------ demos and deals

    def _book_demo(self, lead: _Lead, rep: _Rep) -> None:
        j = lead.demo_tries
        due = self.env.now + self.booking_lag[j][lead.i]
        lead.demo_booked_at = self.env.now
        self._log(lead.i, "demo_booked", rep.id)
        self.seq += 1
        self._at(due, rep, (DEMO, due, self.seq, "demo", lead, j))

    def _demo(self, rep: _Rep, lead: _Lead, j: int):
        i = lead.i
        demo = self.scenario.demo
        lead.demo_tries = j + 1
        no_show = self.u_no_show[j][i] < demo.no_show_probability
        duration = self.scenario.team.dial_minutes if no_show else demo.demo_minutes
        rep.demos += 1

        def done() -> None:
            if no_show:
                self._log(i, "no_show_once", rep.id)
                if j < demo.reschedule_attempts and self.u_reschedule[j][i] < demo.reschedule_success:
                    self._log(i, "rescheduled", rep.id)
                    self._book_demo(lead, rep)
                else:
                    self._resolve(lead, "no_show")
                return
            lead.demo_held_at = self.env.now
            self._log(i, "demo_held", rep.id)
            if self.pop.u_opportunity[i] >= demo.opportunity_rate:
                self._resolve(lead, "no_opportunity")
                return
            self._deals(lead)

        return duration, done

    def _deals(self, lead: _Lead) -> None:
        """Opportunities close by themselves after their sales cycle: no rep time, no events."""
        now = self.env.now
        i = lead.i
        pop = self.pop
        win_rate = self.scenario.opportunities.win_rate
        lead.opportunity_at = now
        lead.opportunities = 1 + int(pop.extra_opportunities[i])
        self._log(i, "opportunity", lead.rep)
        won_at, last, revenue = math.inf, now, 0.0
        for o in range(lead.opportunities):
            closes = now + float(pop.cycle[o][i])
            last = max(last, closes)
            if pop.u_win[o][i] < win_rate:
                revenue += float(pop.deal_value[o][i])
                won_at = min(won_at, closes)
        lead.revenue = revenue
        if revenue > 0:
            lead.won_at = won_at
            if self.record_events:
                self.events.append((won_at, i, "won", lead.rep))
            self._resolve(lead, "won", at=won_at)
        else:
            if self.record_events:
                self.events.append((last, i, "lost", lead.rep))
            lead.outcome = "lost"
            lead.resolved_at = last
            self.unresolved -= 1

    # ------------------------------------------------------------------ sampling

    def _sampler(self):
        env = self.env
        while not self._finished() and env.now <= self.horizon:
            now, live = env.now, self._live
            due = sum(1 for e in self.shared if live(e)) + sum(
                sum(1 for e in r.ready if live(e)) + sum(1 for f in r.future if f[0] <= now and live(f[2]))
                for r in self.reps
            )
            self.backlog.append((env.now, self.in_sales, len(self.waiting), due))
            yield env.timeout(MINUTES_PER_DAY)

    # ------------------------------------------------------------------ run

    def run(self, until: float | None = None) -> SimulationResult:
        env = self.env
        env.process(self._arrivals())
        if self.scenario.routing.mode == "batched":
            env.process(self._batcher())
        for rep in self.reps:
            env.process(self._rep(rep))
        env.process(self._sampler())
        if self.ageing is not None:
            env.process(self._ageing_sweeper())
        limit = until if until is not None else self.horizon + 5 * 365 * MINUTES_PER_DAY
        env.run(until=limit)
        self._sales_delta(0)
        return self._result()

    def _result(self) -> SimulationResult:
        pop = self.pop
        n = len(self.leads)
        sc = self.scenario
        src_names = [s.name for s in sc.sources]
        persona_names = [p.name for p in sc.leads.personas]
        attrs = {name: [getattr(lead, name) for lead in self.leads] for name in (
            "score", "engaged_at", "mql_at", "assigned_at", "rep", "first_touch_at", "contacted_at",
            "closed_at", "attempts", "attempts_week1", "sql_at", "demo_booked_at", "demo_held_at", "demo_tries",
            "opportunity_at", "opportunities", "won_at", "resolved_at", "revenue", "outcome", "hot", "nurtured",
        )}
        leads = pd.DataFrame({
            "lead_id": np.arange(n),
            "source": pd.Categorical.from_codes(pop.source[:n], categories=src_names),
            "persona": [persona_names[p] if p >= 0 else "junk" for p in pop.persona[:n]],
            "legitimate": pop.legitimate[:n],
            "fit": pop.fit[:n],
            "interest": pop.interest[:n],
            "reachable": pop.reachable[:n],
            "cost": np.array([s.cost_per_lead for s in sc.sources])[pop.source[:n]],
            "created_at": pop.created[:n],
            **attrs,
        })
        leads["outcome"] = pd.Categorical(leads["outcome"], categories=list(OUTCOMES))
        leads["speed_to_lead"] = leads["first_touch_at"] - leads["engaged_at"]
        leads["time_to_first_touch"] = leads["first_touch_at"] - leads["mql_at"]
        events = pd.DataFrame(self.events, columns=["time", "lead_id", "event", "rep"])
        if len(events):
            events = events.sort_values("time", kind="stable").reset_index(drop=True)
        backlog = pd.DataFrame(self.backlog, columns=["time", "open_leads", "waiting_for_capacity", "due_calls"])
        duty = self.cal.duty_minutes(self.horizon)
        reps = pd.DataFrame({
            "rep": [r.id for r in self.reps],
            "busy_minutes": [r.busy for r in self.reps],
            "duty_minutes": duty,
            "calls": [r.calls for r in self.reps],
            "demos": [r.demos for r in self.reps],
        })
        reps["utilisation"] = reps["busy_minutes"] / duty if duty > 0 else np.nan
        stats = {
            "horizon_minutes": self.horizon,
            "mean_leads_in_sales": self.area / self.horizon if self.horizon > 0 else math.nan,
            "end_time": self.env.now,
            "events_scheduled": float(next(self.env._eid)),  # simpy's own event counter
        }
        return SimulationResult(sc, self.seed, leads, events, backlog, reps, stats)


def _minutes_of_day(text: str) -> float:
    hours, minutes = (int(x) for x in text.strip().split(":"))
    return hours * 60.0 + minutes


def simulate(scenario: Scenario, seed: int = 0, *, record_events: bool = True, **kwargs: Any) -> SimulationResult:
    """Run one replication of `scenario` with `seed` and return its tables."""
    return FunnelModel(scenario, seed, record_events=record_events).run(**kwargs)
