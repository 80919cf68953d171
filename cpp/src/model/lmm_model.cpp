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

// Z'WZ's values on the pattern, one pass over the rows: `run_positions` (RowLayout::pairs) gives, per run of
// rows in the same levels, where each of its pairs' sums goes, so no row looks a position up.
Eigen::VectorXd ZtWZ_on_pattern(const RowLayout& rows, const Eigen::VectorXd& w, size_t pattern_size,
                                const std::vector<int>& run_positions) {
    Eigen::VectorXd values = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(pattern_size));
    const int K = rows.K();
    const int* pos = run_positions.data();
    const int* next = pos;  // the next run's positions
    for (int i = 0; i < rows.n(); ++i) {
        const int* cols = rows.columns(i);
        if (i == 0 || !rows.same_levels_as_previous(i)) pos = next;
        int p = 0;
        for (int a = 0; a < K; ++a) {
            if (cols[a] < 0) continue;
            const double wz = w[i] * rows.z_value(i, a);
            for (int b = 0; b <= a; ++b)
                if (cols[b] >= 0) values[pos[p++]] += wz * rows.z_value(i, b);
        }
        next = pos + p;
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
    std::vector<int> run_positions;
    d.pattern = d.rows.pairs(&run_positions);
    cp.ZtWZ = ZtWZ_on_pattern(d.rows, w, d.pattern.size(), run_positions);
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
