"""``fit.optinfo``: one record per stage, the same structure for every model class (issue 16).

Each model class (glmer with a canonical and a non-canonical link, lmer,
glmer.nb, zero inflation, random effects in the ziformula, a dispersion family, AGQ (with and without
its exact gradient), the Tweedie power estimated
jointly, glm) is fitted from scratch and its standard errors read; its
stages must be of the expected kinds, in order, with positive and
consistent counts (gradient evaluations among the evaluations, PIRLS
iterations where PIRLS runs, the totals the sums over the stages) and
seconds that sum to at most the fit's own time.
"""

from __future__ import annotations

import pickle
import time

import pytest

import glmmfast
from glmmfast.families import Gamma
from glmmfast.fit._optimizer_info import STAGE_KINDS

from test_zero_inflation import load

KEYS = {"name", "kind", "optimizer", "evaluations", "gradient_evaluations", "pirls_iterations", "seconds", "exact_gradient",
        "deviance", "status"}


def _grouse():
    return glmmfast.datasets.load("grouseticks")


def _sleep():
    return glmmfast.datasets.load("sleepstudy")


def _cbpp():
    return glmmfast.datasets.load("cbpp")


CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"

#: model class -> (fit from scratch, the stage kinds it runs, whether its stages run PIRLS)
CLASSES = {
    "glmer canonical": (lambda: glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", _grouse(), "poisson"),
                        ["start", "stage 1", "stage 2", "hessian"], True),
    "glmer non-canonical": (lambda: glmmfast.glmer(CBPP, _cbpp(), glmmfast.families.Binomial(link="probit")),
                            ["start", "stage 1", "stage 2", "hessian"], True),
    "lmer": (lambda: glmmfast.lmer("Reaction ~ Days + (Days | Subject)", _sleep()),
             ["stage 1", "hessian"], False),
    "glmer.nb": (lambda: glmmfast.glmer_nb("TICKS ~ YEAR + (1 | LOCATION)", _grouse()),
                 ["start", "stage 1", "stage 2", "hessian"], True),
    "zero-inflated": (lambda: glmmfast.glmer("count ~ mined + (1 | site)", load("Salamanders"), "poisson",
                                             ziformula="~ mined", quiet=True),
                      ["start", "stage 1", "stage 2", "hessian"], True),
    "zi random effects": (lambda: glmmfast.glmer("count ~ mined + (1 | site)", load("Salamanders"), "poisson",
                                                 ziformula="~ 1 + (1 | site)", quiet=True),
                          ["start", "stage 2"], True),
    "dispersion family": (lambda: glmmfast.glmer("Reaction ~ Days + (1 | Subject)", _sleep(), Gamma(link="log"),
                                                 quiet=True),
                          ["start", "stage 1", "stage 2", "hessian"], True),
    "AGQ": (lambda: glmmfast.glmer(CBPP, _cbpp(), "binomial", nAGQ=9),
            ["start", "stage 1", "stage 2", "hessian"], True),
    # a non-canonical link: no exact gradient of the AGQ deviance (agq_gradient.cpp)
    "AGQ probit": (lambda: glmmfast.glmer(CBPP, _cbpp(), glmmfast.families.Binomial(link="probit"), nAGQ=9),
                   ["start", "stage 1", "stage 2", "hessian"], True),
    "Tweedie power": (lambda: glmmfast.glmer("y ~ x + (1 | g)", load("tweedie"), "tweedie", quiet=True),
                      # the power one more coordinate of both stages, beside the dispersion
                      ["start", "stage 1", "stage 2", "hessian"], True),
    "glm": (lambda: glmmfast.glm("TICKS ~ YEAR", _grouse(), family="poisson"), ["irls"], True),
}


def _timed_fit(make):
    t0 = time.perf_counter()
    fit = make()
    fit.vcov  # the standard errors: the Hessian stage
    return fit, time.perf_counter() - t0


@pytest.mark.parametrize("model_class", list(CLASSES))
def test_optinfo_reports_every_stage_uniformly(model_class):
    make, kinds, runs_pirls = CLASSES[model_class]
    fit, elapsed = _timed_fit(make)
    info = fit.optinfo
    stages = info.stages
    assert [s["kind"] for s in stages] == kinds, stages
    for s in stages:
        assert set(s) == KEYS and s["kind"] in STAGE_KINDS
        # the methods the stage ran; none for the derivatives at the optimum
        assert isinstance(s["optimizer"], str) and bool(s["optimizer"]) == (s["kind"] != "hessian"), s
        assert 0 <= s["gradient_evaluations"] <= s["evaluations"], s
        assert s["seconds"] >= 0 and s["pirls_iterations"] >= 0, s
        if s["kind"] != "start":  # the GLM start evaluates no mixed-model criterion
            assert s["evaluations"] > 0, s
        if runs_pirls and s["kind"] != "family parameter":
            assert s["pirls_iterations"] > 0, s
        elif not runs_pirls:
            assert s["pirls_iterations"] == 0, s
    for total in ("evaluations", "gradient_evaluations", "pirls_iterations"):
        assert getattr(info, total) == sum(s[total] for s in stages), total
    # each stage is timed inside the fit: together at most its time (the
    # phases design + optimize + derivatives hold the stages too, bar the profile's other fits)
    assert sum(s["seconds"] for s in stages) <= elapsed
    if "family parameter" not in kinds:
        assert sum(s["seconds"] for s in stages) <= sum(info.seconds.values()) + 1e-9
    # the last optimisation stage ends at the fit's criterion (AGQ's with the saturated part lme4 leaves out)
    optimum = [s for s in stages if s["kind"] in ("stage 1", "stage 2", "irls")][-1]
    assert optimum["deviance"] == pytest.approx(fit.deviance + getattr(fit, "m2ll_omitted", 0.0), rel=1e-9)


