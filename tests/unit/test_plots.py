"""Figures as matplotlib objects: labels come from the variable dictionary with units, forest rows, panels
and legend entries are what the result holds, ratio ticks are readable, and a trajectory's lines are the
fitted model's predictions (recomputed here by hand from its coefficients)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from musclecog.analyses import run_analysis
from musclecog.core.results import AnalysisResult, Estimate
from musclecog.core.spec import RunContext
from musclecog.labels import estimate_label
from musclecog.plots import draw, save_figure
from musclecog.plots.forest import forest_panels, short_method
from musclecog.plots.ticks import ratio_ticks
from musclecog.plots.trajectories import predicted_trajectories
from musclecog.simulate.charls import simulate_charls
from musclecog.simulate.cohort7y import simulate_cohort7y

CTX = RunContext(analysis="t", cohort="c", seed=1)


def _est(term: str, est: float, scale: str, method: str, outcome: str, stratum: str = "overall") -> Estimate:
    half = 0.1 if scale == "beta" else 0.05
    lo, hi = (est - half, est + half) if scale == "beta" else (est / (1 + half), est * (1 + half))
    return Estimate(term=term, estimate=est, scale=scale, conf_low=lo, conf_high=hi, method=method,
                    outcome=outcome, exposure="grip_kg", stratum=stratum, extra={"exposure_unit": "per SD (11)"})


def _result() -> AnalysisResult:
    rows = []
    for outcome in ("dsst", "reaction_time_ms"):
        for stratum in ("overall", "sex=female"):
            for method in ("linear regression, crude", "linear regression, adjusted for age"):
                rows += [_est("grip_kg", 0.2, "beta", method, outcome, stratum),
                         _est("grip_kg:sex[male]", 0.05, "beta", method, outcome, stratum)]
    rows += [_est("grip_kg", 1.004, "odds_ratio", "logistic regression, crude", "prospective_memory")]
    rows += [Estimate(term="(Intercept)", estimate=3.0, scale="beta", method="x", outcome="dsst")]
    rows += [Estimate(term="n", estimate=10.0, scale="count")]
    return AnalysisResult(analysis="a", cohort="c", estimates=tuple(rows), title="t")


def test_forest_structure_matches_the_result() -> None:
    res = _result()
    fig = draw(res)
    panels = forest_panels(res.estimates)
    # main effects and interactions apart, one axis per scale; intercepts and counts are not drawn
    assert [p.key for p in panels] == ["beta", "beta, interactions", "odds_ratio"]
    assert [ax.get_gid() for ax in fig.axes] == [p.key for p in panels]
    for ax, panel in zip(fig.axes, panels, strict=True):
        labels = [t.get_text() for t in ax.get_yticklabels()]
        bold = [t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"]
        assert len(labels) - len(bold) == len(panel.estimates)  # one row per estimate
        # grouping headings: outcome (dictionary label, unit) and stratum, not a concatenated row label
        if panel.scale == "beta":
            assert any(b.endswith("Digit symbol substitution test, score; All participants") for b in bold)
            assert any(b.endswith("Reaction time, ms; Sex: female") for b in bold)
            assert all("|" not in t for t in labels)
    # rows of one term differing by model: the term in the heading, each row names its model
    heads0 = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_fontweight() == "bold"]
    rows0 = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_fontweight() != "bold"]
    assert "Grip strength, per SD (11 kg); Reaction time, ms; Sex: female" in heads0
    assert rows0[:2] == ["linear, crude", "linear, adjusted"]
    heads1 = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert any(h.startswith("Grip strength, per SD (11 kg) × Sex: male; ") for h in heads1)
    # x labels: scale in words; the outcome with its unit when the panel has one outcome
    assert fig.axes[2].get_xlabel() == "Odds ratio for Prospective memory correct at first attempt (95% CI, log scale)"
    assert fig.axes[0].get_xlabel() == "Difference (95% CI)"
    # the legend has one entry per model, named by the shortened method
    methods = list(dict.fromkeys(e.method for p in panels for e in p.estimates))
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [short_method(m) for m in methods]
    # the log axis: readable, distinct tick labels including 1
    ticks = [t.get_text() for t in fig.axes[2].get_xticklabels()]
    assert len(set(ticks)) == len(ticks) and "1" in ticks
    plt.close(fig)


def test_single_outcome_axis_label_carries_the_unit() -> None:
    res = AnalysisResult(analysis="a", cohort="c", title="t",
                         estimates=(_est("grip_kg", 0.2, "beta", "linear regression", "dsst"),))
    fig = draw(res)
    assert fig.axes[0].get_xlabel() == "Difference in Digit symbol substitution test, score (95% CI)"
    plt.close(fig)


@pytest.mark.parametrize(("low", "high"), [(0.99, 1.02), (1.001, 1.012), (0.5, 3.0), (0.2, 0.9), (1.2, 1.4),
                                           (0.03, 40.0), (1.0001, 1.0004)])
def test_ratio_ticks_are_distinct_and_exact(low: float, high: float) -> None:
    ticks, labels = ratio_ticks(low, high)
    assert len(set(labels)) == len(labels) >= 3
    assert 1.0 in ticks
    assert len(ticks) <= 8
    for t, lab in zip(ticks, labels, strict=True):
        assert math.isclose(float(lab), t, rel_tol=1e-9)  # the label is the value drawn there


def test_term_labels_from_the_dictionary() -> None:
    e = Estimate(term="low_mm_fnih_alm=1 vs 0", estimate=1.0, scale="beta", exposure="low_mm_fnih_alm")
    assert estimate_label(e).endswith(": 1 vs 0") and "low_mm" not in estimate_label(e)
    assert estimate_label(e.replace(term="sex[male]")) == "Sex: male"


def _by_hand(result: AnalysisResult, stratum: str, value: object, times: np.ndarray, link: str) -> np.ndarray:
    """X b from the fit's coefficients, the design written out term by term (time, exposure dummies, their
    products, age and age x time at the mean age of the fit's rows, factors at their reference level)."""
    fit = result.fits[stratum]
    b = fit.params
    frame = result.frame if stratum == "overall" else result.frame[result.frame["sex"].astype(str) == stratum[4:]]
    eta = np.full(times.shape, b["Intercept"])
    tl = result.time_label
    eta += b[tl] * times
    exp = result.exposure
    for term in b.index:
        if term.startswith(f"{exp}[") and ":" not in term:
            level = term[len(exp) + 1 : -1]
            on = float(str(value) == level)
            eta += on * (b[term] + b.get(f"{term}:{tl}", 0.0) * times)
        elif term == exp:
            eta += float(value) * (b[term] + b[f"{exp}:{tl}"] * times)  # type: ignore[arg-type]
    if "age" in b.index and exp != "age":
        eta += (b["age"] + b.get(f"age:{tl}", 0.0) * times) * frame["age"].mean()
    return 1 / (1 + np.exp(-eta)) if link == "logit" else eta


