// laplace.cpp — the Laplace approximation to the deviance and the
// conditional distribution of the random effects.
//
// On lme4's scale (Bates et al. 2015, eq. 31 for the LMM analogue; lme4's
// glmResp::Laplace):
//     -2 log L(theta, beta) ~= -2 sum_i log f(y_i | u-hat) + ||u-hat||^2 + log det(L)^2,
// with u-hat the conditional mode from PIRLS and L L' = P A(u-hat) P'.  The
// family's normalising constants are included so logLik, AIC and BIC equal
// lme4's.  A = U'WU + I is the exact Hessian of the penalised deviance in u:
// W is the observed information, divided by the dispersion phi (the
// glmmTMB Laplace approximation; the same as lme4's for canonical links,
// where observed and expected information coincide).
#include "linalg/cross_product.hpp"
#include "model/conditional_variance.hpp"
#include "model/glmm_model.hpp"

namespace glmmfast {

double GlmmModel::laplace_deviance() const {
    require_state();
    const double ll = general_observation()  ? observation_loglik()
                      : family_.has_kernel() ? kernel_loglik(constants_, point_kernel())
                                             : conditional_loglik(family_, constants_, y_, mu_, eta_, pw_, phi_);
    return -2.0 * ll + u_.squaredNorm() + sys_.log_det_L2();
}

double GlmmModel::deviance_at(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta) {
    ++n_eval_;
    set_theta(theta);
    set_beta(beta);
    return pirls_laplace_deviance(false);
}

double GlmmModel::deviance_profiled_beta(const Eigen::VectorXd& theta) {
    ++n_eval_;
    set_theta(theta);
    return pirls_laplace_deviance(true);
}

// Var(u | y) ~= A^{-1} at the mode, so Var(b | y) = Lambda A^{-1} Lambda'.
Eigen::MatrixXd GlmmModel::cond_var(int t) const {
    if (t < 0 || t >= static_cast<int>(sys_.lambda().terms().size())) throw std::out_of_range("term index");
    require_state();
    return conditional_variance(sys_, t);
}

// (R_X'R_X)^{-1} at the mode's factorisation.
Eigen::MatrixXd GlmmModel::beta_unscaled_vcov() const {
    require_state();
    return eliminate_fixed_effects().RX().solve(Eigen::MatrixXd::Identity(p(), p()));
}

// With signed weights (exact Hessian at the mode) W = W^{1/2} S W^{1/2}, so
// U'WX = (W^{1/2} U)' S W^{1/2} X and X'WX = (W^{1/2} X)' S W^{1/2} X.
FixedEffectsElimination GlmmModel::eliminate_fixed_effects() const {
    const Eigen::MatrixXd WX = sqrtw_.asDiagonal() * X_;
    FixedEffectsElimination elim;
    bool ok;
    if (wsign_.size()) {
        const Eigen::MatrixXd SWX = wsign_.asDiagonal() * WX;
        ok = elim.compute(sys_, SWX, p(), cross_product(WX, SWX));
    } else {
        ok = elim.compute(sys_, WX, p(), cross_product(WX));
    }
    if (!ok) throw PirlsError("the fixed-effects block is not positive definite");
    return elim;
}

}  // namespace glmmfast
