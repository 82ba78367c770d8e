"""Typed specs of the six mediation-family analysis types, and the model description they share.

Each spec is built only by :func:`musclecog.core.spec.spec_from_config` from its validated config entry; the
schemas in ``workflow/schemas/analyses/`` are the one source of keys and defaults (a dataclass default here is
empty or equal to the schema's). :class:`MediationModel` is what the PROCESS-style fit needs (exposure,
mediators, outcome, structure, covariates, ...); every mediation spec, and the trial spec after forming change
scores, describes one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from musclecog.core.spec import AnalysisSpec, analysis_schema
from musclecog.mediation.frame import Equation
from musclecog.survey import resolve_weighting


# --------------------------------------------------------------------------------------------- model
@dataclass(frozen=True, kw_only=True)
class MediationModel:
    """A simple, parallel or serial mediation model (PROCESS models 4 and 6).

    Attributes
    ----------
    exposure, outcome : str
        Columns X and Y.
    mediators : tuple of str
        Columns M (one for simple mediation; in causal order for serial mediation).
    structure : {"parallel", "serial"}
        Mediators independent given X (PROCESS model 4) or a causal chain (PROCESS model 6).
    covariates : tuple of str
        Adjustment columns in every equation.
    outcome_type : {"continuous", "binary"}
        Least-squares or logistic outcome model.
    bootstrap : int
        Resamples (0: no bootstrap).
    ci_level : float
        Confidence level.
    imai_simulations : int
        Quasi-Bayesian draws for the binary-outcome ACME/ADE (statsmodels ``Mediation.fit(n_rep=...)``).
    exposure_contrast : (float, float) or None
        Control and treated exposure values for ACME/ADE; default 0/1 for a 0/1 exposure, else mean and
        mean + 1 SD.
    method : str
        The ``method`` label of the reported rows.
    se_type : {"ols", "ml"}
        Standard errors of the least-squares equations: OLS (``n - p``, t; PROCESS) or ML (``n``, z; lavaan).
    delta_method : bool
        Also report delta-method SEs, z tests and Wald CIs of the indirect, total and proportion effects
        (lavaan ``:=``).
    imai_continuous : bool
        The Imai et al. quasi-Bayesian ACME/ADE for a continuous outcome too (a binary outcome always has them).
    exposure_per : str, float or None
        ``sd`` (of the exposure in the complete cases) or a number: effects per SD or per that many units of
        the exposure; ``None``: per unit.
    weighted : bool
        Design-based: every equation by ``svyglm`` on the cohort's survey design, the indirect effects with
        delta-method SEs from the joint linearised covariance of the paths (no bootstrap).
    """

    exposure: str
    mediators: tuple[str, ...]
    outcome: str
    structure: str
    covariates: tuple[str, ...]
    outcome_type: str
    bootstrap: int
    ci_level: float
    imai_simulations: int
    exposure_contrast: tuple[float, float] | None
    method: str
    se_type: str = "ols"
    delta_method: bool = False
    imai_continuous: bool = False
    exposure_per: str | float | None = None
    weighted: bool = False

    @property
    def family(self) -> str:
        """GLM family of the outcome equation."""
        return "binomial" if self.outcome_type == "binary" else "gaussian"

    @property
    def serial(self) -> bool:
        """Whether the mediators form a causal chain."""
        return self.structure == "serial"

    def equations(self) -> list[Equation]:
        """The mediator equations and the outcome equation."""
        eqs = []
        for i, m in enumerate(self.mediators):
            prior = self.mediators[:i] if self.serial else ()
            eqs.append(Equation(m, (self.exposure, *prior)))
        eqs.append(Equation(self.outcome, (self.exposure, *self.mediators), self.family))
        return eqs

    def total_equation(self) -> Equation:
        """Y on X (and the covariates): the total effect c."""
        return Equation(self.outcome, (self.exposure,), self.family)


# ----------------------------------------------------------------------------------------- mediation
@dataclass(frozen=True, kw_only=True)
class _MediationSpec(AnalysisSpec):
    """Keys shared by ``simple_``, ``parallel_`` and ``serial_mediation``."""

    STRUCTURE: ClassVar[str] = "parallel"
    METHOD: ClassVar[str] = ""
    SURVEY_DESIGN: ClassVar[bool] = True

    exposure: str
    outcome: str
    covariates: tuple[str, ...] = ()
    bootstrap: int = 5000
    ci_level: float = 0.95
    outcome_type: str = "continuous"
    imai_simulations: int = 1000
    exposure_contrast: tuple[float, float] | None = None
    se_type: str = "ols"
    delta_method: bool = False
    imai_continuous: bool = False
    exposure_per: str | float | None = None
    weighting: str | None = None

    @property
    def mediator_columns(self) -> tuple[str, ...]:
        """The mediators in order."""
        raise NotImplementedError

    def model(self) -> MediationModel:
        """The model this entry describes."""
        contrast = self.exposure_contrast
        weighted = resolve_weighting(self.weighting, self.context) == ("weighted",)
        return MediationModel(
            exposure=self.exposure,
            mediators=self.mediator_columns,
            outcome=self.outcome,
            structure=self.STRUCTURE,
            covariates=tuple(self.covariates),
            outcome_type=self.outcome_type,
            bootstrap=int(self.bootstrap),
            ci_level=float(self.ci_level),
            imai_simulations=int(self.imai_simulations),
            exposure_contrast=(float(contrast[0]), float(contrast[1])) if contrast else None,
            method=self.METHOD,
            se_type=self.se_type,
            delta_method=bool(self.delta_method),
            imai_continuous=bool(self.imai_continuous),
            exposure_per=self.exposure_per,
            weighted=weighted,
        )


@dataclass(frozen=True, kw_only=True)
class SimpleMediationSpec(_MediationSpec):
    """``simple_mediation``: X -> M -> Y with one mediator (PROCESS model 4)."""

    TYPE: ClassVar[str] = "simple_mediation"
    METHOD: ClassVar[str] = "simple mediation (PROCESS model 4)"

    mediator: str

    @property
    def mediator_columns(self) -> tuple[str, ...]:
        """The one mediator."""
        return (self.mediator,)


@dataclass(frozen=True, kw_only=True)
class _SeveralMediatorsSpec(_MediationSpec):
    """Keys of the types with a ``mediators`` list."""

    mediators: tuple[str, ...]

    @property
    def mediator_columns(self) -> tuple[str, ...]:
        """The mediators (in causal order for serial mediation)."""
        return tuple(self.mediators)


@dataclass(frozen=True, kw_only=True)
class ParallelMediationSpec(_SeveralMediatorsSpec):
    """``parallel_mediation``: X -> M1, M2, ... -> Y, mediators independent given X (PROCESS model 4)."""

    TYPE: ClassVar[str] = "parallel_mediation"
    METHOD: ClassVar[str] = "parallel mediation (PROCESS model 4, several mediators)"


@dataclass(frozen=True, kw_only=True)
class SerialMediationSpec(_SeveralMediatorsSpec):
    """``serial_mediation``: X -> M1 -> M2 (-> ...) -> Y (PROCESS model 6)."""

    TYPE: ClassVar[str] = "serial_mediation"
    STRUCTURE: ClassVar[str] = "serial"
    METHOD: ClassVar[str] = "serial mediation (PROCESS model 6)"


# ---------------------------------------------------------------------------------------- path model
@dataclass(frozen=True, kw_only=True)
class PathModelSpec(AnalysisSpec):
    """``path_model``: a recursive path model, one regression per endogenous variable.

    Attributes
    ----------
    equations : mapping
        Outcome -> predictors, e.g. ``{"nback1_acc": ("grip_kg", "sts30"), "adl": ("nback1_acc", ...)}``.
    exposures : tuple of str
        Variables whose direct, indirect and total effects are reported (default: the exogenous ones).
    covariates : tuple of str
        Adjustment columns in every equation.
    bootstrap, ci_level : int, float
        As for the mediation types.
    se_type : {"ols", "ml"}
        Standard errors of the path coefficients: OLS (``n - p``, t) or ML (``n``, z; lavaan).
    """

    TYPE: ClassVar[str] = "path_model"

    equations: Mapping[str, tuple[str, ...]]
    exposures: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    bootstrap: int = 5000
    ci_level: float = 0.95
    se_type: str = "ols"

    def equation_list(self) -> list[Equation]:
        """The equations in config order."""
        return [Equation(str(out), tuple(str(p) for p in preds)) for out, preds in self.equations.items()]


# -------------------------------------------------------------------------------------------- trials
@dataclass(frozen=True)
class ChangeSpec:
    """How to form change scores from a long table: follow-up minus baseline, per ``id``."""

    id: str
    wave: str
    baseline: Any
    followup: Any


def change_spec(analysis_type: str, changes: Mapping[str, Any] | None) -> ChangeSpec | None:
    """The ``changes`` entry with the schema's defaults for its absent keys; None for a wide table.

    ``spec_from_config`` fills top-level defaults only, so the nested defaults are read from the same schema.
    """
    if not changes:
        return None
    props = analysis_schema(analysis_type)["properties"]["changes"]["properties"]
    values = {
        key: changes.get(key, props[key].get("default")) for key in ("id", "wave", "baseline", "followup")
    }
    return ChangeSpec(str(values["id"]), str(values["wave"]), values["baseline"], values["followup"])


@dataclass(frozen=True, kw_only=True)
class TrialMediationSpec(AnalysisSpec):
    """``trial_mediation``: treatment (0/1) -> change in mediator(s) -> change in outcome."""

    TYPE: ClassVar[str] = "trial_mediation"
    METHOD: ClassVar[str] = (
        "trial mediation: treatment -> change in mediator -> change in outcome (PROCESS model 4)"
    )

    treatment: str
    mediators: tuple[str, ...]
    outcome: str
    adjust_baseline: bool = False
    changes: Mapping[str, Any] | None = None
    covariates: tuple[str, ...] = ()
    bootstrap: int = 5000
    ci_level: float = 0.95
    se_type: str = "ols"
    delta_method: bool = False

    @property
    def change(self) -> ChangeSpec | None:
        """How change scores are formed (None: the table holds them already)."""
        return change_spec(self.TYPE, self.changes)


@dataclass(frozen=True, kw_only=True)
class ChangeCorrelationSpec(AnalysisSpec):
    """``change_correlation``: the correlation of two change scores within each level of ``by``."""

    TYPE: ClassVar[str] = "change_correlation"
    SURVEY_DESIGN: ClassVar[bool] = True

    x: str
    y: str
    by: str | None = None
    strata: tuple[Any, ...] = ()
    method: str = "pearson"
    ci_level: float = 0.95
    changes: Mapping[str, Any] | None = None
    weighting: str | None = None

    @property
    def change(self) -> ChangeSpec | None:
        """How change scores are formed (None: the table holds them already)."""
        return change_spec(self.TYPE, self.changes)


__all__ = [
    "ChangeCorrelationSpec",
    "ChangeSpec",
    "MediationModel",
    "ParallelMediationSpec",
    "PathModelSpec",
    "SerialMediationSpec",
    "SimpleMediationSpec",
    "TrialMediationSpec",
    "change_spec",
]
