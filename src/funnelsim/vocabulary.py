"""The words of the funnel, defined once: outcomes (leaks, with their labels and why they happen),
funnel stages and policy settings in words.

Model, KPIs, CRM export, plots and report all use these; nothing here imports
anything of the package.
"""

from __future__ import annotations

__all__ = [
    "LEAK_REASONS", "OUTCOMES", "FUNNEL_STAGES", "STAGE_LABELS", "STAGE_KPIS", "LEAK_LABELS", "LEAK_WHY",
    "QUEUE_ORDER_WORDS", "ROUTING_POLICY_WORDS", "ROUTING_POLICY_LABELS", "ROUTING_MODE_WORDS", "AT_CAP_WORDS",
]

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

#: how a funnel stage reads on a chart, and the KPI that counts the leads reaching it
STAGE_LABELS: dict[str, str] = {
    "lead": "Leads", "mql": "MQLs", "contacted": "Contacted", "sql": "Sales-qualified", "demo_held": "Demo held",
    "opportunity": "Opportunity", "won": "Won",
}
STAGE_KPIS: dict[str, str] = {
    "lead": "leads", "mql": "mqls", "contacted": "contacted", "sql": "sqls", "demo_held": "demos_held",
    "opportunity": "opportunities", "won": "won_deals",
}

#: each leak as a revenue leader names it (charts, tables), and why it happens, in their words
LEAK_LABELS: dict[str, str] = {
    "filtered": "Filtered by marketing",
    "unengaged": "Nurtured, never engaged",
    "capped_out": "Capped out (every rep full)",
    "aged_out": "Aged out untouched",
    "unresponsive": "Never answered",
    "disqualified": "Reached, not qualified",
    "no_show": "Demo no-show",
    "no_opportunity": "Demo, no opportunity",
    "lost": "Opportunity lost",
}
LEAK_WHY: dict[str, str] = {
    "filtered": "Marketing dropped it: spam, students, lost visitors, or too poor a fit to pass to sales.",
    "unengaged": "Nurtured by marketing but never became sales-ready (no click, or still too cold).",
    "capped_out": "Every rep was at the lead cap: the lead was turned away or waited until it went stale.",
    "aged_out": "Sat with a rep, untouched, past the ageing limit (reps skim the top of a long list).",
    "unresponsive": "Every call of the cadence went unanswered.",
    "disqualified": "Reached, but not sales-qualified — often because the call came too late.",
    "no_show": "Booked a demo, did not show up, and was not won back by a reschedule.",
    "no_opportunity": "Demo held, but no opportunity was opened.",
    "lost": "Opportunity opened and lost.",
}

#: policy settings in words: the order reps work their queue, how and when leads are routed,
#: what happens to a lead that finds every rep at the cap
QUEUE_ORDER_WORDS: dict[str, str] = {
    "newest_first": "newest first", "oldest_first": "oldest first", "highest_score": "highest score first",
    "hot_first": "hot leads first",
}
#: routing policy as the end of "routing leads ..." (sentences) and as a menu label (the what-if panel)
ROUTING_POLICY_WORDS: dict[str, str] = {
    "round_robin": "round robin", "least_loaded": "to the least-loaded rep",
    "score_based": "by score (best leads to senior reps)", "shared_queue": "through one shared queue",
}
ROUTING_POLICY_LABELS: dict[str, str] = {
    "round_robin": "round robin", "least_loaded": "least loaded rep", "score_based": "by score (seniors get the best)",
    "shared_queue": "one shared queue",
}
ROUTING_MODE_WORDS: dict[str, str] = {"continuous": "as they arrive", "batched": "in daily batches"}
AT_CAP_WORDS: dict[str, str] = {
    "wait": "making them wait for a free rep", "nurture": "sending them back to nurture", "discard": "discarding them",
}
