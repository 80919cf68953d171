// diagonal.cpp — "diag": independent columns with their own standard deviations.
//
// theta_t = (sd_1, ..., sd_k) relative sds, each >= 0, starting at 1;
// T = diag(theta_t), dT/dtheta_j = E_jj, so the gradient is G's diagonal.
#include "covariance/covariance.hpp"

namespace glmmfast {
namespace {

class Diagonal : public CovarianceStructure {
public:
    using CovarianceStructure::CovarianceStructure;
    int nparams() const override { return k_; }
    std::vector<double> lower_bounds() const override { return std::vector<double>(k_, 0.0); }
    Eigen::VectorXd initial() const override { return Eigen::VectorXd::Ones(k_); }
    void write_factor(const Eigen::VectorXd& theta, Eigen::MatrixXd& T) const override {
        T.setZero();
        T.diagonal() = theta;
    }
    std::vector<Eigen::MatrixXd> factor_derivatives(const Eigen::VectorXd&) const override {
        std::vector<Eigen::MatrixXd> out;
        for (int j = 0; j < k_; ++j) {
            out.push_back(Eigen::MatrixXd::Zero(k_, k_));
            out.back()(j, j) = 1.0;
        }
        return out;
    }
    Eigen::VectorXd chain_gradient(const Eigen::VectorXd&, const Eigen::MatrixXd& G) const override {
        return G.diagonal();
    }
};

}  // namespace

std::unique_ptr<CovarianceStructure> make_diagonal(const CovarianceSpec& spec) {
    return std::make_unique<Diagonal>(spec.k);
}

}  // namespace glmmfast
