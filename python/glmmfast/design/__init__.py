"""Model design (internal): the arrays a fit needs, built from a parsed formula.

``_design`` builds y, X, Z, weights and offset (:class:`ModelDesign`);
``_re_terms`` describes each random-effects term; ``_design_checks`` refuses
models lme4 refuses, before the engine runs.
"""
