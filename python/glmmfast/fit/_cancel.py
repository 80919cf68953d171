"""Independent tasks run on threads or an executor so that Ctrl-C stops them.

Holds :func:`run_tasks` (the bootstrap's and fit_many's task runner).  Tasks
are drawn from their iterable only as they are submitted, and at most
``max_pending`` are in flight, so a caller can produce each task's data
(e.g. a block of a Dask array) only when a worker is ready for it.  A
KeyboardInterrupt reaches only the main thread, which is waiting for the
tasks; the engine calls running in worker threads meanwhile hold no GIL
and see no signal.  So the waiting thread, on any exception, cancels the
tasks not yet started and sets a :class:`glmmfast._core.CancelFlag` bound
to its own pool's threads: their engine calls stop at the next check of
its loops (cpp/src/interrupt.hpp) and raise, which ends their tasks
within milliseconds.  The exception is re-raised once those threads have
stopped; nothing partial is returned.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable, Sequence

from .. import _core

__all__ = ["run_tasks"]

_WAKE_SECONDS = 0.2


def _with_flag(flag: _core.CancelFlag, fn: Callable, args: Sequence):
    with flag:  # the engine calls of this task obey the flag
        return fn(*args)


def _collect(pending: set, on_done: Callable[[object], None] | None) -> set:
    """Wait until one of ``pending`` finishes; hand what finished to ``on_done``; the rest."""
    # A timeout so that the main thread runs Python's signal handlers at
    # least this often even if the kernel handed SIGINT to a worker thread
    # (which does not wake this wait).
    done, pending = cf.wait(pending, timeout=_WAKE_SECONDS, return_when=cf.FIRST_COMPLETED)
    for f in done:
        result = f.result()
        if on_done is not None:
            on_done(result)
    return pending


def run_tasks(fn: Callable, tasks: Iterable[Sequence], workers: int, executor: cf.Executor | None = None,
              on_done: Callable[[object], None] | None = None, max_pending: int | None = None) -> list:
    """Call ``fn(*args)`` for each ``args`` in ``tasks``; the results in task order.

    Parameters
    ----------
    fn : callable
        Module level where ``executor`` may pickle it (process pools, Dask).
    tasks : iterable of sequences
        Positional arguments of each call, drawn lazily (as tasks are submitted).
    workers : int
        Threads of the pool run here when no ``executor`` is given; 1 runs
        the tasks on the calling thread (where Ctrl-C reaches the engine
        directly).
    executor : concurrent.futures.Executor, optional
        Runs the tasks instead (e.g. ``dask.distributed.Client.get_executor()``).
        On an exception its pending tasks are cancelled; tasks it is already
        running are beyond reach and left to finish.
    on_done : callable, optional
        ``on_done(result)`` on the calling thread as each task finishes
        (in completion order), e.g. to advance a progress bar.
    max_pending : int, optional
        At most this many tasks submitted and not finished (default: no
        bound, every task submitted at once).

    Returns
    -------
    list
        One result per task.

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C while the tasks run (or any exception a task raised): raised
        once the pool's threads have stopped.
    """
    tasks = iter(tasks)
    if executor is None and workers <= 1:
        results = []
        for args in tasks:
            results.append(fn(*args))
            if on_done is not None:
                on_done(results[-1])
        return results
    own = executor is None
    pool = cf.ThreadPoolExecutor(max_workers=workers) if own else executor
    flag = _core.CancelFlag()
    futures: list[cf.Future] = []
    try:
        pending: set[cf.Future] = set()
        for args in tasks:
            futures.append(pool.submit(_with_flag, flag, fn, args) if own else pool.submit(fn, *args))
            pending.add(futures[-1])
            while max_pending is not None and len(pending) >= max_pending:
                pending = _collect(pending, on_done)
        while pending:
            pending = _collect(pending, on_done)
        return [f.result() for f in futures]
    except BaseException:
        flag.cancel()
        for f in futures:
            f.cancel()
        raise
    finally:
        if own:  # after a cancel: waits the few milliseconds the running engine calls take to stop
            pool.shutdown(wait=True, cancel_futures=True)
