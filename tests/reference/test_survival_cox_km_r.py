"""Cox and Kaplan-Meier inference against R survival 3.5.3 on ``survival::lung`` (tests/data/lung.csv).

Every number below was printed by ``Rscript tests/data/survival_references.R`` (the R call is in each
docstring); ``lung$status`` is 1 = censored, 2 = dead, recoded to 0/1 as a user's config would. Estimates to
1e-6, SEs and tests to 1e-5 (relative).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musclecog.analyses import run_analysis
from musclecog.core.spec import RunContext

DATA = Path(__file__).resolve().parents[1] / "data"
CTX = RunContext(analysis="ref", cohort="ref", seed=1)
TERMS = ["age", "sex", "ph.ecog"]
LUNG_COX = {"event": "dead", "duration": "time", "exposure": "age", "covariates": ["sex", "ph.ecog"]}


def tidy(data: pd.DataFrame, entry: dict, kind: str = "cox") -> pd.DataFrame:
    result = run_analysis(data, {"type": kind, "cohort": CTX.cohort, **entry}, CTX)
    return result.to_tidy().set_index("term")


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = pd.read_csv(DATA / "lung.csv")
    d["dead"] = d["status"] - 1
    d["exit_age"] = d["age"] + d["time"] / 365.25
    return d


# cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung, ties = ties), transform = tr)$table
ZPH = {
    ("efron", "km"): [0.187987673652, 2.3054372274, 2.05424877405, 4.46365758876],
    ("efron", "rank"): [0.11729150699, 2.04469468024, 2.54487839263, 4.71068014129],
    ("efron", "identity"): [0.152350317254, 2.49191321711, 1.57823523838, 4.11938295148],
    ("efron", "log"): [3.37363401075, 2.03493687888, 0.370496324777, 5.38982142806],
    ("breslow", "km"): [0.188085661154, 2.29719735493, 2.05170861174, 4.45101233377],
    ("breslow", "rank"): [0.117689737601, 2.036321429, 2.54141047565, 4.69691776016],
    ("breslow", "identity"): [0.152149134292, 2.48460048735, 1.5772581717, 4.10973423693],
    ("breslow", "log"): [3.35918639522, 2.02493186253, 0.369963813997, 5.36056661223],
}
ZPH_P = {
    ("efron", "km"): [0.664596763116, 0.128921998811, 0.151782098908, 0.215554945342],
    ("efron", "rank"): [0.731990838889, 0.152737625068, 0.110652430276, 0.194250486597],
}


@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
def test_cox_zph_per_term_and_global(lung: pd.DataFrame, transform: str) -> None:
    """``cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung), transform = tr)``: chisq per
    term and GLOBAL (3 df); km (R's default): 0.187988, 2.305437, 2.054249, GLOBAL 4.463658 (p 0.2156);
    rank: 0.117292, 2.044695, 2.544878, GLOBAL 4.710680."""
    t = tidy(lung, {**LUNG_COX, "ph_transform": transform})
    rows = t.loc[[f"ph_test:{x}" for x in [*TERMS, "GLOBAL"]]]
    np.testing.assert_allclose(rows["estimate"], ZPH["efron", transform], rtol=1e-6)
    np.testing.assert_allclose(rows["statistic"], ZPH["efron", transform], rtol=1e-6)
    assert list(rows["df"]) == [1, 1, 1, 3]
    if ("efron", transform) in ZPH_P:
        np.testing.assert_allclose(rows["p_value"], ZPH_P["efron", transform], rtol=1e-5)
    assert rows["note"].str.contains(f"transform {transform}").all()


def test_cox_zph_default_is_km(lung: pd.DataFrame) -> None:
    """``cox.zph(fit)``: the default transform is "km"."""
    t = tidy(lung, LUNG_COX)
    np.testing.assert_allclose(
        t.loc[[f"ph_test:{x}" for x in [*TERMS, "GLOBAL"]], "estimate"], ZPH["efron", "km"], rtol=1e-6
    )


def test_cox_zph_age_scale_delayed_entry(lung: pd.DataFrame) -> None:
    """``fit <- coxph(Surv(age, age + time/365.25, status) ~ sex + ph.ecog, data = lung[!is.na(lung$ph.ecog),
    ])``; ``cox.zph(fit, transform = "rank")``: 1.16849836431, 1.22496188356, GLOBAL 2.2326145054;
    ``"identity"``: 1.16543157987, 1.02640008887, 2.13278377922; ``"km"``: R stops (singular system: the first
    death's risk set is one person, the Kaplan-Meier drops to 0); the rows are missing with the reason."""
    spec = {"event": "dead", "entry": "age", "exit": "exit_age", "exposure": "sex", "covariates": ["ph.ecog"]}
    names = ["ph_test:sex", "ph_test:ph.ecog", "ph_test:GLOBAL"]
    for transform, ref in {
        "rank": [1.16849836431, 1.22496188356, 2.2326145054],
        "identity": [1.16543157987, 1.02640008887, 2.13278377922],
    }.items():
        t = tidy(lung, {**spec, "ph_transform": transform})
        np.testing.assert_allclose(t.loc[names, "estimate"], ref, rtol=1e-6)
    t = tidy(lung, spec)
    assert t.loc[names, "estimate"].isna().all()
    assert t.loc[names, "note"].str.contains("singular information matrix").all()


def test_cox_zph_factor_term(lung: pd.DataFrame) -> None:
    """``coxph(Surv(time, status) ~ factor(ph.ecog) + age, data = lung3)`` with ``lung3`` the rows with
    ph.ecog 0-2; ``cox.zph(fit)`` (terms = TRUE): factor(ph.ecog) 2.08972122831 on 2 df, age 0.266929782281,
    GLOBAL 2.12840083508 on 3 df. Coefficients 0.358533400583, 0.855785244386, 0.0107764002066."""
    d = lung[lung["ph.ecog"] < 3]
    spec = {"event": "dead", "duration": "time", "exposure": "ph.ecog", "exposure_reference": 0}
    spec["covariates"] = ["age"]
    t = tidy(d, spec)
    np.testing.assert_allclose(
        np.log(t.loc[["ph.ecog[1]", "ph.ecog[2]", "age"], "estimate"]),
        [0.358533400583, 0.855785244386, 0.0107764002066],
        rtol=1e-6,
    )
    rows = t.loc[["ph_test:ph.ecog", "ph_test:age", "ph_test:GLOBAL"]]
    np.testing.assert_allclose(rows["estimate"], [2.08972122831, 0.266929782281, 2.12840083508], rtol=1e-6)
    assert list(rows["df"]) == [2, 1, 3]
    per_column = tidy(d, {**spec, "ph_terms": False})
    assert {"ph_test:ph.ecog[1]", "ph_test:ph.ecog[2]", "ph_test:GLOBAL"} <= set(per_column.index)
    np.testing.assert_allclose(per_column.loc["ph_test:GLOBAL", "estimate"], 2.12840083508, rtol=1e-6)


def test_cox_global_tests_and_concordance(lung: pd.DataFrame) -> None:
    """``s <- summary(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung))``: ``s$logtest``
    30.5006687732 (3 df, p 1.0828176992e-06), Wald ``drop(coef(fit) %*% solve(vcov(fit), coef(fit)))``
    29.9292512092,
    ``s$sctest`` 30.4999227049 (p 1.08320924769e-06), ``s$concordance`` 0.637135493 (se 0.0250679738531)."""
    t = tidy(lung, LUNG_COX)
    tests = t.loc[["lr_test", "wald_test", "score_test"]]
    np.testing.assert_allclose(tests["estimate"], [30.5006687732, 29.9292512092, 30.4999227049], rtol=1e-6)
    assert (tests["df"] == 3).all() and (tests["scale"] == "chi_squared").all()
    np.testing.assert_allclose(
        tests.loc[["lr_test", "score_test"], "p_value"], [1.0828176992e-06, 1.08320924769e-06], rtol=1e-5
    )
    c = t.loc["concordance"]
    assert c["scale"] == "concordance"
    np.testing.assert_allclose([c["estimate"], c["std_error"]], [0.637135493, 0.0250679738531], rtol=1e-6)
    assert "12544 concordant, 7117 discordant, 126 tied" in c["note"]  # fit$concordance[1:3]


def test_cox_global_tests_and_concordance_delayed_entry(lung: pd.DataFrame) -> None:
    """``summary(coxph(Surv(age, age + time/365.25, status) ~ sex + ph.ecog, data = lung2))`` with ``lung2``
    the rows with ph.ecog: logtest 16.774275957 (2 df), Wald 16.399033696, sctest 16.8761769077, concordance
    0.593237704918 (se 0.0291870379162)."""
    spec = {"event": "dead", "entry": "age", "exit": "exit_age", "exposure": "sex", "covariates": ["ph.ecog"]}
    t = tidy(lung, spec)
    np.testing.assert_allclose(
        t.loc[["lr_test", "wald_test", "score_test"], "estimate"],
        [16.774275957, 16.399033696, 16.8761769077],
        rtol=1e-6,
    )
    c = t.loc["concordance", ["estimate", "std_error"]].astype(float)
    np.testing.assert_allclose(c, [0.593237704918, 0.0291870379162], rtol=1e-6)


@pytest.mark.parametrize(
    ("ties", "coef", "se", "loglik", "tests", "concordance"),
    [
        (
            "efron",
            [0.0110667645601, -0.552612395704, 0.46372847537],
            [0.0092674110137, 0.167739053787, 0.113577266162],
            [-744.480455761, -729.230121375],
            [30.5006687732, 29.9292512092, 30.4999227049],
            0.637135493,
        ),
        (
            "breslow",
            [0.0110411363495, -0.551889569788, 0.46294704059],
            [0.00926677011354, 0.167742448021, 0.113574052061],
            [-744.692819266, -729.488705177],
            [30.4082281788, 29.8390008397, 30.4064069153],
            0.637135493,
        ),
    ],
)
def test_cox_ties(
    lung: pd.DataFrame,
    ties: str,
    coef: list[float],
    se: list[float],
    loglik: list[float],
    tests: list[float],
    concordance: float,
) -> None:
    """``fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung, ties = ties)``: ``coef(fit)``,
    ``sqrt(diag(vcov(fit)))``, ``fit$loglik``, ``summary(fit)$logtest``/Wald/``$sctest`` and
    ``cox.zph(fit)`` (km, per term and GLOBAL) for ``ties = "efron"`` (the default) and ``"breslow"``."""
    t = tidy(lung, {**LUNG_COX, "ties": ties})
    np.testing.assert_allclose(np.log(t.loc[TERMS, "estimate"]), coef, rtol=1e-6)
    np.testing.assert_allclose(t.loc[TERMS, "std_error"], se, rtol=1e-5)
    np.testing.assert_allclose(t.loc["logLik (partial)", "estimate"], loglik[1], rtol=1e-9)
    assert f"null model {loglik[0]:.6f}" in t.loc["logLik (partial)", "note"]
    np.testing.assert_allclose(t.loc[["lr_test", "wald_test", "score_test"], "estimate"], tests, rtol=1e-6)
    np.testing.assert_allclose(t.loc["concordance", "estimate"], concordance, rtol=1e-6)
    zph = t.loc[[f"ph_test:{x}" for x in [*TERMS, "GLOBAL"]], "estimate"]
    np.testing.assert_allclose(zph, ZPH[ties, "km"], rtol=1e-6)
    assert f"({ties.capitalize()} ties;" in t.loc["age", "method"]


@pytest.mark.parametrize("transform", ["rank", "identity", "log"])
def test_cox_zph_breslow_transforms(lung: pd.DataFrame, transform: str) -> None:
    """``cox.zph(coxph(..., ties = "breslow"), transform = tr)``: e.g. rank 0.117689737601, 2.036321429,
    2.54141047565, GLOBAL 4.69691776016."""
    t = tidy(lung, {**LUNG_COX, "ties": "breslow", "ph_transform": transform})
    zph = t.loc[[f"ph_test:{x}" for x in [*TERMS, "GLOBAL"]], "estimate"]
    np.testing.assert_allclose(zph, ZPH["breslow", transform], rtol=1e-6)


def test_breslow_with_lifelines_is_a_config_error(lung: pd.DataFrame) -> None:
    from musclecog.errors import ConfigError

    with pytest.raises(ConfigError, match="Efron ties only"):
        tidy(lung, {**LUNG_COX, "ties": "breslow", "engine": "lifelines"})


def test_cox_breslow_delayed_entry(lung: pd.DataFrame) -> None:
    """``fit <- coxph(Surv(age, age + time/365.25, status) ~ sex + ph.ecog, data = lung2, ties = "breslow")``:
    coef -0.461038999844, 0.408871026013; se 0.185284133436, 0.125570016805; ``summary(fit)$sctest``
    16.8861015593; ``cox.zph(fit, transform = "rank")`` 1.17138821312, 1.23363389161, GLOBAL 2.24236280622."""
    spec = {"event": "dead", "entry": "age", "exit": "exit_age", "exposure": "sex", "covariates": ["ph.ecog"]}
    t = tidy(lung, {**spec, "ties": "breslow", "ph_transform": "rank"})
    terms = ["sex", "ph.ecog"]
    np.testing.assert_allclose(np.log(t.loc[terms, "estimate"]), [-0.461038999844, 0.408871026013], rtol=1e-6)
    np.testing.assert_allclose(t.loc[terms, "std_error"], [0.185284133436, 0.125570016805], rtol=1e-5)
    np.testing.assert_allclose(t.loc["score_test", "estimate"], 16.8861015593, rtol=1e-6)
    np.testing.assert_allclose(
        t.loc[["ph_test:sex", "ph_test:ph.ecog", "ph_test:GLOBAL"], "estimate"],
        [1.17138821312, 1.23363389161, 2.24236280622],
        rtol=1e-6,
    )


# survfit(Surv(time, status) ~ sex, data = lung, conf.type = ct): summary(km)$table median, 0.95LCL, 0.95UCL
# (sex = 1, 2), and summary(km, times = c(180, 365)): surv, std.err, lower, upper (sex 1 at 180, 365; sex 2)
KM = {
    "log": (
        [270, 426],
        [212, 348],
        [310, 550],
        [0.569284189871, 0.26090050379, 0.769899809608, 0.421486340829],
        [0.729574341958, 0.432942945498, 0.921731145691, 0.657585537902],
    ),
    "log-log": (
        [270, 426],
        [210, 345],
        [306, 524],
        [0.558412473005, 0.252729143328, 0.748380916153, 0.403579823267],
        [0.718013598161, 0.421302168223, 0.903504304285, 0.635316232824],
    ),
    "plain": (
        [270, 426],
        [212, 345],
        [306, 524],
        [0.564525077316, 0.25097916443, 0.766588419195, 0.409380947815],
        [0.724404925767, 0.421196504849, 0.918214991981, 0.643545112557],
    ),
}
KM_SURV = [0.644465001542, 0.336087834639, 0.842401705588, 0.526463030186]
KM_SE = [0.0407864250853, 0.0434235888418, 0.0386809589314, 0.0597368539904]
KM_SPEC = {"event": "dead", "duration": "time", "exposure": "sex", "survival_at": [180, 365]}


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain", None])
def test_km_conf_types_median_ci_and_greenwood(lung: pd.DataFrame, conf_type: str | None) -> None:
    """``km <- survfit(Surv(time, status) ~ sex, data = lung, conf.type = ct)``: medians 270, 426 with CIs
    log (R's default, ``conf_type`` absent) 212-310 and 348-550, log-log 210-306 and 345-524, plain 212-306
    and 345-524; ``summary(km, times = c(180, 365))``: survival 0.644465, 0.336088 (men), 0.842402, 0.526463
    (women), Greenwood std.err 0.0407864, 0.0434236, 0.0386810, 0.0597369, and the limits of ``ct``."""
    spec = KM_SPEC if conf_type is None else {**KM_SPEC, "conf_type": conf_type}
    t = tidy(lung, spec, "kaplan_meier")
    median, lcl, ucl, lower, upper = KM[conf_type or "log"]
    med = t.loc[["median:sex=1", "median:sex=2"]]
    np.testing.assert_allclose(med["estimate"], median)
    np.testing.assert_allclose(med["conf_low"], lcl)
    np.testing.assert_allclose(med["conf_high"], ucl)
    rows = t.loc[[f"survival_at_{d}:sex={s}" for s in (1, 2) for d in (180, 365)]]
    np.testing.assert_allclose(rows["estimate"], KM_SURV, rtol=1e-9)
    np.testing.assert_allclose(rows["std_error"], KM_SE, rtol=1e-9)
    np.testing.assert_allclose(rows["conf_low"], lower, rtol=1e-9)
    np.testing.assert_allclose(rows["conf_high"], upper, rtol=1e-9)


@pytest.mark.parametrize(
    ("rmean", "mean", "se"),
    [
        (365, [241.495085192, 297.465409532], [10.3582264911, 10.7913239788]),
        ("common", [326.084109669, 460.647310792], [22.9115634685, 34.6898460265]),
        ("individual", [326.084109669, 455.904087512], [22.9115634685, 32.9174156887]),
    ],
)
def test_km_restricted_mean(lung: pd.DataFrame, rmean: object, mean: list[float], se: list[float]) -> None:
    """``summary(survfit(Surv(time, status) ~ sex, data = lung), rmean = r)$table[, c("rmean", "se(rmean)")]``
    (as ``print(km, rmean = r)``) for r = 365, "common", "individual"; without ``rmean`` no rows (R's print
    default ``rmean = "none"``)."""
    t = tidy(lung, {**KM_SPEC, "rmean": rmean}, "kaplan_meier")
    rows = t.loc[["rmean:sex=1", "rmean:sex=2"]]
    np.testing.assert_allclose(rows["estimate"], mean, rtol=1e-9)
    np.testing.assert_allclose(rows["std_error"], se, rtol=1e-9)
    assert (rows["scale"] == "mean").all()
    assert not tidy(lung, KM_SPEC, "kaplan_meier").index.str.startswith("rmean").any()


@pytest.mark.parametrize(
    ("conf_type", "ci", "lower", "upper"),
    [
        ("log", (11, 71), [0.0425687745326, 0.0204011248746], [0.325382936737, 0.164655833348]),
        ("log-log", (11, 31), [0.0320134028095, 0.0164198517699], [0.264403572457, 0.138913795483]),
    ],
)
def test_km_delayed_entry(
    lung: pd.DataFrame, conf_type: str, ci: tuple[float, float], lower: list[float], upper: list[float]
) -> None:
    """``lung$entry <- floor(lung$time / 3)``; ``km <- survfit(Surv(entry, time, status) ~ sex, data = lung,
    conf.type = ct)``: medians 13 (CI ``ci``) and 5 (the women's curve drops to 0 at 5: no limits);
    ``summary(km, times = c(180, 365))`` for the men: survival 0.117690920936, 0.057958297227, std.err
    0.0610647490679, 0.0308761853339; women 0 with missing SE and limits; ``rmean = 365``: 58.8672110719
    (se 23.6290507981) and 5 (se 0)."""
    d = lung.assign(entry=np.floor(lung["time"] / 3))
    spec = {"event": "dead", "entry": "entry", "exit": "time", "exposure": "sex", "survival_at": [180, 365]}
    t = tidy(d, {**spec, "conf_type": conf_type, "rmean": 365}, "kaplan_meier")
    np.testing.assert_allclose(t.loc[["median:sex=1", "median:sex=2"], "estimate"], [13, 5])
    np.testing.assert_allclose(t.loc["median:sex=1", ["conf_low", "conf_high"]].astype(float), ci)
    assert t.loc["median:sex=2", ["conf_low", "conf_high"]].isna().all()
    men = t.loc[["survival_at_180:sex=1", "survival_at_365:sex=1"]]
    np.testing.assert_allclose(men["estimate"], [0.117690920936, 0.057958297227], rtol=1e-9)
    np.testing.assert_allclose(men["std_error"], [0.0610647490679, 0.0308761853339], rtol=1e-9)
    np.testing.assert_allclose(men["conf_low"], lower, rtol=1e-9)
    np.testing.assert_allclose(men["conf_high"], upper, rtol=1e-9)
    women = t.loc[["survival_at_180:sex=2", "survival_at_365:sex=2"]]
    assert (women["estimate"] == 0).all() and women[["std_error", "conf_low", "conf_high"]].isna().all().all()
    np.testing.assert_allclose(
        t.loc[["rmean:sex=1", "rmean:sex=2"], "estimate"], [58.8672110719, 5], rtol=1e-9
    )
    np.testing.assert_allclose(
        t.loc[["rmean:sex=1", "rmean:sex=2"], "std_error"], [23.6290507981, 0], atol=1e-8
    )
