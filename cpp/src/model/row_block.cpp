// row_block.cpp — a partition's sums (see row_block.hpp).
#include "model/row_block.hpp"

#include <algorithm>
#include <stdexcept>

namespace glmmfast {

RowSums RowSums::zero(Eigen::Index npattern, Eigen::Index q, Eigen::Index p) {
    RowSums s;
    s.UtWU = Eigen::VectorXd::Zero(npattern);
    s.UtWr = Eigen::VectorXd::Zero(q);
    s.XtWr = Eigen::VectorXd::Zero(p);
    s.UtWX = Eigen::MatrixXd::Zero(q, p);
    s.XtWX = Eigen::MatrixXd::Zero(p, p);
    return s;
}

void RowSums::add(const RowSums& o) {
    if (o.UtWU.size() != UtWU.size() || o.UtWr.size() != UtWr.size() || o.XtWr.size() != XtWr.size())
        throw std::invalid_argument("partition sums of different models");
    valid = valid && o.valid;
    loglik += o.loglik;
    dev += o.dev;
    UtWU += o.UtWU;
    UtWr += o.UtWr;
    XtWr += o.XtWr;
    UtWX += o.UtWX;
    XtWX += o.XtWX;
}

RowBlock::RowBlock(Eigen::MatrixXd X, const SpMat& Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights,
                   Eigen::VectorXd offset, Family family, const std::vector<TermShape>& terms)
    : X_(std::move(X)),
      y_(std::move(y)),
      pw_(std::move(prior_weights)),
      offset_(std::move(offset)),
      family_(std::move(family)),
      rows_(Z, terms) {
    const auto n = y_.size();
    if (X_.rows() != n || rows_.n() != n || pw_.size() != n || offset_.size() != n)
        throw std::invalid_argument("X, Z, y, weights and offset must have the same number of rows");
    if (!family_.canonical() || family_.has_dispersion())
        throw std::invalid_argument("partitioned rows need a canonical link without a dispersion");
    if (!X_.allFinite() || !offset_.allFinite() || !y_.allFinite() || !pw_.allFinite())
        throw std::invalid_argument("X, y, weights and offset must be finite");
    constants_ = response_constants(family_, y_, pw_);
}

void RowBlock::set_pattern(const std::vector<std::pair<int, int>>& pattern) {
    scatter_ = rows_.scatter_table([&](int r, int c) {
        const auto it = std::lower_bound(pattern.begin(), pattern.end(), std::make_pair(r, c));
        if (it == pattern.end() || *it != std::make_pair(r, c))
            throw std::invalid_argument("the model's pattern lacks a pair of this partition's rows");
        return static_cast<int>(it - pattern.begin());
    });
    npattern_ = static_cast<Eigen::Index>(pattern.size());
}

RowSums RowBlock::sums(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u) {
    RowSums s = RowSums::zero(npattern_, q(), p());
    if (!evaluate(theta, beta, u)) {
        s.valid = false;
        return s;
    }
    const Eigen::VectorXd& eta = eta_;
    const Eigen::ArrayXd mu = mu_.array();
    // Fisher weights and W r = the score in eta (canonical link: me = V(mu)).
    const Eigen::ArrayXd me = family_.mu_eta(eta.array(), mu);
    const Eigen::ArrayXd var = family_.variance(mu);
    const Eigen::VectorXd sqrtw = (pw_.array() * me.square() / var).sqrt().matrix();
    const Eigen::VectorXd score = (pw_.array() * (y_.array() - mu) * me / var).matrix();
    s.loglik = conditional_loglik(family_, constants_, y_, mu.matrix(), eta, pw_, 1.0);
    s.dev = deviance_residual_sum(family_, constants_, y_, mu.matrix(), eta, pw_);
    rows_.scatter_UtWU(sqrtw.data(), nullptr, scatter_.data(), s.UtWU.data());
    s.UtWr = rows_.Ut_times(score);
    s.XtWr.noalias() = X_.transpose() * score;
    const Eigen::MatrixXd WX = sqrtw.asDiagonal() * X_;
    s.UtWX = rows_.WUt_times(WX, sqrtw);
    s.XtWX.noalias() = WX.transpose() * WX;
    return s;
}

bool RowBlock::evaluate(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u) {
    if (npattern_ < 0) throw std::logic_error("set_pattern first");
    if (beta.size() != p() || u.size() != q()) throw std::invalid_argument("beta or u has the wrong length");
    rows_.set_theta(theta);
    eta_ = offset_ + X_ * beta + rows_.U_times(u);
    mu_ = family_.linkinv(eta_.array()).matrix();
    u_ = u;
    return family_.valid_eta(eta_.array()) && mu_.allFinite();
}

std::pair<Eigen::VectorXd, Eigen::VectorXd> RowBlock::trace_sums(const Eigen::VectorXd& theta,
                                                                 const Eigen::VectorXd& beta, const Eigen::VectorXd& u,
                                                                 const Eigen::VectorXd& sel) {
    if (sel.size() != npattern_) throw std::invalid_argument("the selected inverse does not match the pattern");
    if (!evaluate(theta, beta, u)) throw PirlsError("invalid linear predictor at the mode");
    trace_ = laplace_trace_rows(canonical_row_derivatives(family_, y_, mu_, pw_), rows_,
                                rows_.selected_row_products(sel.data(), scatter_.data()));
    return {rows_.Ut_times(trace_.v.matrix()), X_.transpose() * trace_.v.matrix()};
}

std::pair<Eigen::VectorXd, Eigen::VectorXd> RowBlock::gradient_sums(const Eigen::VectorXd& z_u,
                                                                    const Eigen::VectorXd& z_b) {
    if (trace_.v.size() != n()) throw std::logic_error("trace_sums first");
    if (z_u.size() != q() || (z_b.size() != 0 && z_b.size() != p()))
        throw std::invalid_argument("z has the wrong length");
    Eigen::ArrayXd Uz = rows_.U_times(z_u).array();
    if (z_b.size()) Uz += (X_ * z_b).array();
    const Eigen::ArrayXd r = laplace_residual(trace_, Uz);
    return {laplace_theta_gradient(rows_, trace_, r, u_, z_u), X_.transpose() * r.matrix()};
}

}  // namespace glmmfast
