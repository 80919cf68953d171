// lambda_map.hpp — the relative covariance factor Lambda(theta).
//
// Interface: `LambdaMap` is built from the random-effects term structure
// (for each term: k = number of columns, nlevels = levels of its grouping
// factor).  Lambda is block diagonal: term t contributes I_{nlevels} (x) T_t,
// where T_t is k x k lower triangular and theta fills T_t's lower triangle
// column by column (lme4's order, Bates et al. 2015, sec. 2.2).  `update`
// writes theta into the fixed sparsity pattern, so products with Lambda keep
// their pattern from one evaluation to the next.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <vector>

namespace glmmfast {

using SpMat = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;

struct TermShape {
    int k;        // columns of the term (intercept, slopes)
    int nlevels;  // levels of its grouping factor
};

class LambdaMap {
public:
    explicit LambdaMap(const std::vector<TermShape>& terms);

    int q() const { return q_; }
    int ntheta() const { return ntheta_; }
    const std::vector<TermShape>& terms() const { return terms_; }
    // First index in u (and in Z's columns) of each term.
    const std::vector<int>& term_offsets() const { return offsets_; }
    // Lower bound of each theta: 0 on diagonals of T_t, -inf elsewhere.
    std::vector<double> lower_bounds() const;
    // theta_t for the initial fit: identity T_t.
    Eigen::VectorXd initial_theta() const;

    void update(const Eigen::VectorXd& theta);
    const SpMat& matrix() const { return lambda_; }
    // T_t for term t at the current theta.
    Eigen::MatrixXd term_factor(int t) const;

private:
    std::vector<TermShape> terms_;
    std::vector<int> offsets_, theta_offsets_;
    int q_ = 0, ntheta_ = 0;
    SpMat lambda_;
    std::vector<int> theta_of_nz_;  // theta index of each stored entry
    Eigen::VectorXd theta_;
};

}  // namespace glmmfast
