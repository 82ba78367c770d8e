"""Restricted cubic spline knots and basis against R's rms/Hmisc.

R (rms 6.x)::

    library(rms); x <- round(sin(1:150)*10 + (1:150)/10, 3)
    rcspline.eval(x, nk=3|5|7, knots.only=TRUE); rcspline.eval(x[1:60], nk=4, knots.only=TRUE)
    b <- rcs(x, 4); attr(b, "parms"); b[c(1, 50, 150), ]
"""

from __future__ import annotations

import numpy as np
import pytest

from musclecog.core.design import rcs_basis, rcs_knots
from musclecog.errors import DataError

X = np.round(np.sin(np.arange(1, 151)) * 10 + np.arange(1, 151) / 10, 3)

R_KNOTS = {
    3: [-3.7642, 7.776, 19.078],
    4: [-5.9586, 3.75405, 11.27945, 20.82905],
    5: [-5.9586, 2.107725, 7.776, 13.26195, 20.82905],
    7: [-6.9592, -0.73545, 3.60705833333333, 7.776, 11.3397916666667, 15.73105, 22.135025],
}


@pytest.mark.parametrize("nk", sorted(R_KNOTS))
def test_knots_match_rms(nk: int) -> None:
    np.testing.assert_allclose(rcs_knots(X, nk), R_KNOTS[nk], rtol=0, atol=1e-10)


def test_small_n_outer_knots_are_fifth_values() -> None:
    np.testing.assert_allclose(rcs_knots(X[:60], 4), [-6.88, -0.8373, 8.1822, 13.299], rtol=0, atol=1e-10)


def test_basis_matches_rms_rcs() -> None:
    basis = rcs_basis(X, np.array(R_KNOTS[4]))[[0, 49, 149]]
    expected = np.array(
        [
            [8.515, 4.22532837669142, 0.150387461844688],
            [2.376, 0.806835601665225, 0.0],
            [7.851, 3.67006761876499, 0.0958324871198217],
        ]
    )
    np.testing.assert_allclose(basis, expected, rtol=0, atol=1e-10)


def test_too_few_distinct_values_is_a_data_error() -> None:
    with pytest.raises(DataError, match="distinct exposure values"):
        rcs_knots(np.tile([1.0, 2.0, 3.0, 4.0, 5.0], 30), 4, where="grip")


def test_coding_with_knots_encodes_the_basis() -> None:
    import pandas as pd

    from musclecog.core.design import Coding

    coding = Coding("x", ("x", "x'"), knots=tuple(R_KNOTS[3]))
    block = coding.encode(pd.Series(X), where="test")
    np.testing.assert_allclose(block, rcs_basis(X, np.array(R_KNOTS[3])), rtol=0, atol=0)
    assert Coding("x", ("x",)).encode(pd.Series(X)).shape == (150, 1)
