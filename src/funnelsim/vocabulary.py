"""The words of the funnel, defined once: outcomes (leaks) and funnel stages.

Model, KPIs, CRM export, plots and report all use these tuples; nothing here imports
anything of the package.
"""

from __future__ import annotations

__all__ = ["LEAK_REASONS", "OUTCOMES", "FUNNEL_STAGES"]

#: every outcome a lead can end in; all but "won" are leaks, "open" only if the run was cut short
LEAK_REASONS = (
    "filtered",  # marketing dropped it: fit below the minimum (spam, lost visitors)
    "unengaged",  # nurtured, never clicked (or clicked but never became sales-ready)
    "capped_out",  # every rep was at the lead cap: discarded, or waited until it aged
    "aged_out",  # sat untouched with a rep past the ageing limit
    "unresponsive",  # every attempt of the cadence went unanswered
    "disqualified",  # reached, but not sales-qualified (too late, wrong fit, junk)
    "no_show",  # missed the demo and was not won back
    "no_opportunity",  # demo held, no opportunity created
    "lost",  # opportunity (or all of them) lost
)
OUTCOMES = ("won", *LEAK_REASONS, "open")

#: (stage, column of the lead table that is set once the lead reached it), top of the funnel first
FUNNEL_STAGES = (
    ("lead", "created_at"),
    ("mql", "mql_at"),
    ("contacted", "contacted_at"),
    ("sql", "sql_at"),
    ("demo_held", "demo_held_at"),
    ("opportunity", "opportunity_at"),
    ("won", "won_at"),
)
