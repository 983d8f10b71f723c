"""Step 8 of a lead's path: qualification — and what lead quality and cold leads do to the odds.

A reached legitimate lead becomes a sales-qualified lead (SQL) with probability

    P(SQL) = expit( logit(p_durable · c(d) + p_perishable · m(t)) + quality + rep skill )

- ``m(t)``, the speed-to-lead decay over minutes (t from the moment the lead engaged to
  the contact; ``m(0) = 1``). ``published`` is a two-term exponential fitted to the
  published odds (Oldroyd 2007; Oldroyd, McElheran & Elkington, HBR 2011): qualify 5 vs
  10 min ≈ 4×, 5 vs 30 min ≈ 21×, first vs second hour ≈ 7×, first hour vs ≥ 24 h ≈ 60×.
  The others are alternatives for sensitivity analysis.
- ``c(d) = 0.5 ** (d / durable_half_life_days)``: leads go cold over days and weeks too
  (bought elsewhere, moved on), d in days since engaging.
- quality: log-odds per unit of fit and interest away from the average legitimate lead
  (``leads.quality``); rep skill: the rep's log-odds shift (``team.tiers``, ``skill_spread``).

The same quality terms move the chance to answer a call and to win a deal (see
:func:`quality_shifts`). With quality and skill 0 the formula is the plain
``p_durable · c(d) + p_perishable · m(t)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..scenario import Scenario, SpeedToLead
from ..units import MINUTES_PER_DAY

__all__ = [
    "decay_curve",
    "CURVES",
    "qualification_probability",
    "cold_factor",
    "QualityShifts",
    "quality_shifts",
    "reference_quality",
    "logit",
    "expit",
]

_A1, _TAU1, _A2, _TAU2, _FLOOR = 0.9889, 3.21, 0.0101, 392.0, 0.00099
_EPS = 1e-12


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


def cold_factor(half_life_days: float | None) -> Callable[[float], float]:
    """c(t) for t in minutes since engaging: 0.5 ** (days / half-life); 1 when there is no half-life."""
    if half_life_days is None:
        return lambda _t: 1.0
    rate = math.log(2.0) / (half_life_days * MINUTES_PER_DAY)
    return lambda t: math.exp(-rate * t)


def logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def expit(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def qualification_probability(params: SpeedToLead, minutes: np.ndarray | float) -> np.ndarray:
    """Vectorised P(SQL | contacted at t) of the average lead, for plots, calibration and validation.

    t in minutes since engaging; the durable part goes cold over days as the scenario says.
    """
    t = np.asarray(minutes, dtype=float)
    m = np.vectorize(decay_curve(params), otypes=[float])(t)
    cold = np.vectorize(cold_factor(params.durable_half_life_days), otypes=[float])(t)
    return params.p_durable * cold + params.p_perishable * m


def reference_quality(scenario: Scenario) -> tuple[float, float]:
    """Mean fit and interest of a legitimate lead: the personas' means weighted by share."""
    personas = scenario.leads.personas
    total = sum(p.share for p in personas)
    fit = sum(p.share * p.fit for p in personas) / total
    interest = sum(p.share * p.interest for p in personas) / total
    return fit, interest


@dataclass(frozen=True)
class QualityShifts:
    """Per-lead log-odds shifts (legitimate leads; 0 for junk) and deal-value multipliers, as lists."""

    answer: list[float]
    sql: list[float]
    win: list[float]
    value: list[float]


def quality_shifts(scenario: Scenario, legitimate: np.ndarray, fit: np.ndarray, interest: np.ndarray) -> QualityShifts:
    """How each lead's fit and interest move its odds to answer, qualify and win, and its deal value."""
    q = scenario.leads.quality
    ref_fit, ref_interest = reference_quality(scenario)
    legit = np.asarray(legitimate, dtype=bool)
    d_fit = np.where(legit, np.asarray(fit, dtype=float) - ref_fit, 0.0)
    d_int = np.where(legit, np.asarray(interest, dtype=float) - ref_interest, 0.0)
    return QualityShifts(
        answer=(q.answer_per_interest * d_int).tolist(),
        sql=(q.sql_per_fit * d_fit + q.sql_per_interest * d_int).tolist(),
        win=(q.win_per_fit * d_fit).tolist(),
        value=np.exp(q.deal_value_per_fit * d_fit).tolist(),
    )


def sql_shift(scenario: Scenario, fit: float, interest: float) -> float:
    """The SQL log-odds shift of one legitimate lead (after a click raised its interest)."""
    q = scenario.leads.quality
    ref_fit, ref_interest = reference_quality(scenario)
    return q.sql_per_fit * (fit - ref_fit) + q.sql_per_interest * (interest - ref_interest)


def answer_shift(scenario: Scenario, interest: float) -> float:
    """The answering log-odds shift of one legitimate lead."""
    return scenario.leads.quality.answer_per_interest * (interest - reference_quality(scenario)[1])
