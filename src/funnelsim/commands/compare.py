"""``funnelsim compare``: A/B comparison of a baseline and variants on common random numbers.

Also home of the execution options the experiment commands share (``--dask``,
``--workers``, ``--store``, ``--no-store``, ``--quiet``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path


from ..errors import InputError
from ..experiments.executors import DASK_ADDRESS_ENV, Executor, make_executor
from ..experiments.compare import METHODS, Comparison, compare
from ..experiments.replicate import check_kpi
from ..present.format import format_value
from ..limits import check as check_limit
from ..safe_io import check_output_folder
from ..experiments.store import ResultStore
from .options import add_scenario_options, parse_min_effects, non_negative_int, positive_float, print_json, scenario_from_args

__all__ = ["register", "run", "add_execution_options", "executor_from_args", "store_from_args", "format_diff",
           "DEFAULT_STORE"]

DEFAULT_STORE = Path("results") / "store"


def _positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def add_execution_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dask", metavar="ADDRESS", default=None,
                   help=f"run on a Dask scheduler, e.g. tcp://host:8786 (default: ${DASK_ADDRESS_ENV} if set, "
                        "else a local process pool on every core)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="local pool size (default: every core; 1 runs everything in this process)")
    p.add_argument("--store", type=Path, default=DEFAULT_STORE, metavar="DIR",
                   help=f"result store: replications already run are reused (default {DEFAULT_STORE})")
    p.add_argument("--no-store", action="store_true", help="neither read nor write the result store")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def executor_from_args(args: argparse.Namespace) -> Executor:
    if args.dask is not None and not args.dask.strip():
        raise InputError("--dask", None, "needs a scheduler address such as tcp://host:8786")
    return make_executor(dask_address=args.dask, workers=args.workers)


def check_replications(replications: int, max_replications: int | None, scenarios: int) -> None:
    """Replications (and the simulations they add up to) within the documented limits, before any run."""
    check_limit("replications", replications, "--replications", None)
    most = replications
    if max_replications is not None:
        check_limit("replications", max_replications, "--max-replications", None)
        most = max(most, max_replications)
    check_limit("simulations", most * scenarios, "--replications", None,
                f"simulations ({scenarios} scenarios x {most:,} replications)")


def store_from_args(args: argparse.Namespace) -> ResultStore | None:
    """The result store, its folder checked writable before any simulation."""
    if args.no_store:
        return None
    check_output_folder(args.store, "--store")
    return ResultStore(args.store)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare a baseline with variants (common random numbers, CIs, verdicts)",
                       description="Run the baseline (A) and every variant (B) on the same seeds and report, per "
                                   "KPI, the means, the paired difference B - A with its 95% confidence interval, "
                                   "the relative change and a verdict.")
    p.add_argument("baseline", help="baseline scenario YAML (A)")
    p.add_argument("variants", nargs="+", metavar="variant", help="variant scenario YAML (B); several are each "
                   "compared with the baseline, with Holm's correction")
    how_many = p.add_mutually_exclusive_group()
    how_many.add_argument("--replications", type=_positive_int, default=None,
                          help="replications per scenario (default 10)")
    how_many.add_argument("--precision", type=positive_float, default=None, metavar="P",
                          help="add replications until the 95%% CI of the relative change is within +/-P "
                               "(e.g. 0.05) on the precision KPIs")
    p.add_argument("--precision-kpi", action="append", default=None, metavar="KPI",
                   help="KPI the precision applies to (repeatable; default won_deals and revenue)")
    p.add_argument("--max-replications", type=_positive_int, default=100,
                   help="stop adding replications here (default 100)")
    p.add_argument("--min-effect", action="append", default=[], metavar="KPI=VALUE",
                   help="smallest difference that matters, in the KPI's unit, e.g. won_deals=5 (repeatable)")
    p.add_argument("--method", choices=METHODS, default="paired-t", help="confidence intervals (default paired-t)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="root seed of the replications (default 0)")
    p.add_argument("--all", action="store_true", help="show every KPI, not just the headline ones")
    p.add_argument("--json", action="store_true", help="print the whole comparison as JSON")
    add_scenario_options(p)
    add_execution_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    effects = parse_min_effects(args.min_effect)
    precision_kpis = [check_kpi(k, "--precision-kpi") for k in args.precision_kpi] if args.precision_kpi else None
    if args.precision is not None and args.precision >= 1:
        raise InputError("--precision", None, f"{args.precision:g} must be below 1 (a share such as 0.05)")
    if precision_kpis and args.precision is None:
        raise InputError("--precision-kpi", None, "only applies together with --precision")
    baseline = scenario_from_args(args.baseline, args)
    variants = [scenario_from_args(path, args) for path in args.variants]
    replications = args.replications or 10
    if args.precision is not None and args.max_replications < replications:
        raise InputError("--max-replications", None, f"must be at least the first batch of {replications}")
    check_replications(replications, args.max_replications if args.precision is not None else None,
                       1 + len(variants))
    with executor_from_args(args) as executor:
        result = compare(baseline, variants, replications=replications, seed=args.seed, precision=args.precision,
                         precision_kpis=precision_kpis, max_replications=args.max_replications,
                         min_effects=effects, method=args.method, executor=executor,
                         store=store_from_args(args), progress=not args.quiet)
    if args.json:
        print_json(result.to_dict())
    else:
        print(comparison_text(result, show_all=args.all, store=None if args.no_store else args.store))
    return 0


def format_diff(name: str, unit: str, value: float) -> str:
    """A signed difference in the KPI's unit (ratios in percentage points)."""
    if value is None or not math.isfinite(value):
        return "—"
    sign = "+" if value > 0 else "-" if value < 0 else ""
    size = abs(value)
    if unit == "ratio":
        points = 100 * size
        return f"{sign}{points:.2f} pp" if 0 < points < 1 else f"{sign}{points:.1f} pp"
    if unit == "money":
        return f"{sign}${size:,.0f}"
    if unit == "minutes":
        return f"{sign}{size:,.1f} min"
    return f"{sign}{size:,.1f}" if size < 100 else f"{sign}{size:,.0f}"


