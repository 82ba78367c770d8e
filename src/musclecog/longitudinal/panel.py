"""Analysis type ``panel_model``: linear panel models with linearmodels (``plm``-equivalent): entity fixed
effects (within), random effects (Swamy-Arora GLS), first differences or pooled OLS, with clustered (by
person), robust or unadjusted standard errors and t tests on the model's residual degrees of freedom.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import strata
from musclecog.core.results import Diagnostics, Estimate, FitResult
from musclecog.errors import ConfigError
from musclecog.longitudinal.data import Prepared, prepare_long
from musclecog.longitudinal.design import LongDesign, long_design
from musclecog.longitudinal.results import LongitudinalResult, coefficients, fit_note, labels, make_result
from musclecog.longitudinal.spec import LongitudinalSpec

MODEL_LABELS: Mapping[str, str] = {
    "within": "entity fixed effects (within)",
    "random": "random effects (GLS)",
    "first_difference": "first differences",
    "pooled": "pooled OLS",
}


@dataclass(frozen=True, kw_only=True)
class PanelSpec(LongitudinalSpec):
    """A linear panel model (``workflow/schemas/analyses/panel_model.schema.yaml``); exposure and covariates
    are time-varying by default.

    Attributes
    ----------
    model : str
        ``within`` (entity fixed effects), ``random``, ``first_difference`` or ``pooled``.
    cov_type : str
        ``clustered`` (by person), ``robust`` or ``unadjusted``.
    time_effects : bool
        Wave fixed effects (``within`` only; the time term is then left out).
    include_time : bool
        Include the time term.
    hc_type : str
        Small-sample factor of the clustered covariance (``within`` and ``first_difference``): ``HC1``,
        ``HC0`` or ``sss``, as ``plm::vcovHC(type = ...)``.
    """

    TYPE: ClassVar[str] = "panel_model"
    exposure_timing: str = "time_varying"
    covariate_timing: str = "time_varying"
    model: str = "within"
    cov_type: str = "clustered"
    time_effects: bool = False
    include_time: bool = True
    hc_type: str = "HC1"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hc_type != "HC1" and not (
            self.cov_type == "clustered" and self.model in ("within", "first_difference")
        ):
            raise ConfigError(
                f"{self.where}.hc_type: {self.hc_type} applies to cov_type: clustered with model: within or "
                f"first_difference (got cov_type: {self.cov_type}, model: {self.model}); remove hc_type"
            )
        if self.time_effects and self.model != "within":
            raise ConfigError(f"{self.where}.time_effects is only available with model: within")

    @property
    def method(self) -> str:
        """The ``method`` column."""
        by = " by person" if self.cov_type == "clustered" else ""
        if self.hc_type != "HC1":
            by += f" ({self.hc_type})"
        return f"panel model, {MODEL_LABELS[self.model]}; {self.cov_type} SE{by}"


@dataclass(frozen=True, kw_only=True)
class PanelResult(LongitudinalResult):
    """The result of a ``panel_model`` analysis: coefficients (and, for ``random``, the variance components)
    per fit."""


def _fit_panel(df: pd.DataFrame, design: LongDesign, spec: PanelSpec) -> tuple[Any, list[str]]:
    """linearmodels on one design: the fitted result and the first line of each warning it raised."""
    from linearmodels.panel import FirstDifferenceOLS, PanelOLS, PooledOLS, RandomEffects

    rows = df.loc[design.x.index]
    idx = pd.MultiIndex.from_arrays([rows["id"].to_numpy(), rows["wave"].to_numpy()], names=["id", "wave"])
    xp = design.x.set_axis(idx)
    yp = pd.Series(design.y, index=idx, name=spec.outcome)
    mod: Any
    if spec.model == "within":
        mod = PanelOLS(yp, xp, entity_effects=True, time_effects=spec.time_effects, drop_absorbed=True)
    elif spec.model == "random":
        mod = RandomEffects(yp, xp)
    elif spec.model == "pooled":
        mod = PooledOLS(yp, xp)
    else:
        mod = FirstDifferenceOLS(yp, xp)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = mod.fit(
            cov_type=spec.cov_type, **({"cluster_entity": True} if spec.cov_type == "clustered" else {})
        )
    return res, sorted({str(w.message).splitlines()[0] for w in caught})


def _demean(a: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Columns of ``a`` minus their mean within each code."""
    n_codes = int(codes.max()) + 1
    sums = np.zeros((n_codes, a.shape[1]))
    np.add.at(sums, codes, a)
    counts = np.bincount(codes, minlength=n_codes)[:, None]
    return a - (sums / counts)[codes]


