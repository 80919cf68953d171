"""The optional progress bar of long runs (the bootstrap, fit_many).

Interface: :func:`progress_bar` -> a tqdm bar (``update(n)``, ``close()``),
or None when progress is off or tqdm (the ``progress`` extra) is not
installed; callers then simply skip the updates.
"""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(total: int, enabled: bool, desc: str, unit: str):
    """A tqdm bar counting to ``total`` (written to stderr), or None.

    Parameters
    ----------
    total : int
    enabled : bool
        False: no bar, nothing printed.
    desc, unit : str
        The bar's label and the name of what it counts.
    """
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None

    class Bar(tqdm):
        # No monitor thread (tqdm's default starts one that outlives the bar): a run
        # leaves no thread behind, finished or interrupted.
        monitor_interval = 0

    return Bar(total=total, desc=desc, unit=unit)
