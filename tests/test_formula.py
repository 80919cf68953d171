"""Tests for glmmfast.formula._formula: the lme4 formula parser and R term algebra."""

import re

import pytest

from glmmfast._errors import FormulaError
from glmmfast.formula._formula import (
    ParsedFormula,
    RandomTermSpec,
    deparse,
    expand_double_verts,
    expand_terms,
    parse_expression,
    parse_formula,
)


def R(lhs, group):
    return RandomTermSpec(lhs, group)


# --------------------------------------------------------------------------
# parse_formula: splitting and bar expansion
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "formula, response, fixed, random",
    [
        # grouseticks
        ("TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|INDEX) + (1|LOCATION)",
         "TICKS", "YEAR + cHEIGHT", (R("1", "BROOD"), R("1", "INDEX"), R("1", "LOCATION"))),
        # cbpp
        ("cbind(incidence, size - incidence) ~ period + (1 | herd)",
         "cbind(incidence, size - incidence)", "period", (R("1", "herd"),)),
        ("y ~ (1 | g)", "y", "1", (R("1", "g"),)),
        ("y ~ (1|g) + x", "y", "x", (R("1", "g"),)),
        ("y ~ x + (1 + x | g)", "y", "x", (R("1 + x", "g"),)),
        ("y ~ x + (x | g)", "y", "x", (R("x", "g"),)),
        ("y ~ 0 + x + (0+x|g)", "y", "0 + x", (R("0 + x", "g"),)),
        ("y~x-1+(1|g)", "y", "x - 1", (R("1", "g"),)),
        ("y ~ -1 + x + (1|g)", "y", "-1 + x", (R("1", "g"),)),
        ("y ~ 0 + (1|g)", "y", "0", (R("1", "g"),)),
        ("y ~ x + offset(log(n)) + (1 | a:b)", "y", "x + offset(log(n))", (R("1", "a:b"),)),
        ("y ~ I(x^2) + log(x) + (1|g)", "y", "I(x^2) + log(x)", (R("1", "g"),)),
        ("y ~ x*f + ((1|g))", "y", "x * f", (R("1", "g"),)),
        ("~ x + (1 | g)", None, "x", (R("1", "g"),)),
        ("y ~ x", "y", "x", ()),
        ("y ~ YEAR", "y", "YEAR", ()),
        ("log(y) ~ x + (1|g)", "log(y)", "x", (R("1", "g"),)),
        ("y ~ (1|g) + (1|h) + (0 + x|g)", "y", "1",
         (R("1", "g"), R("1", "h"), R("0 + x", "g"))),
        # R's "**" is "^".
        ("y ~ I(x**2) + (1|g)", "y", "I(x^2)", (R("1", "g"),)),
        # Whitespace and newlines are irrelevant.
        ("y~x+\n  (1|\tg)", "y", "x", (R("1", "g"),)),
        # Back-quoted names survive.
        ("y ~ `my x` + (1 | `my g`)", "y", "`my x`", (R("1", "`my g`"),)),
    ],
)
def test_parse_formula_split(formula, response, fixed, random):
    assert parse_formula(formula) == ParsedFormula(response, fixed, random)


@pytest.mark.parametrize(
    "formula, random",
    [
        ("y ~ (x || g)", (R("1", "g"), R("0 + x", "g"))),
        ("y ~ (x + z || g)", (R("1", "g"), R("0 + x", "g"), R("0 + z", "g"))),
        ("y ~ (1 + x || g)", (R("1", "g"), R("0 + x", "g"))),
        ("y ~ (0 + x || g)", (R("0 + x", "g"),)),
        ("y ~ (-1 + x + z || g)", (R("0 + x", "g"), R("0 + z", "g"))),
        ("y ~ (1 || g)", (R("1", "g"),)),
        ("y ~ (x * z || g)",
         (R("1", "g"), R("0 + x", "g"), R("0 + z", "g"), R("0 + x:z", "g"))),
        ("y ~ (log(x) || g)", (R("1", "g"), R("0 + log(x)", "g"))),
    ],
)
def test_double_bar_expansion(formula, random):
    assert parse_formula(formula).random == random


@pytest.mark.parametrize(
    "formula, random",
    [
        # lme4 findbars: (1|batch/cask) -> (1|cask:batch), (1|batch)
        ("y ~ (1 | a/b)", (R("1", "b:a"), R("1", "a"))),
        ("y ~ (1 | a/b/c)", (R("1", "c:b:a"), R("1", "b:a"), R("1", "a"))),
        ("y ~ (x | a/b)", (R("x", "b:a"), R("x", "a"))),
        ("y ~ (1 | (a/b))", (R("1", "b:a"), R("1", "a"))),
        # || is expanded first, then each bar's slash.
        ("y ~ (x || a/b)",
         (R("1", "b:a"), R("1", "a"), R("0 + x", "b:a"), R("0 + x", "a"))),
        ("y ~ (1 | a:b)", (R("1", "a:b"),)),
        ("y ~ (1 | b:a)", (R("1", "b:a"),)),
    ],
)
def test_nested_grouping_expansion(formula, random):
    assert parse_formula(formula).random == random


