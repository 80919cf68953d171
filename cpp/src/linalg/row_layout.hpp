// row_layout.hpp — the rows of U = Z Lambda(theta), one short dense row per
// observation.
//
// Interface: `RowLayout` is built from Z (CSC, q columns) and the
// random-effects term shapes.  Every row of Z touches exactly one level of
// each term, so row i of U is, per term t, the k_t-vector z_it' T_t placed in
// the block of its level.  The layout stores those rows densely (n x K,
// K = sum k_t) with the u-index of each entry (-1: the row has no level in
// that term), and offers
//   set_theta(theta)   U's values from Z's and Lambda(theta)'s T_t;
//   U_times, add_U_times (out += U u), Ut_times, WUt_times   products with U
//                      (W^{1/2} given);
//   Z_times            Z v (needs no theta: U u = Z (Lambda u));
//   pairs()            the lower-triangle pattern of U'WU (r >= c, sorted,
//                      unique) the rows touch (and where each run of rows'
//                      pairs sit in it);
//   scatter_table(position) and scatter_UtWU   the per-row positions of
//                      U'WU's entries in some value array and the sum
//                      x[pos] += w_i u_ia u_ib over rows (O(n K^2)).
// PenalizedSystem (one process holding all rows) and RowBlock (one
// partition of the rows, model/row_block.hpp) both build on it.
#pragma once

#include <Eigen/Core>
#include <type_traits>
#include <utility>
#include <vector>

#include "covariance/lambda_map.hpp"

namespace glmmfast {

class RowLayout {
public:
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

    RowLayout(const SpMat& Z, const std::vector<TermShape>& terms);

    int n() const { return n_; }
    int q() const { return lambda_.q(); }
    int K() const { return K_; }
    const LambdaMap& lambda() const { return lambda_; }
    void set_theta(const Eigen::VectorXd& theta);

    // Observation i's first u-index in term t (-1: none), Z's and U's value
    // in column c (< K) of the row, and term t's first column in a row.
    int level_start(int i, int t) const { return start_(i, t); }
    double z_value(int i, int c) const { return zrows_(i, c); }
    double u_value(int i, int c) const { return urows_(i, c); }
    int term_column(int t) const { return term_col_[t]; }
    const int* columns(int i) const { return ucol_.data() + static_cast<size_t>(i) * K_; }
    // Whether row i (> 0) is in the same levels as row i - 1 (rows sorted by group mostly are): a loop over
    // the row's K u-indices, inline (std::equal's memcmp call cost more than the row's work).
    bool same_levels_as_previous(int i) const {
        const int *a = columns(i), *b = a - K_;
        for (int c = 0; c < K_; ++c)
            if (a[c] != b[c]) return false;
        return true;
    }
    const double* u_row(int i) const { return urows_.data() + static_cast<size_t>(i) * K_; }

    Eigen::VectorXd U_times(const Eigen::VectorXd& u) const;
    // out += U u (out: n entries), without a temporary.
    void add_U_times(const Eigen::VectorXd& u, Eigen::Ref<Eigen::VectorXd> out) const;
    Eigen::VectorXd Z_times(const Eigen::VectorXd& v) const;
    Eigen::VectorXd Ut_times(const Eigen::VectorXd& v) const;
    // (W^{1/2} U)' M.
    Eigen::MatrixXd WUt_times(const Eigen::MatrixXd& M, const Eigen::VectorXd& sqrtw) const;

    // run_positions (optional): per run of rows in the same levels (in row order) and pair (a >= b) of the
    // run's columns with levels in both, the pair's position in the result (what a sum over rows of
    // the pairs' values scatters into, without looking a position up: model/lmm_model.cpp).
    std::vector<std::pair<int, int>> pairs(std::vector<int>* run_positions = nullptr) const;
    // Per row, K(K+1)/2 entries (a >= b over the row's columns): position(r, c)
    // (r >= c) of the pair, or -1 where the row has no level.
    template <class Position>
    std::vector<int> scatter_table(Position position) const {
        const int P = K_ * (K_ + 1) / 2;
        std::vector<int> out(static_cast<size_t>(n_) * P, -1);
        for (int i = 0; i < n_; ++i) {
            const int* cols = columns(i);
            int p = 0;
            for (int a = 0; a < K_; ++a)
                for (int b = 0; b <= a; ++b, ++p)
                    if (cols[a] >= 0 && cols[b] >= 0)
                        out[static_cast<size_t>(i) * P + p] = position(std::max(cols[a], cols[b]), std::min(cols[a], cols[b]));
        }
        return out;
    }
    // x[scatter[i, p]] += sign_i sqrtw_i^2 u_ia u_ib (sign null: all +1).
    void scatter_UtWU(const double* sqrtw, const double* sign, const int* scatter, double* x) const;
    // For traces tr(A^{-1} dA): row i of the n x K result is U_i [A^{-1}]_{c_i, c_i}
    // (c_i the u-indices row i touches), with A^{-1}'s entries read as
    // sel[scatter[i, p]] (the selected inverse in the scatter table's layout).
    RowMajor selected_row_products(const double* sel, const int* scatter) const;

private:
    // The per-row loops take the row width K as a compile-time constant
    // where it is 1 (one scalar term, (1 | g): the inner loops vanish) and
    // at run time otherwise: for_each_K calls f(std::integral_constant<int,
    // 1>) or f(std::integral_constant<int, 0>), and row_width(k) is K.
    template <class F>
    void for_each_K(F&& f) const {
        if (K_ == 1) f(std::integral_constant<int, 1>{});
        else f(std::integral_constant<int, 0>{});
    }
    template <int KStatic>
    int row_width(std::integral_constant<int, KStatic>) const { return KStatic > 0 ? KStatic : K_; }
    // out[i] = store(out[i], row i's values (zrows_ or urows_) dotted with v at its u-indices).
    template <class Store>
    void rows_times(const RowMajor& values, const Eigen::VectorXd& v, double* out, Store store) const;
    int n_ = 0, K_ = 0;
    LambdaMap lambda_;
    std::vector<int> term_col_;
    Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> start_;
    Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> ucol_;
    RowMajor zrows_, urows_;
};

}  // namespace glmmfast
