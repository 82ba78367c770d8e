"""Every analysis of the default run, refitted in-process on the run's cohort tables, holds to the result
contract (DESIGN.md, "Results objects"), and the table the pipeline wrote is a view of that object:

- ``result.to_tidy()`` equals ``results/estimates/<analysis>.tsv`` as written by the workflow;
- every fit has ``params``, ``std_errors`` and ``cov`` labelled by the same terms, a symmetric covariance,
  and diagnostics with n > 0 and exclusions that are non-negative counts;
- every estimate row carries a scale of the tidy schema and either a finite estimate or a note saying why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from musclecog.analyses import run_analysis
from musclecog.core.results import AnalysisResult
from musclecog.core.spec import RunContext
from musclecog.plots import draw
from musclecog.results import read_table, write_table
from musclecog.seeds import derive_seed

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("analysis", sorted(CONFIG["analyses"]))
def test_result_contract(default_run: Path, analysis: str, tmp_path: Path) -> None:
    entry = CONFIG["analyses"][analysis]
    cohort = entry["cohort"]
    survey = CONFIG["cohorts"][cohort].get("survey")
    context = RunContext(analysis, cohort, derive_seed(CONFIG["seed"], "analysis", analysis), survey)
    data = pd.read_parquet(default_run / "cohorts" / f"{cohort}.parquet")
    result = run_analysis(data, entry, context)
    assert isinstance(result, AnalysisResult)

    # the pipeline's table is a view of the object (same bytes once written)
    write_table(result.to_tidy(), tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_bytes() == (default_run / "estimates" / f"{analysis}.tsv").read_bytes()
    tidy = read_table(tmp_path / "t.tsv")
    assert len(tidy) == len(result.estimates)

    for key, fit in result.fits.items():
        terms = list(fit.params.index)
        assert terms == list(fit.std_errors.index) == list(fit.cov.index) == list(fit.cov.columns), key
        cov = fit.cov.to_numpy()
        assert np.allclose(cov, cov.T, rtol=1e-10, atol=1e-14), key
        assert fit.diagnostics.n > 0, key
        assert all(isinstance(v, int) and v >= 0 for v in fit.diagnostics.exclusions.values()), key
        assert np.all(np.isfinite(fit.conf_int().to_numpy()) | ~np.isfinite(fit.std_errors.to_numpy())[:, None])

    for e in result.estimates:
        assert np.isfinite(e.estimate) or e.note, f"{analysis}: {e.term} has no estimate and no note"

    fig = draw(result)  # plots read the object; nothing is refitted
    assert fig.axes, f"{analysis}: the figure has no axes"
    import matplotlib.pyplot as plt

    plt.close(fig)
