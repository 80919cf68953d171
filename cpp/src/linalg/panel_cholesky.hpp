// panel_cholesky.hpp — Cholesky of a symmetric matrix stored dense whose
// factor is (partly) sparse: the Schur complement of the blocked factor.
//
// Interface: `PanelCholesky::analyze(n, lower)` takes the pattern of the
// lower triangle (lower[j] = rows i > j that can be non-zero in column j)
// and chooses a fill-reducing ordering (AMD, postordered along the
// elimination tree) and a partition of the permuted columns into panels;
// `perm()[i]` is the permuted index of row/column i.  `factorize(S, ld)`
// then overwrites the lower triangle of the permuted matrix (column-major,
// leading dimension ld) with its Cholesky factor L, exactly zero outside
// L's pattern, so dense triangular solves with it are right.
//
// Why panels: a crossed model's Schur complement (InstEval: the instructors
// after eliminating the students) is ~20% non-zero and its AMD-ordered
// factor needs ~4x fewer flops than the dense one, but a simplicial sparse
// factorisation runs those flops too slowly to win.  Each panel (a run of
// consecutive columns) is factorised right-looking with dense kernels: the
// diagonal block by LLT, the rows below that the panel touches (gathered)
// by one triangular solve, and their outer product is scattered into the
// trailing matrix.  The factor's trailing columns are dense and become one
// panel (a plain blocked LLT).  Panels are chosen greedily by a cost model
// (flops plus gather/scatter traffic).  When the ordering saves too little
// the identity order and a single panel are kept: the plain dense LLT.
#pragma once

#include <Eigen/Core>
#include <vector>

namespace glmmfast {

class PanelCholesky {
public:
    // Choose the ordering and panels for an n x n matrix with the given
    // lower-triangle pattern (rows > j per column j, any order, original
    // indices).  An empty `lower` means "dense": identity order, one panel.
    void analyze(int n, const std::vector<std::vector<int>>& lower);
    // Whether analyze() is sure to keep the dense LLT for any n x n pattern
    // with `nonzeros` entries below the diagonal, so that the pattern need
    // not be built: n is small, or the pattern so full that no ordering's
    // factor saves enough flops.
    static bool dense_by_count(int n, double nonzeros);
    int dim() const { return n_; }
    // perm()[i]: permuted index of original row/column i.
    const std::vector<int>& perm() const { return perm_; }
    int npanels() const { return static_cast<int>(panel_start_.size()) - 1; }
    // Factorise the permuted matrix held (lower triangle) in S in place;
    // false if it is not positive definite.
    bool factorize(double* S, long ld) const;
    // From the factor L that factorize() left in S's lower triangle: S^{-1}
    // (permuted order) at every position of the panels' pattern (the
    // diagonal blocks and rows R_p x panel p; that contains L's pattern and
    // so S's), written in place into the triangle L leaves free:
    // [S^{-1}]_{r, c}, r > c, at S[r * ld + c] (the strict upper triangle,
    // read as a row-major lower one), and its diagonal into diag (n).  Other
    // entries of the upper triangle are left as they were.  No n x n
    // temporary: its zeroing and the copy back cost ~1/4 of the inversion.
    // The supernodal selected inversion (Takahashi, Fagan and Chen 1973;
    // Lin et al. 2011), about the factorisation's flops.
    void selected_inverse(double* S, long ld, double* diag) const;

private:
    void close_inversion_rows();
    int n_ = 0;
    std::vector<int> perm_;
    std::vector<int> panel_start_;  // panel p = columns [panel_start_[p], panel_start_[p + 1])
    // Rows below panel p that its columns touch (permuted, sorted): rows_[row_start_[p] .. row_start_[p + 1]).
    std::vector<long> row_start_;
    std::vector<int> rows_;
    // For selected_inverse: panel p's rows closed under elimination
    // (R_p plus the rows its descendants pass up beyond their parent
    // panels), same layout as rows_, so that for rows r1 < r2 of R_p, r2
    // is in r1's panel or among its inversion rows.
    std::vector<long> inv_row_start_;
    std::vector<int> inv_rows_;
    int max_rows_ = 0, max_width_ = 0, max_inv_rows_ = 0;
};

// S^{-1} from a Cholesky factor of S = L L', in place (LAPACK's dpotri),
// split across cores: the n x n block at A (column-major, leading
// dimension ld) holds L in its lower triangle (`upper`: L' in its upper
// triangle) and that triangle is overwritten by S^{-1}'s; the other
// triangle is neither read nor written.  LAPACK's own dpotri where
// dense_lapack.hpp's lapack_for(n) says so.
void cholesky_inverse_in_place(double* A, long ld, int n, bool upper);

}  // namespace glmmfast
