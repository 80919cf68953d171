// glm_irls.cpp — IRLS for GLMs (see glm_irls.hpp).
#include "model/glm_irls.hpp"

#include "linalg/cross_product.hpp"
#include "model/response_sums.hpp"

#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <cmath>
#include <stdexcept>

#include "optim/interrupt.hpp"

namespace glmmfast {

namespace {

// Where the first step halves to (R's glm.fit has no point there and stops
// with "no valid set of coefficients"): the coefficients of the constant
// mean, the least-squares fit of eta = linkfun(weighted mean of y) on X,
// when X spans it (an intercept) and that eta is valid; zero otherwise.
// A link that can leave the mean's range (the Gamma's inverse link) then
// halves towards a valid fit instead of towards eta = 0.
Eigen::VectorXd constant_mean_coefficients(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                           const Eigen::VectorXd& pw, const Eigen::VectorXd& offset,
                                           const Family& family) {
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(X.cols());
    const double total = pw.sum();
    if (!(total > 0) || X.cols() == 0) return zero;
    const Eigen::ArrayXd ybar = Eigen::ArrayXd::Constant(1, pw.dot(y) / total);
    const Eigen::ArrayXd mean = family.mustart(ybar, Eigen::ArrayXd::Ones(1));
    const double target = family.linkfun(mean)[0];
    if (!std::isfinite(target)) return zero;
    const Eigen::VectorXd rhs = (Eigen::VectorXd::Constant(X.rows(), target) - offset);
    const Eigen::VectorXd beta = X.colPivHouseholderQr().solve(rhs);
    const Eigen::ArrayXd eta = (X * beta + offset).array();
    if (!beta.allFinite() || (eta - target).abs().maxCoeff() > 1e-8 * (1.0 + std::abs(target)) ||
        !family.valid_eta(eta))
        return zero;
    return beta;
}

}  // namespace

GlmFit glm_irls(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& pw,
                const Eigen::VectorXd& offset, const Family& family, int max_iter, double epsilon) {
    GlmFit fit;
    const Eigen::ArrayXd mu0 = family.mustart(y.array(), pw.array());
    Eigen::ArrayXd eta = family.linkfun(mu0);
    Eigen::ArrayXd mu = family.linkinv(eta);
    // The deviances as the GLMM's (deviance_residual_sum): twice the saturated kernel, fixed per
    // response, less the log-likelihood kernel, where the family has one (Poisson log: no log per row).
    const Eigen::ArrayXd ya = y.array(), pwa = pw.array();  // as arrays once (the helpers take arrays)
    const ResponseConstants constants = response_constants(family, ya, pwa);
    double dev_old = family.dev_resid(ya, mu0, pwa).sum();
    Eigen::VectorXd beta = Eigen::VectorXd::Zero(X.cols());
    Eigen::ArrayXd w;
    for (int it = 1; it <= max_iter; ++it) {
        check_interrupt();
        const Eigen::ArrayXd me = family.mu_eta(eta, mu);  // mu = linkinv(eta): free for the log and logit links
        const Eigen::ArrayXd var = family.variance(mu);
        // Working response z = eta - offset + (y - mu)/mu_eta, weights w.
        const Eigen::ArrayXd z = eta - offset.array() + (y.array() - mu) / me;
        w = (pw.array() * me.square() / var).sqrt();
        const Eigen::MatrixXd WX = w.matrix().asDiagonal() * X;
        Eigen::LLT<Eigen::MatrixXd> llt(cross_product(WX));
        if (llt.info() != Eigen::Success) throw std::runtime_error("X'WX is not positive definite (rank-deficient X?)");
        Eigen::VectorXd beta_new = llt.solve(WX.transpose() * (w * z).matrix());
        // Step halving on a non-finite or increasing deviance, as glm.fit.
        Eigen::ArrayXd eta_new, mu_new;
        double dev = 0.0;
        for (int h = 0; h < 30; ++h) {
            eta_new = (X * beta_new).array() + offset.array();
            mu_new = family.linkinv(eta_new);
            dev = deviance_residual_sum(family, constants, ya, mu_new, eta_new, pwa);
            if (std::isfinite(dev) && family.valid_eta(eta_new)) break;
            if (it == 1 && h == 0) beta = constant_mean_coefficients(X, y, pw, offset, family);
            beta_new = 0.5 * (beta_new + beta);
        }
        beta = beta_new;
        eta = eta_new;
        mu = mu_new;
        fit.iterations = it;
        if (std::abs(dev - dev_old) / (std::abs(dev) + 0.1) < epsilon) {
            fit.converged = true;
            dev_old = dev;
            break;
        }
        dev_old = dev;
    }
    // Covariance from the weights at the final fit (as R's summary.glm,
    // which uses the weights of the last IRLS iteration).
    const Eigen::ArrayXd me = family.mu_eta(eta, mu);
    fit.working_weights = (pw.array() * me.square() / family.variance(mu)).matrix();
    const Eigen::MatrixXd WX = w.matrix().asDiagonal() * X;
    fit.unscaled_vcov = cross_product(WX).llt().solve(Eigen::MatrixXd::Identity(X.cols(), X.cols()));
    fit.beta = beta;
    fit.eta = eta.matrix();
    fit.mu = mu.matrix();
    fit.deviance = dev_old;
    return fit;
}

}  // namespace glmmfast
