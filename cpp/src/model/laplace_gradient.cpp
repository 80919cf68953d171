// laplace_gradient.cpp — the exact gradient of the Laplace deviance in
// (theta, beta) and the outer coordinates after them (zero-inflation
// coefficients, dispersion-model coefficients, a log family parameter), for
// every family and link.
//
// With U = Z Lambda(theta), per observation the log density l_i(eta_i)
// (prior-weighted, divided by the dispersion: laplace.cpp's), its score
// s_i = dl_i/deta, the weight w_i = -d^2 l_i / deta^2 (the exact
// information; negative for some observations on the zero-inflated paths)
// and w'_i = dw_i/deta = -d^3 l_i / deta^3, W = diag(w), A = U'WU + I, the
// Laplace deviance (laplace.cpp) is
//     D = -2 sum_i l_i(eta_i) + ||u||^2 + log det A,   eta = offset + X beta + U u,
// at the mode u (U's - u = 0).  (A canonical link has w = pw V(mu) / phi,
// s = pw (y - mu) / phi and w' = w V'(mu): canonical_row_derivatives.)
// For a parameter psi (a theta, a beta, or an outer parameter that enters
// l_i directly):
//  * -2 sum l_i + ||u||^2 is stationary in u, so its total derivative is the
//    partial one: -2 s' d_eta - 2 sum_i dl_i/dpsi, with d_eta = X e_j (beta_j)
//    or (dU) u (theta), 0 for an outer parameter;
//  * d log det A = tr(A^{-1} dA), dA = dU'WU + U'W dU + U' diag(dw) U with
//    dw = w' (d_eta + U du) + dw/dpsi, and the mode's response from
//    differentiating U's = u:  A du = dU's - U'W d_eta + U' ds/dpsi.
// With h_i = u_i' A^{-1} u_i (u_i row i of U), v = w' h and z = A^{-1} U'v:
//     tr(U' diag(dw) U A^{-1}) = v' d_eta + z'(dU's - U'W d_eta + U' ds/dpsi) + h' dw/dpsi,
// so with r = -2 s + v - W U z (an n-vector shared by all parameters)
//     dD/dbeta    = X' r,
//     dD/dtheta_m = r' (dU_m u) + 2 sum_i w_i (dU_m)_i A^{-1} u_i + s' dU_m z,
//     dD/dpsi     = sum_i [-2 dl_i/dpsi + h_i dw_i/dpsi + (U z)_i ds_i/dpsi]
// (the last in observation_gradient.cpp: psi a zero-inflation coefficient,
// through eta_zi, a dispersion-model coefficient, or the log of a family
// parameter).
// With beta at its PIRLS optimum too (the nAGQ = 0 objective, X's = 0 at the
// mode), -2 sum l_i + ||u||^2 is stationary in beta as well and beta moves
// with the mode: [A U'WX; X'WU X'WX] [du; dbeta] = [dU's - U'W e; -X'W e]
// (e = dU u; + [U'; X'] ds/dpsi for an outer parameter), so z becomes the
// solution (z_u, z_b) of the same system with right side [U'v; X'v],
// U z becomes U z_u + X z_b in r and in dD/dpsi, and the theta formula is
// unchanged.
// For entry (a, c) of T_t, (dU)_i has one entry, z_{i,a} (Z's value for
// coefficient a), at u-index start_it + c; factor_gradient.hpp sums these
// over the rows and the term's covariance structure turns them into the
// gradient in its theta.  The h_i and (dU_m)_i A^{-1} u_i come from the
// selected inverse of A (symmetric_factor.cpp): one factorisation's work,
// after which the gradient costs about one more PIRLS iteration.  The
// per-row parts are laplace_gradient_rows.hpp's, shared with a partition of
// the rows (row_block.hpp).  The factor A at the mode is the one pirls()
// leaves (update_weights(true): the exact information, as w here).
#include "model/laplace_gradient_rows.hpp"
#include "model/glmm_model.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

bool GlmmModel::has_laplace_gradient() const { return true; }

Eigen::VectorXd GlmmModel::laplace_gradient(bool beta_profiled, const std::vector<std::string>& log_parameters) const {
    require_state();
    check_interrupt();
    // A canonical link without dispersion: the rows from mu alone (no third
    // derivative to evaluate); otherwise the exact terms of the observation model.
    const bool canonical_rows = family_.canonical() && !family_.has_dispersion() && !general_observation();
    ObservationTerms terms;
    RowDerivatives d;
    if (canonical_rows) {
        d = canonical_row_derivatives(family_, y_, mu_, pw_);
    } else {
        terms = gradient_terms(family_, phi_, true, nullptr, false);  // s, w, w' (and the zero part's): no log density
        d = RowDerivatives{terms.score, terms.information, terms.information_deriv};
    }
    const LaplaceTraceRows rows = laplace_trace_rows(std::move(d), sys_, sys_.selected_row_products());
    Eigen::VectorXd z;
    Eigen::ArrayXd Uz;  // U z_u (+ X z_b)
    if (beta_profiled) {
        // The weights of the last factorisation are w (pirls() refactors with the exact information).
        Eigen::VectorXd zb;
        solve_joint(sys_.Ut_times(rows.v.matrix()), X_.transpose() * rows.v.matrix(), z, zb);
        Uz = (sys_.U_times(z) + X_ * zb).array();
    } else {
        z = sys_.solve(sys_.Ut_times(rows.v.matrix()));
        Uz = sys_.U_times(z).array();
    }
    const Eigen::ArrayXd r = laplace_residual(rows, Uz);
    const int nt = static_cast<int>(sys_.lambda().ntheta());
    const int nb = beta_profiled ? 0 : p();
    const Eigen::VectorXd outer = outer_parameter_gradient(rows.h, Uz, terms, log_parameters);
    Eigen::VectorXd grad(nt + nb + outer.size());
    grad.head(nt) = laplace_theta_gradient(sys_, rows, r, u_, z);
    if (nb) grad.segment(nt, nb) = X_.transpose() * r.matrix();
    grad.tail(outer.size()) = outer;
    return grad;
}

}  // namespace glmmfast
