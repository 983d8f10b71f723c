"""Writing CRM exports: a simulation's leads in the export schema (:mod:`.schema`), as CSV.

Text a spreadsheet would run as a formula is neutralised (OWASP: CSV injection);
:func:`export_scenario` simulates a scenario once and writes its leads (synthetic CRM data).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..errors import InputError
from ..simulation import simulate
from ..units import MINUTES_PER_MONTH
from .features import crm_features, feature_noise
from .schema import COLUMNS, DEFAULT_EPOCH, EARLIEST, FORMULA_START, LATEST, SCHEMA, UNKNOWN_PERSONA

if TYPE_CHECKING:
    from ..model import SimulationResult
    from ..scenario import Scenario

__all__ = ["parse_epoch", "check_export_window", "neutralise_formula", "export_frame", "write_export",
           "export_scenario"]

#: how long after the horizon the simulation follows open leads (funnelsim.model runs until horizon + 5 years)
_FOLLOW_UP_DAYS = 5 * 365 + 1


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
        if isinstance(value, str) and value.startswith(FORMULA_START):
            out[i] = "'" + value
    return out


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
        "resolved_at": _stamp(epoch, leads["resolved_at"]),
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



def export_scenario(scenario: "Scenario", path: str | Path, seed: int = 0,
                    start: datetime = DEFAULT_EPOCH) -> "SimulationResult":
    """Simulate `scenario` once and write its leads as a CRM export (synthetic CRM data)."""
    epoch = parse_epoch(start)
    check_export_window(epoch, scenario.months)
    result = simulate(scenario, seed, record_events=False)
    write_export(result, path, epoch)
    return result
