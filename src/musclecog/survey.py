"""Design-based estimation for complex surveys: Taylor linearisation with strata and nested PSUs.

This module reproduces what R's ``survey`` package (Lumley) computes for a design declared as
``svydesign(ids = ~psu, strata = ~strata, weights = ~weight, nest = TRUE, data = ...)``:

* :func:`survey_mean` - ``svymean`` (and ``svyby(..., svymean)`` for domains);
* :func:`survey_regression` - ``svyglm`` with ``gaussian()`` or ``quasibinomial()``;
* :func:`linearised_variance` - ``svyrecvar``: PSU totals of the influence functions, centred within
  strata, scaled by ``n_h / (n_h - 1)``, summed over strata (with-replacement first-stage variance, no
  finite-population correction);
* :func:`survey_correlation` - the weighted Pearson (or partial) correlation with its linearised SE:
  ``svycontrast`` of the correlation as a function of ``svymean`` of the moments;
* :func:`joint_covariance` - the covariance of the coefficients of several ``svyglm`` fits on the same
  design (the stacked estimating equations: ``svyrecvar`` of the column-bound influence functions), for
  delta-method SEs of functions of paths of different equations (mediation).

Why not statsmodels: it has no complex-survey design (weights there are frequency or precision weights,
and cluster-robust covariance ignores strata and the ``n_h / (n_h - 1)`` factor), so the variance is
implemented here, vectorised in numpy: one pass to sum the influence functions by PSU
(``np.add.at`` on integer PSU codes), one to centre them within strata. 500,000 rows with 1,000 PSUs take
well under a second.

Domains (complete cases, strata of a ``by`` variable, subgroups) are handled as R's ``subset()`` of a design
does: rows outside the domain contribute zero, and every PSU of the *full* design still counts in its
stratum's ``n_h`` (a PSU without domain members contributes a zero total). The design is the table the
analysis receives (after ``keep_if``).

Lonely PSUs (a stratum of the full design with a single PSU), as ``options(survey.lonely.psu = ...)``:

``fail``
    stop with an error naming the strata.
``remove`` / ``certainty``
    the stratum contributes nothing to the variance.
``adjust`` (the default)
    the single PSU's total is centred at zero, the grand mean of the influence functions (R centres at
    the population average; for estimating functions that sum to zero the two coincide).
``average``
    the stratum's contribution is replaced by the average of the other strata's (R multiplies the sum
    over the other strata by ``n_strata / n_ok``).

Design degrees of freedom: number of PSUs minus number of strata with at least one member of the domain
(``degf``). Means use ``degf`` of the design for t intervals (R: ``confint(svymean(...), df =
degf(design))``); regressions use ``degf - p + 1`` as ``svyglm`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from musclecog.core.design import Coding, Design
from musclecog.core.inference import critical_value, irls_logistic, separating_columns, weighted_least_squares
from musclecog.core.results import Diagnostics, FitResult
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError, DataError, ModelError, show_values

LONELY_PSU = ("fail", "remove", "certainty", "adjust", "average")


@dataclass(frozen=True)
class SurveySpec:
    """The survey declaration of a cohort (``cohorts.<name>.survey``)."""

    weight: str
    strata: str | None = None
    psu: str | None = None
    weight_divisor: float = 1.0
    lonely_psu: str = "adjust"

    @classmethod
    def from_config(cls, survey: Mapping[str, Any], where: str = "survey") -> SurveySpec:
        """Build from the config mapping, checking the keys."""
        allowed = {"weight", "strata", "psu", "weight_divisor", "lonely_psu"}
        unknown = sorted(set(survey) - allowed)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        if "weight" not in survey:
            raise ConfigError(f"{where}: 'weight' (the column of sampling weights) is required")
        lonely = str(survey.get("lonely_psu", "adjust"))
        if lonely not in LONELY_PSU:
            raise ConfigError(f"{where}.lonely_psu is {lonely!r}; use one of {', '.join(LONELY_PSU)}")
        divisor = float(survey.get("weight_divisor", 1.0))
        if not divisor > 0:
            raise ConfigError(f"{where}.weight_divisor must be > 0, got {divisor}")
        return cls(
            weight=str(survey["weight"]),
            strata=survey.get("strata"),
            psu=survey.get("psu"),
            weight_divisor=divisor,
            lonely_psu=lonely,
        )


@dataclass(frozen=True)
class SurveyDesign:
    """A stratified, clustered design over the rows of one table.

    Attributes
    ----------
    weights : ndarray
        Sampling weights (divided by ``weight_divisor``), all > 0.
    strata : ndarray of int
        Stratum code per row (0 .. n_strata - 1).
    psu : ndarray of int
        PSU code per row, unique across strata (PSUs are nested in strata).
    psu_stratum : ndarray of int
        Stratum of each PSU code.
    n_psu_in_stratum : ndarray of int
        Number of PSUs per stratum in the full design.
    lonely_psu : str
        How single-PSU strata are handled.
    """

    weights: np.ndarray
    strata: np.ndarray
    psu: np.ndarray
    psu_stratum: np.ndarray
    n_psu_in_stratum: np.ndarray
    lonely_psu: str = "adjust"
    source: str = "survey"

    @classmethod
    def from_data(cls, data: pd.DataFrame, spec: SurveySpec, source: str = "survey") -> SurveyDesign:
        """Build the design from the columns named in ``spec``.

        Raises
        ------
        DataError
            If a column is missing, a weight is missing or not positive, or a strata/PSU value is missing.
        """
        for key in ("weight", "strata", "psu"):
            col = getattr(spec, key)
            if col is not None and col not in data.columns:
                raise DataError(
                    f"{source}.{key}: the column {col!r} is not in the cohort table; columns: "
                    f"{show_values(list(data.columns), 12)}"
                )
        w = pd.to_numeric(data[spec.weight], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(w) | (w <= 0)
        if bad.any():
            rows = data.index[bad]
            raise DataError(
                f"{source}.weight: column {spec.weight!r} has {int(bad.sum())} missing or non-positive "
                f"weight(s) "
                f"(rows {show_values(list(rows))}; values {show_values(list(data[spec.weight][bad]))}). "
                f"Design-based estimates need a positive weight for every row: drop these rows with the "
                f"analysis' keep_if (e.g. keep_if: {{{spec.weight}: {{min: 1e-9}}}}) or fix the weights"
            )
        n = len(data)
        strata = cls._codes(data, spec.strata, n, source, "strata")
        psu_raw = cls._codes(data, spec.psu, n, source, "psu") if spec.psu else np.arange(n)
        # nest PSUs within strata: a PSU is a (stratum, psu) pair
        pair = strata.astype(np.int64) * (int(psu_raw.max()) + 1) + psu_raw
        uniq, psu = np.unique(pair, return_inverse=True)
        psu_stratum = (uniq // (int(psu_raw.max()) + 1)).astype(np.int64)
        n_psu = np.bincount(psu_stratum, minlength=int(strata.max()) + 1)
        lonely = np.flatnonzero(n_psu == 1)
        if lonely.size and spec.lonely_psu == "fail":
            labels = (
                pd.unique(data[spec.strata].to_numpy()[np.isin(strata, lonely)]) if spec.strata else lonely
            )
            raise DataError(
                f"{source}: stratum/strata {show_values(list(labels))} of {spec.strata!r} have a single PSU, "
                f"so their variance cannot be estimated. Set survey.lonely_psu to adjust, average, remove or "
                f"certainty (as R's options(survey.lonely.psu = ...)), or merge the stratum with a neighbour"
            )
        return cls(
            weights=w / spec.weight_divisor,
            strata=strata,
            psu=psu.astype(np.int64),
            psu_stratum=psu_stratum,
            n_psu_in_stratum=n_psu,
            lonely_psu=spec.lonely_psu,
            source=source,
        )

    @staticmethod
    def _codes(data: pd.DataFrame, column: str | None, n: int, source: str, key: str) -> np.ndarray:
        if column is None:
            return np.zeros(n, dtype=np.int64)
        values = data[column]
        missing = values.isna().to_numpy()
        if missing.any():
            raise DataError(
                f"{source}.{key}: column {column!r} is missing for {int(missing.sum())} row(s) "
                f"(rows {show_values(list(data.index[missing]))}); every row of a survey design needs its "
                f"{key}. Drop them with the analysis' keep_if ({{{column}: {{not_missing: true}}}})"
            )
        codes, _ = pd.factorize(values, sort=True)
        return codes.astype(np.int64)

    @property
    def n_strata(self) -> int:
        """Strata of the full design."""
        return int(self.n_psu_in_stratum.size)

    def subset(self, mask: np.ndarray) -> SurveyDesign:
        """The design restricted to ``mask`` as a domain: rows removed, PSU counts of the full design kept."""
        return SurveyDesign(
            weights=self.weights[mask],
            strata=self.strata[mask],
            psu=self.psu[mask],
            psu_stratum=self.psu_stratum,
            n_psu_in_stratum=self.n_psu_in_stratum,
            lonely_psu=self.lonely_psu,
            source=self.source,
        )

    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata among the rows present (R's ``degf``)."""
        return int(np.unique(self.psu).size - np.unique(self.strata).size)


