// symmetric_factor.cpp — sparse and blocked Cholesky of A = U'WU + I (see
// symmetric_factor.hpp).
#include "linalg/symmetric_factor.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "optim/interrupt.hpp"
#include "linalg/parallel.hpp"

namespace glmmfast {

namespace {

// S[rr[t], rr[a]] -= w[a] w[t] for t >= a, columns a in [first, last) of one
// level of a scalar first term (S column-major with leading dimension ld):
// the Schur update's hot loop.  Two columns per pass share the loads of
// rr[t] and w[t] and keep both column pointers in registers (distinct
// columns: the stores cannot alias); each entry still takes this level's
// one update, so S is the same to the bit.
void schur_update_columns(double* S, long ld, const int* rr, const double* w, int m, int first, int last) {
    int a = first;
    for (; a + 1 < last; a += 2) {
        double* __restrict c0 = S + static_cast<long>(rr[a]) * ld;
        double* __restrict c1 = S + static_cast<long>(rr[a + 1]) * ld;
        const double w0 = w[a], w1 = w[a + 1];
        c0[rr[a]] -= w0 * w0;
        for (int t = a + 1; t < m; ++t) {
            const long r = rr[t];
            const double wt = w[t];
            c0[r] -= w0 * wt;
            c1[r] -= w1 * wt;
        }
    }
    if (a < last) {
        double* col = S + static_cast<long>(rr[a]) * ld;
        const double wa = w[a];
        for (int t = a; t < m; ++t) col[rr[t]] -= wa * w[t];
    }
}

// y = S^{-1}[rr, rr] w for one level of a scalar first term (rr sorted), from
// S^{-1}'s strict upper triangle (S^{-1}[rr[a], rr[b]] at Sinv[rr[b] * ld +
// rr[a]], a < b) and its diagonal: each pair, read once, serves y[a] and
// y[b]; two columns b per pass share the loads of rr[a] and w[a] and the
// update of y[a] (the gradient's selected inverse on 10^4 x 10^3 crossed
// levels is mostly this loop).
void sinv_times_level(const double* Sinv, long ld, const double* diag, const int* rr, const double* w, int m,
                      double* y) {
    for (int a = 0; a < m; ++a) y[a] = diag[rr[a]] * w[a];
    int b = 0;
    for (; b + 1 < m; b += 2) {
        const double* s0 = Sinv + static_cast<long>(rr[b]) * ld;
        const double* s1 = Sinv + static_cast<long>(rr[b + 1]) * ld;
        const double w0 = w[b], w1 = w[b + 1];
        double y0 = 0.0, y1 = 0.0;
        for (int a = 0; a < b; ++a) {
            const long r = rr[a];
            const double x0 = s0[r], x1 = s1[r], wa = w[a];
            y[a] += x0 * w0 + x1 * w1;
            y0 += x0 * wa;
            y1 += x1 * wa;
        }
        const double x = s1[rr[b]];  // the pair (b, b + 1)
        y[b] += y0 + x * w1;
        y[b + 1] += y1 + x * w0;
    }
    if (b < m) {  // the last column of an odd count
        const double* s0 = Sinv + static_cast<long>(rr[b]) * ld;
        double y0 = 0.0;
        for (int a = 0; a < b; ++a) {
            const double x0 = s0[rr[a]];
            y[a] += x0 * w[b];
            y0 += x0 * w[a];
        }
        y[b] += y0;
    }
}

}  // namespace

Eigen::MatrixXd SymmetricFactor::inverse_block(int start, int size) const {
    if (start < 0 || size < 0 || start + size > dim()) throw std::out_of_range("inverse_block out of range");
    Eigen::MatrixXd E = Eigen::MatrixXd::Zero(dim(), size);
    for (int j = 0; j < size; ++j) E(start + j, j) = 1.0;
    return solve(E).block(start, 0, size, size);
}

Eigen::VectorXd SymmetricFactor::selected_inverse_at(const std::vector<int>& positions) const {
    const Eigen::VectorXd sel = selected_inverse();
    Eigen::VectorXd out(static_cast<Eigen::Index>(positions.size()));
    for (size_t k = 0; k < positions.size(); ++k) out[static_cast<Eigen::Index>(k)] = sel[positions[k]];
    return out;
}

// ---------------------------------------------------------------- sparse --

namespace {

// The lower triangle of `pairs` (r >= c) with a unit diagonal, column by column (CSC), when the pairs are
// sorted by (r, c) and unique (each column's rows then arrive in increasing order); empty otherwise.
SpMat lower_pattern_in_order(int q, const std::vector<std::pair<int, int>>& pairs) {
    std::vector<int> count(static_cast<size_t>(q) + 1, 1);  // count[c + 1]: column c's entries, its diagonal's 1
    count[0] = 0;
    for (const auto& [r, c] : pairs)
        if (r != c) ++count[static_cast<size_t>(c) + 1];
    for (int c = 0; c < q; ++c) count[c + 1] += count[c];
    SpMat L(q, q);
    L.resizeNonZeros(count[q]);
    int* outer = L.outerIndexPtr();
    int* inner = L.innerIndexPtr();
    std::copy(count.begin(), count.end(), outer);
    for (int c = 0; c < q; ++c) inner[count[c]++] = c;
    for (const auto& [r, c] : pairs) {
        if (r == c) continue;
        if (r < c) return SpMat(0, 0);
        int& at = count[static_cast<size_t>(c)];
        if (at > outer[c] + 1 && inner[at - 1] >= r) return SpMat(0, 0);  // out of order or repeated
        inner[at++] = r;
    }
    std::fill(L.valuePtr(), L.valuePtr() + L.nonZeros(), 1.0);
    return L;
}

// Whether Cholesky in the natural order fills nothing in the lower-triangle pattern L (CSC, rows sorted,
// diagonal first): it does not iff each column's later rows form a clique (the order is a perfect
// elimination order), which holds iff for each column v with later rows S_v and p its first, S_v \ {p}
// lies in S_p (Rose, Tarjan and Lueker 1976): fill at (a, b), a > b in S_v, arises first in column p's
// elimination if b = p, else is inherited through p.  Nested terms in the order inner first (Chem97's
// schools, then their leas) pass; crossed terms do not.  The merge stops after O(nnz) steps (then: no).
bool eliminates_without_fill(const SpMat& L) {
    const int q = static_cast<int>(L.cols());
    const int *Lp = L.outerIndexPtr(), *Li = L.innerIndexPtr();
    long budget = 4 * static_cast<long>(L.nonZeros()) + q;
    for (int v = 0; v < q; ++v) {
        const int* s = Li + Lp[v] + 1;  // S_v
        const int* s_end = Li + Lp[v + 1];
        if (s_end - s < 2) continue;
        const int p = *s++;
        const int* t = Li + Lp[p] + 1;  // S_p
        const int* t_end = Li + Lp[p + 1];
        for (; s != s_end; ++s) {
            while (t != t_end && *t < *s) ++t, --budget;
            if (t == t_end || *t != *s || --budget < 0) return false;
        }
    }
    return true;
}

}  // namespace

SparseFactor::SparseFactor(int q, const std::vector<std::pair<int, int>>& pairs) {
    // The natural order where it eliminates without fill (no ordering can do better: L's pattern is A's);
    // else the symmetric pattern chooses the fill-reducing ordering and the permuted lower triangle is what
    // gets filled and factorised.
    A_ = lower_pattern_in_order(q, pairs);
    if (A_.rows() == q && eliminates_without_fill(A_)) {
        perm_.setIdentity(q);
        chol_.analyzePattern(A_);
        return;
    }
    std::vector<Eigen::Triplet<double, int>> trip;
    trip.reserve(2 * pairs.size() + q);
    for (int j = 0; j < q; ++j) trip.emplace_back(j, j, 1.0);
    for (const auto& rc : pairs) {
        trip.emplace_back(rc.first, rc.second, 1.0);
        if (rc.first != rc.second) trip.emplace_back(rc.second, rc.first, 1.0);
    }
    SpMat full(q, q);
    full.setFromTriplets(trip.begin(), trip.end());
    trip.clear();
    Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> pinv;
    Eigen::AMDOrdering<int>()(full, pinv);
    perm_ = pinv.inverse();
    full.resize(0, 0);
    const int* pi = perm_.indices().data();
    for (int j = 0; j < q; ++j) trip.emplace_back(pi[j], pi[j], 1.0);
    for (const auto& rc : pairs)
        trip.emplace_back(std::max(pi[rc.first], pi[rc.second]), std::min(pi[rc.first], pi[rc.second]), 1.0);
    A_.resize(q, q);
    A_.setFromTriplets(trip.begin(), trip.end());
    A_.makeCompressed();
    chol_.analyzePattern(A_);
}

int SparseFactor::position(int r0, int c0) const {
    const int* pi = perm_.indices().data();
    const int r = std::max(pi[r0], pi[c0]), c = std::min(pi[r0], pi[c0]);
    const int* begin = A_.innerIndexPtr() + A_.outerIndexPtr()[c];
    const int* end = A_.innerIndexPtr() + A_.outerIndexPtr()[c + 1];
    const int* it = std::lower_bound(begin, end, r);
    if (it == end || *it != r) throw std::logic_error("pair outside the analysed pattern");
    return static_cast<int>(it - A_.innerIndexPtr());
}

bool SparseFactor::factorize() {
    chol_.factorize(A_);
    return chol_.info() == Eigen::Success;
}

Eigen::MatrixXd SparseFactor::solve_L(const Eigen::MatrixXd& B) const {
    return chol_.matrixL().solve(perm_ * B);
}

Eigen::MatrixXd SparseFactor::solve_Lt(const Eigen::MatrixXd& B) const {
    return perm_.transpose() * chol_.matrixU().solve(B);
}

double SparseFactor::log_det() const {
    const auto& L = chol_.matrixL().nestedExpression();
    return 2.0 * L.diagonal().array().log().sum();
}

// Takahashi's recurrences on the pattern of L (L L' = P A P', column j
// holding its diagonal first, then the rows S_j below it in increasing
// order): from the last column backwards, with Z = (P A P')^{-1},
//   Z_ij = -(1 / L_jj) sum_{k in S_j} L_kj Z_ik         (i in S_j),
//   Z_jj = 1 / L_jj^2 - (1 / L_jj) sum_{k in S_j} L_kj Z_kj.
// Every Z_ik needed lies in L's pattern (S_j is a clique of the filled
// graph): for k in S_j, the rows of S_j above k are in column k's pattern,
// found by one forward merge along it.  Each stored Z_ik (i > k) serves
// both row i (times L_kj) and, by symmetry, row k (times L_ij).  The cost
// is about that of the factorisation.
Eigen::VectorXd SparseFactor::selected_inverse() const {
    const SpMat& L = chol_.matrixL().nestedExpression();
    const int n = static_cast<int>(L.cols());
    const int* Lp = L.outerIndexPtr();
    const int* Li = L.innerIndexPtr();
    const double* Lx = L.valuePtr();
    if (a_in_l_.empty()) {
        a_in_l_.resize(A_.nonZeros());
        for (int c = 0; c < n; ++c)
            for (int p = A_.outerIndexPtr()[c]; p < A_.outerIndexPtr()[c + 1]; ++p) {
                const int r = A_.innerIndexPtr()[p];
                a_in_l_[p] = static_cast<int>(std::lower_bound(Li + Lp[c], Li + Lp[c + 1], r) - Li);
            }
    }
    sel_l_.resize(L.nonZeros());
    double* Z = sel_l_.data();
    std::vector<double> acc;
    for (int j = n - 1; j >= 0; --j) {
        if ((j & 1023) == 0) check_interrupt();
        const int d = Lp[j], s = Lp[j + 1] - d - 1;  // S_j = Li[d + 1 .. d + s]
        const int* Sj = Li + d + 1;
        const double* lj = Lx + d + 1;
        acc.assign(s, 0.0);
        for (int b = 0; b < s; ++b) {
            const int k = Sj[b];
            acc[b] += lj[b] * Z[Lp[k]];  // Z_kk
            int p = Lp[k] + 1;
            for (int a = b + 1; a < s; ++a) {
                while (Li[p] < Sj[a]) ++p;  // Sj[a] is in column k's pattern
                acc[a] += lj[b] * Z[p];
                acc[b] += lj[a] * Z[p];
            }
        }
        const double ljj = Lx[d];
        double diag = 0.0;
        for (int a = 0; a < s; ++a) {
            Z[d + 1 + a] = -acc[a] / ljj;
            diag += lj[a] * Z[d + 1 + a];
        }
        Z[d] = 1.0 / (ljj * ljj) - diag / ljj;
    }
    Eigen::VectorXd out(A_.nonZeros());
    for (Eigen::Index p = 0; p < A_.nonZeros(); ++p) out[p] = Z[a_in_l_[p]];
    return out;
}

// --------------------------------------------------------------- blocked --

BlockedFactor::BlockedFactor(int q, int k1, int nlevels1, const std::vector<std::pair<int, int>>& pairs)
    : q_(q), k1_(k1), nl1_(nlevels1), q1_(k1 * nlevels1), q2_(q - k1 * nlevels1) {
    rows_.assign(nl1_, {});
    for (const auto& rc : pairs) {
        const int r = rc.first, c = rc.second;
        if (r >= q1_ && c < q1_) rows_[c / k1_].push_back(r - q1_);
        else if (r < q1_ && r / k1_ != c / k1_)
            throw std::logic_error("blocked factor: first term's levels must not interact");
    }
    for (auto& rr : rows_) {
        std::sort(rr.begin(), rr.end());
        rr.erase(std::unique(rr.begin(), rr.end()), rr.end());
    }
    check_interrupt();
    schur_.analyze(q2_, schur_pattern(pairs));
    const auto& perm = schur_.perm();
    long off = static_cast<long>(nl1_) * k1_ * k1_;
    b_off_.resize(nl1_);
    for (int j = 0; j < nl1_; ++j) {
        auto& rr = rows_[j];
        for (int& r : rr) r = perm[r];
        std::sort(rr.begin(), rr.end());
        b_off_[j] = off;
        off += static_cast<long>(rr.size()) * k1_;
    }
    c_off_ = off;
    // Strips of S columns of ~512 KB (a fraction of L2) for the Schur
    // update in factorize(), and per strip the levels whose rows meet it.
    const int width = std::max(8, (1 << 16) / std::max(q2_, 1));
    std::vector<int> cursor(nl1_, 0);
    for (int c0 = 0; c0 < q2_; c0 += width) {
        const int c1 = std::min(q2_, c0 + width);
        strip_begin_.push_back(static_cast<int>(strip_levels_.size()));
        for (int j = 0; j < nl1_; ++j) {
            const auto& rr = rows_[j];
            int a1 = cursor[j];
            while (a1 < static_cast<int>(rr.size()) && rr[a1] < c1) ++a1;
            if (a1 > cursor[j]) strip_levels_.push_back({j, cursor[j], a1});
            cursor[j] = a1;
        }
    }
    strip_begin_.push_back(static_cast<int>(strip_levels_.size()));
    for (const auto& rr : rows_) schur_work_ += static_cast<long>(rr.size()) * (rr.size() + 1) / 2 * k1_;
    vals_.assign(static_cast<size_t>(off) + static_cast<size_t>(q2_) * q2_, 0.0);
    LD_.assign(static_cast<size_t>(nl1_) * k1_ * k1_, 0.0);
    W_.assign(static_cast<size_t>(c_off_ - static_cast<long>(nl1_) * k1_ * k1_), 0.0);
}

std::vector<std::vector<int>> BlockedFactor::schur_pattern(const std::vector<std::pair<int, int>>& pairs) const {
    // S's pattern is C's plus a clique per level of term 1 (its rows of
    // B): marking the cliques costs sum |rows|^2, worth it only while that
    // is a few times q2^2 (beyond, S is dense anyway).  The marks are
    // counted as they are set (one bit per entry of the strict lower
    // triangle): once so many are set that PanelCholesky would keep the
    // dense LLT whatever the rest (crossed terms fill S after a few
    // levels), marking stops and no per-column lists are built.
    double work = 0.0;
    for (const auto& rr : rows_) work += static_cast<double>(rr.size()) * rr.size();
    if (q2_ == 0 || work > 16.0 * q2_ * q2_ || PanelCholesky::dense_by_count(q2_, 0.0)) return {};
    const long n = q2_;
    std::vector<uint64_t> bits((n * n + 63) / 64, 0);  // (r > c) at bit c * n + r
    // The least count of marks that settles "dense" (beyond all of them: none does).
    long lo = 0, dense_at = n * (n - 1) / 2 + 1;
    while (dense_at - lo > 1) {
        const long mid = lo + (dense_at - lo) / 2;
        (PanelCholesky::dense_by_count(q2_, static_cast<double>(mid)) ? dense_at : lo) = mid;
    }
    long marked = 0;
    auto mark = [&](long r, long c) {
        if (r < c) std::swap(r, c);
        const long b = c * n + r;
        const uint64_t bit = uint64_t{1} << (b & 63);
        marked += (bits[b >> 6] & bit) == 0;
        bits[b >> 6] |= bit;
    };
    for (const auto& rc : pairs)
        if (rc.second >= q1_ && rc.first != rc.second) mark(rc.first - q1_, rc.second - q1_);
    for (const auto& rr : rows_) {
        for (size_t b = 0; b < rr.size(); ++b)
            for (size_t a = b + 1; a < rr.size(); ++a) mark(rr[a], rr[b]);
        if (marked >= dense_at) return {};
    }
    std::vector<std::vector<int>> lower(q2_);
    for (long c = 0; c < n; ++c)
        for (long r = c + 1; r < n; ++r)
            if (bits[(c * n + r) >> 6] >> ((c * n + r) & 63) & 1) lower[c].push_back(static_cast<int>(r));
    return lower;
}

double BlockedFactor::schur_density(int q, int k1, int nlevels1, const std::vector<std::pair<int, int>>& pairs) {
    const int q1 = k1 * nlevels1;
    const double q2 = q - q1;
    if (q2 <= 0) return 1.0;
    std::vector<double> rows(nlevels1, 0.0);  // pairs (r >= q1, c < q1) are unique: count per level
    for (const auto& rc : pairs)
        if (rc.first >= q1 && rc.second < q1) rows[rc.second / k1] += 1.0 / k1;
    double f = 0.0;
    for (double m : rows) f += m * m;
    return f / (q2 * q2);
}

int BlockedFactor::position(int r, int c) const {
    if (r < c) std::swap(r, c);
    if (r < q1_) {  // diagonal block of level r / k1
        const int j = r / k1_;
        return j * k1_ * k1_ + (c % k1_) * k1_ + (r % k1_);
    }
    const int pr = schur_.perm()[r - q1_];
    if (c < q1_) {  // B: row r - q1 in level c / k1's block, column c % k1
        const int j = c / k1_;
        const auto& rr = rows_[j];
        const auto it = std::lower_bound(rr.begin(), rr.end(), pr);
        if (it == rr.end() || *it != pr) throw std::logic_error("pair outside the analysed pattern");
        return static_cast<int>(b_off_[j] + static_cast<long>(c % k1_) * rr.size() + (it - rr.begin()));
    }
    const int pc = schur_.perm()[c - q1_];
    return static_cast<int>(c_off_ + static_cast<long>(std::min(pr, pc)) * q2_ + std::max(pr, pc));
}

bool BlockedFactor::factorize() {
    using Mat = Eigen::Map<Eigen::MatrixXd>;
    const long d0 = static_cast<long>(nl1_) * k1_ * k1_;
    have_sinv_ = have_selected_sinv_ = false;  // from here on S^{-1} is stale (even if interrupted)
    // Levels of term 1 are independent: L_j and W_j = B_j L_j^{-T}.
    std::atomic<bool> positive{true};
    parallel_for(nl1_, static_cast<long>(W_.size()) * k1_, [&](int j0, int j1) {
        for (int j = j0; j < j1; ++j) {
            Mat D(vals_.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_);
            Mat L(LD_.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_);
            if (k1_ == 1) {
                if (!(D(0, 0) > 0)) {
                    positive = false;
                    return;
                }
                L(0, 0) = std::sqrt(D(0, 0));
            } else {
                Eigen::LLT<Eigen::MatrixXd> llt(D.selfadjointView<Eigen::Lower>());
                if (llt.info() != Eigen::Success) {
                    positive = false;
                    return;
                }
                L = llt.matrixL();
            }
            const int m = static_cast<int>(rows_[j].size());
            if (m == 0) continue;
            Mat B(vals_.data() + b_off_[j], m, k1_);
            Mat Wj(W_.data() + (b_off_[j] - d0), m, k1_);
            Wj = L.triangularView<Eigen::Lower>().solve(B.transpose()).transpose();
        }
    });
    if (!positive) return false;
    // S = C - sum_j W_j W_j' over the rows rr_j of each level (lower
    // triangle): the hot loop of large crossed models, sum_j |rr_j|^2 / 2
    // scattered updates.  Level by level they would land all over S
    // (megabytes); instead S is updated strip by strip (strip_start_: runs
    // of columns that fit in L2), each strip taking from the levels that
    // meet it (strip_levels_) the updates of its columns.
    // Strips write disjoint columns, so they run in parallel; strip i of
    // the visiting order alternates from the two ends (the lower triangle
    // makes the first columns the heaviest), balancing contiguous halves.
    double* Sd = vals_.data() + c_off_;  // S is formed and factorised in place
    const int nstrips = static_cast<int>(strip_begin_.size()) - 1;
    parallel_for(nstrips, schur_work_, [&](int i0, int i1) {
        for (int i = i0; i < i1; ++i) {
            check_interrupt();
            const int strip = alternate_ends(i, nstrips);
            for (int e = strip_begin_[strip]; e < strip_begin_[strip + 1]; ++e) {
                const StripLevel& sl = strip_levels_[e];
                const int* rr = rows_[sl.level].data();
                const int m = static_cast<int>(rows_[sl.level].size());
                const double* w = W_.data() + (b_off_[sl.level] - d0);
                if (k1_ == 1) {
                    schur_update_columns(Sd, q2_, rr, w, m, sl.first, sl.last);
                    continue;
                }
                for (int a = sl.first; a < sl.last; ++a) {
                    double* col = Sd + static_cast<long>(rr[a]) * q2_;
                    for (int t = a; t < m; ++t) {
                        double dot = 0.0;
                        for (int k = 0; k < k1_; ++k)
                            dot += w[t + static_cast<long>(k) * m] * w[a + static_cast<long>(k) * m];
                        col[rr[t]] -= dot;
                    }
                }
            }
        }
    });
    return q2_ == 0 || schur_.factorize(Sd, q2_);
}

Eigen::MatrixXd BlockedFactor::solve_L(const Eigen::MatrixXd& Bm) const {
    const long d0 = static_cast<long>(nl1_) * k1_ * k1_;
    const auto& perm = schur_.perm();
    Eigen::MatrixXd Y(q_, Bm.cols());
    Eigen::MatrixXd r2(q2_, Bm.cols());  // permuted
    for (int i = 0; i < q2_; ++i) r2.row(perm[i]) = Bm.row(q1_ + i);
    for (int j = 0; j < nl1_; ++j) {
        Eigen::Map<const Eigen::MatrixXd> L(LD_.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_);
        Y.middleRows(j * k1_, k1_) = L.triangularView<Eigen::Lower>().solve(Bm.middleRows(j * k1_, k1_));
        const auto& rr = rows_[j];
        const int m = static_cast<int>(rr.size());
        if (m == 0) continue;
        Eigen::Map<const Eigen::MatrixXd> Wj(W_.data() + (b_off_[j] - d0), m, k1_);
        const Eigen::MatrixXd contrib = Wj * Y.middleRows(j * k1_, k1_);
        for (int a = 0; a < m; ++a) r2.row(rr[a]) -= contrib.row(a);
    }
    if (q2_ > 0) {
        LS().triangularView<Eigen::Lower>().solveInPlace(r2);
        Y.bottomRows(q2_) = r2;
    }
    return Y;
}

Eigen::MatrixXd BlockedFactor::solve_Lt(const Eigen::MatrixXd& Cm) const {
    const long d0 = static_cast<long>(nl1_) * k1_ * k1_;
    Eigen::MatrixXd X(q_, Cm.cols());
    Eigen::MatrixXd x2 = Cm.bottomRows(q2_);  // permuted
    if (q2_ > 0) {
        LS().transpose().triangularView<Eigen::Upper>().solveInPlace(x2);
        const auto& perm = schur_.perm();
        for (int i = 0; i < q2_; ++i) X.row(q1_ + i) = x2.row(perm[i]);
    }
    for (int j = 0; j < nl1_; ++j) {
        Eigen::Map<const Eigen::MatrixXd> L(LD_.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_);
        Eigen::MatrixXd rhs = Cm.middleRows(j * k1_, k1_);
        const auto& rr = rows_[j];
        const int m = static_cast<int>(rr.size());
        if (m > 0) {
            Eigen::Map<const Eigen::MatrixXd> Wj(W_.data() + (b_off_[j] - d0), m, k1_);
            Eigen::MatrixXd xs(m, Cm.cols());
            for (int a = 0; a < m; ++a) xs.row(a) = x2.row(rr[a]);
            rhs.noalias() -= Wj.transpose() * xs;
        }
        X.middleRows(j * k1_, k1_) = L.transpose().triangularView<Eigen::Upper>().solve(rhs);
    }
    return X;
}

double BlockedFactor::log_det() const {
    double s = 0.0;
    for (int j = 0; j < nl1_; ++j)
        for (int a = 0; a < k1_; ++a) s += std::log(LD_[static_cast<long>(j) * k1_ * k1_ + a * k1_ + a]);
    if (q2_ > 0) s += LS().diagonal().array().log().sum();
    return 2.0 * s;
}

// [A^{-1}] blocks without q solves: with W = B L_D^{-T},
//   [A^{-1}]_22 = S^{-1},
//   [A^{-1}]_jj = L_j^{-T} (I + W_j' S^{-1}[rr, rr] W_j) L_j^{-1}   (level j of term 1).
// S^{-1} is formed in C's strict upper triangle, where the factorisation
// left L_S' by a transposed copy (the diagonal, shared with L_S, goes to
// Sinv_diag_ after): peak memory is the factor's alone, where a separate
// S^{-1} (and L_S^{-1} while forming it) would double or triple it (10^4
// Schur columns: 800 MB each).
void BlockedFactor::form_schur_inverse() const {
    if (q2_ == 0 || have_sinv_) return;
    double* C = vals_.data() + c_off_;
    const long n = q2_;
    Eigen::VectorXd diag(q2_);
    for (long j = 0; j < n; ++j) diag[j] = C[j * n + j];
    constexpr long kTile = 64;  // the transposed copy by tiles: both sides stay in cache
    for (long c0 = 0; c0 < n; c0 += kTile)
        for (long r0 = c0; r0 < n; r0 += kTile)
            for (long c = c0; c < std::min(n, c0 + kTile); ++c)
                for (long r = std::max(r0, c + 1); r < std::min(n, r0 + kTile); ++r) C[r * n + c] = C[c * n + r];
    cholesky_inverse_in_place(C, n, q2_, true);
    Sinv_diag_.resize(q2_);
    for (long j = 0; j < n; ++j) {
        Sinv_diag_[j] = C[j * n + j];
        C[j * n + j] = diag[j];
    }
    have_sinv_ = have_selected_sinv_ = true;
}

// A panel factor (sparse L_S) needs S^{-1} only on its panels' pattern,
// which holds every rows x rows block of B that selected_inverse() reads
// (S = C - B D^{-1} B' has them, so L_S does): the supernodal selected
// inversion at the factorisation's cost, where the dense S^{-1} costs
// several factorisations (InstEval: ~5x).  It is formed in place where the
// dense one is kept (C's strict upper triangle, Sinv_diag_); the entries
// off the panels' pattern keep the zeros the caller filled C with.
void BlockedFactor::form_schur_selected_inverse() const {
    if (q2_ == 0 || have_selected_sinv_) return;
    if (schur_.npanels() <= 1) return form_schur_inverse();
    Sinv_diag_.resize(q2_);
    schur_.selected_inverse(vals_.data() + c_off_, q2_, Sinv_diag_.data());
    have_selected_sinv_ = true;
}

Eigen::MatrixXd BlockedFactor::inverse_block(int start, int size) const {
    if (start < 0 || size < 0 || start + size > q_) throw std::out_of_range("inverse_block out of range");
    form_schur_inverse();
    if (start >= q1_) {
        const auto& perm = schur_.perm();
        Eigen::MatrixXd out(size, size);
        for (int b = 0; b < size; ++b)
            for (int a = 0; a < size; ++a) out(a, b) = schur_inverse(perm[start - q1_ + a], perm[start - q1_ + b]);
        return out;
    }
    if (start % k1_ != 0 || size != k1_) throw std::invalid_argument("inverse_block must be one level's block");
    const int j = start / k1_;
    const long d0 = static_cast<long>(nl1_) * k1_ * k1_;
    Eigen::Map<const Eigen::MatrixXd> L(LD_.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_);
    Eigen::MatrixXd M = Eigen::MatrixXd::Identity(k1_, k1_);
    const auto& rr = rows_[j];
    const int m = static_cast<int>(rr.size());
    if (m > 0) {
        Eigen::Map<const Eigen::MatrixXd> Wj(W_.data() + (b_off_[j] - d0), m, k1_);
        Eigen::MatrixXd Ssub(m, m);
        for (int b = 0; b < m; ++b)
            for (int a = 0; a < m; ++a) Ssub(a, b) = schur_inverse(rr[a], rr[b]);
        M.noalias() += Wj.transpose() * Ssub * Wj;
    }
    const Eigen::MatrixXd Linv = L.triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(k1_, k1_));
    return Linv.transpose() * M * Linv;
}

