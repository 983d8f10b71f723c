"""Scenario files: pydantic models, `extends` inheritance, `--set` overrides, content hash.

A scenario is everything the simulation needs to know about one company's lead funnel
and one set of policies. Models forbid unknown fields: a typo is an error, never a
silently ignored setting. Times are minutes unless a field name says otherwise; duration
fields also accept strings such as ``"5m"``, ``"1h"``, ``"2d"``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ScenarioError
from .limits import check as check_limit
from .safe_io import open_regular, read_text
from .safe_yaml import YamlError, load_yaml
from .units import MINUTES_PER_DAY, MINUTES_PER_MONTH, WEEKDAYS

__all__ = [
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "apply_overrides",
    "parse_duration",
    "clock_minutes",
    "merge_mappings",
    "MINUTES_PER_DAY",
    "MINUTES_PER_MONTH",
    "MIN_AGEING_DAYS",
    "MAX_LOGNORMAL_SIGMA",
    "MAX_MONEY",
]

#: the shortest ageing_days: the ageing sweep wakes at most once per this period, so a tiny
#: positive value cannot turn it into a loop that never advances the clock
MIN_AGEING_DAYS = 1.0 / 24.0
#: the largest sigma of a lognormal draw (sales cycle, deal value): exp(3·z) already spans
#: a factor of 10^6 between the 1st and 99th percentile; larger ones overflow to infinity
MAX_LOGNORMAL_SIGMA = 3.0
#: the largest amount of money in one field (a deal's median value, a cost)
MAX_MONEY = 1e9


_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(m|min|mins|minutes?|h|hr|hours?|d|days?|w|weeks?)?\s*$")
_UNIT_MINUTES = {"m": 1.0, "h": 60.0, "d": 1440.0, "w": 10080.0}


def parse_duration(value: Any) -> float:
    """Minutes from a number (already minutes) or a string like ``"30m"``, ``"2h"``, ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30, '30m', '2h' or '1d', got a boolean")
    if isinstance(value, (int, float)):
        minutes = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration (use e.g. 30, '30m', '2h', '1d')")
        unit = (match.group(2) or "m")[0]
        minutes = float(match.group(1)) * _UNIT_MINUTES[unit]
    else:
        raise ValueError(f"expected a duration such as 30, '30m', '2h' or '1d', got {type(value).__name__}")
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError("a duration must be a finite number of minutes, zero or more")
    return minutes


