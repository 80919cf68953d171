// laplace.cpp — the Laplace approximation to the deviance and the
// conditional distribution of the random effects.
//
// On lme4's scale (Bates et al. 2015, eq. 31 for the LMM analogue; lme4's
// glmResp::Laplace):
//     -2 log L(theta, beta) ~= -2 sum_i log f(y_i | u-hat) + ||u-hat||^2 + log det(L)^2,
// with u-hat the conditional mode from PIRLS and L L' = P A(u-hat) P'.  The
// family's normalising constants are included so logLik, AIC and BIC equal
// lme4's.
#include "glmm_model.hpp"

namespace glmmfast {

double GlmmModel::laplace_deviance() const {
    require_state();
    const double ll = family_.loglik(y_.array(), mu_.array(), pw_.array(), 1.0);
    return -2.0 * ll + u_.squaredNorm() + sys_.log_det_L2();
}

double GlmmModel::deviance_at(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta) {
    ++n_eval_;
    set_theta(theta);
    set_beta(beta);
    pirls(false);
    return laplace_deviance();
}

double GlmmModel::deviance_profiled_beta(const Eigen::VectorXd& theta) {
    ++n_eval_;
    set_theta(theta);
    pirls(true);
    return laplace_deviance();
}

// Var(u | y) ~= A^{-1} at the mode, so Var(b | y) = Lambda A^{-1} Lambda'.
// Lambda is block diagonal by level, so the level-l block of term t is
// T_t [A^{-1}]_{ll} T_t'; [A^{-1}]_{ll} comes from k solves with unit vectors.
Eigen::MatrixXd GlmmModel::cond_var(int t) const {
    const auto& lam = sys_.lambda();
    const auto& terms = lam.terms();
    if (t < 0 || t >= static_cast<int>(terms.size())) throw std::out_of_range("term index");
    require_state();
    const int k = terms[t].k, nl = terms[t].nlevels, off = lam.term_offsets()[t];
    const Eigen::MatrixXd T = lam.term_factor(t);
    Eigen::MatrixXd out(nl * k, k);
    for (int l = 0; l < nl; ++l)
        out.block(l * k, 0, k, k) = T * sys_.inverse_block(off + l * k, k) * T.transpose();
    return out;
}

Eigen::MatrixXd GlmmModel::beta_unscaled_vcov() const {
    require_state();
    const Eigen::MatrixXd WX = sqrtw_.asDiagonal() * X_;
    const Eigen::MatrixXd RZX = sys_.solve_L(sys_.WUt_times(WX));
    Eigen::MatrixXd XtX = WX.transpose() * WX;
    XtX.noalias() -= RZX.transpose() * RZX;
    Eigen::LLT<Eigen::MatrixXd> rx(XtX);
    if (rx.info() != Eigen::Success) throw PirlsError("the fixed-effects block is not positive definite");
    return rx.solve(Eigen::MatrixXd::Identity(p(), p()));
}

}  // namespace glmmfast
