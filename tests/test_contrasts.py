# Contrast matrices against R 4.2's contr.* (values printed by R).

import numpy as np
import pytest

from glmmfast import FormulaError
from glmmfast.formula._contrasts import contrast_matrix, default_contrast


def test_contr_poly_matches_r():
    # R: contr.poly(4)
    C, names = contrast_matrix("contr.poly", list("abcd"))
    expected = [[-0.6708203932, 0.5, -0.2236067977], [-0.2236067977, -0.5, 0.6708203932],
                [0.2236067977, -0.5, -0.6708203932], [0.6708203932, 0.5, 0.2236067977]]
    np.testing.assert_allclose(C, expected, atol=1e-9)
    assert names == [".L", ".Q", ".C"]
    assert contrast_matrix("contr.poly", list("abcdef"))[1] == [".L", ".Q", ".C", "^4", "^5"]


def test_sum_helmert_sas_treatment_match_r():
    levels = ["a", "b", "c", "d"]
    np.testing.assert_array_equal(contrast_matrix("contr.helmert", levels)[0],
                                  [[-1, -1, -1], [1, -1, -1], [0, 2, -1], [0, 0, 3]])
    np.testing.assert_array_equal(contrast_matrix("contr.sum", levels)[0],
                                  [[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1]])
    C, names = contrast_matrix("contr.SAS", levels)
    np.testing.assert_array_equal(C, np.eye(4)[:, :3])
    assert names == ["a", "b", "c"]
    assert contrast_matrix("contr.treatment", levels)[1] == ["b", "c", "d"]
    assert contrast_matrix("contr.sum", levels)[1] == ["1", "2", "3"]


def test_matrix_contrasts_and_defaults():
    C, names = contrast_matrix([[1, 0], [-1, 1], [0, -1]], ["x", "y", "z"])
    assert C.shape == (3, 2) and names == ["1", "2"]
    assert default_contrast(True) == "contr.poly" and default_contrast(False) == "contr.treatment"
    with pytest.raises(FormulaError, match="3 rows"):
        contrast_matrix(np.ones((3, 3)), ["x", "y", "z"])
    with pytest.raises(FormulaError, match="unknown contrasts"):
        contrast_matrix("contr.bogus", ["x", "y"])
