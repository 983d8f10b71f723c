"""CRM export of a simulation: writing, reading back, and one clear error per bad file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from funnelsim import simulate
from funnelsim.errors import InputError
from funnelsim.crm.export import export_frame, write_export
from funnelsim.crm.features import crm_features, feature_noise
from funnelsim.crm.read import minutes_since, read_export
from funnelsim.crm.schema import COLUMNS, UNKNOWN_PERSONA


@pytest.fixture(scope="module")
def result(short_baseline):
    return simulate(short_baseline.with_overrides(["months=0.5"]), seed=4, record_events=False)


@pytest.fixture(scope="module")
def export_csv(result, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crm") / "leads.csv"
    write_export(result, path)
    return path


@pytest.fixture()
def raw(export_csv) -> pd.DataFrame:
    return pd.read_csv(export_csv, dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "broken.csv"
    frame.to_csv(path, index=False)
    return path


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        read_export(path)
    assert "\n" not in str(info.value)
    return info.value


# --------------------------------------------------------------------------- writing and reading back


def test_export_round_trips_every_lead_and_time(result, export_csv):
    frame = read_export(export_csv)
    leads = result.leads
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == len(leads)
    origin = pd.Timestamp("2024-01-01")
    for column, source in (("created_at", "created_at"), ("mql_at", "mql_at"), ("contacted_at", "contacted_at"),
                           ("sql_at", "sql_at"), ("resolved_at", "resolved_at"), ("engaged_at", "engaged_at")):
        back = minutes_since(frame[column], origin)
        want = leads[source].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(back), np.isnan(want)), column
        assert np.nanmax(np.abs(back - want)) <= 0.5 / 60 + 1e-9, column  # rounded to the second
    assert (frame["status"].to_numpy() == leads["outcome"].astype(str).to_numpy()).all()
    assert frame["attempts"].sum() == leads["attempts"].sum()
    assert frame["amount"].sum() == pytest.approx(leads["revenue"].sum(), abs=0.01 * len(leads))
    assert (frame["won"] == (leads["outcome"] == "won").to_numpy()).all()
    # junk leads carry no persona; legitimate ones carry theirs
    legit = leads["legitimate"].to_numpy()
    assert (frame["persona"].to_numpy()[~legit] == UNKNOWN_PERSONA).all()
    assert (frame["persona"].to_numpy()[legit] == leads["persona"].to_numpy()[legit]).all()
    assert frame["demo_no_shows"].sum() == (leads["demo_tries"] - leads["demo_held_at"].notna()).sum()
    # every owner is a rep of the scenario
    owners = set(frame.loc[frame["owner"] != "", "owner"])
    assert owners <= {f"rep_{r + 1:02d}" for r in range(result.scenario.team.reps)}


def test_export_start_moves_every_timestamp(result):
    a = export_frame(result)
    b = export_frame(result, datetime(2024, 3, 4))
    shift = pd.to_datetime(b["created_at"]) - pd.to_datetime(a["created_at"])
    assert (shift == pd.Timedelta(days=63)).all()


# --------------------------------------------------------------------------- features


def test_export_features_match_the_documented_link(result):
    frame = export_frame(result)
    leads = result.leads
    names = [s.name for s in result.scenario.sources]
    noise = feature_noise(result.seed, names, leads["source"].cat.codes.to_numpy())
    want = crm_features(noise, leads["fit"].to_numpy(), leads["interest"].to_numpy())
    for column in ("company_size", "pages_viewed", "email_clicks"):
        assert (frame[column].astype(int).to_numpy() == want[column]).all()


# --------------------------------------------------------------------------- reading: one clear error


def test_missing_column_is_named(raw, tmp_path):
    error = _error(_write(raw.drop(columns=["sql_at", "won"]), tmp_path))
    assert error.field == "sql_at" and "missing column" in error.message and "won" in error.message


def test_extra_columns_are_kept(raw, tmp_path):
    raw["crm_region"] = "emea"
    frame = read_export(_write(raw, tmp_path))
    assert (frame["crm_region"] == "emea").all()


def test_unparseable_date_names_column_and_first_bad_row(raw, tmp_path):
    raw.loc[7, "created_at"] = "next tuesday"
    raw.loc[9, "created_at"] = "31/31/2024"
    error = _error(_write(raw, tmp_path))
    assert error.field == "created_at"
    assert error.message.startswith(f"line 9 (lead {raw.loc[7, 'lead_id']})")
    assert "next tuesday" in error.message


def test_timestamps_out_of_order_name_column_and_row(raw, tmp_path):
    row = int(np.flatnonzero(raw["sql_at"].to_numpy() != "")[1])
    raw.loc[row, "sql_at"] = "2023-12-31T23:00:00"
    error = _error(_write(raw, tmp_path))
    assert error.field == "sql_at"
    assert f"line {row + 2} " in error.message and "out of order" in error.message
    assert "before" in error.message


def test_engaged_before_created_is_out_of_order(raw, tmp_path):
    raw.loc[3, "engaged_at"] = "2023-06-01T00:00:00"
    error = _error(_write(raw, tmp_path))
    assert error.field == "engaged_at" and "line 5 " in error.message


def test_flag_must_agree_with_its_timestamp(raw, tmp_path):
    row = int(np.flatnonzero(raw["mql"].to_numpy() == "true")[0])
    raw.loc[row, "mql_at"] = ""
    error = _error(_write(raw, tmp_path))
    assert error.field == "mql_at" and "mql is true" in error.message and f"line {row + 2} " in error.message


@pytest.mark.parametrize("column, value, words", [
    ("attempts", "two", "whole number"),
    ("attempts", "-1", "whole number"),
    ("company_size", "1.5", "whole number"),
    ("nurtured", "maybe", "true or false"),
    ("amount", "lots", "amount"),
    ("status", "closed_lost", "known status"),
    ("source", "", "empty"),
])
def test_bad_values_are_named(raw, tmp_path, column, value, words):
    raw.loc[2, column] = value
    error = _error(_write(raw, tmp_path))
    assert error.field == column and "line 4 " in error.message and words in error.message


def test_duplicate_lead_id(raw, tmp_path):
    raw.loc[5, "lead_id"] = raw.loc[1, "lead_id"]
    error = _error(_write(raw, tmp_path))
    assert error.field == "lead_id" and "line 7 " in error.message and "more than once" in error.message


def test_unreadable_files(tmp_path):
    assert "not found" in str(_error(tmp_path / "nope.csv"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in str(_error(empty))
    header = tmp_path / "header.csv"
    header.write_text(",".join(COLUMNS) + "\n")
    assert "no leads" in str(_error(header))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(COLUMNS).encode() + b"\n\xe9\xe9\n")
    assert "UTF-8" in str(_error(latin))
    assert "folder" in str(_error(tmp_path))


def test_a_spreadsheet_byte_order_mark_is_ignored(export_csv, tmp_path):
    bom = tmp_path / "excel.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + export_csv.read_bytes())
    assert read_export(bom)["lead_id"].tolist() == read_export(export_csv)["lead_id"].tolist()


def test_an_export_written_before_with_closed_at_still_loads(export_csv, raw, tmp_path):
    old = raw.rename(columns={"resolved_at": "closed_at"})
    frame = read_export(_write(old, tmp_path))
    new = read_export(export_csv)
    assert list(frame.columns) == list(COLUMNS)
    assert frame["resolved_at"].equals(new["resolved_at"])
    # errors name the column as the file does
    old.loc[3, "closed_at"] = "9999-12-31T00:00:00"
    error = _error(_write(old, tmp_path))
    assert error.field == "closed_at" and "line 5 " in error.message
