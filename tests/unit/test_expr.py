"""The derivation language (musclecog.expr): values against pandas/hand computations, refused constructs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musclecog.derive import derive_after_keep_if, derive_before_keep_if
from musclecog.errors import ConfigError


def long_table() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 1, 2, 2, 3, 3], "wave": [0, 1, 0, 1, 0, 1],
        "birthyr": [1950.0, 1950.0, 1940.0, np.nan, 1960.0, 1960.0],
        "year": [2011, 2013, 2011, 2013, 2011, 2013],
        "gl": [30.0, np.nan, 20.0, 25.0, np.nan, 18.0], "gr": [np.nan, np.nan, 22.0, 24.0, 35.0, 17.0],
        "sex": ["male", "male", "female", "female", "male", "male"],
    })


def one(expr: str, df: pd.DataFrame | None = None) -> pd.Series:
    df = long_table() if df is None else df
    done = derive_before_keep_if(df, [{"name": "out", "expr": expr, "when": "before_keep_if"}])
    return done.data["out"]


def test_arithmetic_baseline_time_since_lag_change():
    assert one("2011 - birthyr").tolist()[:3] == [61.0, 61.0, 71.0]
    assert one("baseline(2011 - birthyr)").tolist() == [61.0, 61.0, 71.0, 71.0, 51.0, 51.0]
    assert one("time_since(year, 2011)").tolist() == [0, 2, 0, 2, 0, 2]
    assert one("time_since(year)").tolist() == [0, 2, 0, 2, 0, 2]
    lag = one("lag(gr)")
    assert lag.isna().tolist() == [True, True, True, False, True, False] and lag[3] == 22.0 and lag[5] == 35.0
    np.testing.assert_allclose(one("change(gr)").to_numpy(float), [np.nan, np.nan, 0.0, 2.0, 0.0, -18.0])
    np.testing.assert_allclose(one("baseline(gr, wave=1)").to_numpy(float), [np.nan, np.nan, 24, 24, 17, 17])


def test_max_min_present_and_flow_counts():
    done = derive_before_keep_if(long_table(), [{"name": "g", "expr": "max(gl, gr, min_present=1)"},
                                                {"name": "g2", "expr": "max(gl, gr)"}])
    np.testing.assert_allclose(done.data["g"].to_numpy(float), [30, np.nan, 22, 25, 35, 18])
    np.testing.assert_allclose(done.data["g2"].to_numpy(float), [np.nan, np.nan, 22, 25, np.nan, 18])
    assert "missing in 1 rows (1 where an input was missing, 0 newly missing" in done.flow[0]["reason"]
    assert "missing in 3 rows (3 where an input" in done.flow[1]["reason"]
    logged = derive_before_keep_if(long_table(), [{"name": "l", "expr": "log(gr - 22)"}])
    assert "missing in 4 rows (2 where an input was missing, 2 newly missing" in logged.flow[0]["reason"]


def test_row_functions_match_numpy():
    df = long_table()
    np.testing.assert_allclose(one("sqrt(gr)").to_numpy(float), np.sqrt(df["gr"]))
    np.testing.assert_allclose(one("exp(gr / 10)").to_numpy(float), np.exp(df["gr"] / 10))
    np.testing.assert_allclose(one("abs(gl - 25)").to_numpy(float), (df["gl"] - 25).abs())
    np.testing.assert_allclose(one("round(gr / 3, 1)").to_numpy(float), np.round(df["gr"] / 3, 1))
    np.testing.assert_allclose(one("clip(gr, 20, 30)").to_numpy(float), df["gr"].clip(20, 30))
    assert one("where(sex == 'male', 1, 0)").tolist() == [1, 1, 0, 0, 1, 1]
    assert one("gr > 20 and sex == 'female'").astype(float).tolist()[2:4] == [1.0, 1.0]
    # three-valued as R: TRUE | NA is TRUE, NA | NA is NA (row 2 has neither hand)
    assert one("not (gl > 100) or gr > 0").isna().tolist() == [False, True, False, False, False, False]


def test_cut_and_quantile_group_as_r():
    bands = one("cut(2011 - birthyr, [40, 60, 70, inf], ['40-59', '60-69', '70+'])")
    assert bands.astype(object).tolist()[:3] == ["60-69", "60-69", "70+"] and pd.isna(bands[3])
    x = pd.DataFrame({"x": np.arange(1.0, 13.0), "sex": ["male", "female"] * 6})
    done = derive_after_keep_if(x, [{"name": "t", "expr": "quantile_group(x, 3, by=sex)"}])
    for sex, g in x.groupby("sex"):  # R: cut(x, quantile(x, 0:3/3), include.lowest = TRUE, labels = FALSE)
        br = np.quantile(g["x"], [0, 1 / 3, 2 / 3, 1])
        want = pd.cut(g["x"], br, include_lowest=True, labels=False) + 1
        assert done.data.loc[g.index, "t"].tolist() == want.tolist(), sex
    z = derive_after_keep_if(x, [{"name": "z", "expr": "zscore(x, by=sex)"}]).data["z"]
    want = x.groupby("sex")["x"].transform(lambda s: (s - s.mean()) / s.std(ddof=1))
    np.testing.assert_allclose(z.to_numpy(float), want.to_numpy(float), rtol=1e-12)


@pytest.mark.parametrize(("expr", "message"), [
    ("gl.__class__", "attribute access ('.') is not allowed"),
    ("__import__('os')", "unknown function '__import__'"),
    ("__class__", "dunder names"),
    ("(lambda: 1)()", "calling the result of an expression is not allowed"),
    ("lambda: 1", "lambda is not allowed"),
    ("[g for g in gl]", "a comprehension is not allowed"),
    ("gl[0]", "subscripts"),
    ("open(gl)", "unknown function 'open'"),
    ("gll + 1", "unknown column 'gll' (did you mean 'gl'?)"),
    ("2011 -", "not a valid expression"),
    ("sex + 1", "'+' needs numbers, but 'sex' is text"),
])
def test_refused_constructs(expr, message):
    with pytest.raises(ConfigError) as err:
        one(expr)
    text = str(err.value)
    assert message in text
    assert repr(expr) in text and "derive[0].expr" in text


def test_position_and_allowed_names_in_message():
    with pytest.raises(ConfigError, match=r"at column 8") as err:
        one("2011 - foo(birthyr)")
    assert "allowed: abs, exp, log" in str(err.value)
