"""Imai, Keele & Tingley (2010) quasi-Bayesian mediation effects (statsmodels), as R ``mediation::mediate``.

The average causal mediation effect (ACME), the average direct effect (ADE), the total effect and the
proportion mediated, for a contrast of two exposure values, from ``statsmodels.stats.mediation.Mediation``
(``method = "parametric"``: each simulation draws both models' coefficients from their asymptotic normal
distribution, then potential mediators and outcomes) with a least-squares mediator model and a logistic
(binary outcome, probability scale) or least-squares (continuous outcome, ``imai_continuous``; outcome scale)
outcome model. Estimates are the means over simulations, CIs their percentiles, as ``mediate``. For a linear
mediator and outcome the ACME is ``a b (treated - control)`` and the ADE ``c' (treated - control)`` up to
Monte Carlo error.

statsmodels draws the two potential mediators with independent residuals where ``mediate`` reuses one draw; in
linear models this adds the variance ``b^2 sigma_m^2 2 / n`` to each simulated ACME: no bias, but percentile CIs
wider than ``mediate``'s (docs/mediation.md).
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

CONTINUOUS_TERMS = {**TERMS, "Total effect": ("total_effect_imai", "total_effect")}
"""As :data:`TERMS` for a continuous outcome (the total effect is on the outcome's scale)."""


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

    Returns no estimates for a binary outcome with several mediators (statsmodels' ``Mediation`` takes one).

    Raises
    ------
    ConfigError
        ``imai_continuous`` asked for with several mediators.
    """
    import statsmodels.api as sm  # imported here: statsmodels.api costs ~1 s and only these effects need it
    from statsmodels.stats.mediation import Mediation

    binary = model.family == "binomial"
    if len(model.mediators) != 1:
        if binary:
            return []
        raise ConfigError(
            f"{context.where}.imai_continuous: the Imai et al. effects take one mediator (statsmodels "
            f"Mediation), got {list(model.mediators)}. Fit one simple_mediation per mediator, or set "
            "imai_continuous: false."
        )
    (m,) = model.mediators
    x = frame.column(model.exposure)
    low, high = exposure_contrast(x, model, context.where)
    xt = (x - low) / (high - low)  # statsmodels contrasts exposure values 0 and 1
    covs = frame.values[:, [frame.col(c) for c in frame.covariates]]
    ones = np.ones((frame.n, 1))
    med_exog = np.column_stack([ones, xt, covs])
    out_exog = np.column_stack([ones, xt, frame.column(m), covs])
    y = frame.column(model.outcome)
    outcome_model = sm.GLM(y, out_exog, family=sm.families.Binomial()) if binary else sm.OLS(y, out_exog)
    mediator_model = sm.OLS(frame.column(m), med_exog)
    res = Mediation(outcome_model, mediator_model, exposure=(1, 1), mediator=2).fit(
        method="parametric", n_rep=model.imai_simulations, rng=context.seed
    )
    summary = res.summary(alpha=1 - model.ci_level)
    note = (
        f"{'probability' if binary else 'outcome'} scale; exposure {low:.4g} vs {high:.4g}; "
        f"{model.imai_simulations} simulations"
    )
    out = []
    for label, (term, scale) in (TERMS if binary else CONTINUOUS_TERMS).items():
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
