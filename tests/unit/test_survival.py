"""Unit tests of the survival analysis types: long tables, exclusions, bad input, figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.core.spec import RunContext, spec_from_config
from musclecog.errors import ConfigError, DataError, ModelError
from musclecog.plots import draw
from musclecog.simulate.charls import simulate_charls
from musclecog.survival import (
    ANALYSIS_TYPES,
    CoxResult,
    CoxSpec,
    KaplanMeierResult,
    KaplanMeierSpec,
    cox_zph,
)
from musclecog.survival import fit_cox as _fit_cox
from musclecog.survival import fit_kaplan_meier as _fit_kaplan_meier

CTX = RunContext(analysis="t", cohort="c", seed=1)


def fit_cox(data: pd.DataFrame, entry: dict, context: RunContext) -> CoxResult:
    return _fit_cox(data, spec_from_config(CoxSpec, entry, context))


def fit_kaplan_meier(data: pd.DataFrame, entry: dict, context: RunContext) -> KaplanMeierResult:
    return _fit_kaplan_meier(data, spec_from_config(KaplanMeierSpec, entry, context))


def _direct_zph(
    T: np.ndarray,
    E: np.ndarray,
    X: np.ndarray,
    beta: np.ndarray,
    T0: np.ndarray,
    g: np.ndarray,
    ties: str,
) -> np.ndarray:
    """The ``cox.zph`` statistics (each column, then GLOBAL) summed event time by event time over the risk
    set ``{i: T0_i < t <= T_i}`` with Efron's (or Breslow's) weights: a direct transcription, independent of
    the library's binned risk sets. ``g`` is the time transform per row (centred here on the events)."""
    p = X.shape[1]
    gc = g - g[E == 1].mean()
    w = np.exp(X @ beta)
    u = np.zeros(p)
    info = np.zeros((2 * p, 2 * p))
    for t in np.unique(T[E == 1]):
        dead = (T == t) & (E == 1)
        at_risk = (T0 < t) & (T >= t)
        d = int(dead.sum())
        gt = gc[dead][0]
        for k in range(d):
            f = k / d if ties == "efron" else 0.0
            wk = w * (at_risk - f * dead)
            xbar = wk @ X / wk.sum()
            V = (X * wk[:, None]).T @ X / wk.sum() - np.outer(xbar, xbar)
            u -= gt * xbar
            info += np.kron(np.array([[1.0, gt], [gt, gt * gt]]), V)
        u += gt * X[dead].sum(axis=0)
    out = []
    for cols in [[j] for j in range(p)] + [list(range(p))]:
        keep = [*range(p), *(p + j for j in cols)]
        v = np.r_[np.zeros(p), u[cols]]
        out.append(v @ np.linalg.solve(info[np.ix_(keep, keep)], v))
    return np.array(out)


COX = {
    "event": "cognitive_impairment",
    "entry": "entry_age",
    "exit": "exit_age",
    "exposure": "grip_group",
    "exposure_reference": 4,
    "baseline_only": True,
}


@pytest.fixture(scope="module")
def ch() -> pd.DataFrame:
    return simulate_charls(seed=4, n=1500).data


@pytest.fixture(scope="module")
def one_row(ch: pd.DataFrame) -> pd.DataFrame:
    return ch[ch["wave"] == 0].reset_index(drop=True)


def test_registry() -> None:
    assert set(ANALYSIS_TYPES) == {"cox", "kaplan_meier"}


