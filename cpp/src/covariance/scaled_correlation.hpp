// scaled_correlation.hpp — structures written as standard deviations times a
// correlation matrix: Sigma = D R(phi) D, D = diag(sd) (one common sd or one
// per column), R(phi) positive definite.
//
// Interface: derive from `ScaledCorrelation`, give the number of correlation
// parameters, R(phi) and dR/dphi_j (`correlation`, `correlation_derivatives`);
// theta_t = (sd..., phi...), the sds bounded below by 0 (a zero sd is a
// singular fit, as lme4's zero diagonal of T), phi unbounded.
// Since D is diagonal and non-negative, chol(D R D) = D chol(R), so
//     T = D L,  L = chol(R),
//     dT/dsd_j = E_jj L (or L for the common sd),
//     dT/dphi_j = D dL_j,  dL_j = L Phi(L^{-1} dR_j L^{-T})
// (the Cholesky factor's derivative; Phi takes the lower triangle and
// halves its diagonal: cholesky_derivative).  T exists at every sd >= 0,
// singular fits included; a non-positive-definite R throws InvalidCovariance.
#pragma once

#include "covariance/covariance.hpp"

namespace glmmfast {

// dL for L = chol(S) when S changes by dS: L Phi(L^{-1} dS L^{-T}).
Eigen::MatrixXd cholesky_derivative(const Eigen::MatrixXd& L, const Eigen::MatrixXd& dS);

class ScaledCorrelation : public CovarianceStructure {
public:
    // common_sd: one sd for all k columns, else one per column.
    ScaledCorrelation(int k, bool common_sd, int ncorr) : CovarianceStructure(k), nsd_(common_sd ? 1 : k), ncorr_(ncorr) {}

    int nparams() const override { return nsd_ + ncorr_; }
    std::vector<double> lower_bounds() const override;
    Eigen::VectorXd initial() const override;
    void write_factor(const Eigen::VectorXd& theta, Eigen::MatrixXd& T) const override;
    std::vector<Eigen::MatrixXd> factor_derivatives(const Eigen::VectorXd& theta) const override;

protected:
    // R(phi) (k x k) and dR/dphi_j, phi = theta's correlation parameters.
    virtual Eigen::MatrixXd correlation(const Eigen::VectorXd& phi) const = 0;
    virtual std::vector<Eigen::MatrixXd> correlation_derivatives(const Eigen::VectorXd& phi) const = 0;

private:
    Eigen::MatrixXd correlation_factor(const Eigen::VectorXd& phi) const;
    Eigen::VectorXd sds(const Eigen::VectorXd& theta) const;
    int nsd_, ncorr_;
};

// Correlation as a function of the distance between the columns'
// coordinates: R_ij = rho(d_ij; phi) (ou, exp, gau, mat).
class DistanceCorrelation : public ScaledCorrelation {
public:
    DistanceCorrelation(const CovarianceSpec& spec, int ncorr);

protected:
    // rho(d; phi) and d rho / d phi_j (one entry per parameter).
    virtual double rho(double d, const Eigen::VectorXd& phi) const = 0;
    virtual Eigen::VectorXd rho_derivatives(double d, const Eigen::VectorXd& phi) const = 0;

private:
    Eigen::MatrixXd correlation(const Eigen::VectorXd& phi) const override;
    std::vector<Eigen::MatrixXd> correlation_derivatives(const Eigen::VectorXd& phi) const override;
    Eigen::MatrixXd dist_;
};

}  // namespace glmmfast
