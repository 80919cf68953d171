// block_diagonal_factor.cpp — the factor of a block-diagonal A, one k x k
// block per level (see block_diagonal_factor.hpp).
#include "linalg/block_diagonal_factor.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "linalg/small_block_size.hpp"

namespace glmmfast {

namespace {

// The per-level kernels take k as block_size(K, k_run): a constant for the small blocks (with_block_size).
// x <- L^{-1} x for one level's k x k lower triangle L (column-major):
// x_i = (x_i - sum_{p<i} L_ip x_p) / L_ii.
template <int K>
void solve_lower(const double* L, int k_run, double* x) {
    const int k = block_size(std::integral_constant<int, K>{}, k_run);
    for (int i = 0; i < k; ++i) {
        double s = x[i];
        for (int p = 0; p < i; ++p) s -= L[p * k + i] * x[p];
        x[i] = s / L[i * k + i];
    }
}

// x <- L^{-T} x: x_i = (x_i - sum_{p>i} L_pi x_p) / L_ii.
template <int K>
void solve_upper(const double* L, int k_run, double* x) {
    const int k = block_size(std::integral_constant<int, K>{}, k_run);
    for (int i = k - 1; i >= 0; --i) {
        double s = x[i];
        for (int p = i + 1; p < k; ++p) s -= L[i * k + p] * x[p];
        x[i] = s / L[i * k + i];
    }
}

}  // namespace

BlockDiagonalFactor::BlockDiagonalFactor(int k, int nlevels)
    : k_(k), nlevels_(nlevels), A_(static_cast<size_t>(k) * k * nlevels, 0.0), L_(A_.size(), 0.0) {
    if (k < 1 || nlevels < 0) throw std::invalid_argument("BlockDiagonalFactor: k >= 1 and nlevels >= 0");
    for (int j = 0; j < dim(); ++j) A_[static_cast<size_t>(position(j, j))] = 1.0;
    L_ = A_;
}

bool BlockDiagonalFactor::fits(int k, const std::vector<std::pair<int, int>>& pairs) {
    return k >= 1 && std::all_of(pairs.begin(), pairs.end(),
                                 [k](const std::pair<int, int>& rc) { return rc.first / k == rc.second / k; });
}

int BlockDiagonalFactor::position(int r0, int c0) const {
    // Either order, as SparseFactor's (inverse blocks read both triangles).
    const int r = std::max(r0, c0), c = std::min(r0, c0);
    if (c < 0 || r >= dim() || r / k_ != c / k_) throw std::logic_error("pair outside the analysed pattern");
    const int level = r / k_;
    return (level * k_ + c % k_) * k_ + r % k_;
}

bool BlockDiagonalFactor::factorize() {
    // Per level the column-by-column LLT: L_jj = sqrt(A_jj - sum_p L_jp^2),
    // L_ij = (A_ij - sum_p L_ip L_jp) / L_jj (i > j, p < j); a pivot that is
    // not positive fails, as the simplicial LLT's.
    return with_block_size(k_, [&](auto K) {
        const int k = block_size(K, k_);
        for (int l = 0; l < nlevels_; ++l) {
            const double* a = A_.data() + static_cast<size_t>(l) * k * k;
            double* L = L_.data() + static_cast<size_t>(l) * k * k;
            for (int j = 0; j < k; ++j) {
                double d = a[j * k + j];
                for (int p = 0; p < j; ++p) d -= L[p * k + j] * L[p * k + j];
                if (!(d > 0.0)) return false;
                const double ljj = std::sqrt(d);
                L[j * k + j] = ljj;
                for (int i = j + 1; i < k; ++i) {
                    double s = a[j * k + i];
                    for (int p = 0; p < j; ++p) s -= L[p * k + i] * L[p * k + j];
                    L[j * k + i] = s / ljj;
                }
            }
        }
        return true;
    });
}

Eigen::MatrixXd BlockDiagonalFactor::solve_L(const Eigen::MatrixXd& B) const { return solve_levels(B, false); }

Eigen::MatrixXd BlockDiagonalFactor::solve_Lt(const Eigen::MatrixXd& B) const { return solve_levels(B, true); }

Eigen::MatrixXd BlockDiagonalFactor::solve_levels(const Eigen::MatrixXd& B, bool transposed) const {
    if (B.rows() != dim()) throw std::invalid_argument("solve_L/solve_Lt: B has the wrong number of rows");
    Eigen::MatrixXd X = B;
    const size_t kk = static_cast<size_t>(k_) * k_;
    with_block_size(k_, [&](auto K) {
        constexpr int KS = decltype(K)::value;
        for (Eigen::Index c = 0; c < X.cols(); ++c)
            for (int l = 0; l < nlevels_; ++l) {
                double* x = X.col(c).data() + static_cast<long>(l) * k_;
                if (transposed) solve_upper<KS>(L_.data() + l * kk, k_, x);
                else solve_lower<KS>(L_.data() + l * kk, k_, x);
            }
    });
    return X;
}

double BlockDiagonalFactor::log_det() const {
    double s = 0.0;
    for (int l = 0; l < nlevels_; ++l)
        for (int j = 0; j < k_; ++j) s += std::log(L_[(static_cast<size_t>(l) * k_ + j) * k_ + j]);
    return 2.0 * s;
}

void BlockDiagonalFactor::level_inverse(int level, double* out) const {
    // Column j of A_l^{-1} = L_l^{-T} (L_l^{-1} e_j).
    with_block_size(k_, [&](auto K) {
        constexpr int KS = decltype(K)::value;
        const int k = block_size(K, k_);
        const double* L = L_.data() + static_cast<size_t>(level) * k * k;
        std::fill(out, out + k * k, 0.0);
        for (int j = 0; j < k; ++j) {
            out[j * k + j] = 1.0;
            solve_lower<KS>(L, k, out + j * k);
            solve_upper<KS>(L, k, out + j * k);
        }
    });
}

Eigen::MatrixXd BlockDiagonalFactor::inverse_block(int start, int size) const {
    if (start < 0 || size < 0 || start + size > dim()) throw std::out_of_range("inverse_block out of range");
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(size, size);
    std::vector<double> inv(static_cast<size_t>(k_) * k_);
    for (int a0 = 0; a0 < size;) {
        // The rows of one level within [start, start + size).
        const int level = (start + a0) / k_, first = level * k_;
        const int a1 = std::min(size, first + k_ - start);
        level_inverse(level, inv.data());
        for (int b = a0; b < a1; ++b)
            for (int a = a0; a < a1; ++a) out(a, b) = inv[(start + b - first) * k_ + (start + a - first)];
        a0 = a1;
    }
    return out;
}

Eigen::VectorXd BlockDiagonalFactor::selected_inverse() const {
    Eigen::VectorXd out(static_cast<Eigen::Index>(A_.size()));
    for (int l = 0; l < nlevels_; ++l) level_inverse(l, out.data() + static_cast<long>(l) * k_ * k_);
    return out;
}

}  // namespace glmmfast
