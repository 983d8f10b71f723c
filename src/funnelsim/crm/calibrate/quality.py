"""Lead quality: persona shares, each persona's (and junk's) fit and interest, their concentration.

Means come from the CRM features, inverting the link of :mod:`funnelsim.crm.features`;
the Beta concentration by the method of moments with the feature noise removed. The
marketing rule's checks compare who qualifies at once and who is filtered out with what
the fitted distributions imply.

Fit and interest are latent and the export's features measure them with noise, which
would bias the quality slopes of the later fits towards 0; :func:`_latent_quality` gives
each MQL's posterior mean and (co)variance for *regression calibration* (:class:`_Latent`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...scenario import Scenario
from ..features import COMPANY_SIZE_NOISE, fit_from_company_size, interest_from_engagement
from ..schema import UNKNOWN_PERSONA
from .fitting import _clip01, _Collector, _Export, _in_base_order, _se_binomial, _sig


def _lead_quality(data: _Export, base: Scenario, col: _Collector) -> dict[str, Any]:
    frame = data.frame
    persona = frame["persona"].to_numpy()
    fit = fit_from_company_size(frame["company_size"].to_numpy())
    interest = interest_from_engagement(frame["pages_viewed"].to_numpy(), frame["email_clicks"].to_numpy())
    legit = persona != UNKNOWN_PERSONA
    n_legit = int(legit.sum())
    base_personas = {p.name: p for p in base.leads.personas}
    out: dict[str, Any] = {}
    personas: list[dict[str, Any]] = []
    noise_var = (COMPANY_SIZE_NOISE / 3.5) ** 2
    numerator = denominator = var_denominator = 0.0
    names = _in_base_order(pd.unique(persona[legit]), [p.name for p in base.leads.personas])
    groups: list[tuple[str, np.ndarray]] = [(name, persona == name) for name in names]
    groups.append((UNKNOWN_PERSONA, ~legit))
    for name, mask in groups:
        n = int(mask.sum())
        if n == 0:
            continue
        f, i = fit[mask], interest[mask]
        mf, mi = float(f.mean()), float(i.mean())
        sf = float(f.std(ddof=1)) if n > 1 else math.nan
        si = float(i.std(ddof=1)) if n > 1 else math.nan
        label = "leads.junk" if name == UNKNOWN_PERSONA else f"leads.personas[{name}]"
        col.add(f"{label}.fit", mf, sf / math.sqrt(n), n)
        col.add(f"{label}.interest", mi, si / math.sqrt(n), n)
        if n > 1:
            # Var(estimate) = m(1-m)/(c+1) + noise variance, for fit and interest alike
            vf, vi = float(f.var(ddof=1)), float(i.var(ddof=1))
            numerator += n * (_clip01(mf) * (1 - _clip01(mf)) + _clip01(mi) * (1 - _clip01(mi)))
            denominator += n * ((vf - noise_var) + (vi - mi / 30.0))
            var_denominator += n * n * 2.0 * (vf * vf + vi * vi) / (n - 1)
        if name == UNKNOWN_PERSONA:
            out["junk"] = {"fit": _sig(_clip01(mf, 0.001, 0.999)), "interest": _sig(_clip01(mi, 0.001, 0.999))}
        else:
            share = n / n_legit
            col.add(f"leads.personas[{name}].share", share, _se_binomial(share, n_legit), n_legit)
            old = base_personas.get(name)
            personas.append({"name": name, "share": _sig(share), "fit": _sig(_clip01(mf, 0.001, 0.999)),
                             "interest": _sig(_clip01(mi, 0.001, 0.999)),
                             "deal_value_multiplier": old.deal_value_multiplier if old else 1.0})
    if personas:
        out["personas"] = personas
    if denominator > 0 and numerator > denominator:
        conc = numerator / denominator - 1.0
        se = (conc + 1.0) * math.sqrt(var_denominator) / denominator
        col.add("leads.concentration", conc, se, len(frame))
        out["concentration"] = _sig(conc)
    else:
        col.add("leads.concentration", base.leads.concentration, note="features too noisy: kept the base value")
    return out


def _mql_checks(data: _Export, base: Scenario, quality: dict[str, Any], col: _Collector) -> None:
    """Do the fitted fit/interest distributions and the base's marketing rule reproduce who qualifies?"""
    from scipy import stats
    mk = base.marketing
    if mk.score_model is not None or "concentration" not in quality:
        return
    frame = data.frame
    conc = quality["concentration"]
    persona = frame["persona"].to_numpy()
    direct = frame["mql"].to_numpy() & ~frame["nurtured"].to_numpy()
    filtered = frame["status"].to_numpy() == "filtered"
    groups = [(p["name"], p["fit"], p["interest"], persona == p["name"]) for p in quality.get("personas", [])]
    if "junk" in quality:
        groups.append((UNKNOWN_PERSONA, quality["junk"]["fit"], quality["junk"]["interest"],
                       persona == UNKNOWN_PERSONA))
    grid = (np.arange(4000) + 0.5) / 4000
    expected_direct = expected_filtered = 0.0
    for _, mf, mi, mask in groups:
        n = int(mask.sum())
        fit_pdf = stats.beta.pdf(grid, mf * conc, (1 - mf) * conc) / 4000
        w = mk.score_fit_weight
        if w < 1:
            need = (mk.mql_threshold / 100.0 - w * grid) / (1 - w)
            p_interest = stats.beta.sf(np.clip(need, 0, 1), mi * conc, (1 - mi) * conc)
            p_interest = np.where(need <= 0, 1.0, np.where(need > 1, 0.0, p_interest))
        else:
            p_interest = (100.0 * grid >= mk.mql_threshold).astype(float)
        keep = grid >= mk.min_fit
        expected_direct += n * float((fit_pdf * p_interest * keep).sum())
        expected_filtered += n * float((fit_pdf * ~keep).sum())
    n = len(frame)
    for label, observed, expected in (("leads qualified at once (MQL, not nurtured)", int(direct.sum()),
                                       expected_direct),
                                      ("leads filtered out by marketing", int(filtered.sum()), expected_filtered)):
        p = expected / n
        z = (observed - expected) / math.sqrt(max(n * p * (1 - p), 1e-12))
        col.check(label, observed / n, p, "z", z, math.nan, float(2 * stats.norm.sf(abs(z))))


