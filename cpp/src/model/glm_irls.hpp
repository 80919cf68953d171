// glm_irls.hpp — iteratively reweighted least squares for a GLM without
// random effects, following R's glm.fit (same start, same convergence test,
// so iteration counts and deviances match R's summary.glm).
#pragma once

#include <Eigen/Core>

#include "family/family.hpp"

namespace glmmfast {

struct GlmFit {
    Eigen::VectorXd beta, eta, mu, working_weights;
    Eigen::MatrixXd unscaled_vcov;  // (X'WX)^{-1}
    double deviance = 0.0;
    int iterations = 0;
    bool converged = false;
};

// R's test: |dev - dev_old| / (|dev| + 0.1) < epsilon.
GlmFit glm_irls(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& prior_weights,
                const Eigen::VectorXd& offset, const Family& family, int max_iter = 25,
                double epsilon = 1e-8);

}  // namespace glmmfast
