"""The keys every longitudinal analysis type shares (person, visit and time columns, exposure, covariates,
timing, strata), as the base of the four typed specs.

A spec is built only by :func:`musclecog.core.spec.spec_from_config` from the validated config entry; the
schemas ``workflow/schemas/analyses/{mixed_model,gee,panel_model,lagged_regression}.schema.yaml`` are the one
source of the keys and their defaults (and ``spec_from_config`` validates the entry against it, so a direct
library call gets the pipeline's checks). ``__post_init__`` checks what no schema can say: covariates x time
that are not covariates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from musclecog.core.spec import AnalysisSpec
from musclecog.errors import ConfigError

TIME = "time"
"""Name of the analysis-time column added by :func:`musclecog.longitudinal.data.prepare_long`."""


@dataclass(frozen=True, kw_only=True)
class LongitudinalSpec(AnalysisSpec):
    """Columns and options shared by the longitudinal analysis types.

    Attributes
    ----------
    outcome, exposure : str
        Outcome and exposure columns (``exposure`` may be empty only where the type's schema says so:
        a ``mixed_model`` of time alone).
    id, wave : str
        Person and visit columns (``wave`` may be absent from the table when ``time`` orders the visits).
    time : str
        Time column.
    time_origin : str or None
        A column subtracted from ``time`` (e.g. ``time: age, time_origin: age_init`` gives years since entry).
    covariates : tuple of str
        Adjustment columns (numeric, or categorical: dummy-coded with the first level as reference).
    covariates_x_time : tuple of str
        Covariates whose interaction with time is also estimated.
    categorical : tuple of str
        Numeric columns to treat as categorical (e.g. a grip quartile coded 1-4).
    exposure_reference : object
        Reference level of a categorical exposure (giving it makes the exposure categorical).
    exposure_per : str, float or None
        ``sd`` or a positive number: coefficients of a numeric exposure (and of exposure x time) per SD
        (across people at their first analysed visit) or per that many units; ``None``: per unit.
    exposure_timing, covariate_timing : str
        ``baseline`` (the value at each person's first visit, for all visits) or ``time_varying``.
    stratify_by : str or None
        Fit separately within each level of this column (e.g. ``sex``).
    overall : bool
        Also fit the pooled model when stratifying.
    """

    TYPE: ClassVar[str] = ""
    outcome: str
    exposure: str
    id: str = "id"
    wave: str = "wave"
    time: str = "time_years"
    time_origin: str | None = None
    covariates: tuple[str, ...] = ()
    covariates_x_time: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    exposure_reference: Any = None
    exposure_per: str | float | None = None
    exposure_timing: str = "baseline"
    covariate_timing: str = "baseline"
    stratify_by: str | None = None
    overall: bool = True

    def __post_init__(self) -> None:
        if not self.exposure and self.exposure_reference is not None:
            raise ConfigError(
                f"{self.where}: exposure_reference is given ({self.exposure_reference!r}) but no exposure; "
                "name the exposure column or remove exposure_reference."
            )
        if not self.exposure and self.exposure_per is not None:
            raise ConfigError(
                f"{self.where}: exposure_per is given ({self.exposure_per!r}) but no exposure; "
                "name the exposure column or remove exposure_per."
            )
        missing_xt = [c for c in self.covariates_x_time if c not in self.covariates]
        if missing_xt:
            raise ConfigError(
                f"{self.where}.covariates_x_time lists {missing_xt}, which are not in covariates; "
                "add them there too."
            )

    @property
    def time_label(self) -> str:
        """The name of the time term in result tables."""
        return TIME if self.time_origin else self.time

    @property
    def factors(self) -> tuple[str, ...]:
        """Columns dummy-coded although numeric: ``categorical``, and the exposure when it has a reference."""
        extra = (self.exposure,) if self.exposure and self.exposure_reference is not None else ()
        return tuple(dict.fromkeys((*self.categorical, *extra)))

    def is_categorical(self, column: str, numeric: bool) -> bool:
        """Whether a column (numeric or not) enters the model as dummies."""
        return column in self.factors or not numeric