def test_exact_gradient_stages_count_their_gradients():
    fit, _ = _timed_fit(CLASSES["glmer canonical"][0])
    by_kind = {s["kind"]: s for s in fit.optinfo.stages}
    for kind in ("stage 1", "stage 2"):  # L-BFGS / BFGS: every evaluation with its gradient
        assert by_kind[kind]["exact_gradient"]
        assert by_kind[kind]["gradient_evaluations"] == by_kind[kind]["evaluations"]
    # the standard errors: central differences of the exact gradient in (theta, beta),
    # 2 d + 1 gradients, and no evaluation to put the engine back at the optimum (the
    # engine's Hessian returns to its centre's state: cpp/src/optim/gradient_differences.hpp)
    d = fit.theta.size + fit.fixef.size
    hessian = by_kind["hessian"]
    assert hessian["exact_gradient"] and hessian["gradient_evaluations"] == 2 * d + 1
    assert hessian["evaluations"] == hessian["gradient_evaluations"]


def test_agq_stages_use_the_exact_gradient_where_there_is_one():
    # nAGQ > 1, canonical link: stage 2 takes BFGS steps on the exact gradient of the AGQ deviance from the
    # Laplace optimum, and the standard errors come from central differences of that gradient
    fit, _ = _timed_fit(CLASSES["AGQ"][0])
    joint, = [s for s in fit.optinfo.stages if s["kind"] == "stage 2"]
    assert joint["optimizer"] == "bfgs" and joint["exact_gradient"]
    assert joint["gradient_evaluations"] == joint["evaluations"]
    d = fit.theta.size + fit.fixef.size
    hessian, = [s for s in fit.optinfo.stages if s["kind"] == "hessian"]
    assert hessian["exact_gradient"] and hessian["gradient_evaluations"] == 2 * d + 1


def test_agq_stage_2_says_it_steps_on_central_differences():
    # nAGQ > 1 without an exact gradient (a probit link); stage 2 takes BFGS steps on central differences of
    # the AGQ deviance from the Laplace optimum (fit/_optimize.py's _differenced_quasi_newton), and says so:
    # its optimizer, and its differenced gradients among its evaluations, each 2 d of them (d = theta and
    # beta's coordinates)
    fit, _ = _timed_fit(CLASSES["AGQ probit"][0])
    stage1, = [s for s in fit.optinfo.stages if s["kind"] == "stage 1"]
    assert stage1["optimizer"].endswith("bfgs") and stage1["exact_gradient"]  # ... then the Laplace optimum
    joint, = [s for s in fit.optinfo.stages if s["kind"] == "stage 2"]
    assert fit.optinfo.optimizer == joint["optimizer"] == "bfgs on central differences"
    assert not joint["exact_gradient"] and joint["gradient_evaluations"] > 0
    d = fit.theta.size + fit.fixef.size
    assert joint["evaluations"] >= (2 * d + 1) * joint["gradient_evaluations"]
    hessian, = [s for s in fit.optinfo.stages if s["kind"] == "hessian"]
    assert hessian["gradient_evaluations"] == 0 and hessian["evaluations"] > 0 and hessian["optimizer"] == ""


def test_agq_stage_2_names_bobyqa_where_it_finishes(monkeypatch):
    # where BFGS on the differences cannot finish, BOBYQA does, and the stage lists both
    from glmmfast.fit import _optimize
    quasi_newton = _optimize._quasi_newton

    def differences_fail(*args, method="bfgs", **kwargs):
        out = quasi_newton(*args, method=method, **kwargs)
        return None if method == "bfgs on central differences" else out

    monkeypatch.setattr(_optimize, "_quasi_newton", differences_fail)
    fit, _ = _timed_fit(CLASSES["AGQ probit"][0])
    joint, = [s for s in fit.optinfo.stages if s["kind"] == "stage 2"]
    assert joint["optimizer"] == "bfgs on central differences, bobyqa" and fit.optinfo.optimizer == "bobyqa"


def test_hessian_stage_is_added_once_and_survives_pickling():
    fit = CLASSES["glmer canonical"][0]()
    kinds = [s["kind"] for s in fit.optinfo.stages]
    fit.vcov, fit.messages, fit.summary()
    assert [s["kind"] for s in fit.optinfo.stages] == kinds  # computed once: glmer reads the messages
    back = pickle.loads(pickle.dumps(fit))
    assert back.optinfo.stages == fit.optinfo.stages
    assert back.optinfo.evaluations == fit.optinfo.evaluations
