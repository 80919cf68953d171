// zi_random_effects_gradient.cpp — the exact gradient of the Laplace
// deviance of a model with random effects in its zero-inflation predictor
// (zi_random_effects_model.hpp) in (theta, beta, beta_zi): the derivation of
// laplace_gradient.cpp carried to two linear predictors per observation.
//
// Notation.  Per observation i the two predictors eta_1 = eta (conditional)
// and eta_2 = eta_zi, the log density l_i(eta_1, eta_2) (the mixture, prior-
// weighted), its scores S_i = (s1, s2) = (dl/deta_1, dl/deta_2), the 2 x 2
// Hessian H_i = -d^2 l (h11, h12, h22, zi_random_effects_model.hpp) and the
// third derivatives T_i[k, m, j] = dH_i[k, m] / deta_j.  U = blockdiag-by-row
// (U_1, U_2) maps u to (U_1 u, U_2 u), A = U'HU + I, and
//     D = -2 sum_i l_i + ||u||^2 + log det A   at the mode (U'S - u = 0).
// For a parameter psi with explicit change d_eta = (d_eta_1, d_eta_2) of the
// predictors (X e_j for beta_j, X_zi e_j for beta_zi,j; (dU) u for theta):
//  * -2 sum l + ||u||^2 is stationary in u: its derivative is -2 S' d_eta;
//  * d log det A = tr(A^{-1} dA), dA = dU'HU + U'H dU + sum_i u_i' dH_i u_i
//    with dH_i = sum_j T_i[., ., j] (d_eta + U du)_{i,j}, and the mode moves
//    by A du = dU'S - U'H d_eta (differentiating U'S = u).
// With M_i[k, m] = u_k,i' A^{-1} u_m,i (u_k,i the row of U_k; selected
// inverse, CoupledPenalizedSystem::selected_part_products) the trace of the
// third-derivative part is v' (d_eta + U du) with
//     v_i,j = sum_{k,m} T_i[k, m, j] M_i[k, m]
//           = T[1,1,j] M11 + 2 T[1,2,j] M12 + T[2,2,j] M22,
// and v'U du = z'(dU'S - U'H d_eta) with z = A^{-1} U'v.  So with the
// 2n-vector r = -2 S + v - H U z (shared by every parameter),
//     dD/dbeta    = X' r_1,        dD/dbeta_zi = X_zi' r_2,
//     dD/dtheta   = r'(dU u) + 2 tr(A^{-1} U'H dU) + S' dU z,
// where for entry (a, c) of T_t of a term in part P, (dU)_i has one entry
// z_{i,a} at u-index j (factor_gradient.hpp), and its coefficient is
//     u_j r_P,i + 2 (H_i[P, 1] Y_1(i, col) + H_i[P, 2] Y_2(i, col)) + S_P,i z_j.
// The third derivatives come from the mixture's terms (family/zero_inflation.hpp;
// q = pi (1 - pi), p = logistic(eta_2), wt the prior weight):
//     T[1,1,1] = dh11/deta_1  (ObservationTerms::information_deriv),
//     T[1,1,2] = dh11/deta_2  (zi_information),
//     T[1,2,2] = dh22/deta_1 = dh12/deta_2 = (1 - 2 pi) h12   (h12 = wt q s),
//     T[2,2,2] = dh22/deta_2 = wt [p (1 - p) (1 - 2 p) - (1 - 2 pi) q],
// using dq/deta_2 = (1 - 2 pi) q, dq/deta_1 = -(1 - 2 pi) q s and
// h22 = wt [p (1 - p) - q]; h12 = -zi_score.  One selected inverse and one
// solve beyond the deviance: the gradient costs about one Newton step.
//
// A family parameter psi (the log of the dispersion or of a shape, or of
// every row's parameter under a dispersion model, log p_i = power eta_d,i)
// changes l, S and H explicitly, the predictors held: -2 sum l + ||u||^2
// is stationary in u, d log det A = sum_i dH_i/dpsi : M_i + v'U du, and the
// mode moves by A du = U' dS/dpsi, so v'U du = (U z)' dS/dpsi and
//     dD/dpsi = sum_i [-2 dl_i/dpsi + dH_i/dpsi : M_i + (U z)_i' dS_i/dpsi],
// with dH : M = dh11 M11 + 2 dh12 M12 + dh22 M22 (h12 = pi s1, dh22 = -wt dq
// and ds2 = wt dpi, p being fixed).  The derivatives in psi are central differences of the observation
// terms at psi +- delta (GlmmModel::moved_parameter_terms, delta = 1e-5,
// as observation_gradient.cpp's for the ordinary model), per row; a
// dispersion model's coefficients take them through power X_d'.
#include "model/factor_gradient.hpp"
#include "model/zi_random_effects_model.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

