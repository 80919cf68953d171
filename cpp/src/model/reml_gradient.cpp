// reml_gradient.cpp — the gradient of log det H_beta, the term glmmTMB's REML
// adds to the Laplace deviance (python/glmmfast/fit/_integrated_beta.py),
// for a gaussian identity model with a dispersion model.
//
// With U = Z Lambda(theta), W = diag(w), A = U'WU + I and
//     H_beta = X'WX - X'WU A^{-1} U'WX
// (the Schur complement of the penalised system's beta block, the inverse of
// beta_unscaled_vcov), write C = A^{-1} U'WX (q x p) and R = X - U C (n x p,
// row r_i).  Differentiating,
//     d log det H_beta = tr(H_beta^{-1} dH_beta)
//                      = tr(H_beta^{-1} R' dW R) - 2 tr(H_beta^{-1} C' dU' W R)
// (dA = dU'WU + U'W dU + U' dW U; the terms in dU and dW collect into R
// because A C = U'WX).  For the gaussian with the identity link
// w_i = pw_i / phi_i depends on neither u nor beta, so nothing moves with the
// mode, and:
//  * dispersion-model coefficient k (log phi_i = power eta_d,i, dw_i/dlog phi_i = -w_i):
//        d/d beta_d,k = power sum_i X_d[i, k] (-w_i) r_i' H_beta^{-1} r_i;
//  * entry (a, c) of T_t ((dU)_i one entry z_{i,a} at u-index j = st + c):
//        d/d T_t(a, c) = sum_i z_{i,a} (-2 w_i C_j . (R H_beta^{-1})_i),
//    summed by factor_gradient.hpp and turned into theta by the term's structure.
// Cost: one elimination (as beta_unscaled_vcov), p solves with A and
// O(n p^2): a few percent of a PIRLS iteration at p = 2.
#include <stdexcept>

#include "model/factor_gradient.hpp"
#include "model/glmm_model.hpp"

namespace glmmfast {

bool GlmmModel::has_fixed_effects_log_det_gradient() const {
    return family_.name() == "gaussian" && family_.link_name() == "identity" && moves_dispersion_only("");
}

Eigen::VectorXd GlmmModel::fixed_effects_log_det_gradient() const {
    require_state();
    if (!has_fixed_effects_log_det_gradient())
        throw std::logic_error("the gradient of log det H_beta needs a gaussian identity model with a dispersion model");
    check_interrupt();
    const FixedEffectsElimination elim = eliminate_fixed_effects();
    const Eigen::MatrixXd C = sys_.solve_Lt(elim.RZX());  // A^{-1} U'WX = P' L^{-T} R_ZX
    Eigen::MatrixXd R = X_;
    for (int k = 0; k < p(); ++k) R.col(k) -= sys_.U_times(C.col(k));
    const Eigen::MatrixXd RH = elim.RX().solve(R.transpose()).transpose();  // R H_beta^{-1}
    const Eigen::ArrayXd w = sqrtw_.array().square();
    const Eigen::ArrayXd leverage = (R.array() * RH.array()).rowwise().sum();  // r_i' H_beta^{-1} r_i
    const int nt = static_cast<int>(sys_.lambda().ntheta());
    Eigen::VectorXd grad(nt + n_disp());
    grad.head(nt) = theta_gradient(sys_, [&](int i, int j, int) { return -2.0 * w[i] * C.row(j).dot(RH.row(i)); });
    grad.tail(n_disp()) = dispersion_model_chain(-w * leverage);
    return grad;
}

}  // namespace glmmfast
