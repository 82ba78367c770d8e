"""Time-to-event analyses: Cox proportional hazards and Kaplan-Meier.

Analysis types (``ANALYSIS_TYPES``; keys in docs/longitudinal.md and ``workflow/schemas/analyses/``):

* ``cox`` - Cox proportional hazards, Efron ties (R ``survival::coxph`` default) or Breslow, on follow-up time
  (``duration``) or on the age scale with delayed entry (``entry`` -> ``exit``, R
  ``coxph(Surv(entry, exit, event) ~ ...)``): :func:`~musclecog.survival.cox.fit_cox`. Hazard ratios with 95%
  CIs (exponentiated; ``std_error`` on the log scale), the proportional-hazards test per term and GLOBAL
  (R ``cox.zph``; :mod:`~musclecog.survival.ph`), the partial log-likelihood.
* ``kaplan_meier`` - Kaplan-Meier by group (R ``survfit``, ``conf.type`` log by default): median survival
  with its 95% CI, survival at chosen times with the Greenwood SE, the restricted mean, and the log-rank test
  (R ``survdiff``):
  :func:`~musclecog.survival.km.fit_kaplan_meier`.

Modules: :mod:`~musclecog.survival.data` (one row per person, time/event/entry, exclusions by reason),
:mod:`~musclecog.survival.cox` (the spec, two engines, one result path), :mod:`~musclecog.survival.efron`
(the vectorised Efron Newton-Raphson engine), :mod:`~musclecog.survival.km`, :mod:`~musclecog.survival.ph`,
:mod:`~musclecog.survival.concordance`
and :mod:`~musclecog.survival.results`.
"""

from __future__ import annotations

from musclecog.survival.cox import CoxSpec, fit_cox
from musclecog.survival.data import SurvivalData, SurvivalSpec, prepare_survival
from musclecog.survival.efron import CoxFit, fit_cox_efron, schoenfeld_residuals
from musclecog.survival.km import KaplanMeierSpec, fit_kaplan_meier
from musclecog.survival.ph import PHTest, cox_zph
from musclecog.survival.results import CoxResult, KaplanMeierResult, SurvivalResult

ANALYSIS_TYPES = {"cox": fit_cox, "kaplan_meier": fit_kaplan_meier}

__all__ = [
    "ANALYSIS_TYPES",
    "CoxFit",
    "CoxResult",
    "CoxSpec",
    "KaplanMeierResult",
    "KaplanMeierSpec",
    "PHTest",
    "SurvivalData",
    "SurvivalResult",
    "SurvivalSpec",
    "cox_zph",
    "fit_cox",
    "fit_cox_efron",
    "fit_kaplan_meier",
    "prepare_survival",
    "schoenfeld_residuals",
]
