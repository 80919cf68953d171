"""R's model frame on a pandas DataFrame: which columns a formula uses, and its grouping factors.

Interface
---------
variables_in(expr) -> set[str]
    The data columns an R expression (a syntax tree, or R text) uses.
grouping_factor(expr, data) -> (codes, levels)
    A bar's grouping factor ``g`` or interaction ``a:b:c`` as R's factor().
complete_rows(data, columns) -> ndarray of bool
    R's complete.cases on those columns (pandas' notna, read from the arrays).

The rest of the model frame has its own modules, re-exported here for the
callers that see the model frame as one thing: the model matrix
(:mod:`._model_matrix`: ``model_design``, ``apply_design``, ``Design``,
``DesignSpec``, ``term_labels``, ``term_columns``, ``term_cell_matrix``),
the response (:mod:`._response`: ``evaluate_response``, ``Response``) and the
R expression interpreter they share (:mod:`._r_eval`: ``level_label``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._formula import as_expression, grouping_parts, refuses_deep_nesting
from ._deparse import deparse
from ._model_matrix import (Design, DesignSpec, apply_design, model_design, term_cell_matrix, term_columns,
                            term_labels)
from ._nodes import Node, iter_names
from ._r_eval import as_factor, column_array, drop_unused, evaluate, level_label
from ._response import Response, evaluate_response

__all__ = [
    "grouping_factor",
    "complete_rows",
    "Design",
    "DesignSpec",
    "Response",
    "variables_in",
    "model_design",
    "apply_design",
    "evaluate_response",
    "term_labels",
    "term_columns",
    "term_cell_matrix",
    "level_label",
]


def complete_rows(data: pd.DataFrame, columns) -> np.ndarray:
    """Rows of ``data`` with no missing value in ``columns`` (R's ``complete.cases``).

    As pandas' ``notna``, read from each column's array where that is direct:
    a categorical's codes (-1 = missing), NaN in numpy floats, none in numpy
    integers and booleans (a small model's design would otherwise spend a
    fifth of its time in ``notna``).
    """
    complete = np.ones(len(data), dtype=bool)
    for c in columns:
        values = column_array(data, c)
        dtype = None if values is None else values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            complete &= values.codes >= 0
        elif isinstance(dtype, np.dtype) and dtype.kind in "iub":
            continue
        elif isinstance(dtype, np.dtype) and dtype.kind == "f":
            complete &= ~np.isnan(values)
        else:
            complete &= data[c].notna().to_numpy()
    return complete


@refuses_deep_nesting
def variables_in(expr: Node | str) -> set[str]:
    """Return the data column names an R expression refers to.

    Parameters
    ----------
    expr : Node or str
        A syntax tree, or R text, e.g. ``"cbind(incidence, size - incidence)"``
        or ``"log(x) + I(z^2) + a*b"``.

    Returns
    -------
    set of str
        Symbols used as values; function and argument names are excluded.

    Raises
    ------
    FormulaError
        If ``expr`` is text that does not parse.
    """
    return set(iter_names(as_expression(expr)))


@refuses_deep_nesting
def grouping_factor(expr: Node | str, data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Codes and levels of a grouping factor ``g`` or interaction ``a:b:c``.

    As R's ``factor()`` of the expression, unused levels dropped: an
    interaction's levels are the observed combinations, the first factor
    varying slowest, labelled ``"la:lb"``.

    Parameters
    ----------
    expr : Node or str
        A bar's grouping factor (``RandomTermSpec.group_expr``), or its R
        text, e.g. ``"LOCATION"`` or ``"b:a"``.
    data : DataFrame
        Complete rows.

    Returns
    -------
    codes : ndarray of int64
        Level index of each row.
    levels : list of str
    """
    node = as_expression(expr)
    term = deparse(node)
    n = len(data)
    factors = [drop_unused(as_factor(evaluate(part, data, term), n)) for part in grouping_parts(node)]
    if len(factors) == 1:
        return factors[0].codes, factors[0].levels
    combo = np.stack([f.codes for f in factors], axis=1)
    uniq, codes = np.unique(combo, axis=0, return_inverse=True)
    labels = [":".join(f.levels[c] for f, c in zip(factors, row)) for row in uniq]
    return codes.reshape(-1).astype(np.int64), labels
