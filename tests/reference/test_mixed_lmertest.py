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


def _arrays(ss: pd.DataFrame, slope: bool = True) -> tuple[np.ndarray, ...]:
    X = np.column_stack([np.ones(len(ss)), ss["Days"].to_numpy(float)])
    return ss["Reaction"].to_numpy(float), X, X if slope else X[:, :1], ss["Subject"].to_numpy()


# lmer's (theta, sigma) and summary(m)$coefficients: t value, df, Pr(>|t|)
LMER = {
    "reml_slope": (
        True, True, [0.966741773967, 0.015169058896, 0.230909953208], 25.5917957217,
        [36.8380896463, 6.7714814890], [16.9997262885, 16.9999837256], [1.17155811121e-17, 3.26382446993e-06],
    ),
    "ml_slope": (
        False, True, [0.9291906052782, 0.0181657547204, 0.2226432056126], 25.5919070365,
        [37.90718516851, 6.96783080464], [18.0011347664, 18.0001769285], [1.26375193752e-18, 1.65222790512e-06],
    ),
    "reml_intercept": (
        True, False, [1.19788153283], 30.9912338986,
        [25.7938261364, 13.0154278198], [22.8101989553, 161.0000000546], [2.24135095934e-18, 6.41260123102e-27],
    ),
}


@pytest.mark.parametrize("case", sorted(LMER))
def test_satterthwaite_at_lmers_estimates(sleepstudy: pd.DataFrame, case: str) -> None:
    """Satterthwaite df evaluated at lmer's own variance parameters reproduce lmerTest's to 1e-6 and, with
    lmer's t values, its p-values to 1e-5 (2e-6 here): ``summary(lmer(Reaction ~ Days + (Days | Subject), sleepstudy))``,
    the same with ``REML = FALSE``, and ``(1 | Subject)``; the variance parameters' covariance is lmerTest's
    ``m@vcov_varpar`` (REML random slope, first row: 0.05765275101492 -0.00449704273204 0.00181251012879
    -0.1176587398557) to 1e-6."""
    import dataclasses

    from scipy import stats

    from musclecog.longitudinal.lmm import fit_lmm, satterthwaite

    reml, slope, theta, sigma, t, df_r, p_r = LMER[case]
    y, X, Z, g = _arrays(sleepstudy, slope)
    fit = dataclasses.replace(fit_lmm(y, X, Z, g, reml=reml), theta=np.array(theta), scale=sigma**2)
    st = satterthwaite(y, X, Z, g, fit)
    assert st.message == ""
    np.testing.assert_allclose(st.df, df_r, rtol=1e-6)
    np.testing.assert_allclose(2 * stats.t.sf(np.abs(t), st.df), p_r, rtol=1e-5)
    if case == "reml_slope":
        np.testing.assert_allclose(
            st.vcov_varpar[0], [0.05765275101492, -0.00449704273204, 0.00181251012879, -0.1176587398557], rtol=1e-6
        )


def test_satterthwaite_rows_match_lmertest(sleepstudy: pd.DataFrame) -> None:
    """The default (``df_method: satterthwaite``) rows against ``summary(lmerTest::lmer(Reaction ~ Days +
    (Days | Subject), sleepstudy))``: df 16.9997262885, 16.9999837256; p 1.17155811121e-17,
    3.26382446993e-06. Our optimum has a lower REML deviance than lmer's (by 1.5e-9, gradient 1e-12 against
    lmer's 3e-4), so df agree to 1e-4 relative (1.6e-5 here), the Days p-value to 1e-4 (1.3e-5) and the
    intercept's (t = 36.8, where p moves 17 times faster than t) to 1e-3 (5.7e-4): all from lmer's theta being
    1e-5 from the optimum (:func:`test_satterthwaite_at_lmers_estimates` matches to 1e-6 at lmer's theta).
    The CIs are estimate -/+ qt(0.975, df) SE."""
    from scipy import stats

    t = _tidy(sleepstudy)
    beta = t.loc[["Intercept", "Days"]]
    np.testing.assert_allclose(beta["df"], [16.9997262885, 16.9999837256], rtol=1e-4)
    np.testing.assert_allclose(beta.loc["Intercept", "p_value"], 1.17155811121e-17, rtol=1e-3)
    np.testing.assert_allclose(beta.loc["Days", "p_value"], 3.26382446993e-06, rtol=1e-4)
    q = stats.t.ppf(0.975, beta["df"].to_numpy())
    np.testing.assert_allclose(beta["conf_low"], beta["estimate"] - q * beta["std_error"], rtol=1e-12)
    assert beta["note"].str.contains("Satterthwaite").all()


