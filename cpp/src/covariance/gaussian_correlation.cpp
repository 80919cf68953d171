// gaussian_correlation.cpp — "gau": Gaussian (squared-exponential) spatial
// correlation in the Euclidean distance d, one standard deviation.
//
// theta_t = (sd, log range): rho(d) = exp(-(d / range)^2),
// drho/dlog range = 2 (d / range)^2 rho(d).
#include <cmath>

#include "covariance/scaled_correlation.hpp"

namespace glmmfast {
namespace {

class GaussianCorrelation : public DistanceCorrelation {
public:
    explicit GaussianCorrelation(const CovarianceSpec& spec) : DistanceCorrelation(spec, 1) {}

private:
    double rho(double d, const Eigen::VectorXd& phi) const override {
        const double x = d * std::exp(-phi[0]);
        return std::exp(-x * x);
    }
    Eigen::VectorXd rho_derivatives(double d, const Eigen::VectorXd& phi) const override {
        const double x2 = std::pow(d * std::exp(-phi[0]), 2);
        return Eigen::VectorXd::Constant(1, 2.0 * x2 * std::exp(-x2));
    }
};

}  // namespace

std::unique_ptr<CovarianceStructure> make_gaussian_correlation(const CovarianceSpec& spec) {
    return std::make_unique<GaussianCorrelation>(spec);
}

}  // namespace glmmfast
