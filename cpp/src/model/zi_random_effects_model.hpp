// zi_random_effects_model.hpp — a zero-inflated (or hurdle) GLMM with random
// effects in the zero-inflation predictor (glmmTMB's ziformula = ~ x + (1 | g)),
// integrated jointly with the conditional random effects by one Laplace
// approximation, as glmmTMB does.
//
// Math.  eta = X beta + offset + U_c u_c and eta_zi = X_zi beta_zi +
// offset_zi + U_z u_z, u = [u_c; u_z] ~ N(0, I), b = Lambda(theta) u with
// theta = [theta_c; theta_z] (the conditional terms' parameters, then the
// zero-inflation terms').  With f_ZI the mixture of family/zero_inflation.hpp
// (p = logistic(eta_zi), pi = P(structural zero | y), s and h the base's
// score and information in eta, wt the prior weight), the per-observation
// derivatives of l = log f_ZI(y | eta, eta_zi) are
//     dl/deta     = wt (1 - pi) s              (the conditional path's score)
//     dl/deta_zi  = wt (pi - p)
//     -d2l/deta2        = wt [(1 - pi) h - pi (1 - pi) s^2]   (its information)
//     -d2l/deta_zi2     = wt [p (1 - p) - pi (1 - pi)]
//     -d2l/deta deta_zi = wt pi (1 - pi) s  (= pi times the conditional score),
// using d pi / d eta = -pi (1 - pi) s and d pi / d eta_zi = pi (1 - pi).
// The penalised deviance -2 sum l + ||u||^2 is minimised in u by Newton
// steps with A = U'HU + I (linalg/coupled_penalized_system.hpp: H the
// 2 x 2 blocks above), falling back to a positive-definite Fisher-type A
// (h11 the conditional path's Fisher weight, h22 = wt p (1 - p), h12 = 0)
// where the exact one is not positive definite, with step halving; at the
// mode A is refactorised with the exact Hessian and
//     -2 log L ~= -2 sum l(u-hat) + ||u-hat||^2 + log det A
// (the Laplace approximation with glmmTMB's exact Hessian).
//
// Interface: `ZiRandomEffectsModel(conditional, Z, terms, n_cond_terms,
// X_zi, offset_zi)` borrows a GlmmModel for the conditional part, set up
// with its zero inflation (set_zero_inflation) and family parameters (it
// evaluates the family's mixture terms); Z = [Z_c Z_zi] and the terms of
// both parts, the first n_cond_terms conditional.  deviance_at(theta, beta)
// at the beta_zi of set_beta_zi; u, b, the zero-inflation linear predictor;
// cond_var(t), the conditional variances of term t's random effects.
// laplace_gradient() is the exact gradient in (theta, beta, beta_zi) and the
// family's parameters (beta_disp, log parameters)
// (zi_random_effects_gradient.cpp).
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

#include "linalg/coupled_penalized_system.hpp"
#include "model/glmm_model.hpp"

namespace glmmfast {

class ZiRandomEffectsModel {
public:
    ZiRandomEffectsModel(GlmmModel& conditional, const SpMat& Z, const std::vector<TermShape>& terms,
                         int n_cond_terms, Eigen::MatrixXd X_zi, Eigen::VectorXd offset_zi,
                         const std::string& factorization = "auto");

    int n() const { return system_.n(); }
    int q() const { return system_.q(); }
    int q_cond() const { return system_.q_first(); }
    int n_zi() const { return static_cast<int>(X_zi_.cols()); }
    const LambdaMap& lambda() const { return system_.lambda(); }
    GlmmModel& conditional() { return cond_; }

    void set_beta_zi(const Eigen::VectorXd& beta_zi);
    const Eigen::VectorXd& beta_zi() const { return beta_zi_; }
    void set_u(const Eigen::VectorXd& u);
    const Eigen::VectorXd& u() const { return u_; }
    Eigen::VectorXd b() const { return system_.b(u_); }
    // X_zi beta_zi + offset_zi + U_z u_z at the current state.
    Eigen::VectorXd eta_zi() const;

    // Conditional modes for (theta, beta) at the current beta_zi and
    // family parameters, then the Laplace deviance (PirlsError where the
    // mode or a positive-definite A cannot be found).
    double deviance_at(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta);
    double laplace_deviance() const { return laplace_; }
    // d laplace_deviance / d(theta, beta, beta_zi, beta_disp (the
    // conditional model's dispersion model, if any), the log of each family
    // parameter named in log_parameters ("dispersion" or a shape's name)) at
    // the mode of the last deviance_at (zi_random_effects_gradient.cpp, the
    // derivation there).
    Eigen::VectorXd laplace_gradient(const std::vector<std::string>& log_parameters = {}) const;
    // Var(b | y) blocks of term t (both parts' terms, in order) at the last
    // deviance_at's mode: T_t [A^{-1}]_ll T_t' (model/conditional_variance.hpp)
    // with A's exact Hessian blocks, given the outer parameters.
    Eigen::MatrixXd cond_var(int t) const;
    long evaluations() const { return n_eval_; }
    long newton_iterations() const { return n_newton_; }

private:
    // Moves the conditional model to (u, beta): both linear predictors;
    // false where the conditional eta is not valid for the family.
    bool move_to(const Eigen::VectorXd& u, const Eigen::VectorXd& beta);
    double penalised_deviance() const { return -2.0 * cond_.observation_loglik() + u_.squaredNorm(); }
    // The gradient of sum l - ||u||^2 / 2 in u, and A factorised with the
    // exact blocks (fisher: the positive Fisher-type ones); false: A not
    // positive definite.
    bool gradient_and_factor(bool fisher, Eigen::VectorXd& g);

    GlmmModel& cond_;
    CoupledPenalizedSystem system_;
    Eigen::MatrixXd X_zi_;
    Eigen::VectorXd offset_zi_, beta_zi_, u_, beta_;
    double laplace_ = 0.0;
    bool have_mode_ = false;  // the state is a converged mode with the exact factor
    long n_eval_ = 0, n_newton_ = 0;
};

}  // namespace glmmfast
