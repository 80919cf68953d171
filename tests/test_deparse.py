"""Tests for glmmfast.formula._deparse: R's deparse() of formulas, with its 60-character line breaking."""

from __future__ import annotations

import pytest

from glmmfast.formula._deparse import deparse, deparse_lines
from glmmfast.formula._formula import parse_expression, parse_formula_tree
from glmmfast.formula._nodes import Name


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


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x", "x"),
        ("a*b", "a * b"),
        ("a:b", "a:b"),
        ("x^2", "x^2"),
        ("x ** 2", "x^2"),
        ("I(x^2.0)", "I(x^2)"),
        ("-x^2", "-x^2"),
        ("2^-1", "2^-1"),
        ("log(x,base=2)", "log(x, base = 2)"),
        ("cbind(a,b-a)", "cbind(a, b - a)"),
        ("(a+b)/c", "(a + b)/c"),
        ("a %in% b", "a %in% b"),
        ("x>2&!z", "x > 2 & !z"),
        ("f == 'a'", 'f == "a"'),
        ("1e3 + .5 + 3L", "1000 + 0.5 + 3L"),
        ("TRUE", "TRUE"),
    ],
)
def test_deparse_roundtrip(text, expected):
    out = deparse(parse_expression(text))
    assert out == expected
    assert deparse(parse_expression(out)) == out


@pytest.mark.parametrize("name, quoted", [
    ("höhe", "höhe"), ("Ölpreis", "Ölpreis"), ("x_1.b", "x_1.b"), (".x", ".x"), ("日本", "日本"),
    ("a b", "`a b`"), ("_x", "`_x`"), (".2x", "`.2x`"), ("if", "`if`"), ("TRUE", "`TRUE`"),
    ("function", "`function`"), ("NA_real_", "`NA_real_`"), ("..1", "`..1`"), ("...", "`...`"),
])
def test_names_are_backquoted_as_r_deparses_them(name, quoted):
    # R: make.names(name) == name for the syntactic ones, in a UTF-8 locale.
    assert deparse(Name(name, 0)) == quoted
