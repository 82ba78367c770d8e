"""The one design builder: outcome and design matrix from validated column names (never from formulas).

A config names columns; :func:`build_design` checks that they exist, decides which are categorical
(non-numeric columns, and numeric columns listed as factors), builds treatment-coded dummies with a
stated reference level, per-unit scaling (``exposure_per: sd``), interactions, complete cases with every
exclusion counted by reason, and a rank check that names the aliased columns. The :class:`Design` it
returns remembers its factor levels and scales (formulaic's stateful transforms), so a curve or a
prediction is built on the fitted model's coding with :meth:`Design.transform`.

Every family builds its design matrices here; nothing else dummy-codes a column.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError, ModelError, show_values

INTERCEPT = "(Intercept)"
"""Name of the intercept column (R's)."""


# ----------------------------------------------------------------------------------------- columns
def check_columns(data: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Raise a :class:`DataError` naming each configured column that the table lacks (with a close match)."""
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        hints = []
        for col in missing:
            close = difflib.get_close_matches(col, [str(c) for c in data.columns], n=1)
            hints.append(f"{col!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DataError(
            f"{where}: column(s) {', '.join(hints)} not in the cohort table. Available columns: "
            f"{show_values([str(c) for c in data.columns], 15)}. Fix the name in the config."
        )


def is_numeric(series: pd.Series) -> bool:
    """Numeric or boolean, and not a pandas categorical."""
    return not isinstance(series.dtype, pd.CategoricalDtype) and (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    )


def numeric_values(series: pd.Series, where: str, column: str) -> np.ndarray:
    """A numeric column as float (NaN for missing); a clear error for text in a numeric role."""
    if not is_numeric(series):
        raise DataError(
            f"{where}: column {column!r} must be numeric here but holds {series.dtype} values such as "
            f"{show_values(pd.unique(series.dropna())[:3])}. Use a numeric column, or list it under "
            f"'factors' where a categorical variable is allowed"
        )
    values = pd.to_numeric(series, errors="coerce").astype(float).to_numpy()
    bad = np.isinf(values)
    if bad.any():
        raise DataError(
            f"{where}: column {column!r} has {int(bad.sum())} infinite values (rows "
            f"{show_values(series.index[bad].tolist())}); a model needs finite numbers. Fix them in the cohort "
            f"table, or set them missing (missing_codes: {{{column}: [.inf, -.inf]}})"
        )
    return values


def is_factor(series: pd.Series, column: str, factors: Sequence[str] = ()) -> bool:
    """A column is a factor if listed in ``factors`` or not numeric."""
    return column in factors or not is_numeric(series)


def factor_levels(series: pd.Series, reference: object | None = None, where: str = "") -> list[object]:
    """Observed levels in a stable order: categorical order, else sorted; ``reference`` first if given.

    Raises
    ------
    DataError
        If ``reference`` is not an observed level (the message lists the levels).
    """
    values = series.dropna()
    if isinstance(series.dtype, pd.CategoricalDtype):
        levels = [c for c in series.cat.categories if (values == c).any()]
    else:
        uniq = list(pd.unique(values))
        try:
            levels = sorted(uniq)
        except TypeError:
            levels = sorted(uniq, key=lambda v: (type(v).__name__, str(v)))
    if reference is not None:
        match = [lv for lv in levels if lv == reference or str(lv) == str(reference) or fmt_level(lv) == str(reference)]
        if not match:
            raise DataError(
                f"{where + ': ' if where else ''}reference level {reference!r} does not occur; observed levels: "
                f"{show_values(levels, 20)}. Give one of them as the reference"
            )
        levels = [match[0]] + [lv for lv in levels if lv is not match[0] and lv != match[0]]
    return levels


def fmt_level(level: object) -> str:
    """A level as text (1.0 -> '1')."""
    if isinstance(level, float | np.floating) and float(level).is_integer():
        return str(int(level))
    return str(level)


def complete_rows(data: pd.DataFrame, columns: Sequence[str | None]) -> np.ndarray:
    """Rows with no missing value in ``columns``."""
    cols = [c for c in dict.fromkeys(columns) if c is not None]
    if not cols:
        return np.ones(len(data), bool)
    return data[cols].notna().all(axis=1).to_numpy()


def count_exclusions(data: pd.DataFrame, columns: Sequence[str | None]) -> dict[str, int]:
    """Rows left out for missing values, by reason: each incomplete row is counted once, under the first
    column (in ``columns`` order) it lacks, so the counts add up to the rows excluded."""
    out: dict[str, int] = {}
    left = np.ones(len(data), bool)
    for col in dict.fromkeys(c for c in columns if c is not None):
        miss = left & data[col].isna().to_numpy()
        k = int(miss.sum())
        if k:
            out[f"missing {col}"] = k
            left &= ~miss
    return out


# ------------------------------------------------------------------------------------------ design
@dataclass(frozen=True)
class DesignSpec:
    """What a design matrix holds, by column name (built once from a validated spec).

    Attributes
    ----------
    outcome : str or None
        The outcome column (``None`` for a design without one, e.g. Cox covariates).
    exposure : str or None
        The exposure column: its terms are reported and it must vary.
    covariates : tuple of str
        Adjustment columns; factors become treatment-coded dummies. A covariate constant in the rows
        modelled (e.g. sex within a sex stratum) is left out and listed in :attr:`Design.dropped`.
    factors : tuple of str
        Numeric columns to treat as categorical.
    references : mapping
        Reference level per factor column (default: the first level).
    interactions : tuple of (str, str)
        Products of the columns of two variables (``a:b``), added after the main effects; the second
        member may be a covariate or a further variable (added as a main effect if not yet present).
    scales : mapping
        Divide a numeric column by this (an SD, or a unit such as 5 kg).
    intercept : bool
        Whether to add ``(Intercept)``.
    required : tuple of str
        Further columns that must be complete (survey design, grouping, time).
    min_rows_per_param : int
        Rows needed beyond the number of coefficients (``n > p`` by default).
    check_rank : bool
        Whether to refuse a rank-deficient design (naming the aliased columns).
    """

    outcome: str | None
    exposure: str | None
    covariates: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    references: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    interactions: tuple[tuple[str, str], ...] = ()
    scales: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    intercept: bool = True
    required: tuple[str, ...] = ()
    check_rank: bool = True
    knots: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def variables(self) -> list[str]:
        """Every column the design reads, in model order (duplicates removed)."""
        cols: list[str] = [c for c in (self.outcome, self.exposure) if c]
        cols += list(self.covariates)
        for a, b in self.interactions:
            cols += [a, b]
        return list(dict.fromkeys(cols))


@dataclass(frozen=True)
class Coding:
    """How one variable became columns: factor levels (reference first), a numeric scale, or spline knots.

    With ``knots`` (on the scaled values) :meth:`encode` emits the restricted cubic spline basis
    (:func:`rcs_basis`), so a curve over new exposure values reuses the fitted knots.
    """

    variable: str
    columns: tuple[str, ...]
    levels: tuple[object, ...] | None = None
    scale: float = 1.0
    knots: tuple[float, ...] | None = None

    @property
    def is_factor(self) -> bool:
        """Whether the variable was dummy-coded."""
        return self.levels is not None

    def encode(self, series: pd.Series, where: str = "") -> np.ndarray:
        """The variable's columns for new data, with the fitted levels and scale."""
        if self.levels is None:
            values = numeric_values(series, where, self.variable) / self.scale
            if self.knots is not None:
                return rcs_basis(values, np.asarray(self.knots))
            return values[:, None]
        codes = pd.Categorical(series, categories=list(self.levels)).codes
        block = np.empty((len(series), len(self.levels) - 1))
        for j in range(1, len(self.levels)):
            block[:, j - 1] = codes == j
        return block


@dataclass(frozen=True)
class Design:
    """Outcome, design matrix and bookkeeping of one model.

    Attributes
    ----------
    y : ndarray or None
        The outcome on the complete rows (divided by its scale, if any).
    x : ndarray (n, p)
    names : tuple of str
        Column names of ``x``: ``(Intercept)``, numeric columns by name, dummies as ``col[level]``,
        interactions as ``a:b``.
    rows : ndarray of bool
        Which rows of the input table were used (complete cases).
    codings : mapping
        Variable -> :class:`Coding` (levels or scale), to rebuild the design on new data.
    exposure_terms : tuple of str
        Names of the exposure's columns.
    interaction_terms : tuple of str
        Names of the interaction columns.
    dropped : tuple of str
        Covariates left out because constant in the rows modelled.
    exclusions : mapping
        Rows left out, by reason (``missing <column>``).
    n_input : int
        Rows of the table the design was built from.
    """

    y: np.ndarray | None
    x: np.ndarray
    names: tuple[str, ...]
    rows: np.ndarray
    codings: Mapping[str, Coding]
    exposure_terms: tuple[str, ...]
    interaction_terms: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    exclusions: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    n_input: int = 0

    @property
    def n(self) -> int:
        """Rows modelled."""
        return int(self.x.shape[0])

    @property
    def n_excluded(self) -> int:
        """Rows left out for missing values."""
        return int(sum(self.exclusions.values()))

    def index(self, name: str) -> int:
        """Position of a column."""
        return self.names.index(name)

    def frame(self) -> pd.DataFrame:
        """The design matrix as a labelled DataFrame."""
        return pd.DataFrame(self.x, columns=list(self.names))

    def with_outcome(self, y: np.ndarray) -> Design:
        """The same design with another outcome on the same rows (several outcomes share one matrix)."""
        return Design(
            y, self.x, self.names, self.rows, self.codings, self.exposure_terms, self.interaction_terms,
            self.dropped, self.exclusions, self.n_input,
        )

    def transform(self, data: pd.DataFrame, where: str = "") -> np.ndarray:
        """The design matrix for new rows with the fitted levels and scales (for curves and predictions)."""
        n = len(data)
        blocks: dict[str, np.ndarray] = {}
        for var, coding in self.codings.items():
            block = coding.encode(data[var], where)
            for j, name in enumerate(coding.columns):
                blocks[name] = block[:, j]
        cols = []
        for name in self.names:
            if name == INTERCEPT:
                cols.append(np.ones(n))
            elif name in blocks:
                cols.append(blocks[name])
            else:
                a, b = name.split(":", 1)
                cols.append(blocks[a] * blocks[b])
        return np.column_stack(cols) if cols else np.empty((n, 0))


def _code(series: pd.Series, column: str, spec: DesignSpec, where: str) -> Coding:
    if is_factor(series, column, spec.factors):
        levels = factor_levels(series, spec.references.get(column), where=f"{where}.reference.{column}")
        names = tuple(f"{column}[{fmt_level(lv)}]" for lv in levels[1:])
        return Coding(column, names, tuple(levels))
    numeric_values(series.iloc[:0], where, column)  # refuse text early with the clear message
    if column in spec.knots:  # a restricted cubic spline: rms's column names x, x', x'', ...
        knots = tuple(float(k) for k in spec.knots[column])
        names = tuple(column + "'" * j for j in range(len(knots) - 1))
        return Coding(column, names, None, float(spec.scales.get(column, 1.0)), knots)
    return Coding(column, (column,), None, float(spec.scales.get(column, 1.0)))


def _exposure_block(df: pd.DataFrame, exposure: str, spec: DesignSpec, where: str) -> tuple[Coding, np.ndarray]:
    n = len(df)
    coding = _code(df[exposure], exposure, spec, where)
    block = coding.encode(df[exposure], where)
    if coding.is_factor and len(coding.columns) == 0:
        raise ModelError(
            f"{where}: the exposure {exposure!r} takes a single value "
            f"({show_values(list(coding.levels or ()))}) in the {n} complete rows; nothing to estimate"
        )
    if n > 0 and not coding.is_factor and np.nanmax(block) == np.nanmin(block):
        raise ModelError(
            f"{where}: the exposure {exposure!r} is constant ({fmt_level(block[0, 0] * coding.scale)}) "
            f"in the {n} complete rows; nothing to estimate. Check the column or the rows kept"
        )
    return coding, block


def _covariate_order(spec: DesignSpec) -> list[str]:
    """Covariates, then interaction members that are neither a covariate nor the exposure."""
    extra = [b for _, b in spec.interactions if b not in spec.covariates and b != spec.exposure]
    return [v for v in dict.fromkeys([*spec.covariates, *extra]) if v != spec.exposure]


def _interaction_blocks(
    interactions: Sequence[tuple[str, str]], codings: Mapping[str, Coding], block_of: Mapping[str, np.ndarray]
) -> tuple[list[np.ndarray], list[str]]:
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for a, b in interactions:
        if a not in codings or b not in codings:  # a member left out as constant
            continue
        for j, an in enumerate(codings[a].columns):
            for k, bn in enumerate(codings[b].columns):
                blocks.append((block_of[a][:, j] * block_of[b][:, k])[:, None])
                names.append(f"{an}:{bn}")
    return blocks, names


def no_complete_rows(data: pd.DataFrame, needed: Sequence[str], exclusions: Mapping[str, int],
                      where: str) -> ModelError:
    """The error when no row has every needed value: name an all-missing column, else the exclusions.

    A :class:`ModelError` (nothing to fit on these rows), so that a stratum becomes a note row where the
    analysis notes inestimable strata, and the whole analysis stops with this message otherwise.
    """
    empty = [c for c in dict.fromkeys(needed) if data[c].isna().all()]
    if empty:
        return ModelError(
            f"{where}: column {empty[0]!r} is missing in all {len(data)} rows, so nothing can be fitted. Check the "
            "cohort's column mapping and missing_codes (is it read from the right file and column?), or leave "
            "the column out of this analysis"
        )
    lost = ", ".join(f"{k}: {v}" for k, v in exclusions.items())
    return ModelError(
        f"{where}: none of the {len(data)} rows has every value the model needs ({lost}). Use fewer covariates "
        "with missing values, or a cohort where they are measured together"
    )


def build_design(data: pd.DataFrame, spec: DesignSpec, where: str) -> Design:
    """Build ``y`` and ``X`` (intercept, exposure, covariates, interactions) on complete cases.

    Parameters
    ----------
    data : DataFrame
        The (sub)sample to model.
    spec : DesignSpec
        Columns and their roles.
    where : str
        Config key path for messages (``analyses.<name> (<outcome>, <stratum>)``).

    Returns
    -------
    Design

    Raises
    ------
    DataError
        A column is missing, or text stands where a number is needed.
    ModelError
        The exposure is constant, an interaction's modifier is constant, there are no more rows than
        coefficients, or the design is rank deficient (the message names the aliased columns).
    """
    variables = spec.variables
    check_columns(data, variables + list(spec.required), where)
    needed = variables + list(spec.required)
    rows = complete_rows(data, needed)
    exclusions = count_exclusions(data, needed)
    if not rows.any():
        if not len(data):
            raise ModelError(f"{where}: no rows to fit (the data given to the model are empty); check the filters")
        raise no_complete_rows(data, needed, exclusions, where)
    df = data.loc[rows]
    n = len(df)
    y = None
    if spec.outcome:
        y = numeric_values(df[spec.outcome], where, spec.outcome) / float(spec.scales.get(spec.outcome, 1.0))
    blocks: list[np.ndarray] = [np.ones((n, 1))] if spec.intercept else []
    names: list[str] = [INTERCEPT] if spec.intercept else []
    codings: dict[str, Coding] = {}
    block_of: dict[str, np.ndarray] = {}
    exposure_terms: tuple[str, ...] = ()
    if spec.exposure:
        coding, block = _exposure_block(df, spec.exposure, spec, where)
        codings[spec.exposure], block_of[spec.exposure] = coding, block
        blocks.append(block)
        names += coding.columns
        exposure_terms = coding.columns
    dropped: list[str] = []
    modifiers = [b for _, b in spec.interactions]
    for var in _covariate_order(spec):
        coding = _code(df[var], var, spec, where)
        block = coding.encode(df[var], where)
        if block.shape[1] == 0 or np.all(np.ptp(block, axis=0) == 0):
            if var in modifiers:
                raise ModelError(f"{where}: the effect modifier {var!r} is constant in the {n} complete rows")
            dropped.append(var)
            continue
        codings[var], block_of[var] = coding, block
        blocks.append(block)
        names += coding.columns
    inter_blocks, interaction_terms = _interaction_blocks(spec.interactions, codings, block_of)
    blocks += inter_blocks
    names += interaction_terms
    x = np.hstack(blocks) if blocks else np.empty((n, 0))
    if n <= x.shape[1]:
        raise ModelError(f"{where}: {n} complete rows for {x.shape[1]} coefficients; too few to fit")
    if spec.check_rank:
        check_rank(x, names, where)
    return Design(
        y, x, tuple(names), rows, MappingProxyType(codings), exposure_terms, tuple(interaction_terms),
        tuple(dropped), MappingProxyType(exclusions), len(data),
    )


def check_rank(x: np.ndarray, names: Sequence[str], where: str) -> None:
    """Refuse a (nearly) rank-deficient design, naming the columns of the near-null direction.

    Columns are scaled to unit root-mean-square so that the tolerance (1e-10 of the largest eigenvalue
    of ``X'X``) means the same for every unit.
    """
    scale = np.sqrt((x**2).mean(axis=0))
    scale[scale == 0] = 1.0
    xs = x / scale
    eig, vec = np.linalg.eigh(xs.T @ xs)
    if eig.size and eig.min() <= eig.max() * 1e-10:
        v = vec[:, np.argmin(eig)]
        involved = [names[int(i)] for i in np.flatnonzero(np.abs(v) > 0.1)]
        raise ModelError(
            f"{where}: the design matrix is rank deficient: the columns {involved} are (nearly) collinear. "
            f"Remove one of the variables involved from the covariates"
        )


# ------------------------------------------------------------------------------------------ strata
@dataclass(frozen=True)
class Stratum:
    """One subsample to fit: its label (``overall`` or ``column=level``), mask and level."""

    label: str
    mask: np.ndarray
    column: str | None = None
    level: object = None


def strata(
    data: pd.DataFrame, by: str | None, where: str, *, overall: bool = True
) -> Iterator[Stratum]:
    """``overall`` (unless ``overall`` is false and ``by`` is given) then one stratum per observed level
    of ``by``, in :func:`factor_levels` order. Rows with ``by`` missing belong to no stratum (they count
    in the overall fit only)."""
    if overall or by is None:
        yield Stratum("overall", np.ones(len(data), bool))
    if by is None:
        return
    check_columns(data, [by], f"{where}.by")
    values = data[by]
    for level in factor_levels(values):
        yield Stratum(f"{by}={fmt_level(level)}", (values == level).fillna(False).to_numpy(bool), by, level)


EXPOSURE_UNIT = "exposure_unit"
"""The extra column that says the exposure's unit (``per SD (10.9)``, ``per 5 units``) where it was rescaled."""


def per_unit_scale(
    data: pd.DataFrame, column: str, per: object, where: str, *, factors: Sequence[str] = ()
) -> tuple[float, str]:
    """The divisor of a per-unit exposure (``exposure_per``), the one owner of the concept for every
    analysis type: its SD (``per: sd``, sample SD, ``ddof=1``) over the rows of ``data`` where it is
    observed, or a number. Returns the divisor and a label (``"per SD (10.9)"``, ``"per 5 units"``,
    ``"per unit"``).

    The caller chooses the rows: the analysis rows after its exclusions (``keep_if``; a long table's people
    at their first analysed visit). Divide the exposure by the divisor before fitting (``DesignSpec.scales``
    does, interactions with the exposure included): a coefficient is then per divisor units of the exposure,
    exactly ``divisor`` times the per-unit one, and so is its standard error.

    Raises
    ------
    ConfigError
        ``per`` is neither ``sd`` nor a positive number; the exposure is categorical (listed in ``factors``
        or not numeric); its SD is zero or undefined.
    """
    if per is None:
        return 1.0, "per unit"
    if column in factors or not is_numeric(data[column]):
        kind = "listed as categorical" if column in factors else f"not numeric ({data[column].dtype})"
        raise ConfigError(
            f"{where}: 'exposure_per: {per}' rescales a numeric exposure, but {column!r} is {kind}, so it has "
            "one term per level and no unit. Remove 'exposure_per', or use a numeric exposure (without a "
            "reference level)"
        )
    if per in (1, 1.0):
        return 1.0, "per unit"
    if per == "sd":
        values = pd.to_numeric(data[column], errors="coerce").dropna()
        if len(data) and values.empty:
            raise no_complete_rows(data, [column], {}, where)
        sd = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        if not np.isfinite(sd) or sd == 0:
            raise ConfigError(f"{where}: cannot scale {column!r} per SD: its SD is {sd} in the analysis rows")
        return sd, f"per SD ({sd:.4g})"
    try:
        value = float(per)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: 'exposure_per' must be 'sd' or a positive number, got {per!r}") from exc
    if not value > 0:
        raise ConfigError(f"{where}: 'exposure_per' must be positive, got {value}")
    return value, f"per {value:g} units"


def unit_columns(per: object, label: str) -> Mapping[str, str]:
    """The ``exposure_unit`` extra column of an analysis whose ``exposure_per`` is set (none when it is
    not, so that tables of analyses without it keep their columns)."""
    return MappingProxyType({} if per is None else {EXPOSURE_UNIT: label})


def rcs_knots(x: np.ndarray, nk: int, where: str = "") -> np.ndarray:
    """Harrell's default knots for a restricted cubic spline (``Hmisc::rcspline.eval``, no ties rule).

    Knots at quantiles (R type 7) equally spaced from ``outer`` to ``1 - outer`` (outer 0.10 for 3 knots,
    0.05 for 4-6, 0.025 for 7); with fewer than 100 values the outer knots are the 5th smallest and the
    5th largest value, as in R.

    Raises
    ------
    DataError
        If ``nk`` is not 3..7 or ``x`` has fewer distinct values than ``nk`` + 2 (R would fall back to
        interior values with a warning; we refuse instead).
    """
    values = np.asarray(x, dtype=float)
    values = values[~np.isnan(values)]
    if not 3 <= nk <= 7:
        raise DataError(f"{where}: knots must be 3..7 (got {nk}); give a list of knots instead")
    distinct = np.unique(values)
    if distinct.size - 2 <= nk:
        raise DataError(
            f"{where}: {nk} knots need more than {nk + 2} distinct exposure values, found {distinct.size}; "
            "use fewer knots or give the knots"
        )
    outer = 0.1 if nk == 3 else (0.025 if nk > 6 else 0.05)
    knots = np.quantile(values, np.linspace(outer, 1 - outer, nk))
    if values.size < 100:
        ordered = np.sort(values)
        knots[0] = ordered[4]
        knots[-1] = ordered[-5]
    return knots


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted cubic spline basis, linear column first (``rms::rcs``, ``Hmisc::rcspline.eval`` norm=2).

    Columns: ``x`` and, for j = 1..k-2, ``((x-t_j)+^3 - (x-t_{k-1})+^3 (t_k-t_j)/(t_k-t_{k-1})
    + (x-t_k)+^3 (t_{k-1}-t_j)/(t_k-t_{k-1})) / (t_k-t_1)^2``.
    """
    t = np.asarray(knots, dtype=float)
    v = np.asarray(x, dtype=float)
    k = t.size
    scale = (t[-1] - t[0]) ** 2
    cols = [v]
    for j in range(k - 2):
        term = (
            np.clip(v - t[j], 0, None) ** 3
            - np.clip(v - t[k - 2], 0, None) ** 3 * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
            + np.clip(v - t[k - 1], 0, None) ** 3 * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])
        )
        cols.append(term / scale)
    return np.column_stack(cols)