def linearised_variance(design: SurveyDesign, influence: np.ndarray) -> np.ndarray:
    """Variance of a total of influence functions under the design (R's ``svyrecvar``, one stage).

    Parameters
    ----------
    design : SurveyDesign
        The (possibly subsetted) design; ``influence`` has one row per row of it.
    influence : ndarray, shape (n,) or (n, p)
        Influence functions (already weighted), e.g. ``w_i x_i (y_i - mu_i) @ A^{-1}``.

    Returns
    -------
    ndarray, shape (p, p)

    Notes
    -----
    With ``z_hi`` the total of PSU ``i`` in stratum ``h`` (``n_h`` PSUs in the full design)::

        V = sum_h n_h / (n_h - 1) * sum_i (z_hi - zbar_h)(z_hi - zbar_h)'

    PSUs with no rows in a domain have ``z_hi = 0`` and still count in ``n_h`` and ``zbar_h``.
    """
    u = np.asarray(influence, dtype=float)
    if u.ndim == 1:
        u = u[:, None]
    n_psu_total = design.psu_stratum.size
    p = u.shape[1]
    totals = np.zeros((n_psu_total, p))
    np.add.at(totals, design.psu, u)
    nh = design.n_psu_in_stratum
    h = design.psu_stratum
    sums = np.zeros((design.n_strata, p))
    np.add.at(sums, h, totals)
    means = sums / nh[:, None]
    lonely_psu = nh[h] == 1
    centred = totals - np.where(
        lonely_psu[:, None], 0.0 if design.lonely_psu == "adjust" else means[h], means[h]
    )
    scale = np.where(nh > 1, nh / np.maximum(nh - 1, 1), 1.0)
    if design.lonely_psu in ("remove", "certainty", "average", "fail"):
        centred = np.where(lonely_psu[:, None], 0.0, centred)
    weighted = centred * np.sqrt(scale[h])[:, None]
    v = weighted.T @ weighted
    if design.lonely_psu == "average":
        present = np.unique(design.strata)
        lonely_present = np.intersect1d(present, np.flatnonzero(nh == 1))
        n_ok = present.size - lonely_present.size
        if n_ok == 0:
            raise ModelError(f"{design.source}: every stratum has a single PSU; no variance can be estimated")
        v = v * present.size / n_ok
    return v


