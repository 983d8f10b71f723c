"""``funnelsim calibrate``: fit a scenario to a CRM export and print the fit quality."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..crm.calibrate import calibrate_file, compare_funnel, write_calibrated
from ..safe_io import check_output_file
from .options import non_negative_int

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="fit a scenario to a CRM export and print the fit quality",
                       description="Fit arrivals, lead quality, response, the speed-to-lead curve, demos and deals "
                                   "to a CRM export (docs/crm-export.md); policies come from --base.")
    p.add_argument("export", help="CRM export (CSV)")
    p.add_argument("-o", "--out", type=Path, default=None, help="scenario YAML file to write")
    p.add_argument("--base", default=None,
                   help="scenario whose policies (team, cadence, SLA, routing, MQL rule, costs) the calibrated "
                        "one keeps; the output extends it (default: a complete scenario on funnelsim's defaults)")
    p.add_argument("--check-funnel", type=non_negative_int, default=0, metavar="N",
                   help="also simulate the calibrated scenario N times and compare its funnel with the export's")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.out is not None:
        check_output_file(args.out, "--out")  # before reading and fitting
    calibration = calibrate_file(args.export, args.base)
    print(calibration.text())
    if args.check_funnel:
        table = compare_funnel(calibration, range(args.check_funnel))
        print(f"\n  funnel: export vs calibrated scenario ({args.check_funnel} simulation"
              f"{'s' if args.check_funnel > 1 else ''})")
        print("  stage          export   simulated   rate: export  simulated      z")
        for row in table.itertuples():
            z = "" if row.z != row.z else f"{row.z:+.2f}"
            print(f"  {row.stage:<12} {row.observed:>8,.0f}  {row.simulated:>10,.0f}   {100 * row.observed_rate:10.1f}%"
                  f"  {100 * row.simulated_rate:8.1f}%  {z:>6}")
    if args.out is not None:
        write_calibrated(calibration, args.out, args.base)
        print(f"\nWrote {args.out}" + (f" (extends {args.base})" if args.base else ""))
    return 0
