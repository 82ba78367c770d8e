"""Imai, Keele & Tingley (2010) quasi-Bayesian mediation effects of a binary outcome (statsmodels).

The average causal mediation effect (ACME), the average direct effect (ADE), the total effect and the
proportion mediated on the probability scale, for a contrast of two exposure values, from
``statsmodels.stats.mediation.Mediation`` with a logistic outcome model and a least-squares mediator model.
"""

from __future__ import annotations

import numpy as np

from musclecog.core.results import Estimate
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError
from musclecog.mediation.frame import ModelFrame
from musclecog.mediation.spec import MediationModel

METHOD = "Imai et al. quasi-Bayesian mediation (statsmodels Mediation)"

TERMS = {
    "ACME (average)": ("acme", "indirect_effect"),
    "ADE (average)": ("ade", "direct_effect"),
    "Total effect": ("total_effect_probability", "total_effect"),
    "Prop. mediated (average)": ("proportion_mediated_imai", "proportion_mediated"),
    "ACME (control)": ("acme_control", "indirect_effect"),
    "ACME (treated)": ("acme_treated", "indirect_effect"),
    "ADE (control)": ("ade_control", "direct_effect"),
    "ADE (treated)": ("ade_treated", "direct_effect"),
}
"""statsmodels summary row -> (term, scale)."""


def exposure_contrast(x: np.ndarray, model: MediationModel, source: str) -> tuple[float, float]:
    """Control and treated exposure values: as configured, else 0/1 for a 0/1 exposure, else the mean and
    the mean + 1 SD."""
    if model.exposure_contrast is not None:
        low, high = model.exposure_contrast
    elif set(np.unique(x)) <= {0.0, 1.0}:
        low, high = 0.0, 1.0
    else:
        low, high = float(x.mean()), float(x.mean() + x.std(ddof=1))
    if high == low:
        raise ConfigError(f"{source}: exposure_contrast must have two different values, got {[low, high]}")
    return low, high


def imai_estimates(frame: ModelFrame, model: MediationModel, context: RunContext) -> list[Estimate]:
    """ACME, ADE, total effect and proportion mediated (average, control, treated) for one mediator.

    Returns no estimates for several mediators (statsmodels' ``Mediation`` takes one).
    """
    import statsmodels.api as sm  # imported here: statsmodels.api costs ~1 s and only binary outcomes need it
    from statsmodels.stats.mediation import Mediation

    if len(model.mediators) != 1:
        return []
    (m,) = model.mediators
    x = frame.column(model.exposure)
    low, high = exposure_contrast(x, model, context.where)
    xt = (x - low) / (high - low)  # statsmodels contrasts exposure values 0 and 1
    covs = frame.values[:, [frame.col(c) for c in frame.covariates]]
    ones = np.ones((frame.n, 1))
    med_exog = np.column_stack([ones, xt, covs])
    out_exog = np.column_stack([ones, xt, frame.column(m), covs])
    outcome_model = sm.GLM(frame.column(model.outcome), out_exog, family=sm.families.Binomial())
    mediator_model = sm.OLS(frame.column(m), med_exog)
    res = Mediation(outcome_model, mediator_model, exposure=(1, 1), mediator=2).fit(
        method="parametric", n_rep=model.imai_simulations, rng=context.seed
    )
    summary = res.summary(alpha=1 - model.ci_level)
    note = f"probability scale; exposure {low:.4g} vs {high:.4g}; {model.imai_simulations} simulations"
    out = []
    for label, (term, scale) in TERMS.items():
        r = summary.loc[label]
        out.append(
            Estimate(
                term=term,
                estimate=float(r["Estimate"]),
                scale=scale,
                conf_low=float(r["Lower CI bound"]),
                conf_high=float(r["Upper CI bound"]),
                p_value=float(r["P-value"]),
                n=frame.n,
                method=METHOD,
                outcome=model.outcome,
                exposure=model.exposure,
                note=note,
            )
        )
    return out
