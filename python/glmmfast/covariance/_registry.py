"""Covariance structures by name: what ``name(lhs | group)`` in a formula means.

:data:`STRUCTURES` maps each name to its class; :func:`make_structure` builds
one for a term.  Adding a structure: its own module and one line here (and
the engine's ``cpp/src/covariance/registry.cpp``).
"""

from __future__ import annotations

import numpy as np

from ._ar1 import Ar1
from ._base import CovarianceStructure
from ._compound_symmetry import CompoundSymmetry
from ._diagonal import Diagonal
from ._exponential import Exponential
from ._gaussian import GaussianCorrelation
from ._matern import Matern
from ._ornstein_uhlenbeck import OrnsteinUhlenbeck
from ._toeplitz import Toeplitz
from ._unstructured import Unstructured

__all__ = ["STRUCTURES", "make_structure"]

STRUCTURES: dict[str, type[CovarianceStructure]] = {
    cls.name: cls for cls in (Unstructured, Diagonal, CompoundSymmetry, Ar1, Toeplitz, OrnsteinUhlenbeck,
                              Exponential, GaussianCorrelation, Matern)
}


def make_structure(name: str, k: int, coords: np.ndarray | None = None) -> CovarianceStructure:
    """The structure ``name`` for a term with ``k`` columns (and their coordinates)."""
    return STRUCTURES[name](k, coords)
