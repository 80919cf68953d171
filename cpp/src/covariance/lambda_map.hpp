// lambda_map.hpp — the relative covariance factor Lambda(theta).
//
// Interface: `LambdaMap` is built from the random-effects terms (for each
// term: k = number of columns, nlevels = levels of its grouping factor and
// its covariance structure, covariance.hpp).  Lambda is block diagonal:
// term t contributes I_{nlevels} (x) T_t, where T_t is the k x k lower-
// triangular factor its structure makes from theta_t, theta's slice of the
// term (for "us", T_t's lower triangle column by column: lme4's order,
// Bates et al. 2015, sec. 2.2).  `update` writes the T_t into Lambda's fixed
// pattern (every T_t's full lower triangle), so products with Lambda keep
// their pattern from one evaluation to the next; `chain_gradient` turns the
// gradient of a criterion in the entries of each T_t into its gradient in
// theta.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <memory>
#include <vector>

#include "covariance/covariance.hpp"

namespace glmmfast {

using SpMat = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;

class LambdaMap {
public:
    explicit LambdaMap(const std::vector<TermShape>& terms);
    // q = sum_t k_t nlevels_t without building the map (its size checks made).
    static int q_of(const std::vector<TermShape>& terms);

    int q() const { return q_; }
    int ntheta() const { return ntheta_; }
    const std::vector<TermShape>& terms() const { return terms_; }
    // First index in u (and in Z's columns) of each term.
    const std::vector<int>& term_offsets() const { return offsets_; }
    // Lower bound of each theta (0 on scale parameters, -inf elsewhere).
    std::vector<double> lower_bounds() const;
    // theta for the initial fit: each structure's start (identity T_t).
    Eigen::VectorXd initial_theta() const;

    // Throws InvalidCovariance where a structure has no covariance at theta.
    void update(const Eigen::VectorXd& theta);
    const SpMat& matrix() const { return lambda_; }
    // Whether Lambda = 0 at the current theta (U = Z Lambda = 0: A = I, U'WU = 0).
    bool is_zero() const {
        return (Eigen::Map<const Eigen::VectorXd>(lambda_.valuePtr(), lambda_.nonZeros()).array() == 0.0).all();
    }
    // T_t for term t at the current theta.
    const Eigen::MatrixXd& term_factor(int t) const { return factors_[t]; }
    // dT_t/dtheta_j at the current theta for each parameter j of term t.
    std::vector<Eigen::MatrixXd> term_factor_derivatives(int t) const;
    // Gradient in theta from G_t = dF/dT_t (lower triangles used), per term.
    Eigen::VectorXd chain_gradient(const std::vector<Eigen::MatrixXd>& G) const;

private:
    std::vector<TermShape> terms_;
    std::vector<std::unique_ptr<CovarianceStructure>> structures_;
    std::vector<int> offsets_, theta_offsets_;
    int q_ = 0, ntheta_ = 0;
    SpMat lambda_;
    std::vector<int> term_of_nz_, entry_of_nz_;  // term and T_t entry (column-major index) of each stored entry
    Eigen::VectorXd theta_;
    std::vector<Eigen::MatrixXd> factors_;
    // update's scratch (each term's theta and T): no allocation per evaluation
    std::vector<Eigen::VectorXd> theta_parts_;
    std::vector<Eigen::MatrixXd> next_factors_;
};

}  // namespace glmmfast
