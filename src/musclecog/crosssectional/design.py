"""Design matrices from validated column names (never from formula strings).

A config names columns; this module checks that they exist, decides which are categorical (factors:
non-numeric columns, and numeric columns listed under ``factors``), builds treatment-coded dummies with
the first level (sorted, or the categorical's first category) as reference, and counts the rows left out
as incomplete. Nothing from a config is ever parsed as a formula.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from musclecog.errors import DataError, ModelError, show_values

logger = logging.getLogger(__name__)

INTERCEPT = "(Intercept)"


def check_columns(data: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Raise a :class:`DataError` naming each configured column that the table lacks."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        hints = []
        for col in missing:
            close = difflib.get_close_matches(col, [str(c) for c in data.columns], n=1)
            hints.append(f"{col!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DataError(
            f"{where}: column(s) {', '.join(hints)} not in the cohort table. Available columns: "
            f"{show_values([str(c) for c in data.columns], 15)}. Fix the name in the config."
        )


def numeric_values(series: pd.Series, where: str, column: str) -> np.ndarray:
    """A numeric column as float (NaN for missing); a clear error for text in a numeric role."""
    if isinstance(series.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    ):
        raise DataError(
            f"{where}: column {column!r} must be numeric here but holds {series.dtype} values such as "
            f"{show_values(pd.unique(series.dropna())[:3])}. Use a numeric column, or list it under "
            f"'factors' where a categorical variable is allowed"
        )
    return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()


def is_factor(series: pd.Series, column: str, factors: Sequence[str]) -> bool:
    """A column is a factor if listed in ``factors`` or not numeric."""
    if column in factors:
        return True
    return isinstance(series.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    )


def factor_levels(series: pd.Series, reference: object | None = None) -> list[object]:
    """Observed levels in a stable order: categorical order, else sorted; ``reference`` first if given."""
    values = series.dropna()
    if isinstance(series.dtype, pd.CategoricalDtype):
        levels = [c for c in series.cat.categories if (values == c).any()]
    else:
        uniq = pd.unique(values)
        try:
            levels = sorted(uniq)
        except TypeError:
            levels = sorted(uniq, key=str)
    if reference is not None:
        match = [lv for lv in levels if lv == reference or str(lv) == str(reference)]
        if not match:
            raise DataError(
                f"reference level {reference!r} does not occur; observed levels: {show_values(levels)}"
            )
        levels = [match[0]] + [lv for lv in levels if lv is not match[0] and lv != match[0]]
    return levels


def fmt_level(level: object) -> str:
    """A level as text (1.0 -> '1')."""
    if isinstance(level, float | np.floating) and float(level).is_integer():
        return str(int(level))
    return str(level)


@dataclass
class ModelFrame:
    """Outcome, design matrix and bookkeeping of one model.

    Attributes
    ----------
    y : ndarray
    x : ndarray
    names : list of str
        Column names of ``x``: ``(Intercept)``, numeric columns by name, dummies as ``col[level]``,
        interactions as ``a:b``.
    rows : ndarray of bool
        Which rows of the input table were used (complete cases).
    exposure_terms : list of str
        Names of the exposure's columns.
    interaction_terms : list of str
        Names of exposure-by-modifier columns.
    dropped : list of str
        Covariates dropped because constant in this (sub)sample (e.g. sex within a sex stratum).
    """

    y: np.ndarray
    x: np.ndarray
    names: list[str]
    rows: np.ndarray
    exposure_terms: list[str]
    interaction_terms: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])


def complete_rows(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Rows with no missing value in ``columns``."""
    cols = [c for c in dict.fromkeys(columns) if c is not None]
    if not cols:
        return np.ones(len(data), bool)
    return data[cols].notna().all(axis=1).to_numpy()


def _dummies(series: pd.Series, column: str, levels: list[object]) -> tuple[np.ndarray, list[str]]:
    # integer codes against the ordered levels, then one comparison per level (fast on 10^5-10^6 rows)
    codes = pd.Categorical(series, categories=levels).codes
    block = np.empty((len(series), len(levels) - 1))
    for j in range(1, len(levels)):
        block[:, j - 1] = codes == j
    return block, [f"{column}[{fmt_level(lv)}]" for lv in levels[1:]]


