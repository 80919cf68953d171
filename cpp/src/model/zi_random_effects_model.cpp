// zi_random_effects_model.cpp — the joint conditional modes and Laplace
// deviance of a GLMM with random effects in its zero-inflation predictor
// (equations in zi_random_effects_model.hpp).
#include "model/zi_random_effects_model.hpp"

#include <cmath>
#include <stdexcept>

#include "family/family.hpp"
#include "model/conditional_variance.hpp"

namespace glmmfast {

namespace {

constexpr int kMaxIterations = 300;
constexpr int kMaxHalvings = 30;
// Within this decrement (relative to the penalised deviance) Newton is in its
// quadratic region: full steps without the decrease test (pdev's rounding
// would decide it) until the step is below kStepTolerance.  The mode must be
// that accurate because log det A is not stationary there: an error du in
// the mode moves the Laplace deviance by O(du) (and its exact gradient,
// zi_random_effects_gradient.cpp, assumes the mode).
constexpr double kQuadraticRegion = 1e-8;
constexpr double kStepTolerance = 1e-10;
constexpr int kMaxFullSteps = 5;

}  // namespace

ZiRandomEffectsModel::ZiRandomEffectsModel(GlmmModel& conditional, const SpMat& Z, const std::vector<TermShape>& terms,
                                           int n_cond_terms, Eigen::MatrixXd X_zi, Eigen::VectorXd offset_zi,
                                           const std::string& factorization)
    : cond_(conditional), system_(Z, terms, n_cond_terms, factorization), X_zi_(std::move(X_zi)),
      offset_zi_(std::move(offset_zi)) {
    if (!cond_.zero_inflated()) throw std::invalid_argument("the conditional model has no zero inflation");
    if (system_.n() != cond_.n() || X_zi_.rows() != cond_.n() || offset_zi_.size() != cond_.n())
        throw std::invalid_argument("Z, X_zi and offset_zi must have one row per observation");
    if (system_.q_first() != cond_.q())
        throw std::invalid_argument("the first terms must be the conditional model's");
    if (X_zi_.cols() != cond_.n_zi()) throw std::invalid_argument("X_zi does not match the conditional model's");
    beta_zi_ = cond_.beta_zi();
    u_ = Eigen::VectorXd::Zero(q());
}

void ZiRandomEffectsModel::set_beta_zi(const Eigen::VectorXd& beta_zi) {
    if (beta_zi.size() != n_zi()) throw std::invalid_argument("beta_zi has the wrong length");
    if (!beta_zi.allFinite()) throw PirlsError("beta_zi is not finite");
    beta_zi_ = beta_zi;
    have_mode_ = false;
}

void ZiRandomEffectsModel::set_u(const Eigen::VectorXd& u) {
    if (u.size() != q()) throw std::invalid_argument("u has the wrong length");
    u_ = u;
    have_mode_ = false;
}

Eigen::VectorXd ZiRandomEffectsModel::eta_zi() const {
    return offset_zi_ + X_zi_ * beta_zi_ + system_.U_second_times(u_);
}

bool ZiRandomEffectsModel::move_to(const Eigen::VectorXd& u, const Eigen::VectorXd& beta) {
    u_ = u;
    // The zero-inflation predictor's random part enters the conditional
    // model as offset (its coefficients stay beta_zi).
    cond_.set_zero_inflation(X_zi_, offset_zi_ + system_.U_second_times(u_));
    cond_.set_beta_zi(beta_zi_);
    return cond_.move_to(u_.head(q_cond()), beta);
}

bool ZiRandomEffectsModel::gradient_and_factor(bool fisher, Eigen::VectorXd& g) {
    Eigen::ArrayXd pi;
    const ObservationTerms t = cond_.observation_terms(&pi, false);  // the step's terms: no log density
    const Eigen::ArrayXd wt = weight_roles(cond_.family(), cond_.prior_weights().array()).multiplier;
    const Eigen::ArrayXd p = cond_.zi_probability().array();
    const Eigen::ArrayXd score_zi = wt * (pi - p);
    g = system_.Ut_times(t.score.matrix(), score_zi.matrix()) - u_;
    if (fisher)
        return system_.factor(t.fisher.matrix(), (wt * p * (1.0 - p)).matrix(), Eigen::VectorXd::Zero(n()));
    return system_.factor(t.information.matrix(), (wt * (p * (1.0 - p) - pi * (1.0 - pi))).matrix(),
                          (pi * t.score).matrix());
}

double ZiRandomEffectsModel::deviance_at(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta) {
    ++n_eval_;
    have_mode_ = false;
    const int nt_cond = static_cast<int>(cond_.lambda().ntheta());
    if (theta.size() != static_cast<Eigen::Index>(lambda().ntheta())) throw std::invalid_argument("theta has the wrong length");
    cond_.set_theta(theta.head(nt_cond));
    system_.set_theta(theta);
    beta_ = beta;
    if (!move_to(u_, beta_)) {
        // A start outside the family's domain: from u = 0.
        if (!move_to(Eigen::VectorXd::Zero(q()), beta_)) throw PirlsError("invalid linear predictor at u = 0");
    }
    double pdev = penalised_deviance();
    Eigen::VectorXd g;
    bool converged = false;
    int full_steps = 0;
    for (int it = 0; it < kMaxIterations; ++it) {
        ++n_newton_;
        const bool exact = gradient_and_factor(false, g);
        if (!exact && !gradient_and_factor(true, g))
            throw PirlsError("the zero-inflation random effects' system is not positive definite");
        const Eigen::VectorXd du = system_.solve(g);
        const double decrement = g.dot(du);
        if (!std::isfinite(decrement)) throw PirlsError("non-finite Newton step for the random effects");
        if (exact && decrement < kQuadraticRegion * (1.0 + std::abs(pdev))) {
            const Eigen::VectorXd u0 = u_;
            if (!move_to(u0 + du, beta_)) {
                move_to(u0, beta_);
                converged = true;
                break;
            }
            pdev = penalised_deviance();
            if (du.lpNorm<Eigen::Infinity>() < kStepTolerance || ++full_steps >= kMaxFullSteps) {
                converged = true;
                break;
            }
            continue;
        }
        const Eigen::VectorXd u0 = u_;
        double step = 1.0;
        bool accepted = false;
        for (int h = 0; h <= kMaxHalvings; ++h, step *= 0.5) {
            if (move_to(u0 + step * du, beta_)) {
                const double trial = penalised_deviance();
                if (std::isfinite(trial) && trial <= pdev + 1e-12 * (1.0 + std::abs(pdev))) {
                    pdev = trial;
                    accepted = true;
                    break;
                }
            }
        }
        if (!accepted) {
            move_to(u0, beta_);
            // No decrease along the step: at the mode to rounding.
            converged = true;
            break;
        }
    }
    if (!converged) throw PirlsError("the random effects' Newton iterations did not converge");
    if (!gradient_and_factor(false, g))
        throw PirlsError("the Hessian at the random effects' mode is not positive definite");
    laplace_ = pdev + system_.log_det();
    have_mode_ = true;
    return laplace_;
}

Eigen::MatrixXd ZiRandomEffectsModel::cond_var(int t) const {
    if (n_eval_ == 0) throw std::logic_error("cond_var needs a deviance_at first (the mode's factorisation)");
    return conditional_variance(system_.lambda(), system_.factorisation(), t);
}

}  // namespace glmmfast
