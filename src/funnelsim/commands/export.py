"""``funnelsim export``: simulate a scenario and write its leads as a CRM export (CSV)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..crm.export import check_export_window, export_scenario, parse_epoch
from ..crm.schema import DEFAULT_EPOCH
from ..safe_io import check_output_file
from .options import add_scenario_options, non_negative_int, scenario_from_args

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="simulate a scenario and write a synthetic CRM export (CSV)",
                       description="Simulate a scenario once and write one row per lead, as a CRM would export "
                                   "it (schema: docs/crm-export.md).")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("-o", "--out", type=Path, required=True, help="CSV file to write")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--start", default=DEFAULT_EPOCH.date().isoformat(),
                   help="the Monday the simulation clock starts on, YYYY-MM-DD (default %(default)s)")
    add_scenario_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    start = parse_epoch(args.start)
    scenario = scenario_from_args(args.scenario, args)
    check_export_window(start, scenario.months)
    check_output_file(args.out, "--out")  # before simulating
    result = export_scenario(scenario, args.out, args.seed, start)
    print(f"Wrote {len(result.leads):,} leads of {scenario.name} (hash {scenario.hash}, seed {args.seed}, "
          f"{scenario.months:g} months from {start:%Y-%m-%d}) to {args.out}")
    return 0
