"""The fixed-effects design of a model component besides the conditional mean: glmmTMB's ``ziformula`` and ``dispformula``.

Holds :class:`ComponentDesign` (the model matrix of a one-sided formula
with R's coding, its column names, its offset and the encoding stored for
new data) and :func:`component_design_for`, which evaluates a one-sided
formula string (``"~ spp * mined"``, ``"~1"``, ``"~ x + (1 | g)"``) on the
rows the conditional model uses, through the same formula parser, model
frame and random-effects terms (:mod:`glmmfast.design._re_terms`) as the
conditional part.  Random effects are allowed in the ``ziformula`` (their
terms and Z, integrated jointly with the conditional ones:
:mod:`glmmfast.fit._zi_random_effects`) and refused in the ``dispformula``
(not supported yet), as are missing values in a component's variables on
those rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._errors import DataError, FormulaError
from ..families import Gaussian, Poisson

__all__ = ["ComponentDesign", "component_design_for"]


@dataclass
class ComponentDesign:
    """A component's fixed-effects design on the fitted rows.

    Attributes
    ----------
    formula : str
        The one-sided formula as given (``"~spp + mined"``).
    X : ndarray, shape (n, p)
    x_names : list of str
        R's column names.
    offset : ndarray, shape (n,)
        From ``offset()`` terms in the formula (zeros without).
    x_spec : object
        The encoding for new data (``_model_frame.apply_design``).
    """

    formula: str
    X: np.ndarray
    x_names: list[str]
    offset: np.ndarray
    x_spec: object = field(repr=False)
    #: as ModelDesign's (a component refuses aliased columns and has no offset= argument), so that
    #: :func:`~glmmfast.results._predict.fixed_part` evaluates a component on new data too
    x_dropped: list[str] = field(default_factory=list)
    offset_argument: bool = False
    #: the component's random-effects terms (ReTerm, design/_re_terms.py) and their Z (n x q, CSC);
    #: none (and None) for a fixed-effects component
    terms: list = field(default_factory=list, repr=False)
    Z: object = field(default=None, repr=False)

    @property
    def random(self) -> bool:
        """Whether the component has random-effects terms."""
        return bool(self.terms)


def _right_hand_side(formula: str, argument: str) -> str:
    """The text after ``~`` of a one-sided formula (FormulaError naming ``argument`` otherwise)."""
    if not isinstance(formula, str):
        raise FormulaError(f"{argument} must be a one-sided formula string such as '~ x', "
                           f"not {type(formula).__name__}")
    text = formula.strip()
    if not text.startswith("~") or not text[1:].strip():
        raise FormulaError(f"{argument} must be a one-sided formula such as '~1' or '~ x', got {formula!r}")
    return text[1:].strip()


def component_design_for(formula: str, argument: str, data: pd.DataFrame, rows: pd.Index,
                         contrasts: dict | None = None) -> ComponentDesign:
    """Evaluate the one-sided ``formula`` (the ``argument`` named in errors) on ``data.loc[rows]``.

    Parameters
    ----------
    formula : str
        ``"~ x + f"``; random-effects terms (``"~ x + (1 | g)"``) in the ``ziformula`` only.
    argument : str
        ``"ziformula"`` or ``"dispformula"``: the argument's name for messages.
    data : DataFrame
    rows : Index
        The rows of ``data`` the conditional model was fitted to.
    contrasts : dict, optional
        As the conditional model's.

    Returns
    -------
    ComponentDesign

    Raises
    ------
    FormulaError
        Not a one-sided formula, or random effects in a ``dispformula`` (not supported yet).
    DataError
        Missing values in its variables on the fitted rows.
    """
    from ._design import model_design_for

    rhs = _right_hand_side(formula, argument)
    random = "|" in rhs
    if random and argument != "ziformula":
        raise FormulaError(f"random effects in the {argument} ({formula!r}) are not supported yet: "
                           "use fixed effects only")
    frame = data.loc[rows].copy()
    response = "glmmfast_component_response__"
    frame[response] = 0.0
    # The family only decides which of lme4's checks apply: with random effects glmer's (a placeholder
    # count response of zeros), not lmer's residual-variance ones.
    design = model_design_for(f"{response} ~ {rhs}", frame, Poisson() if random else Gaussian(), random=random,
                              na_action="omit", contrasts=contrasts)
    if design.n != len(rows):
        raise DataError(f"the {argument}'s variables have missing values on rows the conditional model uses "
                        "(not supported: drop those rows first)")
    if design.x_dropped:
        raise DataError(f"the {argument}'s model matrix is rank deficient ({', '.join(design.x_dropped)} "
                        "aliased): simplify the formula")
    return ComponentDesign(formula=formula.strip(), X=np.asfortranarray(design.X), x_names=list(design.x_names),
                           offset=np.asarray(design.offset, dtype=float), x_spec=design.x_spec,
                           terms=list(design.terms), Z=design.Z)
