"""Tests for glmmfast.formula._deparse: R's deparse() of formulas, with its 60-character line breaking."""

from __future__ import annotations

from glmmfast.formula._deparse import deparse_lines
from glmmfast.formula._formula import parse_formula_tree


def _deparse(text: str) -> list[str]:
    return deparse_lines(parse_formula_tree(text))


def test_deparse_long_formula() -> None:
    f = ("y ~ x1 + x2 + f + longvariablename_alpha + longvariablename_beta + x1:x2 + "
         "(1 + x1 | g) + (1 | h)")
    assert _deparse(f) == [
        "y ~ x1 + x2 + f + longvariablename_alpha + longvariablename_beta + ",
        "    x1:x2 + (1 + x1 | g) + (1 | h)"]
    # spacing is normalised like R's deparse
    assert _deparse("y~x+(1|g)") == ["y ~ x + (1 | g)"]
    assert _deparse("cbind(incidence, size-incidence) ~ period + (1|herd)") == [
        "cbind(incidence, size - incidence) ~ period + (1 | herd)"]



def test_deparse_lines_breaks_a_call_after_a_comma() -> None:
    f = "y ~ poly(longvariablename_alpha, degree = 2) + ns(longvariablename_beta, df = 3) + x"
    # deparse2buff's args2buff: the line is past 60 characters after "ns(longvariablename_beta, "
    assert _deparse(f) == ["y ~ poly(longvariablename_alpha, degree = 2) + ns(longvariablename_beta, ",
                           "    df = 3) + x"]
    assert deparse_lines(parse_formula_tree(f), cutoff=1000) == [f]
