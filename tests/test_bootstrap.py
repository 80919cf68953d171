"""bootstrap: reproducible per seed whatever n_jobs or executor (threads, Dask), failures counted, quiet."""

import concurrent.futures as cf

import numpy as np
import pytest

import glmmfast
from conftest import grouseticks_fit

NSIM = 12


@pytest.fixture(scope="module")
def serial():
    return grouseticks_fit().bootstrap(NSIM, seed=42, n_jobs=1, progress=False)


def test_default_statistic_and_shape(serial):
    fit = grouseticks_fit()
    assert isinstance(serial, glmmfast.BootstrapResult)
    assert list(serial.replicates.columns) == [".sig01", "(Intercept)", "YEAR96", "YEAR97"]
    assert serial.replicates.shape == (NSIM, 4)
    assert serial.n_failed == 0 and serial.failures == []
    np.testing.assert_allclose(serial.t0.to_numpy(), np.r_[fit.theta, fit.fixef])
    # Replicates scatter around the estimates (the fit is the truth they are drawn from).
    z = (serial.replicates.mean() - serial.t0) / (serial.replicates.std() / np.sqrt(NSIM))
    assert np.all(np.abs(z) < 5)


def test_replicate_is_a_refit_of_its_own_draw(serial):
    fit = grouseticks_fit()
    ss = np.random.SeedSequence(42).spawn(NSIM)[3]
    from glmmfast.results._simulate import ResponseSimulator
    y = ResponseSimulator(fit._design, fit.fixef.to_numpy(), fit.theta, [None], "~0").draw(np.random.default_rng(ss))
    r = fit.refit(y[:, 0])
    np.testing.assert_allclose(serial.replicates.iloc[3], np.r_[r.theta, r.fixef], atol=1e-12)


def test_same_results_in_threads_and_executors(serial):
    fit = grouseticks_fit()
    threads = fit.bootstrap(NSIM, seed=42, n_jobs=2, progress=False)
    np.testing.assert_array_equal(threads.replicates.to_numpy(), serial.replicates.to_numpy())
    with cf.ThreadPoolExecutor(3) as ex:
        pooled = fit.bootstrap(NSIM, seed=42, executor=ex, progress=False)
    np.testing.assert_array_equal(pooled.replicates.to_numpy(), serial.replicates.to_numpy())


def test_dask_local_cluster(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        res = grouseticks_fit().bootstrap(NSIM, seed=42, executor=client.get_executor(), progress=False)
    np.testing.assert_array_equal(res.replicates.to_numpy(), serial.replicates.to_numpy())


def test_failures_are_counted_not_dropped(serial):
    cut = serial.replicates["(Intercept)"].median()

    def stat(f):
        if f.fixef.iloc[0] > cut:
            raise RuntimeError("too high")
        return f.fixef

    res = grouseticks_fit().bootstrap(NSIM, statistic=stat, seed=42, n_jobs=2, progress=False)
    bad = np.flatnonzero(serial.replicates["(Intercept)"].to_numpy() > cut)
    assert res.n_failed == bad.size > 0
    assert [i for i, _ in res.failures] == list(bad)
    assert all("too high" in msg for _, msg in res.failures)
    assert res.replicates.iloc[bad].isna().all().all()
    assert list(res.replicates.columns) == ["(Intercept)", "YEAR96", "YEAR97"]


def test_progress_bar_only_when_asked(capfd):
    pytest.importorskip("tqdm")
    fit = grouseticks_fit()
    fit.bootstrap(2, seed=1, n_jobs=1, progress=False)
    out = capfd.readouterr()
    assert out.out == "" and out.err == ""
    fit.bootstrap(2, seed=1, n_jobs=1, progress=True)
    assert "bootstrap" in capfd.readouterr().err


def test_bad_arguments():
    fit = grouseticks_fit()
    with pytest.raises(ValueError, match="nsim"):
        fit.bootstrap(0)
    with pytest.raises(ValueError, match="n_jobs"):
        fit.bootstrap(2, n_jobs=0)
    with pytest.raises(TypeError, match="Executor"):
        fit.bootstrap(2, executor=object())
