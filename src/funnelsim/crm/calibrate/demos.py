"""Demos: the no-show probability, rebooking success per reach-out, demo → opportunity."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...scenario import Scenario
from .fitting import _Collector, _Export, _hessian_se, _se_binomial, _sig


def _reschedule(appointments: np.ndarray, held: np.ndarray, reach_outs: int, col: _Collector) -> float | None:
    """Rebooking after no-shows: each reach-out books a new demo with s, at most R over a lead's life.

    The export shows appointments A and whether a demo was held, not the reach-outs: a
    lead whose last appointment was missed had exactly A − 1 successes in its R reach-outs
    (Binomial(R, s) = A − 1); a lead held after A − 1 no-shows had at least A − 1.
    """
    from scipy import optimize, stats
    R = reach_outs
    booked = appointments >= 1
    a, h = appointments[booked], held[booked]
    final_no_show = ~h
    won_back = h & (a >= 2)
    if R <= 0 or not (final_no_show.any() or won_back.any()):
        return None
    successes_missed = a[final_no_show] - 1
    successes_held = a[won_back] - 1

    def nll(x: np.ndarray) -> float:
        s = float(np.clip(x[0], 1e-12, 1 - 1e-12))
        return -float(stats.binom.logpmf(successes_missed, R, s).sum()
                      + stats.binom.logsf(successes_held - 1, R, s).sum())

    res = optimize.minimize_scalar(lambda s: nll(np.array([s])), bounds=(1e-9, 1 - 1e-9), method="bounded",
                                   options={"xatol": 1e-10})
    s = float(res.x)
    se = _hessian_se(nll, np.array([s]), [1e-9], [1 - 1e-9])[0]
    n = int(final_no_show.sum() + won_back.sum())
    col.add("demo.reschedule_success", s, se, n, note=f"per reach-out, {R} over a lead's life (base)")
    return _sig(s)


def _demos(data: _Export, base: Scenario, col: _Collector) -> dict[str, Any]:
    """The fitted ``demo`` part: no-show probability, rebooking success, demo → opportunity."""
    frame = data.frame
    demo: dict[str, Any] = {}
    appointments = frame["demo_appointments"].to_numpy()
    no_shows = frame["demo_no_shows"].to_numpy()
    held = frame["demo_held"].to_numpy()
    total = int(appointments.sum())
    if total:
        p = float(no_shows.sum() / total)
        col.add("demo.no_show_probability", p, _se_binomial(p, total), total)
        demo["no_show_probability"] = _sig(p)
        s = _reschedule(appointments, held, base.demo.reschedule_attempts, col)
        if s is not None:
            demo["reschedule_success"] = s
    n_held = int(held.sum())
    opportunity = frame["opportunity"].to_numpy()
    if n_held:
        rate = float(opportunity[held].mean())
        col.add("demo.opportunity_rate", rate, _se_binomial(rate, n_held), n_held)
        demo["opportunity_rate"] = _sig(rate)
    return {"demo": demo} if demo else {}
