"""fit_many: one design, many responses; each row agrees with glmer on that response."""

import numpy as np
import pandas as pd
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


def test_any_covariance_structure_starts_where_glmer_does():
    # Each structure's own start (ar1: sd 1, rho 0), not an identity-matrix guess.
    rng = np.random.default_rng(2)
    g, t = np.repeat(np.arange(60), 10), np.tile(np.arange(5), 120)
    df = pd.DataFrame({"g": pd.Categorical(g), "t": pd.Categorical(t)})
    y = rng.poisson(np.exp(0.5 + rng.normal(scale=0.5, size=(60, 2))[g]))
    out = glmmfast.fit_many("~ 1 + ar1(0 + t | g)", df, y, "poisson", n_jobs=1, progress=False)
    assert list(out.term[:3]) == ["(Intercept)", "sd__ar1", "rho__ar1"] and out.attrs["n_failed"] == 0
    f = glmmfast.glmer("y ~ 1 + ar1(0 + t | g)", df.assign(y=y[:, 1]), family="poisson")
    assert out[out.response == "y1"].deviance.iloc[0] == pytest.approx(f.deviance, abs=1e-6)
