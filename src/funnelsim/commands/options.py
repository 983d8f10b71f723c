"""The command-line options shared by several commands, their argument types, and JSON output."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import yaml

from ..errors import InputError
from ..scenario import Scenario, load_scenario

__all__ = [
    "add_scenario_options",
    "scenario_from_args",
    "print_json",
    "non_negative_int",
    "positive_float",
    "parse_min_effects",
]


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be zero or more")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def add_scenario_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a scenario field, e.g. --set team.reps=10 --set sla.first_touch_minutes=5")
    parser.add_argument("--months", type=positive_float, default=None, help="simulated months of lead arrivals")


def scenario_from_args(path: str, args: argparse.Namespace) -> Scenario:
    overrides = list(args.overrides or [])
    if getattr(args, "months", None) is not None:
        overrides.append(f"months={args.months}")
    return load_scenario(path, overrides)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def print_json(data: Any) -> None:
    json.dump(_clean(data), sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


def parse_min_effects(items: list[str]) -> dict[str, float]:
    """``["won_deals=5", "revenue=1e5"]`` -> ``{"won_deals": 5.0, "revenue": 100000.0}`` (KPI names checked)."""
    from ..experiments.replicate import check_kpi

    out: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise InputError("--min-effect", None, f"{item!r} must look like KPI=VALUE, e.g. won_deals=5")
        name = check_kpi(name.strip(), "--min-effect")
        try:
            value = float(yaml.safe_load(raw)) if raw.strip() else math.nan
        except (TypeError, ValueError, yaml.YAMLError):
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise InputError("--min-effect", name, f"{raw!r} must be a number, zero or more, in the KPI's unit")
        out[name] = value
    return out
