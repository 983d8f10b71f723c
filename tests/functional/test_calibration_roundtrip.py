"""Round trip: simulate with known parameters -> export -> calibrate -> recover them.

The truth is `scenarios/five_minute_sla.yaml` (with reps reaching out twice to rebook a
demo no-show, a policy the base must know) with 30 calibratable fields moved away from
their values there — lead quality slopes and the half-lives of cold leads included;
calibration runs against the unmodified base, so every fitted value has to come from the
export. Tolerances, none tuned:

* at one seed, each fitted parameter lies within 4 of its own standard errors of the
  truth (for ~80 parameters the chance of any false alarm is below 1%);
* over SEEDS exports, z = (fitted − true) / standard error behaves as a standard normal:
  per parameter, its mean lies within the Bonferroni bound of N(0, 1/S) and its sum of
  squares within that of χ²_S (family-wise α = 1% each), and pooled over every parameter
  its variance lies in the χ² interval at α = 0.1%. Half-lives are fitted as decay rates
  (ln 2 / half-life, where the likelihood is near normal) and tested on that scale;
* the lead-quality slopes are regression-calibrated for the features' measurement noise;
  fitted on the raw features they are biased towards 0 (attenuation), tested as a bias of
  known direction;
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
from scipy import stats

from funnelsim import kpis, load_scenario, simulate
from funnelsim.errors import InputError
from funnelsim.crm.calibrate import Calibration, calibrate, calibrate_file, write_calibrated
from funnelsim.crm.export import write_export
from funnelsim.crm.read import read_export
from funnelsim.scenario import Scenario

FIVE_MINUTE_SLA = Path(__file__).resolve().parents[2] / "scenarios" / "five_minute_sla.yaml"
POLICY = {"demo": {"reschedule_attempts": 2}}  # the base's policy: reach out twice to rebook a no-show
TRUTH = {
    "sources.0.leads_per_month": 1300, "sources.1.legitimate_share": 0.3,
    "arrivals.weekday_profile": [1, 1, 1, 1, 1, 0.6, 0.4],
    "leads.personas.0.fit": 0.85, "leads.junk.interest": 0.25, "leads.concentration": 10,
    "leads.reachable_legitimate": 0.8, "follow_up.answer_probability": 0.5,
    "marketing.handoff_minutes": 10, "nurture.click_probability": 0.45,
    "nurture.junk_click_probability": 0.05, "nurture.review_days": 4,
    "speed_to_lead.p_durable": 0.25, "speed_to_lead.p_perishable": 0.6,
    "demo.no_show_probability": 0.3, "demo.opportunity_rate": 0.65, "demo.reschedule_success": 0.65,
    "opportunities.win_rate": 0.3, "opportunities.cycle_days_median": 45,
    "opportunities.deal_value_median": 30000, "opportunities.extra_opportunity_probability": 0.15,
    # the mechanisms of issue 8: lead quality and cold leads
    "leads.quality.answer_per_interest": 1.0, "leads.quality.sql_per_fit": 4.0,
    "leads.quality.sql_per_interest": 1.5, "leads.quality.win_per_fit": 3.0,
    "leads.quality.deal_value_per_fit": 1.5,
    "follow_up.answer_half_life_days": 20, "speed_to_lead.durable_half_life_days": 10,
}
EXPORT_MONTHS, KPI_MONTHS, REPLICATIONS = 6, 3, 4
SEEDS = (11, 1, 2, 3, 4, 5, 6, 7)  # the first is the single-seed export of the other tests
KPIS = ("leads", "mqls", "contacted", "sqls", "demos_held", "opportunities", "won_deals", "revenue",
        "speed_to_lead_median", "rep_utilisation", "attempts_per_lead")
SLOPES = ("leads.quality.sql_per_fit", "leads.quality.sql_per_interest")


@pytest.fixture(scope="module")
def base_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("base") / "base.yaml"
    path.write_text(f"extends: {FIVE_MINUTE_SLA.as_posix()}\nname: five_minute_sla_rebooking\n"
                    "demo:\n  reschedule_attempts: 2\n")
    return path


@pytest.fixture(scope="module")
def base(base_path) -> Scenario:
    return load_scenario(base_path)


@pytest.fixture(scope="module")
def truth(base) -> Scenario:
    return base.with_overrides({"months": EXPORT_MONTHS, **TRUTH})


@pytest.fixture(scope="module")
def export_path(truth, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("roundtrip") / "leads.csv"
    write_export(simulate(truth, seed=SEEDS[0], record_events=False), path)
    return path


@pytest.fixture(scope="module")
def calibration(export_path, base_path) -> Calibration:
    return calibrate_file(export_path, base_path)


@pytest.fixture(scope="module")
def z_scores(calibration, truth, base, tmp_path_factory) -> pd.DataFrame:
    """(seed, parameter, z) over SEEDS exports, and the raw-feature slopes' z."""
    folder = tmp_path_factory.mktemp("seeds")
    rows = []
    for seed in SEEDS:
        if seed == SEEDS[0]:
            result = calibration
        else:
            write_export(simulate(truth, seed=seed, record_events=False), folder / f"leads{seed}.csv")
            result = calibrate(read_export(folder / f"leads{seed}.csv"), base, f"leads{seed}.csv")
        rows += [{"seed": seed, **row} for row in z_rows(result, truth)]
    return pd.DataFrame(rows)


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