def test_satterthwaite_rows_ml_and_random_intercept(sleepstudy: pd.DataFrame) -> None:
    """ML random slope: df 18.0011347664, 18.0001769285 (to 1e-4: lmer's ML optimum is as far off); random
    intercept: df 22.8101989553, 161.0000000546, p 2.24135095934e-18, 6.41260123102e-27 (to 1e-6: lmer's
    optimum there is exact to 1e-8)."""
    ml = _tidy(sleepstudy, reml=False).loc[["Intercept", "Days"]]
    np.testing.assert_allclose(ml["df"], [18.0011347664, 18.0001769285], rtol=1e-4)
    ri = _tidy(sleepstudy, random="intercept").loc[["Intercept", "Days"]]
    np.testing.assert_allclose(ri["df"], [22.8101989553, 161.0000000546], rtol=1e-6)
    np.testing.assert_allclose(ri["p_value"], [2.24135095934e-18, 6.41260123102e-27], rtol=1e-5)


def test_df_method_wald_keeps_z(sleepstudy: pd.DataFrame) -> None:
    """``df_method: wald``: normal p-values and intervals, no df (the tables before Satterthwaite)."""
    from scipy import stats

    beta = _tidy(sleepstudy, df_method="wald").loc[["Intercept", "Days"]]
    assert beta["df"].isna().all()
    z = (beta["estimate"] / beta["std_error"]).abs().to_numpy()
    np.testing.assert_allclose(beta["p_value"], 2 * stats.norm.sf(z), rtol=1e-12)


def test_aic_bic_match_r(sleepstudy: pd.DataFrame) -> None:
    """``AIC(m)``, ``BIC(m)`` of ``lmer(Reaction ~ Days + (Days | Subject), sleepstudy)``: 1755.62827196,
    1774.78601307 (REML); with ``REML = FALSE`` 1763.93934449, 1783.09708559; ``(1 | Subject)`` 1794.46508539,
    1807.23691280. To 1e-9 relative (they are -2 logLik + k, k log N)."""
    for keys, aic, bic in (
        ({}, 1755.62827196, 1774.78601307),
        ({"reml": False}, 1763.93934449, 1783.09708559),
        ({"random": "intercept"}, 1794.46508539, 1807.23691280),
    ):
        t = _tidy(sleepstudy, **keys)
        np.testing.assert_allclose(t.loc[["AIC", "BIC"], "estimate"], [aic, bic], rtol=1e-9)
        assert (t.loc[["AIC", "BIC"], "scale"] == "fit_index").all()


def test_blups_match_ranef(sleepstudy: pd.DataFrame) -> None:
    """``as.data.frame(ranef(m, condVar = TRUE))``. Random intercept ``(1 | Subject)``: subject 308 condval
    40.78370983963, 309 -77.84955382241, 372 18.11574672277, condsd 9.47566811914 (to 1e-6). Random slope
    ``(Days | Subject)``, at lmer's theta and fixed effects (to 1e-6): 308 (Intercept) 2.258550949901, 309
    -40.398738078805, Days 308 9.198975765566, 372 1.284022076533, condsd 12.0708569505 and 2.3048390209; at our
    optimum (lmer's theta is 1e-5 off) to 1e-4 of the conditional SD."""
    import dataclasses

    from musclecog.longitudinal.lmm import fit_lmm, random_effects

    entry = {"type": "mixed_model", "outcome": "Reaction", "time": "Days", "id": "Subject", "random": "intercept"}
    ri = run_analysis(sleepstudy, entry, CTX).random_effects["overall"].set_index(["term", "group"])
    assert len(ri) == 18
    np.testing.assert_allclose(
        ri.loc[[("(Intercept)", 308), ("(Intercept)", 309), ("(Intercept)", 372)], "condval"],
        [40.78370983963, -77.84955382241, 18.11574672277],
        rtol=1e-6,
    )
    np.testing.assert_allclose(ri["condsd"], 9.47566811914, rtol=1e-6)

    y, X, Z, g = _arrays(sleepstudy)
    ours = fit_lmm(y, X, Z, g)
    lmer = dataclasses.replace(
        ours, theta=np.array([0.966741773967, 0.015169058896, 0.230909953208]), scale=25.5917957217**2
    )
    want = [2.258550949901, -40.398738078805, 9.198975765566, 1.284022076533]
    keys = [("(Intercept)", 308), ("(Intercept)", 309), ("Days", 308), ("Days", 372)]
    for fit, tol in ((lmer, 1e-6), (ours, None)):
        r = random_effects(y, X, Z, g, fit, ("(Intercept)", "Days")).set_index(["term", "group"])
        sd = r.groupby(level="term")["condsd"].first()
        if tol is None:
            np.testing.assert_allclose(r.loc[keys, "condval"], want, atol=1e-4 * float(sd.min()))
        else:
            np.testing.assert_allclose(r.loc[keys, "condval"], want, rtol=tol)
            np.testing.assert_allclose(sd[["(Intercept)", "Days"]], [12.0708569505, 2.3048390209], rtol=tol)