def test_result_is_frozen():
    p = parse_formula("y ~ x + (1|g)")
    with pytest.raises(Exception):
        p.fixed = "z"  # type: ignore[misc]
    with pytest.raises(Exception):
        p.random[0].group = "h"  # type: ignore[misc]


# --------------------------------------------------------------------------
# parse_formula: errors
# --------------------------------------------------------------------------


def _raises(formula, *fragments):
    with pytest.raises(FormulaError) as info:
        parse_formula(formula)
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def test_unbalanced_open_paren_reports_position():
    msg = _raises("y ~ x + (1 | g", "unbalanced parenthesis at position 14 in 'y ~ x + (1 | g'")
    assert "position 8" in msg  # the '(' that is never closed


def test_unbalanced_close_paren():
    _raises("y ~ x) + (1|g)", "unbalanced parenthesis at position 5")


def test_unbalanced_inside_call():
    _raises("y ~ log(x + (1|g)", "unbalanced parenthesis", "position 17")


def test_empty_formula():
    _raises("", "empty formula")
    _raises("   ", "empty formula")


def test_no_tilde():
    _raises("y + x", "no '~'")


def test_missing_rhs():
    _raises("y ~ ", "right-hand side")


def test_two_tildes():
    _raises("y ~ x ~ z", "more than one '~'", "position 6")


def test_bar_without_left_side():
    _raises("y ~ x + (| g)", "no left side", "position 9")
    _raises("y ~ x + (|| g)", "no left side", "position 9")


def test_empty_grouping_factor():
    _raises("y ~ x + (1 | )", "empty grouping factor", "position 13")
    _raises("y ~ (x ||)", "empty grouping factor", "position 9")


def test_bar_inside_function_is_not_top_level():
    _raises("y ~ I(a | b)", "not at the top level", "position 8")
    _raises("y ~ x + log((1 | g))", "not at the top level", "position 15")


def test_unparenthesised_bar():
    _raises("y ~ x + 1 | g", "parentheses", "position 10")


def test_subtracted_bar():
    _raises("y ~ x - (1 | g)", "cannot be subtracted", "position 11")


def test_bar_inside_bar():
    _raises("y ~ (1 | g | h)", "inside a random-effects term", "position 7")


def test_bar_in_response():
    _raises("(a | b) ~ x", "response", "position 3")


def test_unparseable_slash_grouping():
    _raises("y ~ (1 | a:(b/c))", "grouping factor", "position 13")


def test_bad_characters_and_strings():
    _raises("y ~ x + #", "unexpected character", "position 8")
    _raises("y ~ x + 'abc", "unterminated string", "position 8")
    _raises("y ~ x + `abc", "unterminated back-quoted name", "position 8")


def test_non_string_formula():
    with pytest.raises(FormulaError):
        parse_formula(None)  # type: ignore[arg-type]


def test_error_is_value_error():
    with pytest.raises(ValueError):
        parse_formula("y ~ (1 | g")


# --------------------------------------------------------------------------
# Expression parser (its deparser: test_deparse.py)
# --------------------------------------------------------------------------


def test_precedence():
    # "|" binds looser than "+": (x + z | g) is (x + z) | g.
    node = parse_expression("x + z | g")
    assert node.op == "|" and deparse(node.left) == "x + z"
    # Unary minus binds tighter than ":" but looser than "^".
    assert parse_expression("-a:b").op == ":"
    assert parse_expression("-a^b").op == "-"
    # "^" is right associative.
    assert deparse(parse_expression("a^b^c").right) == "b^c"


# --------------------------------------------------------------------------
# Term algebra (R's terms.formula)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rhs, labels, intercept",
    [
        ("x", ["x"], True),
        ("0 + x", ["x"], False),
        ("x - 1", ["x"], False),
        ("-1 + x", ["x"], False),
        ("1", [], True),
        ("0", [], False),
        ("a*b", ["a", "b", "a:b"], True),
        ("a:b + a", ["a", "a:b"], True),
        ("b:a + a", ["a", "b:a"], True),  # label keeps first-appearance order
        ("a*b*c", ["a", "b", "c", "a:b", "a:c", "b:c", "a:b:c"], True),
        ("(a+b+c)^2", ["a", "b", "c", "a:b", "a:c", "b:c"], True),
        ("a*b - a", ["b", "a:b"], True),
        ("a/b", ["a", "a:b"], True),
        ("(a+b)/c", ["a", "b", "a:b:c"], True),
        ("x + x", ["x"], True),
        ("a:b + b:a", ["a:b"], True),
        ("x^2", ["x"], True),
        ("I(x^2) + log(x)", ["I(x^2)", "log(x)"], True),
        ("x + offset(log(n))", ["x"], True),
        ("(a + b):(c + d)", ["a:c", "a:d", "b:c", "b:d"], True),
    ],
)
def test_expand_terms(rhs, labels, intercept):
    t = expand_terms(parse_expression(rhs))
    assert t.term_labels() == labels
    assert t.intercept is intercept


