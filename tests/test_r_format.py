"""Tests for glmmfast.summary._r_format: R's format(), format.pval."""

from __future__ import annotations

import pytest

from glmmfast.summary._r_format import format_pval, r_format


@pytest.mark.parametrize("pv,digits,expected", [
    ([0.000388, 1e-20, 1e-30], 3, ["0.000388", "< 2e-16", "< 2e-16"]),
    ([1e-20, 1e-30], 3, ["<2e-16", "<2e-16"]),
    ([0.2208, 2.58e-07, 0.00918], 3, ["0.22080", "2.58e-07", "0.00918"]),
    ([1.47e-09, 0.001068, 0.000474, 0.000182], 3, ["1.47e-09", "0.001068", "0.000474", "0.000182"]),
    ([0.188, 4.97e-12, 6.68e-08], 3, ["0.188", "4.97e-12", "6.68e-08"]),
])
def test_format_pval(pv: list, digits: int, expected: list) -> None:
    assert format_pval(pv, digits) == expected


def test_r_format_common_width() -> None:
    assert r_format([612.100158, 35.0717, 654.94], 4) == ["612.10", " 35.07", "654.94"]
    assert r_format([24.7406, 5.92213, 25.5918], 4) == ["24.741", " 5.922", "25.592"]
    assert r_format([1e-10, 1.0], 4) == ["1e-10", "1e+00"]
    assert r_format([-0.0, -0.048212], 4, nsmall=3) == [" 0.00000", "-0.04821"]
