"""Design-based estimation for complex surveys: Taylor linearisation with strata and nested PSUs.

This module reproduces what R's ``survey`` package (Lumley) computes for a design declared as
``svydesign(ids = ~psu, strata = ~strata, weights = ~weight, nest = TRUE, data = ...)``:

* :func:`survey_mean` - ``svymean`` (and ``svyby(..., svymean)`` for domains);
* :func:`survey_regression` - ``svyglm`` with ``gaussian()`` or ``quasibinomial()``;
* :func:`linearised_variance` - ``svyrecvar``: PSU totals of the influence functions, centred within
  strata, scaled by ``n_h / (n_h - 1)``, summed over strata (with-replacement first-stage variance, no
  finite-population correction).

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

from musclecog.core.design import Design
from musclecog.core.inference import critical_value, irls_logistic, separating_columns, weighted_least_squares
from musclecog.core.results import Diagnostics, FitResult
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
    return SurveyFit(beta, cov, df, n, converged, mu)


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
    y, x = design.y, design.x
    if family == "binomial" and np.unique(y).size < 2:
        raise ModelError(f"{where}: the outcome takes a single value in these rows; no model")
    fit = survey_regression(x, y, survey.subset(domain), family=family)
    if family == "binomial" and (not fit.converged or np.max(np.abs(x @ fit.params)) > 30):
        cols = separating_columns(x, y, list(design.names))
        raise ModelError(
            f"{where}: perfect or quasi-complete separation in the survey-weighted logistic model. "
            f"Separating: {', '.join(cols) if cols else 'a combination of columns'}"
        )
    messages: tuple[str, ...] = ()
    if fit.df_resid <= 0:
        messages = (f"design degrees of freedom {fit.df_resid} <= 0: too few PSUs for a t interval",)
    diagnostics = Diagnostics(
        n=fit.n, converged=fit.converged, exclusions=design.exclusions, messages=messages,
        n_events=int(y.sum()) if family == "binomial" else None,
    )
    return FitResult.from_arrays(
        design.names, fit.params, fit.cov, float(fit.df_resid), diagnostics,
        method=f"survey-weighted {'linear' if family == 'gaussian' else 'logistic'} regression",
        codings=design.codings,
    )
