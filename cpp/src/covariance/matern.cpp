// matern.cpp — "mat": Matérn spatial correlation with estimated shape, in the
// Euclidean distance d, one standard deviation (glmmTMB's mat, TMB::matern).
//
// theta_t = (sd, log range, log shape kappa); with x = d / range,
//     rho(d) = x^kappa K_kappa(x) / (Gamma(kappa) 2^(kappa - 1)),  rho(0) = 1,
// (no sqrt(2 kappa) scaling of d, as TMB).  From d/dx [x^v K_v(x)] =
// -x^v K_{v-1}(x) and K_{-v} = K_v,
//     drho/dlog range = x^(kappa+1) K_|kappa-1|(x) / (Gamma(kappa) 2^(kappa-1));
// the derivative in log kappa has no closed form in the standard library and
// is taken by a central difference (step 1e-5: error of order 1e-10).
#include <cmath>

#include "covariance/scaled_correlation.hpp"

namespace glmmfast {
namespace {

double matern(double d, double log_range, double log_kappa) {
    if (d == 0.0) return 1.0;
    const double kappa = std::exp(log_kappa), x = d * std::exp(-log_range);
    return std::exp(kappa * std::log(x) + std::log(std::cyl_bessel_k(kappa, x)) - std::lgamma(kappa) -
                    (kappa - 1.0) * std::log(2.0));
}

class Matern : public DistanceCorrelation {
public:
    explicit Matern(const CovarianceSpec& spec) : DistanceCorrelation(spec, 2) {}

private:
    double rho(double d, const Eigen::VectorXd& phi) const override { return matern(d, phi[0], phi[1]); }
    Eigen::VectorXd rho_derivatives(double d, const Eigen::VectorXd& phi) const override {
        Eigen::VectorXd g = Eigen::VectorXd::Zero(2);
        if (d == 0.0) return g;
        const double kappa = std::exp(phi[1]), x = d * std::exp(-phi[0]);
        g[0] = std::exp((kappa + 1.0) * std::log(x) + std::log(std::cyl_bessel_k(std::abs(kappa - 1.0), x)) -
                        std::lgamma(kappa) - (kappa - 1.0) * std::log(2.0));
        const double h = 1e-5;
        g[1] = (matern(d, phi[0], phi[1] + h) - matern(d, phi[0], phi[1] - h)) / (2.0 * h);
        return g;
    }
};

}  // namespace

std::unique_ptr<CovarianceStructure> make_matern(const CovarianceSpec& spec) { return std::make_unique<Matern>(spec); }

}  // namespace glmmfast
