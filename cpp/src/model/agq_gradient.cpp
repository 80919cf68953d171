// agq_gradient.cpp — the exact gradient in (theta, beta) of the adaptive
// Gauss-Hermite deviance (agq.cpp) for a single scalar random-effects term,
// a canonical link and no dispersion (binomial logit, Poisson log).
//
// Interface (declared in glmm_model.hpp): GlmmModel::has_agq_gradient() and
// GlmmModel::agq_gradient(k), at the current (converged) state.
//
// Per level j (agq.cpp's notation), with g(u) = devc_j(u) = u^2 + sum_{i in j} d_i(eta_i(u)),
// eta_i(u) = offset_i + x_i beta + theta z_i u, the nodes u_k = u-hat + s z_k,
// s = A^{-1/2}, A = 1 + theta^2 sum_i w_i z_i^2 = g''(u-hat) / 2 and
//     D = Laplace - 2 sum_j log M_j,  M_j = sum_k w_k e^{z_k^2/2} e^{-[g(u_k) - g(u-hat)] / 2}.
// The Laplace part's gradient is laplace_gradient's.  For a parameter psi,
// with p_k the normalised terms of M_j and g'(u-hat) = 0 at the mode,
//     -2 d log M_j = sum_k p_k [dg/dpsi(u_k) - dg/dpsi(u-hat) + g'(u_k) (du-hat + z_k ds)].
// The quadrature is not stationary in the node placement (only the exact
// integral is), so the mode's and the scale's responses stay:
//     du-hat = -(d/dpsi g')(u-hat) / (2A),      ds = -s^3 dA / 2,
//     dA = dtheta/dpsi 2 theta sum w z^2 + theta^2 sum_i w'_i z_i^2 deta_i,
//     deta_i = d(offset + X beta)_i/dpsi + dtheta/dpsi z_i u-hat + theta z_i du-hat,
// where w' = dw/deta (the third derivative of the log density).  With
// d'_i = dd_i/deta = -2 pw_i (y_i - mu_i) (canonical link):
//     theta:  dg/dtheta(u) = sum d'_i(eta_i(u)) z_i u,
//             (d/dtheta g')(u-hat) = 2 theta u-hat sum w z^2 + sum d'_i z_i;
//     beta_m: dg/dbeta_m(u) = sum d'_i(eta_i(u)) x_im,
//             (d/dbeta_m g')(u-hat) = 2 theta sum w_i z_i x_im,
// and g'(u) = 2u + theta sum d'_i(eta_i(u)) z_i.  The beta part collects per
// observation, so it is X' of one n-vector.  The p_k come from the same
// running log-sum-exp as the deviance (node_log_sum_exp.hpp), whose rescaling
// every accumulator follows.
#include <cmath>
#include <stdexcept>

#include "model/glmm_model.hpp"
#include "model/laplace_gradient_rows.hpp"
#include "model/node_log_sum_exp.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

bool GlmmModel::has_agq_gradient() const {
    const auto& terms = sys_.lambda().terms();
    return terms.size() == 1 && terms[0].k == 1 && family_.canonical() && !family_.has_dispersion() &&
           !general_observation();
}

