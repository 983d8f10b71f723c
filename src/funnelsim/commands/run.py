"""``funnelsim run``: simulate one scenario once and print its KPIs (or write its tables)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._version import __version__
from ..atomic import atomic_folder, check_folder_target, write_json, write_parquet
from ..metrics import funnel_table, kpis, leak_table
from ..simulation import simulate
from ..present.terminal import kpi_text
from .options import add_scenario_options, non_negative_int, print_json, scenario_from_args

TABLES = ("leads", "events", "backlog", "reps", "funnel", "leaks")
#: every file `run --out` writes: the folder is replaced as a whole only if it holds nothing else
OUTPUTS = (*(f"{name}.parquet" for name in TABLES), "kpis.json")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="simulate one scenario and print its KPI table",
                       description="Simulate one scenario once and print its KPI table.")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    add_scenario_options(p)
    p.add_argument("--out", type=Path, default=None, help="folder for Parquet tables (leads, events, backlog, reps)")
    p.add_argument("--json", action="store_true", help="print the KPIs as JSON instead of a table")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    scenario = scenario_from_args(args.scenario, args)
    if args.out is not None:  # before simulating: the folder must be ours to replace, its parent writable
        check_folder_target(args.out, "--out", OUTPUTS)
    result = simulate(scenario, args.seed, record_events=args.out is not None)
    figures = kpis(result)
    meta = {"scenario": scenario.name, "scenario_hash": scenario.hash, "seed": args.seed, "version": __version__}
    if args.out is not None:
        tables = dict(zip(TABLES, (result.leads, result.events, result.backlog, result.reps, funnel_table(result),
                                   leak_table(result))))
        with atomic_folder(args.out) as out:  # the whole folder, or nothing: never files of two runs
            for name, frame in tables.items():
                write_parquet(out / f"{name}.parquet", frame, meta)
            write_json(out / "kpis.json", {**meta, "kpis": figures})
    if args.json:
        print_json({**meta, "kpis": figures})
    else:
        print(kpi_text(scenario, args.seed, figures))
        if args.out is not None:
            print(f"\nTables written to {args.out}/")
    return 0