def test_expand_terms_offsets():
    t = expand_terms(parse_expression("x + offset(log(n)) + offset(z)"))
    assert [deparse(o) for o in t.offsets] == ["log(n)", "z"]


@pytest.mark.parametrize("rhs, fragment", [
    ("x + 2", "invalid model term"),
    ("x + .", "'.'"),
    ("(a+b)^z", "whole number"),
    ("x + (1|g)", "not allowed"),
])
def test_expand_terms_errors(rhs, fragment):
    with pytest.raises(FormulaError, match=re.escape(fragment)):
        expand_terms(parse_expression(rhs))


@pytest.mark.parametrize("formula, expected", [
    # as lme4 1.1-31 prints them in summary(lmer(...))
    ("Reaction ~ Days + (Days || Subject)", "Reaction ~ Days + ((1 | Subject) + (0 + Days | Subject))"),
    ("Reaction ~ Days + (0 + Days || Subject)", "Reaction ~ Days + ((0 + Days | Subject))"),
    ("y ~ x + (1 + x + z || g) + (1 | h)", "y ~ x + ((1 | g) + (0 + x | g) + (0 + z | g)) + (1 | h)"),
    ("y ~ x + (1|g)", "y ~ x + (1|g)"),
])
def test_expand_double_verts_as_lme4_prints(formula, expected):
    assert expand_double_verts(formula) == expected


@pytest.mark.parametrize("formula", [
    "y ~ " + "(" * 5000 + "x" + ")" * 5000,
    "y ~ " + "I(" * 3000 + "x" + ")" * 3000,
    "y ~ " + "-" * 3000 + "x",
    "y ~ x" + "^x" * 3000,
    "y ~ " + "log(" * 400 + "x" + ")" * 400 + " + (1 | g)",
], ids=["parentheses", "I", "unary minus", "power", "log"])
def test_formulas_nested_past_the_recursion_limit_are_formula_errors(formula):
    with pytest.raises(FormulaError, match=r"formula nested too deeply \(R: contextstack overflow\)"):
        parse_formula(formula)


def test_moderate_nesting_still_parses():
    # R's own limit is 50 levels of brackets.
    assert parse_formula("y ~ " + "I(" * 50 + "x" + ")" * 50).fixed == "I(" * 50 + "x" + ")" * 50


def test_response_term_on_the_right_is_dropped():
    p = parse_formula("y ~ y + x*z + offset(w) - 1 + (1 | g)")
    assert p.response_dropped and p.fixed == "0 + x + z + x:z + offset(w)"
    assert expand_terms(parse_expression(p.fixed)).term_labels() == ["x", "z", "x:z"]
    assert not parse_formula("y ~ x + (1 | g)").response_dropped
    # A response that is an expression: only that expression counts.
    p = parse_formula("cbind(s, n - s) ~ n + cbind(s, n - s)")
    assert p.response_dropped and p.fixed == "n"


def test_dot_is_the_data_columns_not_in_the_response():
    p = parse_formula("y ~ . - g + (1 | g)", data_columns=["y", "x", "g", "my var"])
    assert p.fixed == "(x + g + `my var`) - g"
    assert [(b.lhs, b.group) for b in p.random] == [("1", "g")]
    assert parse_formula("log(y) ~ .", data_columns=["y", "x"]).fixed == "(x)"
    with pytest.raises(FormulaError, match="'.'"):
        expand_terms(parse_expression(parse_formula("y ~ .").fixed))  # no data: still refused


def test_whole_right_side_bar_without_parentheses_as_lme4():
    p = parse_formula("Yield ~ 1 | Batch")
    assert p.fixed == "1" and [(b.lhs, b.group) for b in p.random] == [("1", "Batch")]
    assert [(b.lhs, b.group) for b in parse_formula("y ~ x | g").random] == [("x", "g")]
    _raises("y ~ x + 1 | g", "parentheses", "whole", "left side")  # lme4: ((x + 1) | g), no fixed x


def test_parts_are_syntax_trees_and_text_is_their_deparse():
    from glmmfast.formula._formula import grouping_parts, parse_formula_tree
    from glmmfast.formula._nodes import BinOp, Name
    tree = parse_formula_tree("y ~ x + (1 | a/b)")
    p = parse_formula(tree)  # a tree is taken as it is
    assert p.formula is tree and p.response_expr == Name("y") and p.fixed_expr == Name("x")
    assert p.random[0].group_expr == BinOp(":", Name("b"), Name("a")) and p.random[0].group == "b:a"
    assert grouping_parts(p.random[0].group_expr) == [Name("b"), Name("a")]
    assert p == parse_formula("y~x+(1|a/b)")  # source positions are not compared
    assert expand_double_verts(parse_formula_tree("y ~ (x || g)")) == parse_formula_tree(
        "y ~ ((1 | g) + (0 + x | g))")
