// row_block.cpp — a partition's sums (see row_block.hpp).
#include "model/row_block.hpp"

#include "linalg/all_finite.hpp"

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
    pearson += o.pearson;
    eta_abs += o.eta_abs;
    UtWU += o.UtWU;
    UtWr += o.UtWr;
    XtWr += o.XtWr;
    UtWX += o.UtWX;
    XtWX += o.XtWX;
}

RowBlock::RowBlock(Eigen::MatrixXd X, const SpMat& Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights,
                   Eigen::VectorXd offset, Family family, const std::vector<TermShape>& terms)
    : X_(std::move(X)),
      y_(y.array()),
      pw_(prior_weights.array()),
      offset_(std::move(offset)),
      family_(std::move(family)),
      rows_(Z, terms) {
    const auto n = y_.size();
    if (X_.rows() != n || rows_.n() != n || pw_.size() != n || offset_.size() != n)
        throw std::invalid_argument("X, Z, y, weights and offset must have the same number of rows");
    if (!family_.exponential_dispersion())
        throw std::invalid_argument("partitioned rows need an exponential-dispersion family (poisson, binomial, "
                                    "Gamma, inverse Gaussian, gaussian, negative binomial), not " + family_.name());
    if (!X_.allFinite() || !offset_.allFinite() || !y_.allFinite() || !pw_.allFinite())
        throw std::invalid_argument("X, y, weights and offset must be finite");
    family_.set_response(y_);
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

void RowBlock::set_family_values(const Eigen::VectorXd& values) {
    const std::vector<std::string> names = family_.parameters();
    if (values.size() != static_cast<Eigen::Index>(names.size()))
        throw std::invalid_argument("the family's parameters have the wrong length");
    for (std::size_t k = 0; k < names.size(); ++k) {
        const double v = values[static_cast<Eigen::Index>(k)];
        if (names[k] == "dispersion") phi_ = checked_dispersion(v);
        else set_family_shape(family_, names[k], v);
    }
}

RowSums RowBlock::sums(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u,
                       const Eigen::VectorXd& values, bool exact) {
    RowSums s = RowSums::zero(npattern_, q(), p());
    set_family_values(values);
    if (!evaluate(theta, beta, u)) {
        s.valid = false;
        return s;
    }
    // GlmmModel's weights (W = sqrtw^2 with the signs wsign) and the score sqrtw^2 wres.
    Eigen::VectorXd sqrtw, wres, wsign;
    exponential_dispersion_weights(family_, y_, eta_, mu_, pw_, phi_, exact, sqrtw, wres, wsign);
    const Eigen::VectorXd score = sqrtw.cwiseProduct(sqrtw.cwiseProduct(wres));
    s.loglik = conditional_loglik(family_, constants_, y_, mu_, eta_, pw_, phi_);
    s.dev = deviance_residual_sum(family_, constants_, y_, mu_, eta_, pw_);
    if (family_.has_dispersion())
        s.pearson = (pw_ * (y_ - mu_).square() / family_.variance(mu_)).sum();
    s.eta_abs = (eta_ - offset_.array()).abs().sum();
    const double* sign = wsign.size() ? wsign.data() : nullptr;
    // Lambda = 0 (theta = 0: the GLM start's IRLS): U'WU = 0 and the driver factorises nothing; sent empty
    // (at 10^7 rows ~80 MB a round trip of zeros).
    if (rows_.lambda().is_zero()) s.UtWU.resize(0);
    else rows_.scatter_UtWU(sqrtw.data(), sign, scatter_.data(), s.UtWU.data());
    s.UtWr = rows_.Ut_times(score);
    s.XtWr.noalias() = X_.transpose() * score;
    // U'WX = (W^{1/2} U)' S W^{1/2} X and X'WX = (W^{1/2} X)' S W^{1/2} X (laplace.cpp's).
    const Eigen::MatrixXd WX = sqrtw.asDiagonal() * X_;
    if (sign) {
        const Eigen::MatrixXd SWX = wsign.asDiagonal() * WX;
        s.UtWX = rows_.WUt_times(SWX, sqrtw);
        s.XtWX.noalias() = WX.transpose() * SWX;
    } else {
        s.UtWX = rows_.WUt_times(WX, sqrtw);
        s.XtWX.noalias() = WX.transpose() * WX;
    }
    return s;
}

std::pair<Eigen::MatrixXd, Eigen::VectorXd> RowBlock::start_sums(const Eigen::VectorXd& values) {
    set_family_values(values);
    const Eigen::ArrayXd mu = family_.mustart(y_.array(), pw_.array());
    const Eigen::ArrayXd eta = family_.linkfun(mu);
    const Eigen::ArrayXd me = family_.mu_eta(eta);
    const Eigen::ArrayXd w = pw_.array() * me.square() / family_.variance(mu);
    const Eigen::ArrayXd z = eta - offset_.array() + (y_.array() - mu) / me;
    const Eigen::MatrixXd WX = w.matrix().asDiagonal() * X_;
    return {X_.transpose() * WX, WX.transpose() * z.matrix()};
}

Eigen::VectorXd RowBlock::glm_means(const Eigen::VectorXd& beta) const {
    if (beta.size() != p()) throw std::invalid_argument("beta has the wrong length");
    return family_.linkinv((offset_ + X_ * beta).array()).matrix();
}

bool RowBlock::evaluate(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u) {
    if (npattern_ < 0) throw std::logic_error("set_pattern first");
    if (beta.size() != p() || u.size() != q()) throw std::invalid_argument("beta or u has the wrong length");
    rows_.set_theta(theta);
    eta_ = (offset_ + X_ * beta + rows_.U_times(u)).array();
    mu_ = family_.linkinv(eta_);
    u_ = u;
    return family_.valid_eta(eta_) && all_finite(mu_);
}

std::pair<Eigen::VectorXd, Eigen::VectorXd> RowBlock::trace_sums(const Eigen::VectorXd& theta,
                                                                 const Eigen::VectorXd& beta, const Eigen::VectorXd& u,
                                                                 const Eigen::VectorXd& values,
                                                                 const Eigen::VectorXd& sel) {
    if (sel.size() != npattern_) throw std::invalid_argument("the selected inverse does not match the pattern");
    set_family_values(values);
    if (!evaluate(theta, beta, u)) throw PirlsError("invalid linear predictor at the mode");
    // GlmmModel::laplace_gradient's rows: from mu alone for a canonical link without dispersion.
    RowDerivatives d;
    if (family_.canonical() && !family_.has_dispersion()) {
        d = canonical_row_derivatives(family_, y_, mu_, pw_);
    } else {
        ObservationTerms t = observation_gradient_terms(family_, y_.array(), eta_.array(), pw_.array(), phi_, nullptr,
                                                        Eigen::ArrayXd(), Eigen::ArrayXd(), true, nullptr, false);
        d = RowDerivatives{std::move(t.score), std::move(t.information), std::move(t.information_deriv)};
    }
    trace_ = laplace_trace_rows(std::move(d), rows_, rows_.selected_row_products(sel.data(), scatter_.data()));
    return {rows_.Ut_times(trace_.v.matrix()), X_.transpose() * trace_.v.matrix()};
}

GradientSums RowBlock::gradient_sums(const Eigen::VectorXd& z_u, const Eigen::VectorXd& z_b,
                                     const std::vector<std::string>& log_parameters) {
    if (trace_.v.size() != n()) throw std::logic_error("trace_sums first");
    if (z_u.size() != q() || (z_b.size() != 0 && z_b.size() != p()))
        throw std::invalid_argument("z has the wrong length");
    Eigen::ArrayXd Uz = rows_.U_times(z_u).array();
    if (z_b.size()) Uz += (X_ * z_b).array();
    const Eigen::ArrayXd r = laplace_residual(trace_, Uz);
    GradientSums g;
    g.theta = laplace_theta_gradient(rows_, trace_, r, u_, z_u);
    g.beta = X_.transpose() * r.matrix();
    g.family.resize(static_cast<Eigen::Index>(log_parameters.size()));
    for (std::size_t k = 0; k < log_parameters.size(); ++k)
        g.family[static_cast<Eigen::Index>(k)] = log_parameter_gradient(
            family_, phi_, log_parameters[k], trace_.h, Uz, [this](const Family& f, double phi) {
                ++moved_parameter_passes_;
                return observation_gradient_terms(f, y_.array(), eta_.array(), pw_.array(), phi, nullptr,
                                                  Eigen::ArrayXd(), Eigen::ArrayXd(), false);
            });
    return g;
}

}  // namespace glmmfast
