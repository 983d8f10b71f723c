"""Benchmark calibration: read, check and calibrate a synthetic CRM export of ~100,000 leads.

    python benchmarks/bench_calibrate.py [--leads 100000] [--repeat 3] [--export PATH]

Writes (once, not timed) an export of `scenarios/baseline.yaml` long enough to hold
--leads leads, then times each step of `funnelsim calibrate`: reading and checking the
CSV, fitting every parameter, writing the calibrated YAML. Times are the best of
--repeat runs, in CPU seconds of this process (robust to other load on the machine)
and wall seconds. The target: the whole calibration under 30 s.
"""

from __future__ import annotations

import argparse
import math
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from funnelsim import __version__, load_scenario, simulate
from funnelsim.crm.calibrate import calibrate, write_calibrated
from funnelsim.crm.export import write_export
from funnelsim.crm.read import read_export
from timing import timed  # benchmarks/timing.py

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def command(export: Path, out: Path) -> float:
    """CPU seconds of `funnelsim calibrate` in a fresh process (imports included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "funnelsim.cli", "calibrate", str(export), "--base", str(BASELINE),
                    "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def make_export(path: Path, leads: int, seed: int = 1) -> int:
    base = load_scenario(BASELINE)
    per_month = sum(s.leads_per_month for s in base.sources)
    months = math.ceil(leads / per_month * 100) / 100
    result = simulate(base.with_overrides([f"months={months}"]), seed, record_events=False)
    write_export(result, path)
    return len(result.leads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--export", type=Path, default=None, help="reuse (or create) this export")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        export = args.export or Path(tmp) / "leads.csv"
        if not export.exists():
            started = time.perf_counter()
            n = make_export(export, args.leads)
            print(f"(wrote {export.name}: {n:,} leads in {time.perf_counter() - started:.1f} s, not timed)")
        base = load_scenario(BASELINE)
        out = Path(tmp) / "calibrated.yaml"
        read_cpu, read_wall, frame = timed(lambda: read_export(export), args.repeat)
        fit_cpu, fit_wall, calibration = timed(lambda: calibrate(frame, base, str(export)), args.repeat)
        write_cpu, write_wall, _ = timed(lambda: write_calibrated(calibration, out, BASELINE), args.repeat)
        runs = [timed(lambda: command(export, out), 1) for _ in range(args.repeat)]
        cli_wall, cli_cpu = min(r[1] for r in runs), min(r[2] for r in runs)
        size_mb = export.stat().st_size / 1e6

    print(f"funnelsim {__version__}, Python {platform.python_version()}, {platform.machine()}")
    print(f"\nCalibrating a CRM export of {len(frame):,} leads ({size_mb:.1f} MB, "
          f"{calibration.scenario.months:.1f} months of scenarios/baseline.yaml)")
    print(f"{'step':<34}{'cpu s':>8}{'wall s':>8}")
    rows = [("read and check the CSV", read_cpu, read_wall), ("fit every parameter", fit_cpu, fit_wall),
            ("write and reload the scenario YAML", write_cpu, write_wall)]
    for name, cpu, wall in rows:
        print(f"{name:<34}{cpu:>8.2f}{wall:>8.2f}")
    total_cpu, total_wall = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'total (target < 30 s)':<34}{total_cpu:>8.2f}{total_wall:>8.2f}")
    print(f"{'funnelsim calibrate, new process':<34}{cli_cpu:>8.2f}{cli_wall:>8.2f}   (imports and printing included)")
    print(f"{len(frame) / max(1e-9, total_wall):,.0f} leads per wall second")


if __name__ == "__main__":
    main()
