"""Where independent tasks run: threads here, any concurrent.futures.Executor, or a Dask cluster.

Interface: :func:`resolve_workers` (``n_jobs`` and ``executor`` arguments
checked, before any work) -> :class:`Workers`, which :func:`run_tasks`
(``fit/_cancel.py``) is given as its ``executor`` and ``workers``, and
which moves data to where the tasks run:

- :meth:`Workers.share` -- what every task needs (the design, the
  estimates): on a Dask cluster installed on every worker once by a worker
  plugin (:mod:`~glmmfast.fit._worker_share`; not scattered, whose extra
  replicas the scheduler's memory manager drops), so tasks carry a
  :class:`SharedRef` to it, never a pickled copy; elsewhere the object
  itself.  A task reads it with :func:`task_value`; :meth:`Workers.unshare`
  drops the workers' copies at the end of the run.
- :meth:`Workers.fetch` -- one lazy block of data (a ``dask.delayed``): on a
  Dask cluster computed there (a future the task that reads it resolves on
  its worker, so the block never passes through this process); elsewhere
  computed here.

A ``dask.distributed.Client`` (or its ``get_executor()``) is recognised
without importing distributed: a user who has a client has imported it.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import sys
from dataclasses import dataclass

import numpy as np

from .._errors import ArgumentError, ArgumentTypeError

__all__ = ["Workers", "resolve_workers", "SharedRef", "task_value"]


@dataclass(frozen=True)
class SharedRef:
    """A task's handle on an object installed on its Dask worker (:meth:`Workers.share`)."""

    token: str

    def value(self):
        """The object, on the worker running this task."""
        from ._worker_share import shared_value
        return shared_value(self)


def task_value(shared):
    """In a task: what :meth:`Workers.share` returned, as the object (a :class:`SharedRef` resolved)."""
    return shared.value() if isinstance(shared, SharedRef) else shared


@dataclass(frozen=True)
class Workers:
    """Where tasks run.

    Attributes
    ----------
    executor : concurrent.futures.Executor or None
        None: a pool of ``threads`` threads that run_tasks owns (1: the
        calling thread).
    threads : int
        How many tasks can run at once.
    client : dask.distributed.Client or None
        Set when the executor is a Dask cluster's.
    """

    executor: cf.Executor | None
    threads: int
    client: object | None = None

    def share(self, obj):
        """``obj`` as every task will receive it: a :class:`SharedRef` to its one copy on each Dask worker, or itself."""
        if self.client is None:
            return obj
        from ._worker_share import share_on_workers
        return share_on_workers(self.client, obj)

    def unshare(self, shared) -> None:
        """The end of the run: the workers drop what :meth:`share` installed (nothing to do elsewhere)."""
        if isinstance(shared, SharedRef):
            from ._worker_share import unshare
            unshare(self.client, shared)

    def fetch(self, lazy):
        """The value of a ``dask.delayed`` ``lazy``: a future on the cluster, or computed here."""
        if self.client is None:
            return lazy.compute()
        return self.client.compute(lazy)


def _dask_client(executor):
    """The ``dask.distributed.Client`` behind ``executor``, or None."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    if isinstance(executor, distributed.Client):
        return executor
    from distributed.cfexecutor import ClientExecutor
    if isinstance(executor, ClientExecutor):
        return executor._client  # the client it submits to (distributed keeps no public handle)
    return None


def resolve_workers(executor, n_jobs: int = -1) -> Workers:
    """Check ``n_jobs`` and ``executor`` and say where tasks will run.

    Parameters
    ----------
    executor : None, concurrent.futures.Executor or dask.distributed.Client
        None: threads here, ``n_jobs`` of them.
    n_jobs : int
        Threads when ``executor`` is None (-1: all cores; 1: the calling thread).

    Returns
    -------
    Workers

    Raises
    ------
    ArgumentError
        ``n_jobs`` is not a positive integer or -1 (a ValueError).
    ArgumentTypeError
        ``executor`` is of any other type (a TypeError).
    """
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ArgumentError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    threads = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    if executor is None:
        return Workers(None, threads)
    client = _dask_client(executor)
    if client is not None:
        return Workers(client.get_executor(pure=False), max(1, sum(client.nthreads().values())), client)
    if not isinstance(executor, cf.Executor):
        raise ArgumentTypeError("executor must be a concurrent.futures.Executor or a dask.distributed.Client, "
                                f"not {type(executor).__name__}")
    return Workers(executor, max(threads, 2, getattr(executor, "_max_workers", 0) or 0))
