"""One replication: a SimPy environment that walks every lead along its path.

``FunnelModel`` wires the steps together — each lives in its own module, in the order of
a lead's path in ``docs/ASSUMPTIONS.md``:

1, 3, 4  :mod:`.marketing`      arrival, score, MQL hand-off, nurture, clicks, alerts
2        :mod:`.population`     who the lead is, and all its luck, drawn up front
5        :mod:`.routing`        owner rep, caps, redistribution, reclaiming
6        :mod:`.reps`           rep processes, work queues, attention, shifts
7, 8     :mod:`.follow_up`      cadence, answering, ageing; :mod:`.qualification`
9        :mod:`.demos`          demo slots, no-shows, reach-outs
10       :mod:`.deals`          opportunities, wins, deal values
11       :mod:`.result`         the tables handed back

One model is one replication: one ``simpy.Environment``, one seed, no global state.
The simulation decides only what policy decides — who works which lead when — and
reads each lead's pre-drawn luck. Leads that arrive during the horizon are followed to
the end (a cohort view): arrivals stop at the horizon, reps keep working until every
lead has an outcome.
"""

from __future__ import annotations

import gc
import math
from collections import deque
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd
import simpy

from ..calendar import BusinessCalendar
from ..rng import Streams
from ..scenario import Scenario
from ..units import MINUTES_PER_DAY
from ..vocabulary import OUTCOMES
from .deals import DealsStep
from .demos import DemoStep
from .follow_up import FollowUpStep
from .items import Lead, Rep
from .marketing import MarketingStep
from .population import LeadPopulation, generate_leads
from .qualification import cold_factor, decay_curve, logit, quality_shifts
from .reps import RepsStep
from .result import SimulationResult
from .routing import RoutingStep

__all__ = ["FunnelModel", "simulate", "Scorer"]

#: computes (scores at creation, scores after a campaign click) for every lead of a population
Scorer = Callable[[Scenario, int, LeadPopulation], tuple[list[float], list[float]]]


