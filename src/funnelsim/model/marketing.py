"""Steps 1, 3 and 4 of a lead's path: arrival, marketing's qualification, nurture and hot-lead alerts.

A lead arrives at its pre-drawn time. Marketing scores it — 100·(w·fit + (1−w)·interest),
or a trained model's score handed in precomputed — drops it when its fit is below the
minimum (``filtered``), hands it to sales as an MQL after the hand-off delay when the
score reaches the threshold, and otherwise nurtures it. A nurtured lead may click a
campaign email: the click raises its interest, re-scores it and restarts its speed clock.
Only a click that makes the lead sales-ready sends it to sales: without alerts at
marketing's next review of the nurture list (``review_days``) and the usual hand-off;
with hot-lead alerts at once (no review, no hand-off delay, no routing batch), and its
first touch jumps the queue.
"""

from __future__ import annotations

import numpy as np

from ..units import MINUTES_PER_DAY
from .items import Lead
from .qualification import answer_shift, sql_shift

__all__ = ["MarketingStep"]


class MarketingStep:
    """Arrivals, MQL hand-off, nurture and clicks (a part of :class:`~funnelsim.model.funnel.FunnelModel`)."""

    def _arrivals(self) -> None:
        """Every lead arrives at its pre-drawn time; marketing decides at once where it goes.

        Only a lead that reaches sales, or clicks a campaign email later, needs the clock
        and a :class:`Lead` of its own: its hand-off or click is scheduled at its time. A
        filtered lead, or a nurtured one that never clicks in time, ends where it arrived;
        the result tables fill its row from the population's arrays.
        """
        pop = self.pop
        mql, nurtured, live = self.arrival_mql, self.arrival_nurtured, self.live
        if self.record_events:
            for i in np.flatnonzero(self.arrival_outcome != "open").tolist():
                created = float(pop.created[i])
                self._log(i, "created", at=created)
                if nurtured[i]:
                    self._log(i, "nurtured", at=created)
                self._log(i, str(self.arrival_outcome[i]), at=created)
        score, interest, created = self.score_live, self.interest, self.created
        sql_shift, answer_shift = self.shifts.sql, self.shifts.answer
        leads = self.leads
        handed_off = mql[live].tolist()
        for j, i in enumerate(live.tolist()):
            lead = Lead(i, score[j], interest[j], created[j], sql_shift[j], answer_shift[j], j)
            leads.append(lead)
            self.unresolved += 1
            self._log(i, "created", at=created[j])
            if not handed_off[j]:
                lead.nurtured = True
                self._log(i, "nurtured", at=created[j])
        # each live lead enters at its hand-off (MQL) or its click (nurtured), in time order
        entry = np.where(mql[live], pop.created[live] + pop.handoff[live], pop.created[live] + pop.click[live])
        order = np.argsort(entry, kind="stable")
        self.env.process(self._entries(entry[order].tolist(), [leads[k] for k in order.tolist()],
                                       [handed_off[k] for k in order.tolist()]))
        self.arrivals_done = True

    def _entries(self, times: list[float], leads: list[Lead], hand_offs: list[bool]):
        """One process walks the entries in time order (a small event queue, whatever the horizon)."""
        env = self.env
        for at, lead, hand_off in zip(times, leads, hand_offs):
            if at > env.now:
                yield env.timeout(at - env.now)
            if hand_off:
                self._mql(lead)
            else:
                self._clicked(lead)

    def _nurture(self, lead: Lead, at: float | None = None) -> None:
        """Into nurture, now or (at arrival) at time `at`: a click is scheduled, or the lead is done."""
        nurture = self.scenario.nurture
        now = self.env.now if at is None else at
        lead.nurtured = True
        self._log(lead.i, "nurtured", at=now)
        delay = self.click[lead.j]
        if not nurture.enabled or delay > nurture.max_days * MINUTES_PER_DAY:
            self._resolve(lead, "capped_out" if lead.renurtured else "unengaged", at=now)
            return
        self.env.timeout(now + delay - self.env.now).callbacks.append(lambda _ev: self._clicked(lead))

    def _clicked(self, lead: Lead) -> None:
        nurture = self.scenario.nurture
        mk = self.scenario.marketing
        i, j = lead.i, lead.j
        lead.engaged_at = self.env.now
        lead.clicked = True
        lead.interest = min(1.0, lead.interest + nurture.interest_boost)
        if self.legit[j]:
            lead.sql_shift = sql_shift(self.scenario, self.fit[j], lead.interest)
            lead.answer_shift = answer_shift(self.scenario, lead.interest)
        if self.score_clicked is not None:
            lead.score = self.score_clicked[j]
        else:
            lead.score = 100.0 * (mk.score_fit_weight * self.fit[j] + (1 - mk.score_fit_weight) * lead.interest)
        self._log(i, "clicked")
        if lead.score < mk.mql_threshold:
            self._resolve(lead, "capped_out" if lead.renurtured else "unengaged")
        elif nurture.hot_lead_alerts:
            lead.hot = True
            self._mql(lead)
        else:  # marketing notices the click at its next review of the nurture list, then hands off
            self._after(self.review[j] + self.handoff[j], self._mql, lead)
