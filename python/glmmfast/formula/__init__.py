"""Formulas (internal): lme4 formula parsing, R's model frame and model.matrix coding.

``_formula`` parses an lme4 formula into a tree; ``_model_frame`` evaluates its
terms on a DataFrame as R does; ``_contrasts``, ``_splines`` and
``_formula_functions`` are the R functions a formula may call.
"""
