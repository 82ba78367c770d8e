"""Guess the role of each column of a user's table, for ``musclecog init``'s config stub.

A column's role is a variable of the dictionary (``resources/variables.tsv``, via :mod:`musclecog.variables`).
It is guessed from the column's name (the dictionary's own names, then the common spellings in
:data:`NAME_HINTS`: NHANES, UK Biobank, PAQUID and generic names), and then checked against its values: a
numeric variable's values must lie in the dictionary's range, an identifier must be unique (or repeat per
wave), a category must have few levels. A name that fits two variables (``weight``: body weight or survey
weight) is decided by the values. Columns holding 0/1/2 only (and named like genotypes) are proposed as
instruments; tables with SNP, beta and standard-error columns are GWAS summary statistics. Every guess says
why it was made, so that the stub can mark it for the user to check: nothing here is trusted without review.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from musclecog.variables import Variable, VariableDictionary, load_dictionary

# normalised column name (lower case, letters and digits only) -> candidate variables, most likely first
NAME_HINTS: Mapping[str, tuple[str, ...]] = {
    "seqn": ("id",), "eid": ("id",), "pid": ("id",), "idno": ("id",), "subjectid": ("id",),
    "participantid": ("id",), "personid": ("id",), "patientid": ("id",), "n_eid": ("id",),
    "ridageyr": ("age",), "ageyears": ("age",), "ageyrs": ("age",), "ageatvisit": ("age",),
    "riagendr": ("sex",), "gender": ("sex",), "male": ("sex",), "female": ("sex",), "sexmale": ("sex",),
    "grip": ("grip_kg",), "gripstrength": ("grip_kg",), "handgrip": ("grip_kg",), "gripkg": ("grip_kg",),
    "mgdcgsz": ("grip_combined_kg",), "gripmax": ("grip_best_kg",), "gripbest": ("grip_best_kg",),
    "alm": ("alm_kg",), "appendicularleanmass": ("alm_kg",), "dxaalm": ("alm_kg",),
    "cfdds": ("dsst",), "cfdright": ("dsst",), "digitsymbol": ("dsst",), "dsstscore": ("dsst",),
    "mmsescore": ("mmse",), "mocascore": ("moca",),
    "mult": ("imputation",), "imputation": ("imputation",), "imp": ("imputation",), ".imp": ("imputation",),
    "visit": ("wave",), "round": ("wave",), "wave": ("wave",), "examround": ("wave",),
    "time": ("time_years",), "years": ("time_years",), "followup": ("followup_years",),
    "fuyears": ("followup_years",),
    "weight": ("weight_kg", "survey_weight"), "bmxwt": ("weight_kg",), "wt": ("weight_kg", "survey_weight"),
    "wtmec2yr": ("survey_weight",), "wtmec4yr": ("survey_weight",),  # exam weights (not WTINT*: interview only) "sampleweight": ("survey_weight",),
    "surveyweight": ("survey_weight",), "pweight": ("survey_weight",),
    "strata": ("survey_strata",), "stratum": ("survey_strata",), "sdmvstra": ("survey_strata",),
    "psu": ("survey_psu",), "cluster": ("survey_psu",), "sdmvpsu": ("survey_psu",),
    "bmxbmi": ("bmi",), "bmxht": ("height_cm",), "height": ("height_cm",),
    "educ": ("education",), "dmdeduc2": ("education",), "ridreth1": ("race",), "ethnicity": ("race",),
    "dem": ("dementia",), "agedem": ("exit_age",), "ageinit": ("entry_age",), "ageentry": ("entry_age",),
    "ageexit": ("exit_age",), "died": ("death",), "status": ("event",),
}  # fmt: skip
# A summary-statistics table has a variant column and an effect column with its standard error.
_SNP = re.compile(r"^(snp|rsid|rs_id|variant_id|markername)$", re.I)
_BETA = re.compile(r"beta|^b$|effect$|logor", re.I)
_SE = re.compile(r"(^|[._])se($|[._])|stderr|standard_error|se$", re.I)
_GENOTYPE_NAME = re.compile(r"^(g|snp|rs|geno)\w*\d", re.I)
MAX_CATEGORY_LEVELS = 30


@dataclass(frozen=True)
class ColumnGuess:
    """The guessed role of one column.

    Attributes
    ----------
    column : str
        The column's name in the file.
    variable : str or None
        The dictionary variable it is mapped to (None: not recognised, or kept under its own name).
    reason : str
        Why (the name, the values), or why not.
    confident : bool
        Whether the values agree with the dictionary (range, uniqueness, levels). False: check this first.
    recode : mapping or None
        For sex coded as numbers: the guessed codes -> levels (NHANES 1 male / 2 female; a 0/1 column named
        ``male`` or ``female`` by its name).
    """

    column: str
    variable: str | None
    reason: str
    confident: bool
    recode: Mapping[str, str] | None = None


@dataclass(frozen=True)
class TableGuess:
    """What one table looks like: a cohort table (columns with roles) or GWAS summary statistics."""

    path: str
    kind: str  # "cohort", "gwas" (per-variant summary statistics) or "summary" (effects and SEs, no variant ids)
    n_rows: int
    columns: tuple[ColumnGuess, ...]
    note: str = ""
    wave: str | None = None  # long table (ids repeat): the canonical column that orders the visits


def normalise(name: str) -> str:
    """Lower case, letters and digits only (``Grip_Strength (kg)`` -> ``gripstrengthkg``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _candidates(column: str, dictionary: VariableDictionary) -> tuple[tuple[str, ...], str]:
    """Dictionary variables a column's name points to, and how the name matched."""
    key = normalise(column)
    by_norm = {normalise(name): name for name in dictionary}
    if key in by_norm:
        return (by_norm[key],), f"name {column!r} is the dictionary's {by_norm[key]!r}"
    if key in NAME_HINTS:
        known = tuple(v for v in NAME_HINTS[key] if v in dictionary)
        return known, f"name {column!r} is a usual spelling of {' or '.join(map(repr, known))}"
    for stem, variable in (("grip", "grip_kg"), ("dsst", "dsst"), ("mmse", "mmse"), ("moca", "moca")):
        if stem in key and variable in dictionary:
            return (variable,), f"name {column!r} contains {stem!r}"
    return (), f"name {column!r} matches no dictionary variable"


def _show(value: Any) -> str:
    """A level as the user wrote it (``1.0`` read from a SAS file shows as ``1``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sex_recode(column: str, codes: set[str]) -> dict[str, str] | None:
    """Guessed numeric sex codes -> dictionary levels (None when the codes do not say)."""
    key = normalise(column)
    if codes == {"1", "2"}:
        return {"1": "male", "2": "female"}  # NHANES RIAGENDR, UK Biobank-style 1/2 codings
    if codes <= {"0", "1"} and key in ("male", "sexmale"):
        return {"1": "male", "0": "female"}
    if codes <= {"0", "1"} and key == "female":
        return {"1": "female", "0": "male"}
    return None


def _numeric(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").dropna()


def _check_values(values: pd.Series, var: Variable, repeated_ids: bool) -> tuple[bool, str]:
    """Whether a column's values fit a dictionary variable, and what was seen."""
    present = values.dropna()
    if present.empty:
        return False, "every value is missing"
    if var.kind == "id":
        unique = present.is_unique
        if unique:
            return True, f"{len(present):,} values, all distinct"
        if repeated_ids:
            return True, f"{present.nunique():,} distinct values over {len(present):,} rows (one row per visit)"
        return False, f"only {present.nunique():,} distinct values over {len(present):,} rows"
    if var.kind == "category":
        levels = pd.unique(present.map(_show))
        shown = ", ".join(sorted(levels)[:6])
        if len(levels) > MAX_CATEGORY_LEVELS:
            return False, f"{len(levels)} distinct values: too many for a category"
        if var.levels and not set(levels) <= set(var.levels):
            return True, f"codes {shown}: recode them to {'|'.join(var.levels)} (recode: in the config)"
        return True, f"{len(levels)} levels: {shown}"
    numbers = _numeric(present)
    if len(numbers) < len(present):
        return False, f"{len(present) - len(numbers):,} values are not numbers"
    lo, hi = float(numbers.min()), float(numbers.max())
    seen = f"values {lo:g} to {hi:g}"
    if var.kind == "binary" and not set(np.unique(numbers)) <= {0.0, 1.0}:
        return False, f"{seen}: not 0/1"
    below = not math.isnan(var.min) and lo < var.min
    above = not math.isnan(var.max) and hi > var.max
    if below or above:
        unit = f" {var.unit}" if var.unit else ""
        return False, (
            f"{seen} outside the dictionary's {var.min:g} to {var.max:g}{unit}: another unit "
            "(units: in the config) or missing codes (missing_codes:)?"
        )
    return True, f"{seen}, within the dictionary's range"


def guess_column(
    column: str, values: pd.Series, dictionary: VariableDictionary, repeated_ids: bool = False
) -> ColumnGuess:
    """Guess one column's role from its name, checked (or decided) by its values."""
    candidates, how = _candidates(column, dictionary)
    checked = [(name, *_check_values(values, dictionary[name], repeated_ids)) for name in candidates]
    fitting = [c for c in checked if c[1]]
    if fitting:
        name, _, seen = fitting[0]
        others = f" (not {', '.join(c[0] for c in checked if c[0] != name)}: values)" if len(checked) > 1 else ""
        recode = None
        if name == "sex":
            recode = sex_recode(column, set(pd.unique(values.dropna().map(_show))))
            if recode:
                seen = f"{seen}; recode guessed: {', '.join(f'{k} = {v}' for k, v in recode.items())}"
        return ColumnGuess(column, name, f"{how}; {seen}{others}", True, recode)
    if checked:
        name, _, seen = checked[0]
        return ColumnGuess(column, name, f"{how}; but {seen}", False)
    numbers = _numeric(values)
    if len(numbers) and _GENOTYPE_NAME.match(column) and set(np.unique(numbers)) <= {0.0, 1.0, 2.0}:
        return ColumnGuess(column, None, "values 0/1/2 only: a genotype (allele count), an instrument for "
                           "one_sample_mr; kept under its own name", False)
    return ColumnGuess(column, None, how, False)


def is_gwas_table(columns: Sequence[str]) -> bool:
    """Whether a header looks like GWAS summary statistics (a variant, an effect and its SE)."""
    return (
        any(_SNP.match(c) for c in columns)
        and any(_BETA.search(c) for c in columns)
        and any(_SE.search(c) for c in columns)
    )


def guess_table(path: str, frame: pd.DataFrame, dictionary: VariableDictionary | None = None) -> TableGuess:
    """Guess the roles of every column of one table.

    Parameters
    ----------
    path : str
        The file the table was read from (for the stub).
    frame : DataFrame
        Its contents (all rows: value ranges and uniqueness are checked on every row).
    dictionary : VariableDictionary, optional
        Default: ``resources/variables.tsv``.

    Returns
    -------
    TableGuess
        ``kind`` "gwas" for summary statistics (no column roles), else "cohort" with one guess per column;
        a variable is given to at most one column (the first confident one).
    """
    dictionary = dictionary or load_dictionary()
    if is_gwas_table(list(frame.columns)):
        fmt = "twosamplemr" if any(c.endswith((".exposure", ".outcome")) for c in frame.columns) else "auto"
        return TableGuess(path, "gwas", len(frame), (), note=f"format: {fmt}")
    repeated = any(normalise(c) in {"wave", "visit", "age", "time", "round"} for c in frame.columns)
    guesses: list[ColumnGuess] = []
    taken: set[str] = set()
    for column in frame.columns:
        guess = guess_column(str(column), frame[column], dictionary, repeated_ids=repeated)
        if guess.variable is not None and guess.variable in taken:
            guess = ColumnGuess(guess.column, None, f"{guess.reason}; {guess.variable!r} is already taken by "
                                "an earlier column, so this one is kept under its own name", False)
        if guess.variable is not None:
            taken.add(guess.variable)
        guesses.append(guess)
    wave = None
    ids = [g.column for g in guesses if g.variable == "id"]
    if not ids and sum(bool(_SE.search(str(c))) for c in frame.columns) >= 2:
        return TableGuess(path, "summary", len(frame), tuple(guesses),
                          note="effects with standard errors but no variant or person id: summary statistics "
                          "for MR (harmonised tables: config/examples/mr_lipids_chd.yaml)")
    if ids and not frame[ids[0]].dropna().is_unique:
        wave = next((v for v in ("wave", "time_years", "age") if v in taken), None)
    return TableGuess(path, "cohort", len(frame), tuple(guesses), wave=wave)