@pytest.mark.parametrize("kind", ["mixed_model", "gee"])
def test_trajectory_lines_are_the_models_predictions(kind: str) -> None:
    data = simulate_charls(seed=3, n=500).data
    spec = {"type": kind, "outcome": "cognition", "exposure": "grip_group", "covariates": ["age", "education"],
            "covariates_x_time": ["age"], "exposure_reference": 1, "stratify_by": "sex", "overall": True}
    if kind == "mixed_model":
        spec["random"] = "intercept"
    res = run_analysis(data, spec, CTX)
    fig = draw(res)
    pred, held = predicted_trajectories(res)
    assert [ax.get_gid() for ax in fig.axes] == list(res.fits)[:4]
    for ax in fig.axes:
        stratum = ax.get_gid()
        levels = res.fits[stratum].codings["grip_group"].levels
        lines = [ln for ln in ax.get_lines() if ln.get_gid()]
        assert len(lines) == len(levels or ())
        for line, level in zip(lines, levels or (), strict=True):
            t, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            np.testing.assert_allclose(y, _by_hand(res, stratum, level, t, "identity"), rtol=1e-10, atol=1e-10)
    assert "Predicted Cohort-defined cognitive composite, score (95% CI)" == fig.axes[0].get_ylabel()
    assert fig.axes[0].get_xlabel() == "Time since baseline, years"
    assert any("Age at its mean" in h for h in held["overall"])
    # the band is the Wald interval of X b
    sub = pred[pred["stratum"] == "overall"]
    assert np.all(sub["low"] < sub["fit"]) and np.all(sub["fit"] < sub["high"])
    plt.close(fig)


