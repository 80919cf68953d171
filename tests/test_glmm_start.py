"""The GLMM moment start (fit/_glmm_start.py): theta from the GLM's working residuals, with the family's
dispersion phi estimated from them where it has one, and who gets it."""

from __future__ import annotations

import numpy as np
import pytest

import glmmfast
from glmmfast.design._design import model_design_for
from glmmfast.families import Gamma, NegativeBinomial
from glmmfast.fit._engine import glm_start
from glmmfast.fit._glmm_start import glmm_moment_theta_start, worth_a_glmm_moment_start
from glmmfast.fit._family_parameter import nb_shape_parameter

FORMULA = "y ~ x + (1 | g)"


def _design(data, family, **kwargs):
    return model_design_for(FORMULA, data, family, random=True, **kwargs)


def test_dispersion_family_start_estimates_phi_from_the_working_residuals(gamma_small_groups):
    # phi = 2 over 4 rows per group: the levels' means spread by phi / 4 = 0.5 beyond the random effects'
    # 0.25; taking the working residuals' variance as 1 (a family without a dispersion) left half of it
    # in theta (0.91 against the optimum's 0.53)
    design = _design(gamma_small_groups, Gamma(link="log"))
    assert worth_a_glmm_moment_start(design, None)
    theta0 = glmm_moment_theta_start(design, glm_start(design), np.ones(1))
    fit = glmmfast.glmer(FORMULA, gamma_small_groups, Gamma(link="log"))
    assert fit.optinfo.family_parameter == pytest.approx(2.0, rel=0.15)
    assert theta0[0] == pytest.approx(fit.theta[0], rel=0.15)


def test_dispersion_family_fit_starts_there(gamma_small_groups):
    # from lme4's theta = 1, beyond the stage-1 deviance's inflection, stage 1 took 9 evaluations
    fit = glmmfast.glmer(FORMULA, gamma_small_groups, Gamma(link="log"))
    stage_1, = [s for s in fit.optinfo.stages if s["kind"] == "stage 1"]
    assert stage_1["optimizer"] == "bfgs" and stage_1["evaluations"] <= 8, stage_1
    assert fit.converged


def test_who_gets_the_moment_start(gamma_small_groups, grouseticks):
    assert worth_a_glmm_moment_start(_design(gamma_small_groups, Gamma(link="log")), None)
    counts = grouseticks.rename(columns={"TICKS": "y", "YEAR": "x", "LOCATION": "g"})
    counts = counts.loc[counts.index.repeat(3)].reset_index(drop=True)  # enough rows
    assert worth_a_glmm_moment_start(_design(counts, glmmfast.families.Poisson()), None)
    # a family parameter other than the dispersion (glmer_nb's shape): lme4's start
    assert not worth_a_glmm_moment_start(_design(counts, NegativeBinomial(theta=1.0)), nb_shape_parameter(1.0))
    # too few rows for the start to pay
    assert not worth_a_glmm_moment_start(_design(gamma_small_groups.iloc[:400], Gamma(link="log")), None)


def test_level_sums_add_over_row_blocks_and_give_the_whole_rows_start(sleepstudy):
    # The partitioned fit's workers send working_level_sums of their rows (fit/_partitioned.py): the sums of
    # row blocks are the whole rows' sums, and the start from them is the in-memory start (a k = 2 term too).
    import dataclasses

    from glmmfast.fit._glmm_start import glmm_theta_from_level_sums, working_level_sums

    data = sleepstudy.assign(y=np.round(sleepstudy["Reaction"] / 10), Days=sleepstudy["Days"] / 9)
    design = model_design_for("y ~ Days + (Days | Subject)", data, glmmfast.families.Poisson(), random=True)
    start = glm_start(design)
    family, terms = design.family, design.terms
    whole = working_level_sums(family, terms, design.weights, design.y, start["eta"], start["mu"])
    blocks = np.array_split(np.random.default_rng(0).permutation(design.n), 3)
    parts = [working_level_sums(family, [dataclasses.replace(t, codes=t.codes[i], X=t.X[i]) for t in terms],
                                design.weights[i], design.y[i], start["eta"][i], start["mu"][i]) for i in blocks]
    added = [tuple(sum(p[0][j] for p in parts) for j in range(4))]
    for a, b in zip(added[0], whole[0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    theta0 = glmm_moment_theta_start(design, start, np.ones(3))
    np.testing.assert_allclose(glmm_theta_from_level_sums(family, terms, added, np.ones(3)), theta0, rtol=1e-10)
    assert not np.allclose(theta0, 1.0)
    # weights that are not valid somewhere: no sums, the default start
    assert working_level_sums(family, terms, design.weights, design.y, start["eta"], np.zeros(design.n)) is None
    assert np.all(glmm_theta_from_level_sums(family, terms, None, np.ones(3)) == 1.0)