def z_rows(calibration: Calibration, truth: Scenario, profiles: bool = False) -> list[dict]:
    """z = (fitted − true) / se of every fitted parameter with a true value; half-lives as decay rates."""
    est = calibration.estimates.set_index("parameter")
    rates = calibration.tables["decay_rates"].set_index("parameter")
    checks = calibration.checks.set_index("check")
    out = []
    for parameter, row in est.drop(["months", "team.reps"]).iterrows():
        want = truth_value(truth, parameter)
        if want is None or (parameter.startswith("arrivals.") and not profiles):  # profiles: checked at one seed
            continue
        value, se = row["value"], row["se"]
        if parameter in rates.index:
            value, se, want = rates.loc[parameter, "rate_per_day"], rates.loc[parameter, "se"], math.log(2) / want
        out.append({"parameter": parameter, "z": (value - want) / se, "se": se})
        if parameter in SLOPES:
            raw = checks.loc[f"{parameter.rsplit('.', 1)[1]} on raw features (attenuated)", "observed"]
            out.append({"parameter": f"{parameter} (raw features)", "z": (raw - want) / se, "se": se})
    return out


def test_every_fitted_parameter_is_within_four_standard_errors(calibration, truth):
    est = calibration.estimates.set_index("parameter")
    assert est.loc["months", "value"] == pytest.approx(EXPORT_MONTHS, abs=1 / 30)
    assert est.loc["team.reps", "value"] == truth.team.reps
    z = pd.DataFrame(z_rows(calibration, truth, profiles=True)).set_index("parameter")
    z = z[~z.index.str.endswith("(raw features)")]
    assert (np.isfinite(z["se"]) & (z["se"] > 0)).all(), z[~(z["se"] > 0)]
    assert (z["z"].abs() <= 4).all(), z[z["z"].abs() > 4]
    assert len(z) >= 80  # the base differs from the truth in all TRUTH fields: these came from the data
    # the speed-to-lead effect is there: p_perishable is far from 0 with a 5-minute SLA
    assert est.loc["speed_to_lead.p_perishable", "value"] > 3 * est.loc["speed_to_lead.p_perishable", "se"]
    # and so is every mechanism of lead quality and cold leads
    for parameter in ("leads.quality.answer_per_interest", "leads.quality.sql_per_fit",
                      "leads.quality.sql_per_interest", "leads.quality.win_per_fit", "leads.quality.deal_value_per_fit"):
        assert est.loc[parameter, "value"] > 2 * est.loc[parameter, "se"], parameter