def test_continuous_exposure_at_mean_and_sd() -> None:
    data = simulate_cohort7y(seed=2, n=300).data
    spec = {"type": "mixed_model", "outcome": "cognition", "exposure": "age", "covariates": ["sex"],
            "random": "intercept"}
    res = run_analysis(data, spec, CTX)
    pred, _ = predicted_trajectories(res)
    levels = list(dict.fromkeys(pred["level"]))
    assert len(levels) == 3 and levels[1].startswith("mean (")
    for level in levels:
        g = pred[pred["level"] == level]
        value = float(g["value"].iloc[0])
        np.testing.assert_allclose(g["fit"], _by_hand(res, "overall", value, g["time"].to_numpy(), "identity"),
                                   rtol=1e-10)


def test_figures_written_as_svg_and_300_dpi_png(tmp_path: pd.DataFrame) -> None:
    from PIL import Image

    fig = draw(_result())
    size = fig.get_size_inches()
    save_figure(fig, tmp_path / "f.png", tmp_path / "f.svg")
    svg = (tmp_path / "f.svg").read_text()
    assert "<svg" in svg and "Grip strength, per SD (11 kg)" in svg  # text kept as text
    with Image.open(tmp_path / "f.png") as im:
        assert im.info["dpi"][0] == pytest.approx(300, abs=1)
        assert im.size[1] > 0.8 * 300 * size[1]


def _low_mm(data: pd.DataFrame) -> pd.DataFrame:
    """The FNIH ALM cut-offs of the default config (19.75 kg men, 15.02 kg women)."""
    cut = np.where(data["sex"] == "male", 19.75, 15.02)
    return data.assign(low_mm_fnih_alm=(data["alm_kg"] < cut).astype(int))


def test_cox_adjusted_survival_matches_lifelines() -> None:
    """The adjusted curve is lifelines' ``CoxPHFitter.predict_survival_function`` at the same profile
    (Breslow baseline; lifelines fits the same Efron partial likelihood independently)."""
    from lifelines import CoxPHFitter

    from musclecog.plots.survival import adjusted_profiles
    from musclecog.simulate.nhanes import simulate_nhanes

    data = _low_mm(simulate_nhanes(seed=5, n=1500).data)
    res = run_analysis(data, {"type": "cox", "event": "death", "duration": "followup_years",
                              "exposure": "low_mm_fnih_alm", "covariates": ["age", "sex"]}, CTX)
    profiles, labels, held = adjusted_profiles(res, "overall")
    times, surv = res.adjusted_survival("overall", profiles)
    frame = res.data.frame.iloc[res.fit_rows["overall"]]
    df = pd.DataFrame({"x": frame["low_mm_fnih_alm"].astype(float), "age": frame["age"].astype(float),
                       "male": (frame["sex"] == "male").astype(float), "T": frame["T"], "E": frame["E"]})
    cph = CoxPHFitter().fit(df, "T", "E")
    new = pd.DataFrame({"x": [0.0, 1.0], "age": profiles["age"].astype(float), "male": [0.0, 0.0]})
    ref = cph.predict_survival_function(new, times=times).to_numpy().T
    np.testing.assert_allclose(surv, ref, rtol=1e-5, atol=1e-6)
    assert labels == ["0", "1"] and any("Sex = female" in h for h in held)
    fig = draw(res)
    assert {"kaplan_meier", "adjusted", "hazard_ratio"} <= {ax.get_gid() for ax in fig.axes}
    adj = next(ax for ax in fig.axes if ax.get_gid() == "adjusted")
    line = next(ln for ln in adj.get_lines() if ln.get_gid() == "1")
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float)[1:], surv[1])
    hr = next(ax for ax in fig.axes if ax.get_gid() == "hazard_ratio")
    assert len(hr.get_yticklabels()) == sum(e.scale == "hazard_ratio" for e in res.estimates)
    plt.close(fig)


