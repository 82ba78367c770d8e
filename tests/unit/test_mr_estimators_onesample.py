"""Unit tests of one-sample MR (2SLS) as a cohort analysis type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from linearmodels.iv import IV2SLS

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError, DataError, ModelError
from musclecog.mr.onesample import COV_TYPES
from musclecog.plots import draw

CTX = RunContext(analysis="grip_rt_mr", cohort="synthetic", seed=1)


def cohort(n: int = 4000, effect: float = -0.3, seed: int = 2) -> pd.DataFrame:
    """Genotypes snp_1..snp_10 cause grip; a confounder u raises grip and the outcome."""
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, 0.3, size=(n, 10)).astype(float)
    u = rng.normal(size=n)
    sex = rng.choice(["female", "male"], n)
    grip = g @ np.full(10, 0.25) + u + 2.0 * (sex == "male") + rng.normal(size=n)
    y = effect * grip + 1.5 * u + rng.normal(size=n)
    d = pd.DataFrame(g, columns=[f"snp_{i + 1}" for i in range(10)])
    d["prs_grip"] = g @ np.full(10, 0.25)
    d["grip_kg"], d["reaction_time_ms"], d["sex"], d["age"] = grip, y, sex, rng.uniform(60, 80, n)
    return d


def spec(**kw: object) -> dict[str, object]:
    base = {"type": "one_sample_mr", "cohort": "synthetic", "exposure": "grip_kg", "outcome": "reaction_time_ms"}
    return {**base, **kw}


def test_2sls_recovers_causal_effect_and_ols_is_confounded() -> None:
    res = run_analysis(cohort(), spec(instrument_prefix="snp_", covariates=["sex", "age"]), CTX)
    t = res.to_tidy().set_index(["method", "term"])
    iv = t.loc[("2SLS", "grip_kg")]
    assert abs(iv["estimate"] + 0.3) < 3 * iv["std_error"]
    assert t.loc[("OLS (observational)", "grip_kg"), "estimate"] > 0  # confounding flips the sign
    assert t.loc[("2SLS first stage", "first_stage_F"), "estimate"] > 10
    assert t.loc[("Wu-Hausman", "grip_kg"), "p_value"] < 0.05
    assert ("Sargan", "overidentification") in t.index
    assert (res.to_tidy()["n"] == 4000).all()


def test_polygenic_score_is_just_identified() -> None:
    res = run_analysis(cohort(), spec(instruments=["prs_grip"], covariates=["sex"], cov_type="robust"), CTX)
    t = res.to_tidy()
    assert "Sargan" not in set(t["method"])
    assert t.loc[t["method"] == "2SLS", "nsnp"].iloc[0] == 1
    fig = draw(res)
    assert fig.axes


def test_missing_rows_are_counted_and_keep_if_applies() -> None:
    d = cohort()
    d.loc[:99, "reaction_time_ms"] = np.nan
    res = run_analysis(d, spec(instruments=["prs_grip"], keep_if={"age": {"min": 70}}), CTX)
    assert res.n_excluded > 0
    assert res.n == int(((d["age"] >= 70) & d["reaction_time_ms"].notna()).sum())


def test_bad_specs_fail_loudly() -> None:
    d = cohort(n=500)
    with pytest.raises(DataError, match="no columns"):
        run_analysis(d, spec(instruments=["snp_99"]), CTX)
    with pytest.raises(DataError, match="no instrument columns"):
        run_analysis(d, spec(instrument_prefix="rs"), CTX)
    with pytest.raises(ConfigError, match="instruments"):
        run_analysis(d, spec(), CTX)
    with pytest.raises(ConfigError, match="both as instrument"):
        run_analysis(d, spec(instruments=["prs_grip"], covariates=["prs_grip"]), CTX)
    with pytest.raises(ModelError, match="without variation"):
        run_analysis(d.assign(snp_3=1.0), spec(instrument_prefix="snp_"), CTX)
    with pytest.raises(DataError, match="must be numeric"):
        run_analysis(d.assign(snp_1="AA"), spec(instrument_prefix="snp_"), CTX)


def test_coefficients_and_cov_type_are_checked() -> None:
    d = cohort(n=500)
    with pytest.raises(ConfigError, match="coefficients"):
        run_analysis(d, spec(instrument_prefix="snp_", coefficients="covariates"), CTX)
    with pytest.raises(ConfigError, match="cov_type"):
        run_analysis(d, spec(instrument_prefix="snp_", cov_type="HC3"), CTX)
    res = run_analysis(d, spec(instrument_prefix="snp_", covariates=["sex", "age"], coefficients="all"), CTX)
    t = res.to_tidy()
    iv = t.loc[t["method"] == "2SLS", "term"].tolist()
    assert iv == ["(Intercept)", "grip_kg", "sex[male]", "age", "sigma"]
    sigma = t.loc[(t["method"] == "2SLS") & (t["term"] == "sigma"), "estimate"].iloc[0]
    assert sigma == pytest.approx(res.fits["2SLS"].diagnostics.statistics["sigma"])


# ---------------------------------------------------------------- 2SLS against linearmodels' IV2SLS, the peer
CIGARETTES = Path(__file__).resolve().parents[1] / "data" / "cigarettes_sw.csv"
# cov_type -> IV2SLS.fit(cov_type, debiased) that gives the same covariance (HC1 and robust: n / (n - k))
PEER_COV = {"unadjusted": ("unadjusted", True), "robust": ("robust", True), "HC0": ("robust", False),
            "HC1": ("robust", True)}


def _cigarettes() -> pd.DataFrame:
    d = pd.read_csv(CIGARETTES)
    return d[d["year"] == 1995].reset_index(drop=True)


def _assert_equals_iv2sls(data: pd.DataFrame, entry: dict[str, object], exog: pd.DataFrame,
                          instruments: list[str]) -> None:
    """The 2SLS fit and the diagnostics of ``run_analysis(data, entry)`` equal ``IV2SLS(y, exog, x, z)`` to 1e-10
    (``exog``: the intercept and covariates as the design codes them)."""
    cov_type = str(entry["cov_type"])
    res = run_analysis(data, entry, CTX)
    fit = res.fits["2SLS"]
    y, x = data[str(entry["outcome"])], data[[str(entry["exposure"])]]
    lm_cov, debiased = PEER_COV[cov_type]
    peer = IV2SLS(y, exog, x, data[instruments]).fit(cov_type=lm_cov, debiased=debiased)
    np.testing.assert_allclose(fit.params.to_numpy(), peer.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(fit.std_errors.to_numpy(), peer.std_errors.to_numpy(), rtol=1e-10)
    se, se_peer = fit.std_errors.to_numpy(), peer.std_errors.to_numpy()
    np.testing.assert_allclose(fit.cov.to_numpy() / np.outer(se, se), peer.cov.to_numpy() / np.outer(se_peer, se_peer),
                               rtol=0, atol=1e-10)  # as correlations: the off-diagonal terms need no own scale
    assert fit.df_resid == peer.df_resid
    sigma = fit.diagnostics.statistics["sigma"]
    assert sigma == pytest.approx(float(np.sqrt(peer.resid_ss / peer.df_resid)), rel=1e-10)
    tests, q = res.tests, len(instruments)
    if q > 1:
        assert tests.sargan == pytest.approx(peer.sargan.stat, rel=1e-10)
    first = peer.first_stage.diagnostics.iloc[0]
    assert tests.partial_r2 == pytest.approx(first["partial.rsquared"], rel=1e-10)
    # IV2SLS's first-stage f.stat: Wald / q (an F) when unadjusted, the Wald chi-squared otherwise
    assert tests.first_stage_f == pytest.approx(first["f.stat"] / (q if entry["cov_type"] != "unadjusted" else 1),
                                                rel=1e-10)
    if cov_type == "unadjusted":  # IV2SLS's Wu-Hausman test is the homoskedastic one only
        wh = peer.wu_hausman()
        assert (tests.wu_hausman, tests.wu_hausman_df) == (pytest.approx(wh.stat, rel=1e-10), wh.df_denom)


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("covariates", [[], ["sex", "age"]])
@pytest.mark.parametrize("instruments", [["prs_grip"], ["snp_1", "snp_2", "snp_3"], [f"snp_{i}" for i in range(1, 11)]])
def test_2sls_equals_linearmodels_iv2sls(cov_type: str, covariates: list[str], instruments: list[str]) -> None:
    """Coefficients, covariance, SEs, df, sigma and the instrument diagnostics equal linearmodels' ``IV2SLS`` (what
    this analysis type fitted 2SLS with until it had its own) for every ``cov_type``, with 1, 3 and 10
    instruments, with and without covariates (a dummy-coded text column and a number)."""
    d = cohort()
    exog = pd.DataFrame({"const": 1.0, "sex[male]": (d["sex"] == "male").astype(float), "age": d["age"]})
    _assert_equals_iv2sls(d, spec(instruments=instruments, covariates=covariates, cov_type=cov_type),
                          exog[["const", *(["sex[male]", "age"] if covariates else [])]], instruments)


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("instruments", [["tdiff"], ["tdiff", "rtax"]])
def test_2sls_equals_linearmodels_iv2sls_on_cigarettes(cov_type: str, instruments: list[str]) -> None:
    """The same on AER's CigarettesSW 1995 model (tests/reference/test_one_sample_mr_ivreg.py has R's numbers)."""
    d = _cigarettes()
    entry = {"type": "one_sample_mr", "exposure": "log_rprice", "outcome": "log_packs", "instruments": instruments,
             "covariates": ["log_rincome"], "cov_type": cov_type, "coefficients": "all"}
    _assert_equals_iv2sls(d, entry, d[["log_rincome"]].assign(const=1.0)[["const", "log_rincome"]], instruments)


def test_rank_deficient_designs_are_refused() -> None:
    """A covariate that copies another, or an instrument that copies another, stops the fit with the columns named."""
    d = cohort(n=500)
    with pytest.raises(ModelError, match=r"rank deficient.*age.*age2"):
        run_analysis(d.assign(age2=2 * d["age"]), spec(instruments=["prs_grip"], covariates=["age", "age2"]), CTX)
    with pytest.raises(ModelError, match=r"rank deficient.*snp_1.*snp_dup"):
        run_analysis(d.assign(snp_dup=d["snp_1"]), spec(instrument_prefix="snp_"), CTX)
