"""Analysis type ``correlation``: Pearson, Spearman and partial correlations, a correlation matrix, R².

* Pearson: R's ``cor.test(x, y)``: t = r sqrt(n - 2) / sqrt(1 - r^2) on n - 2 df; 95% CI by Fisher's z,
  ``tanh(atanh(r) +- 1.96 / sqrt(n - 3))`` (the interval ``cor.test`` prints).
* Spearman: Pearson correlation of mid-ranks; p from the t approximation (R's
  ``cor.test(method = "spearman", exact = FALSE)``); CI by Fisher's z with the Fieller-Hartley-Pearson
  variance ``1.06 / (n - 3)`` (R prints no interval for Spearman).
* Partial (``partial: [covariates]``): Pearson correlation of the residuals of x and y on the covariates
  (factors as dummies); t on n - 2 - k df and Fisher's z with ``1 / sqrt(n - 3 - k)``, k = number of
  covariate columns (R: ``ppcor::pcor.test``).
* ``r_squared: true``: R² of the simple linear regression of y on x (= r²), with the CI squared from
  r's Fisher interval (0 as lower bound when that interval spans 0) and the F test's p (= r's p).

Liao et al. (2024): grip and sit-to-stand with 1-back and 2-back accuracy; Li et al. (2023): PA-grip,
grip-1-back, and the R² of cognition on 1-back accuracy. Correlations are unweighted (a survey design
of the cohort is not used).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from musclecog.core.spec import RunContext
from musclecog.crosssectional.common import CrossSectionalResult, as_list, note_row, strata
from musclecog.crosssectional.design import build_model_frame, check_columns, complete_rows, numeric_values
from musclecog.errors import ConfigError, ModelError

logger = logging.getLogger(__name__)

METHODS = ("pearson", "spearman", "both")


@dataclass(frozen=True)
class CorrelationSpec:
    """A ``correlation`` entry of the config."""

    pairs: tuple[tuple[str, str], ...]
    method: str = "pearson"
    partial: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    r_squared: bool = False
    by: str | None = None
    min_n: int = 10

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], where: str) -> CorrelationSpec:
        if ("pairs" in spec) == ("variables" in spec):
            raise ConfigError(
                f"{where}: give exactly one of 'pairs' (list of [x, y]) or 'variables' (all pairs)"
            )
        if "pairs" in spec:
            pairs = []
            for i, pair in enumerate(spec["pairs"]):
                items = as_list(pair)
                if len(items) != 2 or items[0] == items[1]:
                    raise ConfigError(f"{where}.pairs[{i}] must be two different column names, got {pair!r}")
                pairs.append((items[0], items[1]))
        else:
            variables = as_list(spec["variables"])
            if len(variables) < 2 or len(set(variables)) != len(variables):
                raise ConfigError(f"{where}.variables needs two or more different columns, got {variables}")
            pairs = [(a, b) for i, a in enumerate(variables) for b in variables[i + 1 :]]
        method = str(spec.get("method", "pearson"))
        if method not in METHODS:
            raise ConfigError(f"{where}.method is {method!r}; use one of {', '.join(METHODS)}")
        min_n = int(spec.get("min_n", 10))
        if min_n < 4:
            raise ConfigError(
                f"{where}.min_n must be at least 4 (a Fisher-z interval needs n > 3), got {min_n}"
            )
        return cls(
            pairs=tuple(pairs),
            method=method,
            partial=tuple(as_list(spec.get("partial"))),
            factors=tuple(as_list(spec.get("factors"))),
            r_squared=bool(spec.get("r_squared", False)),
            by=spec.get("by"),
            min_n=min_n,
        )


def _rank(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


def correlation_row(x: np.ndarray, y: np.ndarray, k: int = 0, spearman: bool = False) -> dict[str, float]:
    """Correlation of two complete vectors with t test and Fisher-z 95% CI (``k`` partialled covariates)."""
    n = len(x)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ModelError("a variable is constant in these rows; its correlation is undefined")
    if spearman:
        x, y = _rank(x), _rank(y)
    r = float(np.corrcoef(x, y)[0, 1])
    r = min(max(r, -1.0), 1.0)
    df = n - 2 - k
    t = r * np.sqrt(df / (1 - r**2)) if abs(r) < 1 else np.sign(r) * np.inf
    p = float(2 * stats.t.sf(abs(t), df))
    se = np.sqrt((1.06 if spearman else 1.0) / (n - 3 - k))
    z = np.arctanh(r) if abs(r) < 1 else np.sign(r) * np.inf
    q = stats.norm.ppf(0.975)
    return {
        "estimate": r,
        "std_error": float(se),
        "conf_low": float(np.tanh(z - q * se)),
        "conf_high": float(np.tanh(z + q * se)),
        "p_value": p,
        "statistic": float(t),
        "df": float(df),
        "n": n,
    }


def fit_correlation(
    data: pd.DataFrame, spec: Mapping[str, Any], context: RunContext
) -> CrossSectionalResult:
    """Fit a ``correlation`` analysis: every pair x method x stratum (+ partial and R² rows).

    Returns
    -------
    CrossSectionalResult
        ``exposure`` is the first column of the pair, ``outcome`` the second; ``term`` is ``pearson``,
        ``spearman``, ``partial_pearson`` or ``r_squared``; scale ``correlation`` or ``r_squared``.
    """
    where = f"analyses.{context.analysis}"
    s = CorrelationSpec.from_config(spec, where)
    columns = sorted({c for pair in s.pairs for c in pair})
    check_columns(data, columns + list(s.partial) + ([s.by] if s.by else []), where)
    methods = ("pearson", "spearman") if s.method == "both" else (s.method,)
    rows: list[dict[str, Any]] = []
    for stratum, mask in strata(data, s.by, where):
        sub = data.loc[mask]
        for a, b in s.pairs:
            need = [a, b, *s.partial]
            ok = complete_rows(sub, need)
            if stratum == "overall" and int(ok.sum()) < len(sub):
                logger.info(
                    "%s (%s with %s): %d of %d rows excluded (missing values in %s)",
                    where,
                    a,
                    b,
                    len(sub) - int(ok.sum()),
                    len(sub),
                    ", ".join(need),
                )
            n = int(ok.sum())
            base = {"exposure": a, "outcome": b, "stratum": stratum}
            todo: list[tuple[str, str, str]] = [
                (m, "Pearson correlation" if m == "pearson" else "Spearman rank correlation", "correlation")
                for m in methods
            ]
            if s.partial:
                todo.append(
                    (
                        "partial_pearson",
                        f"partial Pearson correlation, adjusted for {', '.join(s.partial)}",
                        "correlation",
                    )
                )
            if s.r_squared:
                todo.append(("r_squared", "linear regression R-squared", "r_squared"))
            if n < s.min_n:
                for term, method, scale in todo:
                    rows.append(
                        note_row(
                            {**base, "term": term, "method": method, "scale": scale},
                            f"too few people: {n} complete pairs in {stratum} (minimum min_n = {s.min_n})",
                            n,
                        )
                    )
                continue
            x = numeric_values(sub.loc[ok, a], where, a)
            y = numeric_values(sub.loc[ok, b], where, b)
            for term, method, scale in todo:
                try:
                    if term == "partial_pearson":
                        frame_x = build_model_frame(sub.loc[ok], a, None, s.partial, s.factors, where)
                        frame_y = build_model_frame(sub.loc[ok], b, None, s.partial, s.factors, where)
                        rx = frame_x.y - frame_x.x @ np.linalg.lstsq(frame_x.x, frame_x.y, rcond=None)[0]
                        ry = frame_y.y - frame_y.x @ np.linalg.lstsq(frame_y.x, frame_y.y, rcond=None)[0]
                        values = correlation_row(rx, ry, k=frame_x.x.shape[1] - 1)
                    elif term == "r_squared":
                        c = correlation_row(x, y)
                        r, lo, hi = c["estimate"], c["conf_low"], c["conf_high"]
                        lo2 = 0.0 if lo <= 0 <= hi else min(lo**2, hi**2)
                        values = {
                            **c,
                            "estimate": r**2,
                            "std_error": np.nan,
                            "conf_low": lo2,
                            "conf_high": max(lo**2, hi**2),
                            "statistic": c["statistic"] ** 2,
                        }
                    else:
                        values = correlation_row(x, y, spearman=term == "spearman")
                except ModelError as exc:
                    if stratum == "overall":
                        raise ModelError(f"{where} ({a} with {b}): {exc}") from exc
                    rows.append(
                        note_row(
                            {**base, "term": term, "method": method, "scale": scale},
                            f"not estimable: {exc}",
                            n,
                        )
                    )
                    continue
                rows.append({**base, "term": term, "method": method, "scale": scale, **values})
    title = f"{context.analysis}: correlations"
    return CrossSectionalResult(
        context.analysis, context.cohort, rows, title, plot_scales=("correlation", "r_squared")
    )


def correlation_matrix(result: pd.DataFrame, term: str = "pearson", stratum: str = "overall") -> pd.DataFrame:
    """A square matrix of one kind of correlation from a ``correlation`` result table (diagonal 1)."""
    sel = result[(result["term"] == term) & (result["stratum"] == stratum)]
    names = list(dict.fromkeys(list(sel["exposure"]) + list(sel["outcome"])))
    mat = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for _, row in sel.iterrows():
        mat.loc[row["exposure"], row["outcome"]] = row["estimate"]
        mat.loc[row["outcome"], row["exposure"]] = row["estimate"]
    return mat
