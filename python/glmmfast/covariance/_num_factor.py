"""Factors whose levels are coordinates, as glmmTMB's ``numFactor`` writes them.

:func:`num_factor` builds the column the distance-based structures (``ou``,
``exp``, ``gau``, ``mat``) read: level labels ``"(x)"`` or ``"(x,y)"``, each
coordinate written as R's ``as.character`` writes a number (15 significant
digits, no trailing zeros), levels ordered as glmmTMB orders them (the
distinct points sorted by the first coordinate, then stably by the second,
and so on: the first coordinate runs fastest).  :func:`parse_num_levels`
reads the coordinates back from such labels (glmmTMB's ``parseNumLevels``),
also from model-matrix column names that carry a prefix (``"pos(1,2)"``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .._errors import ArgumentError, DataError

__all__ = ["num_factor", "parse_num_levels"]

_LABEL = re.compile(r"^.*?(\([^()]+\))$")


def _r_number(v: float) -> str:
    """A number as R's as.character writes it (15 significant digits)."""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.15g}"


def num_factor(x, y=None, *more) -> pd.Categorical:
    """A factor whose levels are coordinates (glmmTMB's ``numFactor``).

    Parameters
    ----------
    x : array_like
        First coordinate (times for ``ou``; the first axis for spatial
        structures) of each observation.
    y, *more : array_like, optional
        Further coordinates, of the same length.

    Returns
    -------
    pandas.Categorical
        Labels ``"(x)"`` or ``"(x,y)"``; levels ordered by the coordinates, the
        first running fastest, as glmmTMB's numFactor.

    Raises
    ------
    ArgumentError
        Coordinates of different lengths, not numeric, or not finite.

    Examples
    --------
    >>> import glmmfast
    >>> f = glmmfast.num_factor([2, 0.5, 2])
    >>> list(f.categories)
    ['(0.5)', '(2)']
    >>> list(glmmfast.num_factor([1, 0, 1], [0, 1, 1]).categories)
    ['(1,0)', '(0,1)', '(1,1)']
    """
    cols = [x] + ([] if y is None else [y]) + list(more)
    try:
        arrays = [np.asarray(c, dtype=float) for c in cols]
    except (TypeError, ValueError) as err:
        raise ArgumentError(f"num_factor needs numeric coordinates: {err}") from None
    n = arrays[0].shape
    if any(a.ndim != 1 or a.shape != n for a in arrays):
        raise ArgumentError("num_factor's coordinates must be vectors of one length")
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ArgumentError("num_factor's coordinates must be finite")
    labels = ["(" + ",".join(_r_number(v) for v in point) + ")" for point in zip(*arrays)]
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        seen.setdefault(lab, i)
    order = list(seen.values())
    for a in arrays:  # stable sorts, first coordinate last: it runs fastest
        order.sort(key=lambda i: a[i])
    return pd.Categorical(labels, categories=[labels[i] for i in order])


def parse_num_levels(labels: list[str]) -> np.ndarray:
    """Coordinates (one row per label) from numFactor labels, prefixed or not.

    Raises
    ------
    DataError
        A label that is not ``prefix(x,...)`` with numbers, or labels with
        different numbers of coordinates.
    """
    rows = []
    for lab in labels:
        m = _LABEL.match(str(lab))
        try:
            if m is None:
                raise ValueError
            rows.append([float(v) for v in m.group(1)[1:-1].split(",")])
        except ValueError:
            raise DataError(f"cannot read coordinates from the level {lab!r}: use glmmfast.num_factor "
                            "for the column of a distance-based structure (ou, exp, gau, mat)") from None
    if len({len(r) for r in rows}) > 1:
        raise DataError("the levels' coordinates have different dimensions")
    return np.asarray(rows, dtype=float)
