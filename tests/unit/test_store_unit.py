"""Unit tests of the result store: keys, round trips, versions, damaged and half-written files."""

from __future__ import annotations

import math
from pathlib import Path

from funnelsim import __version__
from funnelsim.experiments.store import ResultStore, code_digest, package_version


def test_round_trip_keeps_order_and_nan(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    figures = {"won_deals": 12.0, "cost_per_acquisition": math.nan, "leads": 4000.0}
    path = store.put("abc123", 42, figures, "baseline")
    assert path == tmp_path / f"v{__version__}-{code_digest()}" / "abc123" / "42.parquet"
    assert store.folder == path.parent.parent
    got = store.get("abc123", 42)
    assert list(got) == list(figures)
    assert got["won_deals"] == 12.0 and math.isnan(got["cost_per_acquisition"])
    assert ("abc123", 42) in store and ("abc123", 43) not in store
    assert store.keys() == [("abc123", 42)] and len(store) == 1


def test_missing_entries_and_other_versions_are_absent(tmp_path: Path) -> None:
    old = ResultStore(tmp_path, version="0.0.1")
    old.put("abc123", 1, {"won_deals": 1.0})
    new = ResultStore(tmp_path)
    assert new.version == package_version() == __version__
    assert new.get("abc123", 1) is None
    assert old.get("abc123", 1) == {"won_deals": 1.0}
    assert new.get("nope", 1) is None
    edited = ResultStore(tmp_path, code="0123456789")  # same version, other code: nothing reused
    new.put("abc123", 1, {"won_deals": 2.0})
    assert edited.get("abc123", 1) is None and new.get("abc123", 1) == {"won_deals": 2.0}


def test_damaged_file_is_not_trusted(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    path = store.put("h", 7, {"won_deals": 3.0})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # what a non-atomic writer killed mid-write would leave
    assert store.get("h", 7) is None
    store.put("h", 7, {"won_deals": 4.0})
    assert store.get("h", 7) == {"won_deals": 4.0}


def test_temporary_files_are_ignored(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    store.put("h", 1, {"won_deals": 1.0})
    folder = store.path("h", 2).parent
    (folder / ".2.parquet.abcd.tmp").write_bytes(b"half a file")
    assert store.keys() == [("h", 1)]
    assert store.get("h", 2) is None
    frame = store.frame()
    assert list(frame.columns) == ["scenario_hash", "seed", "kpi", "value"]
    assert frame.to_dict(orient="records") == [{"scenario_hash": "h", "seed": 1, "kpi": "won_deals", "value": 1.0}]


def test_put_replaces_atomically_without_leftovers(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    store.put("h", 1, {"won_deals": 1.0})
    store.put("h", 1, {"won_deals": 2.0})
    assert store.get("h", 1) == {"won_deals": 2.0}
    assert [p.name for p in store.path("h", 1).parent.iterdir()] == ["1.parquet"]
