"""Random effects in the zero-inflation formula (glmmTMB's ``ziformula = ~ x + (1 | g)``).

Reference fits: tests/data/glmmtmb_reference.json cases ``sal_zip_zire``
(ZIP on Salamanders, ``zi = ~ mined + (1 | site)``) and ``owls_hnb1`` (the
glmmTMB vignette's hurdle NB1 on Owls, ``zi`` with ``(1 | Nest)``).  Targets
as the other glmmTMB cases (tests/test_zero_inflation.py, where the optimum
test iterates over these cases too): the engine's joint Laplace deviance at
glmmTMB's estimates equals glmmTMB's -2 log L; the fit's -2 log L no more
than 0.002 above it; fixed effects of both components and the standard
deviations of both components' random effects within 0.05 SE; standard
errors to 2%; conditional modes and predictions; a simulated ZIP with zero
random intercepts recovers its parameters; refusals of what is not supported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glmmfast
from glmmfast import ArgumentError, FormulaError
from glmmfast.design._design import model_design_for
from glmmfast.fit._family_parameter import shape_parameter
from glmmfast.fit._zero_inflation import tmb_family, zero_inflation_design
from glmmfast.fit._zi_random_effects import zi_random_effects_engine

from test_zero_inflation import REFERENCE, ZI_RANDOM_EFFECTS, _family_parameter_reference, fit_case, load


def _reference_theta(c: dict) -> np.ndarray:
    """glmmTMB's standard deviations as theta (scalar terms; families without a dispersion)."""
    return np.array([c["varcorr"][part][g]["sd"][0] for part in ("cond", "zi") for g in c["varcorr"][part]])


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_engine_deviance_at_glmmtmb_estimates_is_glmmtmbs(cid):
    c = REFERENCE[cid]
    family, estimated = tmb_family(c["family"])
    data = load(c["dataset"])
    design = model_design_for(c["formula"], data, family, random=True, zero_inflated=True)
    design = zero_inflation_design(design, c["ziformula"], data, None)
    parameter = shape_parameter("phi", _family_parameter_reference(c)) if estimated else None
    beta_zi = np.array([c["fixef"]["zi"][n] for n in design.zi.x_names])
    _, model = zi_random_effects_engine(design, parameter, beta_zi)
    beta = np.array([c["fixef"]["cond"][n] for n in design.x_names])
    assert model.deviance_at(_reference_theta(c), beta) == pytest.approx(c["m2loglik"], abs=1e-6)


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_random_effects_of_both_components_match_glmmtmbs(cid):
    c = REFERENCE[cid]
    fit = fit_case(cid)
    vc = fit.varcorr
    for part, prefix in (("cond", ""), ("zi", "zi~")):
        for group, ref in c["varcorr"][part].items():
            sd = float(vc[part].loc[vc[part]["grp"] == group, "sdcor"].iloc[0])
            # glmmTMB's SE of log sd (sd_full's theta): within 0.05 SE on its scale
            assert abs(np.log(sd) - np.log(ref["sd"][0])) <= 0.05 * c["sd_full"][f"{prefix}theta_1|{group}.1"], part
            modes = c[f"ranef_{part}"][group]
            ours = fit.ranef(part)[group]
            assert list(ours.index) == modes["_levels"]
            np.testing.assert_allclose(ours["(Intercept)"], modes["(Intercept)"], atol=5e-3)


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
def test_standard_errors_match_glmmtmbs(cid):
    c = REFERENCE[cid]
    fit = fit_case(cid)
    for part in ("cond", "zi"):
        se = fit.coef_table(part)["Std. Error"]
        for name, value in c["se"][part].items():
            assert se[name] == pytest.approx(value, rel=0.02), (part, name)
    full = fit.vcov_full
    assert np.sqrt(full.loc["zi~(Intercept)", "zi~(Intercept)"]) == pytest.approx(c["sd_full"]["zi~(Intercept)"],
                                                                                  rel=0.02)


@pytest.mark.parametrize("cid", ZI_RANDOM_EFFECTS)
@pytest.mark.parametrize("kind", ["response", "link", "zprob", "zlink", "conditional"])
def test_predict_types_match_glmmtmbs(cid, kind):
    c = REFERENCE[cid]
    got = fit_case(cid).predict(type=kind)[:10]
    np.testing.assert_allclose(got, c["predict"][kind], rtol=2e-3, atol=2e-3)


def _simulated_zip_zire(seed: int, n_groups: int = 80, per_group: int = 30) -> pd.DataFrame:
    """ZIP data with random intercepts in both parts: log mu = 0.5 + 0.8 x + b_g (sd 0.5);
    logit p = -0.5 + 1.0 z + c_g (sd 0.8)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x, z = rng.standard_normal(g.size), rng.standard_normal(g.size)
    b, c = 0.5 * rng.standard_normal(n_groups), 0.8 * rng.standard_normal(n_groups)
    mu = np.exp(0.5 + 0.8 * x + b[g])
    p = 1 / (1 + np.exp(-(-0.5 + 1.0 * z + c[g])))
    y = np.where(rng.random(g.size) < p, 0, rng.poisson(mu))
    return pd.DataFrame({"y": y, "x": x, "z": z, "g": pd.Categorical(g)})


def test_zero_inflation_random_intercepts_recover_simulated_parameters():
    fit = glmmfast.glmer("y ~ x + (1 | g)", _simulated_zip_zire(14), family="poisson", ziformula="~ z + (1 | g)",
                         quiet=True)
    cond, zi = fit.coef_table("cond"), fit.coef_table("zi")
    assert abs(cond.loc["x", "Estimate"] - 0.8) < 4 * cond.loc["x", "Std. Error"]
    assert abs(zi.loc["(Intercept)", "Estimate"] + 0.5) < 4 * zi.loc["(Intercept)", "Std. Error"]
    assert abs(zi.loc["z", "Estimate"] - 1.0) < 4 * zi.loc["z", "Std. Error"]
    sd = {part: float(fit.varcorr[part]["sdcor"].iloc[0]) for part in ("cond", "zi")}
    se = np.sqrt(np.diag(fit.vcov_full.loc[["theta|g.(Intercept)", "theta|zi~g.(Intercept)"],
                                           ["theta|g.(Intercept)", "theta|zi~g.(Intercept)"]]))
    assert abs(sd["cond"] - 0.5) < 4 * se[0]
    assert abs(sd["zi"] - 0.8) < 4 * se[1]
    # the zi random effects are real: the fit without them is worse by far more than chance
    without = glmmfast.glmer("y ~ x + (1 | g)", _simulated_zip_zire(14), family="poisson", ziformula="~ z",
                             quiet=True)
    assert without.deviance - fit.deviance > 10


def test_refusals_name_what_is_not_supported_yet():
    df = _simulated_zip_zire(1, n_groups=20, per_group=10)
    with pytest.raises(FormulaError, match="random effects in the dispformula"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family="nbinom2", dispformula="~ x + (1 | g)")
    with pytest.raises(ArgumentError, match="nAGQ = 1"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family="poisson", ziformula="~ (1 | g)", nAGQ=0)
    with pytest.raises(ArgumentError, match="dispformula together with random effects in the ziformula"):
        glmmfast.glmer("y ~ x + (1 | g)", df, family="nbinom2", ziformula="~ (1 | g)", dispformula="~ x")
    fit = fit_case("sal_zip_zire")
    for call in (lambda: fit.simulate(1), lambda: fit.predict(load("Salamanders")), lambda: fit.summary_text()):
        with pytest.raises(ArgumentError, match="not supported yet for a model with random effects in the ziformula"):
            call()
