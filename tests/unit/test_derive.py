"""Derived variables: muscle indices, sex-specific cut-offs, age groups, z-scores, change scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.derive import (
    CUTOFFS,
    age_group,
    below_sex_cutoff,
    change_from_baseline,
    derive_rowwise,
    derive_samplewise,
    zscore,
)
from musclecog.errors import ConfigError, DataError


def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "sex": ["male", "female", "male", "female", None],
            "age": [59.9, 60.0, 79.99, 80.0, np.nan],
            "alm_kg": [19.74, 15.02, 25.0, np.nan, 20.0],
            "bmi": [25.0, 30.0, 31.0, 22.0, 25.0],
            "height_cm": [170.0, 160.0, 180.0, 150.0, 165.0],
            "grip_trial_h1t1": [26.0, 15.0, 40.0, np.nan, 30.0],
            "grip_trial_h2t1": [26.9, 16.0, np.nan, np.nan, 10.0],
        }
    )


def test_cutoffs_are_the_published_ones():
    # FNIH (Studenski 2014), AWGS 2019 (Chen 2020), EWGSOP2 (Cruz-Jentoft 2019)
    assert CUTOFFS["low_mm_fnih_alm"] == {"male": 19.75, "female": 15.02}
    assert CUTOFFS["low_mm_fnih_alm_bmi"] == {"male": 0.789, "female": 0.512}
    assert CUTOFFS["low_mm_awgs"] == {"male": 7.0, "female": 5.4}
    assert CUTOFFS["low_grip_ewgsop2"] == {"male": 27.0, "female": 16.0}


def test_below_sex_cutoff_is_strict_and_missing_aware():
    flag = below_sex_cutoff(pd.Series([26.99, 27.0, 15.99, 16.0, 10.0, np.nan]),
                            pd.Series(["male", "male", "female", "female", None, "male"]),
                            CUTOFFS["low_grip_ewgsop2"])
    assert flag.tolist()[:4] == [1, 0, 1, 0]
    assert flag.isna().tolist() == [False] * 4 + [True, True]


def test_age_groups():
    got = age_group(pd.Series([45.0, 59.9, 60.0, 69.99, 70.0, 80.0, 104.0, np.nan]))
    assert got.astype(object).tolist()[:7] == ["<60", "<60", "60-69", "60-69", "70-79", "80+", "80+"]
    assert pd.isna(got.iloc[7])


def test_rowwise_derivations_from_available_columns():
    out, added = derive_rowwise(people())
    assert added == ["grip_best_kg", "alm_bmi", "alm_height2", "low_mm_fnih_alm", "low_mm_fnih_alm_bmi",
                     "low_mm_awgs", "low_grip_ewgsop2", "age_group"]
    np.testing.assert_allclose(out["grip_best_kg"], [26.9, 16.0, 40.0, np.nan, 30.0])
    np.testing.assert_allclose(out["alm_bmi"], [19.74 / 25, 15.02 / 30, 25 / 31, np.nan, 0.8])
    np.testing.assert_allclose(out["alm_height2"].iloc[0], 19.74 / 1.7**2)
    assert out["low_mm_fnih_alm"].tolist()[:3] == [1, 0, 0]  # 19.74 < 19.75 men; 15.02 is not < 15.02
    assert out["low_mm_fnih_alm_bmi"].tolist()[:3] == [0, 1, 0]  # 0.7896 men; 0.5007 women < 0.512
    assert out["low_mm_awgs"].tolist()[:3] == [1, 0, 0]  # 19.74/1.7^2 = 6.83 < 7.0; 15.02/1.6^2 = 5.87
    assert out["low_grip_ewgsop2"].tolist()[:3] == [1, 0, 0]  # best 26.9 < 27 men; 16.0 not < 16 women
    assert out["low_grip_ewgsop2"].isna().tolist() == [False, False, False, True, True]


def test_ewgsop2_falls_back_to_grip_kg():
    df = pd.DataFrame({"sex": ["male", "female"], "grip_kg": [26.0, 17.0]})
    out, added = derive_rowwise(df)
    assert "grip_best_kg" not in added
    assert out["low_grip_ewgsop2"].tolist() == [1, 0]


def test_existing_column_is_not_overwritten():
    df = people().assign(alm_bmi=0.5)
    out, added = derive_rowwise(df)
    assert "alm_bmi" not in added
    assert (out["alm_bmi"] == 0.5).all()


def test_explicit_request_without_inputs_is_an_error():
    with pytest.raises(ConfigError, match=r"'cohorts\.x\.derive' asks for 'low_mm_awgs' .*needs alm_height2 and sex"):
        derive_rowwise(pd.DataFrame({"sex": ["male"]}), ["low_mm_awgs"], where="cohorts.x.derive")
    with pytest.raises(ConfigError, match="not a derived variable"):
        derive_rowwise(pd.DataFrame({"sex": ["male"]}), ["low_everything"])


def test_zscore_matches_numpy():
    x = pd.Series([1.0, 2.0, 4.0, np.nan, 8.0], name="grip_kg")
    v = np.array([1.0, 2.0, 4.0, 8.0])
    np.testing.assert_allclose(zscore(x).dropna(), (v - v.mean()) / v.std(ddof=1))
    with pytest.raises(DataError, match="cannot z-score 'c': its SD is 0"):
        zscore(pd.Series([3.0, 3.0], name="c"))


def test_change_from_baseline_within_id():
    df = pd.DataFrame({"id": [1, 1, 1, 2, 2, 3], "wave": [2, 0, 1, 0, 1, 1],
                       "mmse": [24.0, 28.0, 27.0, np.nan, 25.0, 29.0]})
    got = change_from_baseline(df, "mmse")
    np.testing.assert_allclose(got, [-4.0, 0.0, -1.0, np.nan, np.nan, 0.0])


def test_samplewise_derivations_long_table_uses_baseline_sd():
    df = pd.DataFrame({"id": [1, 1, 2, 2], "wave": [0, 1, 0, 1], "dsst": [40.0, 30.0, 60.0, 55.0]})
    out, added = derive_samplewise(df, [{"zscore": ["dsst"]}, {"change": "dsst"}])
    assert added == ["dsst_z", "dsst_change"]
    base = np.array([40.0, 60.0])
    np.testing.assert_allclose(out["dsst_z"], (df["dsst"] - base.mean()) / base.std(ddof=1))
    np.testing.assert_allclose(out["dsst_change"], [0, -10, 0, -5])


def test_change_needs_long_table():
    with pytest.raises(ConfigError, match="needs 'id' and 'wave' columns"):
        derive_samplewise(pd.DataFrame({"dsst": [1.0, 2.0]}), [{"change": ["dsst"]}])
    with pytest.raises(ConfigError, match=r"asks for zscore of 'nope', which is not a column"):
        derive_samplewise(pd.DataFrame({"dsst": [1.0, 2.0]}), [{"zscore": ["nope"]}])


def test_every_derived_column_is_in_the_dictionary():
    from musclecog.derive import ROW_DERIVATIONS
    from musclecog.variables import load_dictionary

    dic = load_dictionary()
    for name in ROW_DERIVATIONS:
        assert name in dic, f"{name} is derived but not in resources/variables.tsv"
    assert dic["age_group"].levels == ("<60", "60-69", "70-79", "80+")
    for var in dic.values():
        if var.is_numeric and np.isfinite(var.min) and np.isfinite(var.max):
            assert var.min <= var.max, var


def test_unit_table_converts_to_dictionary_units():
    from musclecog.variables import conversion_factor, load_dictionary, load_units

    dic = load_dictionary()
    assert conversion_factor("grip_kg", "lb", dic) == pytest.approx(0.45359237)
    assert conversion_factor("alm_kg", "g", dic) == pytest.approx(0.001)
    assert conversion_factor("height_cm", "in", dic) == pytest.approx(2.54)
    assert conversion_factor("height_cm", "m", dic) == pytest.approx(100)
    assert conversion_factor("grip_kg", "kg", dic) == 1
    assert all(f > 0 for f in load_units().values())
