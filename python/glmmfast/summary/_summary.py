"""Model summaries printed as R prints them: the :class:`PrintsSummary` mixin of fitted models.

Interface
---------
PrintsSummary
    Mixin: ``fit.summary()`` prints ``fit.summary_text()``; ``str(fit)`` is
    that text.
format_glmer_summary, format_mermod_print, format_lmertest_summary
    (from :mod:`._mermod_summary`) and format_glm_summary (from
    :mod:`._glm_summary`), re-exported for the model classes.

The pieces: R's number formatting (:mod:`._r_format`), printing primitives
(:mod:`._r_print`), printCoefmat (:mod:`._coef_table`); formulas print
through the deparser of the formula package (:mod:`glmmfast.formula._deparse`).
"""

from __future__ import annotations

from ._glm_summary import format_glm_summary
from ._mermod_summary import format_glmer_summary, format_lmertest_summary, format_mermod_print

__all__ = ["format_glmer_summary", "format_glm_summary", "format_mermod_print", "format_lmertest_summary",
           "PrintsSummary"]


class PrintsSummary:
    """Mixin for fitted models: ``summary()`` prints ``summary_text()`` as R
    does, and ``str(fit)`` is that text."""

    def summary_text(self) -> str:  # pragma: no cover - provided by the model class
        raise NotImplementedError

    def summary(self) -> None:
        """Print the summary as R's ``summary(fit)`` does.

        Returns
        -------
        None
            The text is :meth:`summary_text`.

        Examples
        --------
        >>> import glmmfast
        >>> fit = glmmfast.glm("TICKS ~ YEAR", glmmfast.datasets.load("grouseticks"), family="poisson")
        >>> fit.summary()  # doctest: +ELLIPSIS
        <BLANKLINE>
        Call:
        glm(formula = TICKS ~ YEAR, family = poisson, data = grouseticks)
        ...
        """
        print(self.summary_text(), end="")

    def __str__(self) -> str:
        return self.summary_text()

