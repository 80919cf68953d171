// glmm_model.cpp — set-up and state updates of a GLMM (see glmm_model.hpp).
#include "glmm_model.hpp"

#include <cmath>

namespace glmmfast {

GlmmModel::GlmmModel(Eigen::MatrixXd X, SpMat Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights,
                     Eigen::VectorXd offset, Family family, std::vector<TermShape> terms,
                     const std::string& factorization)
    : X_(std::move(X)),
      y_(std::move(y)),
      pw_(std::move(prior_weights)),
      offset_(std::move(offset)),
      family_(family),
      sys_(Z, terms, factorization) {
    const auto n = y_.size();
    if (X_.rows() != n || sys_.n() != n || pw_.size() != n || offset_.size() != n)
        throw std::invalid_argument("X, Z, y, weights and offset must have the same number of rows");
    beta_ = Eigen::VectorXd::Zero(p());
    u_ = Eigen::VectorXd::Zero(q());
    theta_ = sys_.lambda().initial_theta();
    update_response_constants();
}

void GlmmModel::update_response_constants() {
    if (!family_.has_kernel()) return;
    ll_constant_ = family_.loglik_constant(y_.array(), pw_.array());
    saturated_ = family_.saturated_kernel(y_.array(), pw_.array());
}

void GlmmModel::set_theta(const Eigen::VectorXd& theta) {
    sys_.set_theta(theta);
    theta_ = theta;
}
void GlmmModel::set_beta(const Eigen::VectorXd& beta) {
    if (beta.size() != p()) throw std::invalid_argument("beta has the wrong length");
    beta_ = beta;
}

void GlmmModel::set_u(const Eigen::VectorXd& u) {
    if (u.size() != q()) throw std::invalid_argument("u has the wrong length");
    u_ = u;
}

void GlmmModel::set_response(const Eigen::VectorXd& y, const Eigen::VectorXd& prior_weights) {
    if (y.size() != n() || prior_weights.size() != n())
        throw std::invalid_argument("new response has the wrong length");
    y_ = y;
    pw_ = prior_weights;
    update_response_constants();
}

void GlmmModel::update_linear_predictor() {
    eta_ = offset_ + X_ * beta_ + sys_.U_times(u_);
    mu_ = family_.linkinv(eta_.array()).matrix();
}

// Fisher-scoring weights W = pw * (dmu/deta)^2 / V(mu) and the working
// residual (y - mu) / (dmu/deta) at the current eta.
void GlmmModel::update_weights() {
    const Eigen::ArrayXd me = family_.mu_eta(eta_.array(), mu_.array());
    const Eigen::ArrayXd var = family_.variance(mu_.array());
    sqrtw_ = (pw_.array() * me.square() / var).sqrt().matrix();
    wres_ = ((y_.array() - mu_.array()) / me).matrix();
}

void GlmmModel::factor() {
    if (!sys_.factor(sqrtw_)) throw PirlsError("Cholesky factorisation of Lambda'Z'WZLambda + I failed");
}

double GlmmModel::sum_dev_resid() const {
    if (family_.has_kernel())
        return 2.0 * (saturated_ - family_.loglik_kernel(y_.array(), mu_.array(), eta_.array(), pw_.array()));
    return family_.dev_resid(y_.array(), mu_.array(), pw_.array()).sum();
}

double GlmmModel::penalised_deviance() const { return sum_dev_resid() + u_.squaredNorm(); }

}  // namespace glmmfast
