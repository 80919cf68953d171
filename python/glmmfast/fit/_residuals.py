"""Residuals of a GLM-type fit from its family, response and fitted means (R's ``residuals(fit, type)``).

Holds :func:`residuals_of`, shared by the GLM and mixed-model results and by
the fit itself (the Pearson estimate that starts a dispersion).
"""

from __future__ import annotations

import numpy as np

from .._arguments import check_choice

__all__ = ["residuals_of", "RESIDUAL_TYPES"]

RESIDUAL_TYPES = ("deviance", "pearson", "response", "working")


def residuals_of(family, y, mu, eta, weights, kind: str) -> np.ndarray:
    """Residuals of a GLM-type fit, as R's ``residuals(fit, type=kind)``."""
    check_choice("residual type", kind, RESIDUAL_TYPES)
    if kind == "response":
        return y - mu
    if kind == "working":
        return (y - mu) / family.mu_eta(eta)
    if kind == "pearson":
        return (y - mu) * np.sqrt(weights) / np.sqrt(family.variance(mu))
    if kind == "deviance":
        d = np.maximum(family.dev_resid(y, mu, weights), 0.0)
        return np.sign(y - mu) * np.sqrt(d)
    raise AssertionError(kind)  # unreachable: checked above