def test_z_scores_over_seeds_are_standard_normal(z_scores):
    z = z_scores[~z_scores["parameter"].str.endswith("(raw features)")]
    by = z.groupby("parameter")["z"]
    assert (by.size() == len(SEEDS)).all(), by.size()[by.size() != len(SEEDS)]
    m, S = by.ngroups, len(SEEDS)
    assert m >= 50
    alpha = 0.01 / m  # Bonferroni over the parameters
    bound = stats.norm.isf(alpha / 2) / math.sqrt(S)
    means = by.mean()
    assert (means.abs() <= bound).all(), means[means.abs() > bound]
    ss = by.apply(lambda v: float((v ** 2).sum()))
    low, high = stats.chi2.ppf(alpha / 2, S), stats.chi2.isf(alpha / 2, S)
    assert ((ss >= low) & (ss <= high)).all(), ss[(ss < low) | (ss > high)]
    n = len(z)
    total = float((z["z"] ** 2).sum())
    assert stats.chi2.ppf(0.0005, n) <= total <= stats.chi2.isf(0.0005, n), total / n


def test_raw_feature_slopes_are_attenuated(z_scores):
    """Measurement noise in the features biases the naive slopes towards 0; the calibrated ones are not."""
    raw = z_scores[z_scores["parameter"].str.endswith("(raw features)")]
    for parameter in SLOPES:
        naive = raw[raw["parameter"] == f"{parameter} (raw features)"]["z"]
        corrected = z_scores[z_scores["parameter"] == parameter]["z"]
        assert len(naive) == len(SEEDS)
        # both truths are positive: attenuation shows as a negative bias, beyond the sampling error of the mean
        assert naive.mean() < -stats.norm.isf(0.01) / math.sqrt(len(SEEDS)), (parameter, naive.mean())
        assert (naive.to_numpy() < corrected.to_numpy()).all(), parameter


def test_fit_checks_pass(calibration):
    checks = calibration.checks.set_index("check")
    tested = checks[np.isfinite(checks["p_value"])]
    assert len(tested) >= 8
    # no model part is rejected at the 0.1% level (Bonferroni-style over the ~9 tests)
    assert (tested["p_value"] > 0.001).all(), tested[["statistic", "p_value"]]
    for slope in SLOPES:  # raw-feature slopes are shown beside the corrected ones
        name = slope.rsplit(".", 1)[1]
        assert 0 < checks.loc[f"{name} on raw features (attenuated)", "observed"] < checks.loc[
            f"{name} on raw features (attenuated)", "fitted"]
    assert checks.loc["SQLs among leads of unknown persona", "observed"] == 0


def test_policies_come_from_the_base(calibration, base):
    sc = calibration.scenario
    assert sc.demo.reschedule_attempts == 2 == base.demo.reschedule_attempts
    assert sc.team.tiers == base.team.tiers and sc.routing == base.routing
    assert "team.tiers" in calibration.from_base and "routing.reclaim_untouched_days" in calibration.from_base
    assert "taken from the base scenario" in calibration.text()
    assert sc.sla.first_touch_minutes == 5 == base.sla.first_touch_minutes
    assert sc.team.working_hours == base.team.working_hours
    assert sc.follow_up.attempt_offsets == base.follow_up.attempt_offsets
    assert sc.marketing.mql_threshold == base.marketing.mql_threshold
    assert [s.cost_per_lead for s in sc.sources] == [s.cost_per_lead for s in base.sources]


def test_calibrated_kpis_match_the_original(calibration, truth):
    original = pd.DataFrame([kpis(simulate(truth.with_overrides({"months": KPI_MONTHS}), seed, record_events=False))
                             for seed in range(100, 100 + REPLICATIONS)])
    fitted = pd.DataFrame([kpis(simulate(calibration.scenario.with_overrides({"months": KPI_MONTHS}), seed,
                                    record_events=False)) for seed in range(200, 200 + REPLICATIONS)])
    for kpi in KPIS:
        a, b = original[kpi], fitted[kpi]
        se = math.sqrt(a.var() / REPLICATIONS + b.var() / REPLICATIONS + a.var() * KPI_MONTHS / EXPORT_MONTHS)
        assert abs(b.mean() - a.mean()) <= 3 * se, f"{kpi}: calibrated {b.mean():.4g} vs original {a.mean():.4g}"


def test_written_scenario_extends_the_base_and_loads_back(calibration, base_path, tmp_path):
    out = tmp_path / "scenarios" / "calibrated.yaml"
    write_calibrated(calibration, out, base_path)
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
