"""fit_many: one design, many responses; each row agrees with glmer on that response."""

import numpy as np
import pytest

import glmmfast
from conftest import grouseticks_fit


@pytest.fixture(scope="module")
def wide(grouseticks):
    y = grouseticks_fit().simulate(3, seed=9)
    return grouseticks.assign(**{f"g{i}": y[:, i] for i in range(3)})


def test_matches_glmer_per_response(wide):
    tab = glmmfast.fit_many("~ YEAR + (1 | LOCATION)", wide, ["g0", "g1", "g2"], "poisson", n_jobs=2)
    assert list(tab["response"].unique()) == ["g0", "g1", "g2"]
    assert tab["converged"].all()
    for r in ("g0", "g1", "g2"):
        f = glmmfast.glmer(f"{r} ~ YEAR + (1 | LOCATION)", wide, family="poisson")
        rows = tab[tab.response == r]
        fixed = rows[rows.effect == "fixed"].set_index("term")
        np.testing.assert_allclose(fixed.loc[f.fixef.index, "estimate"], f.fixef, atol=2e-5)
        np.testing.assert_allclose(fixed.loc[f.fixef.index, "std_error"], f.se, rtol=1e-3)
        ran = rows[rows.effect == "ran_pars"]
        assert list(ran.term) == ["sd__(Intercept)"] and list(ran.group) == ["LOCATION"]
        assert ran.estimate.iloc[0] == pytest.approx(f.theta[0], abs=2e-5)
        assert rows.deviance.iloc[0] == pytest.approx(f.deviance, abs=1e-6)


def test_bad_columns(wide):
    with pytest.raises(glmmfast.DataError, match="unknown response"):
        glmmfast.fit_many("~ YEAR + (1 | LOCATION)", wide, ["nope"], "poisson")
    with pytest.raises(glmmfast.DataError, match="numeric"):
        glmmfast.fit_many("~ YEAR + (1 | LOCATION)", wide, ["g0", "BROOD"], "poisson")
