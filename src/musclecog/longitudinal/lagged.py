"""Analysis type ``lagged_regression``: OLS of the outcome at a later wave on the baseline exposure and
baseline covariates, optionally adjusted for the baseline outcome (Liu et al. 2019's "MLRM" of W3 cognition;
``lm(y_w3 ~ exposure + covariates [+ y_w1])`` on one row per person).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import strata
from musclecog.core.results import Diagnostics, Estimate, FitResult
from musclecog.errors import ConfigError, DataError
from musclecog.longitudinal.data import Prepared, prepare_long
from musclecog.longitudinal.design import exposure_scale, long_design
from musclecog.longitudinal.results import LongitudinalResult, coefficients, labels, make_result
from musclecog.longitudinal.spec import LongitudinalSpec

log = logging.getLogger(__name__)

OUTCOME_AT_WAVE = "__outcome_w"
"""Column of the wide table holding the outcome at ``outcome_wave``."""


@dataclass(frozen=True, kw_only=True)
class LaggedSpec(LongitudinalSpec):
    """A lagged regression (``workflow/schemas/analyses/lagged_regression.schema.yaml``); the exposure is at
    baseline.

    Attributes
    ----------
    outcome_wave : int or None
        Wave of the outcome (default: the last wave).
    baseline_wave : int or None
        Baseline wave (default: the first wave).
    adjust_baseline_outcome : bool
        Add the baseline outcome as a covariate (``<outcome>_baseline``).
    cov_type : str
        ``nonrobust`` or ``HC3``.
    """

    TYPE: ClassVar[str] = "lagged_regression"
    outcome_wave: int | None = None
    baseline_wave: int | None = None
    adjust_baseline_outcome: bool = False
    cov_type: str = "nonrobust"


@dataclass(frozen=True, kw_only=True)
class LaggedResult(LongitudinalResult):
    """The result of a ``lagged_regression`` analysis: coefficients and R-squared per fit."""


@dataclass(frozen=True)
class _Wide:
    """One row per person with baseline values and the outcome at the outcome wave."""

    frame: pd.DataFrame
    baseline_wave: int
    outcome_wave: int
    notes: tuple[str, ...]


def _waves(frame: pd.DataFrame, spec: LaggedSpec) -> tuple[int, int]:
    if "wave" not in frame.columns:
        raise ConfigError(
            f"{spec.where}: a lagged regression needs a wave column ('{spec.wave}' is not in the table)"
        )
    w0 = int(frame["wave"].min()) if spec.baseline_wave is None else int(spec.baseline_wave)
    w1 = int(frame["wave"].max()) if spec.outcome_wave is None else int(spec.outcome_wave)
    if w1 <= w0:
        raise ConfigError(f"{spec.where}: outcome_wave ({w1}) must come after baseline_wave ({w0})")
    if not (frame["wave"] == w1).any():
        raise DataError(
            f"{spec.where}: no rows at outcome_wave {w1}; waves present: "
            f"{sorted(frame['wave'].unique().tolist())}"
        )
    return w0, w1


def wide_table(prep: Prepared, spec: LaggedSpec) -> _Wide:
    """Baseline rows joined with the outcome at the outcome wave; people without either are counted."""
    frame = prep.frame
    w0, w1 = _waves(frame, spec)
    base = frame.loc[frame["wave"] == w0].set_index("id")
    last = frame.loc[frame["wave"] == w1].set_index("id")[spec.outcome]
    no_base = int(frame["id"].nunique()) - len(base)
    wide = base.join(last.rename(OUTCOME_AT_WAVE), how="inner")
    no_last = len(base) - len(wide)
    notes = []
    if no_base:
        notes.append(f"{no_base} people without wave {w0} excluded")
    if no_last:
        notes.append(f"{no_last} people without {spec.outcome} at wave {w1} excluded")
    for part in notes:
        log.info("%s: %s", spec.where, part)
    if prep.note():
        notes.append(prep.note())
    wide = wide.reset_index()
    if spec.adjust_baseline_outcome:
        wide[f"{spec.outcome}_baseline"] = wide[spec.outcome].to_numpy(float)
    return _Wide(wide, w0, w1, tuple(notes))


def fit_lagged_regression(data: pd.DataFrame, spec: LaggedSpec) -> LaggedResult:
    """Outcome at ``outcome_wave`` (default: the last wave) on baseline exposure and covariates (OLS).

    Matches ``lm(y_w3 ~ exposure + covariates [+ y_w1])`` on one row per person (t tests; ``cov_type: HC3``
    for ``sandwich::vcovHC(type = "HC3")``). People without the baseline or the outcome wave are excluded and
    counted (note and log).

    Parameters
    ----------
    data : DataFrame
        The long cohort table.
    spec : LaggedSpec

    Returns
    -------
    LaggedResult
    """
    # the module, not statsmodels.api (which imports every statsmodels model, ~0.4 s more per job)
    from statsmodels.regression.linear_model import OLS

    prep = prepare_long(data, spec)
    wide = wide_table(prep, spec)
    adj = " adjusted for baseline outcome" if spec.adjust_baseline_outcome else ""
    method = f"OLS of {spec.outcome} at wave {wide.outcome_wave} on baseline {spec.exposure}{adj}"
    flat = replace(spec, covariates_x_time=())
    extra = [f"{spec.outcome}_baseline"] if spec.adjust_baseline_outcome else []
    flat, unit = exposure_scale(wide.frame, flat)  # one row per person: the baseline wave
    estimates: list[Estimate] = []
    fits: dict[str, FitResult] = {}
    for stratum in strata(wide.frame, spec.stratify_by, spec.where, overall=spec.overall):
        df = wide.frame.loc[stratum.mask]
        design = long_design(
            df, flat, f"{spec.where} [{stratum.label}]", outcome=OUTCOME_AT_WAVE, time=False, extra=extra
        )
        res = OLS(design.y, design.x).fit(cov_type=spec.cov_type)
        n = len(design.y)
        note = f"{n} people with waves {wide.baseline_wave} and {wide.outcome_wave}"
        if (stratum.label == "overall" or not spec.stratify_by) and wide.notes:
            note += "; " + "; ".join(wide.notes)
        diagnostics = Diagnostics(
            n=n,
            log_likelihood=float(res.llf),
            exclusions=prep.counts,
            n_groups=n,
            statistics={"r_squared": float(res.rsquared)},
        )
        fit = FitResult.from_arrays(
            list(design.x.columns),
            np.asarray(res.params),
            np.asarray(res.cov_params()),
            float(res.df_resid),
            diagnostics,
            std_errors=np.asarray(res.bse),
            method=method,
            codings=design.codings,
        )
        fits[stratum.label] = fit
        lab = labels(spec, method, stratum.label, unit)
        estimates += coefficients(fit, "beta", n, note, lab)
        estimates.append(
            Estimate(term="R2", estimate=float(res.rsquared), scale="r_squared", n=n, note=note, **lab)
        )
    title = f"{spec.context.analysis}: {spec.outcome} by {spec.exposure}"
    return make_result(LaggedResult, spec, prep, estimates, fits, title)
