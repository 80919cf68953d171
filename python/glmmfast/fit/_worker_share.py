"""What every task of a run needs, installed once on each Dask worker by a worker plugin.

Interface: :func:`share_on_workers` (client, obj) -> a
:class:`~glmmfast.fit._executors.SharedRef`, the small handle the tasks
carry instead of the object; :func:`shared_value` (on the worker, in the
task; ``SharedRef.value`` calls it) -> the object; :func:`unshare`
(client, ref) at the end of the run: every worker drops its copy.

The object travels inside a ``WorkerPlugin`` registered under the run's
token: the scheduler sends the pickled plugin to every worker once (and to
any worker that joins later), the worker unpickles it once and its
``setup`` keeps the object in this module's ``_SHARED``, keyed by the token
and the worker's address (a LocalCluster with ``processes=False`` runs its
workers in one process).  Unregistering the plugin calls ``teardown`` on
each worker, which drops it.

Why not ``client.scatter(obj, broadcast=True)``: a scattered key is data
the scheduler manages, and its Active Memory Manager (the default
``ReduceReplicas`` policy, every 2 s) drops every replica beyond one of a
key that no task is waiting for.  Between the scatter and the first tasks'
submission (and in any gap where fewer tasks wait than workers hold
copies) a worker's copy could be dropped, and that worker then fetched and
unpickled the object again for its next task: the "job reached a worker
twice" seen under load (issue 19).  A plugin is not data: nothing drops it.
This module imports ``distributed``; import it only where a client exists.
"""

from __future__ import annotations

import uuid

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from ._executors import SharedRef

__all__ = ["share_on_workers", "shared_value", "unshare"]

# On each worker process: (token, worker address) -> the shared object.
_SHARED: dict[tuple[str, str], object] = {}


class _SharedObject(WorkerPlugin):
    """Carries ``obj`` to each worker once and keeps it there while registered."""

    def __init__(self, token: str, obj: object):
        self.token, self.obj = token, obj

    def setup(self, worker) -> None:
        _SHARED[(self.token, worker.address)] = self.obj

    def teardown(self, worker) -> None:
        _SHARED.pop((self.token, worker.address), None)


def share_on_workers(client, obj: object) -> SharedRef:
    """Install ``obj`` on every worker of ``client`` (present and future); the tasks' handle on it."""
    ref = SharedRef("glmmfast-shared-" + uuid.uuid4().hex)
    client.register_plugin(_SharedObject(ref.token, obj), name=ref.token)
    return ref


def shared_value(ref: SharedRef) -> object:
    """The object ``ref`` names, on the worker running this task."""
    try:
        return _SHARED[(ref.token, get_worker().address)]
    except KeyError:
        raise RuntimeError(f"{ref.token} is not installed on this worker (was the run finished?)") from None


def unshare(client, ref: SharedRef) -> None:
    """Drop ``ref``'s object on every worker (unregister its plugin)."""
    client.unregister_worker_plugin(ref.token)
