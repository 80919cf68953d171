// covariance.hpp — the covariance structure of one random-effects term.
//
// Interface: a `CovarianceStructure` maps the term's parameters theta_t
// (a few numbers, lower bounds only) to its relative covariance factor
// T_t (k x k, lower triangular), so that the term's covariance is
// Sigma_t = s^2 T_t T_t' (s = sigma for a linear mixed model, 1 otherwise)
// and Lambda = blockdiag_t(I_{nlevels_t} (x) T_t) (Bates et al. 2015, sec. 2.2).
// Each structure gives
//   nparams(), lower_bounds() (0 or -inf), initial() (start values: 1 for
//   scale parameters, 0 for all others, so that scaling a start by a
//   constant changes only its standard deviations),
//   factor(theta_t) = T_t (write_factor: in place) and factor_derivatives(theta_t) = dT_t/dtheta_j,
//   chain_gradient(theta_t, G): dF/dtheta_j = sum_{a>=c} dT(a,c)/dtheta_j G(a,c)
//   from the gradient G of a criterion F in the entries of T_t (the exact
//   gradients of laplace_gradient.cpp and cross_product_lmm.cpp).
// `CovarianceSpec` names a structure and carries its data (k, levels, and
// the level coordinates of the distance-based structures, one row per
// level); `make_covariance` (registry.cpp) builds a structure from it.
// A parameter value for which the structure has no covariance (a
// Toeplitz correlation that is not positive definite) throws
// InvalidCovariance, which the models turn into a failed evaluation.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace glmmfast {

struct InvalidCovariance : std::domain_error {
    using std::domain_error::domain_error;
};

// One random-effects term: its structure and the data it needs.
struct TermShape {
    int k;                          // columns of the term (intercept, slopes, factor levels)
    int nlevels;                    // levels of its grouping factor
    std::string structure = "us";   // registry name (registry.cpp)
    Eigen::MatrixXd coords;         // k x d coordinates (times) of the k columns, if the structure uses them
};

using CovarianceSpec = TermShape;

class CovarianceStructure {
public:
    explicit CovarianceStructure(int k) : k_(k) {}
    virtual ~CovarianceStructure() = default;

    int k() const { return k_; }
    virtual int nparams() const = 0;
    virtual std::vector<double> lower_bounds() const = 0;
    virtual Eigen::VectorXd initial() const = 0;
    // T_t into T (k x k on entry; every entry written): no allocation where
    // the structure needs none (us, diag), as LambdaMap::update runs per evaluation.
    virtual void write_factor(const Eigen::VectorXd& theta, Eigen::MatrixXd& T) const = 0;
    Eigen::MatrixXd factor(const Eigen::VectorXd& theta) const {
        Eigen::MatrixXd T(k_, k_);
        write_factor(theta, T);
        return T;
    }
    virtual std::vector<Eigen::MatrixXd> factor_derivatives(const Eigen::VectorXd& theta) const = 0;
    // sum_{a>=c} dT(a,c)/dtheta_j G(a,c), j = 0..nparams-1.
    virtual Eigen::VectorXd chain_gradient(const Eigen::VectorXd& theta, const Eigen::MatrixXd& G) const;

protected:
    int k_;
};

std::unique_ptr<CovarianceStructure> make_covariance(const CovarianceSpec& spec);

}  // namespace glmmfast
