"""The numpy GEE (:func:`musclecog.longitudinal.gee.gee_numpy`) against statsmodels' GEE, its peer.

statsmodels is run live here (``GEE(...).fit(ddof_scale=0, maxiter=...)`` with ``Exchangeable``,
``Independence`` or our ``GeepackAR1``, through :func:`~musclecog.longitudinal.gee.gee_statsmodels`): the
numpy fit reproduces its algorithm step for step, so params, robust SEs and the working correlation agree to
1e-10 (relative), with the same iteration count and warnings, on the CHARLS synthetic cohort (people with 1-4
waves), with waves missing in the middle and rows in shuffled order, for both families and the three working
correlations; where numpy meets a floating-point error (statsmodels warns there) the fit is statsmodels'.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.longitudinal import gee as gee_mod
from musclecog.longitudinal.gee import gee_fit, gee_numpy, gee_statsmodels
from musclecog.simulate.charls import simulate_charls

RTOL = 1e-10
CTX = RunContext(analysis="charls_grip_gee", cohort="charls", seed=1)


@pytest.fixture(scope="module")
def charls() -> pd.DataFrame:
    """A CHARLS cohort of the default run's size (config: ``simulate: {design: charls, n: 9333}``)."""
    return simulate_charls(seed=1, n=9333).data


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    """A smaller CHARLS with 10 % of follow-up visits dropped (gaps in the waves), rows shuffled: y, X, ids."""
    d = simulate_charls(seed=5, n=1500).data
    rng = np.random.default_rng(7)
    d = d[(d["wave"] == 0) | (rng.random(len(d)) > 0.1)]
    d = d.iloc[rng.permutation(len(d))]
    t = d["time_years"].to_numpy(float)
    g = d["grip_group"].to_numpy()
    age = d["age"].to_numpy(float)
    cols = [np.ones(len(d)), t, *((g == k).astype(float) for k in (2, 3, 4))]
    cols += [(g == k) * t for k in (2, 3, 4)] + [age, age * t]
    y = d["cognition"].to_numpy(float)
    return {
        "y": y,
        "yb": (y < np.median(y)).astype(float),
        "x": np.column_stack(cols),
        "ids": d["id"].to_numpy(),
        "wave": d["wave"].to_numpy(float),
    }


def _assert_same(a: gee_mod.GEEFit, b: gee_mod.GEEFit, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(a.params, b.params, rtol=rtol, atol=0)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=rtol, atol=0)
    np.testing.assert_allclose(a.cov, b.cov, rtol=rtol, atol=rtol * np.max(np.abs(b.cov)))
    if b.dep_param is None:
        assert a.dep_param is None
    else:
        assert a.dep_param == pytest.approx(b.dep_param, rel=rtol, abs=0)
    assert a.messages == b.messages
    assert a.n_iter == b.n_iter


def test_small_data_has_what_the_cases_need(small: dict[str, Any]) -> None:
    sizes = pd.Series(small["ids"]).value_counts()
    assert sizes.min() == 1 and sizes.max() == 4
    gaps = pd.DataFrame({"id": small["ids"], "w": small["wave"]}).sort_values("w").groupby("id")["w"]
    assert (gaps.diff() > 1).any()  # AR(1): the pair distances are in waves, not rows
    assert not pd.Index(small["ids"]).is_monotonic_increasing


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
@pytest.mark.parametrize("correlation", ["independence", "exchangeable", "ar1"])
def test_numpy_gee_matches_statsmodels(small: dict[str, Any], family: str, correlation: str) -> None:
    y = small["yb"] if family == "binomial" else small["y"]
    time = small["wave"] if correlation == "ar1" else None
    a = gee_numpy(y, small["x"], small["ids"], family, correlation, time)
    b = gee_statsmodels(y, small["x"], small["ids"], family, correlation, time)
    assert a.engine == "numpy" and b.engine == "statsmodels"
    # independence starts at its solution (the GLM fit): two iterations
    assert a.messages == ()
    assert (a.n_iter == 2) if correlation == "independence" else (a.n_iter > 3)
    _assert_same(a, b)
    if correlation != "independence":
        assert a.dep_param is not None and 0.05 < a.dep_param < 0.95


@pytest.mark.parametrize("correlation", ["exchangeable", "ar1"])
def test_iteration_limit_reported_as_statsmodels(small: dict[str, Any], correlation: str) -> None:
    time = small["wave"] if correlation == "ar1" else None
    a = gee_numpy(small["yb"], small["x"], small["ids"], "binomial", correlation, time, maxiter=2)
    b = gee_statsmodels(small["yb"], small["x"], small["ids"], "binomial", correlation, time, maxiter=2)
    assert a.messages == (gee_mod.ITERATION_LIMIT,)
    _assert_same(a, b)


def test_all_clusters_of_one_row(small: dict[str, Any]) -> None:
    """statsmodels then skips the correlation update (a GLM): the parameter stays 0."""
    first = ~pd.Series(small["ids"]).duplicated().to_numpy()
    args = (small["y"][first], small["x"][first], small["ids"][first], "gaussian", "exchangeable")
    a, b = gee_numpy(*args), gee_statsmodels(*args)
    assert a.dep_param == 0.0
    _assert_same(a, b)


