"""Fitted models (internal): result objects and what they do after the fit.

``_results`` holds :class:`GlmerResult`/:class:`LmerResult`; ``_predict``,
``_simulate``, ``_refit`` and ``_bootstrap`` are their post-fit operations;
``_glm_postfit`` the same for GLMs.
"""