// A^{-1} on the levels' part of A's pattern, block by block: with
// Y_j = S^{-1}[rr, rr] W_j,
//   [A^{-1}]_jj = L_j^{-T} (I + W_j' Y_j) L_j^{-1},
//   [A^{-1}]_{rr, j} = -S^{-1} B D^{-1} on rows rr = -Y_j L_j^{-1}   (B D^{-1} = W L_D^{-1}).
// Y_j reads S^{-1}[rr, rr] from its upper triangle once per pair
// (rr sorted: rr[a] < rr[b] for a < b) and serves both rows of the pair.
Eigen::VectorXd BlockedFactor::selected_inverse_levels() const {
    Eigen::VectorXd out = Eigen::VectorXd::Zero(c_off_);
    const long d0 = static_cast<long>(nl1_) * k1_ * k1_;
    const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(k1_, k1_);
    const double* C = vals_.data() + c_off_;
    parallel_for(nl1_, 2 * schur_work_, [&](int j0, int j1) {  // levels write disjoint blocks
        for (int j = j0; j < j1; ++j) {
            if ((j & 63) == 0) check_interrupt();
            Eigen::Map<const Eigen::MatrixXd> L(LD_.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_);
            const Eigen::MatrixXd Linv = L.triangularView<Eigen::Lower>().solve(I);
            Eigen::MatrixXd M = I;
            const auto& rr = rows_[j];
            const int m = static_cast<int>(rr.size());
            if (m > 0) {
                Eigen::Map<const Eigen::MatrixXd> Wj(W_.data() + (b_off_[j] - d0), m, k1_);
                Eigen::MatrixXd Y = Eigen::MatrixXd::Zero(m, k1_);
                if (k1_ == 1) {
                    sinv_times_level(C, q2_, Sinv_diag_.data(), rr.data(), Wj.data(), m, Y.data());
                } else {
                    for (int b = 0; b < m; ++b) {
                        const double* scol = C + static_cast<long>(rr[b]) * q2_;  // S^{-1}[rr[a], rr[b]], a < b
                        for (int k = 0; k < k1_; ++k) Y(b, k) += Sinv_diag_[rr[b]] * Wj(b, k);
                        for (int a = 0; a < b; ++a) {
                            const double s = scol[rr[a]];
                            for (int k = 0; k < k1_; ++k) {
                                Y(a, k) += s * Wj(b, k);
                                Y(b, k) += s * Wj(a, k);
                            }
                        }
                    }
                }
                M.noalias() += Wj.transpose() * Y;
                Eigen::Map<Eigen::MatrixXd>(out.data() + b_off_[j], m, k1_) = -Y * Linv;
            }
            Eigen::Map<Eigen::MatrixXd>(out.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_) =
                Linv.transpose() * M * Linv;
        }
    });
    return out;
}

