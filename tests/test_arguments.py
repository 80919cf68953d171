"""Plain arguments (REML, nsim, level, method, residual and prediction type) are refused
with an ArgumentError naming the argument, at every public entry point, before any work."""

from __future__ import annotations

import numpy as np
import pytest

import glmmfast
from glmmfast import ArgumentError, ArgumentTypeError, GlmmfastError
from glmmfast._arguments import check_bool, check_choice, check_level, check_nsim


@pytest.fixture(scope="module")
def cbpp_fit(cbpp):
    return glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")


def test_argument_errors_are_glmmfast_errors_and_builtins():
    assert issubclass(ArgumentError, GlmmfastError) and issubclass(ArgumentError, ValueError)
    assert issubclass(ArgumentTypeError, ArgumentError) and issubclass(ArgumentTypeError, TypeError)


def test_helpers_return_canonical_values():
    assert check_bool("REML", np.bool_(False)) is False
    assert check_nsim(np.int64(3)) == 3 and type(check_nsim(np.int64(3))) is int
    assert check_level(np.float32(0.5)) == 0.5
    assert check_choice("method", "Wald", ("Wald", "boot")) == "Wald"


@pytest.mark.parametrize("value", ["yes", 1, None, 0.0])
def test_reml_must_be_a_bool(sleepstudy, value):
    with pytest.raises(ArgumentTypeError, match="REML must be True or False"):
        glmmfast.lmer("Reaction ~ Days + (1 | Subject)", sleepstudy, REML=value)


@pytest.mark.parametrize("nsim, error", [(0, ArgumentError), (-3, ArgumentError), (2.5, ArgumentTypeError),
                                         ("10", ArgumentTypeError), (True, ArgumentTypeError)])
def test_nsim_must_be_a_positive_integer(cbpp_fit, nsim, error):
    with pytest.raises(error, match="nsim must be a positive integer"):
        cbpp_fit.simulate(nsim)
    with pytest.raises(error, match="nsim must be a positive integer"):
        cbpp_fit.bootstrap(nsim)
    with pytest.raises(error, match="nsim must be a positive integer"):
        cbpp_fit.confint("boot", nsim=nsim)


@pytest.mark.parametrize("level, error", [(0, ArgumentError), (1, ArgumentError), (1.5, ArgumentError),
                                          (-0.2, ArgumentError), (float("nan"), ArgumentError),
                                          ("0.95", ArgumentTypeError), (None, ArgumentTypeError)])
def test_level_must_be_in_the_open_unit_interval(cbpp_fit, level, error):
    with pytest.raises(error, match="level must be"):
        cbpp_fit.confint(level=level)


def test_caterpillar_level_uses_the_same_check(cbpp_fit):
    pytest.importorskip("matplotlib")
    with pytest.raises(ArgumentError, match=r"level must be in \(0, 1\), got 2"):
        glmmfast.plots.caterpillar(cbpp_fit, level=2)


def test_unknown_choices_are_named(cbpp_fit):
    with pytest.raises(ArgumentError, match="unknown method 'wald': method must be one of 'Wald', 'profile', 'boot'"):
        cbpp_fit.confint("wald")
    with pytest.raises(ArgumentError, match="unknown residual type 'raw'"):
        cbpp_fit.residuals("raw")
    with pytest.raises(ArgumentError, match="unknown type 'prob': type must be one of 'link', 'response'"):
        cbpp_fit.predict(type="prob")


def test_lmer_and_glm_residual_types_use_the_same_check(sleepstudy, cbpp):
    lmm = glmmfast.lmer("Reaction ~ Days + (1 | Subject)", sleepstudy)
    glm_fit = glmmfast.glm("cbind(incidence, size - incidence) ~ period", cbpp, family="binomial")
    for fit in (lmm, glm_fit):
        with pytest.raises(ArgumentError, match="unknown residual type 'raw': residual type must be one of"):
            fit.residuals("raw")
