# The data-dependent functions of a formula (R's scale, poly, ns, bs): each is
# computed once on the fitting data, its parameters stored, and the same
# parameters reused on new data -- R's "safe prediction" (makepredictcall).
#
# Interface
#   STATEFUL_FUNCTIONS                       names handled here
#   match_arguments(fname, positional, named) -> dict   R's argument matching
#   fit_function(fname, x, args) -> (values, suffixes, state)
#   apply_function(fname, x, args, state) -> values
#   function_suffixes(fname, state, k) -> suffixes
# ``x`` is (n,), or (n, m) for poly of m variables (R's polym); ``values`` is
# (n, k); ``suffixes`` are R's column-name endings ("" for the one column of
# scale(), "1", "2", ... for poly/ns/bs, "1.0", "0.1", ... for polym);
# ``state`` is a tuple of floats/tuples (picklable, hashable) stored in the
# design's encoding.

from __future__ import annotations

import itertools

import numpy as np

from .._errors import FormulaError
from ._splines import bs_basis, bs_knots, ns_basis, ns_knots

__all__ = ["STATEFUL_FUNCTIONS", "match_arguments", "fit_function", "apply_function", "function_suffixes"]

# R's formals, in order (the first, x, is evaluated on the data and not matched here).
_FORMALS = {
    "scale": ("x", "center", "scale"),
    "poly": ("x", "degree", "coefs", "raw"),
    "ns": ("x", "df", "knots", "intercept", "Boundary.knots"),
    "bs": ("x", "df", "knots", "degree", "intercept", "Boundary.knots"),
}
_DEFAULTS = {
    "scale": {"center": True, "scale": True},
    "poly": {"degree": 1.0, "coefs": None, "raw": False},
    "ns": {"df": None, "knots": None, "intercept": False, "Boundary.knots": None},
    "bs": {"df": None, "knots": None, "degree": 3.0, "intercept": False, "Boundary.knots": None},
}
STATEFUL_FUNCTIONS = tuple(_FORMALS)


def match_arguments(fname: str, positional: list, named: dict) -> dict:
    """Match a call's arguments after x to R's formals of ``fname`` (exact names, then position)."""
    formals = _FORMALS[fname][1:]
    unknown = [k for k in named if k not in formals]
    if unknown:
        raise FormulaError(f"{fname}() has no argument {unknown[0]!r} (arguments: {', '.join(formals)})")
    free = [f for f in formals if f not in named]
    if len(positional) > len(free):
        raise FormulaError(f"too many arguments to {fname}() (arguments: {', '.join(formals)})")
    args = dict(_DEFAULTS[fname])
    args.update(dict(zip(free, positional)))
    args.update(named)
    return args


def _whole(value, what: str, fname: str, low: int) -> int:
    v = float(np.asarray(value).reshape(-1)[0]) if np.size(value) == 1 else np.nan
    if not (np.isfinite(v) and v == int(v) and v >= low):
        raise FormulaError(f"{fname}(): {what} must be a whole number >= {low}, not {value!r}")
    return int(v)


def _flag(value, what: str, fname: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise FormulaError(f"{fname}(): {what} must be TRUE or FALSE, not {value!r}")


def _vector(value) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype=float).reshape(-1)


def _scale_state(x: np.ndarray, center, scale) -> tuple[float, float]:
    """R's scale(): centre at the mean (or the value given); divide by the
    root mean square sqrt(sum x^2 / (n - 1)) of the centred x (the SD when
    centred at the mean), or by the value given."""
    if isinstance(center, (bool, np.bool_)):
        c = float(np.mean(x)) if center else 0.0
    else:
        c = float(np.asarray(center, dtype=float).reshape(-1)[0])
    if isinstance(scale, (bool, np.bool_)):
        s = float(np.sqrt(np.sum((x - c) ** 2) / max(len(x) - 1, 1))) if scale else 1.0
    else:
        s = float(np.asarray(scale, dtype=float).reshape(-1)[0])
    if not (np.isfinite(c) and np.isfinite(s)) or s == 0:
        raise FormulaError(f"scale(): cannot scale by {s} (a constant variable?)")
    return c, s


