"""``funnelsim run``: simulate one scenario once and print its KPIs (or write its tables)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import __version__
from ..atomic import write_json, write_parquet
from ..metrics import funnel_table, kpis, leak_table
from ..model import simulate
from ..report_text import kpi_text
from .common import add_scenario_options, non_negative_int, print_json, scenario_from_args


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
    result = simulate(scenario, args.seed, record_events=args.out is not None)
    figures = kpis(result)
    meta = {"scenario": scenario.name, "scenario_hash": scenario.hash, "seed": args.seed, "version": __version__}
    if args.out is not None:
        out: Path = args.out
        for name, frame in (("leads", result.leads), ("events", result.events), ("backlog", result.backlog),
                            ("reps", result.reps), ("funnel", funnel_table(result)), ("leaks", leak_table(result))):
            write_parquet(out / f"{name}.parquet", frame, meta)
        write_json(out / "kpis.json", {**meta, "kpis": figures})
    if args.json:
        print_json({**meta, "kpis": figures})
    else:
        print(kpi_text(scenario, args.seed, figures))
        if args.out is not None:
            print(f"\nTables written to {args.out}/")
    return 0
