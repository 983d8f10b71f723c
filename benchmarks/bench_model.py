"""Benchmark the funnel model against bare SimPy, measured in the same run.

    python benchmarks/bench_model.py [--years 1 2 5 10] [--repeat 3]

Prints: one simulated year of the baseline (leads/s, events/s, seconds), a bare-SimPy
loop of the same number of timeouts (events/s), the ratio between them, and how run
time grows from 1 to 10 simulated years (it should be linear: seconds per year flat).
Times are the best of --repeat runs, in CPU seconds of this process (robust to other
load on the machine) and wall seconds.
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc
from pathlib import Path

import simpy

from funnelsim import __version__, load_scenario
from funnelsim.model import FunnelModel
from timing import timed  # benchmarks/timing.py

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


class CountingEnvironment(simpy.Environment):
    """Counts the events a run schedules (used in an untimed run: counting costs a little)."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled = 0

    def schedule(self, event, priority=simpy.events.NORMAL, delay=0) -> None:  # noqa: ANN001
        self.scheduled += 1
        super().schedule(event, priority, delay)


def count_events(years: float, seed: int = 1) -> int:
    model = FunnelModel(load_scenario(BASELINE, [f"months={12 * years}"]), seed, record_events=False)
    model.env = CountingEnvironment()  # before run(): every process and timeout is made in run()
    model.run()
    return model.env.scheduled


def run_model(years: float, seed: int = 1):
    model = FunnelModel(load_scenario(BASELINE, [f"months={12 * years}"]), seed, record_events=False)
    result = model.run()
    return len(result.leads), None


def bare_simpy(events: int) -> int:
    env = simpy.Environment()

    def loop(env: simpy.Environment, n: int):
        for _ in range(n):
            yield env.timeout(1.0)

    env.process(loop(env, events))
    env.run()
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"funnelsim {__version__}, simpy {simpy.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}")
    cpu, wall, (leads, _) = timed(lambda: run_model(1.0), args.repeat)
    events = count_events(1.0)
    bare_cpu, bare_wall, _ = timed(lambda: bare_simpy(events), args.repeat)
    print("\nOne simulated year of scenarios/baseline.yaml")
    print(f"{'run':<28}{'leads':>9}{'events':>10}{'cpu s':>8}{'wall s':>8}{'leads/s':>10}{'events/s':>11}")
    print(f"{'funnelsim baseline':<28}{leads:>9,}{events:>10,}{cpu:>8.2f}{wall:>8.2f}{leads / cpu:>10,.0f}"
          f"{events / cpu:>11,.0f}")
    print(f"{'bare SimPy timeout loop':<28}{'':>9}{events:>10,}{bare_cpu:>8.2f}{bare_wall:>8.2f}{'':>10}"
          f"{events / bare_cpu:>11,.0f}")
    print(f"funnelsim costs {cpu / bare_cpu:.1f}x a bare SimPy loop of the same number of events")

    tracemalloc.start()
    run_model(1.0)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory of one simulated year (tracemalloc): {peak / 2**20:.1f} MiB, "
          f"{peak / leads:,.0f} bytes per lead (target < 2,048)")

    from funnelsim.present.widgets import WhatIfPanel

    panel = WhatIfPanel(BASELINE)
    updates = []
    for reps in (6, 10, 4, 8, 12):
        cpu_before = time.process_time()
        panel.reps.value = reps
        updates.append((time.process_time() - cpu_before, panel.last_seconds))
    updates.sort()
    median_cpu, median_wall = updates[len(updates) // 2]
    print(f"\nWhat-if panel update ({panel.replications} replications x {panel.months:g} month, "
          f"simulate + redraw), median of {len(updates)}: {median_cpu:.2f} cpu s, {median_wall:.2f} wall s "
          f"(target < 2 s)")

    print("\nScaling with simulated time")
    print(f"{'years':>6}{'leads':>10}{'events':>11}{'cpu s':>8}{'cpu s / year':>14}{'vs 1 year':>13}")
    one_year = None
    for years in args.years:
        cpu, _, (leads, _) = timed(lambda y=years: run_model(y), args.repeat)
        events = count_events(years)
        one_year = cpu if years == 1 else one_year
        ratio = f"{cpu / one_year:>12.1f}x" if one_year else ""
        print(f"{years:>6g}{leads:>10,}{events:>11,}{cpu:>8.2f}{cpu / years:>14.2f}{ratio}")


if __name__ == "__main__":
    main()
