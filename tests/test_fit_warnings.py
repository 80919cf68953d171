"""Fit-time messages are Python warnings too (glmmfast.fit._fit_warnings), and quiet=True or
the standard warnings filters silence them; refits and the bootstrap stay silent."""

import warnings

import numpy as np
import pandas as pd
import pytest

import glmmfast


@pytest.fixture
def singular_frame():
    # No group effect at all: the ML/REML variance is 0 (theta = 0, lme4's "boundary (singular) fit").
    rng = np.random.default_rng(1)
    return pd.DataFrame({"y": rng.normal(size=50), "g": np.repeat(np.arange(10), 5).astype(str)})


@pytest.fixture
def separated_frame():
    rng = np.random.default_rng(1)
    x = rng.normal(size=120)
    return pd.DataFrame({"y": (x > 0).astype(int), "x": x, "g": np.repeat(np.arange(12), 10)})


def test_warning_classes_are_user_warnings():
    assert issubclass(glmmfast.ConvergenceWarning, UserWarning)
    assert issubclass(glmmfast.SingularFitWarning, UserWarning)
    assert not issubclass(glmmfast.SingularFitWarning, glmmfast.ConvergenceWarning)


def test_singular_fit_warns_at_the_callers_line(singular_frame):
    with pytest.warns(glmmfast.SingularFitWarning, match=r"boundary \(singular\) fit") as record:
        fit = glmmfast.lmer("y ~ 1 + (1 | g)", singular_frame)
    assert fit.theta[0] == 0 and fit.messages == ["boundary (singular) fit: see help('isSingular')"]
    assert [w.filename for w in record] == [__file__]  # stacklevel: the user's call, not glmmfast's code


def test_separation_is_a_convergence_warning(separated_frame):
    with pytest.warns(glmmfast.ConvergenceWarning, match="separation"):
        glmmfast.glmer("y ~ x + (1 | g)", separated_frame, family="binomial")
    with pytest.warns(glmmfast.ConvergenceWarning, match="numerically 0 or 1"):
        glmmfast.glm("y ~ x", separated_frame, family="binomial")


@pytest.mark.parametrize("fit", [
    lambda d: glmmfast.lmer("y ~ 1 + (1 | g)", d, quiet=True),
    lambda d: glmmfast.glmer("y ~ 1 + (1 | g)", d, family="gaussian", quiet=True),
])
def test_quiet_silences_but_keeps_the_messages(singular_frame, fit):
    with warnings.catch_warnings():
        warnings.simplefilter("error", glmmfast.SingularFitWarning)
        warnings.filterwarnings("ignore", message="glmer with family gaussian")
        result = fit(singular_frame)
    assert result.messages and result.messages[0].startswith("boundary (singular) fit")


def test_standard_filters_silence_them(separated_frame):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", glmmfast.ConvergenceWarning)
        glmmfast.glmer_nb("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"))
        glmmfast.glmer("y ~ x + (1 | g)", separated_frame, family="binomial")
    assert record == []


def test_clean_fit_and_its_bootstrap_do_not_warn(grouseticks):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson")
        boot = fit.bootstrap(20, seed=1, n_jobs=1, progress=False)
    assert fit.messages == [] and boot.n_failed == 0


def test_refits_of_a_singular_model_stay_silent(singular_frame):
    fit = glmmfast.lmer("y ~ 1 + (1 | g)", singular_frame, quiet=True)
    rng = np.random.default_rng(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        boot = glmmfast.glmer("y ~ x + (1 | g)", pd.DataFrame({
            "y": rng.poisson(1.0, 50), "x": rng.normal(size=50), "g": singular_frame["g"]}),
            family="poisson", quiet=True).bootstrap(10, seed=3, n_jobs=1, progress=False)
    assert fit.messages and boot.n_failed == 0


def test_data_name_sets_the_data_line_and_is_checked(grouseticks):
    fit = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson", data_name="ticks2024")
    assert "Data: ticks2024\n" in fit.summary_text()
    assert glmmfast.glm("TICKS ~ YEAR", grouseticks, family="poisson", data_name="mine").data_name == "mine"
    with pytest.raises(glmmfast.DataError, match="data_name must be a non-empty string"):
        glmmfast.lmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, data_name=3)
