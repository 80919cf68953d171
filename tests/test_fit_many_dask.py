"""fit_many on array responses and on a real Dask LocalCluster: the same table whatever the executor and
chunk size, Dask arrays read block by block, the job sent to each worker once, failures reported per
response, errors before any work."""

import time

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast.fit import _fit_many
from conftest import grouseticks_fit

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

FORMULA = "~ x + (1 | g)"


@pytest.fixture(scope="module")
def study():
    """24 Poisson responses of a 300-row random-intercept design; y5 has a negative count (its fit fails)."""
    rng = np.random.default_rng(19)
    n, groups, m = 300, 30, 24
    g = np.repeat(np.arange(groups), n // groups)
    x = rng.normal(size=n)
    b = rng.normal(scale=0.6, size=(groups, m))
    y = rng.poisson(np.exp(0.4 + 0.3 * x[:, None] + b[g])).astype(float)
    y[7, 5] = -1.0
    return pd.DataFrame({"x": x, "g": pd.Categorical(g)}), y


@pytest.fixture(scope="module")
def threads(study):
    df, y = study
    return glmmfast.fit_many(FORMULA, df, y, "poisson", n_jobs=2, progress=False)


@pytest.fixture(scope="module")
def client():
    # Worker processes: the job must cross a process boundary (pickled), as on a real cluster.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            distributed.Client(cl) as c:
        yield c


def test_array_equals_columns_and_glmer(study, threads):
    df, y = study
    wide = df.assign(**{f"r{j}": y[:, j] for j in range(4)})
    cols = glmmfast.fit_many(FORMULA, wide, [f"r{j}" for j in range(4)], "poisson", n_jobs=1, progress=False)
    arr = glmmfast.fit_many(FORMULA, df, y[:, :4], "poisson", n_jobs=1, progress=False,
                            names=[f"r{j}" for j in range(4)])
    pd.testing.assert_frame_equal(cols, arr)
    assert list(threads.response.unique()) == [f"y{j}" for j in range(24)]
    f = glmmfast.glmer("r2 ~ x + (1 | g)", wide, family="poisson")
    rows = threads[threads.response == "y2"]
    np.testing.assert_allclose(rows.estimate.iloc[:2], f.fixef, atol=2e-5)
    assert rows.deviance.iloc[0] == pytest.approx(f.deviance, abs=1e-6)


@pytest.mark.parametrize("chunk", [1, 5, 24])
def test_same_table_whatever_the_chunk(study, threads, chunk):
    df, y = study
    out = glmmfast.fit_many(FORMULA, df, y, "poisson", n_jobs=2, chunk=chunk, progress=False)
    pd.testing.assert_frame_equal(out, threads)


def test_failures_are_rows_and_counted(threads):
    assert threads.attrs["n_responses"] == 24
    assert threads.attrs["n_failed"] == 1 and threads.attrs["failed"] == ["y5"]
    bad = threads[threads.response == "y5"]
    assert len(bad) == 1 and not bad.converged.iloc[0] and np.isnan(bad.estimate.iloc[0])
    assert "negative" in bad.message.iloc[0]
    assert threads[threads.response != "y5"].converged.all()


def test_dask_client_equals_threads(study, threads, client):
    df, y = study
    out = glmmfast.fit_many(FORMULA, df, y, "poisson", executor=client, chunk=5, progress=False)
    pd.testing.assert_frame_equal(out, threads)


def test_dask_array_on_the_cluster_and_here(study, threads, client):
    df, y = study
    arr = da.from_array(y, chunks=(100, 7))  # row chunks are joined on the worker that fits them
    out = glmmfast.fit_many(FORMULA, df, arr, "poisson", executor=client.get_executor(), progress=False)
    pd.testing.assert_frame_equal(out, threads)
    out = glmmfast.fit_many(FORMULA, df, arr, "poisson", n_jobs=2, chunk=4, progress=False)
    pd.testing.assert_frame_equal(out, threads)


def test_the_job_reaches_each_worker_once(study, client):
    df, y = study
    before = client.run(lambda: set(_fit_many.job_arrivals))
    glmmfast.fit_many(FORMULA, df, y[:, :12], "poisson", executor=client, chunk=2, progress=False)  # 6 tasks
    after = client.run(lambda: dict(_fit_many.job_arrivals))
    new = {w: {k: v for k, v in counts.items() if k not in before[w]} for w, counts in after.items()}
    tokens = {k for counts in new.values() for k in counts}
    assert len(tokens) == 1  # one run; on each of the 2 workers its job arrived (was unpickled) once
    assert [list(counts.values()) for counts in new.values()] == [[1], [1]]


def test_the_job_reaches_each_worker_once_whatever_the_memory_manager_drops(study, client, monkeypatch):
    # A job scattered with broadcast=True was data the scheduler's Active Memory Manager (ReduceReplicas,
    # every 2 s) reduced to one copy while no task waited for it, so a worker fetched it again for its
    # next task: the job then arrived twice (seen under load).  Run the manager between the job's
    # sharing and the first task: the job still arrives once on each worker.
    from glmmfast.fit import _executors

    share = _executors.Workers.share

    def share_then_reduce_replicas(self, obj):
        shared = share(self, obj)
        self.client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.extensions["amm"].run_once())
        time.sleep(0.2)  # the drop messages reach the workers
        return shared

    monkeypatch.setattr(_executors.Workers, "share", share_then_reduce_replicas)
    test_the_job_reaches_each_worker_once(study, client)
    left = client.run(lambda: list(__import__("glmmfast.fit._worker_share", fromlist=["_SHARED"])._SHARED))
    assert left == {w: [] for w in client.scheduler_info()["workers"]}  # dropped at the end of the run


