"""Zero-inflation coefficients diverging to -inf: recognising them, and holding them out of the search.

A zero-part coefficient j whose rows (x_ij != 0) all have a zero
probability p_i = logistic(eta_zi,i) near 0 sits in the likelihood's tail,
where its maximum lies at -inf (the family explains those rows' zeros).
Moving it further out changes each row's log density by (``cpp/src/family/zero_inflation.hpp``)

- y_i > 0: log(1 - p_i) + log f(y_i) -> log f(y_i), a gain of -log(1 - p_i) ~ p_i;
- y_i = 0: log(p_i + (1 - p_i) f0_i) -> log f0_i, a loss of log(1 + p_i (1/f0_i - 1)) >= 0,

so whatever the other coefficients do, -2 log L can fall by at most the
bound B = 2 sum_{y_i > 0} w_i (-log(1 - p_i)) over the coefficient's rows
(where every x_ij > 0, every p_i falls as beta_j does).  With
-log(1 - p_i) = log(1 + e^{eta_i}) <= e^{eta_i}, a move of beta_j by -d leaves
B <= e^{-d min x_ij} U, U = 2 sum_{y_i > 0} w_i e^{eta_i}: d = log(U / target) / min x_ij
puts the coefficient where what is left is below ``target``.

Where every row of the column has p_i small (eta_i below :data:`WALKING_ZERO_PART_ETA`) each row's
terms are linear in p_i = e^{eta_i} to O(p_i^2), so along beta_j -2 log L is a + b e^{beta_j} with b
constant: no finite optimum lies there, and with b > 0 (the gradient pushing beta_j out) the coefficient
walks to -inf, its curvature b e^{beta_j} equal to its gradient and falling by e per unit it moves.

Holds :class:`ZeroPartTail` (``tail_columns``: the coefficients to try;
``remaining_gain``: B; ``held_values``: where the bound holds; ``walking_columns``: coefficients still
walking towards the tail) for the
optimiser's joint stage (``fit/_optimize.py``), and :func:`diverging_columns`,
the coefficients a fit reports as diverging (their standard errors are not
defined: ``results/_results.py``; the message: ``fit/_zero_inflation.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DIVERGED_ZERO_PART_ETA", "WALKING_ZERO_PART_ETA", "ZeroPartTail", "diverging_columns"]

#: the zero part's linear predictor below which a cell's zero probability counts as 0 (p < 3e-7): a
#: coefficient whose every row is there has a likelihood flat in it, its estimate where the optimiser stopped
#: or held it.  The joint stage tries to hold such a coefficient where its gradient pushes it out
#: (:meth:`ZeroPartTail.tail_columns`): there every row's terms are linear in p to O(p^2) < 1e-13, so a move
#: further out that does not raise -2 log L passes no lower point (``fit/_optimize.py``)
DIVERGED_ZERO_PART_ETA = -15.0
#: the zero part's linear predictor below which a cell's terms are linear in its zero probability to a relative
#: O(p) < 5e-5, so that along a coefficient every one of whose rows is there -2 log L is a + b e^{beta_j}
#: (module docstring; :meth:`ZeroPartTail.walking_columns`)
WALKING_ZERO_PART_ETA = -10.0


class ZeroPartTail:
    """The zero part's rows and what moving a coefficient to -inf can still gain (module docstring).

    Parameters
    ----------
    X, offset : ndarray
        The ziformula's model matrix and offset.
    weights : ndarray
        Prior weights (they multiply the log density; an upper bound on the multiplier where they also
        carry binomial trials).
    positive : ndarray of bool
        The rows with y > 0.
    """

    def __init__(self, X: np.ndarray, offset: np.ndarray, weights: np.ndarray, positive: np.ndarray):
        self.X = np.asarray(X, dtype=float)
        self.offset = np.asarray(offset, dtype=float)
        self.weights = np.asarray(weights, dtype=float)
        self.positive = np.asarray(positive, dtype=bool)
        rows = _column_rows(self.X, self.weights)
        #: the columns every one of whose rows has x_ij > 0 (moving beta_j down lowers each row's p)
        self._outward = rows.any(axis=0) & ~np.any(rows & (self.X < 0), axis=0)
        #: the columns with x_ij = 1 on every one of their rows (a factor's dummies, the intercept)
        self._indicator = rows.any(axis=0) & ~np.any(rows & (self.X != 1), axis=0)
        self._rows = rows

    def _eta(self, beta_zi: np.ndarray) -> np.ndarray:
        return self.offset + self.X @ np.asarray(beta_zi, dtype=float)

    def tail_columns(self, beta_zi: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """The coefficients to try holding: each row below :data:`DIVERGED_ZERO_PART_ETA`, and the gradient of
        -2 log L in it (``gradient``, beta_zi's part) positive, i.e. the search moves it further out."""
        in_tail = _columns_in_tail(self._rows, self._eta(beta_zi))
        return np.flatnonzero(in_tail & self._outward & (np.asarray(gradient) > 0))

    def walking_columns(self, beta_zi: np.ndarray, gradient: np.ndarray, target: float) -> np.ndarray:
        """The coefficients still walking out towards the tail: indicator columns (x_ij = 1 on their rows) each
        of whose rows is below :data:`WALKING_ZERO_PART_ETA`, where -2 log L along the coefficient is
        a + b e^{beta_j} (no finite optimum), and whose gradient there (``gradient``, beta_zi's part), b e^{beta_j},
        what moving the coefficient to -inf gains, is above ``target``."""
        walking = _columns_in_tail(self._rows, self._eta(beta_zi), WALKING_ZERO_PART_ETA)
        return np.flatnonzero(walking & self._indicator & (np.asarray(gradient) > target))

    def remaining_gain(self, beta_zi: np.ndarray, columns: np.ndarray) -> float:
        """B: the most -2 log L can fall by moving ``columns`` (their rows' union) to -inf from ``beta_zi``,
        2 sum w_i (-log(1 - p_i)) over their rows with y_i > 0."""
        rows = self._rows[:, np.asarray(columns, dtype=int)].any(axis=1) & self.positive
        # -log(1 - p) = log(1 + e^eta) with p = logistic(eta)
        return float(2.0 * np.sum(self.weights[rows] * np.logaddexp(0.0, self._eta(beta_zi)[rows])))

    def held_values(self, beta_zi: np.ndarray, columns: np.ndarray, target: float) -> np.ndarray:
        """beta_zi with each of ``columns`` moved out by d_j = log(U_j / target) / min x_ij (module docstring),
        so that the union's :meth:`remaining_gain` is at most ``target`` times the number of columns (and no
        column moves back in)."""
        out = np.array(beta_zi, dtype=float)
        eta = self._eta(beta_zi)
        for j in np.asarray(columns, dtype=int):
            rows = self._rows[:, j] & self.positive
            bound = float(2.0 * np.sum(self.weights[rows] * np.exp(eta[rows])))  # U_j >= B_j
            if bound > target:
                out[j] -= np.log(bound / target) / self.X[self._rows[:, j], j].min()
        return out


def diverging_columns(X: np.ndarray, offset: np.ndarray, weights: np.ndarray, beta_zi: np.ndarray) -> np.ndarray:
    """The zero-part coefficients diverging to -inf at ``beta_zi``: negative, with every row of their column
    (x_ij != 0, positive weight) at eta_zi below :data:`DIVERGED_ZERO_PART_ETA` (zero probability 0 to working
    precision: the likelihood is flat in them, their estimate where the optimiser stopped or held them)."""
    X = np.asarray(X, dtype=float)
    beta_zi = np.asarray(beta_zi, dtype=float)
    rows = _column_rows(X, weights)
    in_tail = _columns_in_tail(rows, np.asarray(offset, dtype=float) + X @ beta_zi)
    return np.flatnonzero(in_tail & (beta_zi < 0) & rows.any(axis=0))


def _column_rows(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n, p) bool: the rows of each column, x_ij != 0 with a positive weight."""
    return (X != 0) & (np.asarray(weights, dtype=float) > 0)[:, None]


def _columns_in_tail(rows: np.ndarray, eta: np.ndarray, bound: float = DIVERGED_ZERO_PART_ETA) -> np.ndarray:
    """(p,) bool: the columns every one of whose ``rows`` has eta_zi below ``bound`` (all False at once where no
    row is there: most fits)."""
    if not eta.min(initial=np.inf) < bound:
        return np.zeros(rows.shape[1], dtype=bool)
    return np.all((eta[:, None] < bound) | ~rows, axis=0)
