"""Fitting (internal): the staged pipelines from design to optimum.

``_glmer``/``_lmer``/``_glm`` are the public fitting functions; ``_optimize``
drives nlopt over the engine's objective (``_engine``); ``_agq``,
``_derivatives`` and ``_dispersion`` hold the quadrature, finite-difference and
overdispersion pieces; ``_fit_many`` and ``_cancel`` run many fits.
"""
