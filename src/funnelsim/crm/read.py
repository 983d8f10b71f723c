"""CRM exports: one row per lead, as a CRM system would export it, written and read back.

The schema (:data:`SCHEMA`, documented in ``docs/crm-export.md``) is what
``funnelsim export`` writes from a simulation and what ``funnelsim calibrate`` and
``funnelsim score train`` read. Timestamps are local wall-clock times in ISO 8601; the
simulation clock (minutes from Monday 00:00 of week 1) is mapped onto them from an
epoch, :data:`DEFAULT_EPOCH` (Monday 2024-01-01 00:00) unless told otherwise.

Fit and interest are latent in the model; a CRM sees firmographic and engagement
features instead. :func:`crm_features` derives them from fit and interest with seeded
noise from streams keyed ``("crm", "features", source, quantity)``, so an export and a
simulation with the same seed see the same features for the same lead, and a model
trained on an export can score simulated leads:

* ``company_size`` = max(1, round(10 ** (0.5 + 3.5·fit + 0.15·z))), z standard normal;
* ``pages_viewed`` = 1 + Poisson quantile(u₁; 24·interest), u₁ uniform;
* ``email_clicks`` = Poisson quantile(u₂; 6·interest), u₂ uniform.

The same uniforms give the features after a campaign click (higher interest), so a
clicked lead's engagement rises and its other noise stays. :func:`fit_from_company_size`
and :func:`interest_from_engagement` invert the link in expectation (calibration uses them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..errors import InputError
from ..rng import Streams
from ..safe_io import open_regular

if TYPE_CHECKING:
    from ..model import SimulationResult
    from ..scenario import Scenario

__all__ = [
    "Column",
    "SCHEMA",
    "COLUMNS",
    "TIME_COLUMNS",
    "STAGE_ORDER",
    "STATUSES",
    "UNKNOWN_PERSONA",
    "DEFAULT_EPOCH",
    "FeatureNoise",
    "feature_noise",
    "crm_features",
    "fit_from_company_size",
    "interest_from_engagement",
    "COMPANY_SIZE_NOISE",
    "export_frame",
    "write_export",
    "read_export",
    "parse_epoch",
    "minutes_since",
    "neutralise_formula",
    "EARLIEST",
    "LATEST",
    "MAX_COUNT",
]

Kind = Literal["id", "time", "text", "int", "float", "bool", "status"]


@dataclass(frozen=True)
class Column:
    """One column of the export: its name, kind and meaning."""

    name: str
    kind: Kind
    meaning: str


#: every outcome a lead can end in (the CRM's lead status); mirrors funnelsim.model.OUTCOMES
STATUSES = ("won", "filtered", "unengaged", "capped_out", "aged_out", "unresponsive", "disqualified",
            "no_show", "no_opportunity", "lost", "open")
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
    Column("closed_at", "time", "when the lead got its final status (deal closed, disqualified, ...)"),
    Column("status", "status", "final status: " + ", ".join(STATUSES)),
)
COLUMNS: tuple[str, ...] = tuple(c.name for c in SCHEMA)
TIME_COLUMNS: tuple[str, ...] = tuple(c.name for c in SCHEMA if c.kind == "time")
#: timestamps that can only grow along a lead's way through the funnel (checked when reading)
STAGE_ORDER: tuple[str, ...] = ("created_at", "mql_at", "assigned_at", "first_touch_at", "contacted_at", "sql_at",
                                "demo_booked_at", "demo_held_at", "opportunity_at", "closed_at")
#: flag -> the timestamp that must be present exactly when the flag is true
_FLAG_TIMES = {"mql": "mql_at", "sql": "sql_at", "demo_held": "demo_held_at", "opportunity": "opportunity_at"}
#: the window of timestamps an export may hold (pandas' nanosecond clock spans 1677-2262)
EARLIEST = datetime(1900, 1, 1)
LATEST = datetime(2200, 1, 1)
#: the largest count (company size, pages, clicks, attempts, ...) an export may hold: 2**53,
#: the largest whole number a float represents exactly
MAX_COUNT = 2**53
#: how long after the horizon the simulation follows open leads (funnelsim.model runs until horizon + 5 years)
_FOLLOW_UP_DAYS = 5 * 365 + 1
#: a cell starting with one of these is a formula to a spreadsheet program (OWASP: CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: control characters never allowed in an export's text (tab, CR and LF are not allowed in names either)
_CONTROL = r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})

# --------------------------------------------------------------------------- features

#: standard deviation of log10(company size) around 0.5 + 3.5·fit
COMPANY_SIZE_NOISE = 0.15
_SIZE_BASE, _SIZE_SLOPE = 0.5, 3.5
_PAGES_PER_INTEREST, _CLICKS_PER_INTEREST = 24.0, 6.0


@dataclass(frozen=True)
class FeatureNoise:
    """The random part of each lead's CRM features (drawn once, reused after a click)."""

    size: np.ndarray  # standard normal
    pages: np.ndarray  # uniform (0, 1)
    clicks: np.ndarray  # uniform (0, 1)


