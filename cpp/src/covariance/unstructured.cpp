// unstructured.cpp — "us": T is any lower-triangular matrix (lme4's theta).
//
// theta_t fills T's lower triangle column by column (k(k+1)/2 entries);
// diagonal entries are bounded below by 0 and start at 1, the others are
// free and start at 0.  dT/dtheta_m is the unit matrix of entry m, so the
// gradient in theta is G's lower triangle in the same order.
#include <limits>

#include "covariance/covariance.hpp"

namespace glmmfast {
namespace {

class Unstructured : public CovarianceStructure {
public:
    using CovarianceStructure::CovarianceStructure;
    int nparams() const override { return k_ * (k_ + 1) / 2; }
    std::vector<double> lower_bounds() const override {
        std::vector<double> lb;
        for (int c = 0; c < k_; ++c)
            for (int a = c; a < k_; ++a) lb.push_back(a == c ? 0.0 : -std::numeric_limits<double>::infinity());
        return lb;
    }
    Eigen::VectorXd initial() const override {
        Eigen::VectorXd th(nparams());
        int m = 0;
        for (int c = 0; c < k_; ++c)
            for (int a = c; a < k_; ++a) th[m++] = a == c ? 1.0 : 0.0;
        return th;
    }
    void write_factor(const Eigen::VectorXd& theta, Eigen::MatrixXd& T) const override {
        int m = 0;
        for (int c = 0; c < k_; ++c) {
            for (int a = 0; a < c; ++a) T(a, c) = 0.0;
            for (int a = c; a < k_; ++a) T(a, c) = theta[m++];
        }
    }
    std::vector<Eigen::MatrixXd> factor_derivatives(const Eigen::VectorXd&) const override {
        std::vector<Eigen::MatrixXd> out;
        for (int c = 0; c < k_; ++c)
            for (int a = c; a < k_; ++a) {
                out.push_back(Eigen::MatrixXd::Zero(k_, k_));
                out.back()(a, c) = 1.0;
            }
        return out;
    }
    Eigen::VectorXd chain_gradient(const Eigen::VectorXd&, const Eigen::MatrixXd& G) const override {
        Eigen::VectorXd g(nparams());
        int m = 0;
        for (int c = 0; c < k_; ++c)
            for (int a = c; a < k_; ++a) g[m++] = G(a, c);
        return g;
    }
};

}  // namespace

std::unique_ptr<CovarianceStructure> make_unstructured(const CovarianceSpec& spec) {
    return std::make_unique<Unstructured>(spec.k);
}

}  // namespace glmmfast
