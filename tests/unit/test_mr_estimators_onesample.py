"""Unit tests of one-sample MR (2SLS) as a cohort analysis type."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext
from musclecog.errors import ConfigError, DataError, ModelError
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
