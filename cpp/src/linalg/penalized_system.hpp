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
// z_it' T_t placed in the block of its level.  Those rows are stored densely
// (RowLayout, row_layout.hpp) and A is formed by scattering w_i u_i u_i' into
// a lower-triangular pattern whose positions are precomputed per
// observation: no allocation, no sorting, O(n (sum k_t)^2) per
// factorisation.  The factorisation itself is a SymmetricFactor: blocked
// (dense Schur complement) when the first term's levels dominate, diagonal
// for a diagonal pattern (one scalar term), block diagonal for one (x | g)
// term's k x k level blocks, sparse simplicial otherwise.
//
// Assembled mode (rows held elsewhere, model/partitioned_glmm.hpp): built
// from the terms and the lower-triangle pattern of U'WU, the system has no
// rows (n() = 0) and `factor_assembled(values)` factorises A = U'WU + I from
// U'WU's values on that pattern, summed by whoever holds the rows.  Solves,
// log det, inverse blocks and the fixed-effects elimination
// (fixed_effects_elimination.hpp, from assembled U'WX) are the same code.
//
// Lambda(theta) = 0 (theta = 0: the partitioned GLM start's IRLS, a fit on the
// boundary) makes U = 0 and A = I whatever the weights: factor() and
// factor_assembled() then factorise nothing and the solves, log det and
// inverses are the identity's (L = I: any L with L L' = A serves them).  At
// 10^4 crossed levels the dense Schur block's LLT of I took ~12 s a step.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <string>
#include <vector>

#include "covariance/lambda_map.hpp"
#include "linalg/row_layout.hpp"
#include "linalg/symmetric_factor.hpp"

namespace glmmfast {

class PenalizedSystem {
public:
    // factorization: "auto" (blocked when suitable), "sparse" or "blocked".
    PenalizedSystem(const SpMat& Z, const std::vector<TermShape>& terms, const std::string& factorization = "auto");
    // Assembled mode: no rows; `pattern` is U'WU's lower triangle (r >= c,
    // sorted, unique), the layout of factor_assembled's values.
    PenalizedSystem(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pattern,
                    const std::string& factorization = "auto");

    int n() const { return rows_.n(); }
    int q() const { return rows_.q(); }
    const LambdaMap& lambda() const { return rows_.lambda(); }
    // Observation i's first u-index in term t (-1: Z's row has no entry in
    // that term) and Z's value in column c of the row (c < sum of k_t).
    int level_start(int i, int t) const { return rows_.level_start(i, t); }
    double z_value(int i, int c) const { return rows_.z_value(i, c); }

    void set_theta(const Eigen::VectorXd& theta);
    // Factorise A = U' diag(sign * sqrtw^2) U + I (sign: +-1 per row, or
    // null for all +1: signed weights arise in the exact Hessian of a
    // non-canonical link); false if A is not positive definite.
    bool factor(const Eigen::VectorXd& sqrtw, const Eigen::VectorXd* sign = nullptr);
    // Assembled mode: factorise A = V + I, V's values on the pattern given
    // at construction (unread, may be empty, where Lambda = 0); false if A is
    // not positive definite.
    bool factor_assembled(const Eigen::VectorXd& values);

    // U u (the random-effects part of the linear predictor).
    Eigen::VectorXd U_times(const Eigen::VectorXd& u) const;
    // out += U u (no temporary: the PIRLS linear predictor).
    void add_U_times(const Eigen::VectorXd& u, Eigen::Ref<Eigen::VectorXd> out) const { rows_.add_U_times(u, out); }
    // U' v.
    Eigen::VectorXd Ut_times(const Eigen::VectorXd& v) const;
    // (W^{1/2} U)' M for the weights of the last factorisation.
    Eigen::MatrixXd WUt_times(const Eigen::MatrixXd& M) const;
    Eigen::VectorXd WUt_times(const Eigen::VectorXd& v) const;
    // A^{-1} B.
    Eigen::MatrixXd solve(const Eigen::MatrixXd& B) const { return identity_ ? B : factor_->solve(B); }
    // L^{-1} B  and  L^{-T} B for the effective factor A = L L'.
    Eigen::MatrixXd solve_L(const Eigen::MatrixXd& B) const { return identity_ ? B : factor_->solve_L(B); }
    Eigen::MatrixXd solve_Lt(const Eigen::MatrixXd& B) const { return identity_ ? B : factor_->solve_Lt(B); }
    // log det(L)^2 = log det(A).
    double log_det_L2() const { return identity_ ? 0.0 : factor_->log_det(); }
    // The diagonal blocks [A^{-1}]_{s:s+k, s:s+k}, s = start + l k for
    // l < nblocks, stacked ((nblocks k) x k).
    Eigen::MatrixXd inverse_diagonal_blocks(int start, int k, int nblocks) const;
    bool blocked() const { return blocked_; }
    // The factor this system took (SymmetricFactor::kind).
    const char* factor_kind() const { return factor_->kind(); }
    // Factorisations so far (A = I counts none).
    long factorizations() const { return factorizations_; }
    int schur_panels() const { return factor_->schur_panels(); }

    // For traces tr(A^{-1} dA) (gradients of log det A): row i of the
    // n x K result is U_i [A^{-1}]_{c_i, c_i}, where c_i are the K u-indices
    // row i of U touches (in the order of a row of U), so that
    // u_i' A^{-1} u_i = U_i . (row i).
    RowLayout::RowMajor selected_row_products() const;
    // Assembled mode: A^{-1} at the pattern's entries (the selected
    // inverse, in factor_assembled's layout), for the rows' traces.
    Eigen::VectorXd pattern_selected_inverse() const;
    // Row i, entry c (< K) of U, and the first column of term t within a row.
    double u_value(int i, int c) const { return rows_.u_value(i, c); }
    int term_column(int t) const { return rows_.term_column(t); }

private:
    // The factor for the pattern: the blocked layout or the sparse one.
    void make_factor(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pairs,
                     const std::string& factorization);
    RowLayout rows_;
    std::vector<int> scatter_;         // n x K(K+1)/2 positions in the factor's values (-1: none)
    std::vector<int> pattern_pos_;     // assembled mode: position of each pattern entry
    std::vector<int> diag_pos_;        // position of A(j, j)
    // Whether A = I at the current theta (Lambda = 0; set by factor/factor_assembled): nothing factorised.
    bool lambda_is_zero() const;
    // A^{-1} (= A = I) in the factor's value layout, where identity_.
    Eigen::VectorXd identity_values() const;
    // The factor's A^{-1} on its value layout (the identity's where identity_).
    Eigen::VectorXd selected_inverse() const;
    std::unique_ptr<SymmetricFactor> factor_;
    bool identity_ = false;
    bool blocked_ = false;
    long factorizations_ = 0;
    Eigen::VectorXd sqrtw_;
};

}  // namespace glmmfast
