// symmetric_factor.hpp — Cholesky factorisations of the q x q system
// A = U'WU + I with a pattern known in advance.
//
// Interface: a factor is built from the list of (row, col) pairs (row >= col)
// that can be non-zero, then exposes a flat value array that callers fill
// (`position(r, c)` says where A(r, c) goes), `factorize()` and solves with
// an effective lower-triangular L, A = L L':
//   solve_L(B) = L^{-1} B,  solve_Lt(B) = L^{-T} B,  solve(B) = A^{-1} B.
// Two strategies:
//   SparseFactor  — Eigen's simplicial LLT on the AMD-permuted pattern
//                   (L here is P' L_eigen, so A = L L' still holds);
//   BlockedFactor — MixedModels.jl's layout for a model whose first term
//                   has many levels: A = [D B'; B C] with D block diagonal
//                   (one k x k block per level), so
//                   L = [L_D 0; B L_D^{-T} L_S],  S = C - B D^{-1} B' = L_S L_S',
//                   with S stored dense (the remaining terms are few
//                   levels) and factorised by PanelCholesky in a
//                   fill-reducing order when its factor is sparse enough
//                   (L then holds that permutation of the S rows, as for
//                   SparseFactor); S^{-1}, for the selected inverse and
//                   inverse blocks, is formed in place in the triangle of
//                   S's storage that L_S leaves free.
// (A diagonal pattern has its own: DiagonalFactor, diagonal_factor.hpp; so
// has one term's block-diagonal pattern: BlockDiagonalFactor,
// block_diagonal_factor.hpp.)
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <memory>
#include <utility>
#include <vector>

#include "covariance/lambda_map.hpp"
#include "linalg/panel_cholesky.hpp"

namespace glmmfast {

class SymmetricFactor {
public:
    virtual ~SymmetricFactor() = default;
    virtual int dim() const = 0;
    virtual int position(int r, int c) const = 0;  // r >= c, original order
    virtual double* values() = 0;
    virtual size_t nvalues() const = 0;
    virtual bool factorize() = 0;
    virtual Eigen::MatrixXd solve_L(const Eigen::MatrixXd& B) const = 0;
    virtual Eigen::MatrixXd solve_Lt(const Eigen::MatrixXd& B) const = 0;
    virtual double log_det() const = 0;  // log det A
    // [A^{-1}]_{s:s+k, s:s+k}
    virtual Eigen::MatrixXd inverse_block(int start, int size) const;
    // A^{-1} at the positions of A's pattern (the layout of values()), from
    // the current factor: the selected inverse (Takahashi, Fagan and Chen
    // 1973), enough for traces tr(A^{-1} dA) with dA in A's pattern.
    virtual Eigen::VectorXd selected_inverse() const = 0;
    // The same at the given positions of the layout only (out[k] is
    // A^{-1} at positions[k]): a factor whose layout holds a large dense
    // block need not form that block's copy.
    virtual Eigen::VectorXd selected_inverse_at(const std::vector<int>& positions) const;
    // Panels of a blocked factor's Schur complement factor (0: none).
    virtual int schur_panels() const { return 0; }
    // What the factor is, as the engine's ``factorization`` property reports
    // it: "sparse", "blocked", "diagonal" or "block-diagonal".
    virtual const char* kind() const = 0;
    Eigen::MatrixXd solve(const Eigen::MatrixXd& B) const { return solve_Lt(solve_L(B)); }
};

class SparseFactor : public SymmetricFactor {
public:
    SparseFactor(int q, const std::vector<std::pair<int, int>>& pairs);
    int dim() const override { return static_cast<int>(A_.rows()); }
    int position(int r, int c) const override;
    double* values() override { return A_.valuePtr(); }
    size_t nvalues() const override { return static_cast<size_t>(A_.nonZeros()); }
    bool factorize() override;
    Eigen::MatrixXd solve_L(const Eigen::MatrixXd& B) const override;
    Eigen::MatrixXd solve_Lt(const Eigen::MatrixXd& B) const override;
    double log_det() const override;
    Eigen::VectorXd selected_inverse() const override;
    const char* kind() const override { return "sparse"; }
private:
    SpMat A_;  // lower triangle of P A P'
    Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> perm_;
    Eigen::SimplicialLLT<SpMat, Eigen::Lower, Eigen::NaturalOrdering<int>> chol_;
    // Position in L of each stored entry of A_ (L's pattern contains A_'s),
    // and scratch for the selected inverse on L's pattern; set on first use.
    mutable std::vector<int> a_in_l_;
    mutable Eigen::VectorXd sel_l_;
};

class BlockedFactor : public SymmetricFactor {
public:
    // The first q1 = k1 * nlevels1 indices form the block-diagonal part.
    BlockedFactor(int q, int k1, int nlevels1, const std::vector<std::pair<int, int>>& pairs);
    int dim() const override { return q_; }
    int position(int r, int c) const override;
    double* values() override { return vals_.data(); }
    size_t nvalues() const override { return vals_.size(); }
    bool factorize() override;
    Eigen::MatrixXd solve_L(const Eigen::MatrixXd& B) const override;
    Eigen::MatrixXd solve_Lt(const Eigen::MatrixXd& B) const override;
    double log_det() const override;
    Eigen::MatrixXd inverse_block(int start, int size) const override;
    // From S^{-1} on L_S's panels' pattern (all of it when L_S is dense).
    Eigen::VectorXd selected_inverse() const override;
    // Reads S^{-1} where it is kept: no second q2 x q2 array.
    Eigen::VectorXd selected_inverse_at(const std::vector<int>& positions) const override;
    // Panels of the Schur complement's factor (1: dense).
    int schur_panels() const override { return q2_ == 0 ? 0 : schur_.npanels(); }
    const char* kind() const override { return "blocked"; }

