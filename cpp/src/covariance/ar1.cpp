// ar1.cpp — "ar1": first-order autoregressive correlation over the term's
// columns (a factor of equally spaced times), one standard deviation.
//
// theta_t = (sd, t), R_ij = rho^|i-j| with rho = t / sqrt(1 + t^2) (glmmTMB's
// transform); dR_ij/dt = |i-j| rho^(|i-j|-1) drho/dt.  Only the columns'
// positions count, not their labels (as glmmTMB).
#include <cmath>
#include <cstdlib>

#include "covariance/lag_correlation.hpp"
#include "covariance/scaled_correlation.hpp"

namespace glmmfast {
namespace {

class Ar1 : public ScaledCorrelation {
public:
    explicit Ar1(int k) : ScaledCorrelation(k, true, 1) {}

private:
    Eigen::MatrixXd correlation(const Eigen::VectorXd& phi) const override {
        const double rho = lag_rho(phi[0]);
        Eigen::MatrixXd R(k_, k_);
        for (int i = 0; i < k_; ++i)
            for (int j = 0; j < k_; ++j) R(i, j) = std::pow(rho, std::abs(i - j));
        return R;
    }
    std::vector<Eigen::MatrixXd> correlation_derivatives(const Eigen::VectorXd& phi) const override {
        const double rho = lag_rho(phi[0]), drho = lag_rho_derivative(phi[0]);
        Eigen::MatrixXd dR = Eigen::MatrixXd::Zero(k_, k_);
        for (int i = 0; i < k_; ++i)
            for (int j = 0; j < k_; ++j) {
                const int lag = std::abs(i - j);
                if (lag > 0) dR(i, j) = lag * std::pow(rho, lag - 1) * drho;
            }
        return {dR};
    }
};

}  // namespace

std::unique_ptr<CovarianceStructure> make_ar1(const CovarianceSpec& spec) { return std::make_unique<Ar1>(spec.k); }

}  // namespace glmmfast
