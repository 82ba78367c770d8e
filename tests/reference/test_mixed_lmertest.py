"""The ``mixed_model`` analysis type against lme4 / lmerTest on lme4's sleepstudy (18 subjects x 10 days).

Every reference value was printed by ``tests/data/sleepstudy_lmertest.R`` (R 4.x, Debian r-cran-lme4 1.1-31,
r-cran-lmertest 3.1-3); the R call is quoted in each test's docstring. Data: tests/data/sleepstudy.README.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"
CTX = RunContext(analysis="sleep", cohort="sleepstudy", seed=1)


@pytest.fixture(scope="module")
def sleepstudy() -> pd.DataFrame:
    return pd.read_csv(DATA / "sleepstudy.csv")


def _tidy(data: pd.DataFrame, **keys: object) -> pd.DataFrame:
    entry = {"type": "mixed_model", "outcome": "Reaction", "time": "Days", "id": "Subject", **keys}
    return run_analysis(data, entry, CTX).to_tidy().set_index("term")


def test_no_exposure_random_slope_matches_lmer(sleepstudy: pd.DataFrame) -> None:
    """A mixed model with no exposure: ``summary(lmer(Reaction ~ Days + (Days | Subject), sleepstudy))``
    (REML): Intercept 251.4051048485 (SE 6.82459669495), Days 10.4672859596 (SE 1.54578964391); logLik
    -871.814136. Estimates to 1e-6, SEs to 1e-5 (lme4's optimiser stops about 1e-5 short of the optimum in
    theta; ours is Newton-polished, so the SEs agree to about 6e-6)."""
    t = _tidy(sleepstudy, random="slope")
    beta = t.loc[t["scale"] == "beta"]
    assert list(beta.index) == ["Intercept", "Days"]
    assert (t["exposure"] == "").all()
    np.testing.assert_allclose(beta["estimate"], [251.4051048485, 10.4672859596], rtol=1e-6)
    np.testing.assert_allclose(beta["std_error"], [6.82459669495, 1.54578964391], rtol=1e-5)
    np.testing.assert_allclose(t.loc["logLik (REML)", "estimate"], -871.814136, rtol=1e-8)


def test_no_exposure_random_intercept_matches_lmer(sleepstudy: pd.DataFrame) -> None:
    """``summary(lmer(Reaction ~ Days + (1 | Subject), sleepstudy))``: Intercept 251.405105 (SE 9.7467163),
    Days 10.467286 (SE 0.8042214); logLik -893.2325427."""
    t = _tidy(sleepstudy, random="intercept")
    beta = t.loc[t["scale"] == "beta"]
    np.testing.assert_allclose(beta["estimate"], [251.4051048485, 10.4672859596], rtol=1e-6)
    np.testing.assert_allclose(beta["std_error"], [9.7467163, 0.8042214], rtol=1e-5)
    np.testing.assert_allclose(t.loc["logLik (REML)", "estimate"], -893.2325427, rtol=1e-9)


def test_no_exposure_refuses_an_exposure_reference(sleepstudy: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="exposure_reference"):
        _tidy(sleepstudy, exposure_reference=1)


def test_a_constant_exposure_is_still_refused(sleepstudy: pd.DataFrame) -> None:
    """A constant exposure is an error that says the exposure can be left out."""
    from musclecog.errors import ModelError

    with pytest.raises(ModelError, match="leave 'exposure' out"):
        _tidy(sleepstudy.assign(one=1.0), exposure="one")


def test_no_exposure_trajectory_figure_has_one_line(sleepstudy: pd.DataFrame) -> None:
    """The trajectory figure of a model of time alone draws one predicted line (no exposure levels)."""
    from musclecog import plots

    entry = {"type": "mixed_model", "outcome": "Reaction", "time": "Days", "id": "Subject"}
    result = run_analysis(sleepstudy, entry, CTX)
    assert result.title == "sleep: Reaction over Days"
    fig = plots.draw(result)
    lines = [line.get_gid() for ax in fig.axes for line in ax.get_lines()]
    assert lines == ["fitted"]
