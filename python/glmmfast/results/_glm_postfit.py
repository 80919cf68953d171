"""After a GLM fit: predictions with standard errors, confidence intervals, simulated responses.

Interface (behind :class:`glmmfast.GlmResult`'s methods)
---------
predict_glm(result, newdata=None, type="link", se_fit=False, offset=None)
    R's ``predict.glm``: eta = X beta + offset on the fitted rows or on new
    data (through the fit's stored encoding); with ``se_fit`` a
    :class:`GlmPrediction` (fit, se_fit, residual_scale).
confint_glm(result, method="Wald", level=0.95)
    R's ``confint.default`` (Wald) or ``confint`` of a glm (profile
    likelihood, MASS's ``profile.glm``).
simulate_glm(result, nsim=1, seed=None, newdata=None, offset=None)
    R's ``simulate`` for a glm (Poisson and binomial responses).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import _core
from .._arguments import check_choice, check_level, check_nsim
from .._errors import ConvergenceError
from ..formula._model_frame import apply_design
from ._predict import fixed_part

__all__ = ["GlmPrediction", "predict_glm", "confint_glm", "simulate_glm"]


class GlmPrediction(NamedTuple):
    """``predict(fit, se_fit=True)``, as R's list: fitted values, their standard errors and sqrt(dispersion)."""

    fit: np.ndarray
    se_fit: np.ndarray
    residual_scale: float


def _model_matrix(result, newdata: pd.DataFrame | None) -> np.ndarray:
    return result._design.X if newdata is None else apply_design(result._design.x_spec, newdata).X


def predict_glm(result, newdata: pd.DataFrame | None = None, type: str = "link", se_fit: bool = False,
                offset=None):
    """Predictions of a fitted GLM (see :meth:`glmmfast.GlmResult.predict`)."""
    check_choice("type", type, ("link", "response"))
    eta = fixed_part(result._design, result.coef.to_numpy(), newdata, offset)
    fam = result.family
    fit = np.asarray(fam.linkinv(eta), dtype=float) if type == "response" else eta
    if not se_fit:
        return fit
    # Var(x' beta-hat) = x' V x (V already includes the dispersion); on the response
    # scale by the delta method, |d mu / d eta| times the link-scale SE (as predict.glm).
    X = _model_matrix(result, newdata)
    se = np.sqrt(np.einsum("ij,jk,ik->i", X, result.vcov.to_numpy(), X))
    if type == "response":
        se = se * np.abs(np.asarray(fam.mu_eta(eta), dtype=float))
    return GlmPrediction(fit, se, float(np.sqrt(result.dispersion)))


def _columns(level: float) -> list[str]:
    a = (1 - level) / 2
    return [f"{100 * a:.3g} %", f"{100 * (1 - a):.3g} %"]


def confint_glm(result, method: str = "Wald", level: float = 0.95) -> pd.DataFrame:
    """Confidence intervals of a GLM's coefficients (see :meth:`glmmfast.GlmResult.confint`)."""
    from scipy import optimize, stats
    level = check_level(level)
    check_choice("method", method, ("Wald", "profile"))
    z = float(stats.norm.ppf(0.5 + level / 2))
    est, se = result.coef.to_numpy(), result.se.to_numpy()
    if method == "Wald":
        lo, hi = est - z * se, est + z * se
    else:
        tau = _ProfileDeviance(result)
        lo, hi = np.empty_like(est), np.empty_like(est)
        for j in range(est.size):
            for side, out in ((-1, lo), (1, hi)):
                # zeta(b) = sign(b - b-hat) sqrt((D(b) - D-hat) / phi) crosses side * z; bracket it
                # by steps of the standard error (the profile is close to linear in them).
                step, inner = 1.0, est[j]
                while step <= 64:
                    outer = est[j] + side * step * z * se[j]
                    if abs(tau.zeta(j, outer)) >= z:
                        break
                    inner, step = outer, step * 2
                else:
                    out[j] = np.nan
                    continue
                out[j] = optimize.brentq(lambda b: tau.zeta(j, b) - side * z, min(inner, outer), max(inner, outer),
                                         xtol=1e-10 * max(1.0, abs(est[j])))
    return pd.DataFrame({c: v for c, v in zip(_columns(level), (lo, hi))}, index=result.coef.index)


class _ProfileDeviance:
    """The GLM's deviance with coefficient j held at b (the others refitted by IRLS, x_j b in the offset)."""

    def __init__(self, result) -> None:
        d = result._design
        self.d, self.family = d, result.family
        self.beta, self.deviance, self.dispersion = result.coef.to_numpy(), result.deviance, result.dispersion

    def zeta(self, j: int, b: float) -> float:
        d = self.d
        X = np.asfortranarray(np.delete(d.X, j, axis=1))
        offset = d.offset + d.X[:, j] * b
        try:
            if X.shape[1]:
                dev = float(_core.glm_irls(X, d.y, d.weights, offset, self.family.engine)["deviance"])
            else:
                dev = float(np.sum(self.family.dev_resid(d.y, self.family.linkinv(offset), d.weights)))
        except RuntimeError as e:
            raise ConvergenceError(f"profiling coefficient {j + 1}: {e}") from None
        return float(np.sign(b - self.beta[j]) * np.sqrt(max(dev - self.deviance, 0.0) / self.dispersion))


def simulate_glm(result, nsim: int = 1, seed=None, newdata: pd.DataFrame | None = None, offset=None) -> np.ndarray:
    """Responses drawn from a fitted GLM (see :meth:`glmmfast.GlmResult.simulate`)."""
    from ._simulate import ResponseSimulator
    nsim = check_nsim(nsim)
    # A GLM is a GLMM without random-effects terms: the same simulator, nothing to draw but y.
    sim = ResponseSimulator(result._design, result.coef.to_numpy(), np.zeros(0), [], None, newdata, False, offset)
    return sim.draw(np.random.default_rng(seed), int(nsim))
