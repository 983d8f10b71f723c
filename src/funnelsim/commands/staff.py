"""``funnelsim staff``: the smallest number of reps that meets a target."""

from __future__ import annotations

import argparse
import math

from ..errors import InputError
from ..safe_yaml import YamlError, load_yaml
from ..experiments.staffing import TARGET_HELP, Staffing, parse_target, staff
from .options import add_scenario_options, non_negative_int, print_json, scenario_from_args
from .compare import _positive_int, add_execution_options, check_replications, executor_from_args, store_from_args

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("staff", help="find the smallest number of reps that meets a target",
                       description="Search the smallest team (team.reps) that meets a target, e.g. "
                                   "--target 'sla_compliance >= 0.95' or "
                                   "--target 'P(won_deals_per_month >= 25) >= 0.9'. Conditions may be joined "
                                   "by 'and'. The search assumes more reps never hurt the target.")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--target", required=True, help=TARGET_HELP.replace("%", "%%"))
    p.add_argument("--min-reps", type=_positive_int, default=1, help="smallest team to consider (default 1)")
    p.add_argument("--max-reps", type=_positive_int, default=None,
                   help="largest team to consider (default twice the scenario's reps, at least reps + 10)")
    p.add_argument("--replications", type=_positive_int, default=20, help="replications per team size (default 20)")
    p.add_argument("--vary", action="append", default=[], metavar="FIELD=V1,V2",
                   help="search once per value of another lever, e.g. --vary routing.lead_cap=300,500 "
                        "--vary sla.first_touch_minutes=5,60 (repeatable; combinations are crossed)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="root seed of the replications (default 0)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_scenario_options(p)
    add_execution_options(p)
    p.set_defaults(handler=run)


def _vary(items: list[str]) -> dict[str, list]:
    out: dict[str, list] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise InputError("--vary", None, f"{item!r} must look like FIELD=V1,V2 (e.g. routing.lead_cap=300,500)")
        values = []
        for text in raw.split(","):
            try:
                values.append(load_yaml(text) if text.strip() else None)
            except YamlError:
                values.append(text.strip())
        out[name] = values
    return out


def run(args: argparse.Namespace) -> int:
    target = parse_target(args.target, "--target")
    scenario = scenario_from_args(args.scenario, args)
    vary = _vary(args.vary)
    for name, values in vary.items():
        if name == "team.reps":
            raise InputError("--vary", name, "the search itself varies the number of reps")
        for value in values:
            scenario.with_overrides({name: value}, source="--vary")
    if args.max_reps is not None and args.max_reps < args.min_reps:
        raise InputError("--max-reps", None, f"must be at least --min-reps ({args.min_reps})")
    check_replications(args.replications, None, 1)
    with executor_from_args(args) as executor:
        result = staff(scenario, target, min_reps=args.min_reps, max_reps=args.max_reps,
                       replications=args.replications, seed=args.seed, vary=vary, executor=executor,
                       store=store_from_args(args), progress=not args.quiet)
    if args.json:
        print_json(result.to_dict())
    else:
        print(staffing_text(result))
    return 0


def _number(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"


def staffing_text(result: Staffing) -> str:
    lines = [f"{result.scenario.name}: smallest team with {result.target}",
             f"({result.replications} replications per team size on common random numbers, "
             f"teams of {result.min_reps} to {result.max_reps} reps searched; {result.computed} simulated, "
             f"{result.reused} reused)"]
    fields = list(result.vary)
    for summary in result.summary.to_dict(orient="records"):
        where = ", ".join(f"{f}={summary[f]}" for f in fields)
        lines.append("")
        prefix = f"{where}: " if where else ""
        if summary["met"]:
            lines.append(f"{prefix}{summary['reps']} reps")
        else:
            lines.append(f"{prefix}not met with up to {result.max_reps} reps")
        if not summary["monotone"]:
            lines.append("  warning: a smaller team met the target where a larger one did not; "
                         "the search assumes more reps never hurt")
        rows = result.evaluations
        for f in fields:
            rows = rows[rows[f] == summary[f]]
        for row in rows.to_dict(orient="records"):
            lines.append(f"  {row['reps']:>5} reps  {row['condition']:<40} {_number(row['estimate']):>10} "
                         f"[{_number(row['ci_low'])}, {_number(row['ci_high'])}]  {'met' if row['met'] else 'not met'}")
    return "\n".join(lines)
