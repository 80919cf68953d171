"""Tests for glmmfast.summary._r_print: R's abbreviate()."""

from __future__ import annotations

import pytest

from glmmfast.summary._r_print import abbreviate


@pytest.mark.parametrize("names,minlength,expected", [
    (["(Intercept)", "YEAR96", "YEAR97"], 6, ["(Intr)", "YEAR96", "YEAR97"]),
    (["(Intercept)", "period2", "period3", "period4"], 6, ["(Intr)", "perid2", "perid3", "perid4"]),
    (["cHEIGHT", "service1"], 6, ["cHEIGH", "servc1"]),
    (["longvariablename_alpha", "longvariablename_beta"], 11, ["lngvrblnm_l", "lngvrblnm_b"]),
])
def test_abbreviate(names: list, minlength: int, expected: list) -> None:
    assert abbreviate(names, minlength) == expected