// A^{-1} on A's pattern: the levels' blocks, then [A^{-1}]_22 = S^{-1}
// (its entries on the pattern of L_S: form_schur_selected_inverse).
Eigen::VectorXd BlockedFactor::selected_inverse() const {
    form_schur_selected_inverse();
    Eigen::VectorXd out(static_cast<Eigen::Index>(vals_.size()));
    out.head(c_off_) = selected_inverse_levels();
    for (int c = 0; c < q2_; ++c)
        for (int r = 0; r < q2_; ++r) out[c_off_ + static_cast<long>(c) * q2_ + r] = schur_inverse(r, c);
    return out;
}

Eigen::VectorXd BlockedFactor::selected_inverse_at(const std::vector<int>& positions) const {
    form_schur_selected_inverse();
    const Eigen::VectorXd levels = selected_inverse_levels();
    Eigen::VectorXd out(static_cast<Eigen::Index>(positions.size()));
    for (size_t k = 0; k < positions.size(); ++k) {
        const long p = positions[k];
        out[static_cast<Eigen::Index>(k)] =
            p < c_off_ ? levels[p] : schur_inverse(static_cast<int>((p - c_off_) % q2_), static_cast<int>((p - c_off_) / q2_));
    }
    return out;
}

}  // namespace glmmfast
