"""The CRM export's schema: one row per lead, as a CRM system would export it.

:data:`SCHEMA` (documented in ``docs/crm-export.md``) is what ``funnelsim export`` writes
from a simulation and what ``funnelsim calibrate`` and ``funnelsim score train`` read.
Timestamps are local wall-clock times in ISO 8601; the simulation clock (minutes from
Monday 00:00 of week 1) is mapped onto them from an epoch, :data:`DEFAULT_EPOCH` (Monday
2024-01-01 00:00) unless told otherwise. A lead's status is one of the funnel's outcomes
(:data:`funnelsim.vocabulary.OUTCOMES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..vocabulary import OUTCOMES

__all__ = [
    "Column",
    "SCHEMA",
    "COLUMNS",
    "TIME_COLUMNS",
    "STAGE_ORDER",
    "FLAG_TIMES",
    "RENAMED_COLUMNS",
    "UNKNOWN_PERSONA",
    "DEFAULT_EPOCH",
    "EARLIEST",
    "LATEST",
    "MAX_COUNT",
    "FORMULA_START",
]

Kind = Literal["id", "time", "text", "int", "float", "bool", "status"]


@dataclass(frozen=True)
class Column:
    """One column of the export: its name, kind and meaning."""

    name: str
    kind: Kind
    meaning: str


#: the persona of a lead that matches no buyer persona (spam, students, lost visitors)
UNKNOWN_PERSONA = "unknown"
#: Monday 00:00 that the simulation clock starts at, unless ``--start`` says otherwise
DEFAULT_EPOCH = datetime(2024, 1, 1)

SCHEMA: tuple[Column, ...] = (
    Column("lead_id", "id", "unique id of the lead"),
    Column("created_at", "time", "when the lead was created (form fill, sign-up, list upload)"),
    Column("source", "text", "lead source (web_form, paid_search, ...)"),
    Column("persona", "text", f"buyer persona marketing matched the lead to; '{UNKNOWN_PERSONA}' when none "
                              "(spam, students, lost visitors)"),
    Column("company_size", "int", "employees of the lead's company (firmographic fit)"),
    Column("pages_viewed", "int", "web pages the lead viewed before it was created (engagement)"),
    Column("email_clicks", "int", "marketing e-mail clicks before it was created (engagement)"),
    Column("nurtured", "bool", "the lead entered a nurture campaign"),
    Column("engaged_at", "time", "most recent conversion: creation, or the campaign click that made it "
                                 "sales-ready; the speed-to-lead clock starts here"),
    Column("mql", "bool", "marketing handed the lead to sales"),
    Column("mql_at", "time", "when it became a marketing-qualified lead"),
    Column("owner", "text", "the rep who owns the lead; empty if never assigned"),
    Column("assigned_at", "time", "when it was assigned to a rep (or queued for the team)"),
    Column("first_touch_at", "time", "first call attempt"),
    Column("attempts", "int", "call attempts in total"),
    Column("contacted_at", "time", "the attempt that reached the lead (empty if never reached)"),
    Column("sql", "bool", "sales accepted it as a sales-qualified lead"),
    Column("sql_at", "time", "when it became an SQL"),
    Column("demo_booked_at", "time", "when the (last) demo was booked"),
    Column("demo_appointments", "int", "demo appointments, reschedules included"),
    Column("demo_no_shows", "int", "demo appointments the lead missed"),
    Column("demo_held", "bool", "a demo was held"),
    Column("demo_held_at", "time", "when the demo was held"),
    Column("opportunity", "bool", "an opportunity was created"),
    Column("opportunity_at", "time", "when the (first) opportunity was created"),
    Column("opportunities", "int", "opportunities of the account"),
    Column("won", "bool", "at least one opportunity was won"),
    Column("amount", "float", "revenue of the won opportunities (0 if none)"),
    Column("resolved_at", "time", "when the lead got its final status (deal won or lost, disqualified, gave up "
                                  "calling, ...); exports written before name it closed_at"),
    Column("status", "status", "final status: " + ", ".join(OUTCOMES)),
)
COLUMNS: tuple[str, ...] = tuple(c.name for c in SCHEMA)
TIME_COLUMNS: tuple[str, ...] = tuple(c.name for c in SCHEMA if c.kind == "time")
#: timestamps that can only grow along a lead's way through the funnel (checked when reading)
STAGE_ORDER: tuple[str, ...] = ("created_at", "mql_at", "assigned_at", "first_touch_at", "contacted_at", "sql_at",
                                "demo_booked_at", "demo_held_at", "opportunity_at", "resolved_at")
#: flag -> the timestamp that must be present exactly when the flag is true
FLAG_TIMES = {"mql": "mql_at", "sql": "sql_at", "demo_held": "demo_held_at", "opportunity": "opportunity_at"}
#: old column name -> its name now; exports written before still load (the column is read under its new name)
RENAMED_COLUMNS = {"closed_at": "resolved_at"}
#: the window of timestamps an export may hold (pandas' nanosecond clock spans 1677-2262)
EARLIEST = datetime(1900, 1, 1)
LATEST = datetime(2200, 1, 1)
#: the largest count (company size, pages, clicks, attempts, ...) an export may hold: 2**53,
#: the largest whole number a float represents exactly
MAX_COUNT = 2**53
#: a cell starting with one of these is a formula to a spreadsheet program (OWASP: CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
