"""lme4's checks of a model design, run before the engine sees it.

Each function takes pieces of a design (random-effects terms, the
fixed-effects matrix) and either raises :class:`~glmmfast.DataError` with
lme4's message and numbers, or returns messages for ``result.data_messages``.
lme4 1.1-31 (``checkNlevels``, ``checkZdims``, ``checkScaleX`` in
R/utilities.R and R/lmer.R) with the defaults of ``lmerControl`` and
``glmerControl``:

- ``check.nlev.gtr.1 = "stop"``: every grouping factor needs two levels;
- ``check.nobs.vs.nlev = "stop"``: lmer needs nlev < n, glmer nlev <= n
  (``allow.n``), where an observation-level effect models overdispersion;
- ``check.nobs.vs.nRE = "stop"``: per term, n <= q (lmer) or n < q (glmer)
  random effects cannot be identified (the refusal that saves minutes on
  ``(0 + INDEX | LOCATION)``);
- ``check.nobs.vs.rankZ = "ignore"`` in both: rank(Z) is not computed (it
  costs a QR of Z, and the nRE check already catches q >= n per term);
- ``check.nlev.gtreq.5``: lme4 ignores it by default; it is reported here as
  a message, since variances estimated from fewer than 5 levels are poor;
- ``check.scaleX = "warning"``: continuous columns whose standard deviations
  differ by more than a factor 1000 from each other or from 1 give lme4's
  "Some predictor variables are on very different scales" message.

Interface: :func:`check_grouping_factors`, :func:`check_random_effects_count`,
:func:`few_levels_messages`, :func:`check_extreme_scales`,
:func:`scale_messages`, :data:`SCALE_MESSAGE`, :func:`response_scale_messages` and
:func:`failures_blamed_on_scales` (a context for the engine's run).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .. import _core
from .._errors import ConvergenceError, DataError
from ._re_terms import ReTerm

__all__ = ["check_grouping_factors", "check_random_effects_count", "few_levels_messages",
           "check_extreme_scales", "scale_messages", "SCALE_MESSAGE", "response_scale_messages",
           "RESPONSE_SCALE_MESSAGE", "failures_blamed_on_scales"]

#: lme4's checkScaleX message (kind = "warning").
SCALE_MESSAGE = "Some predictor variables are on very different scales: consider rescaling"
#: glmmfast's counterpart for the response (lme4 has none): its start of the message.
RESPONSE_SCALE_MESSAGE = "Response values are on an extreme scale"
# Beyond 1e12 a count's Poisson noise is below 1e-6 of its value, and PIRLS's
# weights (~mu) and cross-products (~mu x^2) approach the point where the
# penalised system loses its positive definiteness to rounding.
_RESPONSE_EXTREME = 1e12
_SCALE_TOL = 1000.0  # checkScaleX's tol: a factor 1000 between standard deviations
_LOG_SCALE_TOL = float(np.log(_SCALE_TOL))  # once, not per check
# A column whose largest |value| is outside [1e-150, 1e150] has squares (the
# entries of X'WX) that overflow or underflow double precision (range
# 2.2e-308 .. 1.8e308): no fit can use it, whatever the algorithm.
_EXTREME = 1e150


def _term_name(t: ReTerm) -> str:
    """lme4's name of a term in Ztlist: the bar without parentheses."""
    return f"{t.lhs} | {t.group}"


