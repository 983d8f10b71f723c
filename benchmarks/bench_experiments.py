"""Benchmark replications: serial vs the local process pool, and what common random numbers buy.

    python benchmarks/bench_experiments.py [--replications 30] [--months 12] [--workers N]

Runs `--replications` replications of scenarios/baseline.yaml and of
scenarios/five_minute_sla.yaml on the same seeds (one simulated year each by default),
first serially, then on a local process pool (every core unless --workers), and prints
wall seconds, replications per second and the speed-up (cpu s: this process only, so
it is shown for the serial run). Pool time includes starting and
stopping the workers. Both runs must give identical KPIs. Then the variance reduction:
the paired 95% CI half-width of won deals against an independent-seeds comparison with
the same number of replications (variant rerun on seeds n..2n-1, untimed).
The load average before and after says whether other work shared the machine.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from funnelsim import __version__, load_scenario
from funnelsim.experiments.executors import PoolExecutor, SerialExecutor, available_cores
from funnelsim.experiments.replicate import replication_seeds, simulate_many
from funnelsim.stats import paired_comparison, welch_comparison

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def same(a: list[dict[str, float]], b: list[dict[str, float]]) -> bool:
    def equal(x: float, y: float) -> bool:
        return x == y or (math.isnan(x) and math.isnan(y))

    return len(a) == len(b) and all(x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x) for x, y in zip(a, b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=30)
    parser.add_argument("--months", type=float, default=12.0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    overrides = [f"months={args.months:g}"]
    base = load_scenario(SCENARIOS / "baseline.yaml", overrides)
    variant = load_scenario(SCENARIOS / "five_minute_sla.yaml", overrides)
    n = args.replications
    seeds = replication_seeds(args.seed, 2 * n)
    jobs = [(base, s) for s in seeds[:n]] + [(variant, s) for s in seeds[:n]]
    workers = args.workers or available_cores()
    load_before = os.getloadavg()

    print(f"funnelsim {__version__}, Python {platform.python_version()}, {platform.machine()}, "
          f"{available_cores()} cores available")
    print(f"{n} replications x 2 scenarios (baseline, five_minute_sla), {args.months:g} simulated months each")
    print(f"load average before: {load_before[0]:.2f} (1 min), {load_before[1]:.2f} (5 min)")

    wall, cpu = time.perf_counter(), time.process_time()
    serial, _ = simulate_many(jobs, executor=SerialExecutor())
    serial_wall, serial_cpu = time.perf_counter() - wall, time.process_time() - cpu

    wall = time.perf_counter()
    with PoolExecutor(workers) as pool:
        pooled, _ = simulate_many(jobs, executor=pool)
    pool_wall = time.perf_counter() - wall
    load_after = os.getloadavg()
    if not same(serial, pooled):
        raise SystemExit("pool results differ from serial results")

    runs = len(jobs)
    print()
    print(f"{'executor':<24}{'workers':>8}{'wall s':>9}{'cpu s':>9}{'runs/s':>9}{'speed-up':>10}")
    print(f"{'serial':<24}{1:>8}{serial_wall:>9.1f}{serial_cpu:>9.1f}{runs / serial_wall:>9.2f}{1:>10.2f}")
    print(f"{'local pool (forkserver)':<24}{workers:>8}{pool_wall:>9.1f}{'—':>9}{runs / pool_wall:>9.2f}"
          f"{serial_wall / pool_wall:>10.2f}")
    print("pool results identical to serial: yes")
    print(f"load average after: {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min)")

    with PoolExecutor(workers) as pool:
        independent, _ = simulate_many([(variant, s) for s in seeds[n:]], executor=pool)
    a = np.array([f["won_deals"] for f in serial[:n]])
    b = np.array([f["won_deals"] for f in serial[n:]])
    b_other = np.array([f["won_deals"] for f in independent])
    diff, low, high, _ = paired_comparison(a, b)
    diff_i, low_i, high_i, _ = welch_comparison(a, b_other)
    paired_half, indep_half = (high - low) / 2, (high_i - low_i) / 2
    print()
    print(f"Won deals, five_minute_sla - baseline, {n} replications each, 95% CI")
    print(f"{'design':<36}{'difference':>11}{'half-width':>12}")
    print(f"{'paired (common random numbers)':<36}{diff:>11.2f}{paired_half:>12.2f}")
    print(f"{'independent seeds (Welch)':<36}{diff_i:>11.2f}{indep_half:>12.2f}")
    print(f"paired interval {indep_half / paired_half:.1f}x narrower "
          f"(baseline mean {a.mean():.1f}, sd {a.std(ddof=1):.1f}; sd of paired differences {np.std(b - a, ddof=1):.2f})")


if __name__ == "__main__":
    main()
