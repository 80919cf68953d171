// glmm_model.cpp — set-up and state updates of a GLMM (see glmm_model.hpp).
#include "glmm_model.hpp"

#include <cmath>
#include <string>

namespace glmmfast {

GlmmModel::GlmmModel(Eigen::MatrixXd X, SpMat Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights,
                     Eigen::VectorXd offset, Family family, std::vector<TermShape> terms)
    : X_(std::move(X)),
      y_(std::move(y)),
      pw_(std::move(prior_weights)),
      offset_(std::move(offset)),
      family_(family),
      sys_(std::move(Z), terms) {
    const auto n = y_.size();
    if (X_.rows() != n || sys_.n() != n || pw_.size() != n || offset_.size() != n)
        throw std::invalid_argument("X, Z, y, weights and offset must have the same number of rows");
    check_finite(X_, "X");
    check_finite(offset_, "offset");
    check_response(y_, pw_);
    beta_ = Eigen::VectorXd::Zero(p());
    u_ = Eigen::VectorXd::Zero(q());
    theta_ = sys_.lambda().initial_theta();
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

void GlmmModel::check_finite(const Eigen::MatrixXd& a, const char* what) {
    if (!a.allFinite()) throw std::invalid_argument(std::string(what) + " has non-finite values");
}

void GlmmModel::check_response(const Eigen::VectorXd& y, const Eigen::VectorXd& prior_weights) {
    check_finite(y, "y");
    check_finite(prior_weights, "weights");
    if ((prior_weights.array() < 0).any()) throw std::invalid_argument("weights must be non-negative");
}

void GlmmModel::require_state() const {
    if (mu_.size() != n() || !factored_)
        throw std::logic_error("the model has no converged state yet: run pirls() first");
}

void GlmmModel::set_response(const Eigen::VectorXd& y, const Eigen::VectorXd& prior_weights) {
    if (y.size() != n() || prior_weights.size() != n())
        throw std::invalid_argument("new response has the wrong length");
    check_response(y, prior_weights);
    y_ = y;
    pw_ = prior_weights;
}

void GlmmModel::update_linear_predictor() {
    eta_ = offset_ + X_ * beta_ + sys_.U_times(u_);
    mu_ = family_.linkinv(eta_.array()).matrix();
}

// Fisher-scoring weights W = pw * (dmu/deta)^2 / V(mu) and the working
// residual (y - mu) / (dmu/deta) at the current eta.
void GlmmModel::update_weights() {
    const Eigen::ArrayXd me = family_.mu_eta(eta_.array());
    const Eigen::ArrayXd var = family_.variance(mu_.array());
    sqrtw_ = (pw_.array() * me.square() / var).sqrt().matrix();
    wres_ = ((y_.array() - mu_.array()) / me).matrix();
}

void GlmmModel::factor() {
    factored_ = sys_.factor(sqrtw_);
    if (!factored_) throw PirlsError("Cholesky factorisation of Lambda'Z'WZLambda + I failed");
}

double GlmmModel::sum_dev_resid() const {
    if (mu_.size() != n()) throw std::logic_error("the model has no fitted values yet: run pirls() first");
    return family_.dev_resid(y_.array(), mu_.array(), pw_.array()).sum();
}

double GlmmModel::penalised_deviance() const { return sum_dev_resid() + u_.squaredNorm(); }

}  // namespace glmmfast
