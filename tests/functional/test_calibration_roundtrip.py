"""Round trip: simulate with known parameters -> export -> calibrate -> recover them.

The truth is `scenarios/five_minute_sla.yaml` with 20 calibratable fields moved away from
their values there; calibration runs against the unmodified file as base, so every
fitted value has to come from the export. Tolerances:

* each fitted parameter lies within 4 of its own standard errors of the truth (for ~75
  parameters the chance of any false alarm is below 1%; the standard errors were checked
  over 12 seeds: the z-scores have mean ≈ 0 and sd ≈ 1);
* each KPI of the calibrated scenario lies within 3 standard errors of the original's,
  where the standard error combines both scenarios' replication noise (R replications of
  3 months each) and the calibration's own sampling error, the noise of a KPI over the
  6-month export scaled to 3 months (sd_original · √(3/6)).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from funnelsim import InputError, load_scenario, simulate
from funnelsim.calibrate import calibrate, calibrate_file, write_calibrated
from funnelsim.crm import read_export, write_export
from funnelsim.scenario import Scenario

BASE = Path(__file__).resolve().parents[2] / "scenarios" / "five_minute_sla.yaml"
TRUTH = {
    "sources.0.leads_per_month": 1300, "sources.1.legitimate_share": 0.3,
    "arrivals.weekday_profile": [1, 1, 1, 1, 1, 0.6, 0.4],
    "leads.personas.0.fit": 0.85, "leads.junk.interest": 0.25, "leads.concentration": 10,
    "leads.reachable_legitimate": 0.8, "follow_up.answer_probability": 0.5,
    "marketing.handoff_minutes": 10, "nurture.click_probability": 0.45,
    "speed_to_lead.p_durable": 0.25, "speed_to_lead.p_perishable": 0.6,
    "demo.no_show_probability": 0.3, "demo.opportunity_rate": 0.65,
    "opportunities.win_rate": 0.3, "opportunities.cycle_days_median": 45,
    "opportunities.deal_value_median": 30000, "opportunities.extra_opportunity_probability": 0.15,
}
EXPORT_MONTHS, KPI_MONTHS, REPLICATIONS = 6, 3, 4
KPIS = ("leads", "mqls", "contacted", "sqls", "demos_held", "opportunities", "won_deals", "revenue",
        "speed_to_lead_median", "rep_utilisation", "attempts_per_lead")


@pytest.fixture(scope="module")
def base() -> Scenario:
    return load_scenario(BASE)


@pytest.fixture(scope="module")
def truth(base) -> Scenario:
    return base.with_overrides({"months": EXPORT_MONTHS, **TRUTH})


@pytest.fixture(scope="module")
def export_path(truth, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("roundtrip") / "leads.csv"
    write_export(simulate(truth, seed=11, record_events=False), path)
    return path


@pytest.fixture(scope="module")
def calibration(export_path):
    return calibrate_file(export_path, BASE)


def truth_value(sc: Scenario, parameter: str) -> float | None:
    """The true value behind an estimate's name (None where only a product is identifiable)."""
    m = re.fullmatch(r"arrivals\.(hourly|weekday)_profile\[(\d+)\]", parameter)
    if m:  # profiles are relative weights: compare them normalised to mean 1
        weights = np.asarray(getattr(sc.arrivals, f"{m.group(1)}_profile"), dtype=float)
        return float(weights[int(m.group(2))] / weights.mean())
    m = re.fullmatch(r"sources\[(\w+)\]\.(\w+)", parameter)
    if m:
        return float(getattr(next(s for s in sc.sources if s.name == m.group(1)), m.group(2)))
    m = re.fullmatch(r"leads\.personas\[(\w+)\]\.(\w+)", parameter)
    if m:
        persona = next(p for p in sc.leads.personas if p.name == m.group(1))
        if m.group(2) == "share":
            return persona.share / sum(p.share for p in sc.leads.personas)
        if m.group(2) == "median_deal_value":
            return sc.opportunities.deal_value_median * persona.deal_value_multiplier
        if m.group(2) == "deal_value_multiplier":
            return None  # only median × multiplier is identifiable (checked as median_deal_value)
        return float(getattr(persona, m.group(2)))
    if parameter == "opportunities.deal_value_median":
        return None  # the geometric mean over all deals, a mix of personas
    node: object = sc
    for part in parameter.split("."):
        node = getattr(node, part)
    return float(node)  # type: ignore[arg-type]


