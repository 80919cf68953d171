"""The formula a summary prints: a fit's parsed formula tree.

Interface
---------
formula_tree(res) -> Node
    The ``~`` syntax tree the formula parser made of the fit's formula
    (``res._design.parsed.formula`` when the result carries its design), or,
    for a duck-typed result with only ``res.formula`` (R text), that text
    parsed.  The summaries deparse it as R does (:func:`~glmmfast.formula._deparse.deparse_lines`).
"""

from __future__ import annotations

from typing import Any

from ..formula._formula import parse_formula_tree
from ..formula._nodes import Node

__all__ = ["formula_tree"]


def formula_tree(res: Any) -> Node:
    """The fit's formula as a ``~`` syntax tree.

    Parameters
    ----------
    res : object
        A fit result (its design's parsed formula is used), or any object
        with a ``formula`` attribute (R text or a ``~`` tree).

    Returns
    -------
    BinOp or UnaryOp
    """
    parsed = getattr(getattr(res, "_design", None), "parsed", None)
    tree = getattr(parsed, "formula", None)
    return parse_formula_tree(res.formula if tree is None else tree)