class FunnelModel(MarketingStep, RoutingStep, RepsStep, FollowUpStep, DemoStep, DealsStep):
    """One replication of one scenario.

    ``scorer`` supplies lead scores from a trained model when the scenario names one
    (``marketing.score_model``); the model itself never loads one.
    """

    def __init__(self, scenario: Scenario, seed: int = 0, *, record_events: bool = True,
                 scorer: Scorer | None = None) -> None:
        self.scenario = scenario
        self.seed = int(seed)
        self.record_events = record_events
        self.env = simpy.Environment()
        self.cal = BusinessCalendar(scenario.team)
        streams = Streams(self.seed)
        self.pop: LeadPopulation = generate_leads(scenario, streams)
        self.scores: tuple[list[float], list[float]] | None = None
        if scenario.marketing.score_model is not None:
            if scorer is None:
                raise ValueError("the scenario names a score model: simulate it with funnelsim.simulate")
            self.scores = scorer(scenario, self.seed, self.pop)
        self.reps = self._hire(scenario, streams)
        self.shared: list[tuple] = []
        self.shared_compact_at = 256
        self.waiting: deque[Lead] = deque()
        self.ageing_queue: deque[tuple[float, Lead, float]] = deque()  # deadlines in hand-off order
        self.reclaim_queue: list[tuple[float, int, Lead, int]] = []  # heap of (deadline, seq, lead, rep)
        self.batch: list[Lead] = []
        self.idle: list[Rep] = []
        self.events: list[tuple] = []
        self.leads: list[Lead] = []
        self.unresolved = 0
        self.arrivals_done = False
        self.seq = 0
        self.queued_calls = 0  # live call items in the queues (due or scheduled)
        self.horizon = scenario.horizon_minutes
        self.work_end = 0.0
        # exact time-average of leads in sales (assigned or waiting, prospecting not done)
        self.in_sales = 0
        self.area = 0.0
        self.area_t = 0.0
        self.backlog: list[tuple] = []
        self._constants(scenario)
        self._lists(scenario)
        self.score_split = self._median_mql_score()

    @staticmethod
    def _hire(scenario: Scenario, streams: Streams) -> list[Rep]:
        """The team: each rep's tier, and its own skill and speed around the tier's (its own stream)."""
        team = scenario.team
        tiers = team.tiers
        reps = []
        for r, t in enumerate(team.rep_tiers()):
            tier = tiers[t] if tiers else None
            draw = streams.generator("rep", str(r)).standard_normal(2)
            skill = (tier.skill if tier else 0.0) + team.skill_spread * float(draw[0])
            speed = (tier.speed if tier else 1.0) * math.exp(team.speed_spread * float(draw[1]))
            reps.append(Rep(r, tier=t, skill=skill, speed=speed, weight=tier.routing_weight if tier else 1.0))
        return reps

    def _constants(self, p: Scenario) -> None:
        self.offsets = list(p.follow_up.attempt_offsets)
        self.talk_minutes, self.dial_minutes = p.team.talk_minutes, p.team.dial_minutes
        self.p_answer = p.follow_up.answer_probability
        self.logit_answer = logit(self.p_answer)
        self.answer_cold = cold_factor(p.follow_up.answer_half_life_days)
        self.durable_cold = cold_factor(p.speed_to_lead.durable_half_life_days)
        self.m = decay_curve(p.speed_to_lead)
        self.win_rate = p.opportunities.win_rate
        self.logit_win = logit(self.win_rate)
        self.ageing = None if p.follow_up.ageing_days is None else p.follow_up.ageing_days * MINUTES_PER_DAY
        days = p.routing.reclaim_untouched_days
        self.reclaim = None if days is None or p.routing.policy == "shared_queue" else days * MINUTES_PER_DAY
        self.cap = p.routing.lead_cap if p.routing.lead_cap is not None else math.inf
        check = p.team.new_lead_check_minutes
        self.check_period = p.sla.first_touch_minutes / 2.0 if check is None else check
        self.order = p.team.queue_order
        self.max_calls = p.team.max_calls_per_day
        self.shared_queue = p.routing.policy == "shared_queue"
        self.senior = max(1, len(self.reps) // 2)

    def _lists(self, scenario: Scenario) -> None:
        """Marketing's decision at arrival, and the draws of the leads that enter the simulation.

        Only a lead that reaches sales or clicks later is simulated (``self.live``, in
        creation order); its draws become Python lists indexed by ``Lead.j`` — indexing them
        is much faster than numpy scalars, and the other leads need none.
        """
        pop = self.pop
        mk, nurture = scenario.marketing, scenario.nurture
        if self.scores is not None:
            self.score0 = np.asarray(self.scores[0], dtype=float)
        else:
            self.score0 = 100.0 * (mk.score_fit_weight * pop.fit + (1 - mk.score_fit_weight) * pop.interest)
        filtered = pop.fit < mk.min_fit
        self.arrival_mql = ~filtered & (self.score0 >= mk.mql_threshold)
        self.arrival_nurtured = ~filtered & ~self.arrival_mql
        clicks = self.arrival_nurtured & (pop.click <= nurture.max_days * MINUTES_PER_DAY)
        if not nurture.enabled:
            clicks &= False
        self.arrival_outcome = np.where(filtered, "filtered",
                                        np.where(self.arrival_nurtured & ~clicks, "unengaged", "open"))
        live = np.flatnonzero(self.arrival_mql | clicks)
        self.live = live

        def compact(values: np.ndarray) -> list:
            return np.asarray(values)[live].tolist()

        self.created = compact(pop.created)
        self.legit = compact(pop.legitimate)
        self.fit = compact(pop.fit)
        self.interest = compact(pop.interest)
        self.reachable = compact(pop.reachable)
        self.handoff = compact(pop.handoff)
        self.click = compact(pop.click)
        self.review = compact(pop.review)
        self.u_sql = compact(pop.u_sql)
        self.u_opportunity = compact(pop.u_opportunity)
        self.u_answer = [compact(a) for a in pop.u_answer]
        self.call_scale = [compact(a) for a in pop.call_scale]
        self.u_no_show = [compact(a) for a in pop.u_no_show]
        self.u_reschedule = [compact(a) for a in pop.u_reschedule]
        self.booking_lag = [compact(a) for a in pop.booking_lag]
        self.score_live = compact(self.score0)
        self.score_clicked = None if self.scores is None else compact(self.scores[1])
        shifts = quality_shifts(scenario, pop.legitimate[live], pop.fit[live], pop.interest[live])
        self.shifts = shifts
        self.win_shift = shifts.win
        self.value_mult = shifts.value

    def _median_mql_score(self) -> float:
        """score_based routing: MQLs scoring in the top half go to the first half of the team."""
        mk = self.scenario.marketing
        mqls = self.score0[(self.score0 >= mk.mql_threshold) & (self.pop.fit >= mk.min_fit)]
        return float(np.median(mqls)) if len(mqls) else mk.mql_threshold

    # ------------------------------------------------------------------ bookkeeping

    def _log(self, lead: int, event: str, rep: int = -1, at: float | None = None) -> None:
        if self.record_events:
            self.events.append((self.env.now if at is None else at, lead, event, rep))

    def _after(self, delay: float, fn, *args) -> None:
        if delay <= 0:
            fn(*args)
        else:
            self.env.timeout(delay).callbacks.append(lambda _ev: fn(*args))

    def _sales_delta(self, delta: int) -> None:
        now = self.env.now
        if now <= self.horizon:
            self.area += self.in_sales * (now - self.area_t)
            self.area_t = now
        elif self.area_t < self.horizon:
            self.area += self.in_sales * (self.horizon - self.area_t)
            self.area_t = self.horizon
        self.in_sales += delta

    def _resolve(self, lead: Lead, outcome: str, at: float | None = None, log: bool = True) -> None:
        lead.outcome = outcome
        lead.resolved_at = self.env.now if at is None else at
        self.unresolved -= 1
        if log and outcome != "won":
            self._log(lead.i, outcome, lead.rep, at=lead.resolved_at)

    def _finished(self) -> bool:
        return self.arrivals_done and self.unresolved == 0

    def _sampler(self):
        """Daily samples of the backlog: leads in sales, leads waiting for a rep under the cap, queued calls."""
        env = self.env
        while not self._finished() and env.now <= self.horizon:
            self.backlog.append((env.now, self.in_sales, len(self.waiting), self.queued_calls))
            yield env.timeout(MINUTES_PER_DAY)

    # ------------------------------------------------------------------ run

    def run(self, until: float | None = None) -> SimulationResult:
        """Simulate to the end (every lead resolved) or `until`, and return the tables.

        Python's cyclic garbage collector is paused meanwhile: the run's objects are freed by
        reference counting, and a full collection over hundreds of thousands of live leads
        every few thousand allocations would make run time grow faster than the horizon.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run(until)
        finally:
            if collecting:
                gc.enable()

    def _run(self, until: float | None) -> SimulationResult:
        env = self.env
        self._arrivals()
        if self.scenario.routing.mode == "batched":
            env.process(self._batcher())
        for rep in self.reps:
            env.process(self._rep(rep))
        env.process(self._sampler())
        if self.ageing is not None:
            env.process(self._deadline_sweeper(self.ageing_queue, self._age, self.ageing))
        if self.reclaim is not None:
            env.process(self._reclaim_sweeper())
        limit = until if until is not None else self.horizon + 5 * 365 * MINUTES_PER_DAY
        env.run(until=limit)
        self._sales_delta(0)
        return self._result()

    def _lead_table(self) -> pd.DataFrame:
        """One row per lead that arrived: the population's draws, and what happened to it."""
        pop, sc = self.pop, self.scenario
        n = int(np.searchsorted(pop.created, self.env.now, side="right"))  # all of them unless cut short
        names = (
            "score", "engaged_at", "mql_at", "assigned_at", "rep", "first_touch_at", "contacted_at",
            "closed_at", "attempts", "attempts_week1", "sql_at", "demo_booked_at", "demo_held_at", "demo_tries",
            "reach_outs", "opportunity_at", "opportunities", "won_at", "resolved_at", "revenue", "outcome", "hot",
            "clicked", "nurtured", "reclaimed",
        )
        defaults = Lead(0, 0.0, 0.0, 0.0)
        columns: dict[str, np.ndarray] = {}
        for name in names:
            value = getattr(defaults, name)
            dtype = object if isinstance(value, str) else type(value)
            columns[name] = np.full(len(pop), value, dtype=dtype)
        # leads that ended where they arrived
        columns["score"] = self.score0.copy()
        columns["engaged_at"] = pop.created.copy()
        columns["outcome"] = self.arrival_outcome.astype(object)
        columns["nurtured"] = self.arrival_nurtured.copy()
        done = columns["outcome"] != "open"
        columns["resolved_at"][done] = pop.created[done]
        # leads that entered the simulation
        live = [lead for lead in self.leads if lead.i < n]
        if live:
            index = np.fromiter((lead.i for lead in live), dtype=np.int64, count=len(live))
            for name, values in zip(names, zip(*map(attrgetter(*names), live))):
                columns[name][index] = values
        persona_names = np.array([p.name for p in sc.leads.personas] + ["junk"], dtype=object)
        return pd.DataFrame({
            "lead_id": np.arange(n),
            "source": pd.Categorical.from_codes(pop.source[:n], categories=[s.name for s in sc.sources]),
            "persona": persona_names[pop.persona[:n]],  # -1 (junk) picks the last name
            "legitimate": pop.legitimate[:n],
            "fit": pop.fit[:n],
            "interest": pop.interest[:n],
            "reachable": pop.reachable[:n],
            "cost": np.array([s.cost_per_lead for s in sc.sources])[pop.source[:n]],
            "created_at": pop.created[:n],
            **{name: values[:n] for name, values in columns.items()},
        })

    def _result(self) -> SimulationResult:
        sc = self.scenario
        leads = self._lead_table()
        leads["outcome"] = pd.Categorical(leads["outcome"], categories=list(OUTCOMES))
        leads["speed_to_lead"] = leads["first_touch_at"] - leads["engaged_at"]
        leads["time_to_first_touch"] = leads["first_touch_at"] - leads["mql_at"]
        events = pd.DataFrame(self.events, columns=["time", "lead_id", "event", "rep"])
        if len(events):
            events = events.sort_values("time", kind="stable").reset_index(drop=True)
        backlog = pd.DataFrame(self.backlog, columns=["time", "open_leads", "waiting_for_capacity", "queued_calls"])
        duty = self.cal.duty_minutes(self.horizon)
        tier_names = [t.name for t in sc.team.tiers] or ["rep"]
        reps = pd.DataFrame({
            "rep": [r.id for r in self.reps],
            "tier": [tier_names[r.tier] for r in self.reps],
            "skill": [r.skill for r in self.reps],
            "speed": [r.speed for r in self.reps],
            "busy_minutes": [r.busy for r in self.reps],
            "duty_minutes": duty,
            "busy_minutes_total": [r.busy_total for r in self.reps],
            "calls": [r.calls for r in self.reps],
            "demos": [r.demos for r in self.reps],
        })
        reps["utilisation"] = reps["busy_minutes"] / duty if duty > 0 else np.nan
        stats = {
            "horizon_minutes": self.horizon,
            "work_end_minutes": max(self.work_end, self.horizon),
            "mean_leads_in_sales": self.area / self.horizon if self.horizon > 0 else math.nan,
            "end_time": self.env.now,
        }
        return SimulationResult(sc, self.seed, leads, events, backlog, reps, stats)


def simulate(scenario: Scenario, seed: int = 0, *, record_events: bool = True, scorer: Scorer | None = None,
             **kwargs: Any) -> SimulationResult:
    """Run one replication of `scenario` with `seed` and return its tables."""
    return FunnelModel(scenario, seed, record_events=record_events, scorer=scorer).run(**kwargs)
