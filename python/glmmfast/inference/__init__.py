"""Inference (internal): intervals, tests and derived quantities of a fit.

Profile/Wald/bootstrap intervals (``_confint``), likelihood-ratio and F tests
(``_anova``, ``_lmer_anova``), Satterthwaite and Kenward-Roger degrees of
freedom, estimated marginal means, R², simulated scaled residuals.
"""
