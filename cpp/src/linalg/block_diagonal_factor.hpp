// block_diagonal_factor.hpp — the Cholesky factor of A = U'WU + I when A's
// pattern is block diagonal with k x k blocks aligned to the levels (one
// random-effects term (x | g) with k columns: every row of U touches one
// level's k columns, so U'WU holds one dense k x k block per level).
//
// Interface: a SymmetricFactor (symmetric_factor.hpp) with L = diag(L_l),
// A_l = L_l L_l' per level l (rows l k .. l k + k - 1): position(r, c) is
// A(max(r, c), min(r, c))'s place in level l's column-major k x k block (r, c
// in that block), factorize() a k x k LLT per level (false when a block is not
// positive definite), solve_L / solve_Lt per level, log det A = 2 sum of
// log diag(L_l), inverse blocks and the selected inverse from
// A_l^{-1} = L_l^{-T} L_l^{-1}.  PenalizedSystem takes it instead of
// SparseFactor for such a pattern (fits): the same algebra without the
// sparse factor's minimum-degree ordering, symbolic analysis, permutations
// and elimination tree, which dominate a small (x | g) model's constructor
// and solves.  A diagonal pattern keeps DiagonalFactor (k = 1, cheaper still).
#pragma once

#include <Eigen/Core>
#include <utility>
#include <vector>

#include "linalg/symmetric_factor.hpp"

namespace glmmfast {

class BlockDiagonalFactor : public SymmetricFactor {
public:
    // q = k * nlevels; A starts as the identity.
    BlockDiagonalFactor(int k, int nlevels);
    // Whether a pattern (pairs r >= c) lies in the k x k diagonal blocks.
    static bool fits(int k, const std::vector<std::pair<int, int>>& pairs);
    int dim() const override { return k_ * nlevels_; }
    int position(int r, int c) const override;
    double* values() override { return A_.data(); }
    size_t nvalues() const override { return A_.size(); }
    bool factorize() override;
    Eigen::MatrixXd solve_L(const Eigen::MatrixXd& B) const override;
    Eigen::MatrixXd solve_Lt(const Eigen::MatrixXd& B) const override;
    double log_det() const override;
    // Zero between levels; within a level, A_l^{-1}'s entries.
    Eigen::MatrixXd inverse_block(int start, int size) const override;
    // A_l^{-1} for every level, in values()' layout (both triangles).
    Eigen::VectorXd selected_inverse() const override;
    const char* kind() const override { return "block-diagonal"; }

private:
    // Per level, L_l^{-1} B or (transposed) L_l^{-T} B on its rows of B.
    Eigen::MatrixXd solve_levels(const Eigen::MatrixXd& B, bool transposed) const;
    // A_l^{-1} = L_l^{-T} L_l^{-1} (k x k, column-major) into out.
    void level_inverse(int level, double* out) const;
    int k_, nlevels_;
    std::vector<double> A_;  // per level, its k x k block of A (column-major; the lower triangle is read)
    std::vector<double> L_;  // per level, L_l (lower triangle, same layout) after factorize()
};

}  // namespace glmmfast