@dataclass(frozen=True)
class SurveyMean:
    """A design-based mean (R: ``svymean``) with its linearised SE and t interval on ``degf`` df."""

    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    df: int
    n: int
    sd: float


def survey_mean(
    y: np.ndarray, design: SurveyDesign, domain: np.ndarray | None = None, level: float = 0.95
) -> SurveyMean:
    """Design-based mean of ``y`` in a domain (R: ``svymean``, ``svyby(~y, ~g, design, svymean)``).

    Parameters
    ----------
    y : ndarray
        The variable, one value per row of the design (NaN allowed outside the domain).
    design : SurveyDesign
        The full design.
    domain : boolean ndarray, optional
        Rows in the domain (default: all). Rows outside contribute zero to every PSU total.
    level : float
        Confidence level; the interval uses a t distribution on the design's ``degf``.

    Returns
    -------
    SurveyMean
        Also the design-based SD, ``sqrt(svyvar)``: the weighted variance with divisor
        ``sum(w) - sum(w)/n`` as R's ``svyvar`` uses (``n/(n-1)`` times the weighted second moment).
    """
    d = np.ones(len(y), bool) if domain is None else np.asarray(domain, bool)
    w = np.where(d, design.weights, 0.0)
    yy = np.where(d, y, 0.0)
    total_w = w.sum()
    mean = float((w * yy).sum() / total_w)
    z = w * (yy - mean) / total_w
    se = float(np.sqrt(linearised_variance(design, z)[0, 0]))
    df = design.degf()
    q = critical_value(level, df)
    nd = int(d.sum())
    var = float((w * (yy - mean) ** 2).sum() / total_w) * nd / (nd - 1) if nd > 1 else np.nan
    return SurveyMean(mean, se, mean - q * se, mean + q * se, df, nd, float(np.sqrt(var)))


