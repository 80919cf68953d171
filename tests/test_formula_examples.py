# Regression test: models from lme4's, mlmRev's, nlme's and glmmTMB's help
# pages and tests (tests/data/formula_reference.R -> formula_reference.json,
# "examples").  glmmfast must reach the optimum of lme4 (tight tolerances)
# or glmmTMB, whichever is lower, to 0.002, or go below it.

import pytest

from conftest import fit_formula_case, formula_reference

EXAMPLES = formula_reference()["examples"]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_reaches_the_optimum(name):
    case = EXAMPLES[name]
    _, crit = fit_formula_case(case)
    best = min(v for v in (case["lme4"], case["lme4_tight"], case.get("glmmTMB")) if v is not None)
    assert crit <= best + 0.002, f"{name}: {crit} is {crit - best:.4g} above the best reference {best}"
