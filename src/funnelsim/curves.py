"""Speed-to-lead decay curves m(t): how the chance to qualify a lead fades with response time.

``m(0) = 1`` for every curve; t is minutes from the moment the lead engaged (created, or
clicked a campaign email) to the moment a rep reached it. The qualification model is
``P(SQL | contact at t) = p_durable + p_perishable · m(t)``.

``published`` is a two-term exponential fitted to the published odds (Oldroyd 2007;
Oldroyd, McElheran & Elkington, HBR 2011): qualify 5 vs 10 min ≈ 4×, 5 vs 30 min ≈ 21×,
first vs second hour ≈ 7×, first hour vs ≥ 24 h ≈ 60×. The others are alternatives for
sensitivity analysis.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .scenario import SpeedToLead

__all__ = ["decay_curve", "CURVES", "qualification_probability"]

_A1, _TAU1, _A2, _TAU2, _FLOOR = 0.9889, 3.21, 0.0101, 392.0, 0.00099


def _published(t: float) -> float:
    return _A1 * math.exp(-t / _TAU1) + _A2 * math.exp(-t / _TAU2) + _FLOOR


def _exponential(half_life: float) -> Callable[[float], float]:
    rate = math.log(2.0) / half_life
    return lambda t: math.exp(-rate * t)


def _linear(half_life: float) -> Callable[[float], float]:
    # reaches zero at twice the half-life
    return lambda t: max(0.0, 1.0 - t / (2.0 * half_life))


def _none(_t: float) -> float:
    return 1.0


CURVES = ("published", "exponential", "linear", "none")


def decay_curve(params: SpeedToLead) -> Callable[[float], float]:
    """The scalar m(t) the simulation calls once per contact."""
    if params.curve == "published":
        return _published
    if params.curve == "exponential":
        return _exponential(params.half_life_minutes)
    if params.curve == "linear":
        return _linear(params.half_life_minutes)
    return _none


def qualification_probability(params: SpeedToLead, minutes: np.ndarray | float) -> np.ndarray:
    """Vectorised P(SQL | contacted at t) for plots, calibration and validation."""
    m = np.vectorize(decay_curve(params), otypes=[float])(np.asarray(minutes, dtype=float))
    return params.p_durable + params.p_perishable * m
