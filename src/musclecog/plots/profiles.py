"""Covariate profiles for model-based curves (trajectories, adjusted survival): the exposure values drawn
and how the other model variables are held. Exposure: each level of a categorical exposure, 0 and 1 of a
binary one, otherwise the mean and mean ± 1 SD (of each person's first value); numeric covariates at their
mean in the fit's rows, categorical ones at their reference level."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from musclecog.core.results import FitResult
from musclecog.variables import variable_label


def exposure_levels(exposure: str, fit: FitResult, rows: pd.DataFrame) -> list[tuple[str, object]]:
    """The exposure values drawn, as ``(legend label, value)``."""
    coding = fit.codings.get(exposure)
    if coding is not None and coding.is_factor:
        return [(f"{level}{' (reference)' if i == 0 else ''}", level) for i, level in enumerate(coding.levels or ())]
    values = pd.to_numeric(rows[exposure]).to_numpy(float)
    if set(np.unique(values[np.isfinite(values)])) <= {0.0, 1.0}:
        return [("0", 0.0), ("1", 1.0)]
    series = pd.Series(values, index=rows.index)
    first = series.groupby(rows["id"].to_numpy(), sort=False).first() if "id" in rows.columns else series
    m, sd = float(first.mean()), float(first.std())
    return [(f"mean − 1 SD ({m - sd:.3g})", m - sd), (f"mean ({m:.3g})", m), (f"mean + 1 SD ({m + sd:.3g})", m + sd)]


def held_values(fit: FitResult, rows: pd.DataFrame, skip: Sequence[str]) -> tuple[dict[str, object], list[str]]:
    """The values of the fit's other variables (not in ``skip``) and a phrase for each."""
    new: dict[str, object] = {}
    held: list[str] = []
    for var, coding in fit.codings.items():
        if var in skip:
            continue
        if coding.is_factor:
            new[var] = (coding.levels or (None,))[0]
            held.append(f"{variable_label(var, unit=False)} = {new[var]}")
        else:
            new[var] = float(pd.to_numeric(rows[var]).mean())
            held.append(f"{variable_label(var, unit=False)} at its mean ({new[var]:.3g})")
    return new, held
