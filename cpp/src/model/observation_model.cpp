// observation_model.cpp — GlmmModel's general observation path: zero
// inflation, the dispersion model and the families outside the
// exponential-dispersion form (see glmm_model.hpp; the mixture's equations
// in family/zero_inflation.hpp, the varying parameter's in
// family/varying_parameter.hpp).
//
// PIRLS (pirls.cpp) takes its weights from update_weights, which comes
// here on this path: the Fisher-type step uses W = (1 - pi) pw mu_eta^2 /
// (phi V) > 0 with the exact score, so every step is a descent direction
// and step-halving on -2 sum log f + ||u||^2 makes progress; the Newton
// polish and the Laplace term then use the exact information
// (1 - pi) h - pi (1 - pi) s^2, negative for some observations (signs in
// wsign_), as long as the sum A stays positive definite.
#include <cmath>
#include <limits>
#include <utility>

#include "model/glmm_model.hpp"

namespace glmmfast {

void GlmmModel::set_zero_inflation(Eigen::MatrixXd X_zi, Eigen::VectorXd offset_zi) {
    if (X_zi.rows() != n() || offset_zi.size() != n())
        throw std::invalid_argument("the zero-inflation design and offset must have one row per observation");
    check_finite(X_zi, "the zero-inflation design");
    check_finite(offset_zi, "the zero-inflation offset");
    // A family whose weights are trials (binomial, betabinomial) is mixed with its whole count's
    // density (weight_roles: the trials inside the density, no multiplier).
    const std::string fam = family_.name();
    if (fam == "gaussian") throw std::invalid_argument("zero inflation is not available for the " + fam + " family");
    X_zi_ = std::move(X_zi);
    offset_zi_ = std::move(offset_zi);
    set_beta_zi(Eigen::VectorXd::Zero(X_zi_.cols()));
}

void GlmmModel::set_beta_zi(const Eigen::VectorXd& beta_zi) {
    if (beta_zi.size() != n_zi()) throw std::invalid_argument("beta_zi has the wrong length");
    if (!beta_zi.allFinite()) throw PirlsError("beta_zi is not finite");
    beta_zi_ = beta_zi;
    forget_point_terms();
    if (!zero_inflated()) return;
    log_logistic((offset_zi_ + X_zi_ * beta_zi_).array(), log_p_zi_, log1m_p_zi_);
}

void GlmmModel::set_dispersion_model(Eigen::MatrixXd X_d, Eigen::VectorXd offset_d, const std::string& parameter,
                                     double power) {
    if (X_d.rows() != n() || offset_d.size() != n())
        throw std::invalid_argument("the dispersion model's design and offset must have one row per observation");
    check_finite(X_d, "the dispersion model's design");
    check_finite(offset_d, "the dispersion model's offset");
    check_varying_parameter(family_, parameter);
    if (!(power == 1.0 || power == -1.0)) throw std::invalid_argument("the dispersion model's power must be 1 or -1");
    X_disp_ = std::move(X_d);
    offset_disp_ = std::move(offset_d);
    disp_power_ = power;
    varying_.name = parameter;
    varying_.dispersion = phi_;
    set_beta_disp(Eigen::VectorXd::Zero(X_disp_.cols()));
}

void GlmmModel::set_beta_disp(const Eigen::VectorXd& beta_disp) {
    if (beta_disp.size() != n_disp()) throw std::invalid_argument("beta_disp has the wrong length");
    if (!beta_disp.allFinite()) throw PirlsError("beta_disp is not finite");
    if (!has_dispersion_model()) return;
    const Eigen::ArrayXd values = (disp_power_ * (offset_disp_ + X_disp_ * beta_disp).array()).exp();
    if (!(values > 0).all() || !values.allFinite())
        throw PirlsError("the dispersion model gives a parameter that is not positive and finite");
    beta_disp_ = beta_disp;
    varying_.values = values;
    forget_point_terms();
}

Eigen::VectorXd GlmmModel::zi_probability() const {
    if (!zero_inflated()) return Eigen::VectorXd::Zero(n());
    return log_p_zi_.exp().matrix();
}

ObservationTerms GlmmModel::observation_terms(Eigen::ArrayXd* structural_zero, bool with_log_density) const {
    if (eta_.size() != n()) throw std::logic_error("the model has no linear predictor yet: run pirls() first");
    const WeightRoles w = weight_roles(family_, pw_.array());
    ObservationTerms t;
    const bool base_log_density = with_log_density || zero_inflated();  // pi of the zero rows needs log f(0)
    if (has_dispersion_model())
        varying_unit_observation_terms(family_, y_.array(), eta_.array(), w.distribution, varying_, t, false,
                                       base_log_density);
    else
        family_.unit_observation_terms(y_.array(), eta_.array(), phi_, w.distribution, t, false, base_log_density,
                                       &mu_);
    zero_inflate(y_.array(), w.multiplier, log_p_zi_, log1m_p_zi_, family_.has_zero_mass(), t, structural_zero,
                 with_log_density);
    return t;
}

double GlmmModel::observation_loglik() const {
    if (eta_.size() != n()) throw std::logic_error("the model has no linear predictor yet: run pirls() first");
    const WeightRoles w = weight_roles(family_, pw_.array());
    Eigen::ArrayXd ld = has_dispersion_model()
                            ? varying_unit_log_density(family_, y_.array(), eta_.array(), w.distribution, varying_)
                            : family_.log_density(y_.array(), eta_.array(), w.distribution, phi_, mu_.data());
    zero_inflate_log_density(y_.array(), w.multiplier, log_p_zi_, log1m_p_zi_, family_.has_zero_mass(), ld);
    return ld.sum();
}

void GlmmModel::update_general_weights(bool exact) {
    // The terms penalised_deviance kept at this point, else the weights' alone (no log density).
    const ObservationTerms t = point_terms_ ? std::move(*point_terms_) : observation_terms(nullptr, false);
    forget_point_terms();
    wsign_.resize(0);
    Eigen::ArrayXd w = t.fisher;
    if (exact) {
        w = t.information;
        if ((w < 0).any()) wsign_ = (w < 0).select(-Eigen::ArrayXd::Ones(w.size()), 1.0).matrix();
        // |W| floored at 1e-12 of the Fisher weight (as update_weights).
        w = w.abs().max(1e-12 * t.fisher);
    }
    sqrtw_ = w.sqrt().matrix();
    wres_ = (w > 0).select(t.score / w.max(std::numeric_limits<double>::min()), 0.0).matrix();
}

}  // namespace glmmfast