def feature_noise(seed: int, source_names: Sequence[str], source: np.ndarray) -> FeatureNoise:
    """Draw the feature noise of leads given as source indices in creation order.

    Each source's leads take the first draws of their own streams, in creation order, so
    the same leads get the same features whatever other sources or policies exist.
    """
    source = np.asarray(source)
    n = len(source)
    size, pages, clicks = np.empty(n), np.empty(n), np.empty(n)
    streams = Streams(int(seed))
    for index, name in enumerate(source_names):
        where = np.flatnonzero(source == index)
        if not len(where):
            continue
        k = len(where)
        size[where] = streams.generator("crm", "features", name, "company_size").standard_normal(k)
        pages[where] = streams.generator("crm", "features", name, "pages_viewed").random(k)
        clicks[where] = streams.generator("crm", "features", name, "email_clicks").random(k)
    return FeatureNoise(size, pages, clicks)


def _poisson_quantile(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Smallest k with P(Poisson(mean) ≤ k) ≥ u, vectorised (a monotone map of u and mean)."""
    u = np.asarray(u, dtype=float)
    mean = np.broadcast_to(np.asarray(mean, dtype=float), u.shape)
    k = np.zeros(u.shape, dtype=np.int64)
    p = np.exp(-mean)
    cdf = p.copy()
    active = u > cdf
    limit = int(np.max(mean, initial=0.0) + 12.0 * math.sqrt(np.max(mean, initial=0.0)) + 30.0)
    j = 0
    while active.any() and j < limit:
        j += 1
        k += active
        p = p * mean / j
        cdf = cdf + p
        active &= u > cdf
    return k


def crm_features(noise: FeatureNoise, fit: np.ndarray, interest: np.ndarray) -> dict[str, np.ndarray]:
    """company_size, pages_viewed and email_clicks from fit and interest (see the module doc)."""
    fit = np.asarray(fit, dtype=float)
    interest = np.asarray(interest, dtype=float)
    size = np.maximum(1, np.rint(10.0 ** (_SIZE_BASE + _SIZE_SLOPE * fit + COMPANY_SIZE_NOISE * noise.size)))
    return {
        "company_size": size.astype(np.int64),
        "pages_viewed": 1 + _poisson_quantile(noise.pages, _PAGES_PER_INTEREST * interest),
        "email_clicks": _poisson_quantile(noise.clicks, _CLICKS_PER_INTEREST * interest),
    }


def fit_from_company_size(company_size: np.ndarray) -> np.ndarray:
    """Unbiased (up to rounding) estimate of fit: (log10(size) − 0.5) / 3.5; its noise sd is 0.15/3.5."""
    return (np.log10(np.maximum(np.asarray(company_size, dtype=float), 1.0)) - _SIZE_BASE) / _SIZE_SLOPE


def interest_from_engagement(pages_viewed: np.ndarray, email_clicks: np.ndarray) -> np.ndarray:
    """Unbiased estimate of interest: (pages_viewed − 1 + email_clicks) / 30; noise variance interest/30."""
    total = np.asarray(pages_viewed, dtype=float) - 1.0 + np.asarray(email_clicks, dtype=float)
    return total / (_PAGES_PER_INTEREST + _CLICKS_PER_INTEREST)


# --------------------------------------------------------------------------- writing


def parse_epoch(text: str | date | datetime) -> datetime:
    """The export's start: a Monday, given as ``YYYY-MM-DD`` (midnight) or a date/datetime."""
    if isinstance(text, datetime):
        value = text
    elif isinstance(text, date):
        value = datetime(text.year, text.month, text.day)
    else:
        try:
            value = datetime.fromisoformat(str(text).strip())
        except ValueError:
            raise InputError("--start", None, f"{text!r} is not a date such as 2024-01-01") from None
    if value.tzinfo is not None:
        raise InputError("--start", None, "give a local date without a time zone, such as 2024-01-01")
    if value.weekday() != 0 or value.time() != datetime.min.time():
        raise InputError("--start", None, f"{value:%Y-%m-%d %H:%M} is not a Monday 00:00 (the simulation "
                                          "clock starts on a Monday at midnight)")
    if not EARLIEST <= value < LATEST:
        raise InputError("--start", None, f"{value:%Y-%m-%d} is outside the years an export may hold "
                                          f"({EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d})")
    return value


def check_export_window(epoch: datetime, months: float, source: str = "--start") -> None:
    """Refuse, before simulating, an export whose timestamps would run past :data:`LATEST`."""
    from datetime import timedelta

    from ..units import MINUTES_PER_MONTH

    try:
        last = epoch + timedelta(minutes=months * MINUTES_PER_MONTH) + timedelta(days=_FOLLOW_UP_DAYS)
    except OverflowError:
        last = datetime.max
    if last >= LATEST:
        raise InputError(source, None, f"{epoch:%Y-%m-%d} plus {months:g} months of arrivals and five years of "
                                       f"follow-up runs past {LATEST:%Y-%m-%d}, the last time an export may hold; "
                                       "start earlier")


def neutralise_formula(values: np.ndarray) -> np.ndarray:
    """Prefix ``'`` to text a spreadsheet would run as a formula (starting with = + - @ tab CR)."""
    out = np.asarray(values, dtype=object).copy()
    for i, value in enumerate(out):
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            out[i] = "'" + value
    return out


def _restore_formula(text: pd.Series) -> pd.Series:
    """Undo :func:`neutralise_formula` when reading an export back."""
    quoted = text.str.startswith("'") & text.str[1:2].isin(list(_FORMULA_START))
    return text.where(~quoted, text.str[1:])


def _stamp(epoch: datetime, minutes: np.ndarray) -> np.ndarray:
    """ISO 8601 text to the second; empty where the time is missing."""
    minutes = np.asarray(minutes, dtype=float)
    missing = ~np.isfinite(minutes)
    seconds = np.rint(np.where(missing, 0.0, minutes) * 60.0).astype("int64")
    times = np.datetime64(epoch, "s") + seconds.astype("timedelta64[s]")
    text = np.datetime_as_string(times, unit="s").astype(object)
    text[missing] = ""
    return text


def export_frame(result: "SimulationResult", start: datetime = DEFAULT_EPOCH) -> pd.DataFrame:
    """The simulation's leads as a CRM export (every column text, ready for CSV)."""
    epoch = parse_epoch(start)
    leads = result.leads
    sc = result.scenario
    source_names = [s.name for s in sc.sources]
    source = leads["source"].cat.codes.to_numpy() if hasattr(leads["source"], "cat") else \
        np.array([source_names.index(s) for s in leads["source"]])
    noise = feature_noise(result.seed, source_names, source)
    features = crm_features(noise, leads["fit"].to_numpy(), leads["interest"].to_numpy())
    persona = np.where(leads["legitimate"].to_numpy(), leads["persona"].astype(str).to_numpy(), UNKNOWN_PERSONA)
    held = leads["demo_held_at"].notna().to_numpy()
    tries = leads["demo_tries"].to_numpy().astype(np.int64)

    def flag(values: np.ndarray) -> np.ndarray:
        return np.where(values, "true", "false")

    def ints(values: np.ndarray) -> np.ndarray:
        return np.asarray(values).astype(np.int64).astype(str)

    width = max(6, len(str(len(leads))))
    frame = pd.DataFrame({
        "lead_id": [f"L{i:0{width}d}" for i in leads["lead_id"]],
        "created_at": _stamp(epoch, leads["created_at"]),
        "source": leads["source"].astype(str).to_numpy(),
        "persona": persona,
        "company_size": ints(features["company_size"]),
        "pages_viewed": ints(features["pages_viewed"]),
        "email_clicks": ints(features["email_clicks"]),
        "nurtured": flag(leads["nurtured"].to_numpy(dtype=bool)),
        "engaged_at": _stamp(epoch, leads["engaged_at"]),
        "mql": flag(leads["mql_at"].notna().to_numpy()),
        "mql_at": _stamp(epoch, leads["mql_at"]),
        "owner": np.where(leads["rep"].to_numpy() >= 0,
                          np.char.add("rep_", np.char.zfill((leads["rep"].to_numpy() + 1).astype(str), 2)), ""),
        "assigned_at": _stamp(epoch, leads["assigned_at"]),
        "first_touch_at": _stamp(epoch, leads["first_touch_at"]),
        "attempts": ints(leads["attempts"]),
        "contacted_at": _stamp(epoch, leads["contacted_at"]),
        "sql": flag(leads["sql_at"].notna().to_numpy()),
        "sql_at": _stamp(epoch, leads["sql_at"]),
        "demo_booked_at": _stamp(epoch, leads["demo_booked_at"]),
        "demo_appointments": ints(tries),
        "demo_no_shows": ints(tries - held),
        "demo_held": flag(held),
        "demo_held_at": _stamp(epoch, leads["demo_held_at"]),
        "opportunity": flag(leads["opportunity_at"].notna().to_numpy()),
        "opportunity_at": _stamp(epoch, leads["opportunity_at"]),
        "opportunities": ints(leads["opportunities"]),
        "won": flag(leads["outcome"].astype(str).to_numpy() == "won"),
        "amount": np.char.mod("%.2f", leads["revenue"].to_numpy(dtype=float)),
        "closed_at": _stamp(epoch, leads["resolved_at"]),
        "status": leads["outcome"].astype(str).to_numpy(),
    })
    return frame[list(COLUMNS)]


def write_export(result: "SimulationResult", path: str | Path, start: datetime = DEFAULT_EPOCH) -> Path:
    """Write the simulation's leads as a CRM export CSV, atomically."""
    frame = export_frame(result, start)
    for column in SCHEMA:
        if column.kind in ("id", "text", "status"):
            frame[column.name] = neutralise_formula(frame[column.name].to_numpy())
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")
    return Path(path)


# --------------------------------------------------------------------------- reading


class _Reader:
    """Parses one export column by column, raising at the first bad value."""

    def __init__(self, raw: pd.DataFrame, source: str) -> None:
        self.raw = raw
        self.source = source
        self.ids = raw["lead_id"].to_numpy()

    def fail(self, column: str, row: int, message: str) -> InputError:
        lead = self.ids[row] if row < len(self.ids) else "?"
        return InputError(self.source, column, f"line {row + 2} (lead {lead!s}): {message}")

    def text(self, column: str) -> np.ndarray:
        text = self.raw[column].str.strip()
        self.first(column, text.str.contains(_CONTROL, regex=True).to_numpy(),
                   "{value!r} holds a control character (escape codes, tabs and line breaks are not allowed "
                   "in names)")
        return _restore_formula(text).to_numpy(dtype=object)

    def first(self, column: str, bad: np.ndarray, message: str) -> None:
        rows = np.flatnonzero(bad)
        if len(rows):
            row = int(rows[0])
            value = self.raw[column].iat[row]
            raise self.fail(column, row, message.format(value=value))

    def time(self, column: str) -> pd.Series:
        text = self.raw[column].str.strip()
        empty = (text == "").to_numpy()
        try:
            parsed = pd.to_datetime(text.where(~empty, None), format="ISO8601", errors="coerce")
        except (ValueError, TypeError, OverflowError):
            parsed = None
        if parsed is None or getattr(parsed.dt, "tz", None) is not None:
            parsed = pd.Series([_one_time(v) for v in text], dtype="datetime64[ns]")
        bad = parsed.isna().to_numpy() & ~empty
        self.first(column, bad, "{value!r} is not a date and time such as 2024-01-01T09:30:00 "
                                "(ISO 8601, local time, no time zone)")
        outside = parsed.notna().to_numpy() & ~((parsed >= EARLIEST) & (parsed < LATEST)).to_numpy()
        self.first(column, outside, "{value!r} is outside the years an export may hold "
                                    f"({EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d})")
        return parsed.astype("datetime64[ns]")

    def integer(self, column: str) -> np.ndarray:
        text = self.raw[column].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0) | (values != np.floor(values))
        self.first(column, bad, "{value!r} is not a whole number, zero or more")
        self.first(column, values > MAX_COUNT, f"{{value!r}} is too large (at most {MAX_COUNT:,})")
        return values.astype(np.int64)

    def number(self, column: str) -> np.ndarray:
        text = self.raw[column].str.strip()
        values = pd.to_numeric(text.where(text != "", "0"), errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        self.first(column, bad, "{value!r} is not an amount, zero or more")
        return values

    def flag(self, column: str) -> np.ndarray:
        text = self.raw[column].str.strip().str.lower()
        true = text.isin(_TRUE).to_numpy()
        bad = ~true & ~text.isin(_FALSE).to_numpy()
        self.first(column, bad, "{value!r} is not true or false")
        return true


def _one_time(value: str) -> pd.Timestamp | None:
    if not value:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return None
    return None if stamp.tzinfo is not None else stamp


def read_export(path: str | Path) -> pd.DataFrame:
    """Read and check a CRM export; one clear :class:`InputError` at the first problem.

    Returns one row per lead with timestamps as ``datetime64``, flags as bool, counts as
    int; extra columns are kept as text. Checks: every schema column present, unique
    lead ids, parseable values, flags agreeing with their timestamps, and each lead's
    timestamps in funnel order (:data:`STAGE_ORDER`; ``engaged_at`` between
    ``created_at`` and ``closed_at``).
    """
    source = str(path)
    try:
        with open_regular(path, "csv_bytes", source) as handle:
            raw = pd.read_csv(handle, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise InputError(source, None, "the file is empty (expected a CSV header and one row per lead)") from None
    except UnicodeDecodeError:
        raise InputError(source, None, "not UTF-8 text; save the export as UTF-8 CSV") from None
    except (pd.errors.ParserError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(source, None, f"not a readable CSV file: {first}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    for number, name in enumerate(raw.columns):
        if re.search(_CONTROL, name):
            raise InputError(source, f"column {number + 1}", f"line 1: the column name {name!r} holds a control "
                                                              "character")
    for name in raw.columns:
        nul = raw[name].str.contains("\x00", regex=False).to_numpy()
        if nul.any():
            row = int(np.flatnonzero(nul)[0])
            raise InputError(source, name, f"line {row + 2}: a NUL byte in the field")
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise InputError(source, missing[0], f"missing column{more}; see docs/crm-export.md for the schema")
    duplicated = [c for c in set(raw.columns) if list(raw.columns).count(c) > 1]
    if duplicated:
        raise InputError(source, sorted(duplicated)[0], "the column appears more than once")
    if raw.empty:
        raise InputError(source, None, "the export has a header but no leads")

    reader = _Reader(raw, source)
    out: dict[str, object] = {}
    for column in SCHEMA:
        name = column.name
        if column.kind == "time":
            out[name] = reader.time(name)
        elif column.kind == "int":
            out[name] = reader.integer(name)
        elif column.kind == "float":
            out[name] = reader.number(name)
        elif column.kind == "bool":
            out[name] = reader.flag(name)
        else:
            values = reader.text(name)
            if column.kind in ("id", "text") and name in ("lead_id", "source", "persona"):
                reader.first(name, values == "", "empty; every lead needs a " + name.replace("_", " "))
            if column.kind == "status":
                reader.first(name, ~np.isin(values, STATUSES), "{value!r} is not a known status (" +
                             ", ".join(STATUSES) + ")")
            out[name] = values
    frame = pd.DataFrame({name: (v.to_numpy() if isinstance(v, pd.Series) else v) for name, v in out.items()})
    for extra in raw.columns:
        if extra not in frame.columns:
            frame[extra] = raw[extra].to_numpy()

    dup = frame["lead_id"].duplicated().to_numpy()
    reader.first("lead_id", dup, "{value!r} appears more than once")
    _check_consistency(frame, reader)
    _check_order(frame, reader)
    return frame


def _check_consistency(frame: pd.DataFrame, reader: _Reader) -> None:
    for flag, column in _FLAG_TIMES.items():
        has = frame[column].notna().to_numpy()
        on = frame[flag].to_numpy()
        reader.first(column, on & ~has, f"empty although {flag} is true")
        reader.first(column, ~on & has, f"{{value!r}} given although {flag} is false")
    reader.first("created_at", frame["created_at"].isna().to_numpy(), "empty; every lead has a creation time")
    reader.first("engaged_at", frame["engaged_at"].isna().to_numpy(), "empty; use created_at when the lead "
                                                                      "never engaged again")
    won = frame["won"].to_numpy()
    status = frame["status"].to_numpy()
    reader.first("status", won != (status == "won"), "{value!r} disagrees with the won column")
    reader.first("amount", won & (frame["amount"].to_numpy() <= 0), "{value!r}: a won lead needs an amount above 0")
    opp = frame["opportunity"].to_numpy()
    reader.first("opportunities", opp != (frame["opportunities"].to_numpy() > 0),
                 "{value!r} disagrees with the opportunity column")
    appointments = frame["demo_appointments"].to_numpy()
    reader.first("demo_no_shows", frame["demo_no_shows"].to_numpy() > appointments,
                 "{value!r} is more than demo_appointments")
    reader.first("demo_appointments", frame["demo_held"].to_numpy() & (appointments < 1),
                 "{value!r}: a held demo needs at least one appointment")


def _check_order(frame: pd.DataFrame, reader: _Reader) -> None:
    n = len(frame)
    latest = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    latest_name = np.full(n, "", dtype=object)
    bad_row, bad = n, None
    for column in STAGE_ORDER:
        values = frame[column].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        present = ~frame[column].isna().to_numpy()
        before = present & (values < latest)
        rows = np.flatnonzero(before)
        if len(rows) and rows[0] < bad_row:
            bad_row, bad = int(rows[0]), (column, latest_name[rows[0]])
        later = present & (values >= latest)
        latest = np.where(later, values, latest)
        latest_name = np.where(later, column, latest_name)
    created = frame["created_at"].to_numpy(dtype="datetime64[ns]")
    engaged = frame["engaged_at"].to_numpy(dtype="datetime64[ns]")
    closed = frame["closed_at"]
    rows = np.flatnonzero(engaged < created)
    if len(rows) and rows[0] < bad_row:
        bad_row, bad = int(rows[0]), ("engaged_at", "created_at")
    after = closed.notna().to_numpy() & (engaged > closed.to_numpy(dtype="datetime64[ns]"))
    rows = np.flatnonzero(after)
    if len(rows) and rows[0] < bad_row:
        bad_row, bad = int(rows[0]), ("closed_at", "engaged_at")
    if bad is None:
        return
    column, earlier = bad
    value, other = frame[column].iat[bad_row], frame[earlier].iat[bad_row]
    raise reader.fail(column, bad_row, f"{value:%Y-%m-%d %H:%M:%S} is before {earlier} {other:%Y-%m-%d %H:%M:%S} "
                                       "(timestamps out of order)")


def minutes_since(times: pd.Series | np.ndarray, origin: np.datetime64 | pd.Timestamp) -> np.ndarray:
    """Minutes from `origin` (NaN where the time is missing)."""
    values = pd.to_datetime(pd.Series(np.asarray(times)))
    delta = (values - pd.Timestamp(origin)).dt.total_seconds().to_numpy(dtype=float)
    return delta / 60.0
