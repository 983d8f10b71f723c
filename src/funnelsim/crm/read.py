"""Reading CRM exports: one clear :class:`~funnelsim.errors.InputError` at the first problem.

:func:`read_export` checks a file against the schema (:mod:`.schema`): every column
present, unique lead ids, parseable values within limits, flags agreeing with their
timestamps, each lead's timestamps in funnel order; text neutralised as a formula when
written is restored. Files written before ``resolved_at`` was named so (its old name
``closed_at``, :data:`~.schema.RENAMED_COLUMNS`) still load.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..safe_io import open_regular
from ..vocabulary import OUTCOMES
from .schema import COLUMNS, EARLIEST, FLAG_TIMES, FORMULA_START, LATEST, MAX_COUNT, RENAMED_COLUMNS, SCHEMA, \
    STAGE_ORDER

__all__ = ["read_export", "minutes_since"]

#: control characters never allowed in an export's text (tab, CR and LF are not allowed in names either)
_CONTROL = r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


def _restore_formula(text: pd.Series) -> pd.Series:
    """Undo :func:`neutralise_formula` when reading an export back."""
    quoted = text.str.startswith("'") & text.str[1:2].isin(list(FORMULA_START))
    return text.where(~quoted, text.str[1:])



class _Reader:
    """Parses one export column by column, raising at the first bad value."""

    def __init__(self, raw: pd.DataFrame, source: str, names: dict[str, str] | None = None) -> None:
        self.raw = raw
        self.source = source
        self.ids = raw["lead_id"].to_numpy()
        self.names = names or {}  # schema name -> the file's name, for columns the file names the old way

    def fail(self, column: str, row: int, message: str) -> InputError:
        lead = self.ids[row] if row < len(self.ids) else "?"
        return InputError(self.source, self.names.get(column, column), f"line {row + 2} (lead {lead!s}): {message}")

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
    ``created_at`` and ``resolved_at``). A file that names ``resolved_at`` by its old name
    ``closed_at`` is read as well; errors then name the column as the file does.
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
    names = {new: old for old, new in RENAMED_COLUMNS.items() if new not in raw.columns and old in raw.columns}
    raw = raw.rename(columns={old: new for new, old in names.items()})
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise InputError(source, missing[0], f"missing column{more}; see docs/crm-export.md for the schema")
    duplicated = [c for c in set(raw.columns) if list(raw.columns).count(c) > 1]
    if duplicated:
        raise InputError(source, sorted(duplicated)[0], "the column appears more than once")
    if raw.empty:
        raise InputError(source, None, "the export has a header but no leads")

    reader = _Reader(raw, source, names)
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
                reader.first(name, ~np.isin(values, OUTCOMES), "{value!r} is not a known status (" +
                             ", ".join(OUTCOMES) + ")")
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
    for flag, column in FLAG_TIMES.items():
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
    resolved = frame["resolved_at"]
    rows = np.flatnonzero(engaged < created)
    if len(rows) and rows[0] < bad_row:
        bad_row, bad = int(rows[0]), ("engaged_at", "created_at")
    after = resolved.notna().to_numpy() & (engaged > resolved.to_numpy(dtype="datetime64[ns]"))
    rows = np.flatnonzero(after)
    if len(rows) and rows[0] < bad_row:
        bad_row, bad = int(rows[0]), ("resolved_at", "engaged_at")
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
