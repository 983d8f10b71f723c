"""Steps 7 and 8 of a lead's path: the follow-up cadence, answering, ageing — and qualifying on contact.

Attempt k is due ``attempt_offsets[k]`` after the first touch, in business time (whole
days are working days, the rest duty minutes). A reachable lead answers an attempt with
``answer_probability``, moved by its interest (``leads.quality``) and falling as it goes
cold (``answer_half_life_days`` since it engaged). When every attempt goes unanswered
the lead is ``unresponsive``; a lead nobody reached ``ageing_days`` after hand-off is
``aged_out``. A reached legitimate lead qualifies as :mod:`.qualification` says.
"""

from __future__ import annotations

from ..units import MINUTES_PER_WEEK
from .items import Call, Rep
from .qualification import expit, logit

__all__ = ["FollowUpStep"]


class FollowUpStep:
    """Call attempts, their outcome and the next attempt (a part of ``FunnelModel``)."""

    def _answers(self, j: int, k: int, shift: float, since_engaged: float) -> bool:
        """Whether a reachable lead picks up attempt k (an unreachable one never does)."""
        p = self.p_answer if shift == 0.0 else expit(self.logit_answer + shift)
        return self.u_answer[k][j] < p * self.answer_cold(since_engaged)

    def _qualifies(self, j: int, shift: float, since_engaged: float) -> bool:
        if not self.legit[j]:
            return False  # junk is never sales-qualified
        sp = self.scenario.speed_to_lead
        p = sp.p_durable * self.durable_cold(since_engaged) + sp.p_perishable * self.m(since_engaged)
        if shift != 0.0:
            p = expit(logit(p) + shift)
        return self.u_sql[j] < p

    def _call(self, rep: Rep, item: Call):
        now = self.env.now
        lead, k = item.lead, item.attempt
        i = lead.i
        if lead.rep < 0:  # from the shared queue: the rep who first touches it owns it
            lead.rep = rep.id
            rep.open += 1
        if k == 0:
            lead.first_touch_at = now
        lead.last_touch_at = now
        lead.attempts += 1
        if now - lead.mql_at <= MINUTES_PER_WEEK:
            lead.attempts_week1 += 1
        rep.calls += 1
        rep.calls_today += 1
        self._log(i, "attempt", rep.id)
        j = lead.j
        answered = self.reachable[j] and self._answers(j, k, lead.answer_shift, now - lead.engaged_at)
        duration = (self.talk_minutes if answered else self.dial_minutes) * self.call_scale[k][j] / rep.speed
        self._void_call(lead)  # this call is being made

        def done() -> None:
            if not lead.in_sales:  # aged out while on the phone: the call still ends the matter
                return
            if answered:
                lead.contacted_at = now
                self._log(i, "contacted", rep.id)
                qualified = self._qualifies(lead.j, lead.sql_shift + rep.skill, now - lead.engaged_at)
                self._leave_sales(lead)
                if qualified:
                    lead.sql_at = self.env.now
                    self._log(i, "sql", rep.id)
                    self._book_demo(lead, rep)
                else:
                    self._resolve(lead, "disqualified")
            elif k + 1 < len(self.offsets):
                due = max(self.env.now, self.cal.business_offset(lead.first_touch_at, self.offsets[k + 1]))
                self._schedule_call(lead, self.reps[lead.rep], k + 1, due)
            else:
                self._leave_sales(lead)
                self._resolve(lead, "unresponsive")

        return duration, done

    def _age(self, lead, mql_at: float) -> None:
        if not lead.in_sales or lead.mql_at != mql_at or lead.contacted_at == lead.contacted_at:
            return  # gone, re-handed-off since, or reached (contacted_at is not NaN)
        waited = lead.rep < 0 and lead.first_touch_at != lead.first_touch_at and not self.shared_queue
        self._leave_sales(lead)
        self._resolve(lead, "capped_out" if waited else "aged_out")
