"""Analysis type ``gee``: generalized estimating equations for change in a repeated outcome (Liang and Zeger
1986; statsmodels' GEE, matching ``geepack::geeglm``): time, exposure, exposure x time and covariates, with an
exchangeable, AR(1) (geepack's estimator, :mod:`musclecog.longitudinal.gee_ar1`) or independence working
correlation and robust (sandwich) standard errors.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import strata
from musclecog.core.results import Diagnostics, Estimate, FitResult
from musclecog.errors import DataError
from musclecog.longitudinal.data import Prepared, prepare_long
from musclecog.longitudinal.design import LongDesign, exposure_scale, long_design
from musclecog.longitudinal.results import LongitudinalResult, coefficients, fit_note, labels, make_result
from musclecog.longitudinal.spec import LongitudinalSpec

log = logging.getLogger(__name__)

CORRELATION_LABELS: Mapping[str, str] = {
    "exchangeable": "exchangeable",
    "ar1": "AR(1)",
    "independence": "independence",
}


@dataclass(frozen=True, kw_only=True)
class GEESpec(LongitudinalSpec):
    """GEE (``workflow/schemas/analyses/gee.schema.yaml``).

    Attributes
    ----------
    working_correlation : str
        ``exchangeable``, ``ar1`` (distances in waves) or ``independence``.
    family : str
        ``gaussian`` or ``binomial`` (odds ratios).
    time_terms : bool
        Include time and exposure x time.
    """

    TYPE: ClassVar[str] = "gee"
    working_correlation: str = "exchangeable"
    family: str = "gaussian"
    time_terms: bool = True

    @property
    def method(self) -> str:
        """The ``method`` column."""
        correlation = CORRELATION_LABELS[self.working_correlation]
        return f"GEE ({self.family}, {correlation} working correlation, robust SE)"


@dataclass(frozen=True, kw_only=True)
class GEEResult(LongitudinalResult):
    """The result of a ``gee`` analysis: coefficients with robust SEs, the working correlation parameter and
    convergence per fit."""


def _fit_gee(df: pd.DataFrame, design: LongDesign, spec: GEESpec) -> tuple[Any, list[str]]:
    """statsmodels' GEE on one design: the fitted result and the warnings it raised."""
    import statsmodels.api as sm
    from statsmodels.genmod import cov_struct

    from musclecog.longitudinal.gee_ar1 import GeepackAR1

    rows = df.loc[design.x.index]
    family = sm.families.Binomial() if spec.family == "binomial" else sm.families.Gaussian()
    visit = None
    cs: Any
    if spec.working_correlation == "ar1":
        cs = GeepackAR1()
        visit = (
            rows["wave"].to_numpy(float)
            if "wave" in rows.columns
            else rows.groupby("id").cumcount().to_numpy(float)
        )
    elif spec.working_correlation == "exchangeable":
        cs = cov_struct.Exchangeable()
    else:
        cs = cov_struct.Independence()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sm.GEE(
            design.y,
            design.x,
            groups=rows["id"].to_numpy(),
            family=family,
            cov_struct=cs,
            time=None if visit is None else visit[:, None],
        )
        res = model.fit(ddof_scale=0, maxiter=100)
    return res, sorted({str(w.message) for w in caught})


def _gee_estimates(
    res: Any, fit: FitResult, msgs: list[str], spec: GEESpec, prep: Prepared, stratum: str,
    unit: str | None = None,
) -> list[Estimate]:
    n_people = int(fit.diagnostics.n_groups or 0)
    converged = fit.diagnostics.converged
    note = fit_note(f"{fit.diagnostics.n} observations of {n_people} people", prep, spec, stratum)
    if not converged:
        note = f"NOT CONVERGED ({'; '.join(msgs)}); " + note
        log.warning("%s [%s]: GEE did not converge: %s", spec.where, stratum, msgs)
    lab = labels(spec, spec.method, stratum, unit)
    out = coefficients(fit, "odds_ratio" if spec.family == "binomial" else "beta", n_people, note, lab)
    label = CORRELATION_LABELS[spec.working_correlation]
    if spec.working_correlation != "independence":
        out.append(
            Estimate(
                term="working_correlation",
                estimate=float(np.atleast_1d(res.cov_struct.dep_params)[0]),
                scale="correlation",
                n=n_people,
                note=f"{label} working correlation parameter",
                **lab,
            )
        )
    # kept as a row because today's tables have it; the same is in the fit's diagnostics
    status = "converged" if converged else "NOT CONVERGED: " + "; ".join(msgs)
    out.append(
        Estimate(term="converged", estimate=float(converged), scale="test", n=n_people, note=status, **lab)
    )
    return out


def fit_gee(data: pd.DataFrame, spec: GEESpec) -> GEEResult:
    """GEE (analysis type ``gee``): outcome on time, exposure, exposure x time and covariates.

    Matches ``geepack::geeglm(y ~ time * exposure + covariates, id = id, corstr = "exchangeable" | "ar1")``
    (scale estimated with N in the denominator, as geepack). Rows: coefficients (``beta``, or ``odds_ratio``
    for ``family: binomial``) with robust SEs and Wald z intervals, the working correlation parameter
    (``scale: correlation``) and a ``converged`` row.

    Parameters
    ----------
    data : DataFrame
        The long cohort table.
    spec : GEESpec

    Returns
    -------
    GEEResult
    """
    prep = prepare_long(data, spec)
    scaled, unit = exposure_scale(prep.frame, spec)
    estimates: list[Estimate] = []
    fits: dict[str, FitResult] = {}
    for stratum in strata(prep.frame, spec.stratify_by, spec.where, overall=spec.overall):
        df = prep.frame.loc[stratum.mask]
        where = f"{spec.where} [{stratum.label}]"
        design = long_design(df, scaled, where, time=spec.time_terms, exposure_x_time=spec.time_terms)
        if spec.family == "binomial" and not np.isin(design.y, [0.0, 1.0]).all():
            raise DataError(
                f"{spec.where}: family binomial needs a 0/1 outcome; '{spec.outcome}' has other values"
            )
        res, msgs = _fit_gee(df, design, spec)
        converged = not any("converge" in m.lower() or "iteration limit" in m.lower() for m in msgs)
        diagnostics = Diagnostics(
            n=len(design.y),
            converged=converged,
            exclusions=prep.counts,
            n_groups=int(df.loc[design.x.index, "id"].nunique()),
            messages=tuple(msgs),
            statistics={"working_correlation": float(np.atleast_1d(res.cov_struct.dep_params)[0])}
            if spec.working_correlation != "independence"
            else {},
        )
        fit = FitResult.from_arrays(
            list(design.x.columns),
            np.asarray(res.params),
            np.asarray(res.cov_params()),
            None,
            diagnostics,
            std_errors=np.asarray(res.bse),
            method=spec.method,
            codings=design.codings,
        )
        fits[stratum.label] = fit
        estimates += _gee_estimates(res, fit, msgs, spec, prep, stratum.label, unit)
    title = f"{spec.context.analysis}: {spec.outcome} by {spec.exposure} (GEE)"
    return make_result(GEEResult, spec, prep, estimates, fits, title)
