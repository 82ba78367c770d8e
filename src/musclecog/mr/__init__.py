"""Mendelian randomization.

Two-sample MR on summary statistics (``gwas`` -> ``instruments`` -> ``harmonise`` -> ``analysis``),
and one-sample MR on a cohort as the analysis type ``one_sample_mr`` (:mod:`musclecog.mr.onesample`).
The estimator modules are imported lazily so that reading GWAS files does not pay for scipy/matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def _one_sample_mr(data: pd.DataFrame, spec: Mapping[str, Any], context: Any) -> Any:
    """Analysis type ``one_sample_mr``: two-stage least squares (see :func:`musclecog.mr.onesample.fit_one_sample_mr`)."""
    from musclecog.mr.onesample import fit_one_sample_mr

    return fit_one_sample_mr(data, spec, context)


ANALYSIS_TYPES = {"one_sample_mr": _one_sample_mr}
"""Cohort analysis types defined by this family."""
