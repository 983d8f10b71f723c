"""Calibration's estimators in isolation, on synthetic data drawn from the model they assume."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from funnelsim.crm.calibrate.demos import _reschedule
from funnelsim.crm.calibrate.fitting import _Collector, _Export, _half_life
from funnelsim.crm.calibrate.nurture import _review_days
from funnelsim.crm.calibrate.quality import _latent_quality
from funnelsim.scenario import Scenario


def _estimate(col: _Collector, parameter: str) -> dict:
    return next(row for row in col.estimates if row["parameter"] == parameter)


@pytest.mark.parametrize("seed", [0, 1])
def test_rebooking_success_per_reach_out_is_recovered(seed):
    """Each no-show starts reach-outs (R over a lead's life); each books a new demo with s."""
    rng = np.random.default_rng(seed)
    R, s, no_show = 3, 0.4, 0.35
    appointments, held = [], []
    for _ in range(4000):
        tries, left = 1, R
        while rng.random() < no_show:
            booked = False
            while left and not booked:
                left -= 1
                booked = rng.random() < s
            if not booked:
                break
            tries += 1
        else:
            appointments.append(tries)
            held.append(True)
            continue
        appointments.append(tries)
        held.append(False)
    col = _Collector()
    _reschedule(np.array(appointments), np.array(held), R, col)
    row = _estimate(col, "demo.reschedule_success")
    assert abs(row["value"] - s) <= 4 * row["se"]


def test_rebooking_is_not_fitted_without_reach_outs():
    col = _Collector()
    assert _reschedule(np.array([1, 1, 2]), np.array([True, False, True]), 0, col) is None
    assert not col.estimates


def _nurture_export(review_minutes: float, handoff_minutes: float, n: int, seed: int) -> tuple[_Export, np.ndarray]:
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 30, n), unit="D")
    click = created + pd.to_timedelta(rng.exponential(10, n), unit="D")
    mql = click + pd.to_timedelta(rng.exponential(review_minutes, n) + rng.exponential(handoff_minutes, n), unit="m")
    frame = pd.DataFrame({c: pd.Series(pd.NaT, index=range(n)) for c in (
        "created_at", "engaged_at", "mql_at", "assigned_at", "first_touch_at", "contacted_at", "sql_at",
        "demo_held_at", "opportunity_at", "resolved_at")})
    frame["created_at"], frame["engaged_at"], frame["mql_at"] = created, click, mql
    return _Export.of(frame), np.ones(n, dtype=bool)


@pytest.mark.parametrize("review_days", [0.5, 7.0])
def test_review_days_are_recovered_from_click_to_mql(review_days):
    handoff = 30.0
    data, clicked = _nurture_export(review_days * 1440, handoff, 3000, 3)
    col = _Collector()
    _review_days(data, np.ones(len(clicked), dtype=bool), clicked, handoff, col)
    row = _estimate(col, "nurture.review_days")
    assert abs(row["value"] - review_days) <= 4 * row["se"]


def test_half_life_is_reported_from_its_decay_rate():
    col = _Collector()
    assert _half_life(col, "x.half_life_days", math.log(2) / 10, 0.01, 100, "days") == 10
    row = _estimate(col, "x.half_life_days")
    assert row["low"] == pytest.approx(math.log(2) / (math.log(2) / 10 + 0.0196))
    assert row["high"] == pytest.approx(math.log(2) / (math.log(2) / 10 - 0.0196))
    assert col.rates == [{"parameter": "x.half_life_days", "rate_per_day": math.log(2) / 10, "se": 0.01}]
    assert _half_life(col, "y.half_life_days", 0.0, 0.01, 100, "days") is None  # no cooling: null
    assert _estimate(col, "y.half_life_days")["high"] == math.inf


def test_regression_calibration_removes_the_attenuation_of_interest():
    """E[interest | features] is an unbiased regressor: the true interest regressed on it has slope 1,
    while on the raw inverted feature the slope is the reliability ratio, well below 1."""
    rng = np.random.default_rng(5)
    n, mean, conc = 20_000, 0.55, 8.0
    interest = rng.beta(mean * conc, (1 - mean) * conc, n)
    fit = rng.beta(0.7 * conc, 0.3 * conc, n)
    frame = pd.DataFrame({
        "persona": "buyer", "mql": True, "nurtured": False,
        "company_size": np.maximum(1, np.rint(10 ** (0.5 + 3.5 * fit + 0.15 * rng.standard_normal(n)))).astype(int),
        "pages_viewed": 1 + rng.poisson(24 * interest), "email_clicks": rng.poisson(6 * interest),
        "created_at": pd.Timestamp("2024-01-01"),
    })
    for column in ("engaged_at", "mql_at", "assigned_at", "first_touch_at", "contacted_at", "sql_at",
                   "demo_held_at", "opportunity_at", "resolved_at"):
        frame[column] = frame["created_at"]
    base = Scenario().with_overrides({"marketing.min_fit": 0.0, "marketing.mql_threshold": 0})
    quality = {"personas": [{"name": "buyer", "share": 1.0, "fit": 0.7, "interest": mean}], "concentration": conc}
    latent = _latent_quality(_Export.of(frame), base, quality)
    for estimate, truth in ((latent.interest, interest), (latent.fit, fit)):
        slope = stats.linregress(estimate, truth).slope
        assert abs(slope - 1) < 4 * stats.linregress(estimate, truth).stderr
    raw = stats.linregress(latent.naive_interest, interest)
    assert raw.slope < 0.7  # reliability Var(x) / (Var(x) + E[x]/30) ≈ 0.55 here
    # the posterior variance is what is left: E[(x - E[x|w])²] = E[Var(x|w)]
    assert np.mean((interest - latent.interest) ** 2) == pytest.approx(np.mean(latent.var_interest), rel=0.05)
