"""Property test: hostile ``--set`` values end in ScenarioError, never in anything else.

Over 1,000 generated override lists per run, in-process through :func:`load_scenario` and
:meth:`Scenario.with_overrides`: every field of the baseline set to booleans, huge and
overflowing numbers (``1e999``), tiny positive durations, control and escape characters,
YAML flow collections with duplicate keys, alias bombs and deep nesting, and dotted paths
with odd parts. Each either loads as a valid Scenario within the documented limits or
raises ScenarioError on one line naming the ``--set`` source. A few end-to-end CLI cases
check the same through ``funnelsim run``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from funnelsim.cli import main
from funnelsim.errors import ScenarioError
from funnelsim.limits import limit
from funnelsim.scenario import MAX_LOGNORMAL_SIGMA, MIN_AGEING_DAYS, Scenario, load_scenario

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "scenarios" / "baseline.yaml"
BASE_SCENARIO = load_scenario(BASELINE)


def _paths(node: Any, prefix: tuple = ()) -> list[str]:
    out = [".".join(map(str, prefix))] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


FIELDS = sorted(set(_paths(BASE_SCENARIO.model_dump(mode="json"))))
HOSTILE = ["true", "false", "yes", "no", "on", "null", "~", "1e999", "-1e999", ".inf", ".nan", "1e308", "1e-9",
           "1e-300", "-0.0", "0", "9" * 400, "0x1F", "0o17", "1_000", "5m", "1e9h", "'\x1b[31mred'", "\"a\\0b\"",
           "\"\\u202e\"", "{a: 1, a: 2}", "[1, 1, 1, 1, 1, 1, true]", "&a [*a]", "[" * 200 + "]" * 200,
           "{x: &a [1,2,3,4,5,6,7,8,9], y: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], z: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], "
           "w: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]}",
           "2024-01-01", "!!binary aGk=", "!!python/object:os.system x", "|", "- a\n- b", "a: b: c", "", " "]

FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=15),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.integers().map(str), st.booleans().map(str).map(str.lower))
keys = st.one_of(st.sampled_from(FIELDS), st.lists(st.one_of(st.sampled_from(["team", "sources", "0", "99", "reps",
                                                                              "name", "-1", "\x00", "0" * 20]),
                                                             st.text(max_size=5)),
                                                   min_size=1, max_size=4).map(".".join))
overrides = st.lists(st.tuples(keys, values).map(lambda kv: f"{kv[0]}={kv[1]}"), min_size=1, max_size=3)


def check(call) -> None:
    started = time.monotonic()
    try:
        scenario = call()
    except ScenarioError as exc:
        text = str(exc)
        assert "--set" in text and "\n" not in text and "\x1b" not in text and "\x00" not in text, text
        event("ScenarioError")
    else:
        event("loaded")
        assert isinstance(scenario, Scenario)
        assert scenario.months <= limit("months")
        assert sum(s.leads_per_month for s in scenario.sources) * scenario.months <= limit("leads")
        assert scenario.follow_up.ageing_days is None or scenario.follow_up.ageing_days >= MIN_AGEING_DAYS
        assert scenario.opportunities.deal_value_sigma <= MAX_LOGNORMAL_SIGMA
        assert all(isinstance(s.name, str) and s.name.isprintable() for s in scenario.sources)
        assert not isinstance(scenario.team.reps, bool) and math.isfinite(scenario.months)
    assert time.monotonic() - started < 5


@settings(FUZZ, max_examples=500)
@given(items=overrides)
def test_set_values_on_load(items: list[str]) -> None:
    check(lambda: load_scenario(BASELINE, items))


@settings(FUZZ, max_examples=500)
@given(items=overrides)
def test_set_values_on_a_loaded_scenario(items: list[str]) -> None:
    check(lambda: BASE_SCENARIO.with_overrides(items))


@pytest.mark.parametrize("value", ["team.reps=true", "months=1e999", "follow_up.ageing_days=1e-9",
                                   "name=\x1b[31mred", "team={reps: 1, reps: 2}"])
def test_cli_end_to_end(capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert main(["run", str(BASELINE), "--set", value]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"funnelsim: error: {BASELINE} (--set): ")
    assert "\x1b" not in err and "internal error" not in err
