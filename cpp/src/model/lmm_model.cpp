// lmm_model.cpp — the profiled deviance and REML criterion of a linear mixed
// model (see lmm_model.hpp).
//
// With L L' = P A P', A = U'WU + I (Bates et al. 2015, eqs. 34-42), the
// fixed effects eliminated as in linalg/fixed_effects_elimination.hpp
// (R_ZX = L^{-1} P U'WX, R_X'R_X = X'WX - R_ZX'R_ZX) with g_u = U'Wy, g_b = X'Wy:
//   c_u  = L^{-1} P U'Wy,            beta = (R_X'R_X)^{-1} (X'Wy - R_ZX' c_u),
//   u = P' L^{-T} (c_u - R_ZX beta),
//   pwrss = ||W^{1/2}(y - X beta - U u)||^2 + ||u||^2,
//   ML:   log|L|^2 - sum log w + n (1 + log(2 pi pwrss / n)),
//   REML: log|L|^2 - sum log w + log|R_X|^2 + (n-p)(1 + log(2 pi pwrss / (n-p))).
// pwrss is computed from the residuals rather than as y'Wy - ||c||^2, which
// would cancel badly when the response is far from zero.
#include "model/lmm_model.hpp"

#include <cmath>
#include <stdexcept>

#include "model/conditional_variance.hpp"
#include "model/lmm_criterion.hpp"

namespace glmmfast {

LmmModel::LmmModel(Eigen::MatrixXd X, SpMat Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights,
                   Eigen::VectorXd offset, std::vector<TermShape> terms)
    : X_(std::move(X)), offset_(std::move(offset)), sys_(std::move(Z), terms) {
    const auto nobs = y.size();
    if (X_.rows() != nobs || sys_.n() != nobs || prior_weights.size() != nobs || offset_.size() != nobs)
        throw std::invalid_argument("X, Z, y, weights and offset must have the same number of rows");
    if (!y.allFinite() || !offset_.allFinite()) throw std::invalid_argument("y and offset must be finite");
    if (!(prior_weights.array() > 0.0).all() || !prior_weights.allFinite())
        throw std::invalid_argument("prior weights must be positive and finite");
    if (X_.cols() >= nobs) throw std::invalid_argument("more fixed effects than observations");
    y_ = y - offset_;
    sqrtw_ = prior_weights.array().sqrt().matrix();
    log_w_sum_ = prior_weights.array().log().sum();
    WXy_.resize(nobs, p() + 1);
    WXy_.leftCols(p()) = sqrtw_.asDiagonal() * X_;
    WXy_.col(p()) = sqrtw_.cwiseProduct(y_);
    XtWX_ = WXy_.leftCols(p()).transpose() * WXy_.leftCols(p());
    XtWy_ = WXy_.leftCols(p()).transpose() * WXy_.col(p());
    theta_ = sys_.lambda().initial_theta();
    beta_ = Eigen::VectorXd::Zero(p());
    u_ = Eigen::VectorXd::Zero(q());
}

void LmmModel::evaluate(const Eigen::VectorXd& theta) {
    ++n_eval_;
    evaluated_ = false;
    sys_.set_theta(theta);
    theta_ = theta;
    if (!sys_.factor(sqrtw_)) throw PirlsError("Cholesky factorisation of Lambda'Z'WZLambda + I failed");
    // One pass over U for [R_ZX, c_u] = L^{-1} P U' W^{1/2} [W^{1/2} X, W^{1/2} y].
    if (!elim_.compute(sys_, WXy_, p(), XtWX_))
        throw PirlsError("the fixed-effects block R_X'R_X is not positive definite");
    elim_.solve(sys_, elim_.extra().col(0), XtWy_, u_, beta_);
    Eigen::VectorXd res = y_;
    res.noalias() -= X_ * beta_;
    res -= sys_.U_times(u_);
    pwrss_ = sqrtw_.cwiseProduct(res).squaredNorm() + u_.squaredNorm();
    ldL2_ = sys_.log_det_L2();
    ldRX2_ = elim_.log_det_RX2();
    if (!std::isfinite(pwrss_) || !std::isfinite(ldL2_) || !std::isfinite(ldRX2_) || !(pwrss_ > 0.0))
        throw PirlsError("non-finite or zero penalised residual sum of squares");
    evaluated_ = true;
}

double LmmModel::criterion(bool reml) const {
    if (!evaluated_) throw PirlsError("the model has not been evaluated at a valid theta");
    return lmm_criterion(reml, n(), p(), pwrss_, ldL2_, ldRX2_, log_w_sum_);
}

double LmmModel::deviance(const Eigen::VectorXd& theta, bool reml) {
    evaluate(theta);
    return criterion(reml);
}

Eigen::VectorXd LmmModel::eta() const { return offset_ + X_ * beta_ + sys_.U_times(u_); }

double LmmModel::sigma(bool reml) const {
    if (!evaluated_) throw PirlsError("the model has not been evaluated at a valid theta");
    return lmm_sigma(reml, n(), p(), pwrss_);
}

Eigen::MatrixXd LmmModel::beta_unscaled_vcov() const {
    if (!evaluated_) throw PirlsError("the model has not been evaluated at a valid theta");
    return elim_.RX().solve(Eigen::MatrixXd::Identity(p(), p()));
}

Eigen::MatrixXd LmmModel::cond_var(int t) const {
    if (!evaluated_) throw PirlsError("the model has not been evaluated at a valid theta");
    return conditional_variance(sys_, t);
}

}  // namespace glmmfast