@dataclass(frozen=True)
class SurveyFit:
    """A design-based GLM fit (R: ``svyglm``)."""

    params: np.ndarray
    cov: np.ndarray
    df_resid: int
    n: int
    converged: bool
    fitted: np.ndarray
    influence: np.ndarray | None = None
    """Influence functions of the coefficients, ``w_i x_i (y_i - mu_i) A^{-1}`` (n, p)."""

    @property
    def std_errors(self) -> np.ndarray:
        """Square roots of the covariance's diagonal."""
        return np.sqrt(np.diag(self.cov))


def survey_regression(
    x: np.ndarray,
    y: np.ndarray,
    design: SurveyDesign,
    family: str = "gaussian",
    maxiter: int = 50,
    tol: float = 1e-10,
) -> SurveyFit:
    """Design-based linear or logistic regression (R: ``svyglm(family = gaussian() | quasibinomial())``).

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Design matrix (with intercept) for the rows of ``design`` (already subsetted to complete cases).
    y : ndarray, shape (n,)
        Outcome.
    design : SurveyDesign
        The design, subsetted to the same rows (see :meth:`SurveyDesign.subset`).
    family : {"gaussian", "binomial"}
        Linear model, or logistic (pseudo-likelihood; quasibinomial in R).

    Returns
    -------
    SurveyFit
        Coefficients, the sandwich covariance ``A^{-1} V A^{-1}`` with ``V`` from
        :func:`linearised_variance` of ``w_i x_i (y_i - mu_i)``, and ``df_resid = degf - p + 1``.

    Notes
    -----
    Weights are rescaled to mean 1 before fitting, as ``svyglm(rescale = TRUE)``; estimates and the
    sandwich covariance do not depend on that scale.
    """
    w = design.weights / design.weights.mean()
    n, p = x.shape
    converged = True
    if family == "gaussian":
        beta, a_inv = weighted_least_squares(x, y, w)
        mu = x @ beta
        score = x * (w * (y - mu))[:, None]
    elif family == "binomial":
        beta, a_inv, mu, converged = irls_logistic(x, y, w, maxiter, tol)
        score = x * (w * (y - mu))[:, None]
    else:
        raise ValueError(f"unknown family {family!r}")
    influence = score @ a_inv
    cov = linearised_variance(design, influence)
    df = design.degf() - p + 1
    return SurveyFit(beta, cov, df, n, converged, mu, influence)