    // Possible when the dense Schur complement stays small.
    static bool suitable(int q, int k1, int nlevels1) {
        const long q2 = static_cast<long>(q) - static_cast<long>(k1) * nlevels1;
        return q2 <= 2500 && q2 <= static_cast<long>(k1) * nlevels1;
    }
    // Fill of S = C - B D^{-1} B' relative to dense: sum over levels of
    // (rows touched)^2 / q2^2.  Near 0 when the other terms nest in the
    // first (S stays sparse: the sparse factor wins), O(1) when crossed.
    static double schur_density(int q, int k1, int nlevels1, const std::vector<std::pair<int, int>>& pairs);

private:
    // The lower triangle of the Schur complement's pattern (rows > j per
    // column j, S indices), or empty when computing it would cost more than
    // it can save (large dense cliques) or S is so full that the dense LLT
    // is sure to be kept (PanelCholesky::dense_by_count).
    std::vector<std::vector<int>> schur_pattern(const std::vector<std::pair<int, int>>& pairs) const;
    // S^{-1} (permuted order), once per factorisation, kept beside L_S in
    // C's block: its strict upper triangle (L_S uses the lower one) and
    // Sinv_diag_.  form_schur_inverse: all of it, in place (dpotri on a
    // transposed copy of L_S); form_schur_selected_inverse: only its
    // entries on L_S's panel pattern (all of it when L_S is one panel).
    void form_schur_inverse() const;
    void form_schur_selected_inverse() const;
    // [S^{-1}]_{r, c} (permuted indices) once formed.
    double schur_inverse(int r, int c) const {
        if (r == c) return Sinv_diag_[r];
        return vals_[c_off_ + static_cast<long>(std::max(r, c)) * q2_ + std::min(r, c)];
    }
    // The selected inverse's blocks of term 1's levels (D and B: the layout's
    // first c_off_ values), from S^{-1} once formed.
    Eigen::VectorXd selected_inverse_levels() const;
    // L_S (lower triangle, permuted order), factorised in place over C.
    Eigen::Map<const Eigen::MatrixXd> LS() const { return {vals_.data() + c_off_, q2_, q2_}; }

    int q_, k1_, nl1_, q1_, q2_;
    // Value layout: [D blocks (nl1 * k1 * k1, column-major) | B blocks | C (q2 x q2, column-major)],
    // B's rows and C in the Schur factor's permuted order.  C's strict upper
    // triangle is free once factorised: S^{-1} is kept there (mutable).
    mutable std::vector<double> vals_;
    std::vector<std::vector<int>> rows_;  // per level of term 1: rows of B (permuted, 0..q2) it touches
    std::vector<long> b_off_;             // per level: offset of its |rows| x k1 block of B in vals_
    // The Schur update's schedule: strips of S columns in order and, per
    // strip, each level meeting it with the range of its rows there.
    struct StripLevel {
        int level, first, last;
    };
    std::vector<StripLevel> strip_levels_;
    // Strip s's entries: strip_levels_[strip_begin_[s] .. strip_begin_[s + 1]).
    std::vector<int> strip_begin_;
    long schur_work_ = 0;                 // scattered updates per Schur update
    long c_off_ = 0;
    PanelCholesky schur_;                 // ordering and panels of S
    // Factor state.
    std::vector<double> LD_, W_;          // L_D blocks; W = B L_D^{-T} per level (same layout as B)
    mutable Eigen::VectorXd Sinv_diag_;   // S^{-1}'s diagonal (permuted), beside its upper triangle in C
    mutable bool have_sinv_ = false, have_selected_sinv_ = false;
};

}  // namespace glmmfast