Eigen::VectorXd ZiRandomEffectsModel::laplace_gradient(const std::vector<std::string>& log_parameters) const {
    check_interrupt();
    if (!have_mode_) throw std::logic_error("no conditional mode yet: run deviance_at first");
    Eigen::ArrayXd pi;
    const ObservationTerms t = cond_.exact_observation_terms(&pi);
    const Eigen::ArrayXd wt = weight_roles(cond_.family(), cond_.prior_weights().array()).multiplier;
    const Eigen::ArrayXd p = cond_.zi_probability().array();
    const Eigen::ArrayXd q = pi * (1.0 - pi);
    const Eigen::ArrayXd& s1 = t.score;
    const Eigen::ArrayXd& s2 = t.zi_log_density;
    const Eigen::ArrayXd& h11 = t.information;
    const Eigen::ArrayXd h12 = -t.zi_score;
    const Eigen::ArrayXd h22 = wt * (p * (1.0 - p) - q);
    const Eigen::ArrayXd& t111 = t.information_deriv;
    const Eigen::ArrayXd& t112 = t.zi_information;
    const Eigen::ArrayXd t122 = (1.0 - 2.0 * pi) * h12;
    const Eigen::ArrayXd t222 = wt * (p * (1.0 - p) * (1.0 - 2.0 * p) - (1.0 - 2.0 * pi) * q);

    RowLayout::RowMajor Y1, Y2;
    system_.selected_part_products(Y1, Y2);
    const RowLayout& rows = system_.rows();
    const int K = rows.K(), K1 = system_.K_first();
    Eigen::ArrayXd v1(n()), v2(n()), M11(n()), M12(n()), M22(n());
    for (int i = 0; i < n(); ++i) {
        double m11 = 0.0, m12 = 0.0, m22 = 0.0;
        for (int c = 0; c < K; ++c) {
            const double uc = rows.u_value(i, c);
            if (c < K1) {
                m11 += Y1(i, c) * uc;
            } else {
                m12 += Y1(i, c) * uc;
                m22 += Y2(i, c) * uc;
            }
        }
        M11[i] = m11;
        M12[i] = m12;
        M22[i] = m22;
        v1[i] = t111[i] * m11 + 2.0 * t112[i] * m12 + t122[i] * m22;
        v2[i] = t112[i] * m11 + 2.0 * t122[i] * m12 + t222[i] * m22;
    }
    const Eigen::VectorXd z = system_.solve(system_.Ut_times(v1.matrix(), v2.matrix()));
    const Eigen::ArrayXd Uz1 = system_.U_first_times(z).array(), Uz2 = system_.U_second_times(z).array();
    const Eigen::ArrayXd r1 = -2.0 * s1 + v1 - (h11 * Uz1 + h12 * Uz2);
    const Eigen::ArrayXd r2 = -2.0 * s2 + v2 - (h12 * Uz1 + h22 * Uz2);

    const int nt = static_cast<int>(lambda().ntheta());
    const int nb = cond_.p();
    const int n_disp = cond_.n_disp();
    const Eigen::Index npar = static_cast<Eigen::Index>(log_parameters.size());
    Eigen::VectorXd grad(nt + nb + n_zi() + n_disp + npar);
    grad.head(nt) = theta_gradient(rows, [&](int i, int j, int col) {
        if (col < K1) return u_[j] * r1[i] + 2.0 * (h11[i] * Y1(i, col) + h12[i] * Y2(i, col)) + s1[i] * z[j];
        return u_[j] * r2[i] + 2.0 * (h12[i] * Y1(i, col) + h22[i] * Y2(i, col)) + s2[i] * z[j];
    });
    grad.segment(nt, nb) = cond_.X().transpose() * r1.matrix();
    grad.segment(nt + nb, n_zi()) = X_zi_.transpose() * r2.matrix();

    constexpr double delta = 1e-5;
    // one row's derivative of D in a log family parameter (see the file comment)
    auto per_row = [&](const std::string& parameter) {
        Eigen::ArrayXd pi_up, pi_down;
        const ObservationTerms up = cond_.moved_parameter_terms(parameter, delta, &pi_up);
        const ObservationTerms down = cond_.moved_parameter_terms(parameter, -delta, &pi_down);
        const Eigen::ArrayXd dq = pi_up * (1.0 - pi_up) - pi_down * (1.0 - pi_down);
        const Eigen::ArrayXd dh12 = pi_up * up.score - pi_down * down.score;  // h12 = pi s1
        return Eigen::ArrayXd((-2.0 * (up.log_density - down.log_density) + (up.information - down.information) * M11 +
                               2.0 * dh12 * M12 - wt * dq * M22 + Uz1 * (up.score - down.score) +
                               Uz2 * wt * (pi_up - pi_down)) /  // s2 = wt (pi - p)
                              (2.0 * delta));
    };
    if (n_disp > 0) grad.segment(nt + nb + n_zi(), n_disp) = cond_.dispersion_model_chain(per_row(""));
    for (Eigen::Index j = 0; j < npar; ++j)
        grad[nt + nb + n_zi() + n_disp + j] = per_row(log_parameters[static_cast<std::size_t>(j)]).sum();
    return grad;
}

}  // namespace glmmfast