def test_cox_rows_and_baseline_only_count(ch: pd.DataFrame) -> None:
    t = fit_cox(ch, {**COX, "stratify_by": "sex"}, CTX).to_tidy()
    ov = t[t["stratum"] == "overall"].set_index("term")
    assert ov.loc["grip_group[1]", "scale"] == "hazard_ratio"
    assert ov.loc["grip_group[1]", "n"] == 1500
    assert (
        ov.loc["grip_group[1]", "conf_low"]
        < ov.loc["grip_group[1]", "estimate"]
        < ov.loc["grip_group[1]", "conf_high"]
    )
    assert f"later visits (one row per person) ({len(ch) - 1500} rows)" in ov.loc["grip_group[1]", "note"]
    assert {"ph_test:grip_group", "ph_test:GLOBAL", "logLik (partial)"} <= set(ov.index)
    assert ov.loc["ph_test:grip_group", "df"] == 3  # the factor's columns together (cox.zph terms = TRUE)
    assert set(t["stratum"]) == {"overall", "sex=female", "sex=male"}


def test_long_table_without_baseline_only_is_an_error(ch: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="baseline_only: true"):
        fit_cox(ch, {**COX, "baseline_only": False}, CTX)


def test_exit_not_after_entry_excluded_and_counted(one_row: pd.DataFrame) -> None:
    d = one_row.copy()
    d.loc[:2, "exit_age"] = d.loc[:2, "entry_age"]  # exit == entry
    d.loc[3, "exit_age"] = d.loc[3, "entry_age"] - 1  # exit before entry
    t = fit_cox(d, {**COX, "baseline_only": False}, CTX).to_tidy().set_index("term")
    assert t.loc["grip_group[1]", "n"] == len(d) - 4
    assert "'exit_age' not after 'entry_age' (exit <= entry) (4 rows)" in t.loc["grip_group[1]", "note"]
    flow = t.loc["excluded (time at risk)"]
    assert flow["estimate"] == 4 and flow["n"] == len(d) and flow["scale"] == "count"
    assert "exit <= entry" in flow["note"]
    with pytest.raises(DataError, match="no time at risk"):
        fit_cox(d, {**COX, "baseline_only": False, "invalid_intervals": "error"}, CTX)


def test_negative_follow_up_is_an_error(one_row: pd.DataFrame) -> None:
    d = one_row.copy()
    d.loc[7, "followup_years"] = -0.5
    spec = {"event": "cognitive_impairment", "duration": "followup_years", "exposure": "grip_group"}
    with pytest.raises(DataError, match=r"negative follow-up in 'followup_years' for 1 people \(ids 8"):
        fit_cox(d, spec, CTX)
    with pytest.raises(DataError, match="negative follow-up"):
        fit_kaplan_meier(d, spec, CTX)


def test_bad_specs(one_row: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="either 'duration'"):
        fit_cox(one_row, {"event": "cognitive_impairment", "exposure": "grip_group"}, CTX)
    with pytest.raises(ConfigError, match="not in the cohort table"):
        fit_cox(one_row, {"event": "dementia", "duration": "followup_years", "exposure": "grip_group"}, CTX)
    with pytest.raises(DataError, match="must be 0/1"):
        fit_cox(one_row.assign(cognitive_impairment=2), {**COX, "baseline_only": False}, CTX)
    with pytest.raises(ModelError, match="no events"):
        fit_cox(one_row.assign(cognitive_impairment=0), {**COX, "baseline_only": False}, CTX)


def test_kaplan_meier_rows(one_row: pd.DataFrame) -> None:
    spec = {
        "event": "cognitive_impairment",
        "duration": "followup_years",
        "exposure": "grip_group",
        "survival_at": [4],
    }
    t = fit_kaplan_meier(one_row, spec, CTX).to_tidy().set_index("term")
    assert t.loc["logrank", "df"] == 3 and 0 <= t.loc["logrank", "p_value"] <= 1
    s4 = t.loc[[f"survival_at_4:grip_group={g}" for g in (1, 2, 3, 4)], "estimate"]
    assert ((s4 > 0) & (s4 < 1)).all()
    med = t.loc["median:grip_group=1"]
    assert np.isnan(med["estimate"]) and "median not reached" in med["note"]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("transform", ["km", "rank", "identity"])