def design_based_fit(
    design: Design, survey: SurveyDesign, domain: np.ndarray, family: str, where: str
) -> FitResult:
    """A design-based GLM of a design matrix (R: ``svyglm``) as a labelled fit; t on ``degf - p + 1`` df.

    Parameters
    ----------
    design : Design
        Outcome and design matrix of the complete rows of the domain.
    survey : SurveyDesign
        The survey design over the whole analysis table.
    domain : ndarray of bool
        Which rows of the analysis table ``design`` holds (the domain: a stratum's complete cases), in
        the table's order; every PSU of the full design still counts (R's ``subset(design, ...)``).
    family : {"gaussian", "binomial"}
    where : str
        Config key path for messages.

    Raises
    ------
    ModelError
        A binary outcome with a single value, or perfect / quasi-complete separation (naming the columns).
    """
    if design.y is None:
        raise ValueError("the design has no outcome")
    fit, _ = labelled_survey_fit(
        design.x, design.y, list(design.names), survey.subset(domain), family, where,
        exclusions=design.exclusions, codings=design.codings,
    )
    return fit


def labelled_survey_fit(
    x: np.ndarray,
    y: np.ndarray,
    names: list[str],
    survey: SurveyDesign,
    family: str,
    where: str,
    exclusions: Mapping[str, int] | None = None,
    codings: Mapping[str, Coding] | None = None,
) -> tuple[FitResult, np.ndarray]:
    """``svyglm`` of ``y`` on the columns of ``x`` (rows of ``survey``, a domain already subsetted) as a
    labelled fit, and the coefficients' influence functions (for :func:`joint_covariance`).

    Raises
    ------
    ModelError
        A binary outcome with a single value, or perfect / quasi-complete separation (naming the columns).
    """
    if family == "binomial" and np.unique(y).size < 2:
        raise ModelError(f"{where}: the outcome takes a single value in these rows; no model")
    fit = survey_regression(x, y, survey, family=family)
    if family == "binomial" and (not fit.converged or np.max(np.abs(x @ fit.params)) > 30):
        cols = separating_columns(x, y, names)
        raise ModelError(
            f"{where}: perfect or quasi-complete separation in the survey-weighted logistic model. "
            f"Separating: {', '.join(cols) if cols else 'a combination of columns'}"
        )
    messages: tuple[str, ...] = ()
    if fit.df_resid <= 0:
        messages = (f"design degrees of freedom {fit.df_resid} <= 0: too few PSUs for a t interval",)
    diagnostics = Diagnostics(
        n=fit.n, converged=fit.converged, exclusions=exclusions if exclusions is not None else {},
        messages=messages,
        n_events=int(y.sum()) if family == "binomial" else None,
    )
    labelled = FitResult.from_arrays(
        names, fit.params, fit.cov, float(fit.df_resid), diagnostics,
        method=f"survey-weighted {'linear' if family == 'gaussian' else 'logistic'} regression",
        codings=codings,
    )
    assert fit.influence is not None
    return labelled, fit.influence


def joint_covariance(survey: SurveyDesign, influences: list[np.ndarray]) -> np.ndarray:
    """The design-based covariance of the coefficients of several fits on the same rows.

    Parameters
    ----------
    survey : SurveyDesign
        The design (domain) the fits share; each influence matrix has one row per row of it.
    influences : list of ndarray (n, p_j)
        Influence functions of each fit's coefficients (:attr:`SurveyFit.influence`).

    Returns
    -------
    ndarray (sum p_j, sum p_j)
        ``svyrecvar(cbind(inf_1, inf_2, ...))``: the linearised covariance of the stacked estimating
        equations. Its diagonal blocks are each fit's own ``svyglm`` covariance; the off-diagonal blocks
        are what a delta method across equations (an indirect effect ``a b``) needs. Equal to the
        covariance of one ``svyglm`` of the equations stacked in long format with equation-specific
        coefficients (the person's PSU for every copy).
    """
    return linearised_variance(survey, np.hstack(influences))


@dataclass(frozen=True)
class SurveyCorrelation:
    """A design-based correlation: estimate, linearised SE of r and of ``atanh(r)``, t df, rows."""

    r: float
    std_error: float
    z_std_error: float
    df: int
    n: int


