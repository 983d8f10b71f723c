"""The KPIs cannot tell the opposite story, on the real model.

Fewer reps never look faster (untouched MQLs count as not touched, not as missing), and
"A beats B" is only said on a measure defined the same way for both scenarios.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from funnelsim.commands.compare import comparison_text
from funnelsim.experiments.executors import SerialExecutor
from funnelsim.experiments.compare import A_WINS, B_WINS, NO_VERDICT, NOT_COMPARABLE, compare
from funnelsim.metrics import KPI_INFO, kpis
from funnelsim.model import simulate
from funnelsim.scenario import Scenario, load_scenario

#: every speed KPI that can win or lose: quantiles over all MQLs and the fixed-threshold shares
SPEED_KPIS = tuple(name for name, (_, _, direction) in KPI_INFO.items()
                   if direction and (name.startswith(("speed_to_lead", "touched_within")) or name == "mql_to_touched"))


@pytest.fixture(scope="module")
def five_minute(scenarios_dir: Path) -> Scenario:
    return load_scenario(scenarios_dir / "five_minute_sla.yaml", ["months=1"])


def test_the_speed_kpis_are_the_quantiles_and_the_thresholds() -> None:
    assert set(SPEED_KPIS) == {"speed_to_lead_median", "speed_to_lead_p90", "touched_within_5_min",
                               "touched_within_1_hour", "touched_within_1_business_day", "mql_to_touched"}


def test_two_reps_instead_of_eight_never_look_faster(short_baseline: Scenario) -> None:
    eight = kpis(simulate(short_baseline.with_overrides({"team.reps": 8}), 0, record_events=False))
    two = kpis(simulate(short_baseline.with_overrides({"team.reps": 2}), 0, record_events=False))
    assert two["mql_to_touched"] <= eight["mql_to_touched"]
    for name in SPEED_KPIS:
        direction = KPI_INFO[name][2]
        assert direction * (two[name] - eight[name]) <= 0 or two[name] == eight[name], (name, two[name], eight[name])
    assert two["speed_to_lead_median"] > eight["speed_to_lead_median"]
    # the same seed, the same MQLs: both shares and quantiles are over the same leads
    assert two["mqls"] == eight["mqls"]


def test_two_reps_get_no_faster_verdict_in_a_comparison(short_baseline: Scenario) -> None:
    eight = short_baseline.with_overrides({"team.reps": 8})
    two = short_baseline.with_overrides({"name": "two_reps", "team.reps": 2})
    result = compare(eight, two, replications=3, seed=1, executor=SerialExecutor())
    table = result.table.set_index("kpi")
    for name in SPEED_KPIS:
        assert table.loc[name, "verdict"] != B_WINS, (name, table.loc[name].to_dict())
    assert table.loc["touched_within_1_hour", "verdict"] == A_WINS
    assert table.loc["speed_to_lead_mean_touched", "verdict"] == NO_VERDICT


def test_sla_kpis_of_different_slas_are_not_comparable(short_baseline: Scenario, five_minute: Scenario) -> None:
    result = compare(short_baseline, five_minute, replications=2, seed=2, executor=SerialExecutor())
    table = result.table.set_index("kpi")
    sla = table.loc["sla_compliance"]
    assert sla["verdict"] == NOT_COMPARABLE
    assert sla["note"] == ("not comparable: the first-touch SLA differs (60 min vs 5 min) — see 'MQLs touched "
                           "within 1 hour of engaging'")
    assert math.isfinite(sla["diff"])  # the measured values are still shown
    # the clauses the two scenarios share, and every fixed threshold, keep their verdicts
    for name in ("assignment_sla_compliance", "first_week_attempt_compliance", "mql_delivery",
                 "touched_within_5_min", "touched_within_1_hour", "touched_within_1_business_day", "won_deals"):
        assert table.loc[name, "verdict"] not in (NOT_COMPARABLE, NO_VERDICT), name
        assert table.loc[name, "note"] == "", name
    # the headline table and the terminal table say so
    headline = result.verdicts().set_index("kpi")
    assert headline.loc["sla_compliance", "verdict"] == NOT_COMPARABLE
    assert "touched_within_1_hour" in headline.index
    text = comparison_text(result)
    assert "not comparable *" in text
    assert "* MQLs touched within the first-touch SLA: not comparable: the first-touch SLA differs" in text
    assert result.to_dict()["table"][list(table.index).index("sla_compliance")]["note"] == sla["note"]


@pytest.mark.parametrize("name", ["baseline", "more_reps", "lead_cap_500", "hot_lead_alerts", "perishable"])
def test_every_kpi_stays_in_the_range_its_intervals_are_cut_to(name: str, scenarios_dir: Path) -> None:
    # the intervals a reader sees are cut to kpi_range (a count is never negative, a share never above
    # one); that is only honest if no replication ever falls outside it, in any bundled scenario
    from funnelsim.metrics import kpi_range

    scenario = load_scenario(scenarios_dir / f"{name}.yaml").with_overrides({"months": 1})
    for seed in (1, 2):
        for kpi, value in kpis(simulate(scenario, seed, record_events=False)).items():
            low, high = kpi_range(kpi)
            assert math.isnan(value) or low <= value <= high, (name, seed, kpi, value, (low, high))