def _percent(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{100 * value:+.1f}%" if value else "0.0%"


def comparison_text(result: Comparison, show_all: bool = False, store: Path | None = None) -> str:
    """The terminal report: one table per variant, headline KPIs (or all)."""
    names = list(result.table["variant"].unique())
    base_name = result.runs["scenario"].iloc[0]
    lines = [f"A = {base_name} (hash {result.baseline.hash})"]
    for name, v in zip(names, result.variants):
        lines.append(f"B = {name} (hash {v.hash})")
    stored = f"; {result.reused} reused from {store}" if store is not None else ""
    lines.append(f"{result.replications} replications per scenario on common random numbers (root seed "
                 f"{result.root_seed}), {result.method} {100 * result.confidence:.0f}% intervals; "
                 f"{result.computed} simulated{stored}.")
    if result.precision is not None:
        state = "reached" if result.precision_reached else "NOT reached (maximum replications hit)"
        lines.append(f"Precision target ±{100 * result.precision:g}% of the baseline on "
                     f"{', '.join(result.precision_kpis)}: {state} after {result.replications} replications.")
    if len(names) > 1:
        lines.append("Several variants: p-values and verdicts use Holm's correction.")
    table = result.table if show_all else result.verdicts()
    for name in names:
        rows = table[table["variant"] == name]
        lines.append("")
        lines.append(f"{name} (B) vs {base_name} (A)")
        header = ("KPI", "A", "B", "B − A [95% CI]", "change [95% CI]", "verdict")
        body = []
        for row in rows.itertuples(index=False):
            diff = (f"{format_diff(row.kpi, row.unit, row.diff)} [{format_diff(row.kpi, row.unit, row.ci_low)}, "
                    f"{format_diff(row.kpi, row.unit, row.ci_high)}]")
            change = f"{_percent(row.rel_change)} [{_percent(row.rel_ci_low)}, {_percent(row.rel_ci_high)}]"
            verdict = row.verdict + (f" (min effect {row.min_effect:g})" if row.min_effect else "") + \
                (" *" if getattr(row, "note", "") else "")
            body.append((row.label, format_value(row.kpi, row.mean_baseline), format_value(row.kpi, row.mean_variant),
                         diff, change, verdict))
        widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
        for r in [header, *body]:
            lines.append("  " + "  ".join(str(c).ljust(w) if i in (0, 3, 4, 5) else str(c).rjust(w)
                                          for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        for row in rows.itertuples(index=False):
            if getattr(row, "note", ""):
                lines.append(f"  * {row.label}: {row.note}")
    return "\n".join(lines)

