"""The mediation-family generators recover their calibrated numbers from large simulated n.

Targets (resources/review_targets.tsv): Chen proportion mediated 0.201 (ref. 39); Zhao r = -0.41 within the
power-training arm (ref. 43); toe-grip r = 0.415 (ref. 44); SMART indirect effect -0.64 through strength, none
through VO2peak (ref. 45). Fits here use plain numpy least squares, independent of musclecog.mediation.
Tolerances are about 4 standard errors at the n used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.simulate import simulate

N_LARGE = 200_000


def _ols(y: np.ndarray, *cols: np.ndarray) -> np.ndarray:
    X = np.column_stack([np.ones_like(y), *cols])
    return np.linalg.lstsq(X, y, rcond=None)[0]


def _changes(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    wide = df.pivot(index="id", columns="wave", values=cols)
    out = pd.DataFrame({c: wide[(c, 1)] - wide[(c, 0)] for c in cols})
    base = df[df["wave"] == 0].set_index("id")
    return out.join(base.drop(columns=cols + ["wave", "time_years"]))


def test_chen_proportion_mediated() -> None:
    sim = simulate("chen", N_LARGE, seed=11)
    d, truth = sim.data, sim.truth.set_index("parameter")["value"]
    cov = [d["age"].to_numpy(), (d["sex"] == "male").to_numpy(float),
           (d["education"] == "primary").to_numpy(float), (d["education"] == "secondary_or_more").to_numpy(float)]
    x, m, y = d["tug_s"].to_numpy(), d["knee_ext_kg"].to_numpy(), d["mmse"].to_numpy()
    a = _ols(m, x, *cov)[1]
    b, cp = _ols(y, m, x, *cov)[1:3]
    c = _ols(y, x, *cov)[1]
    assert a == pytest.approx(truth["a_tug_on_knee_ext"], abs=0.01)
    assert b == pytest.approx(truth["b_knee_ext_on_mmse"], abs=0.002)
    assert cp == pytest.approx(truth["direct_c_prime"], abs=0.005)
    assert a * b / c == pytest.approx(0.201, abs=0.02)
    assert truth["proportion_mediated"] == 0.201


def test_chen_deterministic_and_in_range() -> None:
    one, two = simulate("chen", 500, seed=3), simulate("chen", 500, seed=3)
    pd.testing.assert_frame_equal(one.data, two.data)
    assert one.data["mmse"].between(0, 30).all() and (one.data["knee_ext_kg"] > 0).all()
    assert len(simulate("chen", None, seed=3).data) == 595


def test_trial_power_change_correlation() -> None:
    sim = simulate("trial_power", N_LARGE, seed=12)
    ch = _changes(sim.data, ["knee_ext_kg", "trails_ba"])
    power = ch[ch["arm"] == "power"]
    sham = ch[ch["arm"] == "sham"]
    assert np.corrcoef(power["knee_ext_kg"], power["trails_ba"])[0, 1] == pytest.approx(-0.41, abs=0.01)
    assert np.corrcoef(sham["knee_ext_kg"], sham["trails_ba"])[0, 1] == pytest.approx(0.0, abs=0.012)
    small = simulate("trial_power", None, seed=1).data
    assert small["id"].nunique() == 103 and set(small["wave"]) == {0, 1}
    assert (small[small["wave"] == 0]["arm"] == "power").sum() == 52


def test_trial_smart_mediation() -> None:
    sim = simulate("trial_smart", N_LARGE, seed=13)
    ch = _changes(sim.data, ["lower_body_strength_kg", "vo2peak", "adas_cog"])
    t = ch["treatment"].to_numpy(float)
    a = _ols(ch["lower_body_strength_kg"].to_numpy(), t)[1]
    coefs = _ols(ch["adas_cog"].to_numpy(), t, ch["lower_body_strength_kg"].to_numpy(), ch["vo2peak"].to_numpy())
    assert a * coefs[2] == pytest.approx(-0.64, abs=0.02)
    assert coefs[3] == pytest.approx(0.0, abs=0.01)  # VO2peak change: no path to ADAS-Cog change
    assert coefs[1] == pytest.approx(-0.2, abs=0.04)
    cells = sim.data[sim.data["wave"] == 0]["arm"].value_counts()
    assert cells.max() - cells.min() <= 1


def test_trial_toegrip_change_correlation() -> None:
    sim = simulate("trial_toegrip", N_LARGE, seed=14)
    ch = _changes(sim.data, ["toe_grip_kg", "mmse"])
    assert np.corrcoef(ch["toe_grip_kg"], ch["mmse"])[0, 1] == pytest.approx(0.415, abs=0.01)
    assert sim.data["mmse"].between(0, 30).all() and (sim.data["toe_grip_kg"] > 0).all()
