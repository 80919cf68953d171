// response_sums.cpp — the rows' log-likelihood and deviance sums (see response_sums.hpp).
#include "model/response_sums.hpp"

namespace glmmfast {

ResponseConstants response_constants(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& pw) {
    ResponseConstants c;
    if (!family.has_kernel()) return c;
    c.ll_constant = family.loglik_constant(y, pw);
    c.saturated = family.saturated_kernel(y, pw);
    return c;
}

double conditional_loglik(const Family& family, const ResponseConstants& c, const Eigen::ArrayXd& y,
                          const Eigen::ArrayXd& mu, const Eigen::ArrayXd& eta, const Eigen::ArrayXd& pw, double phi) {
    return family.has_kernel() ? kernel_loglik(c, family.loglik_kernel(y, mu, eta, pw))
                               : family.log_density(y, eta, pw, phi, mu.data()).sum();
}

double deviance_residual_sum(const Family& family, const ResponseConstants& c, const Eigen::ArrayXd& y,
                             const Eigen::ArrayXd& mu, const Eigen::ArrayXd& eta, const Eigen::ArrayXd& pw) {
    if (family.has_kernel()) return kernel_deviance(c, family.loglik_kernel(y, mu, eta, pw));
    return family.dev_resid_eta(y, eta, pw, mu.data()).sum();
}

}  // namespace glmmfast
