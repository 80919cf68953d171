"""run_tasks (results in task order on threads or an executor; an exception cancels the rest) and
the engine's CancelFlag (a cancelled flag stops engine calls of the threads it is bound to)."""

import concurrent.futures as cf
import threading

import numpy as np
import pytest

from glmmfast import _core
from glmmfast.fit._cancel import run_tasks
from glmmfast.fit._engine import engine_model
from glmmfast.results._refit import GlmerModel
from conftest import grouseticks_fit


def _square(x):
    return x * x


@pytest.mark.parametrize("workers", [1, 3])
def test_results_in_task_order(workers):
    seen = []
    assert run_tasks(_square, [(i,) for i in range(10)], workers, on_done=seen.append) == [i * i for i in range(10)]
    assert sorted(seen) == [i * i for i in range(10)]


def test_on_an_executor():
    with cf.ThreadPoolExecutor(2) as pool:
        assert run_tasks(_square, [(i,) for i in range(5)], 1, executor=pool) == [0, 1, 4, 9, 16]


def test_an_exception_cancels_the_tasks_not_started():
    started, release = [], threading.Event()

    def task(i):
        started.append(i)
        if i == 0:
            raise KeyboardInterrupt  # what Ctrl-C is, seen by the waiting thread
        release.wait(5)
        return i

    with pytest.raises(KeyboardInterrupt):
        run_tasks(task, [(i,) for i in range(50)], 2)
    release.set()
    # Each of the two threads may have started one task after task 0 before
    # the waiting thread cancelled the rest; none of the others ran.
    assert set(started) <= {0, 1, 2}


def test_cancelled_flag_stops_engine_calls_of_its_thread():
    fit = grouseticks_fit()
    model = GlmerModel.from_result(fit)
    engine, theta, beta = model.engine, fit.theta, fit.fixef.to_numpy()
    dev = engine.deviance_at(theta, beta)
    flag = _core.CancelFlag()
    with flag:
        engine.deviance_at(theta, beta)  # not cancelled: runs
        flag.cancel()
        assert flag.cancelled
        with pytest.raises(KeyboardInterrupt):
            engine.deviance_at(theta, beta)
        obj = _core.glmm_objective(engine, "joint", 1.0, "none", 1, beta, np.ones(beta.size))
        with pytest.raises(KeyboardInterrupt):
            obj(np.r_[theta, np.zeros(beta.size)])
    # Unbound, the same engine works and agrees with itself.
    assert engine.deviance_at(theta, beta) == dev


def test_cancelled_flag_stops_building_an_engine():
    # The pattern's analysis (seconds on large data) runs under the flag too.
    design = grouseticks_fit()._design
    flag = _core.CancelFlag()
    flag.cancel()
    with flag, pytest.raises(KeyboardInterrupt):
        engine_model(design)
    assert engine_model(design).q == design.Z.shape[1]


def test_flag_bound_on_another_thread_does_not_stop_this_one():
    fit = grouseticks_fit()
    engine = GlmerModel.from_result(fit).engine
    flag, bound, done = _core.CancelFlag(), threading.Event(), threading.Event()

    def hold():
        with flag:
            bound.set()
            done.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    bound.wait(5)
    flag.cancel()
    try:
        assert np.isfinite(engine.deviance_at(fit.theta, fit.fixef.to_numpy()))
    finally:
        done.set()
        t.join()


def test_flags_must_nest():
    a, b = _core.CancelFlag(), _core.CancelFlag()
    a.__enter__()
    b.__enter__()
    with pytest.raises(RuntimeError, match="nest"):
        a.__exit__(None, None, None)
    b.__exit__(None, None, None)
    a.__exit__(None, None, None)


def test_tasks_are_drawn_only_as_slots_free():
    finished, in_flight = [0], []
    lock = threading.Lock()

    def task(i):
        threading.Event().wait(0.002)
        with lock:
            finished[0] += 1
        return i

    def tasks():
        for i in range(20):
            with lock:  # tasks drawn (this one included) and not finished, as this one is drawn
                in_flight.append(i + 1 - finished[0])
            yield (i,)

    assert run_tasks(task, tasks(), 2, max_pending=3) == list(range(20))
    assert max(in_flight) <= 3  # unbounded, the generator would be drained at once (up to 20)
