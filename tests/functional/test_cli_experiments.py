"""The compare, sweep and staff commands: output, JSON, Dask, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from funnelsim.cli import main
from funnelsim.experiments.compare import VERDICTS
from funnelsim.experiments.replicate import replication_seeds


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default result store and output folders land here


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _scenarios(scenarios_dir: Path) -> list[str]:
    return [str(scenarios_dir / "baseline.yaml"), str(scenarios_dir / "five_minute_sla.yaml")]


def _error(capsys, argv: list[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors exit directly
        code = exc.code
    assert code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("funnelsim: error: ")
    return lines[0]


@pytest.mark.parametrize("command", ["compare", "sweep", "staff"])
def test_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: funnelsim {command}" in out and "%%" not in out and "--dask ADDRESS" in out


def test_compare_json(scenarios_dir: Path, capsys, tmp_path: Path) -> None:
    argv = ["compare", *_scenarios(scenarios_dir), "--months", "0.5", "--replications", "3", "--seed", "4",
            "--workers", "1", "--min-effect", "won_deals=2", "--json", "--quiet"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no progress bar
    data = json.loads(captured.out)
    assert data["replications"] == 3 and data["seeds"] == replication_seeds(4, 3) and data["root_seed"] == 4
    assert data["baseline"]["name"] == "baseline" and data["variants"][0]["name"] == "five_minute_sla"
    assert data["computed"] == 6 and data["reused"] == 0
    won = next(row for row in data["table"] if row["kpi"] == "won_deals")
    assert won["min_effect"] == 2.0 and won["verdict"] in VERDICTS
    assert {row["verdict"] for row in data["table"]} <= set(VERDICTS)
    # the default store under ./results/store makes the rerun free
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["computed"], again["reused"]) == (0, 6) and again["table"] == data["table"]
    assert (tmp_path / "results" / "store").is_dir()


def test_compare_text_with_progress_and_precision(scenarios_dir: Path, capsys) -> None:
    argv = ["compare", *_scenarios(scenarios_dir), str(scenarios_dir / "more_reps.yaml"), "--months", "0.5",
            "--precision", "0.5", "--precision-kpi", "sqls", "--max-replications", "12", "--workers", "1",
            "--no-store"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "compare 10 replications" in captured.err  # the tqdm progress bar, on stderr
    out = captured.out
    assert "A = baseline" in out and "B = five_minute_sla" in out and "B = more_reps" in out
    assert "Precision target ±50% of the baseline on sqls: reached after 10 replications." in out
    assert "Holm" in out
    assert "five_minute_sla (B) vs baseline (A)" in out and "Won deals" in out and "Speed-to-lead, median" in out
    assert any(v in out for v in VERDICTS)


def test_compare_on_dask_equals_serial(scenarios_dir: Path, capsys, dask_address: str) -> None:
    common = ["compare", *_scenarios(scenarios_dir), "--months", "0.5", "--replications", "2", "--json",
              "--quiet", "--no-store"]
    assert main([*common, "--workers", "1"]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert main([*common, "--dask", dask_address]) == 0
    distributed = json.loads(capsys.readouterr().out)
    assert distributed == serial


@pytest.mark.parametrize("extra, expected", [
    (["--min-effect", "won_dels=3"], "--min-effect: won_dels: unknown KPI (did you mean won_deals?)"),
    (["--min-effect", "won_deals"], "must look like KPI=VALUE"),
    (["--min-effect", "won_deals=-1"], "--min-effect: won_deals:"),
    (["--precision", "0.1", "--precision-kpi", "revnue"], "--precision-kpi: revnue: unknown KPI"),
    (["--precision-kpi", "revenue"], "only applies together with --precision"),
    (["--replications", "5", "--precision", "0.1"], "not allowed with argument"),
    (["--replications", "1"], "replications: must be a whole number of at least 2"),
    (["--set", "team.repz=3"], "team.repz: unknown field"),
])
def test_compare_bad_input_is_one_line(scenarios_dir: Path, capsys, extra: list[str], expected: str) -> None:
    line = _error(capsys, ["compare", *_scenarios(scenarios_dir), "--no-store", "--workers", "1", *extra])
    assert expected in line


def test_unreachable_dask_is_one_line_in_a_real_process(scenarios_dir: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "funnelsim.cli", "compare", *_scenarios(scenarios_dir),
                             "--dask", "tcp://127.0.0.1:9", "--quiet"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("funnelsim: error: --dask: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert result.stdout == ""


def test_environment_address_is_named_when_unreachable(scenarios_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("FUNNELSIM_DASK_ADDRESS", "tcp://127.0.0.1:9")
    line = _error(capsys, ["compare", *_scenarios(scenarios_dir), "--quiet", "--no-store"])
    assert "FUNNELSIM_DASK_ADDRESS: cannot reach the Dask scheduler at tcp://127.0.0.1:9" in line


def _write_sweep(tmp_path: Path, scenarios_dir: Path, **fields) -> Path:
    data = {"name": "tiny", "base": str(scenarios_dir / "baseline.yaml"), "set": {"months": 0.5},
            "replications": 2, "factors": {"team.reps": [4, 8]}, "kpis": ["won_deals", "sla_compliance"]}
    data.update(fields)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_sweep_writes_tidy_tables(scenarios_dir: Path, capsys, tmp_path: Path) -> None:
    path = _write_sweep(tmp_path, scenarios_dir)
    assert main(["sweep", str(path), "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "tiny: full_factorial, 2 points x 2 replications (4 simulated, 0 reused" in out
    folder = tmp_path / "results" / "sweeps" / "tiny"
    runs = pd.read_parquet(folder / "runs.parquet")
    assert list(runs.columns[:2]) == ["point", "team.reps"] and len(runs) == 2 * 2 * 2
    summary = pd.read_csv(folder / "summary.csv")
    assert set(summary["kpi"]) == {"won_deals", "sla_compliance"} and len(summary) == 4
    facts = json.loads((folder / "sweep.json").read_text())
    assert facts["points"] == 2 and facts["seeds"] == replication_seeds(0, 2)


@pytest.mark.parametrize("fields, expected", [
    ({"design": "sobol"}, "tiny.yaml: design: must be one of full_factorial, latin_hypercube"),
    ({"factors": {"team.reps": [4, -1]}}, "point 1: team.reps=-1): team.reps"),
    ({"kpis": ["wins"]}, "wins: unknown KPI"),
])
def test_malformed_sweep_is_one_line(scenarios_dir: Path, capsys, tmp_path: Path, fields, expected) -> None:
    path = _write_sweep(tmp_path, scenarios_dir, **fields)
    assert expected in _error(capsys, ["sweep", str(path), "--workers", "1"])


def test_staff_json_and_text(scenarios_dir: Path, capsys) -> None:
    argv = ["staff", str(scenarios_dir / "baseline.yaml"), "--months", "0.5", "--target", "sla_compliance >= 45%",
            "--replications", "2", "--max-reps", "8", "--workers", "1", "--quiet"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    reps = data["summary"][0]["reps"]
    # one rep for the baseline's MQLs does not reach 45% (the search has a real answer to find)
    assert data["target"] == "sla_compliance >= 0.45" and 1 < reps <= 8
    by_reps = {row["reps"]: row for row in data["evaluations"]}
    assert by_reps[reps]["met"] and not by_reps[reps - 1]["met"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"\n{reps} reps\n" in out and "sla_compliance >= 0.45" in out


@pytest.mark.parametrize("extra, expected", [
    (["--target", "sla_compliance => 0.9"], "--target: cannot read 'sla_compliance => 0.9'"),
    (["--target", "P(won_deals >= 3) >= 2"], "between 0 and 1"),
    (["--target", "sla >= 0.9"], "--target: sla: unknown KPI"),
    (["--target", "sla_compliance >= 0.9", "--vary", "routing.lead_cap"], "--vary"),
    (["--target", "sla_compliance >= 0.9", "--vary", "routing.lead_cap=300,many"], "--vary: routing.lead_cap:"),
    (["--target", "sla_compliance >= 0.9", "--vary", "team.reps=3,4"], "--vary: team.reps: the search itself"),
    (["--target", "sla_compliance >= 0.9", "--min-reps", "5", "--max-reps", "3"], "--max-reps"),
])
def test_staff_bad_input_is_one_line(scenarios_dir: Path, capsys, extra: list[str], expected: str) -> None:
    line = _error(capsys, ["staff", str(scenarios_dir / "baseline.yaml"), "--no-store", "--workers", "1", *extra])
    assert expected in line
