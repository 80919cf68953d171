// panel_cholesky.cpp — ordering, panel choice and right-looking panel
// factorisation of a dense-stored symmetric matrix (see panel_cholesky.hpp).
#include "linalg/panel_cholesky.hpp"

#include <Eigen/Cholesky>
#include <Eigen/OrderingMethods>
#include <Eigen/SparseCore>
#include <algorithm>
#include <numeric>

#include "optim/interrupt.hpp"
#include "linalg/dense_lapack.hpp"
#include "linalg/parallel.hpp"

namespace glmmfast {

namespace {

// Below this size the dense LLT is cheap whatever the pattern.
constexpr int kMinOrdered = 128;
// Keep the dense LLT unless the ordered factor needs at most this fraction
// of its flops (the panel kernels run slower than one large LLT).
constexpr double kMaxFlopRatio = 0.6;

// Modelled cost of a panel of w columns touching m rows below it, in
// flop-equivalents: LLT of the diagonal block, the triangular solve and
// the outer product, plus the gather/scatter of the m x w panel and the
// m x m update (memory-bound, ~8 flops an element) and a per-panel call
// overhead.
double panel_cost(double w, double m) {
    return w * w * w / 3.0 + m * w * w + m * m * w + 8.0 * (2.0 * m * w + 0.5 * m * m) + 4000.0;
}

// Sorted union of a and the rows of b above `after`.
void merge_rows(const std::vector<int>& a, const int* b, const int* bend, int after, std::vector<int>& out) {
    out.clear();
    auto ia = a.begin();
    while (ia != a.end() && *ia <= after) ++ia;
    while (b != bend && *b <= after) ++b;
    std::set_union(ia, a.end(), b, bend, std::back_inserter(out));
}

}  // namespace

bool PanelCholesky::dense_by_count(int n, double nonzeros) {
    // The factor's column counts m_j hold at least the pattern's entries,
    // so its flops sum_j m_j^2 >= (sum_j m_j)^2 / n >= nonzeros^2 / n
    // (Cauchy-Schwarz), against sum_j (n - 1 - j)^2 for the dense LLT.
    const double dn = n, dense_flops = (dn - 1.0) * dn * (2.0 * dn - 1.0) / 6.0;
    return n < kMinOrdered || nonzeros * nonzeros / dn > kMaxFlopRatio * dense_flops;
}

void PanelCholesky::analyze(int n, const std::vector<std::vector<int>>& lower) {
    n_ = n;
    perm_.resize(n);
    std::iota(perm_.begin(), perm_.end(), 0);
    panel_start_ = {0, n};
    row_start_ = {0, 0};
    rows_.clear();
    max_rows_ = 0;
    max_width_ = n;
    inv_rows_.clear();
    inv_row_start_ = {0, 0};
    max_inv_rows_ = 0;
    if (lower.empty() || n < kMinOrdered) return;

    // 1. AMD on the symmetric pattern.
    std::vector<Eigen::Triplet<double, int>> trip;
    for (int j = 0; j < n; ++j) {
        trip.emplace_back(j, j, 1.0);
        for (int i : lower[j]) {
            trip.emplace_back(i, j, 1.0);
            trip.emplace_back(j, i, 1.0);
        }
    }
    Eigen::SparseMatrix<double, Eigen::ColMajor, int> full(n, n);
    full.setFromTriplets(trip.begin(), trip.end());
    trip = {};
    Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> pinv;
    Eigen::AMDOrdering<int>()(full, pinv);
    full.resize(0, 0);
    const Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> amd = pinv.inverse();
    std::vector<int> p(amd.indices().data(), amd.indices().data() + n);

    check_interrupt();
    // 2. Elimination tree of the AMD-ordered pattern (Liu's algorithm on the
    // rows of the lower triangle), then a postorder, which keeps the fill
    // and makes every subtree a run of consecutive columns.
    std::vector<std::vector<int>> row_lists(n);  // row r: columns k < r
    for (int j = 0; j < n; ++j)
        for (int i : lower[j]) row_lists[std::max(p[i], p[j])].push_back(std::min(p[i], p[j]));
    std::vector<int> parent(n, -1), ancestor(n, -1);
    for (int r = 0; r < n; ++r)
        for (int k : row_lists[r])
            while (k != -1 && k < r) {
                const int next = ancestor[k];
                ancestor[k] = r;
                if (next == -1) parent[k] = r;
                k = next;
            }
    std::vector<std::vector<int>> children(n);
    std::vector<int> roots;
    for (int k = 0; k < n; ++k) (parent[k] < 0 ? roots : children[parent[k]]).push_back(k);
    std::vector<int> post(n), stack;
    int next_index = 0;
    for (int root : roots) {  // iterative DFS, children in increasing order
        stack.push_back(root);
        std::vector<size_t> pos(1, 0);
        while (!stack.empty()) {
            const int v = stack.back();
            if (pos.back() < children[v].size()) {
                stack.push_back(children[v][pos.back()++]);
                pos.push_back(0);
            } else {
                post[v] = next_index++;
                stack.pop_back();
                pos.pop_back();
            }
        }
    }
    std::vector<int> order(n);  // final index of original i
    for (int i = 0; i < n; ++i) order[i] = post[p[i]];
    std::vector<int> par(n, -1);
    for (int k = 0; k < n; ++k)
        if (parent[k] >= 0) par[post[k]] = post[parent[k]];

    check_interrupt();
    // 3. Structure of each column of L (rows below the diagonal): A's own
    // rows and its children's structures (Liu's row-merge).
    std::vector<std::vector<int>> colA(n);
    for (int j = 0; j < n; ++j)
        for (int i : lower[j]) colA[std::min(order[i], order[j])].push_back(std::max(order[i], order[j]));
    std::vector<std::vector<int>> kids(n);
    for (int j = 0; j < n; ++j)
        if (par[j] >= 0) kids[par[j]].push_back(j);
    std::vector<std::vector<int>> Lcol(n);
    std::vector<int> mark(n, -1);
    double flops = 0.0, dense_flops = 0.0;
    for (int j = 0; j < n; ++j) {
        auto& s = Lcol[j];
        auto add = [&](int r) {
            if (r > j && mark[r] != j) {
                mark[r] = j;
                s.push_back(r);
            }
        };
        for (int r : colA[j]) add(r);
        for (int c : kids[j])
            for (int r : Lcol[c]) add(r);
        std::sort(s.begin(), s.end());
        const double m = static_cast<double>(s.size()), md = n - 1 - j;
        flops += m * m;
        dense_flops += md * md;
        colA[j] = {};
    }
    if (flops > kMaxFlopRatio * dense_flops) return;

    check_interrupt();
    // 4. Panels: start from the fundamental supernodes (a column whose
    // structure is its parent's plus the parent itself joins the parent),
    // then merge neighbours while the cost model says it pays.
    struct Panel {
        int start, width;
        std::vector<int> rows;
    };
    std::vector<Panel> panels;
    for (int j = 0; j < n; ++j) {
        const bool extends = !panels.empty() && par[j - 1] == j && Lcol[j - 1].size() == Lcol[j].size() + 1 &&
                             kids[j].size() == 1;
        if (extends) {
            panels.back().width += 1;
            panels.back().rows = Lcol[j];
        } else {
            panels.push_back({j, 1, Lcol[j]});
        }
    }
    Lcol = {};
    std::vector<Panel> merged;
    std::vector<int> rows;
    for (auto& pnl : panels) {
        if (!merged.empty()) {
            Panel& last = merged.back();
            const int end = pnl.start + pnl.width - 1;
            merge_rows(last.rows, pnl.rows.data(), pnl.rows.data() + pnl.rows.size(), end, rows);
            const double separate = panel_cost(last.width, last.rows.size()) + panel_cost(pnl.width, pnl.rows.size());
            if (panel_cost(last.width + pnl.width, rows.size()) <= separate) {
                last.width += pnl.width;
                last.rows.swap(rows);
                continue;
            }
        }
        merged.push_back(std::move(pnl));
    }

    perm_ = order;
    panel_start_.clear();
    row_start_.assign(1, 0);
    max_width_ = 0;
    for (const auto& pnl : merged) {
        panel_start_.push_back(pnl.start);
        rows_.insert(rows_.end(), pnl.rows.begin(), pnl.rows.end());
        row_start_.push_back(static_cast<long>(rows_.size()));
        max_rows_ = std::max(max_rows_, static_cast<int>(pnl.rows.size()));
        max_width_ = std::max(max_width_, pnl.width);
    }
    panel_start_.push_back(n);
    close_inversion_rows();
}

// Panel-level symbolic factorisation: a panel's rows beyond its parent
// panel (the one holding its first row) join the parent's rows.  The
// merged panels hold the union of their columns' structures, so without
// this closure S^{-1} would be needed at pairs of rows that no column of L
// connects.
void PanelCholesky::close_inversion_rows() {
    const int np = npanels();
    std::vector<int> panel_of(n_);
    for (int pn = 0; pn < np; ++pn)
        for (int c = panel_start_[pn]; c < panel_start_[pn + 1]; ++c) panel_of[c] = pn;
    std::vector<std::vector<int>> pending(np);
    inv_rows_.clear();
    inv_row_start_.assign(1, 0);
    max_inv_rows_ = 0;
    std::vector<int> rows;
    for (int pn = 0; pn < np; ++pn) {
        const int end = panel_start_[pn + 1] - 1;
        auto& pend = pending[pn];
        std::sort(pend.begin(), pend.end());
        merge_rows(pend, rows_.data() + row_start_[pn], rows_.data() + row_start_[pn + 1], end, rows);
        rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
        pend = {};
        if (!rows.empty()) {
            auto& parent = pending[panel_of[rows[0]]];
            parent.insert(parent.end(), rows.begin(), rows.end());
        }
        inv_rows_.insert(inv_rows_.end(), rows.begin(), rows.end());
        inv_row_start_.push_back(static_cast<long>(inv_rows_.size()));
        max_inv_rows_ = std::max(max_inv_rows_, static_cast<int>(rows.size()));
    }
}

namespace {

// In-place Cholesky of the lower triangle of the n x n block at A (leading
// dimension ld), right-looking by blocks of columns: the trailing update
// A22 -= L21 L21', nearly all the flops, split by column blocks across
// cores (visited alternately from the two ends: the first are tallest).
// Each block is one matrix product whatever the thread count.
bool blocked_llt(double* A, long ld, int n) {
    using Stride = Eigen::OuterStride<>;
    Eigen::Map<Eigen::MatrixXd, 0, Stride> M(A, n, n, Stride(ld));
    constexpr int kBlock = 96;
    for (int k0 = 0; k0 < n; k0 += kBlock) {
        check_interrupt();
        const int w = std::min(kBlock, n - k0), m = n - k0 - w;
        Eigen::Ref<Eigen::MatrixXd, 0, Stride> D = M.block(k0, k0, w, w);
        Eigen::LLT<Eigen::Ref<Eigen::MatrixXd, 0, Stride>> llt(D);  // in place
        if (llt.info() != Eigen::Success) return false;
        if (m == 0) break;
        auto P = M.block(k0 + w, k0, m, w);
        D.triangularView<Eigen::Lower>().transpose().solveInPlace<Eigen::OnTheRight>(P);
        const int nblocks = (m + kBlock - 1) / kBlock;
        parallel_for(nblocks, static_cast<long>(m) * m * w / 2, [&](int i0, int i1) {
            for (int i = i0; i < i1; ++i) {
                check_interrupt();
                const int b = alternate_ends(i, nblocks);
                const int j0 = b * kBlock, jw = std::min(kBlock, m - j0);
                M.block(k0 + w + j0, k0 + w + j0, m - j0, jw).noalias() -=
                    P.bottomRows(m - j0) * P.middleRows(j0, jw).transpose();
            }
        });
    }
    return true;
}

// Panels at least this wide (the dense trailing panel of a large Schur
// complement) are factorised by blocked_llt, split across cores, unless
// LAPACK takes them (lapack_for).
constexpr int kParallelPanel = 256;

}  // namespace

bool PanelCholesky::factorize(double* S, long ld) const {
    using Stride = Eigen::OuterStride<>;
    Eigen::Map<Eigen::MatrixXd, 0, Stride> A(S, n_, n_, Stride(ld));
    Eigen::MatrixXd P(max_rows_, max_width_), T(max_rows_, max_rows_);
    for (int pn = 0; pn < npanels(); ++pn) {
        check_interrupt();
        const int c0 = panel_start_[pn], w = panel_start_[pn + 1] - c0;
        const int* R = rows_.data() + row_start_[pn];
        const int m = static_cast<int>(row_start_[pn + 1] - row_start_[pn]);
        Eigen::Ref<Eigen::MatrixXd, 0, Stride> D = A.block(c0, c0, w, w);
        if (lapack_for(w)) {
            if (!lapack_llt(S + c0 * ld + c0, ld, w)) return false;
        } else if (w >= kParallelPanel) {
            if (!blocked_llt(S + c0 * ld + c0, ld, w)) return false;
        } else {
            Eigen::LLT<Eigen::Ref<Eigen::MatrixXd, 0, Stride>> llt(D);  // in place
            if (llt.info() != Eigen::Success) return false;
        }
        if (m == 0) continue;
        // Rows R of the panel: L_R = A_R L_D^{-T}; then A[R, R] -= L_R L_R'.
        auto Pm = P.topLeftCorner(m, w);
        for (int c = 0; c < w; ++c) {
            const double* col = S + (c0 + c) * ld;
            for (int a = 0; a < m; ++a) Pm(a, c) = col[R[a]];
        }
        D.triangularView<Eigen::Lower>().transpose().solveInPlace<Eigen::OnTheRight>(Pm);
        for (int c = 0; c < w; ++c) {
            double* col = S + (c0 + c) * ld;
            for (int a = 0; a < m; ++a) col[R[a]] = Pm(a, c);
        }
        auto Tm = T.topLeftCorner(m, m);
        Tm.triangularView<Eigen::Lower>() = Pm * Pm.transpose();
        for (int b = 0; b < m; ++b) {
            double* col = S + static_cast<long>(R[b]) * ld;
            const double* t = Tm.col(b).data();
            for (int a = b; a < m; ++a) col[R[a]] -= t[a];
        }
    }
    return true;
}

// Panels from last to first (Lin et al. 2011, alg. 2): with the panel's
// diagonal block L_pp, its rows R (the closed inversion rows) and
// V = L_Rp L_pp^{-1},
//     S^{-1}[R, p] = -S^{-1}[R, R] V,
//     S^{-1}[p, p] = L_pp^{-T} L_pp^{-1} - V' S^{-1}[R, p],
// where S^{-1}[R, R] lies in later panels' blocks, already computed.
// L is exactly zero outside its pattern, so gathering L_Rp over the
// (larger) inversion rows is right.  S^{-1} is kept as a row-major lower
// triangle in S's upper one (row r at S + r ld): rows R of panel p are
// written as contiguous runs of its w columns, and S^{-1}[R, R], symmetric,
// is gathered one triangle (row R[a] up to column R[a]) and multiplied as
// a self-adjoint matrix.
void PanelCholesky::selected_inverse(double* S, long ld, double* diag) const {
    using Stride = Eigen::OuterStride<>;
    Eigen::Map<const Eigen::MatrixXd, 0, Stride> Lm(S, n_, n_, Stride(ld));
    Eigen::MatrixXd V(max_inv_rows_, max_width_), G(max_inv_rows_, max_inv_rows_), Z(max_inv_rows_, max_width_), D;
    for (int pn = npanels() - 1; pn >= 0; --pn) {
        check_interrupt();
        const int c0 = panel_start_[pn], w = panel_start_[pn + 1] - c0;
        const int* R = inv_rows_.data() + inv_row_start_[pn];
        const int m = static_cast<int>(inv_row_start_[pn + 1] - inv_row_start_[pn]);
        const auto Lpp = Lm.block(c0, c0, w, w).triangularView<Eigen::Lower>();
        // L_pp^{-T} L_pp^{-1} (2 w^3 / 3 flops, split across cores: the
        // trailing dense panel carries most of the work).
        D = Lm.block(c0, c0, w, w).triangularView<Eigen::Lower>();
        cholesky_inverse_in_place(D.data(), w, w, false);
        D.triangularView<Eigen::StrictlyUpper>() = D.transpose();
        if (m > 0) {
            auto Vm = V.topLeftCorner(m, w);
            for (int c = 0; c < w; ++c) {
                const double* col = S + (c0 + c) * ld;
                for (int a = 0; a < m; ++a) Vm(a, c) = col[R[a]];
            }
            Lpp.solveInPlace<Eigen::OnTheRight>(Vm);  // V = L_Rp L_pp^{-1}
            // G's upper triangle: G(b, a) = S^{-1}[R[a], R[b]], b <= a (R sorted).
            auto Gm = G.topLeftCorner(m, m);
            for (int a = 0; a < m; ++a) {
                const double* row = S + static_cast<long>(R[a]) * ld;
                for (int b = 0; b < a; ++b) Gm(b, a) = row[R[b]];
                Gm(a, a) = diag[R[a]];
            }
            auto Zm = Z.topLeftCorner(m, w);  // -S^{-1}[R, p] = S^{-1}[R, R] V
            Zm.noalias() = Gm.selfadjointView<Eigen::Upper>() * Vm;
            D.noalias() += Vm.transpose() * Zm;
            for (int a = 0; a < m; ++a) {
                double* row = S + static_cast<long>(R[a]) * ld + c0;
                for (int c = 0; c < w; ++c) row[c] = -Zm(a, c);
            }
        }
        for (int c = 0; c < w; ++c) {
            diag[c0 + c] = D(c, c);
            double* row = S + static_cast<long>(c0 + c) * ld + c0;
            for (int b = 0; b < c; ++b) row[b] = D(c, b);
        }
    }
}

namespace {

// Lower triangle of M (n x n): L -> L^{-1} -> L^{-T} L^{-1} in place, by
// blocks of kInvBlock columns (LAPACK's dtrtri and dlauum).  Each step's
// large product is split across cores by chunks of kInvChunk columns
// (rows for the right-hand triangular solve), which write disjoint parts.
// `Mat` is a column-major map, or a row-major one whose lower triangle is
// the column-major storage's upper triangle.
constexpr int kInvBlock = 128, kInvChunk = 64;

template <class Mat>
void lower_cholesky_inverse(Mat& M, int n) {
    auto chunks = [](int cols) { return (cols + kInvChunk - 1) / kInvChunk; };
    // 1. L^{-1}, blocks J from the last: with T the rows below J, whose
    //    L^{-1}[T, T] is already in place,
    //      L^{-1}[T, J] = -L^{-1}[T, T] L[T, J] L[J, J]^{-1}.
    for (int j0 = (n - 1) / kInvBlock * kInvBlock; j0 >= 0; j0 -= kInvBlock) {
        check_interrupt();
        const int jb = std::min(kInvBlock, n - j0), t0 = j0 + jb, m = n - t0;
        auto D = M.block(j0, j0, jb, jb);
        if (m > 0) {
            auto X = M.block(t0, j0, m, jb);
            const auto T = M.block(t0, t0, m, m).template triangularView<Eigen::Lower>();
            parallel_for(chunks(jb), static_cast<long>(m) * m * jb / 2, [&](int c0, int c1) {
                auto Xc = X.middleCols(c0 * kInvChunk, std::min(c1 * kInvChunk, jb) - c0 * kInvChunk);
                Xc = T * Xc;
            });
            parallel_for(chunks(m), static_cast<long>(m) * jb * jb, [&](int r0, int r1) {
                auto Xr = X.middleRows(r0 * kInvChunk, std::min(r1 * kInvChunk, m) - r0 * kInvChunk);
                D.template triangularView<Eigen::Lower>().template solveInPlace<Eigen::OnTheRight>(Xr);
                Xr = -Xr;
            });
        }
        const Eigen::MatrixXd Dinv =
            D.template triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(jb, jb));
        D.template triangularView<Eigen::Lower>() = Dinv;
    }
    // 2. With V = L^{-1} (lower), V'V by blocks I from the first: rows I
    //    of its lower triangle are V[I, I]' V[I, :I] + V[B, I]' V[B, :I]
    //    (B: the rows below I), read before they are overwritten.
    for (int i0 = 0; i0 < n; i0 += kInvBlock) {
        check_interrupt();
        const int ib = std::min(kInvBlock, n - i0), b0 = i0 + ib, m = n - b0;
        auto D = M.block(i0, i0, ib, ib);
        const auto VB = M.block(b0, i0, m, ib);
        if (i0 > 0)
            parallel_for(chunks(i0), static_cast<long>(i0) * ib * (ib + m), [&](int c0, int c1) {
                const int a = c0 * kInvChunk, w = std::min(c1 * kInvChunk, i0) - a;
                auto Y = M.block(i0, a, ib, w);
                Y = D.template triangularView<Eigen::Lower>().transpose() * Y;
                if (m > 0) Y.noalias() += VB.transpose() * M.block(b0, a, m, w);
            });
        Eigen::MatrixXd V = D.template triangularView<Eigen::Lower>();
        Eigen::MatrixXd DD = V.transpose() * V;
        if (m > 0) DD.noalias() += VB.transpose() * VB;
        D.template triangularView<Eigen::Lower>() = DD;
    }
}

}  // namespace

void cholesky_inverse_in_place(double* A, long ld, int n, bool upper) {
    if (lapack_for(n)) return lapack_cholesky_inverse(A, ld, n, upper);
    using Stride = Eigen::OuterStride<>;
    if (upper) {
        Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Stride> M(
            A, n, n, Stride(ld));
        lower_cholesky_inverse(M, n);
    } else {
        Eigen::Map<Eigen::MatrixXd, 0, Stride> M(A, n, n, Stride(ld));
        lower_cholesky_inverse(M, n);
    }
}

}  // namespace glmmfast