def test_missing_values_in_a_dask_array_fail_that_response_only(study, client):
    df, y = study
    y = y[:, :6].copy()
    y[7, 5] = 2.0
    y[3, 2] = np.nan
    out = glmmfast.fit_many(FORMULA, df, da.from_array(y, chunks=(300, 3)), "poisson", executor=client,
                            progress=False)
    assert out.attrs["failed"] == ["y2"] and "non-finite" in out[out.response == "y2"].message.iloc[0]
    with pytest.raises(glmmfast.DataError, match="'y2'.*missing"):  # in memory: refused before any fit
        glmmfast.fit_many(FORMULA, df, y, "poisson", progress=False)


def test_ctrl_c_cancels_what_has_not_started(study, client, monkeypatch):
    class InterruptedBar:  # Ctrl-C as the first block finishes: the main thread is where it lands
        def update(self, n):
            raise KeyboardInterrupt

        def close(self):
            pass

    monkeypatch.setattr(_fit_many, "progress_bar", lambda *args: InterruptedBar())
    df, y = study
    start = time.time()
    with pytest.raises(KeyboardInterrupt):
        glmmfast.fit_many(FORMULA, df, y, "poisson", executor=client, chunk=1)
    time.sleep(1.0)  # let the tasks already running finish

    def fit_tasks(dask_scheduler):  # the fit_block tasks the scheduler was given since `start`
        # The log also holds earlier tests' tasks released after `start` (dask-array keys, which are
        # tuples, and their fit_block tasks: memory -> released -> forgotten), so a task counts as
        # submitted here only by a transition into a state a new task passes through.
        log = [t for t in dask_scheduler.transition_log if t.timestamp > start and str(t.key).startswith("fit_block")]
        submitted = {t.key for t in log if t.finish in ("waiting", "queued", "processing", "no-worker")}
        finished = {t.key for t in log if t.finish == "memory" and t.key in submitted}
        return submitted, finished, len(dask_scheduler.tasks)

    submitted, finished, left = client.run_on_scheduler(fit_tasks)
    # 24 one-response tasks, at most 4 in flight: those finish or are cancelled, the others are never
    # submitted, and the cluster is left holding nothing (tasks, the scattered job).
    assert 1 <= len(finished) <= len(submitted) <= 4 and left == 0


def test_bootstrap_on_a_client_equals_serial(client):
    fit = grouseticks_fit()
    serial = fit.bootstrap(8, seed=3, n_jobs=1, progress=False)
    res = fit.bootstrap(8, seed=3, executor=client, progress=False)
    np.testing.assert_array_equal(res.replicates.to_numpy(), serial.replicates.to_numpy())


def test_errors_before_any_work(study):
    df, y = study
    fm = glmmfast.fit_many
    with pytest.raises(glmmfast.DataError, match="300 rows but the data have 299"):
        fm(FORMULA, df.iloc[1:], y, "poisson")
    with pytest.raises(glmmfast.DataError, match="has 301 rows"):
        fm(FORMULA, df, da.zeros((301, 4)), "poisson")
    with pytest.raises(glmmfast.DataError, match="2-D"):
        fm(FORMULA, df, y[:, 0], "poisson")
    with pytest.raises(glmmfast.DataError, match="numeric"):
        fm(FORMULA, df, y.astype(str), "poisson")
    with pytest.raises(glmmfast.DataError, match="names"):
        fm(FORMULA, df, y, "poisson", names=["a", "b"])
    with pytest.raises(TypeError, match="executor"):
        fm(FORMULA, df, y, "poisson", executor="dask")
    with pytest.raises(glmmfast.ArgumentError, match="chunk"):
        fm(FORMULA, df, y, "poisson", chunk=0)
    with pytest.raises(glmmfast.ArgumentTypeError, match="responses"):
        fm(FORMULA, df, {"a": 1}, "poisson")


def test_progress_bar_only_when_asked(study, capfd):
    pytest.importorskip("tqdm")
    df, y = study
    glmmfast.fit_many(FORMULA, df, y[:, :2], "poisson", n_jobs=1, progress=False)
    assert capfd.readouterr().err == ""
    glmmfast.fit_many(FORMULA, df, y[:, :2], "poisson", n_jobs=1, progress=True)
    assert "fit_many" in capfd.readouterr().err