#: grids (bin midpoints) over which a lead's fit and interest are integrated
_FIT_GRID = (np.arange(200) + 0.5) / 200
_INTEREST_GRID = (np.arange(100) + 0.5) / 100


@dataclass
class _Latent:
    """Each legitimate MQL's fit and interest as the model uses them, given what the export shows.

    Fit and interest are latent; the export's features measure them with known noise
    (:mod:`funnelsim.crm.features`). Plugging the noisy inverses into a regression attenuates its
    slopes (for interest the noise variance is about as large as the spread between
    leads), so the fits below use *regression calibration*: each lead's posterior mean
    E[x | features, persona, how it became an MQL] under the fitted Beta prior of its
    persona, the feature noise, and the base's MQL rule (a direct MQL scored at least
    the threshold; a clicked one scored below it before and at least it after the
    campaign click raised its interest by ``interest_boost``). The posterior
    (co)variances go into the logistic fits through the probit approximation
    E[expit(a + s)] ≈ expit((a + E s) / √(1 + π·Var s / 8)). NaN where not computed
    (junk, leads never handed to sales).
    """

    fit: np.ndarray
    interest: np.ndarray  # interest the model uses: after a campaign click, raised by interest_boost
    var_fit: np.ndarray
    var_interest: np.ndarray
    cov: np.ndarray
    naive_fit: np.ndarray  # the plain inverted features (attenuated when used as regressors)
    naive_interest: np.ndarray
    ref_fit: float  # the calibrated scenario's average legitimate lead (the slopes' centre)
    ref_interest: float
    conditioned: bool  # the MQL rule was used (not with a trained score model)


