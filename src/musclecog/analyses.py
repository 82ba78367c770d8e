"""The registry of cohort analyses: analysis type -> the family's fitting function.

The path from a config key to the code that fits it has three hops:
``analyses.<name>.type`` -> rule ``fit_cohort_<cohort>`` or ``fit_analysis`` (``workflow/rules/analyses.smk``)
-> the function named here. Each function is ``fit_<type>(data, spec: <Type>Spec) -> <Type>Result``: the spec class is read from
the function's annotation and built once from the validated entry (:func:`musclecog.core.spec.spec_from_config`),
and the result is a :class:`musclecog.core.results.AnalysisResult`.

Modules are imported only when their type is fitted, so that one family's import cost (or error) does not
reach another's jobs. A new analysis type: a schema in ``workflow/schemas/analyses/``, a spec class and a
fit function in its family, one line here (``docs/architecture.md``).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from musclecog.core.results import AnalysisResult, Exclusion
from musclecog.core.spec import AnalysisSpec, RunContext, spec_from_config
from musclecog.disclosure import ReleaseRule, release, withheld_result
from musclecog.errors import ConfigError
from musclecog.filters import apply_keep_if
from musclecog.imputation import IMPUTATION, fit_imputed

logger = logging.getLogger(__name__)

ANALYSIS_TYPES: dict[str, str] = {
    # cross-sectional
    "group_comparison": "musclecog.crosssectional.groups:fit_group_comparison",
    "regression": "musclecog.crosssectional.regression:fit_regression",
    "correlation": "musclecog.crosssectional.correlation:fit_correlation",
    # mediation and path models
    "simple_mediation": "musclecog.mediation.process:fit_simple_mediation",
    "parallel_mediation": "musclecog.mediation.process:fit_parallel_mediation",
    "serial_mediation": "musclecog.mediation.process:fit_serial_mediation",
    "path_model": "musclecog.mediation.pathmodel:fit_path_model",
    "trial_mediation": "musclecog.mediation.trials:fit_trial_mediation",
    "change_correlation": "musclecog.mediation.trials:fit_change_correlation",
    # longitudinal
    "mixed_model": "musclecog.longitudinal:fit_mixed_model",
    "gee": "musclecog.longitudinal:fit_gee",
    "panel_model": "musclecog.longitudinal:fit_panel_model",
    "lagged_regression": "musclecog.longitudinal:fit_lagged_regression",
    # survival
    "cox": "musclecog.survival:fit_cox",
    "kaplan_meier": "musclecog.survival:fit_kaplan_meier",
    # Mendelian randomization in one sample
    "one_sample_mr": "musclecog.mr.onesample:fit_one_sample_mr",
    # dose-response (restricted cubic splines)
    "dose_response": "musclecog.doseresponse:fit_dose_response",
    # pooling study estimates
    "meta_analysis": "musclecog.meta.analysis:fit_meta_analysis",
}
"""Analysis type -> ``module:function``. The schema files in ``workflow/schemas/analyses/`` name the same set."""


INPUT_READERS: dict[str, str] = {
    "meta_analysis": "musclecog.meta.analysis:read_studies",
}
"""Analysis types whose input is not a cohort table -> the ``module:function`` reading it from the entry."""

DEFAULT_COHORT_LABEL = "pooled"
"""The ``cohort`` column of an analysis that names no cohort (a meta-analysis of a study table)."""


def analysis_cohort(entry: Mapping[str, Any]) -> str:
    """The cohort an analysis entry names (its label, :data:`DEFAULT_COHORT_LABEL`, when it names none)."""
    return str(entry.get("cohort", DEFAULT_COHORT_LABEL))


def analysis_input(
    entry: Mapping[str, Any], cohort_path: str, estimates_dir: str = "results/estimates"
) -> str | list[str]:
    """The file(s) an analysis reads: its cohort table ``cohort_path``; a meta-analysis' study table
    (``studies.path``); or, for ``pool:``, the estimates tables ``<estimates_dir>/<analysis>.tsv`` it pools."""
    if str(entry["type"]) not in INPUT_READERS:
        return cohort_path
    if entry.get("pool"):
        return [f"{estimates_dir}/{name}.tsv" for name in entry["pool"]["analyses"]]
    return str(entry["studies"]["path"])


def load_analysis_data(entry: Mapping[str, Any], path: str | Sequence[str]) -> pd.DataFrame:
    """The table an analysis is fitted on: the cohort parquet at ``path``, or the type's own input
    (:data:`INPUT_READERS`: a meta-analysis' study table read through :mod:`musclecog.io`, or the estimates
    tables it pools)."""
    reader = INPUT_READERS.get(str(entry["type"]))
    if reader is None:
        return pd.read_parquet(path if isinstance(path, str) else path[0])
    module, name = reader.split(":")
    data: pd.DataFrame = getattr(importlib.import_module(module), name)(entry, path)
    return data


def find_analysis(analysis_type: str) -> Callable[..., AnalysisResult]:
    """The fitting function of one analysis type, importing only its module."""
    try:
        target = ANALYSIS_TYPES[analysis_type]
    except KeyError:
        raise ConfigError(
            f"analysis type {analysis_type!r} has no implementation; known types: {', '.join(sorted(ANALYSIS_TYPES))}"
        ) from None
    module, name = target.split(":")
    fn: Callable[..., AnalysisResult] = getattr(importlib.import_module(module), name)
    return fn


def spec_class(fn: Callable[..., AnalysisResult]) -> type[AnalysisSpec]:
    """The spec class a fitting function takes (its ``spec`` parameter's annotation)."""
    cls = typing.get_type_hints(fn).get("spec")
    if not (isinstance(cls, type) and issubclass(cls, AnalysisSpec)):
        raise TypeError(f"{fn.__module__}.{fn.__qualname__}: the 'spec' parameter must be annotated with its AnalysisSpec")
    return cls


def build_spec(entry: Mapping[str, Any], context: RunContext) -> AnalysisSpec:
    """The typed spec of one analysis entry (schema defaults filled in)."""
    return spec_from_config(spec_class(find_analysis(str(entry["type"]))), entry, context)


def survey_not_used(result: AnalysisResult, spec: AnalysisSpec) -> AnalysisResult:
    """The result with every row's note saying that the cohort's survey design was not used (a type whose
    spec does not set ``SURVEY_DESIGN``): unweighted estimates, model-based variances."""
    text = (
        f"survey design of cohort {spec.context.cohort!r} not used: {spec.TYPE} estimates are unweighted, "
        "variances not design-based"
    )
    rows = tuple(e.replace(note="; ".join(x for x in (e.note, text) if x)) for e in result.estimates)
    return dataclasses.replace(result, estimates=rows)


def run_analysis(data: pd.DataFrame, entry: Mapping[str, Any], context: RunContext) -> AnalysisResult:
    """Fit one configured analysis on its cohort table and release its result.

    Every analysis type goes through the same release rule (:func:`musclecog.disclosure.release`): an
    estimate from fewer than ``max(min_n, min_cell)`` people is withheld with the reason in its note (the
    type's own ``min_n`` where its schema has one; the overall sample included), small counts and notes
    are suppressed, and the result's ``flow`` holds the run's exclusion counts.

    Parameters
    ----------
    data : DataFrame
        The analysis-ready cohort table (``results/cohorts/{cohort}.parquet``).
    entry : mapping
        The validated analysis entry of the config. Its ``keep_if`` filter (if any) is applied first
        and each exclusion is logged with its count.
    context : RunContext
        Names, seed, survey design, threads.

    Returns
    -------
    AnalysisResult
        As released (:func:`musclecog.disclosure.release`). When the cohort declares a survey design
        and the type cannot use one (its spec's ``SURVEY_DESIGN`` is false), every row's note says so.
    """
    imputed = IMPUTATION in data.columns
    n_cohort = int((data[IMPUTATION] == data[IMPUTATION].min()).sum()) if imputed else len(data)
    if imputed:  # the filters' counts are those of one imputation (each holds every person once)
        first = data[IMPUTATION] == data[IMPUTATION].min()
        _, flow = apply_keep_if(data[first], entry.get("keep_if"), source=f"{context.where}.keep_if")
        data, _ = apply_keep_if(data, entry.get("keep_if"), source=f"{context.where}.keep_if")
    else:
        data, flow = apply_keep_if(data, entry.get("keep_if"), source=f"{context.where}.keep_if")
    for row in flow:
        logger.info("%s: %d of %d rows kept (%s)", row["step"], row["n_out"], row["n_in"], row["reason"])
    fn = find_analysis(str(entry["type"]))
    spec = spec_from_config(spec_class(fn), entry, context)
    min_n = getattr(spec, "min_n", None)
    rule = ReleaseRule(min_cell=context.min_cell, min_n=int(min_n) if min_n is not None else None)
    people = int(data["id"].nunique()) if "id" in data.columns else len(data)
    # too few people for any estimate: nothing is fitted (a fit on 3 people can only fail or disclose);
    # a table of study summaries (meta-analysis) is not a table of people: its estimates carry their n
    too_few = spec.ROWS_ARE_PEOPLE and people < rule.threshold
    if too_few:
        result = withheld_result(entry, context, rule)
    elif imputed:
        result = fit_imputed(data, lambda frame: fn(frame, spec), context.where)
    else:
        result = fn(data, spec)
    if context.survey and not spec.uses_survey_design() and not too_few:
        result = survey_not_used(result, spec)
    preparation = [Exclusion(r["step"], int(r["n_in"]), int(r["n_excluded"]), str(r["reason"])) for r in flow]
    released = release(
        result, rule, people=people if spec.ROWS_ARE_PEOPLE else None, preparation=preparation, n_cohort=n_cohort
    )
    n_withheld = sum(1 for s in released.flow if s.step == "withheld (min_n)")
    if n_withheld:
        logger.info("%s: %d estimate(s) withheld (%s)", context.where, n_withheld, rule.reason())
    return released
