"""``glmer``: fit a GLMM by maximum likelihood (lme4's staged pipeline).

The stages are separate functions, each callable and testable on its own:
:func:`~glmmfast.design._design.model_design_for` (formula and data -> design),
:func:`~glmmfast.fit._fit_state.fit_glmm` (design -> engine -> optimum, as a
:class:`~glmmfast.fit._fit_state.FitState`) and
:class:`~glmmfast.results._results.GlmerResult` (state -> result).  Time spent in
each stage is recorded in ``result.optinfo.seconds``.

:func:`glmer_nb` is lme4's ``glmer.nb``: the negative-binomial shape theta is
estimated by maximum likelihood jointly with theta and beta (one more
coordinate of the same optimisation,
:func:`~glmmfast.fit._family_parameter.nb_shape_parameter`), started from a
moment estimate.

These public fitting functions sit on top of the pipeline: they import the
results they return (the fitting machinery itself, ``_fit_state`` and
below, does not).
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np
import pandas as pd

from .. import _core
from .._errors import ArgumentError
from ._agq import check_nagq
from ..design._design import ModelDesign, dataset_name, model_design_for
from ..design._design_checks import failures_blamed_on_scales
from ._family_parameter import (FamilyParameter, JointShapeParameters, joint_shape_parameters, nb_shape_parameter,
                                power_parameter, shape_parameter)
from ._fit_state import fit_glmm
from ._moment_start import excess_ratio, nb_theta_from_excess, poisson_excess_sums
from ._partitioned import PartitionedNotSupported, glmer_partitioned, is_dask_dataframe
from ._fit_warnings import warn_fit_messages
from ._lmer import lmer
from ..results._results import GlmerResult, LmerResult
from ..results._zi_random_effects_result import ZiRandomEffectsResult
from ._zi_random_effects import fit_zi_random_effects
from ..families import Beta, BetaBinomial, Family, NegativeBinomial, Poisson, StudentT, Tweedie, _PhiFamily
from ._dispersion_model import check_dispformula, dispersion_design, uses_dispersion_model
from ._zero_inflation import check_zero_inflation_family, has_zero_inflation, tmb_family, zero_inflation_design

__all__ = ["glmer", "glmer_nb"]


def glmer(
    formula: str,
    data: pd.DataFrame,
    family: str | Family,
    weights=None,
    offset=None,
    nAGQ: int = 1,
    na_action: str = "omit",
    contrasts: dict | None = None,
    data_name: str | None = None,
    quiet: bool = False,
    ziformula: str | None = None,
    dispformula: str | None = None,
    REML: bool = False,
) -> GlmerResult | LmerResult | ZiRandomEffectsResult:
    """Fit a generalized linear mixed model, as lme4's ``glmer``.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"TICKS ~ YEAR + (1 | LOCATION)"`` or
        ``"cbind(incidence, size - incidence) ~ period + (1 | herd)"``.
    data : pandas.DataFrame or dask.dataframe.DataFrame
        The data (never modified).  Rows with missing values in the columns
        the model uses are dropped.  A Dask DataFrame is fitted where its
        partitions lie (a running ``dask.distributed`` Client; glmer's
        families and links with nAGQ 0 or 1, ``"nbinom2"`` too, and the
        gaussian with the identity link as :func:`glmmfast.lmer`;
        ``weights`` and ``offset`` as column names): the result equals the
        in-memory fit and predicts on Dask DataFrames (see docs/dask.md).
    family : str or glmmfast.families.Family
        ``"poisson"``, ``"binomial"``, ``"Gamma"``, ``"inverse.gaussian"``,
        ``"gaussian"`` (with a non-identity link), or a family object such as
        ``families.Binomial(link="probit")``, ``families.Gamma(link="log")``
        or ``families.NegativeBinomial(theta=2.0)`` (fixed shape).  For the
        families with a dispersion phi, phi is estimated by maximum
        likelihood (glmmTMB's likelihood; see :mod:`glmmfast.families`).
        ``"gaussian"`` with the identity link is a linear mixed model: as
        lme4's ``glmer``, it is fitted by :func:`glmmfast.lmer` with REML
        (with a warning), by maximum likelihood with a ``dispformula`` (as
        glmmTMB).  glmmTMB's names: ``"nbinom2"`` (the negative binomial,
        theta estimated, as :func:`glmer_nb`), ``"nbinom1"`` (Var y = mu (1 +
        phi), phi estimated), ``"truncated_poisson"`` (with a ``ziformula``:
        the Poisson hurdle model), ``"truncated_nbinom2"``,
        ``"truncated_nbinom1"`` (NB hurdles), ``"genpois"`` (Var y = phi mu),
        ``"compois"`` (Conway-Maxwell-Poisson, nu = 1 / phi; see
        :mod:`glmmfast.families`), ``"ziGamma"`` (the Gamma, zeros from the
        ``ziformula``; default link inverse, as glmmTMB), ``"beta"`` (proportions in (0, 1)) and
        ``"betabinomial"`` (successes of trials; precision phi estimated),
        ``"t"`` (Student t, sigma and df estimated; ``families.StudentT(df=5)``
        holds df at 5), ``"tweedie"`` (compound Poisson-Gamma, Var y = phi
        mu^p: phi and the power p in (1, 2) estimated with theta and beta, p
        on glmmTMB's logit(p - 1) scale).
    weights : array-like, optional
        Prior weights (for binomial proportions: the numbers of trials).
    offset : array-like, optional
        Offset added to the linear predictor (besides any ``offset()`` term).
    nAGQ : int, default 1
        1: Laplace approximation; 0: the fast fit (fixed effects estimated
        inside PIRLS, as lme4's ``nAGQ = 0``); 2 to 100: adaptive
        Gauss-Hermite quadrature with that many nodes (25 is plenty), for
        models whose only random-effects term is scalar, such as
        ``(1 | g)``.  As in lme4, -2 log L, AIC and BIC of a fit with
        nAGQ > 1 leave out the saturated model's -2 log L (kept in
        ``m2ll_omitted``), so compare them only with other nAGQ > 1 fits.
    na_action : {"omit", "raise"}, default "omit"
        Drop rows with missing values in the columns the model uses (noted
        in ``result.data_messages`` and ``result.n_dropped``) or raise
        :class:`~glmmfast.DataError`.
    contrasts : dict, optional
        Contrasts of fixed-effects factors, as R's ``contrasts`` argument:
        ``{"f": "contr.sum"}`` (or ``"contr.helmert"``, ``"contr.treatment"``,
        ``"contr.poly"``, ``"contr.SAS"``, or an ``(nlevels, k)`` matrix).
        Other factors get treatment contrasts, ordered factors ``contr.poly``.
    data_name : str, optional
        The name printed on the summary's ``Data:`` line (R prints the
        expression passed as ``data``); default ``data.attrs["name"]``
        (set by :func:`glmmfast.datasets.load`), else none.
    quiet : bool, default False
        Do not issue the fit's convergence and singular-fit messages as
        :class:`~glmmfast.ConvergenceWarning` / :class:`~glmmfast.SingularFitWarning`
        (they stay in ``result.messages``; ``warnings.simplefilter("ignore",
        glmmfast.ConvergenceWarning)`` silences them too).
    ziformula : str, optional
        glmmTMB's zero-inflation model, a one-sided formula for the logit of
        the probability of a structural zero (``"~1"``, ``"~ spp * mined"``,
        ``"~ mined + (1 | site)"``): y = 0 with probability p, else a draw
        from the family (binomial and betabinomial: no successes, else a
        draw of the row's trials).  With a truncated family it is the
        hurdle's zero part.  ``"~0"`` or None: none.  Its coefficients are
        ``result.fixef_zi``.  With random-effects terms, both parts' random
        effects are integrated jointly (one Laplace approximation, as
        glmmTMB) and the result is a
        :class:`~glmmfast.results._zi_random_effects_result.ZiRandomEffectsResult`
        (optimised without an exact gradient for now; Wald intervals only,
        no profile intervals yet).
    dispformula : str, optional
        glmmTMB's dispersion model, a one-sided formula for the log of the
        family parameter: ``"~1"`` (one dispersion, the default), ``"~ x +
        f"`` (glmmTMB's log scales, linear in the covariates: log sigma^2
        for the gaussian, log shape for the Gamma, log theta for nbinom2
        and truncated_nbinom2, log phi for nbinom1, truncated_nbinom1,
        genpois, compois, beta, betabinomial and tweedie, log sigma for the
        t; the t's df and the tweedie power stay one value each, estimated
        with them; coefficients ``result.fixef_disp``,
        ``coef_table("disp")``, ``predict(type="disp")``; ``simulate`` and
        ``bootstrap`` draw each row at its own parameter) or, for the gaussian, ``"~0"`` (the
        residual variance fixed near 0, as glmmTMB, for models whose
        random effects take it).  With a dispersion model the gaussian's
        prior weights multiply each row's log density, as glmmTMB's (so
        ``dispformula="~1"`` with ``weights`` is glmmTMB's weighted
        gaussian).  A family without a dispersion (Poisson) refuses any,
        with a :class:`~glmmfast.FormulaError`, as does a family whose
        dispersion model is not supported.
    REML : bool, default False
        For a gaussian identity model given a ``dispformula``: REML instead
        of glmmTMB's maximum likelihood (with a dispersion model glmmTMB's
        REML: the fixed effects integrated out, ``result.deviance`` the REML
        criterion).

    Returns
    -------
    GlmerResult
        (:class:`LmerResult` for the gaussian family with the identity link.)

    Raises
    ------
    DataError
        Models lme4 refuses before fitting, with lme4's message: a grouping
        factor with one level, more levels than observations, or a term
        with more random effects than observations (e.g.
        ``(0 + INDEX | LOCATION)`` on grouseticks); predictors whose values
        leave double precision when squared (beyond 1e150 or 1e-150); counts
        above 2^53; weights that are not numbers or are all zero.
    FormulaError
        A formula that does not parse, is nested too deeply, or uses the
        response in a right-hand-side term other than the response itself.

    Notes
    -----
    ``result.data_messages`` notes what was done to the data, as lme4's
    messages and warnings: rows dropped, aliased columns dropped, the
    response dropped from the right-hand side, predictors on very different
    scales, grouping factors with fewer than 5 levels, and a binomial factor
    response with more than two levels, which counts as R's binomial family
    does: its first level is failure and every other level success.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", df, family="poisson")
    >>> round(m.deviance, 2)
    2298.29
    """
    fam, estimate_parameter = tmb_family(family)
    check_dispformula(dispformula, fam)
    if is_dask_dataframe(data):  # rows in partitions: fitted where they lie (fit/_partitioned.py)
        if ziformula is not None or dispformula is not None:
            raise PartitionedNotSupported("ziformula and dispformula are not supported on a Dask DataFrame yet")
        if fam.name == "gaussian" and fam.link == "identity":
            _warn_gaussian_is_lmm()
            return lmer(formula, data, REML=True, weights=weights, offset=offset, contrasts=contrasts,
                        data_name=data_name, quiet=quiet)
        parameter = None
        if estimate_parameter and isinstance(fam, NegativeBinomial):  # nbinom2: theta estimated (as glmer_nb)
            parameter = nb_shape_parameter(1.0)  # started by the partitions' moments (fit/_partitioned.py)
            fam = parameter.fitted_family(fam)
        return glmer_partitioned(formula, data, fam, weights, offset, check_nagq(nAGQ), contrasts, data_name,
                                 quiet, parameter=parameter)
    disp_model = uses_dispersion_model(dispformula, fam, weights)
    if (fam.name == "gaussian" and fam.link == "identity" and (dispformula is not None or ziformula is not None)
            and not disp_model):
        # glmmTMB's gaussian: maximum likelihood (its one dispersion is the LMM's residual variance).
        check_zero_inflation_family(ziformula, fam)
        return lmer(formula, data, REML=REML, weights=weights, offset=offset, na_action=na_action,
                    contrasts=contrasts, data_name=data_name, quiet=quiet)
    if disp_model and REML and not (fam.name == "gaussian" and fam.link == "identity"):
        raise ArgumentError("REML with a dispersion model (dispformula) is available for the gaussian family with "
                            "the identity link only")
    if fam.name == "gaussian" and fam.link == "identity" and not disp_model:
        _warn_gaussian_is_lmm()
        return lmer(formula, data, REML=True, weights=weights, offset=offset, na_action=na_action,
                    contrasts=contrasts, data_name=data_name, quiet=quiet)
    nAGQ = check_nagq(nAGQ)
    t0 = time.perf_counter()
    data_name = dataset_name(data, data_name)  # checked before the fit
    zero_inflated = has_zero_inflation(ziformula)
    if zero_inflated and nAGQ > 1:
        raise ArgumentError("nAGQ > 1 is not available with a ziformula (Laplace only, as glmmTMB)")
    if disp_model and nAGQ != 1:
        raise ArgumentError("a dispersion model (dispformula) is fitted by the Laplace approximation only "
                            "(nAGQ = 1, as glmmTMB)")
    design = model_design_for(formula, data, fam, weights, offset, random=True, na_action=na_action,
                              contrasts=contrasts, zero_inflated=zero_inflated, dispersion_model=disp_model)
    design = zero_inflation_design(design, ziformula, data, contrasts)
    if disp_model:
        design = dispersion_design(design, dispformula, data, contrasts)
    check_nagq(nAGQ, design)
    if design.zi is not None and design.zi.random:  # random effects in the ziformula: fit/_zi_random_effects.py
        return _glmer_zi_random_effects(design, nAGQ, estimate_parameter, data_name, t0)
    with failures_blamed_on_scales(design.messages):
        parameter = _estimated_parameter(design) if estimate_parameter else None
        if parameter is not None:
            # The GLM start and the engine use the starting value; the state carries the fitted family.
            design = dataclasses.replace(design, family=parameter.fitted_family(design.family))
        fit = GlmerResult(fit_glmm(design, nAGQ, parameter, t0=t0, integrated_beta=disp_model and REML), data_name)
    warn_fit_messages(fit.messages, quiet)
    return fit


def _glmer_zi_random_effects(design: ModelDesign, nAGQ: int, estimate_parameter: bool,
                             data_name: str | None, t0: float) -> ZiRandomEffectsResult:
    """glmer for a ziformula with random effects (both parts' random effects in one Laplace
    approximation); ArgumentError for what this model class does not support yet."""
    if nAGQ != 1:
        raise ArgumentError("random effects in the ziformula are fitted by the Laplace approximation only (nAGQ = 1)")
    if estimate_parameter and isinstance(design.family, Tweedie):
        raise ArgumentError("the tweedie family with random effects in the ziformula is not supported yet")
    with failures_blamed_on_scales(design.messages):
        parameter = _estimated_parameter(design) if estimate_parameter else None
        if parameter is not None:
            design = dataclasses.replace(design, family=parameter.fitted_family(design.family))
        return ZiRandomEffectsResult(fit_zi_random_effects(design, parameter, t0), data_name)


def _glm_means(design: ModelDesign, family: Family) -> np.ndarray:
    """The fitted means of a GLM of ``family`` (IRLS on its variance function) to the design's fixed part."""
    fit = _core.glm_irls(np.asfortranarray(design.X, dtype=float), design.y, design.weights, design.offset,
                         family.engine)
    return np.asarray(fit["mu"])


