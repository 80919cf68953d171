"""Fitting (internal): the staged pipelines from design to optimum.

``_glmer``/``_lmer``/``_glm`` are the public fitting functions; every mixed
model fit (and refit) ends in one :class:`~glmmfast.fit._fit_state.FitState`
made by ``_fit_state``; ``_optimize`` drives nlopt over the engine's
objectives (``_objective``; the engine model from ``_engine``), with the
family parameters it estimates as objects (``_family_parameter``);
``_agq``, ``_derivatives``, ``_residuals`` and ``_dispersion`` hold the
quadrature, finite-difference, residual and overdispersion pieces;
``_fit_many`` and ``_cancel`` run many fits.  Dependency direction: design
-> fit -> results -> inference (only the public fitting functions and
``_fit_many`` import the results they return).
"""
