"""glmer's families and links on the partitioned rows of a Dask DataFrame (fit/_partitioned.py).

The engine's RowBlock takes per-row derivatives from the same family code
as the in-memory GlmmModel, PIRLS finishes non-canonical links with Newton
steps on the exact Hessian (one more round trip at the switch), the family
parameter (the dispersion phi, the negative binomial's theta) travels with
every round trip and its log's gradient comes back from the partitions.
Checked: the engine on RowBlocks summed in process against GlmmModel at
arbitrary points (deviance, exact gradient with the log family parameter),
and whole fits on a 2-worker LocalCluster against the in-memory fit of the
same rows (-2 log L to 1e-8 relative, estimates and the family parameter to
1e-6, standard errors), predict on a Dask frame, and the refusals left.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr

import glmmfast
from glmmfast import families
from glmmfast._errors import GlmmfastError
from glmmfast.design._design import model_design_for
from conftest import partitioned_engine, row_blocks

dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

N, GROUPS = 300, 20


def _frame(seed: int) -> tuple[pd.DataFrame, np.random.Generator, np.ndarray]:
    """x, a grouping column g (strings) and a linear-predictor shift b per row."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, GROUPS, N)
    df = pd.DataFrame({"x": rng.normal(size=N), "g": [f"g{k:02d}" for k in g]})
    return df, rng, rng.normal(0.0, 0.5, GROUPS)[g]


def gamma_data():
    df, rng, b = _frame(1)
    df["y"] = rng.gamma(2.0, np.exp(1.0 + 0.5 * df["x"] + b) / 2.0)
    return df


def inverse_gaussian_data():
    df, rng, b = _frame(2)
    df["y"] = rng.wald(np.exp(0.5 + 0.3 * df["x"] + b), 4.0)
    return df


def negative_binomial_data():
    df, rng, b = _frame(3)
    mu = np.exp(1.0 + 0.5 * df["x"] + b)
    df["y"] = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    return df


def probit_data():
    df, rng, b = _frame(4)
    df["s"] = rng.binomial(6, ndtr(0.2 + 0.7 * df["x"] + b))
    return df


def cloglog_data():
    df, rng, b = _frame(5)
    df["y"] = (rng.random(N) < 1.0 - np.exp(-np.exp(-0.3 + 0.6 * df["x"] + b))).astype(float)
    return df


def sqrt_data():
    df, rng, b = _frame(6)
    df["y"] = rng.poisson((2.0 + 0.3 * df["x"] + b) ** 2)
    return df


# (name, data, formula, family, in-memory and partitioned fit's function)
CASES = [
    ("Gamma(log)", gamma_data, "y ~ x + (1 | g)", families.Gamma(link="log"), glmmfast.glmer),
    ("inverse.gaussian(log)", inverse_gaussian_data, "y ~ x + (1 | g)", families.InverseGaussian(link="log"),
     glmmfast.glmer),
    ("glmer_nb", negative_binomial_data, "y ~ x + (1 | g)", None, glmmfast.glmer_nb),
    ("binomial(probit)", probit_data, "cbind(s, 6 - s) ~ x + (1 | g)", families.Binomial(link="probit"),
     glmmfast.glmer),
    ("binomial(cloglog)", cloglog_data, "y ~ x + (1 | g)", families.Binomial(link="cloglog"), glmmfast.glmer),
    ("poisson(sqrt)", sqrt_data, "y ~ x + (1 | g)", families.Poisson(link="sqrt"), glmmfast.glmer),
]


def _fit(fun, formula, data, family):
    return fun(formula, data) if family is None else fun(formula, data, family=family)


