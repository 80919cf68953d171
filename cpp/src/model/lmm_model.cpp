// lmm_model.cpp — an LMM's cross-products formed once from its rows (see
// lmm_model.hpp); the criterion and its gradient are CrossProductLmm's.
//
// With W the prior weights, y the response minus the offset, beta_0 the
// weighted least-squares fit (X'WX beta_0 = X'Wy; 0 where X'WX is not
// positive definite) and r = y - X beta_0, the products are
//   Z'WZ on U'WU's lower-triangle pattern (the pairs of u-indices some row
//   touches: level blocks, so closed under them), Z'WX, Z'Wr, X'WX, X'Wr,
//   r'Wr, n and sum log w,
// and CrossProductLmm fits r, adding beta_0 back (its beta_shift).  Its
// penalised RSS r'Wr - u'U'Wr - beta'X'Wr then cancels only the share of
// r'Wr the random effects explain, not y's mean and fixed-effects fit
// (r'Wr / r^2 is 1 to ~10 on real data: at most one digit lost).
// Cost: O(n (K^2 + p^2)) once, K = sum k_t; nothing per evaluation.
#include "model/lmm_model.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace glmmfast {

namespace {

// Z'WZ's values on `pattern` (sorted pairs r >= c), one pass over the rows.
Eigen::VectorXd ZtWZ_on_pattern(const RowLayout& rows, const Eigen::VectorXd& w,
                                const std::vector<std::pair<int, int>>& pattern) {
    std::vector<size_t> row_first(static_cast<size_t>(rows.q()) + 1, 0);  // pattern entries of row r
    for (const auto& rc : pattern) ++row_first[static_cast<size_t>(rc.first) + 1];
    for (int r = 0; r < rows.q(); ++r) row_first[r + 1] += row_first[r];
    const auto position = [&](int r, int c) {
        const auto first = pattern.begin() + static_cast<long>(row_first[r]);
        const auto last = pattern.begin() + static_cast<long>(row_first[r + 1]);
        return std::lower_bound(first, last, std::make_pair(r, c)) - pattern.begin();
    };
    Eigen::VectorXd values = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(pattern.size()));
    const int K = rows.K();
    // The row's (a, b) positions, looked up again only where its levels
    // differ from the row before's (rows sorted by group share them).
    std::vector<long> pos(static_cast<size_t>(K * (K + 1) / 2), -1);
    for (int i = 0; i < rows.n(); ++i) {
        const int* cols = rows.columns(i);
        if (i == 0 || !rows.same_levels_as_previous(i)) {
            int p = 0;
            for (int a = 0; a < K; ++a)
                for (int b = 0; b <= a; ++b, ++p)
                    pos[p] = cols[a] < 0 || cols[b] < 0
                                 ? -1
                                 : position(std::max(cols[a], cols[b]), std::min(cols[a], cols[b]));
        }
        int p = 0;
        for (int a = 0; a < K; ++a) {
            const double wz = w[i] * rows.z_value(i, a);
            for (int b = 0; b <= a; ++b, ++p)
                if (pos[p] >= 0) values[pos[p]] += wz * rows.z_value(i, b);
        }
    }
    return values;
}

LmmRows lmm_rows(Eigen::MatrixXd X, const SpMat& Z, Eigen::VectorXd y, const Eigen::VectorXd& w,
                 Eigen::VectorXd offset, const std::vector<TermShape>& terms) {
    const auto nobs = y.size();
    if (X.rows() != nobs || Z.rows() != nobs || w.size() != nobs || offset.size() != nobs)
        throw std::invalid_argument("X, Z, y, weights and offset must have the same number of rows");
    if (!y.allFinite() || !offset.allFinite()) throw std::invalid_argument("y and offset must be finite");
    if (!(w.array() > 0.0).all() || !w.allFinite())
        throw std::invalid_argument("prior weights must be positive and finite");
    if (X.cols() >= nobs) throw std::invalid_argument("more fixed effects than observations");
    LmmRows d{std::move(X), RowLayout(Z, terms), std::move(y), std::move(offset), w.array().sqrt().matrix(), {}, {}};
    d.y -= d.offset;
    const Eigen::MatrixXd WX = w.asDiagonal() * d.X;
    LmmCrossProducts& cp = d.products;
    cp.XtWX = d.X.transpose() * WX;
    cp.beta_shift = Eigen::VectorXd::Zero(d.X.cols());
    const Eigen::LLT<Eigen::MatrixXd> llt(cp.XtWX);
    if (llt.info() == Eigen::Success) cp.beta_shift = llt.solve(WX.transpose() * d.y);
    if (!cp.beta_shift.allFinite()) cp.beta_shift.setZero();
    Eigen::VectorXd r = d.y;
    r.noalias() -= d.X * cp.beta_shift;
    const Eigen::VectorXd Wr = w.cwiseProduct(r);
    cp.XtWy = WX.transpose() * r;
    cp.ytWy = Wr.dot(r);
    cp.ZtWX = Z.transpose() * WX;
    cp.ZtWy = Z.transpose() * Wr;
    cp.n = static_cast<long>(nobs);
    // Unit weights (the usual fit) add log 1 = 0 exactly: n logarithms saved.
    cp.log_w_sum = (w.array() == 1.0).all() ? 0.0 : w.array().log().sum();
    d.pattern = d.rows.pairs();
    cp.ZtWZ = ZtWZ_on_pattern(d.rows, w, d.pattern);
    return d;
}

}  // namespace

LmmModel::LmmModel(Eigen::MatrixXd X, SpMat Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights,
                   Eigen::VectorXd offset, std::vector<TermShape> terms, const std::string& factorization)
    : LmmModel(lmm_rows(std::move(X), Z, std::move(y), prior_weights, std::move(offset), terms), terms,
               factorization) {}

LmmModel::LmmModel(LmmRows data, const std::vector<TermShape>& terms, const std::string& factorization)
    : CrossProductLmm(terms, data.pattern, std::move(data.products), factorization),
      X_(std::move(data.X)),
      rows_(std::move(data.rows)),
      y_(std::move(data.y)),
      offset_(std::move(data.offset)),
      sqrtw_(std::move(data.sqrtw)) {}

Eigen::VectorXd LmmModel::eta() const { return offset_ + X_ * beta() + rows_.Z_times(b()); }

}  // namespace glmmfast
