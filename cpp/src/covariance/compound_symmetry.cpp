// compound_symmetry.cpp — "cs": heterogeneous standard deviations, one common
// correlation (glmmTMB's cs).
//
// theta_t = (sd_1, ..., sd_k, t): R_ij = rho for i != j with glmmTMB's
// transform rho = plogis(t) (1 + a) - a, a = 1/(k - 1), so rho ranges over
// (-1/(k-1), 1), exactly the positive-definite range; drho/dt =
// plogis(t)(1 - plogis(t))(1 + a).  A one-column term has no correlation.
#include <cmath>

#include "covariance/scaled_correlation.hpp"

namespace glmmfast {
namespace {

class CompoundSymmetry : public ScaledCorrelation {
public:
    explicit CompoundSymmetry(int k) : ScaledCorrelation(k, false, k > 1 ? 1 : 0) {}

private:
    double a() const { return 1.0 / (k_ - 1); }
    Eigen::MatrixXd correlation(const Eigen::VectorXd& phi) const override {
        if (k_ == 1) return Eigen::MatrixXd::Ones(1, 1);
        const double p = 1.0 / (1.0 + std::exp(-phi[0]));
        const double rho = p * (1.0 + a()) - a();
        Eigen::MatrixXd R = Eigen::MatrixXd::Constant(k_, k_, rho);
        R.diagonal().setOnes();
        return R;
    }
    std::vector<Eigen::MatrixXd> correlation_derivatives(const Eigen::VectorXd& phi) const override {
        if (k_ == 1) return {};
        const double p = 1.0 / (1.0 + std::exp(-phi[0]));
        Eigen::MatrixXd dR = Eigen::MatrixXd::Constant(k_, k_, p * (1.0 - p) * (1.0 + a()));
        dR.diagonal().setZero();
        return {dR};
    }
};

}  // namespace

std::unique_ptr<CovarianceStructure> make_compound_symmetry(const CovarianceSpec& spec) {
    return std::make_unique<CompoundSymmetry>(spec.k);
}

}  // namespace glmmfast
