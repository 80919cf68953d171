"""Values computed from an immutable pandas object, remembered per object (by identity).

Interface
---------
remembered(obj, compute) -> value
    ``compute(obj)``, computed once per object ``obj`` and function
    ``compute`` (a module-level function: a new lambda per call is never
    found again) while ``obj`` lives.

For pandas objects that cannot change once made (an Index such as a
DataFrame's ``columns``, a ``CategoricalDtype``) whose plain reading is slow
(an arrow-backed string Index's ``tolist()`` costs ~70 us): a DataFrame fitted
again keeps these objects, so a second fit reads them for free.  Keyed by
identity, never by equality (unordered categorical dtypes with the same
categories in another order compare equal), and held by weak reference: the
entry goes when the object does, and an object made later at the same
address is not mistaken for it.  Values should be immutable (tuples):
every caller gets the same one.
"""

from __future__ import annotations

import weakref
from typing import Callable, TypeVar

__all__ = ["remembered"]

T = TypeVar("T")

#: (id(obj), compute) -> (weak reference to obj, value)
_MEMO: dict[tuple[int, Callable], tuple[weakref.ref, object]] = {}


def remembered(obj, compute: Callable[[object], T]) -> T:
    """``compute(obj)``, remembered for as long as ``obj`` lives (computed anew where it cannot be weakly
    referenced)."""
    key = (id(obj), compute)
    hit = _MEMO.get(key)
    if hit is not None and hit[0]() is obj:
        return hit[1]
    value = compute(obj)
    try:
        # the dict bound as a default: at interpreter exit the module's globals may be gone before the callback runs
        ref = weakref.ref(obj, lambda _, key=key, memo=_MEMO: memo.pop(key, None))
    except TypeError:
        return value
    _MEMO[key] = (ref, value)
    return value
