"""Zero-inflation coefficients diverging to -inf (glmmfast/fit/_zero_part_tail.py): the bound on what moving
them further out can gain, the coefficients the joint stage holds, and the fits that hold them (a simulated
zero part whose level has no zeros: the other estimates equal a fit with that level's zero part switched off
by an offset) or not (Salamanders' ZINB, whose zero part is finite)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast.fit import _optimize
from glmmfast.fit._zero_part_tail import (DIVERGED_ZERO_PART_ETA, WALKING_ZERO_PART_ETA, ZeroPartTail,
                                             diverging_columns)

sys.path.insert(0, str(Path(__file__).parent))
from test_zero_inflation import DIVERGING, REFERENCE, fit_case, load  # noqa: E402  (the glmmTMB reference fits)


def _tail() -> ZeroPartTail:
    # column 0 an intercept, column 1 a dummy on rows 2-5 (rows 2 and 3 zero counts), weights 2 on row 4
    X = np.array([[1, 0], [1, 0], [1, 1], [1, 1], [1, 1], [1, 1]], dtype=float)
    return ZeroPartTail(X, np.zeros(6), np.array([1, 1, 1, 1, 2, 1.0]), np.array([0, 1, 0, 0, 1, 1], dtype=bool))


def test_remaining_gain_is_twice_the_positive_rows_minus_log_one_minus_p():
    tail = _tail()
    beta = np.array([1.0, -12.0])
    p = 1 / (1 + np.exp(11.0))  # rows 2-5: eta = -11
    assert tail.remaining_gain(beta, [1]) == pytest.approx(2 * (2 + 1) * -np.log1p(-p), rel=1e-12)


def test_held_values_put_the_remaining_gain_below_the_target():
    tail = _tail()
    beta = np.array([1.0, -12.0])
    held = tail.held_values(beta, np.array([1]), 1e-12)
    assert held[0] == beta[0] and held[1] < beta[1]
    assert 0.99e-12 < tail.remaining_gain(held, [1]) <= 1e-12  # no further than the bound needs


def test_tail_columns_need_every_row_in_the_tail_and_the_gradient_pushing_out():
    tail = _tail()
    beta = np.array([1.0, DIVERGED_ZERO_PART_ETA - 2.0])  # rows 2-5 at eta = DIVERGED - 1
    assert list(tail.tail_columns(beta, np.array([0.0, 1e-6]))) == [1]
    assert list(tail.tail_columns(beta, np.array([0.0, -1e-6]))) == []  # pulled back in
    assert list(tail.tail_columns(np.array([1.0, DIVERGED_ZERO_PART_ETA]), np.array([0.0, 1e-6]))) == []  # eta = DIVERGED + 1
    # a column with a negative entry: moving it out raises that row's p
    X = np.array([[1, 0], [1, -1], [1, 1]], dtype=float)
    mixed = ZeroPartTail(X, np.zeros(3), np.ones(3), np.ones(3, dtype=bool))
    assert list(mixed.tail_columns(np.array([-20.0, -1.0]), np.array([1.0, 1.0]))) == [0]


def test_walking_columns_are_indicators_below_the_walking_bound_whose_gradient_exceeds_the_target():
    tail = _tail()
    beta = np.array([1.0, WALKING_ZERO_PART_ETA - 2.0])  # rows 2-5 at eta = WALKING - 1, rows 0-1 at 1
    assert list(tail.walking_columns(beta, np.array([1e-3, 1e-6]), 1e-9)) == [1]
    assert list(tail.walking_columns(beta, np.array([1e-3, 1e-10]), 1e-9)) == []  # gains less than the target
    assert list(tail.walking_columns(beta, np.array([1e-3, -1e-6]), 1e-9)) == []  # pulled back in
    assert list(tail.walking_columns(np.array([1.0, WALKING_ZERO_PART_ETA]), np.array([0.0, 1e-6]), 1e-9)) == []
    # a column whose entries are not all 1: along it -2 log L is a sum of exponentials at different rates
    X = np.array([[1, 0], [1, 2], [1, 1]], dtype=float)
    scaled = ZeroPartTail(X, np.zeros(3), np.ones(3), np.ones(3, dtype=bool))
    assert list(scaled.walking_columns(np.array([-20.0, -1.0]), np.array([1.0, 1.0]), 1e-9)) == [0]


def test_diverging_columns_need_a_negative_coefficient_and_every_row_below_the_bound():
    X = np.array([[1, 0], [1, 1], [1, 1]], dtype=float)
    assert list(diverging_columns(X, np.zeros(3), np.ones(3), np.array([1.0, -20.0]))) == [1]
    assert list(diverging_columns(X, np.zeros(3), np.array([1.0, 0, 0]), np.array([1.0, -20.0]))) == []  # no rows
    assert list(diverging_columns(X, np.zeros(3), np.ones(3), np.array([1.0, -10.0]))) == []


def _simulated() -> pd.DataFrame:
    # a Poisson GLMM whose level "b" has mean e^3 (no zero counts) and level "a" 30% structural zeros
    rng = np.random.default_rng(20261204)
    groups, per = 30, 20
    g = np.repeat(np.arange(groups), per)
    f = np.tile(np.array(["a", "b"]).repeat(per // 2), groups)
    x = rng.normal(size=g.size)
    eta = 0.5 + 0.4 * x + 2.5 * (f == "b") + rng.normal(scale=0.5, size=groups)[g]
    y = rng.poisson(np.exp(eta)) * ((f == "b") | (rng.uniform(size=g.size) > 0.3))
    df = pd.DataFrame({"y": y, "x": x, "f": pd.Categorical(f), "g": pd.Categorical(g)})
    df["ia"] = (df["f"] == "a").astype(float)
    df["ob"] = -40.0 * (df["f"] == "b")  # level b's zero part switched off: p = 4e-18
    assert (df.loc[df["f"] == "b", "y"] > 0).all()
    return df


def test_a_zero_part_level_without_zeros_is_held_and_the_rest_is_the_fit_without_it():
    df = _simulated()
    with pytest.warns(glmmfast.ConvergenceWarning, match="diverging to -Inf: fb"):
        fit = glmmfast.glmer("y ~ x + f + (1 | g)", df, family="poisson", ziformula="~ f")
    reference = glmmfast.glmer("y ~ x + f + (1 | g)", df, family="poisson", ziformula="~ 0 + ia + offset(ob)",
                               quiet=True)
    assert fit.fixef_zi["fb"] < -15
    assert fit.deviance <= reference.deviance + 1e-6 * abs(reference.deviance)
    np.testing.assert_allclose(fit.fixef, reference.fixef, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fit.theta, reference.theta, rtol=1e-5, atol=1e-6)
    assert fit.fixef_zi["(Intercept)"] == pytest.approx(reference.fixef_zi["ia"], rel=1e-5)
    # its standard error is not defined; the others' are the reference fit's
    zi = fit.coef_table("zi")
    assert np.isnan(zi.loc["fb", "Std. Error"]) and np.isnan(zi.loc["fb", "Pr(>|z|)"])
    assert zi.loc["(Intercept)", "Std. Error"] == pytest.approx(reference.coef_table("zi").loc["ia", "Std. Error"],
                                                                rel=1e-3)
    np.testing.assert_allclose(fit.se, reference.se, rtol=1e-3)
    full = fit.vcov_full
    assert full.loc["zi~fb"].isna().all() and full["zi~fb"].isna().all()
    assert np.isfinite(full.drop(index="zi~fb", columns="zi~fb").to_numpy()).all()
    assert not [m for m in fit.messages if "unidentifiable" in m or "failed" in m]


def test_a_finite_zero_part_is_not_held():
    # Salamanders' ZINB (spp * mined): minedno goes to -21.7 in glmmTMB, but sppEC-L:minedno lifts some of
    # its rows (34.6): no coefficient has every row in the tail, none is held.  The Hessian is flat to
    # rounding (eigenvalues ~1e-11 of 449, either sign) along directions that move sppEC-L, minedno and its
    # interactions together: their standard errors are not defined (NaN; glmmTMB reports 3e3-7e3, from its
    # own rounding), and the other six equal glmmTMB's.
    fit = fit_case("sal_zinb2")
    assert fit.deviance <= REFERENCE["sal_zinb2"]["m2loglik"] + 0.002
    assert not [m for m in fit.messages if "diverging" in m]
    se = fit.coef_table("zi")["Std. Error"]
    tmb = pd.Series(REFERENCE["sal_zinb2"]["se"]["zi"])
    flat = tmb.index[tmb > 1000]
    assert sorted(se.index[se.isna()]) == sorted(flat)
    determined = tmb.index[tmb <= 1000]
    np.testing.assert_allclose(se[determined], tmb[determined], rtol=2e-4)
    assert np.isfinite(fit.coef_table("cond")["Std. Error"]).all()


def test_bfgs_does_not_stop_with_a_coefficient_walking_out(monkeypatch):
    # Rounds of 3 BFGS iterations on Salamanders' zero-inflated generalised Poisson: BFGS's curvature along
    # minedno, from steps along which it fell by e per unit, overstated the tail's, and its predicted decrease
    # fell below the tolerance with minedno at -16.6 (rows above logit -15, not held): -2 log L 9e-6 above
    # the optimum, minedno reported with a standard error.  With the tail's curvature it walks on and is held.
    monkeypatch.setattr(_optimize, "_TAIL_ROUND", 3)
    c = REFERENCE["sal_zigenpois"]
    fit = glmmfast.glmer(c["formula"], load(c["dataset"]), family=c["family"], ziformula=c["ziformula"], quiet=True)
    assert fit.deviance <= c["m2loglik"]  # glmmTMB's, 3e-7 above ours
    zi = fit.coef_table("zi")["Std. Error"]
    assert sorted(zi.index[zi.isna()]) == sorted(DIVERGING["sal_zigenpois"])
