"""The model response: a formula's left-hand side evaluated as R's model.response and the binomial family read it.

Interface
---------
evaluate_response(expr, data) -> Response
    ``cbind(successes, failures)`` as an ``(n, 2)`` array, a factor as 0 for
    its first level and 1 otherwise, a logical as 0/1, anything else as a
    finite number.
Response
    The values, their kind and (for a factor) its levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from glmmfast._errors import DataError, FormulaError

from ._deparse import deparse
from ._formula import as_expression, refuses_deep_nesting
from ._nodes import Call, Name, Node, unparen
from ._r_eval import Factor, as_factor, broadcast, complete_factor, drop_unused, evaluate, finite_numeric

__all__ = ["Response", "evaluate_response"]


@dataclass
class Response:
    """An evaluated model response.

    Attributes
    ----------
    values : numpy.ndarray
        float64, ``(n,)``, or ``(n, 2)`` ``[successes, failures]`` for cbind.
    kind : str
        ``"numeric"``, ``"cbind"``, ``"factor"`` (first level 0, others 1, as
        R's binomial family) or ``"bool"`` (True is 1).
    levels : list of str or None
        Factor levels (unused ones dropped) for ``kind == "factor"``.
    """

    values: np.ndarray
    kind: str
    levels: list[str] | None


@refuses_deep_nesting
def evaluate_response(expr: Node | str, data: pd.DataFrame) -> Response:
    """Evaluate a model response.

    Parameters
    ----------
    expr : Node or str
        The formula's left side (``ParsedFormula.response_expr``), or its R
        text, e.g. ``"TICKS"``, ``"y/n"``, ``"cbind(incidence, size - incidence)"``.
    data : pandas.DataFrame
        Not modified.

    Returns
    -------
    Response
        ``cbind(a, b)`` gives an ``(n, 2)`` array; a categorical or string
        response gives 0 for its first level and 1 otherwise (R's binomial
        convention); a logical gives 0/1.

    Raises
    ------
    DataError
        Unknown column, non-finite or missing values.
    FormulaError
        Bad syntax, or cbind() without exactly two columns.
    """
    node = as_expression(expr)
    expr = deparse(node)  # names the response in error messages
    n = len(data)
    core = unparen(node)
    if isinstance(core, Call) and isinstance(core.func, Name) and core.func.name == "cbind":
        if len(core.args) != 2 or any(a.name is not None for a in core.args):
            raise FormulaError(f"cbind() in the response must have exactly two "
                               f"unnamed columns (successes, failures): {expr!r}")
        cols = [finite_numeric(evaluate(a.value, data, expr), n, deparse(a.value))
                for a in core.args]
        return Response(np.column_stack(cols).astype(np.float64), "cbind", None)
    value = evaluate(node, data, expr)
    if isinstance(value, (Factor, str)):
        f = drop_unused(complete_factor(as_factor(value, n), expr))
        return Response((f.codes != 0).astype(np.float64), "factor", list(f.levels))
    if isinstance(value, np.ndarray) and value.dtype == bool or isinstance(value, bool):
        return Response(np.asarray(broadcast(value, n), dtype=np.float64), "bool", None)
    return Response(finite_numeric(value, n, expr), "numeric", None)

