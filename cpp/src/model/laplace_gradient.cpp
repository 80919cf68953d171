// laplace_gradient.cpp — the exact gradient of the Laplace deviance in
// (theta, beta), for canonical links without a dispersion parameter
// (Poisson log, binomial logit).
//
// With U = Z Lambda(theta), s = pw (y - mu) the score in eta, W = diag(w),
// w = pw V(mu) (Fisher = observed information for a canonical link) and
// A = U'WU + I, the Laplace deviance (laplace.cpp) is
//     D = sum_i d_i(eta_i) + ||u||^2 + log det A,   eta = offset + X beta + U u,
// at the mode u (U's - u = 0).  For a parameter psi (a theta or a beta):
//  * sum d_i + ||u||^2 is stationary in u, so its total derivative is the
//    partial one: -2 s' d_eta, with d_eta = X e_j (beta_j) or (dU) u (theta);
//  * d log det A = tr(A^{-1} dA), dA = dU'WU + U'W dU + U' diag(w' deta) U,
//    where w' = dw/deta = pw V'(mu) V(mu) and the total change of eta
//    includes the mode's: A du = dU's - U'W d_eta (differentiating U's = u).
// With h_i = u_i' A^{-1} u_i (u_i row i of U), v = w' h and z = A^{-1} U'v:
//     tr(U' diag(w' deta) U A^{-1}) = v' d_eta + v'U du = v' d_eta + z'(dU's - U'W d_eta),
// so with r = -2 s + v - W U z (an n-vector shared by all parameters)
//     dD/dbeta   = X' r,
//     dD/dtheta_m = r' (dU_m u) + 2 sum_i w_i (dU_m)_i A^{-1} u_i + s' dU_m z.
// With beta at its PIRLS optimum too (the nAGQ = 0 objective, X's = 0 at the
// mode), sum d_i + ||u||^2 is stationary in beta as well and beta moves with
// the mode: [A U'WX; X'WU X'WX] [du; dbeta] = [dU's - U'W e; -X'W e]
// (e = dU u), so z becomes the solution (z_u, z_b) of the same system with
// right side [U'v; X'v], and r = -2 s + v - W (U z_u + X z_b); the theta
// formula below is unchanged.
// For entry (a, c) of T_t, (dU)_i has one entry, z_{i,a} (Z's value for
// coefficient a), at u-index start_it + c; factor_gradient.hpp sums these
// over the rows and the term's covariance structure turns them into the
// gradient in its theta.  The h_i and (dU_m)_i A^{-1} u_i come from the
// selected inverse of A (symmetric_factor.cpp): one factorisation's work,
// after which the gradient costs about one more PIRLS iteration.  The
// per-row parts are laplace_gradient_rows.hpp's, shared with a partition of
// the rows (row_block.hpp).
#include "model/laplace_gradient_rows.hpp"
#include "model/glmm_model.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

bool GlmmModel::has_laplace_gradient() const {
    // A dispersion model has no exact gradient yet (its objective runs derivative-free).
    if (has_dispersion_model()) return false;
    return family_.canonical() && !family_.has_dispersion() && !general_observation();
}

Eigen::VectorXd GlmmModel::laplace_gradient(bool beta_profiled) const {
    require_state();
    if (!has_laplace_gradient())
        throw std::logic_error("the Laplace gradient needs a canonical link and no dispersion");
    check_interrupt();
    const LaplaceTraceRows rows = laplace_trace_rows(family_, y_, mu_, pw_, sys_, sys_.selected_row_products());
    Eigen::VectorXd z;
    Eigen::ArrayXd Uz;  // U z_u (+ X z_b)
    if (beta_profiled) {
        // The Fisher weights of the last factorisation equal w (canonical link).
        Eigen::VectorXd zb;
        solve_joint(sys_.Ut_times(rows.v.matrix()), X_.transpose() * rows.v.matrix(), z, zb);
        Uz = (sys_.U_times(z) + X_ * zb).array();
    } else {
        z = sys_.solve(sys_.Ut_times(rows.v.matrix()));
        Uz = sys_.U_times(z).array();
    }
    const Eigen::ArrayXd r = laplace_residual(rows, Uz);
    const int nt = static_cast<int>(sys_.lambda().ntheta());
    Eigen::VectorXd grad(nt + (beta_profiled ? 0 : p()));
    if (!beta_profiled) grad.tail(p()) = X_.transpose() * r.matrix();
    grad.head(nt) = laplace_theta_gradient(sys_, rows, r, u_, z);
    return grad;
}

}  // namespace glmmfast