@pytest.mark.parametrize("name, data, formula, family, fun", CASES, ids=[c[0] for c in CASES])
def test_engine_partition_sums_give_glmm_models_deviance_and_gradient(name, data, formula, family, fun):
    # Three RowBlocks summed in process against GlmmModel off the optimum: the Laplace deviance, the exact
    # gradient in (theta, beta, log family parameter) and the nAGQ = 0 objective's.
    family = families.NegativeBinomial(theta=1.7) if family is None else family
    design = model_design_for(formula, data(), family, random=True)
    model, whole = partitioned_engine(design, 3)
    names = [] if not family.has_dispersion and family.name != "negative.binomial" else (
        ["dispersion"] if family.has_dispersion else ["theta"])
    for m in (model, whole):
        if family.has_dispersion:
            m.set_dispersion(0.4)
    theta, beta = np.array([0.6]), np.array([0.4, 0.3]) if "binomial" in name else np.array([1.1, 0.4])
    if name == "poisson(sqrt)":
        beta = np.array([2.0, 0.25])
    assert model.deviance_at(theta, beta) == pytest.approx(whole.deviance_at(theta, beta), rel=1e-12)
    np.testing.assert_allclose(model.laplace_gradient(False, names), whole.laplace_gradient(False, names),
                               rtol=1e-8, atol=1e-8)
    assert model.deviance_profiled_beta(theta) == pytest.approx(whole.deviance_profiled_beta(theta), rel=1e-12)
    np.testing.assert_allclose(model.beta, whole.beta, atol=1e-9)
    np.testing.assert_allclose(model.laplace_gradient(True, names), whole.laplace_gradient(True, names),
                               rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(model.beta_unscaled_vcov(), whole.beta_unscaled_vcov(), rtol=1e-9, atol=1e-12)


def test_gradient_moves_only_the_family_parameters_the_optimiser_estimates():
    # A family parameter held fixed (glmer's negative_binomial(theta), glmer_nb's inner fits) is no optimiser
    # coordinate: its d D / d log theta, two passes over each partition's rows at moved theta, is not computed.
    design = model_design_for("y ~ x + (1 | g)", negative_binomial_data(), families.NegativeBinomial(theta=1.7),
                              random=True)
    blocks, pattern = row_blocks(design, 3)
    model, whole = partitioned_engine(design, blocks=(blocks, pattern))
    theta, beta = np.array([0.6]), np.array([1.1, 0.4])
    model.deviance_at(theta, beta), whole.deviance_at(theta, beta)
    fixed = model.laplace_gradient(False, [])
    assert [b.moved_parameter_passes for b in blocks] == [0, 0, 0]
    estimated = model.laplace_gradient(False, ["theta"])
    assert [b.moved_parameter_passes for b in blocks] == [2, 2, 2]
    np.testing.assert_allclose(estimated[:-1], fixed, rtol=1e-12)
    np.testing.assert_allclose(estimated, whole.laplace_gradient(False, ["theta"]), rtol=1e-8, atol=1e-8)
    with pytest.raises(ValueError, match="no parameter 'dispersion'"):
        model.laplace_gradient(False, ["dispersion"])
    assert [b.moved_parameter_passes for b in blocks] == [2, 2, 2]


def _family_parameter(fit) -> float | None:
    parameter = fit._state.family_parameter
    return None if parameter is None else parameter.value


@pytest.mark.parametrize("name, data, formula, family, fun", CASES, ids=[c[0] for c in CASES])
def test_fit_equals_in_memory(client, name, data, formula, family, fun):
    df = data()
    ddf = dd.from_pandas(df, npartitions=3)
    fit, ref = _fit(fun, formula, ddf, family), _fit(fun, formula, df, family)
    assert fit.deviance == pytest.approx(ref.deviance, rel=1e-8)
    assert list(fit.fixef.index) == list(ref.fixef.index)
    np.testing.assert_allclose(fit.fixef.to_numpy(), ref.fixef.to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit.theta, ref.theta, rtol=0, atol=1e-6)
    if _family_parameter(ref) is not None:
        assert _family_parameter(fit) == pytest.approx(_family_parameter(ref), rel=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), np.sqrt(np.diag(ref.vcov)), rtol=1e-5)
    assert fit.nobs == ref.nobs and fit.df_resid == ref.df_resid and fit.aic == pytest.approx(ref.aic, rel=1e-8)
    assert fit.family.display_name == ref.family.display_name
    pred = fit.predict(ddf, type="response")
    assert isinstance(pred, dd.Series)
    np.testing.assert_allclose(pred.compute().to_numpy(), ref.predict(df, type="response"), rtol=1e-5)


@pytest.mark.parametrize("call, error", [
    (lambda d: glmmfast.glmer("y ~ x + (1 | g)", d, family="poisson", ziformula="~ 1"), "ziformula"),
    (lambda d: glmmfast.glmer("y ~ x + (1 | g)", d, family="nbinom2", dispformula="~ x"), "dispformula"),
    (lambda d: glmmfast.glmer("y ~ x + (1 | g)", d, family="truncated_poisson"), "glmer's families"),
    (lambda d: glmmfast.glmer("y ~ x + (1 | g)", d, family="poisson", nAGQ=3), "nAGQ = 3"),
])
def test_what_is_still_unsupported_raises_before_any_work(client, call, error):
    ddf = dd.from_pandas(sqrt_data(), npartitions=2)
    before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    with pytest.raises(GlmmfastError, match=error):
        call(ddf)
    assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter) == before


def overdispersed_counts(n: int = 2000, groups: int = 50, shape: float = 0.2, seed: int = 2) -> pd.DataFrame:
    """Negative-binomial counts with a shape far from 1 (where glmer_nb's old fixed start of 1 was)."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    df = pd.DataFrame({"x": rng.normal(size=n), "g": [f"g{k:03d}" for k in g]})
    mu = np.exp(1.0 + 0.5 * df["x"] + rng.normal(0.0, 0.5, groups)[g])
    df["y"] = rng.negative_binomial(shape, shape / (shape + mu))
    return df


def test_glmer_nb_starts_theta_at_the_in_memory_moment_start(client, monkeypatch):
    # The partitions' moment start (fit/_partitioned.py's _nb_moment_start: a near-Poisson GLM's means, the
    # sums of fit/_moment_start.py) is the in-memory start's to the near-Poisson GLM's 1e-4, and from it the
    # fit reaches the same optimum in fewer evaluations and round trips than from theta = 1.
    from glmmfast.fit import _partitioned
    from glmmfast.fit._glmer import _moment_theta

    df = overdispersed_counts()
    ddf = dd.from_pandas(df, npartitions=3)
    moment_start, starts = _partitioned._nb_moment_start, []

    def recorded(model, rows, parameter):
        start = moment_start(model, rows, parameter)
        starts.append(start[0].value)
        return start

    monkeypatch.setattr(_partitioned, "_nb_moment_start", recorded)
    fit = glmmfast.glmer_nb("y ~ x + (1 | g)", ddf)
    in_memory = _moment_theta(model_design_for("y ~ x + (1 | g)", df, families.NegativeBinomial(1.0), random=True))
    assert starts == [pytest.approx(in_memory, rel=1e-4)]
    monkeypatch.setattr(_partitioned, "_nb_moment_start", lambda model, rows, parameter: (parameter, None))
    from_one = glmmfast.glmer_nb("y ~ x + (1 | g)", ddf)  # the start before: theta = 1
    assert fit.deviance == pytest.approx(from_one.deviance, rel=1e-9)
    assert _family_parameter(fit) == pytest.approx(_family_parameter(from_one), rel=1e-6)
    assert fit.optinfo.evaluations < from_one.optinfo.evaluations
    assert fit.partitions.gathers < from_one.partitions.gathers