def test_cox_zph_equals_direct_sums_with_entry_and_ties(transform: str, ties: str) -> None:
    """The binned risk sets give the direct event-by-event ``cox.zph`` statistics with delayed entry and
    tied event times (R's own numbers on lung are in tests/reference/test_survival_cox_km_r.py)."""
    from musclecog.survival.ph import time_transform

    rng = np.random.default_rng(3)
    n = 300
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n)]).astype(float)
    T0 = rng.uniform(0, 2, n).round(1)
    T = T0 + rng.exponential(3 * np.exp(-0.3 * X[:, 0]), n).round(1) + 0.1  # rounded: ties
    E = (rng.uniform(size=n) < 0.7).astype(int)
    beta = np.array([0.3, -0.2])
    z = cox_zph(T, E, X, beta, T0, ties=ties, transform=transform)
    direct = _direct_zph(T, E, X, beta, T0, time_transform(T, E, T0, transform), ties)
    np.testing.assert_allclose(z.statistic, direct, rtol=1e-9)
    assert z.terms == ("x0", "x1", "GLOBAL") and list(z.df) == [1, 1, 2]


def test_km_figure_has_numbers_at_risk(one_row: pd.DataFrame) -> None:
    spec = {"event": "cognitive_impairment", "duration": "followup_years", "exposure": "grip_group"}
    fig = draw(fit_kaplan_meier(one_row, spec, CTX))
    (ax,) = fig.axes  # the curves, with the at-risk table under them (counts below 5 shown as <5)
    texts = [t.get_text() for t in ax.texts]
    assert "At risk" in texts
    counts = [t for t in texts if t.isdigit() or t == "<5"]
    assert counts and all(t == "<5" or t == "0" or int(t) >= 5 for t in counts)


def test_efron_engine_matches_coxph_and_lifelines(one_row: pd.DataFrame) -> None:
    """Synthetic CHARLS, n = 1500 (seed 4), age scale with delayed entry. R:
    ``coxph(Surv(entry_age, exit_age, cognitive_impairment) ~ relevel(factor(grip_group), ref = "4"), d)``
    gives 0.699156040033, 0.582088322496, 0.679198783646; lifelines' CoxPHFitter stops about 7e-5 (relative)
    from that optimum with entry times."""
    from musclecog.survival.efron import fit_cox_efron

    spec = {**COX, "baseline_only": False}
    a = fit_cox(one_row, spec, CTX).to_tidy().set_index("term")
    b = fit_cox(one_row, {**spec, "engine": "lifelines"}, CTX).to_tidy().set_index("term")
    hr = [f"grip_group[{g}]" for g in (1, 2, 3)]
    np.testing.assert_allclose(
        np.log(a.loc[hr, "estimate"]), [0.699156040033, 0.582088322496, 0.679198783646], rtol=1e-8
    )
    np.testing.assert_allclose(a.loc[hr, "estimate"], b.loc[hr, "estimate"], rtol=5e-4)
    np.testing.assert_allclose(a.loc[hr, "std_error"], b.loc[hr, "std_error"], rtol=1e-3)
    # the PH test (rank time) at the fit equals the direct risk-set computation (delayed entry)
    from musclecog.survival.ph import time_transform

    X = np.column_stack([(one_row["grip_group"] == g).to_numpy(float) for g in (1, 2, 3)])
    T, E, T0 = (
        one_row["exit_age"].to_numpy(),
        one_row["cognitive_impairment"].to_numpy(),
        one_row["entry_age"].to_numpy(),
    )
    f = fit_cox_efron(T, E, X, T0=T0)
    direct = _direct_zph(T, E, X, f.params, T0, time_transform(T, E, T0, "rank"), "efron")
    terms = [(f"q{j + 1}", [j]) for j in range(3)]
    z = cox_zph(T, E, X, f.params, T0, transform="rank", terms=terms)
    np.testing.assert_allclose(z.statistic, direct, rtol=1e-8)
    spec_rank = {**spec, "ph_transform": "rank", "ph_terms": False}
    rows = fit_cox(one_row, spec_rank, CTX).to_tidy().set_index("term")
    names = [f"ph_test:grip_group[{g}]" for g in (1, 2, 3)] + ["ph_test:GLOBAL"]
    np.testing.assert_allclose(rows.loc[names, "estimate"], direct, rtol=1e-8)