def test_every_fitted_parameter_is_within_four_standard_errors(calibration, truth):
    est = calibration.estimates.set_index("parameter")
    assert est.loc["months", "value"] == pytest.approx(EXPORT_MONTHS, abs=1 / 30)
    assert est.loc["team.reps", "value"] == truth.team.reps
    checked = []
    for parameter, row in est.drop(["months", "team.reps"]).iterrows():
        want = truth_value(truth, parameter)
        if want is None:
            continue
        assert np.isfinite(row["se"]) and row["se"] > 0, parameter
        assert abs(row["value"] - want) <= 4 * row["se"], f"{parameter}: {row['value']:.4g} vs truth {want:.4g} " \
                                                           f"(se {row['se']:.3g})"
        checked.append(parameter)
    assert len(checked) >= 70  # the base differs from the truth in all TRUTH fields: these came from the data
    # the speed-to-lead effect is there: p_perishable is far from 0 with a 5-minute SLA
    assert est.loc["speed_to_lead.p_perishable", "value"] > 3 * est.loc["speed_to_lead.p_perishable", "se"]


def test_fit_checks_pass(calibration):
    checks = calibration.checks.set_index("check")
    tested = checks[np.isfinite(checks["p_value"])]
    assert len(tested) >= 8
    # no model part is rejected at the 0.1% level (Bonferroni-style over the ~9 tests)
    assert (tested["p_value"] > 0.001).all(), tested[["statistic", "p_value"]]
    assert checks.loc["SQLs among leads of unknown persona", "observed"] == 0


def test_policies_come_from_the_base(calibration, base):
    sc = calibration.scenario
    assert sc.sla.first_touch_minutes == 5 == base.sla.first_touch_minutes
    assert sc.team.working_hours == base.team.working_hours
    assert sc.follow_up.attempt_offsets == base.follow_up.attempt_offsets
    assert sc.marketing.mql_threshold == base.marketing.mql_threshold
    assert [s.cost_per_lead for s in sc.sources] == [s.cost_per_lead for s in base.sources]


def test_calibrated_kpis_match_the_original(calibration, truth):
    original = pd.DataFrame([simulate(truth.with_overrides({"months": KPI_MONTHS}), seed, record_events=False).kpis()
                             for seed in range(100, 100 + REPLICATIONS)])
    fitted = pd.DataFrame([simulate(calibration.scenario.with_overrides({"months": KPI_MONTHS}), seed,
                                    record_events=False).kpis() for seed in range(200, 200 + REPLICATIONS)])
    for kpi in KPIS:
        a, b = original[kpi], fitted[kpi]
        se = math.sqrt(a.var() / REPLICATIONS + b.var() / REPLICATIONS + a.var() * KPI_MONTHS / EXPORT_MONTHS)
        assert abs(b.mean() - a.mean()) <= 3 * se, f"{kpi}: calibrated {b.mean():.4g} vs original {a.mean():.4g}"


def test_written_scenario_extends_the_base_and_loads_back(calibration, tmp_path):
    out = tmp_path / "scenarios" / "calibrated.yaml"
    write_calibrated(calibration, out, BASE)
    text = out.read_text()
    assert "\nextends: " in text and text.startswith("# Calibrated from leads.csv")
    loaded = load_scenario(out)
    assert loaded.hash == calibration.scenario.hash
    assert loaded.name == "calibrated"
    assert not list(out.parent.glob("*.tmp"))


def test_without_a_base_the_scenario_is_complete(export_path, tmp_path):
    result = calibrate(read_export(export_path))
    out = write_calibrated(result, tmp_path / "complete.yaml")
    assert "extends" not in out.read_text()
    loaded = load_scenario(out)
    assert loaded.hash == result.scenario.hash
    assert loaded.follow_up.answer_probability == pytest.approx(0.5, abs=0.03)


def test_too_short_an_export_is_refused(export_path, tmp_path):
    frame = read_export(export_path)
    short = frame[frame["created_at"] < frame["created_at"].min() + pd.Timedelta(days=3)]
    with pytest.raises(InputError, match="at least 7 days"):
        calibrate(short, source="short.csv")
