"""The responses of :func:`~glmmfast.fit_many`, checked and cut into blocks of columns.

Interface: :func:`response_columns` (``responses``, the data, ``names``)
-> :class:`ResponseColumns`: ``names`` (one per response, in order),
``first()`` (the first response, for building the design), ``check(rows)``
(missing values on the model's rows, for in-memory responses) and
``blocks(width)`` (the responses as (names, block) in order, ``block`` an
(n, width) array over all the data's rows, or for a Dask array a
``dask.delayed`` of it, so that a block exists only when a task needs it).

Three forms are accepted: column names of the data; a 2-D numpy array of
shape (n, m), one response per column; a Dask array of that shape, for m
too large to hold (only one block of columns is computed at a time, by
whoever reads it: a Dask worker, or this process).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._errors import ArgumentTypeError, DataError

__all__ = ["ResponseColumns", "response_columns"]


def _dask_array(obj) -> bool:
    da = sys.modules.get("dask.array")  # imported by whoever made one
    return da is not None and isinstance(obj, da.Array)


def _numeric(dtype) -> bool:
    return np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)


def _missing_message(name: str) -> str:
    return f"response {name!r} must be numeric without missing values on the model's rows"


@dataclass
class ResponseColumns:
    """Many responses over the rows of one data frame (see the module's docstring).

    Attributes
    ----------
    names : list of str
    values : DataFrame, numpy array or Dask array
        The data (names are its columns) or the (n, m) array.
    """

    names: list[str]
    values: object

    @property
    def lazy(self) -> bool:
        """A Dask array: blocks are computed where they are read."""
        return _dask_array(self.values)

    def _columns(self, start: int, stop: int) -> np.ndarray:
        if isinstance(self.values, pd.DataFrame):
            return self.values[self.names[start:stop]].to_numpy(dtype=float)
        return np.asarray(self.values[:, start:stop])

    def first(self) -> np.ndarray:
        """The first response over all rows, missing values replaced by its first finite value.

        The design is built with it (rows are then dropped for missing
        covariates only; each response is checked on its own).
        """
        y = np.asarray(self.values[:, 0].compute() if self.lazy else self._columns(0, 1)[:, 0], dtype=float)
        finite = np.isfinite(y)
        if not finite.any():
            raise DataError(_missing_message(self.names[0]))
        return np.where(finite, y, y[finite][0])

    def check(self, rows: np.ndarray | None, width: int) -> None:
        """Refuse in-memory responses with a missing value on ``rows`` (positions; None: all).

        Dask arrays are not read here: a response of one with a missing value
        is a failed fit, reported in its row.
        """
        if self.lazy:
            return
        for start in range(0, len(self.names), width):
            block = self._columns(start, start + width)
            ok = np.isfinite(block if rows is None else block[rows]).all(axis=0)
            if not ok.all():
                raise DataError(_missing_message(self.names[start + int(np.flatnonzero(~ok)[0])]))

    def blocks(self, width: int | None) -> Iterator[tuple[list[str], object]]:
        """(names, block) per block of ``width`` columns, in order.

        ``width=None`` for a Dask array keeps its own column chunks.
        """
        if not self.lazy:
            for start in range(0, len(self.names), width):
                yield self.names[start:start + width], self._columns(start, start + width)
            return
        arr = self.values.rechunk({0: -1} if width is None else {0: -1, 1: width})
        start = 0
        for lazy, w in zip(arr.to_delayed()[0], arr.chunks[1]):
            yield self.names[start:start + w], lazy
            start += w


def response_columns(responses, data: pd.DataFrame, names=None) -> ResponseColumns:
    """Check ``responses`` against the data and wrap them.

    Parameters
    ----------
    responses : list of str, numpy array or Dask array
        Column names of ``data``, or an (n, m) array with n = ``len(data)``.
    data : DataFrame
    names : list of str, optional
        Names of an array's columns (default ``y0``, ``y1``, ...).

    Raises
    ------
    DataError
        Unknown or non-numeric columns, an array of another number of rows
        or not numeric, or names that do not match its columns.
    ArgumentTypeError
        ``responses`` is none of the three forms.
    """
    if isinstance(responses, np.ndarray) or _dask_array(responses):
        if responses.ndim != 2:
            raise DataError(f"a response array must be 2-D (rows x responses), got {responses.ndim} dimensions")
        n, m = responses.shape
        if n != len(data):
            raise DataError(f"the response array has {n} rows but the data have {len(data)}")
        if m == 0:
            raise DataError("the response array has no columns")
        if not _numeric(responses.dtype):
            raise DataError(f"responses must be numeric, got an array of {responses.dtype}")
        names = [f"y{i}" for i in range(m)] if names is None else [str(v) for v in names]
        if len(names) != m or len(set(names)) != m:
            raise DataError(f"names must be {m} distinct names, one per column of the response array")
        return ResponseColumns(names, responses)
    if names is not None:
        raise DataError("names= names the columns of a response array; column responses have their names")
    if isinstance(responses, str) or not isinstance(responses, (list, tuple, pd.Index)) or not len(responses):
        if isinstance(responses, str) or isinstance(responses, (list, tuple, pd.Index)):
            raise DataError("responses must be a non-empty list of column names")
        raise ArgumentTypeError("responses must be a list of column names, a 2-D numpy array or a Dask array, "
                                f"not {type(responses).__name__}")
    responses = list(responses)
    missing = [r for r in responses if r not in data.columns]
    if missing:
        raise DataError(f"unknown response column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    for r in responses:
        if not pd.api.types.is_numeric_dtype(data[r]):
            raise DataError(_missing_message(r))
    return ResponseColumns(responses, data)
