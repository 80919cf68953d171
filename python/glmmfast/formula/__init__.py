"""Formulas (internal): lme4 formula parsing, R's model frame and model.matrix coding.

The text of a formula is parsed once, into one syntax tree; everything after
works on the tree.  ``_nodes`` holds the tree's node classes, ``_formula`` the
parser, R's term algebra and lme4's bar expansion, ``_deparse`` R's deparse
(one line, or broken at 60 characters as summaries print formulas).  The
model frame: ``_r_eval`` interprets R expressions over DataFrame columns,
``_model_matrix`` codes them as R's model.matrix, ``_response`` evaluates the
response, ``_model_frame`` finds the columns used and the grouping factors
(and re-exports the rest).  ``_contrasts``, ``_splines`` and
``_formula_functions`` are the R functions a formula may call.
"""
