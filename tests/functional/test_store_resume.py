"""The result store: reruns reuse replications; a sweep killed halfway computes only what is missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from funnelsim.experiments.executors import SerialExecutor
from funnelsim.experiments.compare import compare
from funnelsim.experiments.replicate import replicate
from funnelsim.scenario import Scenario, load_scenario
from funnelsim.experiments.store import ResultStore
from funnelsim.experiments.sweep import load_sweep, run_sweep


def test_rerun_reuses_everything_and_gives_the_same_answer(short_baseline: Scenario, scenarios_dir: Path,
                                                           tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store")
    variant = load_scenario(scenarios_dir / "five_minute_sla.yaml", ["months=1"])
    first = compare(short_baseline, variant, replications=3, executor=SerialExecutor(), store=store)
    assert (first.computed, first.reused) == (6, 0) and len(store) == 6
    again = compare(short_baseline, variant, replications=4, executor=SerialExecutor(), store=store)
    assert (again.computed, again.reused) == (2, 6)  # only the fourth replication of each runs
    pd.testing.assert_frame_equal(again.runs[again.runs["replication"] < 3].reset_index(drop=True), first.runs)
    # the same scenario under another name is the same content hash: reused too
    renamed = replicate(short_baseline.with_overrides({"name": "renamed"}), replications=4, store=store,
                        executor=SerialExecutor())
    assert renamed.attrs == {"computed": 0, "reused": 4}


def test_damaged_entry_is_recomputed(short_baseline: Scenario, tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "store")
    clean = replicate(short_baseline, replications=2, seed=3, executor=SerialExecutor(), store=store)
    path = store.path(short_baseline.hash, int(clean["seed"].iloc[0]))
    path.write_bytes(path.read_bytes()[:100])
    again = replicate(short_baseline, replications=2, seed=3, executor=SerialExecutor(), store=store)
    assert again.attrs == {"computed": 1, "reused": 1}
    pd.testing.assert_frame_equal(again, clean)
    assert store.get(short_baseline.hash, int(clean["seed"].iloc[0])) is not None


def _sweep_file(tmp_path: Path, scenarios_dir: Path) -> Path:
    path = tmp_path / "killme.yaml"
    path.write_text(yaml.safe_dump({
        "name": "killme", "base": str(scenarios_dir / "baseline.yaml"), "set": {"months": 1},
        "replications": 1, "seed": 2, "kpis": ["won_deals", "sla_compliance"],
        "factors": {"team.reps": [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]},
    }))
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "funnelsim.cli", *args]


def test_sweep_killed_halfway_resumes_with_only_the_missing_points(tmp_path: Path, scenarios_dir: Path) -> None:
    sweep_path = _sweep_file(tmp_path, scenarios_dir)
    store_dir = tmp_path / "store"
    store = ResultStore(store_dir)
    args = _cli("sweep", str(sweep_path), "--workers", "1", "--store", str(store_dir), "--out",
                str(tmp_path / "out"), "--quiet", "--json")
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(store) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # a real kill: no cleanup, no atexit
    finally:
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    done = len(store)
    assert 3 <= done < 10
    assert not (tmp_path / "out" / "runs.parquet").exists()
    # whatever the kill interrupted, every file the store lists is complete and readable
    assert all(store.get(*key) is not None for key in store.keys())

    rerun = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    facts = json.loads(rerun.stdout)
    assert (facts["computed"], facts["reused"]) == (10 - done, done)
    assert len(store) == 10

    resumed = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    fresh = run_sweep(load_sweep(sweep_path), executor=SerialExecutor())
    pd.testing.assert_frame_equal(resumed.reset_index(drop=True), fresh.reset_index(drop=True))