def _latent_quality(data: _Export, base: Scenario, quality: dict[str, Any]) -> _Latent:
    from scipy import stats
    frame = data.frame
    n = len(frame)
    persona = frame["persona"].to_numpy()
    w_fit = fit_from_company_size(frame["company_size"].to_numpy())
    count = (frame["pages_viewed"].to_numpy().astype(float) - 1.0 + frame["email_clicks"].to_numpy())
    w_interest = interest_from_engagement(frame["pages_viewed"].to_numpy(), frame["email_clicks"].to_numpy())
    nurtured = frame["nurtured"].to_numpy()
    clicked = nurtured & (data.t["engaged_at"] > data.t["created_at"])
    boost = base.nurture.interest_boost
    naive_interest = np.where(clicked, np.minimum(1.0, w_interest + boost), w_interest)
    personas = quality.get("personas") or [p.model_dump() for p in base.leads.personas]
    conc = float(quality.get("concentration", base.leads.concentration))
    shares = np.array([p["share"] for p in personas], dtype=float)
    ref_fit = float((shares * [p["fit"] for p in personas]).sum() / shares.sum())
    ref_interest = float((shares * [p["interest"] for p in personas]).sum() / shares.sum())
    out = {name: np.full(n, math.nan) for name in ("fit", "interest", "var_fit", "var_interest", "cov")}
    mk = base.marketing
    conditioned = mk.score_model is None
    fg, ig = _FIT_GRID, _INTEREST_GRID
    noise_sd = COMPANY_SIZE_NOISE / 3.5
    per_interest = 30.0  # pages − 1 + clicks is Poisson(30 · interest)
    mql = frame["mql"].to_numpy()
    direct = mql & ~nurtured
    w = mk.score_fit_weight

    def qualifies(f: np.ndarray, i: np.ndarray) -> np.ndarray:
        return (f >= mk.min_fit) & (100.0 * (w * f + (1 - w) * i) >= mk.mql_threshold - 1e-9)

    F, I = np.meshgrid(fg, ig, indexing="ij")
    boosted = np.minimum(1.0, ig + boost)
    regions = {  # which (fit, interest) cells a lead can come from, and the interest the model then uses
        "direct": (qualifies(F, I) if conditioned else np.ones_like(F, dtype=bool), ig),
        "clicked": ((F >= mk.min_fit) & ~qualifies(F, I) & qualifies(F, np.minimum(1.0, I + boost))
                    if conditioned else np.ones_like(F, dtype=bool), boosted),
        "other": (np.ones_like(F, dtype=bool), ig),
    }
    for p in personas:
        mask = (persona == p["name"]) & mql
        if not mask.any():
            continue
        a_f, b_f = _clip01(p["fit"], 1e-3, 1 - 1e-3) * conc, (1 - _clip01(p["fit"], 1e-3, 1 - 1e-3)) * conc
        a_i, b_i = (_clip01(p["interest"], 1e-3, 1 - 1e-3) * conc, (1 - _clip01(p["interest"], 1e-3, 1 - 1e-3)) * conc)
        log_pf = stats.beta.logpdf(fg, a_f, b_f)[None, :] - 0.5 * ((w_fit[mask, None] - fg[None, :]) / noise_sd) ** 2
        log_pi = (stats.beta.logpdf(ig, a_i, b_i)[None, :] + count[mask, None] * np.log(per_interest * ig)[None, :]
                  - per_interest * ig[None, :])
        pf = np.exp(log_pf - log_pf.max(axis=1, keepdims=True))
        pi = np.exp(log_pi - log_pi.max(axis=1, keepdims=True))
        kind = np.where(direct[mask], 0, np.where(clicked[mask], 1, 2))
        rows = np.flatnonzero(mask)
        for code, name in enumerate(("direct", "clicked", "other")):
            sub = kind == code
            if not sub.any():
                continue
            region, used = regions[name]
            R = region.astype(float)
            f_, i_ = pf[sub], pi[sub]
            a0 = i_ @ R.T  # (leads, fit cells): interest mass allowed at each fit
            a1 = (i_ * used) @ R.T
            a2 = (i_ * used * used) @ R.T
            mass = (f_ * a0).sum(1)
            empty = mass <= 0  # features at odds with the rule (rounding): drop the condition
            if empty.any():
                a0[empty] = i_[empty].sum(1, keepdims=True)
                a1[empty] = (i_[empty] * used).sum(1, keepdims=True)
                a2[empty] = (i_[empty] * used * used).sum(1, keepdims=True)
                mass = (f_ * a0).sum(1)
            ef = (f_ * fg * a0).sum(1) / mass
            ef2 = (f_ * fg * fg * a0).sum(1) / mass
            ei = (f_ * a1).sum(1) / mass
            ei2 = (f_ * a2).sum(1) / mass
            efi = (f_ * fg * a1).sum(1) / mass
            where = rows[sub]
            out["fit"][where] = ef
            out["interest"][where] = ei
            out["var_fit"][where] = np.maximum(ef2 - ef * ef, 0.0)
            out["var_interest"][where] = np.maximum(ei2 - ei * ei, 0.0)
            out["cov"][where] = efi - ef * ei
    return _Latent(out["fit"], out["interest"], out["var_fit"], out["var_interest"], out["cov"], w_fit,
                   naive_interest, ref_fit, ref_interest, conditioned)
