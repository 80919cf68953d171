// ornstein_uhlenbeck.cpp — "ou": the Ornstein-Uhlenbeck process at unequally
// spaced times (the columns' coordinates), one standard deviation.
//
// theta_t = (sd, log rate): rho(d) = exp(-exp(log rate) d) (glmmTMB's ou),
// drho/dlog rate = -exp(log rate) d rho(d).
#include <cmath>

#include "covariance/scaled_correlation.hpp"

namespace glmmfast {
namespace {

class OrnsteinUhlenbeck : public DistanceCorrelation {
public:
    explicit OrnsteinUhlenbeck(const CovarianceSpec& spec) : DistanceCorrelation(spec, 1) {}

private:
    double rho(double d, const Eigen::VectorXd& phi) const override { return std::exp(-std::exp(phi[0]) * d); }
    Eigen::VectorXd rho_derivatives(double d, const Eigen::VectorXd& phi) const override {
        const double r = std::exp(phi[0]) * d;
        return Eigen::VectorXd::Constant(1, -r * std::exp(-r));
    }
};

}  // namespace

std::unique_ptr<CovarianceStructure> make_ornstein_uhlenbeck(const CovarianceSpec& spec) {
    return std::make_unique<OrnsteinUhlenbeck>(spec);
}

}  // namespace glmmfast
