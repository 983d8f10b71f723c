"""Property test: malformed CRM exports end in InputError naming the file, never in anything else.

Over 1,000 generated documents per run, in-process through :func:`funnelsim.crm.read.read_export`:
a real export with cells replaced by hostile values (out-of-range and malformed times, huge
and negative numbers, NUL and control characters, formula text, empty cells), rows and
columns deleted or duplicated, headers renamed, and raw text and bytes. Each either reads
as a valid export (the damage happened to be valid) or raises InputError on one line that
names the file. Each document is read within a time bound; the file size cap bounds memory.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from funnelsim.crm.export import write_export
from funnelsim.crm.read import read_export
from funnelsim.crm.schema import COLUMNS
from funnelsim.errors import InputError
from funnelsim.model import simulate

FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

HOSTILE = ["", " ", "\x00", "a\x00b", "\x1b[31m", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)", "\t", "\r\n",
           "1500-01-01T00:00:00", "2262-04-12T00:00:00", "9999-12-31T23:59:59", "0001-01-01", "2024-02-30T00:00:00",
           "2024-01-01T00:00:00+05:00", "2024-01-01", "NaT", "nan", "inf", "-inf", "1e400", "9" * 29, "-" + "9" * 29,
           "1.5", "0x10", "true", "yes", "maybe", "won", "lost", "L000001", "\u202e", "\ufeff", "ß", "é" * 50]


@pytest.fixture(scope="module")
def rows(short_baseline, tmp_path_factory) -> list[list[str]]:
    path = tmp_path_factory.mktemp("fuzz-crm") / "leads.csv"
    write_export(simulate(short_baseline.with_overrides(["months=0.1"]), seed=5, record_events=False), path)
    with path.open(newline="") as handle:
        return list(csv.reader(handle))[:40]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-crm-docs")


def check(path: Path) -> None:
    started = time.monotonic()
    try:
        frame = read_export(path)
    except InputError as exc:
        text = str(exc)
        assert text.startswith(str(path)) and "\n" not in text and "\x00" not in text and "\x1b" not in text, text
        event("InputError")
    else:
        event("read")
        assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
        assert frame["created_at"].notna().all()
        assert (frame["company_size"].to_numpy() >= 0).all()
    assert time.monotonic() - started < 5


cells = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12),
                  st.integers(min_value=-(10**30), max_value=10**30).map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr))
edits = st.lists(st.tuples(st.integers(0, 39), st.integers(0, len(COLUMNS) - 1), cells), min_size=1, max_size=4)


def _write(path: Path, table: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8", errors="surrogatepass") as handle:
        csv.writer(handle).writerows(table)
    return path


@FUZZ
@given(changes=edits)
def test_damaged_cells(rows, folder: Path, changes) -> None:
    table = [list(r) for r in rows]
    for row, column, value in changes:
        if row < len(table):
            table[row][column] = value
    check(_write(folder / "cells.csv", table))


@settings(FUZZ, max_examples=250)
@given(drop_rows=st.lists(st.integers(0, 39), max_size=3), drop_columns=st.lists(st.integers(0, 29), max_size=2),
       duplicate=st.lists(st.integers(0, 29), max_size=2), renamed=st.dictionaries(st.integers(0, 29), cells,
                                                                                     max_size=2))
def test_damaged_structure(rows, folder: Path, drop_rows, drop_columns, duplicate, renamed) -> None:
    table = [list(r) for i, r in enumerate(rows) if i == 0 or i not in drop_rows]
    keep = [c for c in range(len(COLUMNS)) if c not in drop_columns] + [c for c in duplicate if c not in drop_columns]
    table = [[r[c] for c in keep] for r in table]
    for column, name in renamed.items():
        if column < len(table[0]):
            table[0][column] = name
    check(_write(folder / "structure.csv", table))


@settings(FUZZ, max_examples=250)
@given(text=st.one_of(st.text(max_size=300),
                      st.text(alphabet=st.sampled_from(list(',"\n\r\x00ab1-:T')), max_size=300),
                      st.lists(st.lists(cells, min_size=30, max_size=30), max_size=3).map(
                          lambda body: "\n".join(",".join(COLUMNS if i == 0 else r) for i, r in
                                                 enumerate([list(COLUMNS), *body])))))
def test_raw_text(folder: Path, text: str) -> None:
    path = folder / "text.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(path)


@settings(FUZZ, max_examples=250)
@given(data=st.binary(max_size=300), header=st.booleans())
def test_raw_bytes(folder: Path, data: bytes, header: bool) -> None:
    path = folder / "bytes.csv"
    path.write_bytes((",".join(COLUMNS).encode() + b"\n" if header else b"") + data)
    check(path)