Eigen::VectorXd GlmmModel::agq_gradient(int k) const {
    if (!has_agq_gradient())
        throw std::invalid_argument("the exact AGQ gradient needs a single scalar term, a canonical link and no "
                                    "dispersion");
    require_state();
    const GaussHermiteRule rule = agq_rule_.nodes.size() == k ? agq_rule_ : gauss_hermite_rule(k);
    Eigen::VectorXd grad = laplace_gradient(false, {});
    const int nq = q(), nobs = n(), np = p();
    const double th = theta_[0];
    const RowDerivatives d = canonical_row_derivatives(family_, y_, mu_, pw_);
    const Eigen::ArrayXd dd0 = -2.0 * d.s;  // d'_i at the mode

    std::vector<int> level(nobs);
    Eigen::ArrayXd zv(nobs);
    // Per level: sum w z^2 (A's), sum d' z, sum w' z^3 (B).
    Eigen::ArrayXd swz2 = Eigen::ArrayXd::Zero(nq), sdz = Eigen::ArrayXd::Zero(nq), b3 = Eigen::ArrayXd::Zero(nq);
    for (int i = 0; i < nobs; ++i) {
        level[i] = sys_.level_start(i, 0);
        zv[i] = level[i] >= 0 ? sys_.z_value(i, 0) : 0.0;
        if (level[i] < 0) continue;
        const double z = zv[i];
        swz2[level[i]] += sqrtw_[i] * sqrtw_[i] * z * z;
        sdz[level[i]] += dd0[i] * z;
        b3[level[i]] += d.dw[i] * z * z * z;
    }
    const Eigen::ArrayXd a = 1.0 + th * th * swz2;
    const Eigen::ArrayXd s = a.sqrt().inverse();
    const Eigen::ArrayXd uh = u_.array();
    // theta's responses of the mode and the scale.
    const Eigen::ArrayXd du_th = -(2.0 * th * uh * swz2 + sdz) / (2.0 * a);
    Eigen::ArrayXd da_th = 2.0 * th * swz2;
    for (int i = 0; i < nobs; ++i)
        if (level[i] >= 0) {
            const int j = level[i];
            da_th[j] += th * th * d.dw[i] * zv[i] * zv[i] * (zv[i] * uh[j] + th * zv[i] * du_th[j]);
        }
    const Eigen::ArrayXd ds_th = -0.5 * s * s * s * da_th;

    Eigen::ArrayXd shift(nobs);
    for (int i = 0; i < nobs; ++i) shift[i] = level[i] >= 0 ? th * zv[i] * s[level[i]] : 0.0;
    const Eigen::ArrayXd d0 = family_.dev_resid_eta(y_.array(), eta_.array(), pw_.array());

    // Running log-sum-exp over the nodes (agq.cpp's), with the accumulators
    // rescaled alongside: per level
    // G1 = E[g'(u_k)], G2 = E[g'(u_k) z_k], T = E[dg/dtheta(u_k)] (unnormalised until the end),
    // per observation r = E[d'_i(eta_ik) - d'_i(eta_i)].
    NodeLogSumExp log_m(nq);
    Eigen::ArrayXd g1 = Eigen::ArrayXd::Zero(nq), g2 = g1, tth = g1;
    Eigen::ArrayXd r = Eigen::ArrayXd::Zero(nobs);
    Eigen::ArrayXd delta(nq), gp(nq), dth(nq), fac(nq), e(nq);
    for (Eigen::Index kk = 0; kk < rule.nodes.size(); ++kk) {
        check_interrupt();
        const double z = rule.nodes[kk];
        const Eigen::ArrayXd eta = eta_.array() + z * shift;
        const Eigen::ArrayXd mu = family_.linkinv(eta);
        const Eigen::ArrayXd ddk = -2.0 * pw_.array() * (y_.array() - mu);
        const Eigen::ArrayXd dz = z == 0.0 ? d0 : family_.dev_resid_eta(y_.array(), eta, pw_.array(), mu.data());
        for (int j = 0; j < nq; ++j) {
            const double u = uh[j] + z * s[j];
            delta[j] = u * u - uh[j] * uh[j];
            gp[j] = 2.0 * u;
            dth[j] = 0.0;
        }
        for (int i = 0; i < nobs; ++i) {
            const int j = level[i];
            if (j < 0) continue;
            delta[j] += dz[i] - d0[i];
            gp[j] += th * ddk[i] * zv[i];
            dth[j] += ddk[i] * zv[i] * (uh[j] + z * s[j]) - dd0[i] * zv[i] * uh[j];
        }
        const double logw = std::log(rule.weights[kk]) + 0.5 * z * z;
        for (int j = 0; j < nq; ++j) {
            log_m.add(j, logw - 0.5 * delta[j], fac[j], e[j]);
            if (e[j] == 0.0 && fac[j] == 1.0) continue;  // a node where the integrand vanishes adds nothing
            g1[j] = g1[j] * fac[j] + e[j] * gp[j];
            g2[j] = g2[j] * fac[j] + e[j] * gp[j] * z;
            tth[j] = tth[j] * fac[j] + e[j] * dth[j];
        }
        for (int i = 0; i < nobs; ++i) {
            const int j = level[i];
            if (j >= 0) r[i] = r[i] * fac[j] + (e[j] == 0.0 ? 0.0 : e[j] * (ddk[i] - dd0[i]));
        }
    }
    const Eigen::ArrayXd& sum = log_m.sum;
    g1 /= sum;
    g2 /= sum;
    tth /= sum;
    grad[0] += (tth + g1 * du_th + g2 * ds_th).sum();

    // beta: X' (r + q), q_i = (G1 + G2 c theta B)(-theta w_i z_i / A) + G2 c w'_i z_i^2 with
    // c = -s^3 theta^2 / 2 (from du-hat_m = -theta sum w z x_m / A and ds_m = c sum w' z^2 (x_m + theta z du-hat_m)).
    const Eigen::ArrayXd c = -0.5 * s * s * s * th * th;
    const Eigen::ArrayXd mode_coef = g1 + g2 * c * th * b3;
    Eigen::VectorXd rows(nobs);
    for (int i = 0; i < nobs; ++i) {
        const int j = level[i];
        if (j < 0) {
            rows[i] = 0.0;
            continue;
        }
        r[i] /= sum[j];
        rows[i] = r[i] + mode_coef[j] * (-th * sqrtw_[i] * sqrtw_[i] * zv[i] / a[j]) +
                  g2[j] * c[j] * d.dw[i] * zv[i] * zv[i];
    }
    grad.segment(1, np) += X_.transpose() * rows;
    return grad;
}

}  // namespace glmmfast
