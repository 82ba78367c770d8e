"""The default run's dose-response curve recovers the synthetic non-linear truth.

The ``ukb`` design generates baseline DSST as ``... + 8 tanh((grip - 30) / 15)`` given age and sex
(:func:`musclecog.simulate.ukb.dsst_grip_effect`; truth rows ``dsst_grip_curve_<g>kg``, DSST points at ``g`` kg
minus at 30 kg). The default config's ``ukb_dsst_grip_spline`` (5-knot spline, adjusted for age and sex) must
be within 0.5 DSST points of the truth at every grid value (residual SD 10, n about 40,000: the SE of the curve
is 0.05-0.25 points and the 5-knot spline's approximation error of the tanh is below 0.35) and find the
non-linearity (p < 0.001). Read from the golden tables of the default run (tests/golden).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from musclecog.simulate.ukb import DSST_CURVE_GRID, DSST_CURVE_REFERENCE, UkbParams, dsst_grip_effect

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
TOLERANCE = 0.5
"""DSST points."""


def test_default_run_dsst_curve_recovers_the_truth() -> None:
    est = pd.read_csv(GOLDEN / "estimates" / "ukb_dsst_grip_spline.tsv", sep="\t")
    truth = pd.read_csv(GOLDEN / "cohorts" / "ukb.truth.tsv", sep="\t").set_index("parameter")["value"]
    curve = est[est["term"].str.startswith("grip_kg=")].copy()
    curve["grip"] = curve["term"].str.removeprefix("grip_kg=").astype(float)
    curve = curve.set_index("grip").loc[list(DSST_CURVE_GRID)]
    expected = np.array([truth[f"dsst_grip_curve_{g:g}kg"] for g in DSST_CURVE_GRID])
    # the truth rows are the design's function (not typed-in numbers)
    p = UkbParams()
    np.testing.assert_allclose(
        expected, dsst_grip_effect(np.array(DSST_CURVE_GRID), p) - dsst_grip_effect(np.array([DSST_CURVE_REFERENCE]), p),
        rtol=0, atol=1e-9,
    )
    assert np.max(np.abs(curve["estimate"].to_numpy() - expected)) < TOLERANCE
    nonlinear = est.loc[est["term"] == "wald test: nonlinear", "p_value"].iloc[0]
    assert nonlinear < 1e-3
