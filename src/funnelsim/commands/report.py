"""``funnelsim report``: the leadership HTML report of an A/B comparison.

Executes ``notebooks/ab_compare.ipynb`` with papermill and converts it with nbconvert into
one self-contained HTML file (code hidden, charts embedded), written atomically.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..errors import InputError
from ..safe_io import check_output_file
from ..scenario import load_scenario
from .options import add_scenario_options, parse_min_effects, non_negative_int, positive_float
from .compare import add_execution_options, check_replications

__all__ = ["register", "run", "default_output"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write the HTML report of an A/B comparison (for leadership)",
        description="Compare variant scenarios with a baseline on common random numbers and write a "
                    "self-contained HTML report: a plain-language verdict with confidence intervals, the funnel, "
                    "the leaks, speed-to-lead, revenue and cost, assumptions and provenance.")
    p.add_argument("baseline", help="baseline scenario YAML file (A)")
    p.add_argument("variants", nargs="+", metavar="variant", help="variant scenario YAML file(s) (B)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="HTML file to write (default reports/BASELINE_vs_VARIANT.html)")
    p.add_argument("--replications", type=non_negative_int, default=10,
                   help="paired replications per scenario, at least 2 (default 10; the first batch with --precision)")
    p.add_argument("--precision", type=positive_float, default=None,
                   help="add replications until won deals and revenue are known within ± this share, e.g. 0.05")
    p.add_argument("--max-replications", type=non_negative_int, default=100,
                   help="upper limit with --precision (default 100)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="root random seed (default 0)")
    p.add_argument("--min-effect", dest="min_effects", action="append", default=[], metavar="KPI=VALUE",
                   help="smallest difference that matters, in the KPI's unit, e.g. --min-effect won_deals=5")
    add_scenario_options(p)
    add_execution_options(p)
    p.add_argument("--notebook", type=Path, default=None, help="the notebook to execute (default ab_compare.ipynb)")
    p.add_argument("--timeout", type=non_negative_int, default=3600,
                   help="seconds a notebook cell may run (0: no limit)")
    p.set_defaults(handler=run)


def default_output(baseline: str, variants: list[str]) -> Path:
    def stem(path: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem) or "scenario"

    return Path("reports") / f"{stem(baseline)}_vs_{'_'.join(stem(v) for v in variants)}.html"


def run(args: argparse.Namespace) -> int:
    from ..present.render import REPORT_NOTEBOOK, render_report  # matplotlib and papermill only when a report is made

    if args.replications < 2:
        raise InputError("--replications", None, f"must be at least 2 (a confidence interval needs two), "
                         f"got {args.replications}")
    if args.precision is not None and not args.precision < 1:
        raise InputError("--precision", None, f"must be a share between 0 and 1, e.g. 0.05; got {args.precision:g}")
    if args.precision is not None and args.max_replications < args.replications:
        raise InputError("--max-replications", None, f"must be at least --replications ({args.replications})")
    if args.dask is not None and not args.dask.strip():
        raise InputError("--dask", None, "needs a scheduler address such as tcp://host:8786")
    effects = parse_min_effects(args.min_effects)
    output: Path = args.output or default_output(args.baseline, args.variants)
    check_output_file(output, "--output")  # before the notebook runs: its work is not lost to a bad destination
    check_replications(args.replications, args.max_replications if args.precision is not None else None,
                       1 + len(args.variants))
    overrides = list(args.overrides or []) + ([f"months={args.months}"] if args.months is not None else [])
    for path in (args.baseline, *args.variants):  # a bad file is one clear line before any kernel starts
        load_scenario(path, overrides or None)
    if not args.quiet:
        print(f"Running notebooks/{REPORT_NOTEBOOK} with papermill (kernel python3)…", file=sys.stderr)
    written = render_report(
        args.baseline, args.variants, output, replications=args.replications, seed=args.seed,
        precision=args.precision, max_replications=args.max_replications, min_effects=effects or None,
        overrides=list(args.overrides or []), months=args.months, workers=args.workers, dask_address=args.dask,
        store=None if args.no_store else args.store, notebook=args.notebook, timeout=args.timeout or None)
    print(written)
    return 0
