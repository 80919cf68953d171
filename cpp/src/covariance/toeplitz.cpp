// toeplitz.cpp — "toep": heterogeneous standard deviations and a correlation
// for each lag (glmmTMB's toep).
//
// theta_t = (sd_1, ..., sd_k, t_1, ..., t_{k-1}): R_ij = rho_|i-j|,
// rho_l = t_l / sqrt(1 + t_l^2).  Positive definiteness is not implied by
// the transform; a non-positive-definite R is a failed evaluation.
#include <cstdlib>

#include "covariance/lag_correlation.hpp"
#include "covariance/scaled_correlation.hpp"

namespace glmmfast {
namespace {

class Toeplitz : public ScaledCorrelation {
public:
    explicit Toeplitz(int k) : ScaledCorrelation(k, false, k - 1) {}

private:
    Eigen::MatrixXd correlation(const Eigen::VectorXd& phi) const override {
        Eigen::MatrixXd R(k_, k_);
        for (int i = 0; i < k_; ++i)
            for (int j = 0; j < k_; ++j) R(i, j) = i == j ? 1.0 : lag_rho(phi[std::abs(i - j) - 1]);
        return R;
    }
    std::vector<Eigen::MatrixXd> correlation_derivatives(const Eigen::VectorXd& phi) const override {
        std::vector<Eigen::MatrixXd> out(k_ - 1, Eigen::MatrixXd::Zero(k_, k_));
        for (int i = 0; i < k_; ++i)
            for (int j = 0; j < k_; ++j)
                if (i != j) {
                    const int l = std::abs(i - j) - 1;
                    out[l](i, j) = lag_rho_derivative(phi[l]);
                }
        return out;
    }
};

}  // namespace

std::unique_ptr<CovarianceStructure> make_toeplitz(const CovarianceSpec& spec) {
    return std::make_unique<Toeplitz>(spec.k);
}

}  // namespace glmmfast