def _poly_coefs(x: np.ndarray, degree: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """poly()'s alpha and norm2 (R's names): the three-term recurrence
    P_{j+1} = (x - alpha_j) P_j - (norm2_{j+1} / norm2_j) P_{j-1} of the
    polynomials orthogonal over the data points (Stieltjes' procedure; R
    gets the same numbers from a QR), norm2 = (1, n, |P_1|^2, ...)."""
    if degree >= len(np.unique(x)):
        raise FormulaError(f"poly(): degree {degree} must be less than the number of unique points "
                           f"({len(np.unique(x))})")
    alpha, norm2 = [], [1.0, float(len(x))]
    p_prev, p = np.zeros_like(x), np.ones_like(x)
    for j in range(degree):
        a = float(np.sum(x * p * p) / np.sum(p * p))
        alpha.append(a)
        p_next = (x - a) * p - (norm2[j + 1] / norm2[j]) * p_prev
        p_prev, p = p, p_next
        norm2.append(float(np.sum(p * p)))
    return tuple(alpha), tuple(norm2)


def _poly_values(x: np.ndarray, alpha: tuple, norm2: tuple) -> np.ndarray:
    """R's predict for poly(coefs = list(alpha, norm2)): the recurrence, each P_j / sqrt(norm2_{j+1})."""
    degree = len(alpha)
    Z = np.ones((len(x), degree + 1))
    Z[:, 1] = x - alpha[0]
    for i in range(1, degree):
        Z[:, i + 1] = (x - alpha[i]) * Z[:, i] - (norm2[i + 1] / norm2[i]) * Z[:, i - 1]
    return (Z / np.sqrt(np.asarray(norm2[1:])))[:, 1:]


def fit_function(fname: str, x: np.ndarray, args: dict) -> tuple[np.ndarray, list[str], tuple]:
    """Evaluate ``fname`` on the fitting data and return its parameters.

    Parameters
    ----------
    fname : str
        One of :data:`STATEFUL_FUNCTIONS`.
    x : ndarray
        The finite numeric first argument.
    args : dict
        From :func:`match_arguments`.

    Returns
    -------
    values : ndarray, shape (n, k)
    suffixes : list of str
    state : tuple
    """
    if fname == "scale":
        state = _scale_state(x, args["center"], args["scale"])
        return apply_function(fname, x, args, state), [""], state
    if fname == "poly":
        degree = _whole(args["degree"], "degree", fname, 1)
        raw = _flag(args["raw"], "raw", fname)
        if args["coefs"] is not None:
            raise FormulaError("poly(): the coefs argument is not supported (coefficients are stored by the fit)")
        if x.ndim == 2:  # R's polym: one poly per variable, then their products
            state = ("polym", degree, tuple(fit_function(fname, x[:, i], args)[2] for i in range(x.shape[1])))
        else:
            state = (degree, raw) if raw else (degree, raw) + _poly_coefs(x, degree)
        values = apply_function(fname, x, args, state)
        return values, function_suffixes(fname, state, values.shape[1]), state
    if fname in ("ns", "bs"):
        intercept = _flag(args["intercept"], "intercept", fname)
        df = None if args["df"] is None else _whole(args["df"], "df", fname, 1)
        if fname == "ns":
            interior, boundary = ns_knots(x, df, _vector(args["knots"]), intercept, _vector(args["Boundary.knots"]))
            state = (tuple(interior), boundary, intercept)
        else:
            degree = _whole(args["degree"], "degree", fname, 1)
            interior, boundary = bs_knots(x, df, _vector(args["knots"]), degree, intercept,
                                          _vector(args["Boundary.knots"]))
            state = (tuple(interior), boundary, intercept, degree)
        values = apply_function(fname, x, args, state)
        if values.shape[1] == 0:
            raise FormulaError(f"{fname}(): the basis has no columns (give df or knots)")
        return values, [str(j + 1) for j in range(values.shape[1])], state
    raise FormulaError(f"{fname}() is not a stateful formula function")


def apply_function(fname: str, x: np.ndarray, args: dict, state: tuple) -> np.ndarray:
    """Evaluate ``fname`` on (new) data with the parameters stored at fit time."""
    if fname == "scale":
        c, s = state
        return ((x - c) / s)[:, None]
    if fname == "poly" and state[0] == "polym":
        _, degree, states = state
        columns = [np.column_stack([np.ones(len(x)), apply_function(fname, x[:, i], args, st)])
                   for i, st in enumerate(states)]
        return np.column_stack([np.prod([columns[i][:, zi] for i, zi in enumerate(z)], axis=0)
                                for z in _polym_powers(len(states), degree)])
    if fname == "poly":
        degree, raw = state[0], state[1]
        if raw:
            return np.vander(x, degree + 1, increasing=True)[:, 1:]
        return _poly_values(x, state[2], state[3])
    if fname == "ns":
        interior, boundary, intercept = state
        return ns_basis(x, np.asarray(interior), boundary, intercept)
    interior, boundary, intercept, degree = state
    return bs_basis(x, np.asarray(interior), boundary, degree, intercept)


def _polym_powers(nvar: int, degree: int) -> list[tuple[int, ...]]:
    """polym's columns: the powers of each variable in R's expand.grid order
    (the first variable varying fastest), total degree 1..degree."""
    grid = [tuple(reversed(z)) for z in itertools.product(range(degree + 1), repeat=nvar)]
    return [z for z in grid if 0 < sum(z) <= degree]


def function_suffixes(fname: str, state: tuple, k: int) -> list[str]:
    """R's column-name endings of a stateful function with ``k`` columns."""
    if fname == "scale":
        return [""]
    if fname == "poly" and state[0] == "polym":
        return [".".join(map(str, z)) for z in _polym_powers(len(state[2]), state[1])]
    return [str(j + 1) for j in range(k)]
