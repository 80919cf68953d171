// lmm_gradient.cpp — the exact gradient in theta of the profiled deviance
// and REML criterion of a linear mixed model (LmmModel::gradient; the
// criteria are in lmm_model.cpp).
//
// With W the prior weights, U = Z Lambda(theta), A = U'WU + I = L L',
// M = [A, U'WX; X'WU, X'WX] (the joint (u, beta) system, so that
// log|M| = log|L|^2 + log|R_X|^2) and r^2 the penalised RSS at (u-hat, beta-hat),
//   ML:   d   = log|A|          + n     (1 + log(2 pi r^2 / n))     - sum log w,
//   REML: d_R = log|A| + log|R_X|^2 + (n - p)(1 + log(2 pi r^2 / (n - p))) - sum log w
// (Bates et al. 2015, eqs. 34 and 41).  For a theta_m, dU_m = Z dLambda/dtheta_m:
//  * r^2 is the minimum over (u, beta) of ||W^{1/2}(y - X beta - U u)||^2 + ||u||^2,
//    so (envelope theorem) dr^2 = -2 s' dU_m u-hat, with s = W (y - X beta-hat - U u-hat);
//  * d log|A| = tr(A^{-1} dA), dA = dU'WU + U'W dU, so
//    d log|A| = 2 sum_i w_i (dU_m)_i A^{-1} u_i' (u_i row i of U), from the
//    selected inverse of A on its pattern (as laplace_gradient.cpp);
//  * d log|R_X|^2 = tr(M^{-1} dM) - tr(A^{-1} dA).  With G = A^{-1} U'WX and
//    V = (R_X'R_X)^{-1}, M^{-1} = [A^{-1} + G V G', -G V; -V G', V] and
//    dM = [dA, dU'WX; X'W dU, 0], which gives
//    d log|R_X|^2 = 2 tr(G V G' U'W dU) - 2 tr(V G' dU' W X)
//                 = 2 sum_i w_i (dU_m)_i G E_i',   E = (U G - X) V.
// For entry (a, c) of T_t, (dU)_i has the one entry z_{i,a} at u-index
// start_it + c, and (factor_gradient.hpp; the term's covariance structure
// turns these into the gradient in its theta)
//   dd/dT_t(a,c) = sum_i z_{i,a} [2 w_i (A^{-1} u_i')_{st+c}
//                                + (REML) 2 w_i G_{st+c} . E_i
//                                - 2 (df / r^2) s_i u-hat_{st+c}],
// df = n (ML) or n - p (REML).  Cost: one selected inverse of A (the
// factorisation's order of work) and p more solves with L'.
#include "model/factor_gradient.hpp"
#include "model/lmm_model.hpp"

#include "optim/interrupt.hpp"

namespace glmmfast {

Eigen::VectorXd LmmModel::gradient(bool reml) const {
    if (!evaluated_) throw PirlsError("the model has not been evaluated at a valid theta");
    const int nobs = n(), pp = p();
    const Eigen::ArrayXd w = sqrtw_.array().square();
    Eigen::VectorXd res = y_;
    res.noalias() -= X_ * beta_;
    res -= sys_.U_times(u_);
    const double df = reml ? nobs - pp : nobs;
    // Coefficient of s_i u-hat in the derivative of df log r^2.
    const Eigen::ArrayXd s = (-2.0 * df / pwrss_) * (w * res.array());
    check_interrupt();
    const auto Y = sys_.selected_row_products();  // row i: u_i A^{-1} on its columns
    // REML: G' (p x q, a column per u-index) and (w_i E_i)' (p x n).
    Eigen::MatrixXd Gt, WEt;
    if (reml && pp > 0) {
        const Eigen::MatrixXd G = sys_.solve_Lt(elim_.RZX());
        Eigen::MatrixXd UG(nobs, pp);
        for (int j = 0; j < pp; ++j) UG.col(j) = sys_.U_times(G.col(j));
        UG -= X_;
        WEt = (w.matrix().asDiagonal() * (UG * elim_.RX().solve(Eigen::MatrixXd::Identity(pp, pp)))).transpose();
        Gt = G.transpose();
    }
    const bool with_rx = Gt.size() > 0;
    return theta_gradient(sys_, [&](int i, int j, int col) {
        double gi = 2.0 * w[i] * Y(i, col) + s[i] * u_[j];
        if (with_rx) gi += 2.0 * Gt.col(j).dot(WEt.col(i));
        return gi;
    });
}

}  // namespace glmmfast