def survey_correlation(
    x: np.ndarray, y: np.ndarray, survey: SurveyDesign, covariates: np.ndarray | None = None
) -> SurveyCorrelation:
    """Weighted Pearson (or partial) correlation with its Taylor-linearised standard error.

    Parameters
    ----------
    x, y : ndarray (n,)
        Complete values of the rows of ``survey`` (a domain already subsetted).
    survey : SurveyDesign
    covariates : ndarray (n, k), optional
        Columns to partial out (no intercept: it is added); the partial correlation is the weighted
        correlation of the weighted least-squares residuals of ``x`` and ``y`` on them.

    Returns
    -------
    SurveyCorrelation
        ``df`` is ``degf - 1 - k``, the residual df ``svyglm`` gives the regression of ``y`` on ``x`` and
        the ``k`` covariate columns.

    Notes
    -----
    With ``u``, ``v`` the (residualised) variables standardised by their weighted second moments, the
    influence function of ``r = sum w u v / sum w`` is ``w_i (u_i v_i - r (u_i^2 + v_i^2) / 2) / sum w``;
    estimating the means (or the partialling coefficients) adds nothing to first order, since the
    residuals are weighted-orthogonal to the columns they were regressed on. Its linearised variance is
    what R's ``svycontrast`` gives for the correlation written as a function of ``svymean`` of the
    first and second moments, e.g. ``svycontrast(svymean(~x + y + I(x^2) + I(y^2) + I(x*y), des),
    quote((E_xy - E_x*E_y) / sqrt((E_xx - E_x^2) * (E_yy - E_y^2))))`` (partial correlations by the
    recursive formula of the moments' correlations).
    """
    w = survey.weights
    total = w.sum()
    base = np.ones((len(x), 1))
    z = base if covariates is None or covariates.shape[1] == 0 else np.hstack([base, covariates])
    k = z.shape[1] - 1
    beta, _ = weighted_least_squares(z, np.column_stack([x, y]), w / w.mean())
    resid = np.column_stack([x, y]) - z @ beta
    scale = np.sqrt((w[:, None] * resid**2).sum(axis=0) / total)
    if np.any(scale == 0):
        raise ModelError("a variable is constant in these rows; its correlation is undefined")
    u, v = resid[:, 0] / scale[0], resid[:, 1] / scale[1]
    r = float((w * u * v).sum() / total)
    r = min(max(r, -1.0), 1.0)
    influence = w * (u * v - r * (u**2 + v**2) / 2) / total
    se = float(np.sqrt(linearised_variance(survey, influence)[0, 0]))
    z_se = se / (1 - r**2) if abs(r) < 1 else np.inf
    return SurveyCorrelation(r, se, float(z_se), survey.degf() - 1 - k, len(x))


def resolve_weighting(weighting: str | None, context: RunContext) -> tuple[str, ...]:
    """Which estimates to report: ``("weighted",)``, ``("unweighted",)`` or both.

    Parameters
    ----------
    weighting : {"weighted", "unweighted", "both"} or None
        The analysis' ``weighting`` key; ``None`` (absent): weighted when the cohort declares a survey
        design, unweighted otherwise.
    context : RunContext

    Raises
    ------
    ConfigError
        ``weighted`` or ``both`` for a cohort without a survey design.
    """
    if weighting is None:
        return ("weighted",) if context.survey else ("unweighted",)
    if weighting in ("weighted", "both") and not context.survey:
        raise ConfigError(
            f"{context.where}.weighting is {weighting!r} but cohort {context.cohort!r} declares no survey "
            f"design; "
            f"add cohorts.{context.cohort}.survey: {{weight: ..., strata: ..., psu: ...}} or use weighting: "
            f"unweighted"
        )
    return ("weighted", "unweighted") if weighting == "both" else (weighting,)


def survey_design(data: pd.DataFrame, context: RunContext) -> tuple[SurveyDesign, tuple[str, ...]]:
    """The cohort's survey design over ``data`` (positional rows) and the columns it uses."""
    if context.survey is None:
        raise ConfigError(f"{context.where}: cohort {context.cohort!r} declares no survey design")
    source = f"cohorts.{context.cohort}.survey"
    spec = SurveySpec.from_config(context.survey, where=source)
    columns = tuple(c for c in (spec.weight, spec.strata, spec.psu) if c)
    return SurveyDesign.from_data(data.reset_index(drop=True), spec, source=source), columns
