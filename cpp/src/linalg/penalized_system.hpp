// penalized_system.hpp — the sparse system at the heart of PIRLS and of the
// profiled LMM deviance.
//
// Interface: `PenalizedSystem` is built from Z (CSC) and the random-effects
// term shapes.  For weights W it forms and factorises
//     A = U' W U + I,   U = Z Lambda(theta),   L L' = P A P'
// (Bates et al. 2015, eq. 18) with a fill-reducing (AMD) ordering P that is
// analysed once.  Callers combine the solves below into PIRLS steps, the
// Laplace term log det(L)^2 and conditional variances; nothing here knows
// about families or responses.
//
// Why not Eigen's generic sparse products: every row of Z touches exactly
// one level of each term, so row i of U is, per term t, the k_t-vector
// z_it' T_t placed in the block of its level.  We store those rows densely
// (n x sum k_t) and form A by scattering w_i u_i u_i' into a lower-triangular
// pattern whose positions are precomputed per observation: no allocation,
// no sorting, O(n (sum k_t)^2) per factorisation.  The factorisation itself
// is a SymmetricFactor: blocked (dense Schur complement) when the first
// term's levels dominate, sparse simplicial otherwise.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <string>
#include <vector>

#include "covariance/lambda_map.hpp"
#include "linalg/symmetric_factor.hpp"

namespace glmmfast {

class PenalizedSystem {
public:
    // factorization: "auto" (blocked when suitable), "sparse" or "blocked".
    PenalizedSystem(const SpMat& Z, const std::vector<TermShape>& terms, const std::string& factorization = "auto");

    int n() const { return n_; }
    int q() const { return lambda_.q(); }
    const LambdaMap& lambda() const { return lambda_; }
    // Observation i's first u-index in term t (-1: Z's row has no entry in
    // that term) and Z's value in column c of the row (c < sum of k_t).
    int level_start(int i, int t) const { return start_(i, t); }
    double z_value(int i, int c) const { return zrows_(i, c); }

    void set_theta(const Eigen::VectorXd& theta);
    // Factorise A = U' diag(sign * sqrtw^2) U + I (sign: +-1 per row, or
    // null for all +1: signed weights arise in the exact Hessian of a
    // non-canonical link); false if A is not positive definite.
    bool factor(const Eigen::VectorXd& sqrtw, const Eigen::VectorXd* sign = nullptr);

    // U u (the random-effects part of the linear predictor).
    Eigen::VectorXd U_times(const Eigen::VectorXd& u) const;
    // U' v.
    Eigen::VectorXd Ut_times(const Eigen::VectorXd& v) const;
    // (W^{1/2} U)' M for the weights of the last factorisation.
    Eigen::MatrixXd WUt_times(const Eigen::MatrixXd& M) const;
    Eigen::VectorXd WUt_times(const Eigen::VectorXd& v) const;
    // A^{-1} B.
    Eigen::MatrixXd solve(const Eigen::MatrixXd& B) const { return factor_->solve(B); }
    // L^{-1} B  and  L^{-T} B for the effective factor A = L L'.
    Eigen::MatrixXd solve_L(const Eigen::MatrixXd& B) const { return factor_->solve_L(B); }
    Eigen::MatrixXd solve_Lt(const Eigen::MatrixXd& B) const { return factor_->solve_Lt(B); }
    // log det(L)^2 = log det(A).
    double log_det_L2() const { return factor_->log_det(); }
    // The diagonal block [A^{-1}]_{s:s+k, s:s+k}.
    Eigen::MatrixXd inverse_block(int start, int size) const { return factor_->inverse_block(start, size); }
    bool blocked() const { return blocked_; }
    int schur_panels() const { return factor_->schur_panels(); }

    // For traces tr(A^{-1} dA) (gradients of log det A): row i of the
    // n x K result is U_i [A^{-1}]_{c_i, c_i}, where c_i are the K u-indices
    // row i of U touches (in the order of a row of U), so that
    // u_i' A^{-1} u_i = U_i . (row i).
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> selected_row_products() const;
    // Row i, entry c (< K) of U, and the first column of term t within a row.
    double u_value(int i, int c) const { return urows_(i, c); }
    int term_column(int t) const { return term_col_[t]; }

private:
    int n_ = 0, K_ = 0;                // observations; sum of k_t
    LambdaMap lambda_;
    std::vector<int> term_col_;        // first column of term t within a row of U (0..K)
    // Per observation and term: first u-index of its level's block, or -1
    // when the row of Z has no entry in that term.
    Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> start_;
    // Per observation, the u-index of each of the K entries of its row of U
    // (-1: none): the products with U run over this flat table.
    Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> ucol_;
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> zrows_;  // n x K: Z's values
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> urows_;  // n x K: U's values
    std::vector<int> scatter_;         // n x K(K+1)/2 positions in the factor's values (-1: none)
    std::vector<int> diag_pos_;        // position of A(j, j)
    std::unique_ptr<SymmetricFactor> factor_;
    bool blocked_ = false;
    Eigen::VectorXd sqrtw_;
};

}  // namespace glmmfast
