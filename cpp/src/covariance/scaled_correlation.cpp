// scaled_correlation.cpp — T = D chol(R) and its derivatives (see scaled_correlation.hpp).
#include "covariance/scaled_correlation.hpp"

#include <Eigen/Cholesky>
#include <cmath>
#include <limits>

namespace glmmfast {

Eigen::MatrixXd cholesky_derivative(const Eigen::MatrixXd& L, const Eigen::MatrixXd& dS) {
    // X = L^{-1} dS L^{-T}; dL = L Phi(X).
    const auto Lt = L.triangularView<Eigen::Lower>();
    Eigen::MatrixXd X = Lt.solve(dS);
    X = Lt.solve(X.transpose()).transpose();
    Eigen::MatrixXd P = X.triangularView<Eigen::Lower>();
    P.diagonal() *= 0.5;
    return L * P;
}

std::vector<double> ScaledCorrelation::lower_bounds() const {
    std::vector<double> lb(nparams(), -std::numeric_limits<double>::infinity());
    for (int j = 0; j < nsd_; ++j) lb[j] = 0.0;
    return lb;
}

Eigen::VectorXd ScaledCorrelation::initial() const {
    Eigen::VectorXd th = Eigen::VectorXd::Zero(nparams());
    th.head(nsd_).setOnes();
    return th;
}

Eigen::VectorXd ScaledCorrelation::sds(const Eigen::VectorXd& theta) const {
    return nsd_ == 1 ? Eigen::VectorXd::Constant(k_, theta[0]) : Eigen::VectorXd(theta.head(k_));
}

Eigen::MatrixXd ScaledCorrelation::correlation_factor(const Eigen::VectorXd& phi) const {
    Eigen::LLT<Eigen::MatrixXd> llt(correlation(phi));
    if (llt.info() != Eigen::Success) throw InvalidCovariance("the correlation matrix is not positive definite");
    return llt.matrixL();
}

void ScaledCorrelation::write_factor(const Eigen::VectorXd& theta, Eigen::MatrixXd& T) const {
    T.noalias() = sds(theta).asDiagonal() * correlation_factor(theta.tail(ncorr_));
}

std::vector<Eigen::MatrixXd> ScaledCorrelation::factor_derivatives(const Eigen::VectorXd& theta) const {
    const Eigen::VectorXd phi = theta.tail(ncorr_);
    const Eigen::MatrixXd L = correlation_factor(phi);
    std::vector<Eigen::MatrixXd> out;
    if (nsd_ == 1) {
        out.push_back(L);
    } else {
        for (int j = 0; j < nsd_; ++j) {
            Eigen::MatrixXd d = Eigen::MatrixXd::Zero(k_, k_);
            d.row(j) = L.row(j);
            out.push_back(d);
        }
    }
    const Eigen::VectorXd sd = sds(theta);
    for (const auto& dR : correlation_derivatives(phi)) out.push_back(sd.asDiagonal() * cholesky_derivative(L, dR));
    return out;
}

DistanceCorrelation::DistanceCorrelation(const CovarianceSpec& spec, int ncorr)
    : ScaledCorrelation(spec.k, true, ncorr) {
    if (spec.coords.rows() != spec.k || spec.coords.cols() < 1)
        throw std::invalid_argument("structure '" + spec.structure + "' needs one row of coordinates per column");
    if (!spec.coords.allFinite()) throw std::invalid_argument("coordinates must be finite");
    dist_.resize(k_, k_);
    for (int i = 0; i < k_; ++i)
        for (int j = 0; j < k_; ++j) dist_(i, j) = (spec.coords.row(i) - spec.coords.row(j)).norm();
}

Eigen::MatrixXd DistanceCorrelation::correlation(const Eigen::VectorXd& phi) const {
    Eigen::MatrixXd R(k_, k_);
    for (int i = 0; i < k_; ++i)
        for (int j = 0; j < k_; ++j) R(i, j) = i == j ? 1.0 : rho(dist_(i, j), phi);
    return R;
}

std::vector<Eigen::MatrixXd> DistanceCorrelation::correlation_derivatives(const Eigen::VectorXd& phi) const {
    std::vector<Eigen::MatrixXd> out(phi.size(), Eigen::MatrixXd::Zero(k_, k_));
    for (int i = 0; i < k_; ++i)
        for (int j = 0; j < k_; ++j) {
            if (i == j) continue;
            const Eigen::VectorXd d = rho_derivatives(dist_(i, j), phi);
            for (int m = 0; m < phi.size(); ++m) out[m](i, j) = d[m];
        }
    return out;
}

}  // namespace glmmfast
