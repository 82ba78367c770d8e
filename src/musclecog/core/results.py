"""The one result model: fitted models (:class:`FitResult`), reported quantities (:class:`Estimate`) and the
result of one configured analysis (:class:`AnalysisResult`), whose :meth:`AnalysisResult.to_tidy` is the only
place tidy rows are made.

A fit's labelled ``params``, ``std_errors`` and ``cov`` are pandas objects indexed by term; intervals, test
statistics and p-values come from :mod:`musclecog.core.inference`. Figures, manuscript tables, the
reproduction verdicts and pooling read these objects, never tidy rows.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from musclecog.core.design import Coding
from musclecog.core.inference import (
    fdr_bh,
    joint_wald_test,
    wald_interval,
    wald_p_value,
    wald_statistic,
)
from musclecog.errors import ModelError
from musclecog.results import tidy_frame
from musclecog.variables import term_label

RATIO_SCALES = frozenset({"odds_ratio", "hazard_ratio", "risk_ratio"})
"""Scales reported exponentiated (with exponentiated limits); ``std_error`` stays on the log scale."""

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Diagnostics:
    """How a fit went.

    Attributes
    ----------
    n : int
        Rows (observations) used.
    converged : bool
    log_likelihood : float
        At the estimate (NaN where the method has none).
    exclusions : mapping
        Rows left out, by reason (``missing <column>``, a filter's reason, ...).
    n_groups : int or None
        Clusters / people (mixed models, GEE, panels).
    n_events : int or None
        Events (survival, logistic).
    iterations : int or None
    messages : tuple of str
        Warnings of the fitter and notes (e.g. covariates constant in the rows, left out).
    statistics : mapping
        Further model-level numbers (``r_squared``, ``sigma``, ``aic``, variance components, ...).
    """

    n: int
    converged: bool = True
    log_likelihood: float = math.nan
    exclusions: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    n_groups: int | None = None
    n_events: int | None = None
    iterations: int | None = None
    messages: tuple[str, ...] = ()
    statistics: Mapping[str, float] = field(default_factory=lambda: _EMPTY)

    @property
    def n_excluded(self) -> int:
        """Rows left out, all reasons."""
        return int(sum(self.exclusions.values()))


@dataclass(frozen=True)
class Estimate:
    """One reported quantity: a model coefficient, a mean, a correlation, an indirect effect, a count.

    Fields are the columns of the tidy schema (:mod:`musclecog.results`); ``None`` in an optional field
    means the column does not apply. ``extra`` holds family-specific columns (``model``, ``covariates``,
    ``exposure_unit``, ...), written after the schema's columns in the order given.
    """

    term: str
    estimate: float
    scale: str
    std_error: float = math.nan
    conf_low: float = math.nan
    conf_high: float = math.nan
    p_value: float = math.nan
    n: int | None = None
    method: str = ""
    outcome: str = ""
    exposure: str = ""
    stratum: str = "overall"
    statistic: float | None = None
    df: float | None = None
    p_fdr: float | None = None
    n_events: int | None = None
    nsnp: int | None = None
    note: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def replace(self, **changes: Any) -> Estimate:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def missing(cls, term: str, scale: str, reason: str, n: int | None = None, **labels: Any) -> Estimate:
        """A row with no estimate that says why (a stratum too small, a model that cannot be fitted)."""
        return cls(term=term, estimate=math.nan, scale=scale, n=n, note=reason, **labels)


@dataclass(frozen=True)
class Exclusion:
    """Rows (people) a preparation step of an analysis left out, reported in its own result table (the cohort
    flow table is written before the analysis runs).

    Attributes
    ----------
    step : str
        What was checked (a column, ``time at risk``, ``baseline_only``); the term is ``excluded (<step>)``.
    n_in : int
        Rows before the step.
    n_excluded : int
    reason : str
        In words (``excluded: 'cognition' missing``).
    """

    step: str
    n_in: int
    n_excluded: int
    reason: str

    @property
    def why(self) -> str:
        """The reason without its ``excluded:`` prefix (the key of :attr:`Diagnostics.exclusions`)."""
        return self.reason.removeprefix("excluded: ")

    def count_estimate(self, **labels: Any) -> Estimate:
        """The exclusion as a ``count`` row (``n`` = rows before the step, the reason as note)."""
        return Estimate(
            term=f"excluded ({self.step})",
            estimate=float(self.n_excluded),
            scale="count",
            n=self.n_in,
            note=self.reason,
            **labels,
        )


@dataclass(frozen=True)
class FlowStep:
    """One line of an analysis's flow table (``results/estimates/{analysis}.flow.tsv``): how many rows a
    step of the run or of a fit counted (:func:`musclecog.disclosure.flow_table` releases them).

    Attributes
    ----------
    model : str
        ``(all)`` for the run's own steps (cohort, ``keep_if``), else the fit's key or the estimate it concerns.
    step : str
        ``cohort``, a filter, ``excluded (<step>)``, ``complete cases``, ``analysed``, ``withheld (min_n)``.
    reason : str
    n : int or None
        The count (rows, or people where the reason says so).
    """

    model: str
    step: str
    reason: str
    n: int | None


_OPTIONAL_FIELDS = ("statistic", "df", "p_fdr", "n_events", "nsnp", "note")
_LABEL_FIELDS = ("method", "outcome", "exposure", "stratum", "term")
_VALUE_FIELDS = ("estimate", "std_error", "conf_low", "conf_high", "p_value", "n", "scale")


@dataclass(frozen=True)
class FitResult:
    """A fitted model: labelled coefficients, their covariance and how the fit went.

    Attributes
    ----------
    params : Series
        Coefficients indexed by term (on the model scale: log odds, log hazard).
    cov : DataFrame
        Their covariance, indexed and labelled by term.
    std_errors : Series
        Standard errors (by default the square roots of ``cov``'s diagonal; a fitter may give others,
        e.g. robust ones with a model-based ``cov``).
    df_resid : float or None
        Degrees of freedom of t tests and intervals; ``None`` for Wald z.
    diagnostics : Diagnostics
    method : str
        What was fitted, in words (``"logistic regression"``).
    codings : mapping
        Variable -> :class:`~musclecog.core.design.Coding` of the design it was fitted on (levels, scales),
        for labels, curves and predictions.
    df_terms : Series or None
        Per-term degrees of freedom of the t tests and intervals (e.g. Satterthwaite's for a mixed model);
        when given they replace ``df_resid`` for each term's test and interval (joint tests still use
        ``df_resid``). ``None`` (the default): ``df_resid`` for every term.
    """

    params: pd.Series
    cov: pd.DataFrame
    std_errors: pd.Series
    df_resid: float | None
    diagnostics: Diagnostics
    method: str = ""
    codings: Mapping[str, Coding] = field(default_factory=lambda: _EMPTY)
    df_terms: pd.Series | None = None

    @classmethod
    def from_arrays(
        cls,
        names: Sequence[str],
        params: np.ndarray,
        cov: np.ndarray,
        df_resid: float | None,
        diagnostics: Diagnostics,
        *,
        std_errors: np.ndarray | None = None,
        method: str = "",
        codings: Mapping[str, Coding] | None = None,
    ) -> FitResult:
        """Label arrays by term names."""
        idx = pd.Index(list(names), name="term")
        cov_arr = np.asarray(cov, float)
        se = np.sqrt(np.diag(cov_arr)) if std_errors is None else np.asarray(std_errors, float)
        df = None if df_resid is None or not np.isfinite(df_resid) else float(df_resid)
        return cls(
            pd.Series(np.asarray(params, float), index=idx, name="estimate"),
            pd.DataFrame(cov_arr, index=idx, columns=idx),
            pd.Series(se, index=idx, name="std_error"),
            df,
            diagnostics,
            method,
            MappingProxyType(dict(codings or {})),
        )

    def with_term_df(self, df_terms: Sequence[float] | np.ndarray) -> FitResult:
        """A copy whose terms have their own df (:attr:`df_terms`, in term order; NaN: z for that term)."""
        df = pd.Series(np.asarray(df_terms, float), index=self.params.index, name="df")
        return dataclasses.replace(self, df_terms=df)

    @property
    def terms(self) -> list[str]:
        """Term names in model order."""
        return [str(t) for t in self.params.index]

    @property
    def statistic(self) -> pd.Series:
        """Wald t or z statistics."""
        return pd.Series(wald_statistic(self.params.to_numpy(), self.std_errors.to_numpy()), index=self.params.index)

    def term_df(self, term: str) -> float | None:
        """The df of one term's t test: its ``df_terms`` entry when given, else ``df_resid`` (None: z)."""
        if self.df_terms is None:
            return self.df_resid
        df = float(self.df_terms[term])
        return df if np.isfinite(df) else None

    @property
    def p_values(self) -> pd.Series:
        """Two-sided p-values (t on ``df_terms`` or ``df_resid``, or normal)."""
        stat = self.statistic
        if self.df_terms is None:
            return pd.Series(wald_p_value(stat.to_numpy(), self.df_resid), index=self.params.index)
        p = [float(wald_p_value(np.array([stat[t]]), self.term_df(t))[0]) for t in self.terms]
        return pd.Series(p, index=self.params.index)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals on the model scale (t on ``df_terms`` or ``df_resid``, or normal): columns
        ``conf_low``, ``conf_high``."""
        est, se = self.params.to_numpy(), self.std_errors.to_numpy()
        if self.df_terms is None:
            lo, hi = wald_interval(est, se, self.df_resid, level)
        else:
            limits = [wald_interval(est[i : i + 1], se[i : i + 1], self.term_df(t), level) for i, t in enumerate(self.terms)]
            lo = np.array([float(a[0]) for a, _ in limits])
            hi = np.array([float(b[0]) for _, b in limits])
        return pd.DataFrame({"conf_low": lo, "conf_high": hi}, index=self.params.index)

    @property
    def summary(self) -> pd.DataFrame:
        """Fixed columns: estimate, std_error, statistic, p_value, conf_low, conf_high (model scale)."""
        ci = self.conf_int()
        return pd.DataFrame(
            {
                "estimate": self.params,
                "std_error": self.std_errors,
                "statistic": self.statistic,
                "p_value": self.p_values,
                "conf_low": ci["conf_low"],
                "conf_high": ci["conf_high"],
            }
        )

    @property
    def term_labels(self) -> pd.Series:
        """Each term in words, with the variable dictionary's labels and units
        (:func:`musclecog.variables.term_label`)."""
        return pd.Series([term_label(t, self.codings) for t in self.terms], index=self.params.index, name="label")

    def wald_test(self, terms: Sequence[str]) -> tuple[float, int, float]:
        """Joint Wald test that ``terms`` are zero: ``(statistic, k, p)`` (F when ``df_resid`` is set)."""
        missing = [t for t in terms if t not in self.params.index]
        if missing:
            raise ModelError(f"joint test of terms {missing} that the model does not have ({self.terms})")
        idx = [self.terms.index(t) for t in terms]
        return joint_wald_test(self.params.to_numpy(), self.cov.to_numpy(), idx, self.df_resid)

    def estimates(
        self,
        terms: Iterable[str],
        scale: str,
        *,
        level: float = 0.95,
        statistic: bool = True,
        df: bool = False,
        note: str | None = None,
        **labels: Any,
    ) -> list[Estimate]:
        """Reported rows for ``terms``: ratio scales exponentiated with exponentiated limits.

        Parameters
        ----------
        terms : iterable of str
        scale : str
            The tidy ``scale`` (``beta``, ``odds_ratio``, ...).
        statistic, df : bool
            Whether to fill the ``statistic`` and ``df`` columns.
        note : str, optional
        **labels
            Further :class:`Estimate` fields (``method``, ``outcome``, ``exposure``, ``stratum``, ``extra``).
        """
        ci = self.conf_int(level)
        stat = self.statistic
        p = self.p_values
        ratio = scale in RATIO_SCALES
        out = []
        for term in terms:
            est, lo, hi = float(self.params[term]), float(ci.at[term, "conf_low"]), float(ci.at[term, "conf_high"])
            if ratio:
                est, lo, hi = math.exp(est), math.exp(lo), math.exp(hi)
            out.append(
                Estimate(
                    term=term,
                    estimate=est,
                    scale=scale,
                    std_error=float(self.std_errors[term]),
                    conf_low=lo,
                    conf_high=hi,
                    p_value=float(p[term]),
                    n=self.diagnostics.n,
                    statistic=float(stat[term]) if statistic else None,
                    df=_df_value(self.term_df(term)) if df else None,
                    note=note,
                    **labels,
                )
            )
        return out


def _df_value(df: float | None) -> float:
    return df if df is not None else math.nan


def apply_fdr(
    estimates: Sequence[Estimate],
    family: Callable[[Estimate], Hashable],
    include: Callable[[Estimate], bool] = lambda e: True,
) -> list[Estimate]:
    """Benjamini-Hochberg ``p_fdr`` within each family of estimates (R's ``p.adjust(p, "BH")``).

    Parameters
    ----------
    estimates : sequence of Estimate
    family : callable
        Key of the family an estimate belongs to (e.g. its method, stratum and term: all outcomes of one
        model for the exposure term).
    include : callable
        Which estimates take part (the others keep ``p_fdr`` as it was: ``None``, the column absent, or
        NaN when other rows have one).
    """
    groups: dict[Hashable, list[int]] = {}
    for i, e in enumerate(estimates):
        if include(e):
            groups.setdefault(family(e), []).append(i)
    out = list(estimates)
    for idx in groups.values():
        q = fdr_bh([estimates[i].p_value for i in idx])
        for i, qi in zip(idx, q, strict=True):
            out[i] = out[i].replace(p_fdr=float(qi))
    return out


@dataclass(frozen=True, kw_only=True)
class AnalysisResult:
    """The result of one configured analysis: its fitted models and the quantities it reports.

    Family results subclass this to carry what their figures need (curves, trajectories, paths), never a
    figure itself: :mod:`musclecog.plots` draws results (``plots.draw``), results do not import plots.

    Attributes
    ----------
    analysis, cohort : str
        Names from the config.
    estimates : tuple of Estimate
        The reported quantities, in table order.
    fits : mapping
        Fitted models by a readable key (e.g. ``"dsst | adjusted | overall"``).
    title : str
        A one-line description for figures and captions.
    flow : tuple of FlowStep
        The run's exclusion counts (the run's filters, preparation steps, each fit's complete cases, the
        estimates withheld by the min_n rule).
    figure_kind : str
        Which figure :func:`musclecog.plots.draw` makes of it.
    """

    analysis: str
    cohort: str
    estimates: tuple[Estimate, ...]
    fits: Mapping[str, FitResult] = field(default_factory=lambda: MappingProxyType({}))
    title: str = ""
    flow: tuple[FlowStep, ...] = ()
    """The exclusion counts of the run (filled when the result is released: :func:`musclecog.disclosure.release`)."""
    figure_kind: ClassVar[str] = "forest"
    fill_note: ClassVar[bool] = False
    """Write an empty note instead of NA where the table has a note column (a family's convention)."""

    def to_tidy(self) -> pd.DataFrame:
        """The tidy table (:mod:`musclecog.results` schema), one row per estimate in order."""
        present = {f for f in _OPTIONAL_FIELDS if any(getattr(e, f) is not None for e in self.estimates)}
        rows: list[dict[str, Any]] = []
        for e in self.estimates:
            row: dict[str, Any] = {"analysis": self.analysis, "cohort": self.cohort}
            for f in (*_LABEL_FIELDS, *_VALUE_FIELDS):
                row[f] = getattr(e, f)
            for f in _OPTIONAL_FIELDS:
                if f in present:
                    value = getattr(e, f)
                    row[f] = np.nan if value is None and f not in ("note",) else value
            row.update(e.extra)
            rows.append(row)
        if not rows:
            return tidy_frame(pd.DataFrame(columns=["analysis", "cohort", *_LABEL_FIELDS, *_VALUE_FIELDS]))
        df = tidy_frame(rows)
        if self.fill_note and "note" in df.columns:
            df["note"] = df["note"].fillna("")
        return df
