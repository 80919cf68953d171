"""The exact Laplace gradient beyond the canonical links (laplace_gradient.cpp,
observation_gradient.cpp): every family x link, zero inflation and hurdles,
the zero-inflation and dispersion-model coefficients and the log family parameter as coordinates,
beta in the coordinates and beta profiled, against central differences of
the engine's own objective (the third eta-derivatives of each family's log
density are checked in test_distributions.py; the mixture's enter here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glmmfast import _core
from glmmfast.design._design import model_design_for
from glmmfast import families as F
from glmmfast.families import Binomial, get_family
from glmmfast.fit._engine import engine_model
from test_laplace_gradient import check_objective_gradient


def _data(kind: str, seed: int = 7, ngroups: int = 12, per: int = 15) -> pd.DataFrame:
    """Simulated data with a grouping factor g and a covariate x for a response of ``kind``."""
    rng = np.random.default_rng(seed)
    n = ngroups * per
    g = np.repeat(np.arange(ngroups), per)
    x = rng.normal(size=n)
    b = rng.normal(0, 0.4, ngroups)[g]
    mu = np.exp(0.6 + 0.3 * x + b)
    if kind == "count":
        y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
        y[rng.uniform(size=n) < 0.2] = 0  # extra zeros
    elif kind == "positive_count":
        y = np.maximum(rng.poisson(mu), 1)
    elif kind == "positive":
        y = rng.gamma(3.0, mu / 3.0)
    elif kind == "zero_or_positive":
        y = rng.gamma(3.0, mu / 3.0) * (rng.uniform(size=n) > 0.25)
    elif kind == "rare_binary":  # probabilities well inside (0, 1) for the log link
        y = (rng.uniform(size=n) < np.minimum(0.2 * np.exp(0.2 * x + 0.5 * b), 0.9)).astype(float)
    else:  # binary
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.2 + 0.8 * x + b)))).astype(float)
    return pd.DataFrame({"y": y, "x": x, "z": rng.normal(size=n), "g": pd.Categorical(g)})


# (family, link, data kind, engine parameter name or None, its value, beta)
CASES = [
    ("binomial", "probit", "binary", None, None, [0.1, 0.5]),
    ("binomial", "cloglog", "binary", None, None, [-0.3, 0.6]),
    ("binomial", "cauchit", "binary", None, None, [0.1, 0.9]),
    ("binomial", "log", "rare_binary", None, None, [-1.6, 0.2]),
    ("poisson", "sqrt", "count", None, None, [1.3, 0.2]),
    ("poisson", "identity", "count", None, None, [2.5, 0.3]),
    ("Gamma", "log", "positive", "dispersion", 0.4, [0.6, 0.3]),
    ("Gamma", "inverse", "positive", "dispersion", 0.4, [0.5, -0.1]),
    ("Gamma", "identity", "positive", "dispersion", 0.4, [2.0, 0.4]),
    ("inverse.gaussian", "1/mu^2", "positive", "dispersion", 0.2, [0.3, -0.05]),
    ("inverse.gaussian", "log", "positive", "dispersion", 0.2, [0.6, 0.3]),
    ("gaussian", "log", "positive", "dispersion", 1.5, [0.6, 0.3]),
    ("tweedie", "log", "zero_or_positive", "dispersion", 0.8, [0.6, 0.3]),  # off the exponential-dispersion path
    ("negative_binomial", "log", "count", "nb_theta", 1.7, [0.5, 0.3]),
    ("negative_binomial", "sqrt", "count", "nb_theta", 1.7, [1.3, 0.2]),
    ("nbinom1", "log", "count", "shape:phi", 1.3, [0.5, 0.3]),
    ("nbinom1", "identity", "count", "shape:phi", 1.3, [2.0, 0.3]),
    ("truncated_poisson", "log", "positive_count", None, None, [0.5, 0.3]),
    ("truncated_nbinom2", "log", "positive_count", "shape:theta", 2.5, [0.4, 0.3]),
]


def _model(family: str, link: str, kind: str, parameter, value, zi: bool = False, formula="y ~ x + (1 | g)"):
    df = _data(kind)
    if family == "negative_binomial":
        fam = F.NegativeBinomial(theta=value, link=link)
    elif family == "truncated_nbinom2":
        fam = F.TruncatedNBinom2(theta=value, link=link)
    else:
        fam = get_family(family, link=link)
    design = model_design_for(formula, df, fam, random=True, zero_inflated=zi)
    model = engine_model(design, "sparse")
    if parameter == "dispersion":
        model.set_dispersion(value)
    elif parameter == "nb_theta":
        model.set_nb_theta(value)
    elif parameter is not None:
        model.set_shape(parameter.split(":")[1], value)
    if zi:
        Xzi = np.column_stack([np.ones(len(df)), df["z"].to_numpy()])
        model.set_zero_inflation(Xzi, np.zeros(len(df)))
    return model, design


def _point(model, beta, parameter, value, zi: bool, stage: str) -> np.ndarray:
    parts = [np.full(len(model.lower_bounds()), 0.6)]
    if stage == "joint":
        parts.append(np.asarray(beta, dtype=float))
    if zi:
        parts.append(np.array([-1.0, 0.3]))
    if parameter is not None:
        parts.append([np.log(value)])
    return np.concatenate(parts)


@pytest.mark.parametrize("stage", ["joint", "profiled_beta"])
@pytest.mark.parametrize("family,link,kind,parameter,value,beta", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_gradient_matches_finite_differences(family, link, kind, parameter, value, beta, stage):
    model, _ = _model(family, link, kind, parameter, value)
    x = _point(model, beta, parameter, value, False, stage)
    check_objective_gradient(model, stage, parameter, x, np.asarray(beta, dtype=float))


ZI_CASES = [
    ("poisson", "log", "count", None, None, [0.6, 0.3]),
    ("negative_binomial", "log", "count", "nb_theta", 1.7, [0.6, 0.3]),
    ("nbinom1", "log", "count", "shape:phi", 1.3, [0.6, 0.3]),
    ("truncated_poisson", "log", "count", None, None, [0.6, 0.3]),  # hurdle
    ("truncated_nbinom2", "log", "count", "shape:theta", 2.5, [0.6, 0.3]),  # hurdle
    ("Gamma", "log", "zero_or_positive", "dispersion", 0.4, [0.6, 0.3]),  # ziGamma
]


@pytest.mark.parametrize("stage", ["joint", "profiled_beta"])
@pytest.mark.parametrize("family,link,kind,parameter,value,beta", ZI_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in ZI_CASES])
def test_zero_inflated_gradient_matches_finite_differences(family, link, kind, parameter, value, beta, stage):
    model, _ = _model(family, link, kind, parameter, value, zi=True)
    x = _point(model, beta, parameter, value, True, stage)
    check_objective_gradient(model, stage, parameter, x, np.asarray(beta, dtype=float))


# (family, link, data kind, engine parameter of the dispersion model, its power, beta, zero inflation)
DISPERSION_MODEL_CASES = [
    ("gaussian", "identity", "positive", "dispersion", 1.0, [2.0, 0.4], False),
    ("gaussian", "log", "positive", "dispersion", 1.0, [0.6, 0.3], False),
    ("Gamma", "log", "positive", "dispersion", -1.0, [0.6, 0.3], False),
    ("Gamma", "log", "zero_or_positive", "dispersion", -1.0, [0.6, 0.3], True),  # ziGamma
    ("tweedie", "log", "zero_or_positive", "dispersion", 1.0, [0.6, 0.3], False),
    ("negative_binomial", "log", "count", "theta", 1.0, [0.6, 0.3], False),
    ("nbinom1", "log", "count", "phi", 1.0, [0.6, 0.3], False),
    ("negative_binomial", "log", "count", "theta", 1.0, [0.6, 0.3], True),
    ("truncated_nbinom2", "log", "count", "theta", 1.0, [0.6, 0.3], True),  # hurdle
]


@pytest.mark.parametrize("stage", ["joint", "profiled_beta"])
@pytest.mark.parametrize("family,link,kind,parameter,power,beta,zi", DISPERSION_MODEL_CASES,
                         ids=[f"{c[0]}-{c[1]}{'-zi' if c[6] else ''}" for c in DISPERSION_MODEL_CASES])
def test_dispersion_model_gradient_matches_finite_differences(family, link, kind, parameter, power, beta, zi, stage):
    """The dispersion-model coefficients as coordinates (observation_gradient.cpp): log p_i = power (b0 + b1 x)."""
    value = 1.7 if family != "gaussian" else 0.8
    model, design = _model(family, link, kind, None if family != "negative_binomial" else "nb_theta", value, zi=zi)
    Xd = np.column_stack([np.ones(design.n), design.X[:, 1]])
    model.set_dispersion_model(Xd, np.zeros(design.n), parameter, power)
    x = _point(model, beta, None, None, zi, stage)
    x = np.concatenate([x, [power * np.log(value), 0.2]])
    check_objective_gradient(model, stage, None, x, np.asarray(beta, dtype=float))


def test_gradient_with_correlated_slopes_weights_and_offset():
    """Two-term T with a correlation, prior weights (some zero) and an offset, on a non-canonical link."""
    df = _data("count", seed=3)
    rng = np.random.default_rng(4)
    w = rng.uniform(0.3, 2.0, len(df))
    w[:4] = 0.0
    design = model_design_for("y ~ x + (x | g)", df, F.NegativeBinomial(theta=1.5), random=True,
                              weights=w, offset=rng.normal(0, 0.1, len(df)))
    model = engine_model(design, "sparse")
    model.set_nb_theta(1.5)
    x = np.array([0.6, 0.1, 0.3, 0.5, 0.3, np.log(1.5)])
    check_objective_gradient(model, "joint", "nb_theta", x, np.array([0.5, 0.3]))


@pytest.mark.parametrize("family", ["gaussian", "Gamma", "tweedie"])
def test_dispersion_gradient_with_weights_and_a_dispersion_model(family):
    """The log dispersion's rows (only the log density differenced, observation_gradient.cpp; the Tweedie's
    weights multiplying its log density) with prior weights, some zero, scalar and per row."""
    df = _data("positive", seed=5)
    w = np.random.default_rng(6).uniform(0.3, 2.0, len(df))
    w[:3] = 0.0
    design = model_design_for("y ~ x + (1 | g)", df, get_family(family, link="log"), random=True, weights=w)
    model = engine_model(design, "sparse")
    model.set_dispersion(0.6)
    x = np.array([0.6, 0.6, 0.3, np.log(0.6)])
    check_objective_gradient(model, "joint", "dispersion", x, np.array([0.6, 0.3]))
    Xd = np.column_stack([np.ones(design.n), design.X[:, 1]])
    model.set_dispersion_model(Xd, np.zeros(design.n), "dispersion", 1.0)
    check_objective_gradient(model, "joint", None, np.array([0.6, 0.6, 0.3, np.log(0.6), 0.2]),
                             np.array([0.6, 0.3]))


def test_engine_gradient_equals_the_objectives(cbpp):
    """model.laplace_gradient (raw coordinates) and the objective's (chain rule) agree."""
    design = model_design_for("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
                              Binomial("probit"), random=True)
    model = engine_model(design)
    base, scale, s = np.array([-1.0, -0.5, -0.6, -0.9]), np.array([0.2, 0.1, 0.3, 0.4]), 0.5
    obj = _core.glmm_objective(model, "joint", s, "none", 1, base, scale)
    x = np.array([1.2, 0.3, -0.2, 0.1, 0.4])
    grad = np.zeros(5)
    obj(x, grad)
    raw = np.asarray(model.laplace_gradient())
    np.testing.assert_allclose(grad, np.concatenate([raw[:1] * s, raw[1:] * scale]), rtol=1e-12)


def test_agq_has_no_gradient(cbpp):
    design = model_design_for("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
                              Binomial("probit"), random=True)
    obj = _core.glmm_objective(engine_model(design), "joint", 1.0, "none", 5, np.zeros(4), np.ones(4))
    assert not obj.has_gradient
    with pytest.raises(RuntimeError, match="no gradient"):
        obj(np.array([0.5, 0.0, 0.0, 0.0, 0.0]), np.zeros(5))