def _arellano_cov(
    x: np.ndarray, y: np.ndarray, beta: np.ndarray, ids: np.ndarray, waves: np.ndarray, spec: PanelSpec
) -> np.ndarray:
    """plm's clustered covariance, ``vcovHC(fit, method = "arellano", type = hc_type, cluster = "group")``.

    The model matrix and response are transformed as plm does (within: minus the person means, and with
    ``time_effects`` also the wave effects, by Frisch-Waugh-Lovell on the demeaned wave dummies; first
    differences: consecutive differences within a person, rows sorted by wave); residuals are those of the
    transformed model. ``HC1`` multiplies by n / (N - k), N the rows before differencing and k the slopes
    (the absorbed effects are not counted, as in plm; linearmodels counts the wave effects); ``sss`` by
    G / (G - 1) (n - 1) / (n - k), n the rows of the transformed model, G the people.
    """
    order = np.lexsort((waves, ids))
    x, y, ids, waves = x[order], y[order], ids[order], waves[order]
    n_rows, k = x.shape
    person = np.unique(ids, return_inverse=True)[1]
    if spec.model == "within":
        xt, yt = _demean(x, person), _demean(y[:, None], person)[:, 0]
        if spec.time_effects:
            wave_codes = np.unique(waves, return_inverse=True)[1]
            dummies = _demean(np.eye(int(wave_codes.max()) + 1)[wave_codes][:, 1:], person)
            both = np.column_stack([xt, yt])
            coef = np.linalg.lstsq(dummies, both, rcond=None)[0]
            both = both - dummies @ coef
            xt, yt = both[:, :k], both[:, k]
    else:
        same = person[1:] == person[:-1]
        xt, yt, person = (x[1:] - x[:-1])[same], (y[1:] - y[:-1])[same], person[1:][same]
    resid = yt - xt @ beta
    n_used = len(resid)
    g = len(np.unique(person))
    scores = np.zeros((int(person.max()) + 1, k))
    np.add.at(scores, person, xt * resid[:, None])
    bread = np.linalg.inv(xt.T @ xt)
    factor = {
        "HC0": 1.0,
        "HC1": n_used / (n_rows - k),
        "sss": g / (g - 1) * (n_used - 1) / (n_used - k),
    }[spec.hc_type]
    cov: np.ndarray = factor * bread @ (scores.T @ scores) @ bread
    return cov


def _panel_estimates(
    res: Any, fit: FitResult, msgs: list[str], spec: PanelSpec, prep: Prepared, stratum: str
) -> list[Estimate]:
    n_people = int(fit.diagnostics.n_groups or 0)
    note = f"{int(res.nobs)} observations of {n_people} people"
    if msgs:
        note += "; " + "; ".join(msgs)
    lab = labels(spec, spec.method, stratum)
    out = coefficients(fit, "beta", n_people, fit_note(note, prep, spec, stratum), lab)
    if spec.model == "random":
        vd = res.variance_decomposition
        out += [
            Estimate(
                term=term,
                estimate=float(vd[key]),
                scale="variance",
                n=n_people,
                note="variance component",
                **lab,
            )
            for term, key in (("var(Effects)", "Effects"), ("var(Residual)", "Residual"))
        ]
    return out


def fit_panel_model(data: pd.DataFrame, spec: PanelSpec) -> PanelResult:
    """Panel model (analysis type ``panel_model``) with linearmodels.

    ``within`` matches ``plm(y ~ x, model = "within")``, ``random`` ``plm(..., model = "random")``
    (Swamy-Arora), ``first_difference`` ``plm(y ~ x - 1, model = "fd")``. Clustered SEs are by person:
    for ``within`` and ``first_difference`` :func:`_arellano_cov` (plm's
    ``vcovHC(fit, method = "arellano", type = hc_type, cluster = "group")``), otherwise linearmodels'
    ``cov_type="clustered", cluster_entity=True`` (HC1).

    Parameters
    ----------
    data : DataFrame
        The long cohort table.
    spec : PanelSpec

    Returns
    -------
    PanelResult
    """
    prep = prepare_long(data, spec)
    frame = prep.frame
    if "wave" not in frame.columns:
        frame = frame.assign(wave=frame.groupby("id").cumcount())
    estimates: list[Estimate] = []
    fits: dict[str, FitResult] = {}
    for stratum in strata(frame, spec.stratify_by, spec.where, overall=spec.overall):
        df = frame.loc[stratum.mask]
        design = long_design(
            df,
            spec,
            f"{spec.where} [{stratum.label}]",
            intercept=spec.model in ("random", "pooled"),
            time=spec.include_time and not spec.time_effects,
            exposure_x_time=False,
        )
        res, msgs = _fit_panel(df, design, spec)
        cov = res.cov.to_numpy()
        if spec.cov_type == "clustered" and spec.model in ("within", "first_difference"):
            rows = df.loc[design.x.index]
            cov = _arellano_cov(
                design.x[list(res.params.index)].to_numpy(dtype=float),
                np.asarray(design.y, dtype=float),
                res.params.to_numpy(),
                rows["id"].to_numpy(),
                rows["wave"].to_numpy(),
                spec,
            )
        diagnostics = Diagnostics(
            n=int(res.nobs),
            log_likelihood=float(res.loglik),
            exclusions=prep.counts,
            n_groups=int(df.loc[design.x.index, "id"].nunique()),
            messages=tuple(msgs),
            statistics={"r_squared": float(res.rsquared)},
        )
        fit = FitResult.from_arrays(
            [str(t) for t in res.params.index],
            res.params.to_numpy(),
            cov,
            float(res.df_resid),
            diagnostics,
            std_errors=np.sqrt(np.diag(cov)),
            method=spec.method,
            codings=design.codings,
        )
        fits[stratum.label] = fit
        estimates += _panel_estimates(res, fit, msgs, spec, prep, stratum.label)
    title = f"{spec.context.analysis}: {spec.outcome} by {spec.exposure} (panel)"
    return make_result(PanelResult, spec, prep, estimates, fits, title, frame=frame)
