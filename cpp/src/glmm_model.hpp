// glmm_model.hpp — a GLMM set up once and evaluated at many (theta, beta).
//
// Interface: `GlmmModel` holds X (dense n x p), the response, prior
// weights, offset, the family and the PenalizedSystem (Z, Lambda(theta) and
// the factorisation of A = Lambda' Z' W Z Lambda + I, analysed once).
// State (beta, u, eta, mu) is kept warm between evaluations.
//   pirls.cpp    — penalised IRLS for u (and optionally beta)
//   laplace.cpp  — the Laplace deviance and conditional variances
// Errors in the inner loop are thrown as `PirlsError` so the caller (the
// outer optimiser) can back off instead of aborting.
#pragma once

#include <Eigen/Core>
#include <Eigen/Cholesky>
#include <stdexcept>
#include <vector>

#include "family.hpp"
#include "penalized_system.hpp"

namespace glmmfast {

struct PirlsError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct PirlsOptions {
    int max_iter = 300;
    int max_halvings = 30;
    // Stop when the penalised deviance decreases by less than
    // tol * (1 + |pdev|); Newton's quadratic convergence makes the
    // remaining error far smaller than this.
    double tol = 1e-11;
};

class GlmmModel {
public:
    GlmmModel(Eigen::MatrixXd X, SpMat Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights,
              Eigen::VectorXd offset, Family family, std::vector<TermShape> terms);

    int n() const { return static_cast<int>(y_.size()); }
    int p() const { return static_cast<int>(X_.cols()); }
    int q() const { return sys_.q(); }
    const LambdaMap& lambda() const { return sys_.lambda(); }
    const Family& family() const { return family_; }

    void set_theta(const Eigen::VectorXd& theta);
    void set_beta(const Eigen::VectorXd& beta);
    void set_u(const Eigen::VectorXd& u);
    void set_response(const Eigen::VectorXd& y, const Eigen::VectorXd& prior_weights);
    const Eigen::VectorXd& theta() const { return theta_; }
    const Eigen::VectorXd& beta() const { return beta_; }
    const Eigen::VectorXd& u() const { return u_; }
    const Eigen::VectorXd& eta() const { return eta_; }
    const Eigen::VectorXd& mu() const { return mu_; }
    const Eigen::VectorXd& y() const { return y_; }
    const Eigen::VectorXd& prior_weights() const { return pw_; }
    Eigen::VectorXd b() const { return sys_.lambda().matrix() * u_; }

    // --- pirls.cpp ---
    // Penalised IRLS from the current state; returns the number of
    // iterations.  With update_beta the fixed effects move jointly with u
    // (lme4's nAGQ = 0 step), otherwise beta stays fixed.
    int pirls(bool update_beta, const PirlsOptions& opt = PirlsOptions());

    // --- laplace.cpp ---
    // -2 log L by the Laplace approximation at the current (converged) state.
    double laplace_deviance() const;
    // set_theta + set_beta + PIRLS for u + Laplace deviance.
    double deviance_at(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta);
    // set_theta + PIRLS for (u, beta) + Laplace deviance.
    double deviance_profiled_beta(const Eigen::VectorXd& theta);
    // Var(b_j | y) blocks (k x k) for every level of term t, stacked as a
    // (nlevels*k) x k matrix, up to the scale sigma^2.
    Eigen::MatrixXd cond_var(int t) const;
    // (X'WX - X'WU A^{-1} U'WX)^{-1}: the unscaled covariance of beta-hat.
    Eigen::MatrixXd beta_unscaled_vcov() const;
    double sum_dev_resid() const;

    long evaluations() const { return n_eval_; }
    long pirls_iterations() const { return n_pirls_; }

private:
    static void check_finite(const Eigen::MatrixXd& a, const char* what);
    static void check_response(const Eigen::VectorXd& y, const Eigen::VectorXd& prior_weights);
    // Throws std::logic_error unless a factorisation and mu exist (the
    // results below read them).
    void require_state() const;
    void update_linear_predictor();
    void update_weights();
    void factor();
    double penalised_deviance() const;
    void solve_u_step(Eigen::VectorXd& du) const;
    void solve_joint_step(Eigen::VectorXd& du, Eigen::VectorXd& dbeta) const;

    Eigen::MatrixXd X_;
    SpMat Z_;
    Eigen::VectorXd y_, pw_, offset_;
    Family family_;
    PenalizedSystem sys_;
    Eigen::VectorXd theta_, beta_, u_;
    // Derived state at the current point.
    Eigen::VectorXd eta_, mu_, sqrtw_, wres_;
    long n_eval_ = 0, n_pirls_ = 0;
    bool factored_ = false;
};

}  // namespace glmmfast