def test_floating_point_error_falls_back_to_statsmodels() -> None:
    """A separated binary outcome overflows exp(): the fit (NaN params, statsmodels' warnings) is statsmodels'.

    (statsmodels then runs its 100 iterations with a NaN score norm, which is not >= 1e-6: no iteration
    limit warning, so the analysis says converged, as it did before the numpy fit.)
    """
    rng = np.random.default_rng(3)
    x = rng.normal(size=180)
    X = np.column_stack([np.ones(180), x])
    ids = np.repeat(np.arange(60), 3)
    y = (x > 0).astype(float)
    with pytest.raises(FloatingPointError):
        gee_numpy(y, X, ids, "binomial", "exchangeable")
    a, b = gee_fit(y, X, ids, "binomial", "exchangeable"), gee_statsmodels(y, X, ids, "binomial", "exchangeable")
    assert a.engine == "statsmodels"
    assert "overflow encountered in exp" in a.messages and a.n_iter == 100
    assert a.messages == b.messages
    np.testing.assert_array_equal(a.params, b.params)


def _tidy_both(data: pd.DataFrame, entry: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[pd.DataFrame, ...]:
    """The analysis's tidy table with the numpy GEE and with statsmodels'."""
    ours = run_analysis(data, entry, CTX).to_tidy()
    engines: list[str] = []

    def peer_fit(*args: Any) -> gee_mod.GEEFit:
        fit = gee_statsmodels(*args)
        engines.append(fit.engine)
        return fit

    with monkeypatch.context() as m:
        m.setattr(gee_mod, "gee_fit", peer_fit)
        peer = run_analysis(data, entry, CTX).to_tidy()
    assert engines and set(engines) == {"statsmodels"}
    return ours, peer


def _assert_same_tables(ours: pd.DataFrame, peer: pd.DataFrame) -> None:
    text = [c for c in ours.columns if ours[c].dtype == object]
    pd.testing.assert_frame_equal(ours[text], peer[text])
    for col in ("estimate", "std_error", "conf_low", "conf_high", "statistic"):
        np.testing.assert_allclose(ours[col], peer[col], rtol=RTOL, atol=0, err_msg=col)
    # p = 2 Phi(-|z|) multiplies z's relative error by about z^2 (z up to 35 here); log p by about 2
    p_ours, p_peer = ours["p_value"].to_numpy(float), peer["p_value"].to_numpy(float)
    assert ((p_ours == 0) == (p_peer == 0)).all()
    pos = p_peer > 0
    np.testing.assert_allclose(np.log(p_ours[pos]), np.log(p_peer[pos]), rtol=RTOL, atol=0)


def test_default_run_charls_gee_matches_statsmodels(charls: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default run's ``charls_grip_gee`` (config/config.yaml), every row and note."""
    with open("config/config.yaml") as f:
        entry = yaml.safe_load(f)["analyses"]["charls_grip_gee"]
    ours, peer = _tidy_both(charls, entry, monkeypatch)
    assert (ours["term"] == "working_correlation").sum() == 2
    _assert_same_tables(ours, peer)


def test_not_converged_rows_as_statsmodels(charls: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fit stopped at the iteration limit: the same NOT CONVERGED notes and ``converged`` rows."""
    entry = {"type": "gee", "outcome": "cognition", "exposure": "grip_kg", "working_correlation": "ar1"}
    monkeypatch.setattr(gee_mod, "MAXITER", 2)
    ours, peer = _tidy_both(charls[charls["id"] < 2000], entry, monkeypatch)
    conv = ours.set_index("term").loc["converged"]
    assert conv["estimate"] == 0 and conv["note"] == f"NOT CONVERGED: {gee_mod.ITERATION_LIMIT}"
    _assert_same_tables(ours, peer)


def test_non_finite_estimates_are_not_reported_as_converged(
    charls: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fit that ends with NaN estimates (statsmodels' end of a separated binary fit: 100 iterations on a NaN
    score norm, which raises no iteration-limit warning, see the test above) is NOT CONVERGED in the table,
    never "converged"."""
    real = gee_mod.gee_fit

    def nan_fit(*args: Any) -> gee_mod.GEEFit:
        fit = real(*args)
        return dataclasses.replace(fit, params=np.full_like(fit.params, np.nan))

    monkeypatch.setattr(gee_mod, "gee_fit", nan_fit)
    entry = {"type": "gee", "outcome": "cognition", "exposure": "grip_kg", "working_correlation": "exchangeable"}
    tidy = run_analysis(charls[charls["id"] < 500], entry, CTX).to_tidy()
    conv = tidy.set_index("term").loc["converged"]
    assert conv["estimate"] == 0, conv
    assert conv["note"].startswith("NOT CONVERGED") and "not finite" in conv["note"], conv["note"]
    assert tidy.loc[tidy["term"] == "grip_kg", "note"].str.startswith("NOT CONVERGED").all()