def test_cox_result_object_and_engines_share_one_shape(one_row: pd.DataFrame) -> None:
    """A FitResult per model: labelled params/cov, diagnostics (converged, log-likelihood, n, events,
    exclusions by reason); hazard ratios from ``FitResult.estimates``; both engines give the same shape."""
    d = one_row.copy()
    d.loc[:2, "exit_age"] = d.loc[:2, "entry_age"]
    spec = {**COX, "baseline_only": False, "covariates": ["age"]}
    results = {e: fit_cox(d, {**spec, "engine": e}, CTX) for e in ("efron", "lifelines")}
    for engine, res in results.items():
        assert not hasattr(res, "figure") and type(res).figure_kind == "kaplan_meier"
        fit = res.fits["overall"]
        terms = ["grip_group[1]", "grip_group[2]", "grip_group[3]", "age"]
        assert fit.terms == terms and list(fit.cov.columns) == terms
        diag = fit.diagnostics
        assert (
            diag.converged and diag.n == len(d) - 3 and diag.n_events == int(d["cognitive_impairment"].sum())
        )
        assert dict(diag.exclusions) == {"'exit_age' not after 'entry_age' (exit <= entry)": 3}
        t = res.to_tidy().set_index("term")
        np.testing.assert_allclose(diag.log_likelihood, t.loc["logLik (partial)", "estimate"], rtol=1e-12)
        hr = fit.estimates(terms, scale="hazard_ratio")
        np.testing.assert_allclose([e.estimate for e in hr], np.exp(fit.params.to_numpy()), rtol=1e-12)
        np.testing.assert_allclose([e.estimate for e in hr], t.loc[terms, "estimate"], rtol=1e-12)
        np.testing.assert_allclose([e.std_error for e in hr], t.loc[terms, "std_error"], rtol=1e-12)
        assert set(res.ph_tests) == {"overall"}, engine
    a, b = (results[e].fits["overall"] for e in ("efron", "lifelines"))
    np.testing.assert_allclose(a.params, b.params, rtol=1e-3)


def _direct_efron_loglik(beta: np.ndarray, T: np.ndarray, E: np.ndarray, X: np.ndarray, T0: np.ndarray) -> float:
    """Efron's partial log-likelihood summed event time by event time over the risk set ``T0 < t <= T``
    (a direct transcription of Efron 1977, no cumulative sums or bins)."""
    eta = X @ beta
    w = np.exp(eta)
    ll = 0.0
    for t in np.unique(T[E == 1]):
        dead = (T == t) & (E == 1)
        at_risk = (T0 < t) & (T >= t)
        d = int(dead.sum())
        ll += eta[dead].sum() - sum(np.log(w[at_risk].sum() - k / d * w[dead].sum()) for k in range(d))
    return float(ll)