def _poisson_excess(design: ModelDesign, power: int) -> float:
    """sum w ((y - mu)^2 - mu) / mu^power / sum w at a Poisson GLM's means: the NB shapes' moment start
    (Var y = mu + mu^2 / theta: 1 / theta at power 2; Var y = mu (1 + phi): phi at power 1); NaN if
    the Poisson start failed (e.g. identity link at mu = 0)."""
    mu = _glm_means(design, Poisson(design.family.link))
    return excess_ratio(poisson_excess_sums(design.y, mu, design.weights, power))


def _proportion_precision(design: ModelDesign) -> float:
    """Moment start of the beta and beta-binomial precision phi from the GLM's Pearson ratio
    rho = sum w (y - mu)^2 / (mu (1 - mu)) / sum 1 (w = trials, 1 for beta): rho = 1 / (1 + phi)
    for beta, 1 + (n - 1) / (1 + phi) for the beta-binomial (n the mean number of trials);
    clipped to [0.1, 1e4]."""
    mu, w, y = _glm_means(design, design.family), design.weights, design.y
    rho = float(np.sum(w * (y - mu) ** 2 / (mu * (1 - mu))) / max(np.sum(w > 0), 1))
    if isinstance(design.family, Beta):
        phi = 1.0 / rho - 1.0 if rho > 0 else 1e4
    else:
        n = float(np.mean(w[w > 0]))
        phi = (n - 1.0) / (rho - 1.0) - 1.0 if rho > 1 else 1e4
    return float(np.clip(phi, 0.1, 1e4)) if np.isfinite(phi) else 1.0


