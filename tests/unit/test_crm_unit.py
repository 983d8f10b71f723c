"""CRM export schema and features, on small synthetic data (no simulation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from funnelsim.errors import InputError
from funnelsim.crm.export import parse_epoch
from funnelsim.crm.features import COMPANY_SIZE_NOISE, crm_features, feature_noise, fit_from_company_size, \
    interest_from_engagement
from funnelsim.crm.schema import COLUMNS, SCHEMA, STAGE_ORDER, TIME_COLUMNS
from funnelsim.vocabulary import OUTCOMES


@pytest.mark.parametrize("text", ["2024-01-02", "2024-01-01T09:00", "monday", "2024-13-01"])
def test_start_must_be_a_monday_midnight(text):
    with pytest.raises(InputError, match="--start"):
        parse_epoch(text)


def test_schema_documents_every_column():
    assert len(set(COLUMNS)) == len(COLUMNS) == len(SCHEMA)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "crm-export.md").read_text()
    for column in SCHEMA:
        assert f"`{column.name}`" in doc, column.name


def test_statuses_are_the_funnels_outcomes():
    status = next(c for c in SCHEMA if c.name == "status")
    assert status.meaning == "final status: " + ", ".join(OUTCOMES)
    assert set(STAGE_ORDER) <= set(TIME_COLUMNS) and STAGE_ORDER[-1] == "resolved_at"
    assert "closed_at" not in COLUMNS  # the model's closed_at (prospecting ended) is another time


# --------------------------------------------------------------------------- features


def test_engagement_is_the_documented_poisson_quantile():
    n = 5000
    noise = feature_noise(11, ["web"], np.zeros(n, dtype=int))
    interest = np.random.default_rng(0).random(n)
    features = crm_features(noise, np.full(n, 0.5), interest)
    for column, u, mean in (("pages_viewed", noise.pages, 24.0 * interest),
                            ("email_clicks", noise.clicks, 6.0 * interest)):
        k = features[column] - (column == "pages_viewed")
        # the smallest k with P(Poisson(mean) <= k) >= u
        assert (stats.poisson.cdf(k, mean) >= u).all() and (stats.poisson.cdf(k - 1, mean) < u).all(), column


def test_features_are_keyed_by_source_not_by_other_sources():
    source = np.array([0, 1, 0, 1, 0])
    alone = feature_noise(7, ["web", "paid"], source)
    # a third source interleaved changes nothing for the leads of the first two
    mixed = feature_noise(7, ["web", "paid", "events"], np.array([0, 2, 1, 0, 2, 1, 0]))
    assert np.array_equal(alone.size[source == 0], mixed.size[np.array([0, 2, 1, 0, 2, 1, 0]) == 0])
    assert np.array_equal(alone.pages[source == 1], mixed.pages[np.array([0, 2, 1, 0, 2, 1, 0]) == 1])
    assert not np.array_equal(feature_noise(8, ["web", "paid"], source).size, alone.size)


def test_engagement_rises_with_interest_for_the_same_lead():
    noise = feature_noise(3, ["web"], np.zeros(4000, dtype=int))
    fit = np.full(4000, 0.6)
    low = crm_features(noise, fit, np.full(4000, 0.3))
    high = crm_features(noise, fit, np.full(4000, 0.6))
    assert (high["pages_viewed"] >= low["pages_viewed"]).all()
    assert (high["email_clicks"] >= low["email_clicks"]).all()
    assert np.array_equal(high["company_size"], low["company_size"])  # fit did not move


def test_feature_link_inverts_in_expectation():
    n = 20_000
    rng = np.random.default_rng(1)
    fit = rng.beta(6.4, 1.6, n)
    interest = rng.beta(4.8, 3.2, n)
    features = crm_features(feature_noise(5, ["web"], np.zeros(n, dtype=int)), fit, interest)
    fit_hat = fit_from_company_size(features["company_size"])
    interest_hat = interest_from_engagement(features["pages_viewed"], features["email_clicks"])
    # unbiased: the mean error is within 4 standard errors of zero
    fit_err = fit_hat - fit
    assert abs(fit_err.mean()) < 4 * fit_err.std() / np.sqrt(n)
    assert fit_err.std() == pytest.approx(COMPANY_SIZE_NOISE / 3.5, rel=0.05)
    int_err = interest_hat - interest
    assert abs(int_err.mean()) < 4 * int_err.std() / np.sqrt(n)
    assert int_err.var() == pytest.approx(interest.mean() / 30, rel=0.05)
