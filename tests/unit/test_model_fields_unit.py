"""The scenario fields of the rebuilt model: tiers, reclaiming, cold leads, quality."""

from __future__ import annotations

import pytest

from funnelsim.errors import ScenarioError
from funnelsim.scenario import Scenario, scenario_from_dict


def team(reps: int, tiers: list[dict]) -> Scenario:
    return scenario_from_dict({"team": {"reps": reps, "tiers": tiers}})


def test_reps_fill_the_tiers_in_order_and_hires_join_the_last_tier():
    tiers = [{"name": "senior", "reps": 2}, {"name": "junior", "reps": 2}]
    assert team(4, tiers).team.rep_tiers() == [0, 0, 1, 1]
    assert team(6, tiers).team.rep_tiers() == [0, 0, 1, 1, 1, 1]
    assert team(3, tiers).team.rep_tiers() == [0, 0, 1]  # cuts come from the last tier
    assert team(1, tiers).team.rep_tiers() == [0]
    assert team(0, tiers).team.rep_tiers() == []
    assert team(3, []).team.rep_tiers() == [0, 0, 0]


def test_tier_names_are_unique():
    with pytest.raises(ScenarioError, match="tier names must be unique"):
        team(2, [{"name": "a", "reps": 1}, {"name": "a", "reps": 1}])


@pytest.mark.parametrize("value", [1e-12, 0.01])
def test_reclaiming_needs_at_least_an_hour(value):
    with pytest.raises(ScenarioError, match="routing.reclaim_untouched_days: must be at least"):
        scenario_from_dict({"routing": {"reclaim_untouched_days": value}})
    assert scenario_from_dict({"routing": {"reclaim_untouched_days": 1}}).routing.reclaim_untouched_days == 1


def test_quality_slopes_are_bounded_numbers():
    with pytest.raises(ScenarioError, match="leads.quality.sql_per_fit"):
        scenario_from_dict({"leads": {"quality": {"sql_per_fit": 1e9}}})
    with pytest.raises(ScenarioError, match="leads.quality"):
        scenario_from_dict({"leads": {"quality": {"sql_per_fitt": 1}}})
