"""Unit tests of sweep files (designs, validation) and staffing targets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from funnelsim.errors import InputError
from funnelsim.experiments.staffing import Condition, parse_target
from funnelsim.experiments.sweep import Factor, load_sweep, sweep_from_dict


def test_bundled_factorial_sweep(scenarios_dir: Path) -> None:
    sweep = load_sweep(scenarios_dir / "sweeps" / "reps_and_sla.yaml")
    points = sweep.points()
    assert list(points.columns) == ["point", "team.reps", "sla.first_touch_minutes"]
    assert len(points) == 6
    # around the baseline's 4 reps: overloaded, as is, and two more
    assert sweep.base.team.reps == 4
    assert set(map(tuple, points[["team.reps", "sla.first_touch_minutes"]].to_numpy())) == {
        (2, 5), (2, 60), (4, 5), (4, 60), (6, 5), (6, 60)}
    scenarios = sweep.scenarios()
    assert [s.team.reps for s in scenarios] == list(points["team.reps"])
    assert [s.sla.first_touch_minutes for s in scenarios] == list(points["sla.first_touch_minutes"])
    assert len({s.hash for s in scenarios}) == 6


def test_bundled_latin_hypercube_is_stratified_and_seeded(scenarios_dir: Path) -> None:
    sweep = load_sweep(scenarios_dir / "sweeps" / "capacity_lhs.yaml")
    points = sweep.points()
    assert len(points) == 12
    # 12 strata over 3 listed values: each value exactly 4 times
    assert Counter(points["sla.first_touch_minutes"]) == {5: 4, 15: 4, 60: 4}
    # 12 strata over the 7 whole numbers 2..8 (around the baseline's 4): every number appears, none more than twice
    counts = Counter(points["team.reps"])
    assert set(counts) == set(range(2, 9)) and max(counts.values()) <= 2
    # a continuous-like range: one point in each twelfth of [50, 650]
    strata = np.floor((points["routing.lead_cap"].to_numpy() - 50) / (601 / 12)).astype(int)
    assert sorted(strata) == list(range(12))
    assert sweep.base.routing.lead_cap is None  # the baseline has no cap: every point adds one
    assert points.equals(load_sweep(scenarios_dir / "sweeps" / "capacity_lhs.yaml").points())


def _sweep(tmp_path: Path, scenarios_dir: Path, **fields) -> dict:
    data = {"base": str(scenarios_dir / "baseline.yaml"), "factors": {"team.reps": [4, 6]}}
    data.update(fields)
    return data


def test_ranges_with_levels_and_fixed_overrides(tmp_path: Path, scenarios_dir: Path) -> None:
    data = _sweep(tmp_path, scenarios_dir, set={"months": 2},
                  factors={"marketing.mql_threshold": {"low": 20, "high": 40, "levels": 3},
                           "team.reps": {"low": 4, "high": 6, "type": "int", "levels": 5}})
    sweep = sweep_from_dict(data, "x.yaml")
    points = sweep.points()
    assert sorted(set(points["marketing.mql_threshold"])) == [20.0, 30.0, 40.0]
    assert sorted(set(points["team.reps"])) == [4, 5, 6]  # 5 levels over 3 integers, duplicates dropped
    assert all(s.months == 2 for s in sweep.scenarios())
    assert Factor("f", low=0.0, high=1.0).at(0.25) == 0.25


def test_different_seeds_give_different_hypercubes(tmp_path: Path, scenarios_dir: Path) -> None:
    spec = {"design": "latin_hypercube", "samples": 8, "factors": {"marketing.mql_threshold": {"low": 20, "high": 40}}}
    one = sweep_from_dict(_sweep(tmp_path, scenarios_dir, seed=1, **spec), "x.yaml").points()
    two = sweep_from_dict(_sweep(tmp_path, scenarios_dir, seed=2, **spec), "x.yaml").points()
    assert not one.equals(two)


@pytest.mark.parametrize("fields, field, message", [
    ({"desgin": "full_factorial"}, "desgin", "unknown field"),
    ({"design": "sobol"}, "design", "must be one of"),
    ({"design": "latin_hypercube"}, "samples", "whole number"),
    ({"samples": 5}, "samples", "only a latin_hypercube"),
    ({"replications": 0}, "replications", "at least 1"),
    ({"factors": {}}, "factors", "at least one"),
    ({"factors": {"team.reps": {"low": 4, "high": 8}}}, "factors.team.reps", "needs levels"),
    ({"factors": {"team.reps": {"low": 8, "high": 4, "levels": 2}}}, "factors.team.reps", "must not be below"),
    ({"factors": {"team.reps": {"values": [], }}}, "factors.team.reps.values", "non-empty"),
    ({"factors": {"team.reps": {"step": 2}}}, "factors.team.reps.step", "unknown key"),
    ({"factors": {"team.reps": "many"}}, "factors.team.reps", "list of values"),
    ({"kpis": ["won_dels"]}, "won_dels", "did you mean won_deals"),
    ({"base": "nowhere.yaml"}, "base", "not found"),
])
def test_malformed_sweeps_name_the_file_and_field(tmp_path: Path, scenarios_dir: Path, fields, field,
                                                  message) -> None:
    with pytest.raises(InputError) as info:
        sweep_from_dict(_sweep(tmp_path, scenarios_dir, **fields), "bad.yaml", tmp_path)
    text = str(info.value)
    assert text.startswith("bad.yaml") and field in text and message in text
    assert "\n" not in text


def test_bad_point_values_are_caught_before_anything_runs(tmp_path: Path, scenarios_dir: Path) -> None:
    with pytest.raises(InputError, match=r"point 1: team.reps=-1\): team.reps: .*greater than or equal to 0"):
        sweep_from_dict(_sweep(tmp_path, scenarios_dir, factors={"team.reps": [4, -1]}), "bad.yaml")
    with pytest.raises(InputError, match=r"point 1: routing.lead_cap=0\): routing.lead_cap: .*or equal to 1"):
        sweep_from_dict(_sweep(tmp_path, scenarios_dir, factors={"routing.lead_cap": [500, 0]}), "bad.yaml")
    # no reps at all is a valid point (the extreme-condition test): not an error
    assert [s.team.reps for s in sweep_from_dict(_sweep(tmp_path, scenarios_dir, factors={"team.reps": [0, 4]}),
                                                 "ok.yaml").scenarios()] == [0, 4]
    with pytest.raises(InputError, match="team.repz: unknown field"):
        sweep_from_dict(_sweep(tmp_path, scenarios_dir, factors={"team.repz": [4]}), "bad.yaml")


def test_yaml_syntax_error_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("base: [unclosed\n")
    with pytest.raises(InputError, match=r"broken.yaml: YAML syntax error at line"):
        load_sweep(path)
    with pytest.raises(InputError, match="file not found"):
        load_sweep(tmp_path / "missing.yaml")


# ------------------------------------------------------------------ staffing targets


def test_parse_targets() -> None:
    (c,) = parse_target("sla_compliance >= 0.95").conditions
    assert c == Condition("sla_compliance", ">=", 0.95)
    assert parse_target("sla_compliance ≥ 95%").conditions == (c,)
    assert parse_target("mean(sla_compliance) >= 0.95").conditions == (c,)
    (p,) = parse_target("P(won_deals_per_month >= 25) >= 0.9").conditions
    assert p == Condition("won_deals_per_month", ">=", 25.0, 0.9)
    both = parse_target("sla_compliance >= 0.9 and p(backlog_mean < 400) > 80%")
    assert both.conditions[1] == Condition("backlog_mean", "<", 400.0, 0.8, strict_probability=True)
    assert str(both) == "sla_compliance >= 0.9 and P(backlog_mean < 400) > 0.8"


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("sla_compliance", "cannot read"),
    ("sla_compliance => 0.9", "cannot read"),
    ("sla_complience >= 0.9", "did you mean sla_compliance"),
    ("P(won_deals >= 3) >= 1.5", "between 0 and 1"),
    ("P(won_deals >= 3) <= 0.5", "cannot read"),
])
def test_malformed_targets(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_target(text, "--target")
    assert str(info.value).startswith("--target")


def test_condition_evaluation() -> None:
    mean = Condition("sla_compliance", ">=", 0.5).evaluate([0.4, 0.6, 0.7, np.nan])
    assert mean["estimate"] == pytest.approx(17 / 30) and mean["met"]
    assert mean["ci_low"] < mean["estimate"] < mean["ci_high"]
    prob = Condition("won_deals", ">=", 10, 0.75).evaluate([9, 10, 11, 12])
    assert prob["estimate"] == 0.75 and prob["met"]
    assert 0 < prob["ci_low"] < 0.75 < prob["ci_high"] < 1
    strict = Condition("won_deals", ">=", 10, 0.75, strict_probability=True).evaluate([9, 10, 11, 12])
    assert not strict["met"]
    assert not Condition("won_deals", ">=", 10, 0.5).evaluate([np.nan, np.nan])["met"]


def test_a_null_level_means_no_value_not_nan(tmp_path):
    """`routing.lead_cap: [null, 500]` compares no cap with a cap of 500 (null must not become NaN)."""
    from funnelsim.experiments.sweep import sweep_from_dict

    sweep = sweep_from_dict({"name": "caps", "base": "../baseline.yaml", "replications": 1,
                             "factors": {"routing.lead_cap": [None, 500], "team.reps": [4, 6]}, "kpis": ["won_deals"]},
                            "caps.yaml", Path(__file__).resolve().parents[2] / "scenarios" / "sweeps")
    assert sweep.points()["routing.lead_cap"].tolist() == [None, None, 500, 500]
    assert [(s.routing.lead_cap, s.team.reps) for s in sweep.scenarios()] == [(None, 4), (None, 6), (500, 4), (500, 6)]
