"""The fixed-effects design of a longitudinal model, built by :func:`musclecog.core.design.build_design`.

Terms, in this order: ``Intercept``, the time term (``time_years``, or ``time`` with a ``time_origin``), the
exposure (numeric, or dummies ``grip_group[4]`` against its reference), exposure x time
(``grip_group[4]:time_years``), then each covariate followed by its interaction with time when it is listed in
``covariates_x_time``, then further columns (e.g. the baseline outcome of a lagged regression). Covariates
constant in the rows modelled (``sex`` within a sex stratum) are left out; a rank-deficient design is a
:class:`~musclecog.errors.ModelError` naming the collinear columns.

core.design names the intercept ``(Intercept)`` (R's); longitudinal tables have always said ``Intercept``,
so the column is renamed here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import pandas as pd

from musclecog.core.design import INTERCEPT, Coding, DesignSpec, build_design, per_unit_scale
from musclecog.errors import ConfigError, ModelError
from musclecog.longitudinal.spec import TIME, LongitudinalSpec

log = logging.getLogger(__name__)

S = TypeVar("S", bound=LongitudinalSpec)

LONG_INTERCEPT = "Intercept"
"""The intercept's name in longitudinal result tables."""


@dataclass(frozen=True)
class LongDesign:
    """Outcome and labelled design matrix of one longitudinal model.

    Attributes
    ----------
    y : ndarray
    x : DataFrame
        Columns in the order of the module docstring, on the index of the rows modelled.
    codings : mapping
        Variable -> :class:`~musclecog.core.design.Coding` (levels, scales).
    dropped : tuple of str
        Covariates left out because constant in these rows.
    """

    y: np.ndarray
    x: pd.DataFrame
    codings: Mapping[str, Coding]
    dropped: tuple[str, ...] = ()


def _term_order(
    spec: LongitudinalSpec,
    codings: Mapping[str, Coding],
    *,
    intercept: bool,
    time: bool,
    exposure_x_time: bool,
    extra: Sequence[str],
) -> list[str]:
    """Column names in the longitudinal order (module docstring)."""
    tl = spec.time_label
    exp_cols = list(codings[spec.exposure].columns) if spec.exposure else []
    order = ([INTERCEPT] if intercept else []) + ([tl] if time else []) + exp_cols
    if time and exposure_x_time:
        order += [f"{c}:{tl}" for c in exp_cols]
    for cov in (*spec.covariates, *extra):
        cols = list(codings[cov].columns) if cov in codings else []
        order += cols
        if time and cov in spec.covariates_x_time:
            order += [f"{c}:{tl}" for c in cols]
    return order


def long_design(
    frame: pd.DataFrame,
    spec: LongitudinalSpec,
    where: str,
    *,
    outcome: str | None = None,
    intercept: bool = True,
    time: bool = True,
    exposure_x_time: bool = True,
    extra: Sequence[str] = (),
) -> LongDesign:
    """Outcome and design matrix of one model on prepared rows.

    Parameters
    ----------
    frame : DataFrame
        Rows of :func:`~musclecog.longitudinal.data.prepare_long` (one stratum).
    spec : LongitudinalSpec
        With ``exposure_per`` resolved to a number by :func:`exposure_scale` (the exposure is divided by it;
        exposure x time is built from the divided exposure, so it is per the same unit).
    where : str
        For messages (``analyses.<name> [<stratum>]``).
    outcome : str, optional
        The outcome column (default ``spec.outcome``).
    intercept, time, exposure_x_time : bool
        Whether to include the intercept, the time term (and covariates x time) and exposure x time.
    extra : sequence of str
        Further numeric columns of ``frame``, after the covariates.

    Raises
    ------
    ConfigError
        The time column is also the exposure or a covariate.
    ModelError
        The exposure does not vary, or the design is rank deficient.
    """
    tl = spec.time_label
    if spec.exposure and frame[spec.exposure].nunique(dropna=True) < 2:
        raise ModelError(
            f"{where}: the exposure '{spec.exposure}' does not vary in the analysed rows "
            f"({len(frame)} rows); nothing can be estimated (a mixed_model of time alone may leave 'exposure' "
            "out)."
        )
    if time and tl in (spec.exposure, *spec.covariates, *extra):
        raise ConfigError(
            f"{where}: the time column '{tl}' is also the exposure or a covariate; use another column"
        )
    if time and tl != TIME:
        frame = frame.assign(**{tl: frame[TIME].to_numpy(float)})
    interactions = [(spec.exposure, tl)] if spec.exposure and time and exposure_x_time else []
    interactions += [(c, tl) for c in spec.covariates_x_time] if time else []
    design = build_design(
        frame,
        DesignSpec(
            outcome=outcome or spec.outcome,
            exposure=spec.exposure or None,
            covariates=(*([tl] if time else []), *spec.covariates, *extra),
            factors=spec.factors,
            references={spec.exposure: spec.exposure_reference}
            if spec.exposure_reference is not None
            else {},
            interactions=tuple(interactions),
            intercept=intercept,
            scales=_exposure_scales(spec),
        ),
        where,
    )
    if design.dropped:
        log.info("%s: dropped terms constant in these rows: %s", where, list(design.dropped))
    order = _term_order(
        spec, design.codings, intercept=intercept, time=time, exposure_x_time=exposure_x_time, extra=extra
    )
    if sorted(order) != sorted(design.names):
        raise AssertionError(
            f"longitudinal term order {order} does not match the design {list(design.names)}"
        )
    idx = [design.names.index(name) for name in order]
    names = [LONG_INTERCEPT if name == INTERCEPT else name for name in order]
    x = pd.DataFrame(design.x[:, idx], columns=names, index=frame.index[design.rows])
    assert design.y is not None
    return LongDesign(design.y, x, design.codings, design.dropped)


def _exposure_scales(spec: LongitudinalSpec) -> dict[str, float]:
    per = spec.exposure_per
    if not spec.exposure or per is None:
        return {}
    if isinstance(per, str):
        raise AssertionError(f"{spec.where}: exposure_per {per!r} not resolved (longitudinal.design.exposure_scale)")
    return {spec.exposure: float(per)}


def exposure_scale(frame: pd.DataFrame, spec: S) -> tuple[S, str]:
    """``spec`` with ``exposure_per`` resolved to its divisor (``sd`` -> the SD, a number stays), for
    :func:`long_design`, and the unit's label (:func:`musclecog.core.design.per_unit_scale`).

    The SD is across people, of each person's exposure at their first analysed visit (``frame`` is sorted
    by person and visit, after every exclusion): with a baseline exposure that is each person's exposure,
    counted once whatever their number of visits (an SD across person-visits would weight people by their
    visits); with a time-varying exposure it is the SD at baseline. One row per person (a lagged
    regression's table) is the same rule. The SD is of the whole analysis, not of each stratum, so strata
    share one unit (as in ``regression``).
    """
    if not spec.exposure or spec.exposure_per is None:
        return spec, "per unit"
    first = frame.loc[~frame["id"].duplicated()]
    divisor, unit = per_unit_scale(first, spec.exposure, spec.exposure_per, spec.where, factors=spec.factors)
    return replace(spec, exposure_per=divisor), unit
