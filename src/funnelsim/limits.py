"""Limits on the size of the work one input may ask for, checked before any work starts.

Each limit has a default that covers every realistic use (see ``docs/LIMITS.md``) and a
ceiling it can never be raised beyond. Raise a limit for one command with the global
option ``funnelsim --limit NAME=VALUE ...`` or for a whole session with the environment
variable ``FUNNELSIM_MAX_<NAME>`` (e.g. ``FUNNELSIM_MAX_MONTHS=240``). A value above the
limit is an :class:`~funnelsim.errors.InputError` naming the field and the limit.

There is no module-level state: the limits are read from the environment each time they
are checked, so worker processes see the same limits as the command that started them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .errors import InputError

__all__ = ["Limit", "LIMITS", "ENV_PREFIX", "limit", "check", "parse_limit_option"]

ENV_PREFIX = "FUNNELSIM_MAX_"


@dataclass(frozen=True)
class Limit:
    """One limit: its name, default, hard ceiling and what it bounds."""

    name: str
    default: float
    ceiling: float
    meaning: str
    unit: str = ""

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


LIMITS: dict[str, Limit] = {item.name: item for item in (
    Limit("leads", 1_000_000, 50_000_000, "expected leads of one simulation (sum of leads_per_month x months)"),
    Limit("months", 120, 1_200, "simulated months of lead arrivals (the horizon)", "months"),
    Limit("replications", 1_000, 100_000, "replications per scenario or sweep point"),
    Limit("simulations", 100_000, 10_000_000, "simulations one command may run (points x replications)"),
    Limit("sweep_points", 10_000, 1_000_000, "points of a sweep (product of levels, or samples)"),
    Limit("yaml_bytes", 1_000_000, 100_000_000, "size of a scenario or sweep file", "bytes"),
    Limit("yaml_nodes", 200_000, 10_000_000, "values in a YAML document with every alias expanded"),
    Limit("yaml_depth", 64, 1_000, "nesting depth of a YAML document"),
    Limit("csv_bytes", 2_000_000_000, 50_000_000_000, "size of a CRM export (CSV)", "bytes"),
    Limit("model_bytes", 200_000_000, 10_000_000_000, "size of a score model file (.skops)", "bytes"),
    Limit("model_unpacked_bytes", 1_000_000_000, 50_000_000_000,
          "uncompressed size of everything inside a score model file", "bytes"),
)}


def _number(text: str) -> float | None:
    try:
        value = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def limit(name: str) -> float:
    """The current value of limit `name` (environment variable, else the default)."""
    item = LIMITS[name]
    raw = os.environ.get(item.env, "").strip()
    if not raw:
        return item.default
    value = _number(raw)
    if value is None:
        raise InputError(item.env, None, f"{raw!r} is not a positive number")
    if value > item.ceiling:
        raise InputError(item.env, None, f"{value:,.0f} is above the ceiling of {item.ceiling:,.0f} for {name}")
    return value


def check(name: str, value: float, source: str | None, field: str | None, what: str | None = None,
          error: type[InputError] = InputError) -> None:
    """Raise `error` (an InputError) naming `source` and `field` if `value` is above limit `name`."""
    bound = limit(name)
    if not value <= bound:  # also refuses NaN
        item = LIMITS[name]
        unit = f" {item.unit}" if item.unit else ""
        shown = f"{value:,.0f}" if math.isfinite(value) and 1 <= value < 1e12 else f"{value:.3g}"
        raise error(source, field, f"{what or item.meaning}: {shown}{unit} is above the limit of "
                                        f"{bound:,.0f}{unit} (raise it with `funnelsim --limit {name}=N` "
                                        f"or {item.env}=N; see docs/LIMITS.md)")


def parse_limit_option(text: str) -> tuple[str, str]:
    """``"months=240"`` -> ``("FUNNELSIM_MAX_MONTHS", "240")``, checked."""
    name, sep, raw = text.partition("=")
    name = name.strip().lower().replace("-", "_")
    if not sep or name not in LIMITS:
        raise InputError("--limit", None, f"{text!r} must look like NAME=VALUE with NAME one of "
                                          f"{', '.join(LIMITS)}")
    item = LIMITS[name]
    value = _number(raw.strip())
    if value is None:
        raise InputError("--limit", name, f"{raw.strip()!r} is not a positive number")
    if value > item.ceiling:
        raise InputError("--limit", name, f"{value:,.0f} is above the ceiling of {item.ceiling:,.0f}")
    return item.env, repr(value)
