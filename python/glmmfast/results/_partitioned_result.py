"""The results of mixed models fitted to a Dask DataFrame's partitions.

:class:`PartitionedGlmerResult` (:mod:`glmmfast.fit._partitioned`) is a
:class:`~glmmfast.results._results.GlmerResult` and
:class:`PartitionedLmerResult` (:mod:`glmmfast.fit._partitioned_lmm`) a
:class:`~glmmfast.results._results.LmerResult` whose rows stay in the Dask
DataFrame; what they share (:class:`_PartitionedRowsResult`): the estimates,
vcov (a GLMM's computed at the end of the fit, while the workers still held
the rows; an LMM's from its cross-products), VarCorr, ranef and
coef come from the driver's engine at the optimum exactly as in memory;
``predict`` on a Dask DataFrame returns a Dask Series (on a pandas frame an
array, as in memory), and the summary's scaled-residual quartiles are
computed by the workers (exact up to 10^6 rows, Dask's approximation beyond).  What needs the fitted rows in memory
(fitted, residuals, refit, simulate, bootstrap, profiles, anova) raises
:class:`PartitionedNotSupported`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..design._partitioned_design import PartitionedDesign, partition_arrays
from ..fit._partitioned import PartitionedNotSupported
from ..fit._residuals import residuals_of
from ._predict import predict as predict_rows
from ._results import GlmerResult, LmerResult

__all__ = ["PartitionedGlmerResult", "PartitionedLmerResult"]

#: up to this many rows the summary's residual quartiles are exact (the
#: residuals, 8 bytes a row, come to the driver); beyond, Dask's approximation
EXACT_QUARTILES_ROWS = 10**6


@dataclass
class _Predictor:
    """What :func:`~glmmfast.results._predict.predict` reads of a result, small enough to ship to workers."""

    _design: object
    fixef: pd.Series
    family: object
    parts: list
    offset_column: str | None
    fixef_zi: None = None  # no zero inflation on partitioned rows (predict reads it)
    fixef_disp: None = None  # nor a dispersion model

    def _ranef_parts(self):
        return self.parts

    def predict_frame(self, data: pd.DataFrame, type: str, re_form, allow_new_levels: bool) -> pd.Series:
        offset = None if self.offset_column is None else data[self.offset_column].to_numpy(dtype=float)
        values = predict_rows(self, data, type, re_form, allow_new_levels, offset)
        return pd.Series(values, index=data.index, dtype=float)


def _scaled_pearson(data: pd.DataFrame, plan: PartitionedDesign, beta: np.ndarray, b: np.ndarray,
                    family) -> pd.Series:
    """One partition's Pearson residuals at the estimates (a worker's share of the summary's quantiles)."""
    arrays = partition_arrays(plan, data)
    eta = arrays.offset + arrays.X[:, plan.keep] @ beta + arrays.Z @ b
    mu = np.asarray(family.linkinv(eta), dtype=float)
    return pd.Series(residuals_of(family, arrays.y, mu, eta, arrays.weights, "pearson"), dtype=float)


