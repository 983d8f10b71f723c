"""``funnelsim sweep``: run a sweep declared in YAML and write its tidy tables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..atomic import atomic_folder, check_folder_target, write_json, write_parquet, write_text
from ..experiments.compare import HEADLINE_KPIS
from ..experiments.replicate import replication_seeds
from ..present.format import format_value
from ..experiments.sweep import load_sweep, run_sweep, summarize_sweep
from .options import print_json
from .compare import add_execution_options, executor_from_args, store_from_args

__all__ = ["register", "run"]

#: every file `sweep --out` writes: the folder is replaced as a whole only if it holds nothing else
OUTPUTS = ("runs.parquet", "summary.parquet", "summary.csv", "sweep.json")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a sweep (full factorial or Latin hypercube) declared in YAML",
                       description="Run every point of a sweep file (see scenarios/sweeps/) on the same seeds and "
                                   "write runs.parquet (one row per point x replication x KPI), summary.parquet "
                                   "and summary.csv (mean and 95% CI per point x KPI).")
    p.add_argument("sweep", help="sweep YAML file")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="output folder (default results/sweeps/<name>)")
    p.add_argument("--json", action="store_true", help="print the run facts and the summary as JSON")
    add_execution_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.sweep)
    out: Path = args.out if args.out is not None else Path("results") / "sweeps" / sweep.name
    check_folder_target(out, "--out", OUTPUTS)  # before any simulation
    store = store_from_args(args)
    with executor_from_args(args) as executor:
        runs = run_sweep(sweep, executor=executor, store=store, progress=not args.quiet)
    summary = summarize_sweep(runs)
    factors = [f.name for f in sweep.factors]
    points = int(runs["point"].nunique())
    facts = {
        "sweep": sweep.name, "source": str(args.sweep), "design": sweep.design, "points": points,
        "replications": sweep.replications, "root_seed": sweep.seed,
        "seeds": replication_seeds(sweep.seed, sweep.replications), "factors": factors,
        "base_scenario_hash": sweep.base.hash, "version": __version__,
        "computed": int(runs.attrs.get("computed", 0)), "reused": int(runs.attrs.get("reused", 0)),
        "store": None if args.no_store else str(args.store),
    }
    meta = {"sweep": sweep.name, "design": sweep.design, "version": __version__}
    with atomic_folder(out) as folder:  # the whole folder, or nothing: never files of two sweeps
        write_parquet(folder / "runs.parquet", runs, meta)
        write_parquet(folder / "summary.parquet", summary, meta)
        write_text(folder / "summary.csv", summary.to_csv(index=False))
        write_json(folder / "sweep.json", facts)
    if args.json:
        print_json({**facts, "out": str(out), "summary": summary.to_dict(orient="records")})
        return 0
    stored = f", {facts['reused']} reused from {args.store}" if not args.no_store else ""
    print(f"{sweep.name}: {sweep.design}, {points} points x {sweep.replications} replications "
          f"({facts['computed']} simulated{stored})")
    print(sweep_text(summary, factors, list(sweep.kpis or HEADLINE_KPIS)))
    print(f"\nTables written to {out}/ (runs.parquet, summary.parquet, summary.csv, sweep.json)")
    return 0


def sweep_text(summary: pd.DataFrame, factors: list[str], kpis: list[str]) -> str:
    """Mean of each KPI per point, one line per point."""
    shown = [k for k in kpis if k in set(summary["kpi"])][:6]
    table = summary[summary["kpi"].isin(shown)]
    wide = table.pivot(index="point", columns="kpi", values="mean")
    levels = table.drop_duplicates("point").set_index("point")[factors]
    header = ["point", *factors, *shown]
    rows = [[str(point), *(str(levels.loc[point, f]) for f in factors),
             *(format_value(k, wide.loc[point, k]) for k in shown)] for point in levels.index]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [header, *rows])
