"""Printing (internal): lme4- and R-style text of fits and variance components."""
