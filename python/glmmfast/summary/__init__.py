"""Printing (internal): lme4- and R-style text of fits and variance components.

``_r_format`` (R's format()/formatReal, zapsmall, format.pval), ``_r_print``
(cat(fill=), strwrap, abbreviate, print of named vectors and character
matrices), ``_coef_table`` (printCoefmat), ``_mermod_summary`` (lme4's
summary and print of merMod fits), ``_glm_summary`` (R's summary.glm),
``_fit_formula`` (the formula a summary prints), ``_summary`` (the
PrintsSummary mixin), ``_display`` (VarCorr, ranef/coef lists, anova
tables, HTML).
"""
