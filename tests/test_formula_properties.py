"""Property-based tests of the formula parser on generated formulas: valid
formulas parse into their parts, and any string either parses or raises
FormulaError with a position -- never another exception."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from glmmfast import FormulaError
from glmmfast.formula._formula import parse_formula

PROPS = settings(max_examples=80, deadline=None)

names = st.sampled_from(["x", "y2", "age", "f.a", "YEAR", "cHEIGHT", "b_1"])
atoms = st.one_of(names, names.map(lambda v: f"log({v})"), names.map(lambda v: f"I({v}^2)"))
fixed_terms = st.one_of(atoms, st.tuples(atoms, atoms, st.sampled_from([":", "*"])).map(lambda t: f"{t[0]}{t[2]}{t[1]}"))
groups = st.sampled_from(["g", "LOCATION", "herd", "a:b"])
bars = st.tuples(st.sampled_from(["1", "x", "0 + x", "1 + age"]), groups).map(lambda t: f"({t[0]} | {t[1]})")


@PROPS
@given(st.lists(fixed_terms, max_size=4), st.lists(bars, min_size=1, max_size=3), st.booleans())
def test_generated_formulas_parse_into_their_parts(fixed, random, intercept):
    rhs = ([] if intercept else ["0"]) + fixed + random
    parsed = parse_formula("resp ~ " + " + ".join(rhs))
    assert parsed.response == "resp"
    assert len(parsed.random) == len(random)
    assert [s.group.replace(" ", "") for s in parsed.random] == [b.split("|")[1].strip(" )").replace(" ", "")
                                                                 for b in random]
    assert "|" not in parsed.fixed
    # the parser's output is itself a formula that parses to the same parts
    again = parse_formula(f"{parsed.response} ~ {parsed.fixed} + "
                          + " + ".join(f"({s.lhs} | {s.group})" for s in parsed.random))
    assert again == parsed


@PROPS
@given(st.text(alphabet="xyg~+*:|()01 ^-/", min_size=0, max_size=20))
@example("~0(")  # an argument list cut off by the end of the formula (was an IndexError)
def test_any_string_parses_or_raises_formula_error(text):
    try:
        parse_formula(text)
    except FormulaError as e:
        assert str(e)