def test_profile_intervals_match_lme4_confint(sleepstudy: pd.DataFrame) -> None:
    """``variance_ci: profile`` against ``confint(m, method = "profile", oldNames = FALSE)`` (lme4 1.1-31):

    random slope, REML fit: sd_(Intercept) 14.381418160773 37.715995318287, cor -0.481500758281 0.684986273295,
    sd_Days 3.801164053259 8.753380753055, sigma 22.898266882081 28.857996511425; random intercept:
    sd_(Intercept) 26.00712044808 52.9359835297, sigma 27.81384720813 34.5910498579.
    lme4 profiles the ML deviance (also for a REML fit) on a grid and interpolates the bounds with a spline;
    ours are roots of the same profile, so the two agree to the interpolation's precision: the SDs to 5e-6
    relative (largest 3.5e-6, sd_Days's lower bound), the correlation to 5e-5 absolute (3.3e-5); and the profile at each of our bounds is the cut-off. The estimates are the REML fit's (summary's VarCorr).
    """
    t = _tidy(sleepstudy, variance_ci="profile")
    rows = t.loc[["sd(Intercept)", "cor(Intercept,Days)", "sd(Days)", "sigma"]]
    sds = ["sd(Intercept)", "sd(Days)", "sigma"]
    np.testing.assert_allclose(rows.loc[sds, "conf_low"], [14.381418160773, 3.801164053259, 22.898266882081], rtol=5e-6)
    np.testing.assert_allclose(rows.loc[sds, "conf_high"], [37.715995318287, 8.753380753055, 28.857996511425],
                               rtol=5e-6)
    cor = rows.loc["cor(Intercept,Days)"]
    np.testing.assert_allclose([cor["conf_low"], cor["conf_high"]], [-0.481500758281, 0.684986273295], atol=5e-5)
    # ours are the roots: the ML profile at each bound is qchisq(0.95, 1) above the minimum (lme4's upper
    # correlation bound, 3.3e-5 away, is 4.6e-4 below the cut-off: its spline's error)
    from musclecog.longitudinal import lmm

    x = np.column_stack([np.ones(len(sleepstudy)), sleepstudy["Days"]])
    y, g = sleepstudy["Reaction"].to_numpy(float), sleepstudy["Subject"].to_numpy()
    ml = lmm.fit_lmm(y, x, x, g, reml=False)
    stats_ = lmm._Stats(y, x, x, g)
    phi0 = lmm._phi_of(ml.theta, float(np.sqrt(ml.scale)))
    dmin = lmm._ml_criterion(ml.theta, float(np.sqrt(ml.scale)), stats_)
    for k, term in enumerate(["sd(Intercept)", "cor(Intercept,Days)", "sd(Days)", "sigma"]):
        for bound in ("conf_low", "conf_high"):
            rise = lmm._profile_value(k, float(rows.loc[term, bound]), stats_, phi0)[0] - dmin
            assert rise == pytest.approx(3.841458820694124, abs=1e-6), (term, bound)
    assert list(rows["scale"]) == ["sd", "correlation", "sd", "sd"]
    np.testing.assert_allclose(rows.loc[sds, "estimate"] ** 2,
                               t.loc[["var(Intercept)", "var(Days)", "var(Residual)"], "estimate"], rtol=1e-12)
    assert rows["note"].str.contains('confint\\(m, method = "profile"\\)').all()

    # time reversed: the same model with the correlation's sign flipped, so its interval is mirrored
    flipped = _tidy(sleepstudy.assign(Days=-sleepstudy["Days"]), variance_ci="profile")
    mirror = flipped.loc["cor(Intercept,Days)"]
    np.testing.assert_allclose([mirror["conf_low"], mirror["conf_high"]], [-cor["conf_high"], -cor["conf_low"]],
                               atol=1e-8)

    t1 = _tidy(sleepstudy, variance_ci="profile", random="intercept")
    r1 = t1.loc[["sd(Intercept)", "sigma"]]
    np.testing.assert_allclose(r1["conf_low"], [26.00712044808, 27.81384720813], rtol=5e-6)
    np.testing.assert_allclose(r1["conf_high"], [52.9359835297, 34.5910498579], rtol=5e-6)
    assert "sd(Intercept)" not in _tidy(sleepstudy).index  # off by default
