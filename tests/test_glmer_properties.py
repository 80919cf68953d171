"""Properties of glmer fits: concurrent fits from threads equal serial fits;
fits are invariant to row order and to relabelling factor levels; and
simulate-then-fit recovers known parameters within sampling error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import glmmfast

# derandomize: the same examples on every run, so CI is reproducible.
PROPS = settings(max_examples=5, deadline=None, derandomize=True)


def _simulate(seed, beta0=0.5, beta1=0.3, sd=0.7, groups=20, per=8, family="poisson"):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per)
    x = rng.normal(size=g.size)
    eta = beta0 + beta1 * x + rng.normal(0, sd, groups)[g]
    y = rng.poisson(np.exp(eta)) if family == "poisson" else rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return pd.DataFrame({"y": y, "x": x, "g": [f"G{i:02d}" for i in g]})


def _summary(fit):
    return np.concatenate([[fit.deviance], fit.theta, fit.fixef.to_numpy(), fit.se.to_numpy()])


def test_concurrent_fits_equal_serial_fits():
    jobs = [(_simulate(s, family=fam), fam) for s in range(3) for fam in ("poisson", "binomial")]
    serial = [_summary(glmmfast.glmer("y ~ x + (1 | g)", df, family=fam)) for df, fam in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda j: _summary(glmmfast.glmer("y ~ x + (1 | g)", j[0], family=j[1])), jobs * 2))
    for a, b in zip(serial * 2, threaded):
        np.testing.assert_array_equal(a, b)


@PROPS
@given(st.integers(0, 2**31 - 1))
def test_invariant_to_row_order_and_level_labels(seed):
    df = _simulate(seed % 7)
    ref = glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson")
    rng = np.random.default_rng(seed)
    shuffled = df.iloc[rng.permutation(len(df))]
    labels = {lv: f"L{k}" for k, lv in enumerate(rng.permutation(df["g"].unique()))}
    relabelled = shuffled.assign(g=shuffled["g"].map(labels))
    fit = glmmfast.glmer("y ~ x + (1 | g)", relabelled, family="poisson")
    np.testing.assert_allclose(fit.deviance, ref.deviance, rtol=1e-9)
    np.testing.assert_allclose(fit.theta, ref.theta, atol=1e-4)
    np.testing.assert_allclose(fit.fixef.to_numpy(), ref.fixef.to_numpy(), atol=1e-4)
    # the same group gets the same conditional mode under its new name
    b_ref = ref.ranef()["g"].iloc[:, 0]
    b_new = fit.ranef()["g"].iloc[:, 0]
    np.testing.assert_allclose(b_new.loc[[labels[k] for k in b_ref.index]].to_numpy(), b_ref.to_numpy(), atol=1e-3)
    # fitted values follow their rows
    np.testing.assert_allclose(pd.Series(fit.fitted(), index=fit.rows).loc[df.index].to_numpy(),
                               pd.Series(ref.fitted(), index=ref.rows).to_numpy(), rtol=1e-4)


@PROPS
@given(st.floats(-0.5, 1.5), st.floats(-0.8, 0.8), st.floats(0.3, 1.0), st.integers(0, 10**6))
def test_simulate_then_fit_recovers_parameters(beta0, beta1, sd, seed):
    groups = 60
    df = _simulate(seed, beta0, beta1, sd, groups=groups, per=10)
    fit = glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson")
    z = (fit.fixef.to_numpy() - [beta0, beta1]) / fit.se.to_numpy()
    assert np.all(np.abs(z) < 4.5), z
    # sd-hat's standard error: a group's log-mean is measured with variance v ~ 1 / (per mu)
    # (Poisson, mu = E exp(eta) at x = 0), so Var(sd^2-hat) ~ 2 (sd^2 + v)^2 / (groups - 1)
    # and SE(sd-hat) ~ (sd^2 + v) / (sd sqrt(2 (groups - 1))) by the delta method; with
    # v = 0 this is the well-measured sd / sqrt(2 (groups - 1)).
    v = 1 / (10 * np.exp(beta0 + sd**2 / 2))
    se_sd = (sd**2 + v) / (sd * np.sqrt(2 * (groups - 1)))
    assert abs(fit.theta[0] - sd) < 4.5 * se_sd + 0.05
