"""CRM features: what a CRM sees of a lead's latent fit and interest.

Fit and interest are latent in the model; a CRM sees firmographic and engagement
features instead. :func:`crm_features` derives them from fit and interest with seeded
noise from streams keyed ``("crm", "features", source, quantity)``, so an export and a
simulation with the same seed see the same features for the same lead, and a model
trained on an export can score simulated leads:

* ``company_size`` = max(1, round(10 ** (0.5 + 3.5·fit + 0.15·z))), z standard normal;
* ``pages_viewed`` = 1 + Poisson quantile(u₁; 24·interest), u₁ uniform;
* ``email_clicks`` = Poisson quantile(u₂; 6·interest), u₂ uniform.

The same uniforms give the features after a campaign click (higher interest), so a
clicked lead's engagement rises and its other noise stays. :func:`fit_from_company_size`
and :func:`interest_from_engagement` invert the link in expectation (calibration uses them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..rng import Streams

__all__ = [
    "FeatureNoise",
    "feature_noise",
    "crm_features",
    "fit_from_company_size",
    "interest_from_engagement",
    "COMPANY_SIZE_NOISE",
]

#: standard deviation of log10(company size) around 0.5 + 3.5·fit
COMPANY_SIZE_NOISE = 0.15
_SIZE_BASE, _SIZE_SLOPE = 0.5, 3.5
_PAGES_PER_INTEREST, _CLICKS_PER_INTEREST = 24.0, 6.0


@dataclass(frozen=True)
class FeatureNoise:
    """The random part of each lead's CRM features (drawn once, reused after a click)."""

    size: np.ndarray  # standard normal
    pages: np.ndarray  # uniform (0, 1)
    clicks: np.ndarray  # uniform (0, 1)


def feature_noise(seed: int, source_names: Sequence[str], source: np.ndarray) -> FeatureNoise:
    """Draw the feature noise of leads given as source indices in creation order.

    Each source's leads take the first draws of their own streams, in creation order, so
    the same leads get the same features whatever other sources or policies exist.
    """
    source = np.asarray(source)
    n = len(source)
    size, pages, clicks = np.empty(n), np.empty(n), np.empty(n)
    streams = Streams(int(seed))
    for index, name in enumerate(source_names):
        where = np.flatnonzero(source == index)
        if not len(where):
            continue
        k = len(where)
        size[where] = streams.generator("crm", "features", name, "company_size").standard_normal(k)
        pages[where] = streams.generator("crm", "features", name, "pages_viewed").random(k)
        clicks[where] = streams.generator("crm", "features", name, "email_clicks").random(k)
    return FeatureNoise(size, pages, clicks)


def _poisson_quantile(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Smallest k with P(Poisson(mean) ≤ k) ≥ u (``scipy.stats.poisson.ppf``; u = 0 gives 0, not −1)."""
    from scipy import stats

    return np.maximum(stats.poisson.ppf(u, mean), 0.0).astype(np.int64)


def crm_features(noise: FeatureNoise, fit: np.ndarray, interest: np.ndarray) -> dict[str, np.ndarray]:
    """company_size, pages_viewed and email_clicks from fit and interest (see the module doc)."""
    fit = np.asarray(fit, dtype=float)
    interest = np.asarray(interest, dtype=float)
    size = np.maximum(1, np.rint(10.0 ** (_SIZE_BASE + _SIZE_SLOPE * fit + COMPANY_SIZE_NOISE * noise.size)))
    return {
        "company_size": size.astype(np.int64),
        "pages_viewed": 1 + _poisson_quantile(noise.pages, _PAGES_PER_INTEREST * interest),
        "email_clicks": _poisson_quantile(noise.clicks, _CLICKS_PER_INTEREST * interest),
    }


def fit_from_company_size(company_size: np.ndarray) -> np.ndarray:
    """Unbiased (up to rounding) estimate of fit: (log10(size) − 0.5) / 3.5; its noise sd is 0.15/3.5."""
    return (np.log10(np.maximum(np.asarray(company_size, dtype=float), 1.0)) - _SIZE_BASE) / _SIZE_SLOPE


def interest_from_engagement(pages_viewed: np.ndarray, email_clicks: np.ndarray) -> np.ndarray:
    """Unbiased estimate of interest: (pages_viewed − 1 + email_clicks) / 30; noise variance interest/30."""
    total = np.asarray(pages_viewed, dtype=float) - 1.0 + np.asarray(email_clicks, dtype=float)
    return total / (_PAGES_PER_INTEREST + _CLICKS_PER_INTEREST)