def build_model_frame(
    data: pd.DataFrame,
    outcome: str,
    exposure: str | None,
    covariates: Sequence[str],
    factors: Sequence[str],
    where: str,
    *,
    interaction: str | None = None,
    exposure_scale: float = 1.0,
    outcome_scale: float = 1.0,
    references: dict[str, object] | None = None,
    extra_required: Sequence[str] = (),
) -> ModelFrame:
    """Build ``y`` and ``X`` (intercept, exposure, covariates, optional exposure x modifier) on complete cases.

    Parameters
    ----------
    data : DataFrame
        The (sub)sample to model.
    outcome, exposure : str
        Column names (exposure may be None for an intercept-and-covariates model).
    covariates : sequence of str
        Adjustment columns; factors become treatment-coded dummies.
    factors : sequence of str
        Numeric columns to treat as categorical.
    where : str
        Config key path for messages.
    interaction : str, optional
        Effect modifier: adds its main effect (if not a covariate) and exposure x modifier columns.
    exposure_scale, outcome_scale : float
        Divide the exposure (outcome) by this (an SD, or a unit such as 5 kg).
    references : dict, optional
        Reference level per factor column.
    extra_required : sequence of str
        Further columns that must be complete (survey design, random-effect grouping).

    Raises
    ------
    ModelError
        If the exposure is constant, or the design matrix is rank deficient for another reason
        (the message names the aliased columns).
    """
    references = references or {}
    columns = [outcome] + ([exposure] if exposure else []) + list(covariates)
    if interaction and interaction not in columns:
        columns.append(interaction)
    check_columns(data, columns + list(extra_required), where)
    rows = complete_rows(data, columns + list(extra_required))
    df = data.loc[rows]
    n = len(df)
    y = numeric_values(df[outcome], where, outcome) / outcome_scale
    blocks: list[np.ndarray] = [np.ones((n, 1))]
    names: list[str] = [INTERCEPT]
    exposure_terms: list[str] = []
    exposure_block = np.empty((n, 0))
    if exposure:
        if is_factor(df[exposure], exposure, factors):
            levels = factor_levels(df[exposure], references.get(exposure))
            if len(levels) < 2:
                raise ModelError(
                    f"{where}: the exposure {exposure!r} takes a single value ({show_values(levels)}) in the "
                    f"{n} complete rows; nothing to estimate"
                )
            exposure_block, exposure_terms = _dummies(df[exposure], exposure, levels)
        else:
            xv = numeric_values(df[exposure], where, exposure)
            if n > 0 and np.nanmax(xv) == np.nanmin(xv):
                raise ModelError(
                    f"{where}: the exposure {exposure!r} is constant ({fmt_level(xv[0])}) in the {n} complete "
                    f"rows; nothing to estimate. Check the column or the rows kept"
                )
            exposure_block = (xv / exposure_scale)[:, None]
            exposure_terms = [exposure]
        blocks.append(exposure_block)
        names += exposure_terms
    dropped: list[str] = []
    modifier_block = None
    modifier_names: list[str] = []
    for cov in list(covariates) + ([interaction] if interaction and interaction not in covariates else []):
        if cov == exposure:
            continue
        if is_factor(df[cov], cov, factors):
            levels = factor_levels(df[cov], references.get(cov))
            block, bnames = _dummies(df[cov], cov, levels)
        else:
            v = numeric_values(df[cov], where, cov)
            block, bnames = v[:, None], [cov]
        if block.shape[1] == 0 or np.all(np.ptp(block, axis=0) == 0):
            dropped.append(cov)
            if cov == interaction:
                raise ModelError(f"{where}: the effect modifier {cov!r} is constant in the {n} complete rows")
            continue
        blocks.append(block)
        names += bnames
        if cov == interaction:
            modifier_block, modifier_names = block, bnames
    interaction_terms: list[str] = []
    if interaction and modifier_block is not None:
        for j, en in enumerate(exposure_terms):
            for k, mn in enumerate(modifier_names):
                blocks.append((exposure_block[:, j] * modifier_block[:, k])[:, None])
                interaction_terms.append(f"{en}:{mn}")
        names += interaction_terms
    x = np.hstack(blocks)
    if n <= x.shape[1]:
        raise ModelError(f"{where}: {n} complete rows for {x.shape[1]} coefficients; too few to fit")
    _check_rank(x, names, where)
    if dropped:
        logger.info("%s: covariate(s) %s constant in this sample, left out", where, dropped)
    return ModelFrame(y, x, names, rows, exposure_terms, interaction_terms, dropped)


def _check_rank(x: np.ndarray, names: list[str], where: str) -> None:
    # scale columns so the tolerance is meaningful, then a pivoted-QR-free rank test via SVD of X'X
    scale = np.sqrt((x**2).mean(axis=0))
    scale[scale == 0] = 1.0
    xs = x / scale
    gram = xs.T @ xs
    eig, vec = np.linalg.eigh(gram)
    tol = eig.max() * 1e-10
    if eig.min() <= tol:
        v = vec[:, np.argmin(eig)]
        involved = [names[i] for i in np.flatnonzero(np.abs(v) > 0.1)]
        raise ModelError(
            f"{where}: the design matrix is rank deficient: the columns {involved} are (nearly) collinear. "
            f"Remove one of the variables involved from the covariates"
        )
