"""Hand a :class:`~glmmfast.design._design.ModelDesign` to the C++ engine.

:func:`engine_model` and :func:`lmm_engine_model` are the one place that
converts a design into the engine's GlmmModel / LmmModel (X, Z as CSC
arrays, response, weights, offset, family, the terms' shapes and covariance
structures); :func:`glm_start`
fits the GLM without random effects that starts the optimisation, as lme4
does.  (The family parameter estimated alongside theta and beta is set by
:meth:`~glmmfast.fit._family_parameter.FamilyParameter.set_on`.)
"""

from __future__ import annotations

import numpy as np

from .. import _core
from ..design._design import ModelDesign
from ._dispersion_model import dispersion_model_parameter

__all__ = ["engine_model", "lmm_engine_model", "glm_start", "engine_terms", "engine_csc"]


def engine_csc(Z) -> tuple:
    """A scipy CSC matrix as the engine's parts: rows, columns, indptr, indices (int32) and data (the arrays
    themselves where they have those types already: the engine copies them into its own matrix)."""
    return (Z.shape[0], Z.shape[1], np.asarray(Z.indptr, dtype=np.int32), np.asarray(Z.indices, dtype=np.int32),
            np.asarray(Z.data, dtype=float))


def _engine_arrays(design: ModelDesign) -> tuple:
    """X, Z (the engine's CscMatrix), y, weights and offset in the engine's layout."""
    return (np.asfortranarray(design.X, dtype=float), _core.CscMatrix(*design.z_csc),
            np.ascontiguousarray(design.y, dtype=float), np.ascontiguousarray(design.weights, dtype=float),
            np.ascontiguousarray(design.offset, dtype=float))


def engine_terms(terms: list) -> list:
    """Per term (ReTerm): columns, levels, covariance structure and its columns' coordinates."""
    return [_core.Term(t.k, t.nlevels, t.structure.name, t.structure.coords) for t in terms]


def _engine_terms(design: ModelDesign) -> list:
    """The engine's terms of the design's random effects."""
    return engine_terms(design.terms)


def engine_model(design: ModelDesign, factorization: str = "auto") -> "_core.GlmmModel":
    """Build the engine's GLMM for ``design`` (the sparsity pattern is analysed here, once).

    ``factorization`` ("auto", "sparse" or "blocked") picks the engine's
    Cholesky strategy; "auto" is right for fitting, the others exist so the
    two can be checked against each other.  A pattern that is diagonal (one
    ``(1 | g)`` term) or block-diagonal (one ``(x | g)`` term) takes its own
    factor unless "blocked" is asked for; the model's
    ``factorization`` property names the factor taken.
    """
    model = _core.GlmmModel(*_engine_arrays(design), design.family.engine, _engine_terms(design), factorization)
    if design.zi is not None:  # glmmTMB's ziformula: p = logistic(offset_zi + X_zi beta_zi)
        model.set_zero_inflation(np.asfortranarray(design.zi.X, dtype=float),
                                 np.ascontiguousarray(design.zi.offset, dtype=float))
    if design.disp is not None:  # glmmTMB's dispformula: the family parameter exp(power (offset_d + X_d beta_d))
        parameter, power = dispersion_model_parameter(design.family)
        model.set_dispersion_model(np.asfortranarray(design.disp.X, dtype=float),
                                   np.ascontiguousarray(design.disp.offset, dtype=float), parameter, power)
    return model


def lmm_engine_model(design: ModelDesign, factorization: str = "auto") -> "_core.LmmModel":
    """Build the engine's linear mixed model (gaussian, identity link) for ``design``
    (``factorization`` as :func:`engine_model`'s)."""
    return _core.LmmModel(*_engine_arrays(design), _engine_terms(design), factorization)


def glm_start(design: ModelDesign) -> dict:
    """IRLS fit of the fixed-effects-only GLM (starting values, and :func:`glmmfast.glm`)."""
    return _core.glm_irls(np.asfortranarray(design.X, dtype=float), design.y, design.weights,
                          design.offset, design.family.engine)
