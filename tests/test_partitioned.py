"""One GLMM on the partitioned rows of a Dask DataFrame (fit/_partitioned.py), on a real 2-worker LocalCluster.

Every fit is checked against the in-memory fit of the same rows: -2 log L
to 1e-8, fixed effects, theta and the conditional modes to 1e-6, vcov to
1e-6 relative; and the engine pieces (RowBlock sums, the partitioned model's
deviance and exact gradient) against GlmmModel's on the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import _core
from glmmfast._errors import GlmmfastError
from conftest import partitioned_engine, row_blocks

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


def assert_same_fit(dask_fit, pandas_fit):
    assert abs(dask_fit.deviance - pandas_fit.deviance) < 1e-8
    assert list(dask_fit.fixef.index) == list(pandas_fit.fixef.index)
    np.testing.assert_allclose(dask_fit.fixef.to_numpy(), pandas_fit.fixef.to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(dask_fit.theta, pandas_fit.theta, rtol=0, atol=1e-6)
    np.testing.assert_allclose(dask_fit.vcov.to_numpy(), pandas_fit.vcov.to_numpy(), rtol=1e-6, atol=1e-12)
    assert dask_fit.nobs == pandas_fit.nobs and dask_fit.df_resid == pandas_fit.df_resid
    assert abs(dask_fit.bic - pandas_fit.bic) < 1e-8
    for group, modes in pandas_fit.ranef().items():
        mine = dask_fit.ranef()[group]
        assert list(mine.index) == list(modes.index)
        np.testing.assert_allclose(mine.to_numpy(), modes.to_numpy(), rtol=0, atol=1e-6)
        np.testing.assert_allclose(mine.attrs["condsd"].to_numpy(), modes.attrs["condsd"].to_numpy(), atol=1e-6)


@pytest.mark.parametrize("factorization", ["auto", "blocked"])
def test_engine_partition_sums_give_glmm_models_deviance_and_gradient(factorization):
    # Three RowBlocks of grouseticks summed in process: the partitioned model's
    # Laplace deviance and exact gradient are GlmmModel's on the whole data
    # (also with the driver's factor blocked: its selected inverse on the
    # pattern read from S^-1 where it is kept, BlockedFactor::selected_inverse_at).
    from glmmfast.design._design import model_design_for

    df = glmmfast.datasets.load("grouseticks")
    d = model_design_for("TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION)", df, glmmfast.families.Poisson(),
                         random=True)
    model, whole = partitioned_engine(d, 3, factorization)
    assert factorization == "auto" or model.factorization == "blocked"
    theta, beta = np.array([0.8, 0.5]), np.array([0.3, 1.2, -0.9])
    assert model.deviance_at(theta, beta) == pytest.approx(whole.deviance_at(theta, beta), rel=1e-13)
    np.testing.assert_allclose(model.laplace_gradient(), whole.laplace_gradient(), rtol=1e-9, atol=1e-9)
    assert model.deviance_profiled_beta(theta) == pytest.approx(whole.deviance_profiled_beta(theta), rel=1e-13)
    np.testing.assert_allclose(model.beta, whole.beta, atol=1e-10)
    np.testing.assert_allclose(model.laplace_gradient(True), whole.laplace_gradient(True), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.beta_unscaled_vcov(), whole.beta_unscaled_vcov(), atol=1e-12)
    np.testing.assert_allclose(model.cond_var(1), whole.cond_var(1), atol=1e-12)


@pytest.mark.parametrize("factorization", ["auto", "blocked", "sparse"])
def test_engine_glm_start_at_theta_zero_factorises_nothing(factorization):
    # Lambda(0) = 0, so A = I whatever the weights: the GLM's IRLS at theta = 0 (the partitioned fit's
    # start, fit/_partitioned.py's _glm_start) gathers its sums but factorises nothing (the dense Schur
    # block's LLT of I took ~12 s a step at 10^4 crossed levels), with GlmmModel's deviance, beta and
    # gradient at theta = 0; off zero the driver factorises again.
    from glmmfast.design._design import model_design_for

    df = glmmfast.datasets.load("grouseticks")
    d = model_design_for("TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION)", df, glmmfast.families.Poisson(),
                         random=True)
    model, whole = partitioned_engine(d, 3, factorization)
    zero = np.zeros(2)
    assert model.deviance_profiled_beta(zero) == pytest.approx(whole.deviance_profiled_beta(zero), rel=1e-13)
    np.testing.assert_allclose(model.beta, whole.beta, atol=1e-10)
    np.testing.assert_allclose(model.laplace_gradient(True), whole.laplace_gradient(True), rtol=1e-9, atol=1e-9)
    assert model.gathers > 2 and model.factorizations == 0
    # and the workers send no U'WU there (all zeros: ~80 MB a round trip at 10^7 rows)
    block = row_blocks(d, 3)[0][0]
    assert block.sums(zero, model.beta, np.zeros(model.q), model.family_values)[5].size == 0
    assert block.sums(np.array([0.8, 0.5]), model.beta, np.zeros(model.q), model.family_values)[5].size > 0
    theta = np.array([0.8, 0.5])
    assert model.deviance_profiled_beta(theta) == pytest.approx(whole.deviance_profiled_beta(theta), rel=1e-13)
    assert model.factorizations > 0


def test_crossed_poisson_levels_in_some_partitions_equals_in_memory(client):
    # Sorted by LOCATION and YEAR: most grouping levels and two of the three
    # YEAR levels sit in one partition only; crossed BROOD x LOCATION terms.
    df = glmmfast.datasets.load("grouseticks").sort_values(["YEAR", "LOCATION"]).reset_index(drop=True)
    df["YEAR"] = df["YEAR"].astype(str)       # plain strings: levels collected in one pass
    df["BROOD"] = df["BROOD"].astype(str)
    formula = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)"
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    fit = glmmfast.glmer(formula, ddf, family="poisson")
    ref = glmmfast.glmer(formula, df, family="poisson")
    assert_same_fit(fit, ref)
    assert fit.optinfo.optimizer == ref.optinfo.optimizer == "lbfgs"
    assert fit.partitions.released and fit.partitions.gathers > 0
    # predict: a Dask Series from a Dask frame, an array from pandas; the summary as in memory
    pred = fit.predict(ddf, type="response")
    assert isinstance(pred, dd.Series)
    np.testing.assert_allclose(pred.compute().to_numpy(), ref.predict(df, type="response"), rtol=1e-6)
    new = pd.DataFrame({"YEAR": ["96", "97"], "cHEIGHT": [0.0, 5.0], "BROOD": ["501", "999"], "LOCATION": ["1", "2"]})
    np.testing.assert_allclose(fit.predict(new, allow_new_levels=True), ref.predict(new, allow_new_levels=True),
                               atol=1e-6)
    lines, ref_lines = fit.summary_text().splitlines(), ref.summary_text().splitlines()
    tail = "Scaled residuals: "
    assert lines[lines.index(tail):] == ref_lines[ref_lines.index(tail):]
    with pytest.raises(GlmmfastError, match="rows in memory"):
        fit.fitted()


def test_binomial_cbind_and_nagq0_equal_in_memory(client):
    df = glmmfast.datasets.load("cbpp")
    df["herd"] = df["herd"].astype(str)
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    ddf = dd.from_pandas(df, npartitions=3)
    assert_same_fit(glmmfast.glmer(formula, ddf, family="binomial"), glmmfast.glmer(formula, df, family="binomial"))
    fast, ref = glmmfast.glmer(formula, ddf, family="binomial", nAGQ=0), glmmfast.glmer(formula, df, family="binomial",
                                                                                      nAGQ=0)
    assert abs(fast.deviance - ref.deviance) < 1e-8
    np.testing.assert_allclose(fast.fixef.to_numpy(), ref.fixef.to_numpy(), atol=1e-6)


def test_moment_start_from_the_workers_level_sums_as_in_memory(client, gamma_small_groups):
    # From MIN_ROWS rows the in-memory fit starts theta from the GLM's working residuals (fit/_glmm_start.py);
    # the workers send their rows' level sums (one round trip), so the partitioned fit starts there too and
    # takes the same stage-1 steps (from lme4's theta = 1 it took 14 evaluations against 5 at 2e5 rows,
    # benchmarks/bench_dask_rows.py 2e5 2e3 4e2).  Gamma: phi from the same sums.
    from glmmfast.fit import _partitioned

    df = gamma_small_groups.assign(g=gamma_small_groups["g"].astype(str))
    formula, family = "y ~ x + (1 | g)", glmmfast.families.Gamma(link="log")
    fit = glmmfast.glmer(formula, dd.from_pandas(df, npartitions=3), family)
    ref = glmmfast.glmer(formula, df, family)
    assert_same_fit(fit, ref)

    def stage_1(f):
        return next(s for s in f.optinfo.stages if s["kind"] == "stage 1")

    assert stage_1(fit)["evaluations"] == stage_1(ref)["evaluations"]
    assert stage_1(fit)["optimizer"] == stage_1(ref)["optimizer"]
    assert not _partitioned._START_TERMS  # the workers' copies of the terms' codes were released


def test_each_round_trip_is_added_on_the_workers_and_the_driver_receives_one_sum(client):
    # The workers' answers are added pairwise by tasks on the workers (a tree): with 2 workers one
    # add_answers task per round trip, and the driver gathers one sum (not one per worker).
    from glmmfast.fit import _partitioned

    df = glmmfast.datasets.load("cbpp")
    df["herd"] = df["herd"].astype(str)
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    with distributed.get_task_stream(client) as stream:
        fit = glmmfast.glmer(formula, dd.from_pandas(df, npartitions=4), family="binomial")
    adds = [t for t in stream.data if "add_answers" in str(t["key"])]
    assert len(fit.partitions.workers) == 2 and len(adds) == fit.partitions.gathers > 0
    a = (True, 1.0, 2.0, np.ones(2), np.ones((2, 2)))
    b = (False, 3.0, 4.0, np.ones(2), np.ones((2, 2)))
    total = _partitioned.add_answers(a, _partitioned.add_answers(None, b))
    assert total[0] is False and total[1:3] == (4.0, 6.0) and np.all(total[4] == 2.0)


def test_large_round_trip_arrays_are_scattered_once_and_the_fit_is_unchanged(client, monkeypatch):
    # With the threshold at 0 every array argument of a round trip (theta, beta, u, the traces' selected
    # inverse) goes to the workers by client.scatter(broadcast=True) and the tasks get its future.
    from glmmfast.fit import _partitioned

    df = glmmfast.datasets.load("cbpp")
    df["herd"] = df["herd"].astype(str)
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    scattered = []
    scatter = client.scatter

    def counted(data, **kwargs):
        scattered.append(kwargs.get("broadcast"))
        return scatter(data, **kwargs)

    monkeypatch.setattr(_partitioned, "_SCATTER_BYTES", 0)
    monkeypatch.setattr(client, "scatter", counted)
    fit = glmmfast.glmer(formula, dd.from_pandas(df, npartitions=3), family="binomial")
    assert scattered and all(scattered)
    assert_same_fit(fit, glmmfast.glmer(formula, df, family="binomial"))


def _largest_array_bytes(message) -> int:
    """The bytes of the largest array inside a logged message (its out-of-band buffers pickled, protocol 5)."""
    from distributed.protocol.serialize import Serialized

    if isinstance(message, Serialized):  # the client's graph, already pickled: its frames
        return max((memoryview(frame).nbytes for frame in message.frames), default=0)
    if isinstance(message, dict):
        return max(map(_largest_array_bytes, message.values()), default=0)
    if isinstance(message, (list, tuple)):
        return max(map(_largest_array_bytes, message), default=0)
    buffers = []
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    return max((memoryview(b).nbytes for b in buffers), default=0)


def test_round_trip_arrays_are_not_kept_by_the_message_logs_and_their_keys_are_released(client):
    # distributed's BatchedSend logs every batch under 1 MB (the last 1000 a stream): the client's
    # stream to the scheduler and the scheduler's to each worker, in the driver's process. A round
    # trip's u (8 q bytes) carried in its tasks stayed alive there, the driver's RSS growing with every
    # evaluation (issue 19); scattered, it is released with the round trip's keys.
    import time

    rng = np.random.default_rng(19)
    n, levels1, levels2 = 3000, 1100, 12
    df = pd.DataFrame({"g1": rng.integers(0, levels1, n).astype(str), "g2": rng.integers(0, levels2, n).astype(str),
                       "x": rng.normal(size=n)})
    df["y"] = rng.poisson(np.exp(0.3 + 0.4 * df["x"] + rng.normal(0, 0.5, levels1)[df["g1"].astype(int)]))
    formula = "y ~ x + (1 | g1) + (1 | g2)"
    fit = glmmfast.glmer(formula, dd.from_pandas(df, npartitions=4), family="poisson")
    q = sum(len(modes) for modes in fit.ranef().values())
    assert q > 1024 and fit.partitions.gathers > 20

    def round_trips(log) -> list:  # the logged messages of the round trips' tasks (not the data's graph)
        # (a snapshot first: the client's comm thread appends to its deque while this runs)
        return [m for batch in tuple(log) if isinstance(batch, list) for m in batch
                if "_worker_" in str(m.get("key", "")) + str(m.get("keys", ""))]

    def logged(dask_scheduler):
        return [_largest_array_bytes(round_trips(stream.recent_message_log))
                for stream in dask_scheduler.stream_comms.values()]

    client_log = round_trips(client.scheduler_comm.recent_message_log)
    assert client_log and _largest_array_bytes(client_log) < 8 * q
    assert max(client.run_on_scheduler(logged)) < 8 * q
    deadline = time.monotonic() + 10
    while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
    ref = glmmfast.glmer(formula, df, family="poisson")
    assert abs(fit.deviance - ref.deviance) < 1e-8


@pytest.mark.slow
def test_missing_rows_offset_column_and_aliased_column(client):
    rng = np.random.default_rng(7)
    n = 600
    df = pd.DataFrame({"g": rng.integers(0, 30, n), "h": rng.choice(list("abcdefgh"), n), "x": rng.normal(size=n),
                       "f": rng.choice(["lo", "mid", "hi"], n), "exposure": rng.uniform(0.5, 2.0, n)})
    df["x2"] = 2.0 * df["x"]  # aliased: dropped as in memory
    eta = 0.3 + 0.5 * df["x"] + np.log(df["exposure"]) + rng.normal(0, 0.6, 30)[df["g"]]
    df["y"] = rng.poisson(np.exp(eta))
    df.loc[[3, 70, 400], "x"] = np.nan
    formula = "y ~ x + x2 + f + (1 | g) + (1 | h)"
    df["log_exposure"] = np.log(df["exposure"])
    ddf = dd.from_pandas(df, npartitions=3)
    fit = glmmfast.glmer(formula, ddf, family="poisson", offset="log_exposure")
    ref = glmmfast.glmer(formula, df, family="poisson", offset=df["log_exposure"].to_numpy())
    assert_same_fit(fit, ref)
    assert fit.n_dropped == ref.n_dropped == 3
    assert fit._design.x_dropped == ref._design.x_dropped == ["x2"]
    pred = fit.predict(ddf.dropna()).compute().to_numpy()
    keep = df["x"].notna().to_numpy()
    np.testing.assert_allclose(pred, ref.predict(df[keep], offset=df.loc[keep, "log_exposure"].to_numpy()),
                               atol=1e-6)


@pytest.mark.parametrize("call, error", [
    (lambda d: glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", d, family="poisson", nAGQ=5), "nAGQ = 5"),
    (lambda d: glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", d, family="nbinom1"), "glmer's families"),
    (lambda d: glmmfast.glmer("TICKS ~ YEAR + ar1(0 + YEAR | LOCATION)", d, family="poisson"), "ar1"),
    (lambda d: glmmfast.glmer("TICKS ~ scale(cHEIGHT) + (1 | LOCATION)", d, family="poisson"), "scale"),
    (lambda d: glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION:BROOD)", d, family="poisson"), "data column"),
    (lambda d: glmmfast.lmer("TICKS ~ YEAR + ar1(0 + YEAR | LOCATION)", d), "ar1"),
])
def test_unsupported_options_raise_before_any_work(client, call, error):
    ddf = dd.from_pandas(glmmfast.datasets.load("grouseticks"), npartitions=2)
    def transitions():
        return client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)

    before = transitions()
    with pytest.raises(GlmmfastError, match=error):
        call(ddf)
    assert transitions() == before  # no task ran
