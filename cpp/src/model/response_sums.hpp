// response_sums.hpp — the conditional log-likelihood and deviance summed over
// the rows on constants fixed per response.
//
// Interface: ResponseConstants, response_constants(family, y, pw),
// conditional_loglik(...) and deviance_residual_sum(...).  GlmmModel, a
// partition of the rows (row_block.hpp) and the GLM start (glm_irls.cpp)
// share them.
#pragma once

#include <Eigen/Core>

#include "family/family.hpp"

namespace glmmfast {

// The data-only parts of the conditional log-likelihood
// (Family::loglik_constant and saturated_kernel; zero for families without a
// kernel), fixed per response, and the two sums over rows built on them:
// sum_i log f(y_i | eta_i) (dispersion phi) and sum_i d_i, given mu =
// linkinv(eta) as well (the links reuse it where exact).  The rows are
// arrays, as the families take them (a vector's .array() would be copied
// into a temporary ArrayXd at every call).
struct ResponseConstants {
    double ll_constant = 0.0, saturated = 0.0;
};
ResponseConstants response_constants(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& pw);
// The two sums from the family's loglik kernel k = Family::loglik_kernel at the rows' point (a family
// with has_kernel): log L = constant + k, sum d_i = 2 (saturated - k).
inline double kernel_loglik(const ResponseConstants& c, double kernel) { return c.ll_constant + kernel; }
inline double kernel_deviance(const ResponseConstants& c, double kernel) { return 2.0 * (c.saturated - kernel); }
double conditional_loglik(const Family& family, const ResponseConstants& c, const Eigen::ArrayXd& y,
                          const Eigen::ArrayXd& mu, const Eigen::ArrayXd& eta, const Eigen::ArrayXd& pw, double phi);
double deviance_residual_sum(const Family& family, const ResponseConstants& c, const Eigen::ArrayXd& y,
                             const Eigen::ArrayXd& mu, const Eigen::ArrayXd& eta, const Eigen::ArrayXd& pw);

}  // namespace glmmfast
