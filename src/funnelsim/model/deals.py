"""Step 10 of a lead's path: opportunities and deals.

An account opens one opportunity plus further ones with ``extra_opportunity_probability``
each (geometric, at most 4 extra). Each closes by itself after a lognormal sales cycle
(no rep time), is won with ``win_rate`` — moved by the lead's fit (``leads.quality``) and
the rep's skill — and is worth a lognormal deal value × the persona's multiplier × the
lead's fit multiplier. Any opportunity won: ``won``; none: ``lost``.
"""

from __future__ import annotations

import math

from .items import Lead, Rep
from .qualification import expit

__all__ = ["DealsStep"]


class DealsStep:
    """Opportunities close after their cycle (a part of ``FunnelModel``)."""

    def _deals(self, lead: Lead, rep: Rep) -> None:
        now = self.env.now
        i = lead.i
        pop = self.pop
        shift = self.win_shift[lead.j] + rep.skill
        win_rate = self.win_rate if shift == 0.0 else expit(self.logit_win + shift)
        lead.opportunity_at = now
        lead.opportunities = 1 + int(pop.extra_opportunities[i])
        self._log(i, "opportunity", lead.rep)
        won_at, last, revenue = math.inf, now, 0.0
        for o in range(lead.opportunities):
            closes = now + float(pop.cycle[o][i])
            last = max(last, closes)
            if pop.u_win[o][i] < win_rate:
                revenue += float(pop.deal_value[o][i]) * self.value_mult[lead.j]
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
            self._resolve(lead, "lost", at=last, log=False)
