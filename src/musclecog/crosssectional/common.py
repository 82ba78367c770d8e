"""Shared pieces of the cross-sectional analyses: spec parsing helpers, weighting, strata, the result object."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from musclecog.core.spec import RunContext
from musclecog.crosssectional.design import check_columns, factor_levels, fmt_level
from musclecog.errors import ConfigError
from musclecog.results import tidy_frame
from musclecog.survey import SurveyDesign, SurveySpec

logger = logging.getLogger(__name__)

WEIGHTINGS = ("weighted", "unweighted", "both")


def as_list(value: Any) -> list[str]:
    """A config value that may be a single name or a list of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def one_or_many(
    spec: Mapping[str, Any], single: str, plural: str, where: str, required: bool = True
) -> list[str]:
    """Read ``single`` or ``plural`` (exactly one of them) from a config entry."""
    if single in spec and plural in spec:
        raise ConfigError(f"{where}: give either '{single}' or '{plural}', not both")
    values = as_list(spec.get(single, spec.get(plural)))
    if required and not values:
        raise ConfigError(f"{where}: '{single}' (or a list under '{plural}') is required")
    if len(set(values)) != len(values):
        raise ConfigError(f"{where}.{plural}: repeated names {values}")
    return values


def resolve_weighting(spec: Mapping[str, Any], context: RunContext, where: str) -> tuple[str, ...]:
    """Which estimates to report: ``("weighted",)``, ``("unweighted",)`` or both.

    Default: weighted when the cohort declares a survey design, unweighted otherwise.
    """
    value = spec.get("weighting")
    if value is None:
        return ("weighted",) if context.survey else ("unweighted",)
    if value not in WEIGHTINGS:
        raise ConfigError(f"{where}.weighting is {value!r}; use one of {', '.join(WEIGHTINGS)}")
    if value in ("weighted", "both") and not context.survey:
        raise ConfigError(
            f"{where}.weighting is {value!r} but cohort {context.cohort!r} declares no survey design; add "
            f"cohorts.{context.cohort}.survey: {{weight: ..., strata: ..., psu: ...}} or use weighting: unweighted"
        )
    return ("weighted", "unweighted") if value == "both" else (value,)


def survey_design(data: pd.DataFrame, context: RunContext) -> tuple[SurveyDesign, list[str]]:
    """The cohort's survey design over ``data`` and the columns it uses."""
    assert context.survey is not None
    spec = SurveySpec.from_config(context.survey, where=f"cohorts.{context.cohort}.survey")
    return (
        SurveyDesign.from_data(data, spec, source=f"cohorts.{context.cohort}.survey"),
        [c for c in (spec.weight, spec.strata, spec.psu) if c],
    )


def strata(data: pd.DataFrame, by: str | None, where: str) -> Iterator[tuple[str, np.ndarray]]:
    """``("overall", all rows)`` then one ``(label, mask)`` per observed level of ``by`` (rows with ``by``
    missing belong to no stratum; they are counted in the overall fit only)."""
    yield "overall", np.ones(len(data), bool)
    if by is None:
        return
    check_columns(data, [by], f"{where}.by")
    values = data[by]
    for level in factor_levels(values):
        yield f"{by}={fmt_level(level)}", (values == level).fillna(False).to_numpy(bool)


def exposure_scale(data: pd.DataFrame, column: str, per: Any, where: str) -> tuple[float, str]:
    """The unit of the exposure: its SD (``per: sd``) over the rows where it is observed, or a number.

    Returns the divisor and a label for the unit (e.g. ``"per SD (10.9 kg)"``).
    """
    if per in (None, 1, 1.0):
        return 1.0, "per unit"
    if per == "sd":
        values = pd.to_numeric(data[column], errors="coerce").dropna()
        sd = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        if not np.isfinite(sd) or sd == 0:
            raise ConfigError(f"{where}: cannot scale {column!r} per SD: its SD is {sd} in the analysis rows")
        return sd, f"per SD ({sd:.4g})"
    try:
        value = float(per)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: 'exposure_per' must be 'sd' or a positive number, got {per!r}") from exc
    if value <= 0:
        raise ConfigError(f"{where}: 'exposure_per' must be positive, got {value}")
    return value, f"per {value:g} units"


def note_row(base: Mapping[str, Any], reason: str, n: int | None = None) -> dict[str, Any]:
    """A row that carries no estimate but says why (a stratum too small, a model that cannot be fitted)."""
    row = dict(base)
    row.update(
        estimate=np.nan, std_error=np.nan, conf_low=np.nan, conf_high=np.nan, p_value=np.nan, note=reason
    )
    if n is not None:
        row["n"] = n
    return row


@dataclass
class CrossSectionalResult:
    """Rows in the tidy schema plus what the forest plot needs."""

    analysis: str
    cohort: str
    rows: list[dict[str, Any]]
    title: str
    plot_scales: Sequence[str] = field(default_factory=tuple)

    def to_tidy(self) -> pd.DataFrame:
        """The tidy table (``musclecog.results`` schema), rows in a deterministic order."""
        rows = [{"analysis": self.analysis, "cohort": self.cohort, **r} for r in self.rows]
        df = tidy_frame(rows)
        if "note" in df.columns:
            df["note"] = df["note"].fillna("")
        return df

    def figure(self) -> Any:
        """Forest plot of the estimates with their 95% CIs, by stratum."""
        from musclecog.plots.forest import forest_plot

        return forest_plot(self.to_tidy(), title=self.title, scales=self.plot_scales or None)
