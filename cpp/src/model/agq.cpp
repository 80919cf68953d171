// agq.cpp — adaptive Gauss-Hermite quadrature (lme4's nAGQ > 1, glmerAGQ)
// for a model whose only random-effects term is scalar.
//
// Interface (declared in glmm_model.hpp): gauss_hermite_rule(k),
// GlmmModel::agq_deviance(rule) and GlmmModel::agq_deviance_at(theta, beta, k).
//
// With one scalar term, u_j enters only the observations of level j and A =
// Lambda'Z'WZLambda + I is diagonal, so the likelihood factorises by level.
// With devc_j(u) = u^2 + sum_{i in j} d_i(u) (d_i the unit deviances), the
// conditional mode u-hat_j from PIRLS, s_j = A_jj^{-1/2} and u = u-hat_j + s_j z,
//     -2 log L = Laplace - 2 sum_j log M_j,
//     M_j = sum_k w_k exp(z_k^2 / 2 - [devc_j(u-hat_j + s_j z_k) - devc_j(u-hat_j)] / 2),
// where (z_k, w_k) integrate against the standard normal density (the
// exp(z^2/2) turns that into the plain integral).  This is lme4's formula
// plus the family's normalising constants, which lme4 leaves out at nAGQ > 1:
// a one-point rule (z = 0, w = 1) gives M_j = 1, the Laplace deviance.
#include <Eigen/Eigenvalues>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "model/glmm_model.hpp"
#include "model/node_log_sum_exp.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

namespace {

// Orthonormal probabilists' Hermite polynomials p_0..p_k at x (orthonormal
// for the standard normal density):
//     p_{j+1}(x) = (x p_j(x) - sqrt(j) p_{j-1}(x)) / sqrt(j + 1).
void hermite_values(double x, int k, Eigen::VectorXd& p) {
    p.resize(k + 1);
    p[0] = 1.0;
    if (k >= 1) p[1] = x;
    for (int j = 1; j < k; ++j) p[j + 1] = (x * p[j] - std::sqrt(double(j)) * p[j - 1]) / std::sqrt(j + 1.0);
}

}  // namespace

// Golub-Welsch: the nodes are the eigenvalues of the Jacobi matrix of the
// recurrence above (zero diagonal, off-diagonal sqrt(1), ..., sqrt(k-1)).
// Each is polished by Newton's method on p_k (p_k' = sqrt(k) p_{k-1}), and
// the weights come from the Christoffel function w = 1 / sum_{j<k} p_j(z)^2,
// which keeps full relative accuracy for the tiny weights of the outer nodes
// (where eigenvector components would only have absolute accuracy).
GaussHermiteRule gauss_hermite_rule(int k) {
    if (k < 1 || k > 100)
        throw std::invalid_argument("the number of Gauss-Hermite nodes must be between 1 and 100, got " +
                                    std::to_string(k));
    GaussHermiteRule rule;
    rule.nodes.resize(k);
    rule.weights.resize(k);
    if (k == 1) {
        rule.nodes[0] = 0.0;
        rule.weights[0] = 1.0;
        return rule;
    }
    Eigen::VectorXd diag = Eigen::VectorXd::Zero(k), sub(k - 1);
    for (int j = 0; j < k - 1; ++j) sub[j] = std::sqrt(j + 1.0);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es;
    es.computeFromTridiagonal(diag, sub, Eigen::EigenvaluesOnly);
    Eigen::VectorXd p;
    for (int i = 0; i < k; ++i) {
        double z = es.eigenvalues()[i];
        for (int it = 0; it < 10; ++it) {
            hermite_values(z, k, p);
            const double dz = p[k] / (std::sqrt(double(k)) * p[k - 1]);
            z -= dz;
            if (std::abs(dz) <= 4 * std::numeric_limits<double>::epsilon() * (1.0 + std::abs(z))) break;
        }
        hermite_values(z, k, p);
        rule.nodes[i] = z;
        rule.weights[i] = 1.0 / p.head(k).squaredNorm();
    }
    // The rule is symmetric about 0; make it so exactly.
    for (int i = 0; i < k / 2; ++i) {
        const double z = 0.5 * (rule.nodes[k - 1 - i] - rule.nodes[i]);
        const double w = 0.5 * (rule.weights[k - 1 - i] + rule.weights[i]);
        rule.nodes[i] = -z;
        rule.nodes[k - 1 - i] = z;
        rule.weights[i] = rule.weights[k - 1 - i] = w;
    }
    if (k % 2 == 1) rule.nodes[k / 2] = 0.0;
    return rule;
}

double GlmmModel::agq_deviance(const GaussHermiteRule& rule) const {
    if (zero_inflated()) throw std::invalid_argument("adaptive Gauss-Hermite quadrature is not available with zero inflation");
    if (has_dispersion_model())
        throw std::invalid_argument("adaptive Gauss-Hermite quadrature is not available with a dispersion model");
    const auto& terms = sys_.lambda().terms();
    if (terms.size() != 1 || terms[0].k != 1)
        throw std::invalid_argument("adaptive Gauss-Hermite quadrature needs a single, scalar random-effects term");
    const int nq = q(), nobs = n();
    const double th = theta_[0];

    // Level of each observation (-1: Z's row is zero, so it does not depend
    // on u) and the conditional SDs s_j = A_jj^{-1/2}, A_jj = 1 + theta^2 sum_i w_i Z_ij^2.
    std::vector<int> level(nobs);
    Eigen::VectorXd a = Eigen::VectorXd::Ones(nq);
    for (int i = 0; i < nobs; ++i) {
        level[i] = sys_.level_start(i, 0);
        const double wz = sqrtw_[i] * th * sys_.z_value(i, 0);
        if (level[i] >= 0) a[level[i]] += wz * wz;
    }
    const Eigen::VectorXd s = a.cwiseSqrt().cwiseInverse();
    // eta(u-hat + z s) = eta(u-hat) + z U s: the shift per unit z.
    const Eigen::ArrayXd shift = sys_.U_times(s).array();
    const Eigen::ArrayXd d0 = family_.dev_resid_eta(y_.array(), eta_.array(), pw_.array());

    // log M_j accumulated as a running log-sum-exp over the nodes.
    NodeLogSumExp log_m(nq);
    Eigen::ArrayXd delta(nq);
    for (Eigen::Index k = 0; k < rule.nodes.size(); ++k) {
        check_interrupt();
        const double z = rule.nodes[k];
        if (z == 0.0) {
            delta.setZero();
        } else {
            const Eigen::ArrayXd eta = eta_.array() + z * shift;
            const Eigen::ArrayXd dz = family_.dev_resid_eta(y_.array(), eta, pw_.array());
            for (int j = 0; j < nq; ++j) {
                const double u = u_[j] + z * s[j];
                delta[j] = u * u - u_[j] * u_[j];
            }
            for (int i = 0; i < nobs; ++i)
                if (level[i] >= 0) delta[level[i]] += dz[i] - d0[i];
        }
        const double logw = std::log(rule.weights[k]) + 0.5 * z * z;
        double fac, e;
        for (int j = 0; j < nq; ++j) log_m.add(j, logw - 0.5 * delta[j], fac, e);
    }
    return laplace_deviance() - 2.0 * log_m.log_total();
}

double GlmmModel::agq_deviance_at(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, int k) {
    if (agq_rule_.nodes.size() != k) agq_rule_ = gauss_hermite_rule(k);
    deviance_at(theta, beta);
    return agq_deviance(agq_rule_);
}

}  // namespace glmmfast
