"""Unit tests of the KPIs on small hand-built results: speed over every MQL, SLA clauses, rep cost, comparability."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from funnelsim.experiments.compare import NO_VERDICT, NOT_COMPARABLE, _comparison_table
from funnelsim.metrics import (
    KPI_DEFINED_BY,
    KPI_INFO,
    NO_VERDICT_KPIS,
    UNBOUNDED_KPIS,
    comparability_note,
    duty_between,
    kpis,
    speed_quantile,
)
from funnelsim.present.format import format_value
from funnelsim.units import MINUTES_PER_DAY, MINUTES_PER_MONTH

NAN = math.nan
MON = 0.0
TUE = MINUTES_PER_DAY


def _scenario(**sla: object) -> SimpleNamespace:
    team = SimpleNamespace(reps=2, cost_per_rep_month=1000.0, shift=(540.0, 1020.0),
                           working_days=["mon", "tue", "wed", "thu", "fri"])
    terms = {"mqls_per_month": 10.0, "assign_within_minutes": 60.0, "first_touch_minutes": 60.0,
             "min_attempts_first_week": 6, "clock": "business_hours", **sla}
    return SimpleNamespace(months=0.5, team=team, sla=SimpleNamespace(**terms))


def _result(scenario: SimpleNamespace | None = None, **stats: float) -> SimpleNamespace:
    """Four MQLs and one filtered lead, Monday 09:00–17:00 shifts:

    A engages and is handed off at Mon 10:00, touched and reached 3 min later;
    B engages at Mon 10:00, is handed off at 10:30, assigned 70 duty minutes later, touched at 10:50, called 6
    times in week one, never reached; C engages at Mon 16:40, first touched Tue 09:30 (1,010 min later, 50 duty
    minutes), called 3 times; D is handed off at Mon 10:00 and never touched.
    """
    t = MON + 600.0
    leads = pd.DataFrame({
        "created_at": [t, t, MON + 1000, t, 100.0],
        "engaged_at": [t, t, MON + 1000, t, 100.0],
        "mql_at": [t, t + 30, MON + 1000, t, NAN],
        "assigned_at": [t, t + 100, MON + 1000, t, NAN],
        "first_touch_at": [t + 3, t + 50, TUE + 570, NAN, NAN],
        "contacted_at": [t + 3, NAN, NAN, NAN, NAN],
        "attempts": [1, 6, 3, 0, 0],
        "attempts_week1": [1, 6, 3, 0, 0],
        "sql_at": [t + 20, NAN, NAN, NAN, NAN],
        "demo_held_at": [NAN] * 5,
        "opportunity_at": [NAN] * 5,
        "won_at": [NAN] * 5,
        "legitimate": [True, True, True, True, False],
        "revenue": [0.0] * 5,
        "outcome": ["open", "unresponsive", "unresponsive", "aged_out", "filtered"],
        "cost": [10.0] * 5,
    })
    reps = pd.DataFrame({"busy_minutes": [100.0, 300.0], "duty_minutes": [1000.0, 1000.0]})
    return SimpleNamespace(scenario=scenario or _scenario(), leads=leads, reps=reps,
                           backlog=pd.DataFrame({"open_leads": [3, 4]}),
                           stats={"horizon_minutes": 0.5 * MINUTES_PER_MONTH, "mean_leads_in_sales": 2.5, **stats})


# ------------------------------------------------------------------ speed-to-lead over every MQL


def test_speed_quantile_counts_untouched_leads_as_not_touched() -> None:
    assert speed_quantile([3.0, 50.0, 1010.0, math.inf], 0.5) == 50.0  # the lower middle value, no interpolation
    assert speed_quantile([3.0, 50.0, 1010.0, 70.0, NAN], 0.5) == 70.0  # NaN = not touched
    assert speed_quantile([3.0, 50.0, 1010.0, math.inf], 0.75) == 1010.0
    assert speed_quantile([3.0, 50.0, 1010.0, math.inf], 0.9) == math.inf
    assert speed_quantile([NAN, NAN, 5.0], 0.5) == math.inf  # fewer than half touched
    assert speed_quantile([7.0], 0.9) == 7.0
    assert math.isnan(speed_quantile([], 0.5))
    # at least q of the MQLs were touched within the quantile, and the quantile is the smallest such time
    values = np.array([9.0, 1.0, 4.0, 4.0, 30.0, math.inf, 2.0, math.inf, 12.0, 5.0])
    for q in (0.1, 0.25, 0.5, 0.8, 0.9):
        t = speed_quantile(values, q)
        assert (values <= t).mean() >= q and (values < t).mean() < q


def test_speed_kpis_are_over_every_mql() -> None:
    k = kpis(_result())
    assert k["mqls"] == 4 and k["leads"] == 5
    assert k["mql_to_touched"] == 0.75
    assert k["speed_to_lead_median"] == 50.0  # of 3, 50, 1010 and not touched
    assert k["speed_to_lead_p90"] == math.inf
    assert k["speed_to_lead_mean_touched"] == pytest.approx((3 + 50 + 1010) / 3)
    assert k["touched_within_5_min"] == 0.25  # wall clock from engaging: A
    assert k["touched_within_1_hour"] == 0.5  # A, B
    assert k["touched_within_1_business_day"] == 0.75  # on-duty time from hand-off: A 3, B 20, C 50 minutes


def test_one_business_day_is_the_shift_length_of_duty_time() -> None:
    result = _result()
    leads = result.leads
    leads.loc[2, "first_touch_at"] = TUE + 9 * 60 + 460  # Tue 16:40: 20 + 460 = 480 duty minutes: just in
    assert kpis(result)["touched_within_1_business_day"] == 0.75
    leads.loc[2, "first_touch_at"] = TUE + 9 * 60 + 461
    assert kpis(result)["touched_within_1_business_day"] == 0.5


def test_duty_time_skips_nights_and_weekends() -> None:
    team = _scenario().team
    friday_4pm, monday_10am = 4 * MINUTES_PER_DAY + 960, 7 * MINUTES_PER_DAY + 600
    assert duty_between(team, [friday_4pm], [monday_10am])[0] == 120.0
    assert duty_between(team, [MON + 1000], [TUE + 570])[0] == 50.0
    assert np.isnan(duty_between(team, [MON], [NAN])[0])
    around = SimpleNamespace(shift=(0.0, MINUTES_PER_DAY), working_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    assert duty_between(around, [friday_4pm], [monday_10am])[0] == monday_10am - friday_4pm


# ------------------------------------------------------------------ every SLA clause


def test_every_sla_clause_is_measured() -> None:
    k = kpis(_result())
    assert k["mqls_per_month"] == 8.0 and k["mql_delivery"] == 0.8  # 4 MQLs in half a month vs 10 promised a month
    assert k["assignment_sla_compliance"] == 0.75  # B waited 70 duty minutes for a rep
    assert k["sla_compliance"] == 0.75  # business hours: C waited 50 duty minutes; D never touched: a breach
    assert k["first_week_attempt_compliance"] == 0.5  # A reached, B called 6 times; C 3 times, D never
    assert k["attempts_per_lead"] == 2.5
    assert k["rep_utilisation"] == 0.2


def test_sla_clauses_follow_the_scenarios_own_sla() -> None:
    calendar = kpis(_result(_scenario(clock="calendar")))
    assert calendar["sla_compliance"] == 0.5  # C waited 1,010 calendar minutes
    assert calendar["assignment_sla_compliance"] == 0.75
    strict = kpis(_result(_scenario(first_touch_minutes=5.0, min_attempts_first_week=3, mqls_per_month=0.0)))
    assert strict["sla_compliance"] == 0.25
    assert strict["first_week_attempt_compliance"] == 0.75
    assert math.isnan(strict["mql_delivery"])  # nothing promised
    # the fixed thresholds do not move with the SLA
    base = kpis(_result())
    for name in ("touched_within_5_min", "touched_within_1_hour", "touched_within_1_business_day",
                 "speed_to_lead_median"):
        assert strict[name] == base[name] == calendar[name]


# ------------------------------------------------------------------ rep cost covers the cohort's tail


def test_rep_cost_covers_the_time_reps_work_after_arrivals_stop() -> None:
    plain = kpis(_result())  # a model that does not report when work ended: the arrival months
    assert plain["work_months"] == 0.5 and plain["rep_cost"] == 2 * 1000.0 * 0.5
    tail = kpis(_result(work_end_minutes=0.75 * MINUTES_PER_MONTH))
    assert tail["work_months"] == pytest.approx(0.75)
    assert tail["rep_cost"] == pytest.approx(2 * 1000.0 * 0.75)
    assert tail["total_cost"] == pytest.approx(1500.0 + 50.0)
    assert tail["rep_utilisation"] == plain["rep_utilisation"]  # measured over the arrival window
    early = kpis(_result(work_end_minutes=0.25 * MINUTES_PER_MONTH))
    assert early["rep_cost"] == plain["rep_cost"]  # never less than the arrival months


# ------------------------------------------------------------------ labels and comparability


def test_every_kpi_has_a_label_unit_and_direction() -> None:
    names = set(kpis(_result())) - {k for k in kpis(_result()) if k.startswith("leak_")}
    assert names == set(KPI_INFO)
    for name, (label, unit, direction) in KPI_INFO.items():
        assert label and unit in {"count", "ratio", "minutes", "money", "months"} and direction in (-1, 0, 1), name
    assert set(KPI_DEFINED_BY) | set(NO_VERDICT_KPIS) | set(UNBOUNDED_KPIS) <= set(KPI_INFO)
    for terms, see in KPI_DEFINED_BY.values():
        assert see is None or (see in KPI_INFO and see not in KPI_DEFINED_BY)
    assert format_value("speed_to_lead_p90", math.inf) == "not touched"
    assert format_value("work_months", 1.25) == "1.25 months"


def test_comparability_note_names_the_setting_that_differs() -> None:
    base, strict = _scenario(), _scenario(first_touch_minutes=5.0)
    assert comparability_note("sla_compliance", [base, _scenario()]) == ""
    assert comparability_note("sla_compliance", [base, strict]) == (
        "not comparable: the first-touch SLA differs (60 min vs 5 min) — see 'MQLs touched within 1 hour of "
        "engaging'")
    assert comparability_note("touched_within_1_hour", [base, strict]) == ""
    assert comparability_note("won_deals", [base, strict]) == ""
    assert "the promised MQLs a month differs (10 vs 12)" in comparability_note(
        "mql_delivery", [base, _scenario(mqls_per_month=12.0)])
    # longer hours change a business-hours clock and the business day, not a calendar clock
    longer = _scenario()
    longer.team.shift = (480.0, 1200.0)
    note = comparability_note("sla_compliance", [base, longer])
    assert note.startswith("not comparable: the SLA clock differs (09:00–17:00 mon/tue/wed/thu/fri vs 08:00–20:00")
    assert comparability_note("touched_within_1_business_day", [base, longer]).startswith("not comparable")
    calendar, calendar_longer = _scenario(clock="calendar"), _scenario(clock="calendar")
    calendar_longer.team.shift = (480.0, 1200.0)
    assert comparability_note("sla_compliance", [calendar, calendar_longer]) == ""
    assert comparability_note("speed_to_lead_mean_touched").startswith("no verdict: it averages touched leads")


def _figures(values: dict[str, list[float]]) -> list[dict[str, float]]:
    n = len(next(iter(values.values())))
    return [{k: v[i] for k, v in values.items()} for i in range(n)]


def test_a_kpi_defined_differently_gets_no_verdict_and_no_place_in_holm() -> None:
    base = {"sla_compliance": [0.8, 0.82, 0.85, 0.9], "won_deals": [10.0, 20.0, 30.0, 40.0]}
    variant = {"sla_compliance": [0.3, 0.31, 0.33, 0.35], "won_deals": [15.0, 25.0, 35.0, 45.0]}
    figures = [_figures(base), _figures(variant), _figures(variant)]
    scenarios = [_scenario(), _scenario(first_touch_minutes=5.0), _scenario()]
    table = _comparison_table(figures, ["A", "B", "C"], {}, "paired-t", 0, scenarios).set_index(["variant", "kpi"])
    strict = table.loc[("B", "sla_compliance")]
    assert strict["verdict"] == NOT_COMPARABLE and "(60 min vs 5 min)" in strict["note"]
    assert strict["diff"] == pytest.approx(-0.52) and math.isnan(strict["p_adjusted"])  # the difference is shown
    same = table.loc[("C", "sla_compliance")]
    assert same["verdict"] == "A wins" and same["note"] == ""
    assert same["p_adjusted"] == same["p_value"]  # the only test of this KPI: nothing to correct for
    assert table.loc[("B", "won_deals"), "verdict"] == "B wins"


def test_not_touched_on_one_side_gets_no_verdict_and_on_both_sides_counts_as_equal() -> None:
    base = {"speed_to_lead_median": [100.0, 120.0, 90.0], "speed_to_lead_mean_touched": [400.0, 420.0, 390.0]}
    slower = {"speed_to_lead_median": [math.inf, math.inf, 200.0], "speed_to_lead_mean_touched": [90.0, 80.0, 85.0]}
    table = _comparison_table([_figures(base), _figures(slower)], ["A", "B"], {}, "paired-t", 0).set_index("kpi")
    median = table.loc["speed_to_lead_median"]
    assert median["verdict"] == NO_VERDICT and median["mean_variant"] == math.inf
    assert median["note"].startswith("no verdict: in 2 of 3 replications only one side is 'not touched'")
    assert "see 'MQL → touched (called at least once)'" in median["note"]
    mean = table.loc["speed_to_lead_mean_touched"]  # looks faster, but only counts the leads touched
    assert mean["verdict"] == NO_VERDICT and mean["diff"] < 0 and "touched leads only" in mean["note"]
    both = {"speed_to_lead_median": [math.inf, math.inf, 200.0]}
    same = _comparison_table([_figures(both), _figures(both)], ["A", "B"], {}, "paired-t", 0).iloc[0]
    assert (same["diff"], same["ci_low"], same["ci_high"]) == (0.0, 0.0, 0.0)
    assert same["verdict"] == "no practical difference" and same["note"] == ""