def test_efron_binned_sums_equal_direct_likelihood_with_entry_and_ties() -> None:
    """Heavy ties, entries on the event-time grid (a person entering at t is not at risk at t): the fit's
    log-likelihood equals the direct sum at its estimate, the direct score there is zero and the inverse of
    the direct (numerical) information equals its covariance."""
    from musclecog.survival.efron import fit_cox_efron

    rng = np.random.default_rng(7)
    n = 400
    X = rng.standard_normal((n, 2))
    T0 = np.round(rng.uniform(0, 1, n), 1)
    T = np.round(T0 + np.ceil(rng.exponential(1.0, n) / np.exp(X @ [0.5, -0.3]) * 10) / 10, 1)
    E = (rng.random(n) < 0.6).astype(int)
    fit = fit_cox_efron(T, E, X, T0=T0)
    assert fit.converged
    assert np.unique(T[E == 1]).size < E.sum() / 4  # heavily tied
    assert np.isin(T0, T[E == 1]).any()  # entries at event times
    ll = _direct_efron_loglik(fit.params, T, E, X, T0)
    assert ll == pytest.approx(fit.loglik, rel=1e-12)
    h = 1e-4
    eye = np.eye(2) * h
    grad = [(_direct_efron_loglik(fit.params + e, T, E, X, T0) - _direct_efron_loglik(fit.params - e, T, E, X, T0)) / (2 * h)
            for e in eye]
    np.testing.assert_allclose(grad, 0.0, atol=1e-6)
    hess = np.array([[(_direct_efron_loglik(fit.params + a + b, T, E, X, T0) - _direct_efron_loglik(fit.params + a - b, T, E, X, T0)
                       - _direct_efron_loglik(fit.params - a + b, T, E, X, T0) + _direct_efron_loglik(fit.params - a - b, T, E, X, T0))
                      / (4 * h * h) for b in eye] for a in eye])
    np.testing.assert_allclose(np.linalg.inv(-hess), fit.cov, rtol=1e-4)


def test_concordance_equals_pair_by_pair_count_with_entry_and_ties() -> None:
    """Harrell's C and its infinitesimal-jackknife SE (R ``concordancefit``) from the merge-sort counts equal
    a direct loop over every (death, person at risk) pair, with entry times, tied times and tied predictors."""
    from musclecog.survival.concordance import concordance

    rng = np.random.default_rng(5)
    n = 250
    T0 = rng.uniform(0, 2, n).round(1)
    T = T0 + rng.exponential(3, n).round(1) + 0.1
    E = (rng.uniform(size=n) < 0.6).astype(int)
    lp = rng.integers(0, 8, n) * 0.25  # ties in the predictor
    for entry in (None, T0):
        c = np.zeros(n)
        d = np.zeros(n)
        q = np.zeros(n)
        for i in np.flatnonzero(E == 1):
            at_risk = (T > T[i]) | ((T == T[i]) & (E == 0))
            if entry is not None:
                at_risk &= entry < T[i]
            for j in np.flatnonzero(at_risk):
                which = c if lp[i] > lp[j] else d if lp[i] < lp[j] else q
                which[[i, j]] += 1
        N = (c + d + q).sum() / 2
        somers = (c.sum() - d.sum()) / 2 / N
        dfbeta = (c - d) / N - somers * (c + d + q) / N
        got = concordance(T, E, lp, entry)
        np.testing.assert_allclose(got.concordance, (c.sum() / 2 + q.sum() / 4) / N, rtol=1e-12)
        np.testing.assert_allclose(got.std_error, np.sqrt((dfbeta**2).sum() / 4), rtol=1e-12)
        assert (got.concordant, got.discordant, got.tied_x) == (c.sum() / 2, d.sum() / 2, q.sum() / 2)


def test_km_median_at_exactly_one_half_is_the_midpoint_as_survfit() -> None:
    """R: ``summary(survfit(Surv(c(1, 2, 3, 4, 5, 6), c(1, 1, 1, 0, 1, 1)) ~ 1))$table``: median 4 (S = 0.5
    from 3 to 5: the midpoint), 0.95LCL 2, 0.95UCL NA; ``Surv(1:4, rep(1, 4))``: median 2.5, LCL 1."""
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 1, 0, 1, 1], "g": 1})
    spec = {"event": "e", "duration": "t", "exposure": "g"}
    med = fit_kaplan_meier(d, spec, CTX).to_tidy().set_index("term").loc["median:g=1"]
    assert med["estimate"] == 4 and med["conf_low"] == 2 and np.isnan(med["conf_high"])
    d = pd.DataFrame({"t": [1, 2, 3, 4], "e": 1, "g": 1})
    med = fit_kaplan_meier(d, spec, CTX).to_tidy().set_index("term").loc["median:g=1"]
    assert med["estimate"] == 2.5 and med["conf_low"] == 1
