"""Hand a :class:`~glmmfast._design.ModelDesign` to the C++ engine.

:func:`engine_model` is the one place that converts a design into the
engine's GlmmModel (X, Z as CSC arrays, response, weights, offset, family,
term shapes); :func:`glm_start` fits the GLM without random effects that
starts the optimisation, as lme4 does.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._design import ModelDesign

__all__ = ["engine_model", "glm_start"]


def engine_model(design: ModelDesign, factorization: str = "auto") -> "_core.GlmmModel":
    """Build the engine's model for ``design`` (the sparsity pattern is analysed here, once).

    ``factorization`` ("auto", "sparse" or "blocked") picks the engine's
    Cholesky strategy; "auto" is right for fitting, the others exist so the
    two can be checked against each other.
    """
    Z = design.Z
    return _core.GlmmModel(
        np.asfortranarray(design.X, dtype=float), Z.shape[0], Z.shape[1],
        Z.indptr.astype(np.int32), Z.indices.astype(np.int32), Z.data.astype(float),
        np.ascontiguousarray(design.y, dtype=float), np.ascontiguousarray(design.weights, dtype=float),
        np.ascontiguousarray(design.offset, dtype=float), design.family.name, design.family.link,
        [t.k for t in design.terms], [t.nlevels for t in design.terms], factorization,
    )


def glm_start(design: ModelDesign) -> dict:
    """IRLS fit of the fixed-effects-only GLM (starting values, and :func:`glmmfast.glm`)."""
    return _core.glm_irls(np.asfortranarray(design.X, dtype=float), design.y, design.weights,
                          design.offset, design.family.engine)