class _PartitionedRowsResult:
    """What a result fitted to a Dask DataFrame's partitions does without its rows (a mixin before the result class)."""

    def __init__(self, state, data_name, nobs: int, rows, plan: PartitionedDesign, data):
        with np.errstate(divide="ignore"):  # the design shell has no rows: nobs is set below
            super().__init__(state, data_name)  # the in-memory result class after this mixin
        self._set_rows(nobs, rows, plan, data)

    def _set_rows(self, nobs: int, partitions, plan: PartitionedDesign, data) -> None:
        """n (the design shell has no rows) and what needs the partitions: predict, the summary's residuals."""
        npar = int(round((self.aic - self.deviance) / 2))
        self.nobs, self.df_resid = int(nobs), int(nobs - npar)
        self.bic = self.deviance + np.log(self.nobs) * npar
        self.partitions = partitions
        self._plan, self._data = plan, data

    def _predictor(self) -> _Predictor:
        return _Predictor(self._design, self.fixef, self.family, self._ranef_parts(), self._plan.offset)

    def predict(self, newdata=None, type: str = "link", re_form=None, allow_new_levels: bool = False,
                offset=None):
        """Predictions on a Dask DataFrame (a Dask Series, computed by the workers) or a pandas one (an array).

        Parameters are :meth:`GlmerResult.predict`'s; ``newdata`` is
        required (the fitted rows stay in their partitions: pass the fitted
        Dask DataFrame to predict them).  A fit with ``offset="column"``
        reads that column of ``newdata``.

        Examples
        --------
        >>> import glmmfast, dask.dataframe as dd, distributed
        >>> with distributed.Client(processes=False, n_workers=1, dashboard_address=None):
        ...     df = glmmfast.datasets.load("grouseticks")
        ...     ddf = dd.from_pandas(df, npartitions=2)
        ...     fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", ddf, family="poisson")
        ...     fit.predict(ddf, type="response").compute().round(3).head(2).tolist()
        [0.444, 0.444]
        """
        if newdata is None:
            raise PartitionedNotSupported("the fitted rows stay in their partitions: pass newdata (the fitted Dask "
                                          "DataFrame predicts them)")
        predictor = self._predictor()
        if hasattr(newdata, "map_partitions"):
            return newdata.map_partitions(predictor.predict_frame, type, re_form, allow_new_levels,
                                          meta=(None, float))
        if offset is None and predictor.offset_column is not None:
            offset = newdata[predictor.offset_column].to_numpy(dtype=float)
        return predict_rows(predictor, newdata, type, re_form, allow_new_levels, offset)

    def _summary_residuals(self) -> np.ndarray:
        """The scaled Pearson residuals (up to EXACT_QUARTILES_ROWS rows), else their five quartiles by Dask."""
        b = np.concatenate([modes.reshape(-1) for _, modes, _ in self._ranef_parts()])
        series = self._data.map_partitions(_scaled_pearson, self._plan, self.fixef.to_numpy(), b, self.family,
                                           meta=(None, float))
        if self.nobs <= EXACT_QUARTILES_ROWS:
            return series.compute().to_numpy() / self.sigma
        # the five values have themselves as their type-7 quartiles
        return np.asarray(series.quantile([0.0, 0.25, 0.5, 0.75, 1.0]).compute(), dtype=float) / self.sigma

    def _needs_rows(self, *args, **kwargs):
        raise PartitionedNotSupported("this method needs the fitted rows in memory; the fit's rows are in the "
                                      "partitions of a Dask DataFrame")

    fitted = linear_predictor = residuals = model_matrix = r2 = _needs_rows
    simulate = refit = bootstrap = anova = _needs_rows

    @property
    def scaled_residuals(self):
        self._needs_rows()

    def confint(self, method: str = "Wald", level: float = 0.95, **kwargs) -> pd.DataFrame:
        """Wald intervals (profile and bootstrap intervals need the rows in memory): :meth:`GlmerResult.confint`'s."""
        if method != "Wald":
            self._needs_rows()
        return super().confint(method, level, **kwargs)


class PartitionedGlmerResult(_PartitionedRowsResult, GlmerResult):
    """A GLMM fitted to the partitions of a Dask DataFrame (``glmmfast.glmer`` on a Dask DataFrame).

    Everything a :class:`GlmerResult` offers that reads estimates, vcov and
    the random effects' modes; ``predict`` takes a Dask DataFrame (returning
    a Dask Series) or a pandas one.  ``partitions`` records the round trips
    to the workers (``gathers``) and their seconds.

    Examples
    --------
    >>> import glmmfast, dask.dataframe as dd, distributed
    >>> with distributed.Client(processes=False, n_workers=1, dashboard_address=None):
    ...     df = glmmfast.datasets.load("grouseticks")
    ...     fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", dd.from_pandas(df, npartitions=2),
    ...                          family="poisson")
    ...     round(fit.deviance, 2), fit.nobs
    (2298.29, 403)
    """

    def _boundary_messages(self, model) -> list[str]:
        return []  # the family's separation check reads the fitted rows


class PartitionedLmerResult(_PartitionedRowsResult, LmerResult):
    """An LMM fitted to the partitions of a Dask DataFrame (``glmmfast.lmer`` on a Dask DataFrame).

    Everything a :class:`LmerResult` offers that reads estimates, vcov and
    the random effects' modes, computed from the rows' cross-products
    (read once); ``predict`` as :class:`PartitionedGlmerResult`'s.
    ``partitions`` is None: no rows are held on the workers after the fit.

    Examples
    --------
    >>> import glmmfast, dask.dataframe as dd, distributed
    >>> with distributed.Client(processes=False, n_workers=1, dashboard_address=None):
    ...     df = glmmfast.datasets.load("sleepstudy")
    ...     fit = glmmfast.lmer("Reaction ~ Days + (Days | Subject)", dd.from_pandas(df, npartitions=3))
    ...     round(fit.reml_criterion, 4), fit.nobs
    (1743.6283, 180)
    """

    # lmerTest's df (Satterthwaite, Kenward-Roger) read the rows (lmm_variance_derivatives.cpp)
    coef_table = contest = _PartitionedRowsResult._needs_rows
