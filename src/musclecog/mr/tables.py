"""The tables of one MR pair: multivariable IVW as tidy rows, and writing every table of a pair.

Figures are drawn from the result by :func:`musclecog.plots.mr.all_figures` (the rule script saves them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from musclecog.core.results import AnalysisResult, Estimate
from musclecog.errors import DataError, show_values
from musclecog.mr.analysis import SUMMARY_COHORT, MRSettings, causal_estimates
from musclecog.mr.estimators import MREstimate
from musclecog.mr.sensitivity import multivariable_egger, multivariable_ivw
from musclecog.results import write_table

if TYPE_CHECKING:
    from musclecog.mr.pair import PairResult

TABLES = ("harmonised", "instruments", "estimates", "heterogeneity", "pleiotropy", "directionality", "single_snp",
          "leave_one_out", "presso", "flow")
"""The tables of every pair (``multivariable`` too for pairs with ``adjust_for``)."""

FIGURES = ("scatter", "forest", "funnel", "leave_one_out")
"""The figures of every pair (:func:`musclecog.plots.mr.all_figures`)."""

MULTIVARIABLE = "Multivariable IVW"
MULTIVARIABLE_EGGER = "Multivariable MR-Egger"


def multivariable_table(
    data: pd.DataFrame,
    exposure: str,
    outcome: str,
    adjust: Sequence[str],
    mr_settings: MRSettings,
    binary: bool = False,
    analysis: str | None = None,
) -> pd.DataFrame:
    """Multivariable IVW of the outcome on the exposure and the ``adjust`` exposures (``beta.<label>`` columns)
    over the ``mr_keep`` variants, as tidy rows (method ``Multivariable IVW``, one per exposure; odds ratios too
    for a binary outcome). Multiplicative random effects as MendelianRandomization ``mr_mvivw`` (default
    ``model = "default"``): se scaled by max(1, residual standard error).

    Raises
    ------
    DataError
        A used variant lacks an association with an adjusting exposure; too few variants; collinear exposures.
    """
    keep = data["mr_keep"].to_numpy(bool)
    used = data.loc[keep]
    cols = ["beta.exposure"] + [f"beta.{a}" for a in adjust]
    bx = used[cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(bx).all(axis=1)
    if bad.any():
        where = [c for c, b in zip(cols, (~np.isfinite(bx)).any(axis=0), strict=True) if b]
        raise DataError(
            f"{exposure} -> {outcome} multivariable MR: variants {show_values(used['SNP'][bad].tolist())} lack a "
            f"numeric association in {where}; fill them "
            "or set mr_keep FALSE for them in the table"
        )
    exposures = [exposure, *adjust]
    res = multivariable_ivw(bx, used["beta.outcome"].to_numpy(float), used["se.outcome"].to_numpy(float),
                            exposures=exposures, model="random")
    rows: list[Estimate] = []
    for r in res.estimates.itertuples(index=False):
        others = [e for e in exposures if e != r.exposure]
        note = (f"adjusted for {', '.join(others)}; multiplicative random effects; "
                f"residual se {res.sigma:.4g}, Q {res.Q:.4g} on {res.Q_df} df (p {res.Q_pval:.3g})")
        fit = MREstimate(MULTIVARIABLE, float(r.b), float(r.se), float(r.pval), int(r.nsnp), note=note)
        rows += causal_estimates([fit], str(r.exposure), outcome, mr_settings.alpha, odds_ratios=False)
    if "egger_mv" in mr_settings.methods:
        rows += _egger_rows(bx, used, exposures, outcome, mr_settings)
    if binary:
        rows += [e.replace(scale="odds_ratio", estimate=float(np.exp(e.estimate)), conf_low=float(np.exp(e.conf_low)),
                           conf_high=float(np.exp(e.conf_high))) for e in list(rows) if e.term == "causal_effect"]
    name = analysis or f"{exposure}__{outcome}"
    return AnalysisResult(analysis=name, cohort=SUMMARY_COHORT, estimates=tuple(rows)).to_tidy()


def _egger_rows(bx: np.ndarray, used: pd.DataFrame, exposures: list[str], outcome: str,
                mr_settings: MRSettings) -> list[Estimate]:
    """Multivariable MR-Egger rows (``egger_mv``): one per exposure, then the intercept (term
    ``egger_intercept``, on the pair's exposure's row label); p-values by ``egger_distribution``."""
    res = multivariable_egger(bx, used["beta.outcome"].to_numpy(float), used["se.outcome"].to_numpy(float),
                              exposures=exposures, orientate=0, distribution=mr_settings.egger_distribution)
    rows: list[Estimate] = []
    dist = "normal p-values" if mr_settings.egger_distribution == "normal" else f"t({res.Q_df + 1}) p-values"
    tail = (f"oriented on {exposures[0]}; residual se {res.sigma:.4g}, Q {res.Q:.4g} on {res.Q_df} df "
            f"(p {res.Q_pval:.3g}); {dist}")
    for r in res.estimates.itertuples(index=False):
        others = [e for e in exposures if e != r.exposure]
        fit = MREstimate(MULTIVARIABLE_EGGER, float(r.b), float(r.se), float(r.pval), int(r.nsnp),
                         note=f"adjusted for {', '.join(others)}; {tail}")
        rows += causal_estimates([fit], str(r.exposure), outcome, mr_settings.alpha, odds_ratios=False)
    k = int(res.estimates["nsnp"].iloc[0])
    icpt = MREstimate(MULTIVARIABLE_EGGER, res.intercept, res.intercept_se, res.intercept_pval, k,
                      note=f"intercept (average directional pleiotropy); {tail}")
    rows += [e.replace(term="egger_intercept")
             for e in causal_estimates([icpt], exposures[0], outcome, mr_settings.alpha, odds_ratios=False)]
    return rows


def write_pair(pair: PairResult, tables: Mapping[str, str | Path]) -> None:
    """Write the pair's tables (``write_table``: deterministic bytes), keyed by the names of :data:`TABLES`
    (and ``multivariable``; ``multivariable_harmonised``, the harmonised union set of a GWAS pair with
    ``adjust_for``, with its per-trait proxy columns)."""
    res_tables = pair.result.tables()
    for name, path in tables.items():
        if name == "harmonised":
            df = pair.harmonised
        elif name == "instruments":
            df = pair.instruments
        elif name == "flow":
            df = pair.flow
        elif name == "multivariable":
            if pair.multivariable is None:
                raise ValueError("multivariable.tsv requested for a pair without adjust_for")
            df = pair.multivariable
        elif name == "multivariable_harmonised":
            if pair.multivariable_data is None:
                raise ValueError("multivariable_harmonised.tsv requested for a pair without a GWAS adjust_for set")
            df = pair.multivariable_data
        elif name in res_tables:
            df = res_tables[name]
        else:
            raise ValueError(f"unknown MR table {name!r}")
        write_table(df, path)
