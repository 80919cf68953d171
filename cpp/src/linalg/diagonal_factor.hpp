// diagonal_factor.hpp — the Cholesky "factor" of A = U'WU + I when A's
// pattern is its diagonal (one scalar random-effects term, (1 | g): every
// row of U touches one level, so U'WU is diagonal).
//
// Interface: a SymmetricFactor (symmetric_factor.hpp) with L = diag(sqrt(A_jj)):
// position(j, j) = j, factorize() takes the square roots (false where an
// A_jj is not positive), solve_L(B) = L^{-1} B row by row, log det A =
// 2 sum log L_jj, selected_inverse() = 1 / A_jj.  PenalizedSystem takes it
// instead of SparseFactor for such a pattern: the same numbers, without the
// simplicial factor's permutations, elimination tree and triangular solves,
// which were a fifth of a small (1 | g) GLMM fit's instructions.
#pragma once

#include <Eigen/Core>
#include <vector>

#include "linalg/symmetric_factor.hpp"

namespace glmmfast {

class DiagonalFactor : public SymmetricFactor {
public:
    explicit DiagonalFactor(int q) : A_(Eigen::VectorXd::Ones(q)), L_(Eigen::VectorXd::Ones(q)) {}
    // Whether a pattern (pairs r >= c) is diagonal.
    static bool fits(const std::vector<std::pair<int, int>>& pairs);
    int dim() const override { return static_cast<int>(A_.size()); }
    int position(int r, int c) const override;
    double* values() override { return A_.data(); }
    size_t nvalues() const override { return static_cast<size_t>(A_.size()); }
    bool factorize() override;
    Eigen::MatrixXd solve_L(const Eigen::MatrixXd& B) const override;
    Eigen::MatrixXd solve_Lt(const Eigen::MatrixXd& B) const override { return solve_L(B); }
    double log_det() const override;
    Eigen::MatrixXd inverse_block(int start, int size) const override;
    Eigen::VectorXd selected_inverse() const override;
    const char* kind() const override { return "diagonal"; }

private:
    Eigen::VectorXd A_;  // A's diagonal (the values callers fill)
    Eigen::VectorXd L_;  // sqrt(A_jj) after factorize()
};

}  // namespace glmmfast
