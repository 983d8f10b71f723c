"""``funnelsim run``: KPI table, JSON, Parquet output, determinism, atomic writes, user errors.

Most tests call ``funnelsim.cli.main`` in-process (fast); the ones about processes —
identical output across runs, the installed console script, a run killed mid-write, the
exact stderr of a failing command — start a real subprocess.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import funnelsim
from funnelsim.cli import main
from funnelsim.metrics import kpi_label, kpis
from funnelsim.model import simulate
from funnelsim.present.format import format_value
from funnelsim.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"
CLI = [sys.executable, "-m", "funnelsim.cli"]
TABLES = ("leads", "events", "backlog", "reps")


def clis(commands: list[list[str]], cwd: Path | None = None, timeout: float = 120, program: list[str] = CLI,
         env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[str]]:
    """Run several `funnelsim` commands at once (each start-up imports the whole package)."""
    procs = [subprocess.Popen([*program, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=cwd or REPO, env=env) for args in commands]
    done = []
    for args, proc in zip(commands, procs):
        out, err = proc.communicate(timeout=timeout)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def same_figure(a: Any, b: Any) -> bool:
    """JSON has null where a KPI is undefined (NaN)."""
    if a is None or b is None:
        return (a is None or (isinstance(a, float) and math.isnan(a))) and (
            b is None or (isinstance(b, float) and math.isnan(b)))
    return a == b


@pytest.fixture(scope="module")
def month_run() -> tuple[Scenario, dict[str, float], pd.DataFrame]:
    """The baseline, one month, seed 3, simulated in-process: what the CLI must report."""
    scenario = load_scenario(BASELINE, ["months=1.0"])
    result = simulate(scenario, 3, record_events=True)
    return scenario, kpis(result), result.leads


# --------------------------------------------------------------------------- the KPI table and JSON


def test_run_prints_the_kpi_table(capsys: pytest.CaptureFixture[str], month_run) -> None:
    scenario, figures, _ = month_run
    code, out, err = run_main(capsys, "run", str(BASELINE), "--months", "1", "--seed", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"baseline  (hash {scenario.hash}, seed 3, 1 months of leads)"
    body = {line.strip().rsplit("  ", 1)[0].strip(): line.strip().rsplit("  ", 1)[1].strip() for line in lines[1:]}
    assert len(body) == len(figures)
    for name, value in figures.items():
        assert body[kpi_label(name)] == format_value(name, value), name
    assert body["Won deals"] == format_value("won_deals", figures["won_deals"])
    assert figures["leads"] > 1000 and figures["won_deals"] > 0  # a real run, not an empty table


def test_run_json_has_the_same_figures(capsys: pytest.CaptureFixture[str], month_run) -> None:
    scenario, figures, leads = month_run
    code, out, _ = run_main(capsys, "run", str(BASELINE), "--months", "1", "--seed", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert {k: data[k] for k in ("scenario", "scenario_hash", "seed", "version")} == {
        "scenario": "baseline", "scenario_hash": scenario.hash, "seed": 3, "version": funnelsim.__version__}
    assert data["kpis"].keys() == figures.keys()
    for name, value in figures.items():
        assert same_figure(data["kpis"][name], value), name
    # speed-to-lead in minutes from engaging: the median over every MQL, a lead never touched counting as
    # not touched (+inf; the lower middle value, no interpolation)
    mql = leads[leads["mql_at"].notna()]
    speed = np.sort(np.where(mql["first_touch_at"].isna(), np.inf, mql["first_touch_at"] - mql["engaged_at"]))
    assert data["kpis"]["speed_to_lead_median"] == pytest.approx(float(speed[(len(speed) + 1) // 2 - 1]))
    assert data["kpis"]["speed_to_lead_median"] > 60  # the table shows it in hours; JSON keeps minutes
    touched = speed[np.isfinite(speed)]
    assert data["kpis"]["speed_to_lead_mean_touched"] == pytest.approx(float(touched.mean()))


def test_set_overrides_reach_the_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "run", str(BASELINE), "--months", "0.25", "--set", "team.reps=6", "--json")
    assert code == 0
    more_reps = load_scenario(SCENARIOS / "more_reps.yaml", ["months=0.25"])
    assert more_reps.team.reps == 6 and more_reps.hash != load_scenario(BASELINE, ["months=0.25"]).hash
    assert json.loads(out)["scenario_hash"] == more_reps.hash


def test_same_seed_same_output_across_processes(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(BASELINE), "--months", "0.5", "--seed", "11"]
    first = clis([args], env={**os.environ, "PYTHONHASHSEED": "987"})[0]  # another process, other str hashes
    assert first.returncode == 0 and "Won deals" in first.stdout
    assert f"(hash {load_scenario(BASELINE, ['months=0.5']).hash}, seed 11," in first.stdout
    assert run_main(capsys, *args)[1] == first.stdout
    assert run_main(capsys, *args)[1] == first.stdout
    code, other_seed, _ = run_main(capsys, *args[:-1], "12")
    assert code == 0 and other_seed != first.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"funnelsim {funnelsim.__version__}"


# --------------------------------------------------------------------------- --out


def test_out_writes_parquet_tables_and_kpis(tmp_path: Path, capsys: pytest.CaptureFixture[str], month_run) -> None:
    scenario, figures, leads = month_run
    out_dir = tmp_path / "results"
    code, out, _ = run_main(capsys, "run", str(BASELINE), "--months", "1", "--seed", "3", "--out", str(out_dir))
    assert code == 0 and f"Tables written to {out_dir}" in out
    names = {p.name for p in out_dir.iterdir()}
    assert {f"{t}.parquet" for t in TABLES} | {"kpis.json"} <= names
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    for table in TABLES:
        meta = pq.read_schema(out_dir / f"{table}.parquet").metadata
        assert meta[b"funnelsim.scenario_hash"] == scenario.hash.encode()
        assert meta[b"funnelsim.seed"] == b"3"
        assert meta[b"funnelsim.version"] == funnelsim.__version__.encode()
        assert pq.read_table(out_dir / f"{table}.parquet").num_rows > 0
    pd.testing.assert_frame_equal(pd.read_parquet(out_dir / "leads.parquet"), leads.reset_index(drop=True),
                                  check_dtype=False)
    events = pd.read_parquet(out_dir / "events.parquet")
    assert (events["event"] == "created").sum() == len(leads)
    saved = json.loads((out_dir / "kpis.json").read_text())
    assert (saved["scenario_hash"], saved["seed"], saved["version"]) == (scenario.hash, 3, funnelsim.__version__)
    for name, value in figures.items():
        assert same_figure(saved["kpis"][name], value), name


def test_out_replaces_an_earlier_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for seed in ("1", "2"):
        assert run_main(capsys, "run", str(BASELINE), "--months", "0.25", "--seed", seed, "--out", str(tmp_path))[0] == 0
    assert json.loads((tmp_path / "kpis.json").read_text())["seed"] == 2
    assert pq.read_schema(tmp_path / "leads.parquet").metadata[b"funnelsim.seed"] == b"2"
    assert not list(tmp_path.glob(".*"))


# a `funnelsim run` whose Parquet writer stalls halfway through the events table, so the test
# can kill it at a known point of a write
STALLING_RUN = """
import sys, time
import pyarrow.parquet as pq
real_write = pq.write_table
def stalling_write(table, where, *args, **kwargs):
    if "events" in str(where):
        real_write(table.slice(0, table.num_rows // 2), where, *args, **kwargs)
        print("HALF-WRITTEN", where, flush=True)
        time.sleep(120)
    real_write(table, where, *args, **kwargs)
pq.write_table = stalling_write
from funnelsim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def start_stalling_run(out_dir: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", STALLING_RUN, "run", str(BASELINE), "--months", "0.5",
                             "--out", str(out_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # blocks until the writer stalls (or the process ends)
    assert line.startswith("HALF-WRITTEN"), (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, line.split(" ", 1)[1].strip()


def test_killed_mid_write_leaves_the_earlier_run_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    assert run_main(capsys, "run", str(BASELINE), "--months", "0.25", "--seed", "1", "--out", str(out_dir))[0] == 0
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    proc, partial = start_stalling_run(out_dir)
    # the new run writes into a hidden sibling folder, never into the earlier run's folder
    assert Path(partial).exists() and Path(partial).name.startswith(".events.parquet.")
    assert Path(partial).parent.parent == tmp_path and Path(partial).parent.name.startswith(".out.")
    proc.kill()
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before  # the earlier run, whole
    assert json.loads((out_dir / "kpis.json").read_text())["seed"] == 1
    assert all(p.name.endswith(".tmp") for p in tmp_path.iterdir() if p.name.startswith("."))


def test_interrupted_mid_write_cleans_up(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    proc, partial = start_stalling_run(out_dir)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert proc.stderr.read().strip().splitlines() == ["funnelsim: interrupted"]
    assert not Path(partial).exists()
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary sibling


# --------------------------------------------------------------------------- user errors


BAD = {
    # name: (file text or None for a missing file, words in the one line of stderr)
    "unknown_field": ("extends: {base}\nteam: {{repz: 3}}\n", ["unknown_field.yaml", "team.repz", "unknown field"]),
    "wrong_type": ("team: {{reps: ten}}\n", ["wrong_type.yaml", "team.reps", "integer"]),
    "negative_reps": ("team: {{reps: -1}}\n", ["negative_reps.yaml", "team.reps", "greater than or equal to 0"]),
    "probability": ("demo: {{no_show_probability: 1.5}}\n", ["probability.yaml", "demo.no_show_probability"]),
    "missing_extends": ("extends: nowhere.yaml\n", ["missing_extends.yaml", "extends", "not found"]),
    "yaml_syntax": ("team: [1,\n", ["yaml_syntax.yaml", "YAML syntax error at line"]),
    "cycle": ("extends: cycle.yaml\n", ["cycle.yaml", "extends", "cycle in extends"]),
    "non_mapping": ("- a\n- b\n", ["non_mapping.yaml", "mapping"]),
    "empty": ("", ["empty.yaml", "empty"]),
    "python_tag": ("team: !!python/object/apply:os.getcwd []\n", ["python_tag.yaml", "python/object"]),
    "missing_file": (None, ["missing_file.yaml", "file not found"]),
}


def bad_file(folder: Path, case: str) -> Path:
    text, _ = BAD[case]
    path = folder / f"{case}.yaml"
    if text is not None:
        path.write_text(text.format(base=BASELINE), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_scenario_one_line_exit_2_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 case: str) -> None:
    code, out, err = run_main(capsys, "run", str(bad_file(tmp_path, case)), "--months", "0.1")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("funnelsim: error: "), err
    for words in BAD[case][1]:
        assert words in lines[0]
    assert "Traceback" not in err


def test_bad_input_one_line_exit_2_from_the_installed_command(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "funnelsim"
    assert script.exists(), "the package installs a `funnelsim` console script"
    cases = ["unknown_field"]  # every case is also run in-process above; a process start-up costs seconds
    commands = [["run", str(bad_file(tmp_path, case))] for case in cases]
    words = [BAD[case][1] for case in cases]
    for done, expected in zip(clis(commands, cwd=tmp_path, program=[str(script)]), words):
        assert done.returncode == 2, done
        assert done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("funnelsim: error: "), done.stderr
        assert all(w in lines[0] for w in expected), (lines[0], expected)
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["--set", "team.repz=3"], ["--set", "team.repz", "unknown field"]),
    (["--set", "sources.9.leads_per_month=5"], ["--set", "sources.9", "no item"]),
    (["--set", "team.reps"], ["--set", "field.path=value"]),
    (["--set", "follow_up.answer_probability=2"], ["--set", "follow_up.answer_probability"]),
])
def test_bad_override_one_line_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], words: list[str]) -> None:
    code, out, err = run_main(capsys, "run", str(BASELINE), "--months", "0.1", *args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and all(w in err for w in words), err


@pytest.mark.parametrize(("args", "words"), [
    (["--seed", "-1"], "--seed"),
    (["--seed", "abc"], "--seed"),
    (["--months", "0"], "--months"),
    (["--months", "nan"], "--months"),
    (["--bogus"], "--bogus"),
    ([], "scenario"),
])
def test_bad_options_one_line_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    scenario = [str(BASELINE)] if args else []
    with pytest.raises(SystemExit) as info:
        main(["run", *scenario, *args])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and words in err and "Traceback" not in err


def test_folder_given_as_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "run", str(tmp_path))
    assert code == 2 and len(err.splitlines()) == 1 and str(tmp_path) in err


def test_scenario_path_relative_to_the_working_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine.yaml").write_text(f"extends: {BASELINE}\nname: mine\nteam: {{reps: 6}}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(capsys, "run", "mine.yaml", "--months", "0.1", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["scenario"] == "mine"
    assert data["scenario_hash"] == load_scenario(BASELINE, ["team.reps=6", "months=0.1"]).hash