def check_grouping_factors(terms: list[ReTerm], n: int, *, allow_n: bool, binary_response: bool) -> None:
    """lme4's ``checkNlevels`` (``check.nlev.gtr.1``, ``check.nobs.vs.nlev``).

    Parameters
    ----------
    terms : list of ReTerm
    n : int
        Number of observations.
    allow_n : bool
        glmer's rule (True): as many levels as observations is allowed (an
        observation-level random effect models overdispersion); lmer's
        (False): it is not, as it cannot be told from the residual variance.
    binary_response : bool
        0/1 binomial response: here glmer's observation-level effect is not
        identifiable either (glmmfast's refusal; lme4 fits it).

    Raises
    ------
    DataError
        A grouping factor with fewer than 2 levels, or too many levels.
    """
    for t in terms:
        if t.nlevels < 2:
            raise DataError(f"grouping factor {t.group!r} has {t.nlevels} level; random effects need "
                            f"at least 2 (lme4: grouping factors must have > 1 sampled level)")
    bad = [t.group for t in terms if (t.nlevels > n if allow_n else t.nlevels >= n)]
    if bad:
        raise DataError(f"number of levels of each grouping factor must be {'<=' if allow_n else '<'} number of "
                        f"observations (problems: {', '.join(dict.fromkeys(bad))})")
    for t in terms:
        if t.nlevels >= n and binary_response:
            raise DataError(f"grouping factor {t.group!r} has as many levels as observations ({n}) and the "
                            f"response is 0/1: an observation-level random effect is not identifiable")


def check_random_effects_count(terms: list[ReTerm], n: int, *, allow_n: bool) -> None:
    """lme4's ``checkZdims`` (``check.nobs.vs.nRE = "stop"``), before Z is built.

    A term with q = levels x columns random effects needs n > q (lmer: the
    residual variance must be told apart too) or n >= q (glmer, ``allow.n``).
    Terms with a structured covariance (fewer parameters than unstructured)
    are not checked: glmmTMB fits them with n = q.

    Raises
    ------
    DataError
        With lme4's message, e.g. "number of observations (=403) < number of
        random effects (=25389) for term (0 + INDEX | LOCATION); the
        random-effects parameters are probably unidentifiable".
    """
    cmp, rest = ("<", "") if allow_n else ("<=", " and the residual variance (or scale parameter)")
    for t in terms:
        if t.nparams < t.k * (t.k + 1) // 2:
            continue  # a structured covariance (ar1, cs, ...) is identifiable with n <= q, as glmmTMB fits it
        q = t.nlevels * t.k
        if (n < q) if allow_n else (n <= q):
            raise DataError(f"number of observations (={n}) {cmp} number of random effects (={q}) for term "
                            f"({_term_name(t)}); the random-effects parameters{rest} are probably unidentifiable")


def few_levels_messages(terms: list[ReTerm]) -> list[str]:
    """lme4's ``check.nlev.gtreq.5`` message, if any grouping factor has fewer than 5 levels."""
    if any(t.nlevels < 5 for t in terms):
        return ["grouping factors with < 5 sampled levels may give unreliable estimates"]
    return []


def _continuous(X: np.ndarray) -> np.ndarray:
    """checkScaleX's ``cont.cols``: columns not entirely 0/1 (dummies and the intercept are left out)."""
    return ~((X == 0) | (X == 1)).all(axis=0)


def check_extreme_scales(X: np.ndarray, names: list[str]) -> None:
    """Refuse fixed-effects columns no double-precision fit can use.

    Raises
    ------
    DataError
        A column whose largest |value| is above 1e150 or (not all zero)
        below 1e-150: the cross-products X'WX overflow or underflow.
    """
    if X.size == 0:
        return
    # max |x| as max(max x, -min x): no n x p temporary |X| (on 10^4 rows and more its fresh pages cost
    # more than the reductions); p numbers read in Python: cheaper than numpy's masks for a model's few columns
    for j, top in enumerate(np.maximum(X.max(axis=0), -X.min(axis=0)).tolist()):
        if top <= _EXTREME and not 0 < top < 1 / _EXTREME:
            continue
        raise DataError(f"predictor {names[j]!r} is on an extreme scale (largest |value| {top:.3g}): its "
                        f"squares leave the range of double precision, so no fit can use it; rescale it "
                        f"(lme4: {SCALE_MESSAGE})")


