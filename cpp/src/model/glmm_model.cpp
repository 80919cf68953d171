// glmm_model.cpp — set-up and state updates of a GLMM (see glmm_model.hpp).
#include "model/glmm_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

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
    check_finite(X_, "X");
    check_finite(offset_, "offset");
    check_response(y_.matrix(), pw_.matrix());
    beta_ = Eigen::VectorXd::Zero(p());
    u_ = Eigen::VectorXd::Zero(q());
    theta_ = sys_.lambda().initial_theta();
    update_response_constants();
}

void GlmmModel::update_response_constants() {
    family_.set_response(y_);  // the family's y-only terms (log y, ...) follow the response
    constants_ = response_constants(family_, y_, pw_);
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
    y_ = y.array();
    pw_ = prior_weights.array();
    update_response_constants();
    forget_point_terms();
}

double checked_dispersion(double phi) {
    if (!(phi > 0 && std::isfinite(phi))) throw PirlsError("dispersion must be positive and finite");
    return phi;
}

void GlmmModel::set_dispersion(double phi) {
    phi_ = checked_dispersion(phi);
    varying_.dispersion = phi;  // a varying shape's family keeps the scalar dispersion
    forget_point_terms();
}

void GlmmModel::set_nb_theta(double theta) {
    if (!family_.has_shape("theta")) throw std::invalid_argument("not a negative binomial model");
    if (!(theta > 0 && std::isfinite(theta))) throw PirlsError("negative binomial theta must be positive and finite");
    family_.set_shape("theta", theta);
    forget_point_terms();
}

void GlmmModel::set_shape(const std::string& name, double value) {
    set_family_shape(family_, name, value);
    forget_point_terms();
}

void set_family_shape(Family& family, const std::string& name, double value) {
    if (!family.has_shape(name)) throw std::invalid_argument("the family has no shape parameter '" + name + "'");
    if (!(value > 0 && std::isfinite(value))) throw PirlsError("the family's " + name + " must be positive and finite");
    family.set_shape(name, value);
}

// eta = (offset + X beta) + U u built in place (no temporaries; the same
// sums in the same order as the expression).
void GlmmModel::update_linear_predictor() {
    forget_point_terms();
    eta_.resize(n());
    auto eta = eta_.matrix();
    eta.noalias() = X_ * beta_;
    eta += offset_;
    sys_.add_U_times(u_, eta);
    mu_ = family_.linkinv(eta_);
}

// Fisher-scoring weights W = pw * (dmu/deta)^2 / (phi V(mu)) and the working
// residual r = (y - mu) / (dmu/deta) at eta, so that W r is the score
// d log f / d eta.  With `exact` (non-canonical links), W is the observed
// information -d^2 log f / d eta^2 instead: sqrtw = |W|^{1/2}, the signs in
// wsign (a locally convex contribution, e.g. y < 2 mu / 3 for the inverse
// Gaussian with the identity link, gives W < 0; empty where none is) and
// r = score / |W|, so that U' diag(sqrtw) (sqrtw r) is still U' score.
// (Zero prior weights give W = 0 and a zero score: r = 0.)
void exponential_dispersion_weights(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                    const Eigen::ArrayXd& mu, const Eigen::ArrayXd& pw, double phi, bool exact,
                                    Eigen::VectorXd& sqrtw, Eigen::VectorXd& wres, Eigen::VectorXd& wsign) {
    wsign.resize(0);
    const bool observed = exact && !family.canonical();
    Eigen::ArrayXd me, me2;  // mu_eta, and mu_eta2 for the observed information (one pass: Link::mu_eta_derivatives)
    if (observed) family.mu_eta_derivatives(eta, mu, me, me2, nullptr);
    else me = family.mu_eta(eta, mu);
    const Eigen::ArrayXd var = family.variance(mu);
    if (!observed) {
        sqrtw = (pw.array() * me.square() / (phi * var)).sqrt().matrix();
        wres = ((y.array() - mu.array()) / me).matrix();
        return;
    }
    const Eigen::ArrayXd w = family.observed_weights(y, mu, me, me2, pw) / phi;
    if ((w < 0).any()) wsign = (w < 0).select(-Eigen::ArrayXd::Ones(w.size()), 1.0).matrix();
    // |W| floored at 1e-12 of the expected information w_exp, so an observation
    // with no curvature (y = 0 with the identity link) still carries its
    // score through sqrtw (the floor moves log det A by ~1e-12).  One pass
    // over the rows, no temporaries: the expressions' own per-row operations.
    const Eigen::Index n = w.size();
    sqrtw.resize(n);
    wres.resize(n);
    for (Eigen::Index i = 0; i < n; ++i) {
        const double phi_var = phi * var[i];
        const double score = pw[i] * (y[i] - mu[i]) * me[i] / phi_var;
        const double w_exp = pw[i] * (me[i] * me[i]) / phi_var;
        const double aw = std::max(std::abs(w[i]), 1e-12 * w_exp);
        sqrtw[i] = std::sqrt(aw);
        wres[i] = aw > 0 ? score / std::max(aw, std::numeric_limits<double>::min()) : 0.0;
    }
}

void GlmmModel::update_weights(bool exact) {
    if (general_observation()) return update_general_weights(exact);
    exponential_dispersion_weights(family_, y_, eta_, mu_, pw_, phi_, exact, sqrtw_, wres_, wsign_);
}

void GlmmModel::factor() {
    factored_ = false;  // until it completes (it may be interrupted)
    factored_ = sys_.factor(sqrtw_, wsign_.size() ? &wsign_ : nullptr);
    if (!factored_ && wsign_.size())
        throw PirlsError("Cholesky factorisation of Lambda'Z'WZLambda + I failed: the exact Hessian in the random "
                         "effects is not positive definite at this point (observations where the log density is "
                         "convex in eta, such as the t family's outliers, outweigh the rest and the prior): no "
                         "conditional mode for the Laplace approximation");
    if (!factored_) throw PirlsError("Cholesky factorisation of Lambda'Z'WZLambda + I failed");
}

double GlmmModel::sum_dev_resid() const {
    if (zero_inflated()) throw std::logic_error("a zero-inflated model has no deviance residuals");
    if (mu_.size() != n()) throw std::logic_error("the model has no fitted values yet: run pirls() first");
    return family_.has_kernel() ? kernel_deviance(constants_, point_kernel())
                                : deviance_residual_sum(family_, constants_, y_, mu_, eta_, pw_);
}

double GlmmModel::point_kernel() const {
    if (!point_kernel_) point_kernel_ = family_.loglik_kernel(y_, mu_, eta_, pw_);
    return *point_kernel_;
}

// On the general observation path -2 sum log f (the deviance up to a
// constant in u and beta) replaces sum d_i / phi.
// With zero inflation the point's whole terms are kept (point_terms_): the weights of the next step at
// this point (update_general_weights), which need the base log density of the zero rows too, come from
// the same pass over the rows; the sum is observation_loglik's.  (Without, the weights need no log
// density: the two passes share nothing but would cost the derivatives at every rejected step.)
double GlmmModel::penalised_deviance() const {
    if (general_observation()) {
        if (!zero_inflated()) return -2.0 * observation_loglik() + u_.squaredNorm();
        point_terms_ = observation_terms(nullptr, true);
        return -2.0 * point_terms_->log_density.sum() + u_.squaredNorm();
    }
    return sum_dev_resid() / phi_ + u_.squaredNorm();
}

}  // namespace glmmfast
