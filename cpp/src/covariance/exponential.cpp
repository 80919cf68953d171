// exponential.cpp — "exp": exponential spatial correlation in the Euclidean
// distance d between the columns' coordinates, one standard deviation.
//
// theta_t = (sd, log range): rho(d) = exp(-d / range),
// drho/dlog range = (d / range) rho(d).
#include <cmath>

#include "covariance/scaled_correlation.hpp"

namespace glmmfast {
namespace {

class Exponential : public DistanceCorrelation {
public:
    explicit Exponential(const CovarianceSpec& spec) : DistanceCorrelation(spec, 1) {}

private:
    double rho(double d, const Eigen::VectorXd& phi) const override { return std::exp(-d * std::exp(-phi[0])); }
    Eigen::VectorXd rho_derivatives(double d, const Eigen::VectorXd& phi) const override {
        const double x = d * std::exp(-phi[0]);
        return Eigen::VectorXd::Constant(1, x * std::exp(-x));
    }
};

}  // namespace

std::unique_ptr<CovarianceStructure> make_exponential(const CovarianceSpec& spec) {
    return std::make_unique<Exponential>(spec);
}

}  // namespace glmmfast
