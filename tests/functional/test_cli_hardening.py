"""Issue 9 end to end: every hostile input and failed write is one line, exit 2, nothing half-written.

Most cases call ``funnelsim.cli.main`` in-process; the ones about processes (a ``kill -9``
of a sweep, a FIFO that would block a reader) start real subprocesses. Every error line
is checked to be the project's own (``funnelsim: error: ...``), never the last line of
defence (``funnelsim: internal error``).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from funnelsim import cli
from funnelsim.cli import main

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "scenarios" / "baseline.yaml"


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI; it must fail with exit 2 and one line of the project's own error."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("funnelsim: error: "), err
    assert "internal error" not in err and "Traceback" not in err and "\x1b" not in err
    return err[len("funnelsim: error: "):]


@pytest.fixture(scope="module")
def export_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli-hardening") / "leads.csv"
    assert main(["export", str(BASELINE), "--months", "1", "-o", str(path)]) == 0
    return path


@pytest.fixture()
def blocker(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


# ------------------------------------------------------------------ 1. writes


def test_every_command_checks_its_destination_first(capsys, tmp_path: Path, blocker: Path, export_csv: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"name": "w", "base": str(BASELINE), "set": {"months": 0.1},
                                     "replications": 1, "factors": {"team.reps": [3]}}))
    started = time.monotonic()
    under = blocker / "out"
    assert fails(capsys, "run", BASELINE, "--months", "0.1", "--out", under) == \
        f"--out: {blocker} exists and is not a folder"
    assert fails(capsys, "export", BASELINE, "--months", "0.1", "-o", under / "x.csv") == \
        f"--out: {under / 'x.csv'}: part of the path is a file, not a folder"
    assert fails(capsys, "export", BASELINE, "--months", "0.1", "-o", tmp_path) == \
        f"--out: {tmp_path} is a folder; give a file name such as {tmp_path / 'out'}"
    assert "--out: " in fails(capsys, "calibrate", export_csv, "-o", under / "c.yaml")
    assert "longer than 255 bytes" in fails(capsys, "score", "train", export_csv, "-o",
                                            tmp_path / ("m" * 300 + ".skops"))
    assert fails(capsys, "sweep", sweep, "--workers", "1", "--no-store", "--out", under).startswith("--out: ")
    assert fails(capsys, "compare", BASELINE, BASELINE, "--months", "0.1", "--replications", "2", "--workers",
                 "1", "--store", blocker) == f"--store: {blocker} exists and is not a folder"
    assert fails(capsys, "sweep", sweep, "--workers", "1", "--store", blocker, "--out", tmp_path / "o") == \
        f"--store: {blocker} exists and is not a folder"
    assert "cannot write there" in fails(capsys, "report", BASELINE, BASELINE, "--months", "0.1",
                                          "-o", "/proc/self/report.html")
    assert time.monotonic() - started < 30  # nothing was simulated, no notebook ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "sweep.yaml"]


def test_run_out_refuses_a_folder_of_other_files(capsys, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert "holds other files ('notes.txt'...)" in fails(capsys, "run", BASELINE, "--months", "0.1", "--out",
                                                         tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ------------------------------------------------------------------ 2. paths


def test_hostile_paths_on_the_command_line(capsys, tmp_path: Path, export_csv: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert fails(capsys, "run", loop) == f"{loop}: cannot read: a loop of symbolic links"
    assert fails(capsys, "run", fifo) == f"{fifo}: cannot read: a FIFO (named pipe), not a regular file"
    assert fails(capsys, "sweep", "/dev/zero") == "/dev/zero: cannot read: a character device, not a regular file"
    assert fails(capsys, "calibrate", fifo) == f"{fifo}: cannot read: a FIFO (named pipe), not a regular file"
    assert fails(capsys, "calibrate", export_csv, "--base", loop) == f"{loop}: cannot read: a loop of symbolic links"
    assert fails(capsys, "score", "evaluate", "/dev/zero", export_csv).startswith("/dev/zero: cannot read")


# ------------------------------------------------------------------ 3. sweep files


def test_sweep_name_cannot_escape_before_any_simulation(capsys, tmp_path: Path) -> None:
    for name in ("../../escape", "/tmp/abs", "n" * 300):
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump({"name": name, "base": str(BASELINE), "factors": {"team.reps": [3]}}))
        assert fails(capsys, "sweep", path, "--workers", "1", "--no-store").startswith(f"{path}: name: ")
    path.write_text('name: "a\\0b"\nbase: x\nfactors: {team.reps: [3]}\n')
    assert fails(capsys, "sweep", path).startswith(f"{path}: name: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


# ------------------------------------------------------------------ 4. sizes and numbers


@pytest.mark.parametrize("args, fragment", [
    (["--months", "1e308"], "months: horizon: 1e+308 months is above the limit of 120 months"),
    (["--months", "1e15"], "months: horizon: 1e+15 months is above the limit of 120 months"),
    (["--set", "sources.0.leads_per_month=1e20"], "sources: expected leads per simulation"),
    (["--set", "follow_up.ageing_days=1e-9"], "follow_up.ageing_days: must be at least 0.0417 days"),
])
def test_sizes_refused_before_any_work(capsys, args: list[str], fragment: str) -> None:
    started = time.monotonic()
    assert fragment in fails(capsys, "run", BASELINE, *args)
    assert time.monotonic() - started < 5


def test_limit_option_raises_a_limit_for_one_command(capsys) -> None:
    assert "limit of 1" in fails(capsys, "--limit", "months=1", "run", BASELINE, "--months", "2")
    assert "ceiling" in fails(capsys, "--limit", "months=1e9", "run", BASELINE)
    assert "FUNNELSIM_MAX_MONTHS" not in os.environ
    assert "replications per scenario or sweep point: 5,000 is above the limit of 1,000" in fails(
        capsys, "compare", BASELINE, BASELINE, "--replications", "5000")


def test_alias_bomb_is_refused_at_once(capsys, tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{n}: &{n} [" + ", ".join([f"*{p}"] * 9) + "]" for p, n in zip("abcdefgh", "bcdefghi")]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    assert "aliases are expanded" in fails(capsys, "run", path)
    assert "aliases are expanded" in fails(capsys, "sweep", path)
    assert time.monotonic() - started < 2


# ------------------------------------------------------------------ 5. CRM exports


def test_crm_csv_problems_name_file_line_and_field(capsys, tmp_path: Path, export_csv: Path) -> None:
    rows = list(csv.reader(export_csv.open()))
    header = rows[0]

    def damaged(column: str, value: str) -> Path:
        copy = [list(r) for r in rows]
        copy[2][header.index(column)] = value
        path = tmp_path / f"{column}.csv"
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows(copy)
        return path

    out = tmp_path / "cal.yaml"
    path = damaged("created_at", "1600-01-01T00:00:00")
    assert fails(capsys, "calibrate", path, "-o", out).startswith(f"{path}: created_at: line 3 ")
    assert fails(capsys, "score", "train", damaged("resolved_at", "2263-01-01T00:00:00"), "-o",
                 tmp_path / "m.skops").startswith(f"{tmp_path / 'resolved_at.csv'}: resolved_at: line 3 ")
    path = damaged("company_size", "9" * 29)
    assert "company_size: line 3" in fails(capsys, "calibrate", path) and path.name in fails(capsys, "calibrate",
                                                                                             path)
    path = damaged("source", "web\x00form")
    assert fails(capsys, "calibrate", path, "-o", out) == f"{path}: source: line 3: a NUL byte in the field"
    assert not out.exists()
    assert "outside the years an export may hold" in fails(capsys, "export", BASELINE, "--start", "9999-12-27",
                                                           "-o", tmp_path / "late.csv")
    assert "runs past 2200-01-01" in fails(capsys, "export", BASELINE, "--start", "2196-01-04",
                                           "-o", tmp_path / "late.csv")
    assert not (tmp_path / "late.csv").exists()


# ------------------------------------------------------------------ 7. formula injection


def test_export_neutralises_formula_cells_and_calibrate_reads_them_back(capsys, tmp_path: Path) -> None:
    scenario = tmp_path / "hostile.yaml"
    scenario.write_text(f"extends: {BASELINE}\nmonths: 1\nsources:\n"
                        "  - {name: \"=cmd|' /C calc'!A0\", leads_per_month: 900}\n"
                        "  - {name: \"+1+1\", leads_per_month: 500}\n"
                        "  - {name: \"@SUM(A1)\", leads_per_month: 400}\n"
                        "leads:\n  personas:\n    - {name: \"-2+3\", share: 1}\n")
    out = tmp_path / "leads.csv"
    assert main(["export", str(scenario), "-o", str(out)]) == 0
    capsys.readouterr()
    cells = {cell for row in csv.reader(out.open()) for cell in row}
    assert {"'=cmd|' /C calc'!A0", "'+1+1", "'@SUM(A1)", "'-2+3"} <= cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    from funnelsim.crm import read_export

    frame = read_export(out)
    assert set(frame["source"]) == {"=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)"}
    assert set(frame["persona"]) == {"-2+3", "unknown"}


# ------------------------------------------------------------------ 8. processes


def test_pool_workers_exit_when_the_sweep_is_killed(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(yaml.safe_dump({"name": "k", "base": str(BASELINE), "set": {"months": 3},
                                     "replications": 4, "factors": {"team.reps": [3, 4, 5, 6]}}))
    proc = subprocess.Popen([sys.executable, "-m", "funnelsim.cli", "sweep", str(sweep), "--workers", "2",
                             "--no-store", "--quiet", "--out", str(tmp_path / "out")], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        children: list[psutil.Process] = []
        while time.monotonic() < deadline and proc.poll() is None:
            children = psutil.Process(proc.pid).children(recursive=True)
            if len(children) >= 4:  # resource tracker, forkserver, two workers
                break
            time.sleep(0.1)
        assert len(children) >= 4, "the pool did not start"
        time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()
    assert not alive, [" ".join(c.cmdline())[:80] for c in alive]
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ 9. loose acceptance


def test_loose_values_are_refused(capsys, tmp_path: Path) -> None:
    assert fails(capsys, "run", BASELINE, "--set", "team.reps=true").endswith(
        "team.reps: expected a number or text, got a boolean (true/false)")
    assert fails(capsys, "staff", BASELINE, "--target", "sla_compliance >= 1e999") == \
        "--target: '1e999' is not a finite number"
    path = tmp_path / "ansi.yaml"
    path.write_text(f'extends: {BASELINE}\nname: "\\e[31mred"\n')
    assert "control character '\\x1b'" in fails(capsys, "run", path)
    path.write_text(f"extends: {BASELINE}\nteam: {{reps: 4}}\nteam: {{reps: 9}}\n")
    assert "duplicate key 'team' (first at line 2)" in fails(capsys, "run", path)
    assert "at most 3" in fails(capsys, "run", BASELINE, "--set", "opportunities.deal_value_sigma=40")


# ------------------------------------------------------------------ the last line of defence


def test_an_unexpected_error_is_one_line_exit_1_and_debug_shows_it(capsys, monkeypatch) -> None:
    def broken(args):
        raise ZeroDivisionError("division by zero\nsecond line")

    import funnelsim.commands.run as run_command

    monkeypatch.setattr(run_command, "run", broken)
    assert main(["run", str(BASELINE)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("funnelsim: internal error: ZeroDivisionError: division by zero (a bug; rerun with --debug "
                   "for the traceback)")
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "run", str(BASELINE)])
    assert cli.COMMANDS[0] == "run"