def test_at_risk_counts_below_five_are_suppressed() -> None:
    from musclecog.plots.survival import at_risk_table
    from musclecog.simulate.nhanes import simulate_nhanes

    data = _low_mm(simulate_nhanes(seed=5, n=400).data)
    res = run_analysis(data, {"type": "kaplan_meier", "event": "death", "duration": "followup_years",
                              "exposure": "low_mm_fnih_alm"}, CTX)
    T = res.data.frame["T"].to_numpy()
    late = float(np.sort(T)[-3])  # three people still followed
    table = at_risk_table(res, np.array([0.0, late]))
    assert set(table.iloc[:, 1]) <= {"<5", "0"}
    g = res.display_groups()
    assert table.iloc[:, 0].tolist() == [str(int((g == lv).sum())) for lv in sorted(g.unique(), key=str)]


@pytest.mark.parametrize("conf_type", ["log", "log-log"])
def test_km_panel_draws_the_product_limit_curves(conf_type: str) -> None:
    """Each group's drawn step curve is lifelines' ``KaplanMeierFitter`` estimate (an independent
    implementation) at every event time, from 1 at time 0 to the group's last follow-up; its band is the
    analysis's ``conf_type`` limits (``log-log``: lifelines' exponential Greenwood interval)."""
    from lifelines import KaplanMeierFitter

    from musclecog.simulate.nhanes import simulate_nhanes

    data = _low_mm(simulate_nhanes(seed=5, n=400).data)
    res = run_analysis(data, {"type": "kaplan_meier", "event": "death", "duration": "followup_years",
                              "exposure": "low_mm_fnih_alm", "conf_type": conf_type}, CTX)
    fig = draw(res)
    (ax,) = [a for a in fig.axes if a.get_gid() == "kaplan_meier"]
    frame, groups = res.data.frame, res.display_groups()
    levels = sorted(groups.unique(), key=str)
    assert [line.get_label() for line in ax.get_lines()] == [str(lv) for lv in levels]
    for line, band, level in zip(ax.get_lines(), ax.collections, levels, strict=True):
        d = frame.loc[(groups == level).to_numpy()]
        kmf = KaplanMeierFitter().fit(d["T"], d["E"])
        t, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        assert (t[0], y[0], t[-1]) == (0.0, 1.0, d["T"].max())
        events = np.unique(d.loc[d["E"] == 1, "T"])
        np.testing.assert_allclose(y[1:-1], kmf.survival_function_at_times(events).to_numpy(), rtol=1e-12)
        if conf_type == "log-log":
            ci = kmf.confidence_interval_survival_function_.loc[events].to_numpy()
            lower = band.get_paths()[0].vertices[:, 1]
            assert np.isin(np.round(ci[:, 0], 10), np.round(lower, 10)).all()
    plt.close(fig)


def test_mr_axes_carry_units() -> None:
    """Scatter, funnel, leave-one-out and single-SNP axes name the traits and the GWAS units (SD, log odds)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_mr_estimators import FAST, simulate

    from musclecog.mr.analysis import run_mr
    from musclecog.plots.mr import all_figures

    dat = simulate(k=15).assign(**{"units.exposure": "SD", "units.outcome": "log odds"})
    figs = all_figures(run_mr(dat, FAST, "grip_kg", "dementia", seed=1))
    scatter = figs["scatter"].axes[0]
    assert scatter.get_xlabel() == "SNP effect on Grip strength (SD per effect allele)"
    assert scatter.get_ylabel() == "SNP effect on Incident dementia (log odds per effect allele)"
    for name in ("forest", "funnel", "leave_one_out"):
        assert "(log odds per SD)" in figs[name].axes[0].get_xlabel(), name
    for fig in figs.values():
        plt.close(fig)
