// covariance.cpp — what every covariance structure shares (see covariance.hpp):
// the chain rule from the entries of T_t to the structure's parameters.
#include "covariance/covariance.hpp"

namespace glmmfast {

Eigen::VectorXd CovarianceStructure::chain_gradient(const Eigen::VectorXd& theta, const Eigen::MatrixXd& G) const {
    const auto dT = factor_derivatives(theta);
    Eigen::VectorXd g(nparams());
    for (int j = 0; j < nparams(); ++j) {
        double acc = 0.0;
        for (int c = 0; c < k_; ++c)
            for (int a = c; a < k_; ++a) acc += dT[j](a, c) * G(a, c);
        g[j] = acc;
    }
    return g;
}

}  // namespace glmmfast