def scale_messages(X: np.ndarray) -> list[str]:
    """lme4's ``checkScaleX`` (kind "warning"): :data:`SCALE_MESSAGE` or nothing.

    The message is due when, for the continuous columns' standard deviations
    s_j, some |log(s_i / s_j)| or |log s_j| exceeds log(1000).

    First on every non-constant column, without telling 0/1 columns apart:
    the continuous ones are a subset of them, so where all these s_j pass
    with a margin (1e-3 in log s: far above what another summation order
    changes in s_j^2, ~(n eps mean/s_j)^2 relative) the continuous ones pass
    too (the usual design).  Otherwise, or with a
    constant column other than 0s or 1s, the exact rule decides
    (:func:`_scale_message_due`).
    """
    n = X.shape[0]
    if n < 2 or X.shape[1] == 0:
        return []
    positive = []  # p numbers read in Python: cheaper than numpy's masks for a model's few columns
    for j, var in enumerate(_column_variances(X, n).tolist()):
        if var > 0:
            positive.append(var)
            continue
        # s_j = 0: every value within 1e-162 of the mean; a column of 0s or of 1s (the intercept) is no
        # continuous column, any other is one with |log s_j| infinite: the exact rule
        first = X[0, j]
        if not ((first == 0 or first == 1) and (X[:, j] == first).all()):
            return _scale_message_due(X, n)
    if not positive:
        return []  # 0s and 1s only: no continuous column
    top, bottom = 0.5 * math.log(max(positive)), 0.5 * math.log(min(positive))
    if max(top, -bottom) < _LOG_SCALE_TOL - 1e-3 and top - bottom < _LOG_SCALE_TOL - 1e-3:
        return []
    return _scale_message_due(X, n)


def _column_variances(X: np.ndarray, n: int) -> np.ndarray:
    """The sample variances s_j^2 in one pass (np.std and np.errstate cost ~10x this on a small X)."""
    centred = X - X.sum(axis=0) / n
    return np.einsum("ij,ij->j", centred, centred) / (n - 1)


def _scale_message_due(X: np.ndarray, n: int) -> list[str]:
    """checkScaleX's rule on the continuous columns (:func:`_continuous`); a constant one (s_j = 0,
    |log s_j| infinite) gets the message."""
    cont = _continuous(X)
    if not cont.any():
        return []
    var = _column_variances(X[:, cont], n)
    if not (var > 0).all():
        return [SCALE_MESSAGE]
    logsd = 0.5 * np.log(var)
    # |log s_i - log s_j| > log tol for some pair  <=>  max - min > log tol.
    top, bottom = logsd.max(), logsd.min()
    if max(top, -bottom) > _LOG_SCALE_TOL or top - bottom > _LOG_SCALE_TOL:
        return [SCALE_MESSAGE]
    return []


def response_scale_messages(y: np.ndarray) -> list[str]:
    """A message starting :data:`RESPONSE_SCALE_MESSAGE` if some |y| exceeds 1e12, else nothing.

    The fit goes ahead; if the engine then fails, :func:`failures_blamed_on_scales`
    names the response's scale as the cause.
    """
    top = float(np.abs(y).max()) if y.size else 0.0  # the array's method: np.max's dispatch costs more on small y
    if top > _RESPONSE_EXTREME:
        return [f"{RESPONSE_SCALE_MESSAGE} (largest |value| {top:.3g}): consider rescaling it "
                f"(e.g. counts per 1e6 units, with log(1e6) in an offset)"]
    return []


@contextmanager
def failures_blamed_on_scales(messages: list[str]) -> Iterator[None]:
    """Run the engine; if it fails on a design with :data:`SCALE_MESSAGE`, say that the scales are why.

    PIRLS on columns whose scales differ by many orders of magnitude fails
    for numerical reasons (the GLM start's linear predictor, a cross-product
    matrix that is singular to working precision), not because the link does
    not suit the data, which is what the engine's own message would suggest.

    Raises
    ------
    DataError
        The engine failed (``PirlsError`` or :class:`ConvergenceError`) and
        ``messages`` holds :data:`SCALE_MESSAGE` or the response's
        (:func:`response_scale_messages`).
    """
    try:
        yield
    except (_core.PirlsError, ConvergenceError) as err:
        cause = [m for m in messages if m == SCALE_MESSAGE or m.startswith(RESPONSE_SCALE_MESSAGE)]
        if not cause:
            raise
        raise DataError(f"{'; '.join(cause)} (the fit failed: {err})") from err