def _t_scale(design: ModelDesign) -> float:
    """The t scale's start: 1.4826 times the median absolute residual of the least-squares GLM."""
    r = np.abs(design.y - _glm_means(design, design.family))[design.weights > 0]
    sigma = 1.4826 * float(np.median(r)) if r.size else 1.0
    return sigma if np.isfinite(sigma) and sigma > 0 else float(np.std(design.y) or 1.0)


def _moment_theta(design: ModelDesign) -> float:
    """Starting negative-binomial shape: moments of a Poisson GLM's residuals (Var y = mu + mu^2/theta,
    :func:`~glmmfast.fit._moment_start.nb_theta_from_excess`; the partitioned rows' start too)."""
    return nb_theta_from_excess(_poisson_excess(design, 2))


#: the t's df start where glmer estimates it
_T_DF_START = 10.0


def _estimated_parameter(design: ModelDesign) -> FamilyParameter | JointShapeParameters:
    """The parameter glmer estimates for glmmTMB's nbinom2 (theta), beta and betabinomial (phi), t (sigma,
    and df unless fixed), a count family holding phi (nbinom1, truncated_nbinom1, genpois, compois), at
    its moment start, or tweedie (the power, from the family's: fit_glmm adds the dispersion)."""
    if isinstance(design.family, Tweedie):
        return power_parameter(design.family.power)
    if isinstance(design.family, (Beta, BetaBinomial)):
        return shape_parameter("phi", _proportion_precision(design))
    if isinstance(design.family, StudentT):
        if design.family.df is None:  # sigma and df together
            return joint_shape_parameters({"sigma": _t_scale(design), "df": _T_DF_START})
        return shape_parameter("sigma", _t_scale(design))
    if isinstance(design.family, _PhiFamily):
        excess = _poisson_excess(design, 1)
        return shape_parameter("phi", design.family.shape_start(excess) if np.isfinite(excess) else 1.0)
    return nb_shape_parameter(_moment_theta(design))


