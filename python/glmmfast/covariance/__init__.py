"""Covariance structures of random-effects terms (glmmTMB's ``us``, ``diag``,
``cs``, ``ar1``, ``toep``, ``ou``, ``exp``, ``gau``, ``mat``).

One module per structure, the shared bases (``_base``, ``_scaled_correlation``,
``_lag_correlation``, ``_log_scale``), the registry (``_registry``) and
:func:`num_factor` (``_num_factor``), the coordinates factor the distance-based
structures read.
"""

from ._base import CovarianceStructure
from ._num_factor import num_factor, parse_num_levels
from ._registry import STRUCTURES, make_structure

__all__ = ["CovarianceStructure", "STRUCTURES", "make_structure", "num_factor", "parse_num_levels"]
