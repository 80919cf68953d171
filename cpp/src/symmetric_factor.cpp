// symmetric_factor.cpp — sparse and blocked Cholesky of A = U'WU + I (see
// symmetric_factor.hpp).
#include "symmetric_factor.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace glmmfast {

Eigen::MatrixXd SymmetricFactor::inverse_block(int start, int size) const {
    if (start < 0 || size < 0 || start + size > dim()) throw std::out_of_range("inverse_block out of range");
    Eigen::MatrixXd E = Eigen::MatrixXd::Zero(dim(), size);
    for (int j = 0; j < size; ++j) E(start + j, j) = 1.0;
    return solve(E).block(start, 0, size, size);
}

Eigen::VectorXd SymmetricFactor::selected_inverse() const {
    throw std::logic_error("this factorisation has no selected inverse");
}

// ---------------------------------------------------------------- sparse --

SparseFactor::SparseFactor(int q, const std::vector<std::pair<int, int>>& pairs) {
    // The symmetric pattern chooses the fill-reducing ordering; the permuted
    // lower triangle is what gets filled and factorised.
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
// graph), so the cost is that of a factorisation times a binary search.
Eigen::VectorXd SparseFactor::selected_inverse() const {
    const SpMat& L = chol_.matrixL().nestedExpression();
    const int n = static_cast<int>(L.cols());
    const int* Lp = L.outerIndexPtr();
    const int* Li = L.innerIndexPtr();
    const double* Lx = L.valuePtr();
    auto find = [&](int r, int c) {  // position of (r, c), r >= c, in L's pattern
        const int* it = std::lower_bound(Li + Lp[c], Li + Lp[c + 1], r);
        return static_cast<int>(it - Li);
    };
    if (a_in_l_.empty()) {
        a_in_l_.resize(A_.nonZeros());
        for (int c = 0; c < n; ++c)
            for (int p = A_.outerIndexPtr()[c]; p < A_.outerIndexPtr()[c + 1]; ++p)
                a_in_l_[p] = find(A_.innerIndexPtr()[p], c);
    }
    sel_l_.resize(L.nonZeros());
    double* Z = sel_l_.data();
    for (int j = n - 1; j >= 0; --j) {
        const int d = Lp[j], end = Lp[j + 1];
        const double ljj = Lx[d];
        for (int a = end - 1; a > d; --a) {
            const int i = Li[a];
            double s = 0.0;
            for (int b = d + 1; b < end; ++b) {
                const int k = Li[b];
                s += Lx[b] * Z[k >= i ? find(k, i) : find(i, k)];
            }
            Z[a] = -s / ljj;
        }
        double s = 0.0;
        for (int b = d + 1; b < end; ++b) s += Lx[b] * Z[b];
        Z[d] = 1.0 / (ljj * ljj) - s / ljj;
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
    long off = static_cast<long>(nl1_) * k1_ * k1_;
    b_off_.resize(nl1_);
    for (int j = 0; j < nl1_; ++j) {
        auto& rr = rows_[j];
        std::sort(rr.begin(), rr.end());
        rr.erase(std::unique(rr.begin(), rr.end()), rr.end());
        b_off_[j] = off;
        off += static_cast<long>(rr.size()) * k1_;
    }
    c_off_ = off;
    vals_.assign(static_cast<size_t>(off) + static_cast<size_t>(q2_) * q2_, 0.0);
    LD_.assign(static_cast<size_t>(nl1_) * k1_ * k1_, 0.0);
    W_.assign(static_cast<size_t>(c_off_ - static_cast<long>(nl1_) * k1_ * k1_), 0.0);
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
    if (c < q1_) {  // B: row r - q1 in level c / k1's block, column c % k1
        const int j = c / k1_;
        const auto& rr = rows_[j];
        const auto it = std::lower_bound(rr.begin(), rr.end(), r - q1_);
        if (it == rr.end() || *it != r - q1_) throw std::logic_error("pair outside the analysed pattern");
        return static_cast<int>(b_off_[j] + static_cast<long>(c % k1_) * rr.size() + (it - rr.begin()));
    }
    return static_cast<int>(c_off_ + static_cast<long>(c - q1_) * q2_ + (r - q1_));
}

bool BlockedFactor::factorize() {
    using Mat = Eigen::Map<Eigen::MatrixXd>;
    const long d0 = static_cast<long>(nl1_) * k1_ * k1_;
    Eigen::MatrixXd S = Eigen::Map<Eigen::MatrixXd>(vals_.data() + c_off_, q2_, q2_);
    for (int j = 0; j < nl1_; ++j) {
        Mat D(vals_.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_);
        Mat L(LD_.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_);
        if (k1_ == 1) {
            if (!(D(0, 0) > 0)) return false;
            L(0, 0) = std::sqrt(D(0, 0));
        } else {
            Eigen::LLT<Eigen::MatrixXd> llt(D.selfadjointView<Eigen::Lower>());
            if (llt.info() != Eigen::Success) return false;
            L = llt.matrixL();
        }
        const auto& rr = rows_[j];
        const int m = static_cast<int>(rr.size());
        if (m == 0) continue;
        Mat B(vals_.data() + b_off_[j], m, k1_);
        Mat Wj(W_.data() + (b_off_[j] - d0), m, k1_);
        // W_j = B_j L_j^{-T};  S[rr, rr] -= W_j W_j' (lower triangle).  This
        // is the hot loop of large crossed models: raw column pointers.
        Wj = L.triangularView<Eigen::Lower>().solve(B.transpose()).transpose();
        double* Sd = S.data();
        const double* w = Wj.data();
        for (int b = 0; b < m; ++b) {
            double* col = Sd + static_cast<long>(rr[b]) * q2_;
            for (int a = b; a < m; ++a) {
                double dot = 0.0;
                for (int c = 0; c < k1_; ++c) dot += w[a + static_cast<long>(c) * m] * w[b + static_cast<long>(c) * m];
                col[rr[a]] -= dot;
            }
        }
    }
    have_sinv_ = false;
    if (q2_ == 0) return true;
    llt_S_.compute(S);  // reads the lower triangle
    return llt_S_.info() == Eigen::Success;
}

Eigen::MatrixXd BlockedFactor::solve_L(const Eigen::MatrixXd& Bm) const {
    const long d0 = static_cast<long>(nl1_) * k1_ * k1_;
    Eigen::MatrixXd Y(q_, Bm.cols());
    Eigen::MatrixXd r2 = Bm.bottomRows(q2_);
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
    if (q2_ > 0) Y.bottomRows(q2_) = llt_S_.matrixL().solve(r2);
    return Y;
}

Eigen::MatrixXd BlockedFactor::solve_Lt(const Eigen::MatrixXd& Cm) const {
    const long d0 = static_cast<long>(nl1_) * k1_ * k1_;
    Eigen::MatrixXd X(q_, Cm.cols());
    if (q2_ > 0) X.bottomRows(q2_) = llt_S_.matrixU().solve(Cm.bottomRows(q2_));
    for (int j = 0; j < nl1_; ++j) {
        Eigen::Map<const Eigen::MatrixXd> L(LD_.data() + static_cast<long>(j) * k1_ * k1_, k1_, k1_);
        Eigen::MatrixXd rhs = Cm.middleRows(j * k1_, k1_);
        const auto& rr = rows_[j];
        const int m = static_cast<int>(rr.size());
        if (m > 0) {
            Eigen::Map<const Eigen::MatrixXd> Wj(W_.data() + (b_off_[j] - d0), m, k1_);
            Eigen::MatrixXd x2(m, Cm.cols());
            for (int a = 0; a < m; ++a) x2.row(a) = X.row(q1_ + rr[a]);
            rhs.noalias() -= Wj.transpose() * x2;
        }
        X.middleRows(j * k1_, k1_) = L.transpose().triangularView<Eigen::Upper>().solve(rhs);
    }
    return X;
}

double BlockedFactor::log_det() const {
    double s = 0.0;
    for (int j = 0; j < nl1_; ++j)
        for (int a = 0; a < k1_; ++a) s += std::log(LD_[static_cast<long>(j) * k1_ * k1_ + a * k1_ + a]);
    if (q2_ > 0) s += llt_S_.matrixLLT().diagonal().array().log().sum();
    return 2.0 * s;
}

// [A^{-1}] blocks without q solves: with W = B L_D^{-T},
//   [A^{-1}]_22 = S^{-1},
//   [A^{-1}]_jj = L_j^{-T} (I + W_j' S^{-1}[rr, rr] W_j) L_j^{-1}   (level j of term 1).
Eigen::MatrixXd BlockedFactor::inverse_block(int start, int size) const {
    if (start < 0 || size < 0 || start + size > q_) throw std::out_of_range("inverse_block out of range");
    if (q2_ > 0 && !have_sinv_) {
        Sinv_ = llt_S_.solve(Eigen::MatrixXd::Identity(q2_, q2_));
        have_sinv_ = true;
    }
    if (start >= q1_) return Sinv_.block(start - q1_, start - q1_, size, size);
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
        for (int a = 0; a < m; ++a)
            for (int b = 0; b < m; ++b) Ssub(a, b) = Sinv_(rr[a], rr[b]);
        M.noalias() += Wj.transpose() * Ssub * Wj;
    }
    const Eigen::MatrixXd Linv = L.triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(k1_, k1_));
    return Linv.transpose() * M * Linv;
}

}  // namespace glmmfast