def _warn_gaussian_is_lmm() -> None:
    """lme4's glmer hands gaussian(identity) to lmer with lmer's default REML = TRUE: say so (at glmer's caller)."""
    warnings.warn("glmer with family gaussian (identity link) fits a linear mixed model by REML, as lme4 "
                  "does; call glmmfast.lmer directly (REML=False for maximum likelihood)", UserWarning,
                  stacklevel=3)


def glmer_nb(
    formula: str,
    data: pd.DataFrame,
    link: str = "log",
    weights=None,
    offset=None,
    nAGQ: int = 1,
    na_action: str = "omit",
    contrasts: dict | None = None,
    data_name: str | None = None,
    quiet: bool = False,
) -> GlmerResult:
    """Fit a negative-binomial GLMM, estimating the shape theta by maximum likelihood (lme4's ``glmer.nb``).

    The model is NB2 (glmmTMB's ``nbinom2``): Var(y | b) = mu + mu^2/theta.
    Unlike lme4, which alternates between theta and the GLMM fit, log theta is
    one more coordinate of the outer optimisation, so the fit reaches the
    joint maximum of the Laplace likelihood (glmmTMB's, with the exact
    Hessian in the random effects).

    Parameters
    ----------
    formula : str
        lme4 formula with a count response, e.g. ``"TICKS ~ YEAR + (1 | LOCATION)"``.
    data : pandas.DataFrame or dask.dataframe.DataFrame
        A Dask DataFrame is fitted where its partitions lie, as
        :func:`glmer` (theta started, as in memory, at the moments of a Poisson GLM's
        residuals; see docs/dask.md).
    link : str, default "log"
        ``"log"``, ``"sqrt"`` or ``"identity"``.
    weights, offset : array-like, optional
        Prior weights (multiplying each observation's log density) and an
        offset, as in :func:`glmer`.
    nAGQ : int, default 1
        1: Laplace; 0: the fast fit; k > 1: adaptive Gauss-Hermite
        quadrature (a single scalar random-effects term), as :func:`glmer`.
    na_action : {"omit", "raise"}, default "omit"
        Missing values, as :func:`glmer`.
    contrasts : dict, optional
        Contrasts of fixed-effects factors, as :func:`glmer`.
    data_name, quiet
        As :func:`glmer`.

    Returns
    -------
    GlmerResult
        ``result.nb_theta`` is the estimate, ``result.family`` is
        ``NegativeBinomial(theta=<estimate>)`` and theta counts as a parameter
        in AIC/BIC.

    Examples
    --------
    >>> import glmmfast
    >>> df = glmmfast.datasets.load("grouseticks")
    >>> m = glmmfast.glmer_nb("TICKS ~ YEAR + (1 | LOCATION)", df)
    >>> m.family.display_name.startswith("Negative Binomial(")
    True
    """
    nAGQ = check_nagq(nAGQ)
    if is_dask_dataframe(data):  # rows in partitions (fit/_partitioned.py): theta started by their moments
        shape = nb_shape_parameter(1.0)
        return glmer_partitioned(formula, data, shape.fitted_family(NegativeBinomial(1.0, link)), weights, offset,
                                 nAGQ, contrasts, data_name, quiet, parameter=shape)
    t0 = time.perf_counter()
    data_name = dataset_name(data, data_name)  # checked before the fit
    design = model_design_for(formula, data, NegativeBinomial(1.0, link), weights, offset, random=True,
                              na_action=na_action, contrasts=contrasts)
    check_nagq(nAGQ, design)
    with failures_blamed_on_scales(design.messages):
        shape = nb_shape_parameter(_moment_theta(design))
        # The GLM start and the engine use the starting shape; the fit's
        # state carries the fitted family (this design is not modified).
        start_design = dataclasses.replace(design, family=shape.fitted_family(design.family))
        fit = GlmerResult(fit_glmm(start_design, nAGQ, shape, t0=t0), data_name)
    warn_fit_messages(fit.messages, quiet)
    return fit