Duration = Annotated[float, BeforeValidator(parse_duration)]
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Slope = Annotated[float, Field(ge=-20.0, le=20.0, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """``true`` is not 1 (nor 1.0): a boolean is accepted only by a field that is a flag."""
        if _has_boolean(value) and info.field_name and not _takes_boolean(cls.model_fields[info.field_name].annotation):
            raise ValueError("expected a number or text, got a boolean (true/false)")
        return value


def _has_boolean(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, list) and any(isinstance(v, bool) for v in value))


def _takes_boolean(annotation: Any) -> bool:
    from typing import get_args

    if annotation is bool:
        return True
    return any(_takes_boolean(arg) for arg in get_args(annotation))


class Source(_Model):
    """Where leads come from: volume, quality and what each costs."""

    name: str = Field(min_length=1)
    leads_per_month: NonNegative
    legitimate_share: Probability = 0.25
    cost_per_lead: NonNegative = 140.0

    @field_validator("cost_per_lead")
    @classmethod
    def _cost_bound(cls, value: float) -> float:
        return _money(value)


class Persona(_Model):
    """A typical legitimate lead: how well it fits, how interested it is, what it buys."""

    name: str = Field(min_length=1)
    share: Positive = 1.0
    fit: Probability = 0.75
    interest: Probability = 0.6
    deal_value_multiplier: Positive = 1.0

    @field_validator("deal_value_multiplier")
    @classmethod
    def _multiplier_bound(cls, value: float) -> float:
        if value > 1000:
            raise ValueError("must be at most 1000")
        return value


class LeadQuality(_Model):
    """Mean fit and interest (0–1) of a group of leads; spread is Beta concentration."""

    fit: Probability = 0.2
    interest: Probability = 0.3


class Quality(_Model):
    """How a legitimate lead's fit and interest move its odds: log-odds per unit of fit or
    interest (0–1 scale) away from the average legitimate lead of the scenario's personas.

    0 everywhere: quality changes nothing. Junk leads are never qualified, whatever these say.
    """

    answer_per_interest: Slope = 1.5  # chance to pick up a call attempt
    sql_per_fit: Slope = 3.0  # chance to be sales-qualified when reached
    sql_per_interest: Slope = 2.0
    win_per_fit: Slope = 2.5  # chance that an opportunity is won
    deal_value_per_fit: Slope = 1.0  # log deal value (a lead of fit +0.1 buys ~10% more)


class Leads(_Model):
    personas: list[Persona] = Field(default_factory=lambda: [Persona(name="buyer")], min_length=1)
    junk: LeadQuality = LeadQuality()
    concentration: Positive = 8.0
    quality: Quality = Quality()
    reachable_legitimate: Probability = 0.75
    reachable_junk: Probability = 0.35

    @field_validator("personas")
    @classmethod
    def _unique_personas(cls, value: list[Persona]) -> list[Persona]:
        return _named_once(value, "persona")


class Arrivals(_Model):
    """When leads arrive: relative weights by hour of day (24) and day of week (7, Mon first)."""

    hourly_profile: list[NonNegative] = Field(default_factory=lambda: [1.0] * 24)
    weekday_profile: list[NonNegative] = Field(default_factory=lambda: [1.0] * 7)

    @field_validator("hourly_profile")
    @classmethod
    def _hours(cls, value: list[float]) -> list[float]:
        if len(value) != 24 or sum(value) <= 0:
            raise ValueError("needs 24 non-negative weights (hour 0 to 23), not all zero")
        return value

    @field_validator("weekday_profile")
    @classmethod
    def _days(cls, value: list[float]) -> list[float]:
        if len(value) != 7 or sum(value) <= 0:
            raise ValueError("needs 7 non-negative weights (Monday first), not all zero")
        return value


class Marketing(_Model):
    """Qualification by marketing: score = 100·(fit_weight·fit + (1−fit_weight)·interest)."""

    score_fit_weight: Probability = 0.5
    min_fit: Probability = 0.4
    mql_threshold: Annotated[float, Field(ge=0, le=100)] = 50.0
    handoff_minutes: Duration = 30.0
    # a .skops file from `funnelsim score train` (relative to the scenario file naming it): when set,
    # score = 100·P(SQL) from that model instead of the fit/interest formula
    score_model: str | None = None

    @field_validator("score_model")
    @classmethod
    def _score_model_file(cls, value: str | None) -> str | None:
        try:
            found = value is None or Path(value).is_file()
        except (OSError, ValueError):
            found = False
        if not found:
            raise ValueError(f"score model file {value!r} not found")
        return value


class Nurture(_Model):
    """Leads that fit but are not ready yet: campaign emails, clicks, hot-lead alerts."""

    enabled: bool = True
    click_probability: Probability = 0.35  # a legitimate lead's chance to ever click a campaign email
    junk_click_probability: Probability = 0.35  # spam, students and lost visitors
    mean_days_to_click: Positive = 20.0
    interest_boost: Probability = 0.3
    max_days: Positive = 90.0
    # without alerts, a click that makes a lead sales-ready waits for marketing's next review of
    # the nurture list: exponential, this many days on average (0 = at once)
    review_days: NonNegative = 0.0
    hot_lead_alerts: bool = False


class Routing(_Model):
    """How MQLs reach reps: which rep, when, and what happens at the per-rep cap."""

    policy: Literal["round_robin", "least_loaded", "score_based", "shared_queue"] = "round_robin"
    mode: Literal["continuous", "batched"] = "continuous"
    batch_times: list[str] = Field(default_factory=lambda: ["09:00"])
    lead_cap: Annotated[int, Field(ge=1)] | None = 500
    at_cap: Literal["wait", "nurture", "discard"] = "nurture"
    # a lead its rep has not touched this many days after assignment goes back to the pool:
    # to the rep under the cap with the least load for its weight (null = reps keep their leads)
    reclaim_untouched_days: Positive | None = None

    @field_validator("reclaim_untouched_days")
    @classmethod
    def _reclaim_minimum(cls, value: float | None) -> float | None:
        return _an_hour_or_more(value)  # reclaimed every instant, a lead would bounce between reps without end

    @field_validator("batch_times")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one time of day such as '09:00'")
        for item in value:
            clock_minutes(item)
        return value


def _named_once(items: list[Any], what: str) -> list[Any]:
    """Items that are told apart by name (sources, personas, tiers) must each have their own."""
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names must be unique, got {names}")
    return items


def _an_hour_or_more(days: float | None) -> float | None:
    """A period in days that the simulation sweeps for must be at least an hour (or null: never)."""
    if days is not None and days < MIN_AGEING_DAYS:
        raise ValueError(f"must be at least {MIN_AGEING_DAYS:.4f} days (one hour), or null for never")
    return days


def clock_minutes(text: Any) -> float:
    """Minutes after midnight of a time of day such as '09:00' (00:00 to 24:00); ValueError otherwise."""
    if not isinstance(text, str) or not re.match(r"^\d{1,2}:\d{2}$", text.strip()):
        raise ValueError(f"{text!r} is not a time of day such as '09:00'")
    hours, minutes = (int(x) for x in text.strip().split(":"))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return hours * 60.0 + minutes


class Tier(_Model):
    """A group of reps alike: how much of the inflow routing sends them, how well and how fast they sell.

    ``routing_weight`` is a share of new leads per rep relative to the other tiers
    (territories, seniority). ``skill`` shifts the log-odds of qualifying a reached lead
    and of winning its deals; ``speed`` divides call durations.
    """

    name: str = Field(min_length=1)
    reps: Annotated[int, Field(ge=0, le=10_000)]
    routing_weight: Positive = 1.0
    skill: Annotated[float, Field(ge=-5.0, le=5.0, allow_inf_nan=False)] = 0.0
    speed: Annotated[float, Field(ge=0.1, le=10.0, allow_inf_nan=False)] = 1.0


class Team(_Model):
    """The sales reps: how many, when they work, in which order they work their queue.

    Reps fill ``tiers`` in order; reps beyond the tiers' total join the last tier, and a
    smaller team leaves the last tiers short (hires are the last tier; cuts come from it).
    Each rep also gets a personal skill and speed around its tier's (``skill_spread``,
    ``speed_spread``: standard deviations on the log scale), drawn from its own stream.
    """

    reps: Annotated[int, Field(ge=0, le=10_000)] = 8  # 0: an extreme-condition test (nothing is contacted)
    tiers: list[Tier] = Field(default_factory=list)
    skill_spread: Annotated[float, Field(ge=0.0, le=3.0, allow_inf_nan=False)] = 0.0
    speed_spread: Annotated[float, Field(ge=0.0, le=2.0, allow_inf_nan=False)] = 0.0
    # attention: call attempts a rep makes in a day at most (null: as many as the shift allows)
    max_calls_per_day: Annotated[int, Field(ge=1, le=10_000)] | None = None
    working_hours: str = "09:00-17:00"
    working_days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1
    )
    queue_order: Literal["newest_first", "oldest_first", "highest_score", "hot_first"] = "newest_first"
    dial_minutes: Positive = 4.0
    talk_minutes: Positive = 15.0
    call_time_distribution: Literal["exponential", "fixed"] = "exponential"
    new_lead_check_minutes: Duration | None = None
    cost_per_rep_month: NonNegative = 9000.0

    @field_validator("cost_per_rep_month")
    @classmethod
    def _cost_bound(cls, value: float) -> float:
        return _money(value)

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parts = value.split("-") if isinstance(value, str) else []
        if len(parts) != 2:
            raise ValueError(f"{value!r} is not a range of hours such as '09:00-17:00'")
        start, end = (clock_minutes(p) for p in parts)
        if end <= start:
            raise ValueError(f"{value!r}: the end must come after the start")
        return value

    @field_validator("working_days")
    @classmethod
    def _unique_days(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each day may appear once")
        return value

    @field_validator("tiers")
    @classmethod
    def _unique_tiers(cls, value: list[Tier]) -> list[Tier]:
        return _named_once(value, "tier")

    def rep_tiers(self) -> list[int]:
        """The tier index of every rep, in rep order (all 0 when no tiers are named)."""
        if not self.tiers:
            return [0] * self.reps
        out: list[int] = []
        for index, tier in enumerate(self.tiers):
            out.extend([index] * tier.reps)
        out = out[: self.reps]
        out.extend([len(self.tiers) - 1] * (self.reps - len(out)))
        return out

    @property
    def shift(self) -> tuple[float, float]:
        start, end = self.working_hours.split("-")
        return clock_minutes(start), clock_minutes(end)


class SLA(_Model):
    """The sales & marketing agreement: how many MQLs, how fast assigned, touched, how often called.

    SLA clocks run in the team's business hours (a lead arriving at night is on time if
    touched within the first hour of the next shift) unless ``clock: calendar``.
    """

    mqls_per_month: NonNegative = 600.0
    assign_within_minutes: Duration = 60.0
    first_touch_minutes: Duration = 60.0
    min_attempts_first_week: Annotated[int, Field(ge=0, le=100)] = 6
    clock: Literal["business_hours", "calendar"] = "business_hours"


class FollowUp(_Model):
    """The attempt cadence: offsets from the first touch, in business time; answering; ageing.

    An offset of whole days is that many working days after the first touch, at the same
    time of day; minutes beyond whole days are minutes of duty ("30m" at 16:50 is 09:20 the
    next working day).
    """

    attempt_offsets: list[Duration] = Field(default_factory=lambda: [0.0, 30.0, 1440.0, 2880.0, 5760.0, 8640.0])
    answer_probability: Probability = 0.40
    # leads go cold: the chance to answer halves every this many days since the lead engaged
    answer_half_life_days: Positive | None = 30.0
    ageing_days: Positive | None = 60.0

    @field_validator("ageing_days")
    @classmethod
    def _ageing_minimum(cls, value: float | None) -> float | None:
        return _an_hour_or_more(value)

    @field_validator("attempt_offsets")
    @classmethod
    def _offsets(cls, value: list[float]) -> list[float]:
        if not value or len(value) > 50:
            raise ValueError("needs between 1 and 50 attempts")
        if value[0] != 0:
            raise ValueError("the first attempt is the first touch: its offset must be 0")
        if any(b < a for a, b in zip(value, value[1:])):
            raise ValueError("offsets must not decrease")
        return value


class SpeedToLead(_Model):
    """P(SQL | contacted t minutes after the lead engaged) = p_durable + p_perishable·m(t)."""

    curve: Literal["published", "exponential", "linear", "none"] = "published"
    p_durable: Probability = 0.30
    p_perishable: Probability = 0.55
    half_life_minutes: Positive = 30.0
    # leads go cold over days too: the durable part halves every this many days since engaging
    durable_half_life_days: Positive | None = 14.0

    @model_validator(mode="after")
    def _sum(self) -> "SpeedToLead":
        if self.p_durable + self.p_perishable > 1.0 + 1e-12:
            raise ValueError("p_durable + p_perishable must not exceed 1")
        return self


class Demo(_Model):
    """Presentations booked after SQL: lag, no-shows, reschedules, and what a held demo yields."""

    booking_lag_days: NonNegative = 3.0
    demo_minutes: Positive = 45.0
    no_show_probability: Probability = 0.20
    # reach-outs after no-shows (over the lead's life), one a working day, each books a new demo
    # with reschedule_success: 1 - (1 - s)^k of no-shows are won back
    reschedule_attempts: Annotated[int, Field(ge=0, le=20)] = 1
    reschedule_success: Probability = 0.5
    opportunity_rate: Probability = 0.75


class Opportunities(_Model):
    """Deals: win rate, sales cycle and deal value (lognormal), extra opportunities per account."""

    win_rate: Probability = 0.22
    cycle_days_median: Positive = 60.0
    cycle_days_sigma: NonNegative = 0.5
    deal_value_median: Positive = 25_000.0
    deal_value_sigma: NonNegative = 0.6
    extra_opportunity_probability: Annotated[float, Field(ge=0.0, le=0.9)] = 0.1

    @field_validator("cycle_days_sigma", "deal_value_sigma")
    @classmethod
    def _sigma_bound(cls, value: float) -> float:
        if value > MAX_LOGNORMAL_SIGMA:
            raise ValueError(f"a lognormal sigma must be at most {MAX_LOGNORMAL_SIGMA:g}")
        return value

    @field_validator("cycle_days_median")
    @classmethod
    def _cycle_bound(cls, value: float) -> float:
        if value > 3650:
            raise ValueError("a median sales cycle must be at most 3650 days (ten years)")
        return value

    @field_validator("deal_value_median")
    @classmethod
    def _value_bound(cls, value: float) -> float:
        return _money(value)


def _money(value: float) -> float:
    if value > MAX_MONEY:
        raise ValueError(f"must be at most {MAX_MONEY:,.0f}")
    return value


class Scenario(_Model):
    """One company and one set of policies. See scenarios/baseline.yaml for a commented example."""

    name: str = "scenario"
    description: str = ""
    months: Positive = 12.0
    sources: list[Source] = Field(default_factory=lambda: [Source(name="inbound", leads_per_month=2000)], min_length=1)
    arrivals: Arrivals = Arrivals()
    leads: Leads = Leads()
    marketing: Marketing = Marketing()
    nurture: Nurture = Nurture()
    routing: Routing = Routing()
    team: Team = Team()
    sla: SLA = SLA()
    follow_up: FollowUp = FollowUp()
    speed_to_lead: SpeedToLead = SpeedToLead()
    demo: Demo = Demo()
    opportunities: Opportunities = Opportunities()

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, value: list[Source]) -> list[Source]:
        return _named_once(value, "source")

    @property
    def horizon_minutes(self) -> float:
        return self.months * MINUTES_PER_MONTH

    def behaviour_dict(self) -> dict[str, Any]:
        """Every field that changes what the simulation does (name and description do not)."""
        data = self.model_dump(mode="json")
        data.pop("name", None)
        data.pop("description", None)
        if self.marketing.score_model is not None:  # the model's content, not where the checkout is
            data["marketing"]["score_model"] = _score_model_digest(self.marketing.score_model)
        return data

    @property
    def hash(self) -> str:
        """A stable content hash: same behaviour, same hash, whatever file it came from."""
        text = json.dumps(self.behaviour_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_overrides(self, overrides: list[str] | dict[str, Any], source: str = "--set") -> "Scenario":
        data = self.model_dump(mode="json")
        return scenario_from_dict(apply_overrides(data, overrides, source), source)


def _score_model_digest(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open_regular(path, "model_bytes", path, ScenarioError) as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ScenarioError(path, "marketing.score_model", f"cannot read the score model: {exc.strerror}") from None
    return "sha256:" + digest.hexdigest()


# --------------------------------------------------------------------------- loading


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            text = str(item) if str(item).isprintable() else repr(str(item))  # keep the message on one line
            parts.append(("." if parts else "") + text)
    return "".join(parts) or "<top level>"


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors(include_url=False)[0]
    loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see scenarios/baseline.yaml for every field)"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    total = exc.error_count()
    if total > 1:
        msg += f" (and {total - 1} more problem{'s' if total > 2 else ''})"
    return _field_path(loc), msg


def scenario_from_dict(data: Any, source: str = "<dict>") -> Scenario:
    """Validate a plain mapping as a Scenario, raising ScenarioError with file and field.

    Beyond the models' own rules: text must hold no control characters (they would reach
    the terminal raw), and the work the scenario asks for must be within the documented
    limits (:mod:`funnelsim.limits`: horizon months, expected leads per simulation).
    """
    if not isinstance(data, dict):
        raise ScenarioError(source, None, f"a scenario must be a mapping of fields, got {type(data).__name__}")
    try:
        _check_text(data, source)
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        field, msg = _first_error(exc)
        raise ScenarioError(source, field, msg) from None
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:  # defensive: never a traceback
        raise ScenarioError(source, None, f"invalid scenario: {exc}") from None
    check_scenario_limits(scenario, source)
    return scenario


def check_scenario_limits(scenario: Scenario, source: str) -> None:
    """Refuse a scenario whose simulation would exceed the horizon or expected-leads limits."""
    check_limit("months", scenario.months, source, "months", "horizon", ScenarioError)
    leads = math.fsum(s.leads_per_month for s in scenario.sources) * scenario.months
    check_limit("leads", leads, source, "sources", "expected leads per simulation (sum of leads_per_month x months)",
                ScenarioError)


def _check_text(data: Any, source: str, path: tuple[Any, ...] = ()) -> None:
    """Every text value free of control and format characters (a description may hold newlines and tabs)."""
    stack: list[tuple[tuple[Any, ...], Any]] = [(path, data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(((*where, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*where, i), v) for i, v in enumerate(node))
        elif isinstance(node, str) and not node.isprintable():
            allowed = "\n\t" if where == ("description",) else ""
            for char in node:
                if char not in allowed and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
                    raise ScenarioError(source, _field_path(where), f"control character {char!r} in text "
                                                                    "(escape codes and invisible characters "
                                                                    "are not allowed)")


def _read_yaml(path: Path) -> Any:
    text = read_text(path, "yaml_bytes", str(path), ScenarioError)
    try:
        return load_yaml(text)
    except YamlError as exc:
        where = f" at line {exc.line}" + (f", column {exc.column}" if exc.column else "") if exc.line else ""
        raise ScenarioError(str(path), None, f"YAML syntax error{where}: {exc.problem}") from None


def merge_mappings(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key; lists and scalars replace."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_mappings(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolved(path: Path, source: str, field: str | None) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a loop of symbolic links
        reason = "a loop of symbolic links" if isinstance(exc, RuntimeError) or getattr(exc, "errno", 0) == 40 \
            else "not a usable path"
        reason = f"cannot read: {reason}"
        raise ScenarioError(source, field, reason if source == str(path) else f"{path}: {reason}") from None


def _resolve(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    path = _resolved(path, str(path), None)
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(str(path), "extends", f"cycle in extends: {cycle}")
    data = _read_yaml(path)
    if data is None:
        raise ScenarioError(str(path), None, "the file is empty: a scenario needs at least one field (or extends:)")
    if not isinstance(data, dict):
        raise ScenarioError(str(path), None, f"a scenario must be a mapping of fields, got {type(data).__name__}")
    if any(not isinstance(k, str) for k in _all_keys(data)):
        raise ScenarioError(str(path), None, "every field name must be text")
    _resolve_score_model_path(data, path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(str(path), "extends", "must be the path of another scenario file")
    try:
        target = (path.parent / parent).resolve()
        found = target.exists()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a name too long, a loop of links
        reason = "a loop of symbolic links" if isinstance(exc, RuntimeError) or getattr(exc, "errno", 0) == 40 \
            else describe_reason(exc)
        raise ScenarioError(str(path), "extends", f"target {parent!r} is not a usable path: {reason}") from None
    if not found:
        raise ScenarioError(str(path), "extends", f"target {parent!r} not found (looked for {target})")
    return merge_mappings(_resolve(target, (*chain, path)), data)


def describe_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0]


def _resolve_score_model_path(data: dict[str, Any], path: Path) -> None:
    """marketing.score_model is relative to the scenario file that names it: make it absolute."""
    marketing = data.get("marketing")
    model = marketing.get("score_model") if isinstance(marketing, dict) else None
    if isinstance(model, str) and model.strip() and "\x00" not in model and not Path(model).is_absolute():
        try:
            marketing["score_model"] = str((path.parent / model).resolve())
        except (OSError, RuntimeError):
            pass  # left as given: validation reports the file as not found


def _all_keys(data: Any):
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _all_keys(value)
    elif isinstance(data, list):
        for value in data:
            yield from _all_keys(value)


def load_scenario(path: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> Scenario:
    """Read a scenario file, resolve its ``extends`` chain, apply ``--set`` overrides, validate."""
    path = Path(path)
    try:
        data = _resolve(path, ())
    except RecursionError:
        raise ScenarioError(str(path), "extends", "extends chain too deep") from None
    if "name" not in _own_fields(path):  # a file that does not name itself is named after itself
        data["name"] = path.stem
    scenario = scenario_from_dict(data, str(path))  # the file's own mistakes are reported as the file's
    if overrides:
        data = apply_overrides(data, overrides, f"{path} (--set)")
        return scenario_from_dict(data, f"{path} (--set)")
    return scenario


def _own_fields(path: Path) -> set[str]:
    data = _read_yaml(_resolved(path, str(path), None))
    return set(data) if isinstance(data, dict) else set()


def _parse_override(item: str, source: str) -> tuple[str, Any]:
    if not isinstance(item, str) or "=" not in item:
        raise ScenarioError(source, None, f"override {item!r} must look like field.path=value")
    key, _, raw = item.partition("=")
    key = key.strip()
    if not key:
        raise ScenarioError(source, None, f"override {item!r} has no field name")
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except YamlError as exc:
        if exc.problem.startswith(("duplicate key", "the document has more than", "nested more than",
                                   "an alias refers")):
            raise ScenarioError(source, key, f"value {exc.problem}") from None
        value = raw  # not YAML: take it as text
    return key, value


def apply_overrides(data: dict[str, Any], overrides: list[str] | dict[str, Any], source: str = "--set") -> dict[str, Any]:
    """Set dotted fields (``team.reps=10``, ``sources.0.leads_per_month=900``) in a scenario mapping."""
    items = overrides.items() if isinstance(overrides, dict) else (_parse_override(o, source) for o in overrides)
    out = copy.deepcopy(data)
    for key, value in items:
        parts = key.split(".")
        node: Any = out
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            here = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                if not (part.isascii() and part.isdigit() and len(part) < 10) or int(part) >= len(node):
                    raise ScenarioError(source, here, f"no item {part!r} in this list of {len(node)}")
                index = int(part)
                if last:
                    node[index] = value
                else:
                    node = node[index]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    if part not in node:
                        node[part] = {}
                    elif not isinstance(node[part], (dict, list)):
                        raise ScenarioError(source, here, "is a single value, it has no sub-fields")
                    node = node[part]
            else:
                raise ScenarioError(source, here, "is a single value, it has no sub-fields")
    return out
