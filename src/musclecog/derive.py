"""Derived variables: muscle indices, sex-specific low muscle mass / low grip flags, age groups,
per-SD z-scores and change scores.

Two kinds of derivation:

* **row-wise** (:data:`ROW_DERIVATIONS`) — derived automatically whenever the input columns are
  present and the target column is not (a cohort that already has ``alm_bmi`` keeps its own):

  ============================ ===================================== ==========================================
  column                       from                                  definition / source
  ============================ ===================================== ==========================================
  ``grip_best_kg``             ``grip_trial_*``                      best (maximum) single trial of any hand
  ``alm_bmi``                  ``alm_kg``, ``bmi``                   ALM / BMI (m²)
  ``alm_height2``              ``alm_kg``, ``height_cm``             ALM / height² (kg/m²)
  ``low_mm_fnih_alm``          ``alm_kg``, ``sex``                   < 19.75 kg men, < 15.02 kg women (FNIH;
                                                                     Studenski et al. 2014)
  ``low_mm_fnih_alm_bmi``      ``alm_bmi``, ``sex``                  < 0.789 men, < 0.512 women (FNIH)
  ``low_mm_awgs``              ``alm_height2``, ``sex``              < 7.0 men, < 5.4 women kg/m² (AWGS 2019,
                                                                     DXA; Chen et al. 2020)
  ``low_grip_ewgsop2``         ``grip_best_kg`` (else ``grip_kg``),  < 27 kg men, < 16 kg women (EWGSOP2;
                               ``sex``                               Cruz-Jentoft et al. 2019)
  ``age_group``                ``age``                               <60, 60-69, 70-79, 80+
  ``cerad_learning``           ``cerad_trial_1`` .. ``_3``           sum of the three CERAD word-learning trials
  ============================ ===================================== ==========================================

  A flag is missing where any input is missing.

* **sample-wise**, only on request in the cohort's ``derive:`` list (computed after the cohort's
  row filters, on the analysis sample): ``{zscore: [cols]}`` adds ``<col>_z`` = (x − mean) / SD
  (SD with ddof = 1, over all rows; over baseline rows if the table has ``wave``: in long tables a
  z-score is per baseline SD), ``{change: [cols]}`` adds ``<col>_change`` = value − value at the
  first wave of the same ``id`` (needs ``id`` and ``wave``). A row-wise name in ``derive:`` (e.g.
  ``- low_grip_ewgsop2``) makes its inputs required: a missing input is then an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from musclecog.errors import ConfigError, DataError

CUTOFFS: dict[str, dict[str, float]] = {
    # Studenski SA et al. The FNIH sarcopenia project. J Gerontol A 2014;69:547-58. doi:10.1093/gerona/glu010
    "low_mm_fnih_alm": {"male": 19.75, "female": 15.02},
    "low_mm_fnih_alm_bmi": {"male": 0.789, "female": 0.512},
    # Chen LK et al. AWGS 2019 consensus. JAMDA 2020;21:300-7. doi:10.1016/j.jamda.2019.12.012 (DXA)
    "low_mm_awgs": {"male": 7.0, "female": 5.4},
    # Cruz-Jentoft AJ et al. EWGSOP2. Age Ageing 2019;48:16-31. doi:10.1093/ageing/afy169
    "low_grip_ewgsop2": {"male": 27.0, "female": 16.0},
}
"""Sex-specific cut-offs: a value strictly below the cut-off is flagged 1."""

CERAD_TRIALS: tuple[str, ...] = ("cerad_trial_1", "cerad_trial_2", "cerad_trial_3")
"""The three immediate-recall trials of the CERAD word list (0-10 words each)."""
AGE_GROUP_EDGES: tuple[float, ...] = (60.0, 70.0, 80.0)
AGE_GROUP_LABELS: tuple[str, ...] = ("<60", "60-69", "70-79", "80+")


def below_sex_cutoff(values: pd.Series, sex: pd.Series, cutoffs: Mapping[str, float]) -> pd.Series:
    """1 where ``values`` is below the cut-off of the person's sex, 0 above, missing if either is missing.

    Parameters
    ----------
    values : Series
        The measure (e.g. best grip in kg).
    sex : Series
        ``"male"`` / ``"female"``.
    cutoffs : mapping
        ``{"male": c_m, "female": c_f}``.

    Returns
    -------
    Series of dtype ``Int8``.
    """
    cut = sex.map(dict(cutoffs)).astype(float)
    v = pd.to_numeric(values, errors="coerce").astype(float)
    flag = (v < cut).astype("Int8")
    flag[v.isna() | cut.isna()] = pd.NA
    return flag


def age_group(age: pd.Series) -> pd.Series:
    """Age groups ``<60, 60-69, 70-79, 80+`` (categorical, missing where age is missing)."""
    a = pd.to_numeric(age, errors="coerce").to_numpy(float)
    idx = np.searchsorted(np.asarray(AGE_GROUP_EDGES), a, side="right")
    labels = np.asarray(AGE_GROUP_LABELS, dtype=object)[np.minimum(idx, len(AGE_GROUP_LABELS) - 1)]
    labels[np.isnan(a)] = None
    return pd.Series(pd.Categorical(labels, categories=list(AGE_GROUP_LABELS)), index=age.index)


def _grip_trials(df: pd.DataFrame) -> list[str]:
    return sorted(c for c in df.columns if c.startswith("grip_trial_"))


def _best_grip(df: pd.DataFrame) -> pd.Series:
    trials = _grip_trials(df)
    return df[trials].apply(pd.to_numeric, errors="coerce").max(axis=1, skipna=True)


def _grip_for_ewgsop2(df: pd.DataFrame) -> pd.Series:
    return df["grip_best_kg"] if "grip_best_kg" in df.columns else df["grip_kg"]


@dataclass(frozen=True)
class RowDerivation:
    """A row-wise derived column: its inputs (alternatives allowed) and how to compute it."""

    name: str
    requires: tuple[tuple[str, ...], ...]  # each inner tuple: any one of these columns suffices
    compute: Callable[[pd.DataFrame], pd.Series]
    description: str

    def available(self, columns: Sequence[str] | pd.Index) -> bool:
        """Whether the table has the inputs."""
        cols = set(columns)
        return all(any(c in cols for c in alts) for alts in self.requires)

    def inputs_available(self, df: pd.DataFrame) -> bool:
        """Like :meth:`available`; ``grip_trial_*`` columns count for ``grip_trial_*``."""
        cols = set(df.columns) | ({"grip_trial_*"} if _grip_trials(df) else set())
        return self.available(list(cols))


ROW_DERIVATIONS: dict[str, RowDerivation] = {
    d.name: d
    for d in (
        RowDerivation("grip_best_kg", (("grip_trial_*",),), _best_grip, "best single grip trial (max of grip_trial_*)"),
        RowDerivation("alm_bmi", (("alm_kg",), ("bmi",)), lambda d: d["alm_kg"] / d["bmi"], "ALM / BMI"),
        RowDerivation(
            "alm_height2",
            (("alm_kg",), ("height_cm",)),
            lambda d: d["alm_kg"] / (d["height_cm"] / 100.0) ** 2,
            "ALM / height^2",
        ),
        RowDerivation(
            "low_mm_fnih_alm",
            (("alm_kg",), ("sex",)),
            lambda d: below_sex_cutoff(d["alm_kg"], d["sex"], CUTOFFS["low_mm_fnih_alm"]),
            "FNIH low ALM",
        ),
        RowDerivation(
            "low_mm_fnih_alm_bmi",
            (("alm_bmi",), ("sex",)),
            lambda d: below_sex_cutoff(d["alm_bmi"], d["sex"], CUTOFFS["low_mm_fnih_alm_bmi"]),
            "FNIH low ALM/BMI",
        ),
        RowDerivation(
            "low_mm_awgs",
            (("alm_height2",), ("sex",)),
            lambda d: below_sex_cutoff(d["alm_height2"], d["sex"], CUTOFFS["low_mm_awgs"]),
            "AWGS low ALM/height^2",
        ),
        RowDerivation(
            "low_grip_ewgsop2",
            (("grip_best_kg", "grip_kg"), ("sex",)),
            lambda d: below_sex_cutoff(_grip_for_ewgsop2(d), d["sex"], CUTOFFS["low_grip_ewgsop2"]),
            "EWGSOP2 low grip (best single trial where available, else grip_kg)",
        ),
        RowDerivation("age_group", (("age",),), lambda d: age_group(d["age"]), "age group"),
        RowDerivation(
            "cerad_learning",
            tuple((c,) for c in CERAD_TRIALS),
            lambda d: d[list(CERAD_TRIALS)].sum(axis=1, skipna=False),
            "CERAD word learning: sum of the three trials (missing if any trial is)",
        ),
    )
}
"""Row-wise derivations in dependency order (later ones may use earlier ones)."""

SAMPLE_DERIVATIONS: tuple[str, ...] = ("zscore", "change")


def _explicit(requests: Sequence[str | Mapping[str, Any]] | None, where: str) -> tuple[set[str], list[tuple[str, list[str]]]]:
    row: set[str] = set()
    sample: list[tuple[str, list[str]]] = []
    for i, req in enumerate(requests or []):
        if isinstance(req, str):
            if req not in ROW_DERIVATIONS:
                raise ConfigError(
                    f"config: '{where}[{i}]' is {req!r}, not a derived variable. Known: "
                    f"{', '.join(ROW_DERIVATIONS)}; or {{zscore: [columns]}}, {{change: [columns]}}."
                )
            row.add(req)
            continue
        if not isinstance(req, Mapping) or len(req) != 1 or next(iter(req)) not in SAMPLE_DERIVATIONS:
            raise ConfigError(
                f"config: '{where}[{i}]' is {req!r}; write a derived variable name or one of "
                "{zscore: [columns]}, {change: [columns]}."
            )
        kind, cols = next(iter(req.items()))
        cols = [cols] if isinstance(cols, str) else list(cols)
        sample.append((kind, cols))
    return row, sample


def derive_rowwise(
    df: pd.DataFrame,
    requests: Sequence[str | Mapping[str, Any]] | None = None,
    where: str = "derive",
    copy: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """Add every row-wise derived column the table's columns allow.

    Parameters
    ----------
    df : DataFrame
        Canonical column names; ``sex`` as ``"male"/"female"``.
    requests : list, optional
        The cohort's ``derive:`` list; row-wise names there must be derivable.
    where : str
        Config key path, for messages.
    copy : bool
        Work on a copy (default) or add the columns to ``df`` itself.

    Returns
    -------
    (DataFrame, list of str)
        The table with the new columns, and the names added.
    """
    wanted, _ = _explicit(requests, where)
    out = df.copy() if copy else df
    added: list[str] = []
    for name, d in ROW_DERIVATIONS.items():
        if name in out.columns:
            continue
        if not d.inputs_available(out):
            if name in wanted:
                need = " and ".join(" or ".join(alts) for alts in d.requires)
                raise ConfigError(
                    f"config: '{where}' asks for {name!r} ({d.description}), which needs {need}; "
                    f"the table has {', '.join(map(str, out.columns))}. Map the input columns or drop the request."
                )
            continue
        out[name] = d.compute(out)
        added.append(name)
    return out, added


def zscore(values: pd.Series, reference: pd.Series | None = None) -> pd.Series:
    """Per-SD z-score: (x − mean) / SD of ``reference`` (default ``values``), SD with ddof = 1."""
    ref = pd.to_numeric(values if reference is None else reference, errors="coerce").astype(float)
    sd = ref.std(ddof=1)
    if not np.isfinite(sd) or sd == 0:
        raise DataError(
            f"cannot z-score '{values.name}': its SD is {sd} over {int(ref.notna().sum())} non-missing rows. "
            "Check the column or drop it from the derive list."
        )
    return (pd.to_numeric(values, errors="coerce").astype(float) - ref.mean()) / sd


def change_from_baseline(df: pd.DataFrame, column: str) -> pd.Series:
    """Value minus the value at the first wave of the same ``id`` (missing if that is missing)."""
    first_wave = df.groupby("id", sort=False)["wave"].transform("min")
    base = pd.to_numeric(df[column], errors="coerce").where(df["wave"] == first_wave)
    base = base.groupby(df["id"], sort=False).transform("max")  # one baseline row per id (id x wave unique)
    return (pd.to_numeric(df[column], errors="coerce") - base).astype(float)


def derive_samplewise(
    df: pd.DataFrame, requests: Sequence[str | Mapping[str, Any]] | None, where: str = "derive", copy: bool = True
) -> tuple[pd.DataFrame, list[str]]:
    """Add the requested z-scores and change scores (after the cohort's row filters).

    Returns
    -------
    (DataFrame, list of str)
        The table and the names added (to a copy unless ``copy=False``).
    """
    _, sample = _explicit(requests, where)
    if not sample:
        return df, []
    out = df.copy() if copy else df
    added: list[str] = []
    for kind, cols in sample:
        for col in cols:
            if col not in out.columns:
                raise ConfigError(
                    f"config: '{where}' asks for {kind} of {col!r}, which is not a column. "
                    f"Columns: {', '.join(map(str, out.columns))}."
                )
            if not pd.api.types.is_numeric_dtype(out[col]):
                raise ConfigError(f"config: '{where}' asks for {kind} of {col!r}, which is not numeric.")
            if kind == "zscore":
                ref = out.loc[out["wave"] == out["wave"].min(), col] if "wave" in out.columns else None
                out[f"{col}_z"] = zscore(out[col], ref)
                added.append(f"{col}_z")
            else:
                if "id" not in out.columns or "wave" not in out.columns:
                    raise ConfigError(
                        f"config: '{where}' asks for the change of {col!r}, which needs 'id' and 'wave' columns "
                        "(a long table; see the cohort key 'wave')."
                    )
                out[f"{col}_change"] = change_from_baseline(out, col)
                added.append(f"{col}_change")
    return out, added
