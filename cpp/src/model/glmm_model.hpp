// glmm_model.hpp — a GLMM set up once and evaluated at many (theta, beta).
//
// Interface: `GlmmModel` holds X (dense n x p), the response, prior
// weights, offset, the family and the PenalizedSystem (Z, Lambda(theta) and
// the factorisation of A = Lambda' Z' W Z Lambda + I, analysed once).
// State (beta, u, eta, mu) is kept warm between evaluations.
// Families with a dispersion phi (gaussian, Gamma, inverse Gaussian) take it
// through set_dispersion: the conditional log density is then
// -(1/2) sum d_i / phi + const, so PIRLS works with weights W / phi and the
// Laplace term uses A = Lambda'Z'(W/phi)Z Lambda + I.  The negative-binomial
// shape is set through set_nb_theta (it changes V(mu)).  The Laplace term
// uses the exact Hessian of the conditional log density at the mode (the
// observed information), as glmmTMB; for canonical links it equals the
// expected information lme4 uses.
//   pirls.cpp    — penalised IRLS for u (and optionally beta)
//   laplace.cpp  — the Laplace deviance and conditional variances
//   agq.cpp      — adaptive Gauss-Hermite quadrature (one scalar term)
//   agq_gradient.cpp — its exact gradient (canonical link, no dispersion)
//   laplace_gradient.cpp, observation_gradient.cpp — the exact gradient of
//                  the Laplace deviance in every outer coordinate
//   reml_gradient.cpp — the gradient of log det H_beta (glmmTMB's REML term)
//   observation_model.cpp — the general observation path: zero inflation
//                  (set_zero_inflation, set_beta_zi: p_i = logistic(offset_zi
//                  + X_zi beta_zi), family/zero_inflation.hpp) and families
//                  outside the exponential-dispersion form (nbinom1, the
//                  truncated counts).  There the penalised deviance is
//                  -2 sum log f_i + ||u||^2, PIRLS's Fisher steps use the
//                  exact score with a positive weight, then Newton steps with
//                  the exact (possibly indefinite per observation) Hessian
//                  polish the mode, whose A the Laplace term uses.
// Errors in the inner loop are thrown as `PirlsError` so the caller (the
// outer optimiser) can back off instead of aborting.
#pragma once

#include <Eigen/Core>
#include <Eigen/Cholesky>
#include <optional>
#include <stdexcept>
#include <vector>

#include "family/family.hpp"
#include "family/varying_parameter.hpp"
#include "linalg/fixed_effects_elimination.hpp"
#include "linalg/penalized_system.hpp"
#include "model/response_sums.hpp"

namespace glmmfast {

struct PirlsError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A k-point Gauss-Hermite rule for integrals against the standard normal
// density, sum_i weights[i] f(nodes[i]) ~= int f(z) phi(z) dz, exact for
// polynomials of degree <= 2k - 1 (lme4's GHrule).  In agq.cpp.
struct GaussHermiteRule {
    Eigen::VectorXd nodes, weights;
};
GaussHermiteRule gauss_hermite_rule(int k);

// PIRLS's weights at eta for an exponential-dispersion family (no zero
// inflation, no dispersion model): sqrtw = |W|^{1/2}, the working residual
// wres (sqrtw^2 wres = the score in eta) and the signs of W in wsign (empty
// where none is negative); W the Fisher weights, or with `exact` the
// observed information (the same for a canonical link).  GlmmModel's
// update_weights and a partition of the rows (row_block.hpp) share them.
void exponential_dispersion_weights(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                    const Eigen::ArrayXd& mu, const Eigen::ArrayXd& pw, double phi, bool exact,
                                    Eigen::VectorXd& sqrtw, Eigen::VectorXd& wres, Eigen::VectorXd& wsign);
// phi itself, or PirlsError where it is not positive and finite; and a shape
// parameter set on `family` by name (std::invalid_argument for a name it
// lacks, PirlsError for a value that is not positive and finite).  The models'
// setters (GlmmModel, PartitionedGlmm) share them.
double checked_dispersion(double phi);
void set_family_shape(Family& family, const std::string& name, double value);

struct PirlsOptions {
    int max_iter = 300;
    int max_halvings = 30;
    // Stop after a step whose Newton decrement (the decrease it promised)
    // was below tol * (1 + |pdev|); the error left in u is then of the
    // order of that step squared.
    double tol = 1e-10;
};

class GlmmModel {
public:
    GlmmModel(Eigen::MatrixXd X, SpMat Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights,
              Eigen::VectorXd offset, Family family, std::vector<TermShape> terms,
              const std::string& factorization = "auto");

    int n() const { return static_cast<int>(y_.size()); }
    int p() const { return static_cast<int>(X_.cols()); }
    int q() const { return sys_.q(); }
    const LambdaMap& lambda() const { return sys_.lambda(); }
    const Family& family() const { return family_; }
    const PenalizedSystem& system() const { return sys_; }

    void set_theta(const Eigen::VectorXd& theta);
    void set_beta(const Eigen::VectorXd& beta);
    void set_u(const Eigen::VectorXd& u);
    void set_response(const Eigen::VectorXd& y, const Eigen::VectorXd& prior_weights);
    void set_dispersion(double phi);
    void set_nb_theta(double theta);
    // A shape parameter of the distribution by name (nbinom1's "phi", ...).
    void set_shape(const std::string& name, double value);

    // --- observation_model.cpp ---
    // Zero inflation with design X_zi (n x p_zi) and offset; beta_zi starts at 0.
    void set_zero_inflation(Eigen::MatrixXd X_zi, Eigen::VectorXd offset_zi);
    void set_beta_zi(const Eigen::VectorXd& beta_zi);
    int n_zi() const { return static_cast<int>(X_zi_.cols()); }
    bool zero_inflated() const { return X_zi_.cols() > 0; }
    const Eigen::VectorXd& beta_zi() const { return beta_zi_; }
    // p_i = logistic(offset_zi + X_zi beta_zi) (zeros without zero inflation).
    Eigen::VectorXd zi_probability() const;
    // The dispersion model with design X_d (n x p_d, possibly no columns:
    // a fixed value from the offset) for the family parameter `parameter`
    // ("dispersion" or a shape's name), p_i = exp(power eta_d,i); beta_disp
    // starts at 0.  The scalar parameter is then unused.
    void set_dispersion_model(Eigen::MatrixXd X_d, Eigen::VectorXd offset_d, const std::string& parameter,
                              double power);
    void set_beta_disp(const Eigen::VectorXd& beta_disp);
    int n_disp() const { return static_cast<int>(X_disp_.cols()); }
    // The exact gradient's observation terms at the current eta (and zero
    // inflation; structural_zero: the posterior of a structural zero) with a
    // family parameter moved on its log scale by log_step, the mode held
    // (observation_gradient.cpp): `parameter` "" every row's dispersion-model
    // parameter, else "dispersion" or a shape by name.
    ObservationTerms moved_parameter_terms(const std::string& parameter, double log_step,
                                           Eigen::ArrayXd* structural_zero = nullptr) const;
    // d/d beta_disp of a per-row derivative in each row's log parameter:
    // power X_d' per_row (log p_i = power eta_d,i).
    Eigen::VectorXd dispersion_model_chain(const Eigen::ArrayXd& per_row) const {
        return disp_power_ * (X_disp_.transpose() * per_row.matrix());
    }
    bool has_dispersion_model() const { return !varying_.name.empty(); }
    const Eigen::VectorXd& beta_disp() const { return beta_disp_; }
    // The family parameter per observation (empty without a dispersion model).
    Eigen::VectorXd dispersion_values() const { return varying_.values.matrix(); }
    // Whether the general observation path is in use (see above).
    bool general_observation() const {
        return zero_inflated() || has_dispersion_model() || !family_.exponential_dispersion();
    }
    // Prior-weighted log density (with zero inflation; left empty without
    // with_log_density), score and observed information in eta at the
    // current eta (and P(structural zero | y)).
    ObservationTerms observation_terms(Eigen::ArrayXd* structural_zero = nullptr, bool with_log_density = true) const;
    // Their sum of log densities only (the penalised deviance's and the Laplace term's).
    double observation_loglik() const;
    // observation_terms with the exact gradient's extras (the information's
    // eta-derivative and the zero-inflation derivatives; observation_gradient.cpp)
    // and P(structural zero | y): what a model over this one needs for its own
    // Laplace gradient (zi_random_effects_model.cpp).
    ObservationTerms exact_observation_terms(Eigen::ArrayXd* structural_zero) const {
        return gradient_terms(family_, phi_, true, structural_zero);
    }
    const Eigen::MatrixXd& X() const { return X_; }
    double dispersion() const { return phi_; }
    const Eigen::VectorXd& theta() const { return theta_; }
    const Eigen::VectorXd& beta() const { return beta_; }
    const Eigen::VectorXd& u() const { return u_; }
    const Eigen::ArrayXd& eta() const { return eta_; }
    const Eigen::ArrayXd& mu() const { return mu_; }
    const Eigen::ArrayXd& y() const { return y_; }
    const Eigen::ArrayXd& prior_weights() const { return pw_; }
    Eigen::VectorXd b() const { return sys_.lambda().matrix() * u_; }

    // --- pirls.cpp ---
    // Penalised IRLS from the current state; returns the number of
    // iterations.  With update_beta the fixed effects move jointly with u
    // (lme4's nAGQ = 0 step), otherwise beta stays fixed.
    int pirls(bool update_beta, const PirlsOptions& opt = PirlsOptions());
    // PIRLS and then the Laplace deviance at the mode (deviance_at's, deviance_profiled_beta's).
    double pirls_laplace_deviance(bool update_beta);
    // The conditional modes at the current (theta, beta) by `steps` Newton
    // steps in u with the exact Hessian from the current u (a neighbouring
    // point's modes: the Hessian's central differences), without PIRLS's
    // step-halving and deviance; ends on the exact factor at the last point
    // (laplace_gradient's state).  False where the linear predictor is
    // invalid or the exact Hessian not positive definite on the way (the
    // state is then no mode: run pirls()).
    bool newton_modes(int steps);
    // The state a PIRLS that converged to the modes `u` at the current (theta, beta) left (pirls_to_mode's
    // last step: the linear predictor at u, the exact weights and their factor), rebuilt without
    // iterating: one factorisation instead of a PIRLS from elsewhere (the standard errors' Hessian
    // returning to its centre, gradient_differences.hpp).  PirlsError where the linear predictor is invalid.
    void return_to_mode(const Eigen::VectorXd& u);
    // d u-hat / d beta at the mode of the last factorisation (its exact weights): U's - u = 0 moves with
    // beta as A du = -U'WX dbeta, so -A^{-1} U'WX (q x p).
    Eigen::MatrixXd mode_beta_slopes() const;
    // The steps pirls_loop (pirls_loop.hpp) drives: set (u, beta) and the
    // linear predictor (false: invalid), Fisher weights and the factor, the
    // Newton step and its decrement.
    bool move_to(const Eigen::VectorXd& u, const Eigen::VectorXd& beta);
    void refresh();
    double step(bool update_beta, Eigen::VectorXd& du, Eigen::VectorXd& dbeta) const;
    double penalised_deviance() const;
    // pirls_to_mode's (pirls_loop.hpp): whether Newton steps finish the mode;
    // the exact Hessian's weights and factor (false / PirlsError: not positive
    // definite); move_to computes no weights, so the kind it prepares is moot.
    bool newton_finishes() const;
    void use_exact_weights(bool) {}
    bool factor_exact();
    void refresh_exact();

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

    // --- laplace_gradient.cpp, observation_gradient.cpp ---
    // Whether laplace_gradient is available: every family and link, with or
    // without zero inflation and a dispersion model (both factorisations give
    // the selected inverse it needs).
    bool has_laplace_gradient() const;
    // d laplace_deviance / d(theta, beta, beta_zi, beta_disp, log p) at the current
    // (converged) state, p the family parameters named by log_parameters
    // ("dispersion" or shapes' names, one coordinate each; none: empty); with
    // beta_profiled, without beta: the derivatives of the nAGQ = 0 objective
    // (deviance_profiled_beta: beta at its PIRLS optimum, moving with them).
    Eigen::VectorXd laplace_gradient(bool beta_profiled = false,
                                     const std::vector<std::string>& log_parameters = {}) const;

    // --- reml_gradient.cpp ---
    // d log det H_beta / d(theta, beta_disp) at the current (converged) state, H_beta = X'WX - X'WU A^{-1} U'WX
    // (the inverse of beta_unscaled_vcov; glmmTMB's REML adds log det H_beta to the Laplace deviance),
    // available (has_...) where W depends on neither u nor beta: a gaussian identity model whose
    // dispersion model sets phi_i (std::logic_error otherwise).
    bool has_fixed_effects_log_det_gradient() const;
    Eigen::VectorXd fixed_effects_log_det_gradient() const;

    // --- agq.cpp ---
    // -2 log L by adaptive Gauss-Hermite quadrature with `rule` at the
    // current (converged) state, on the Laplace deviance's scale (a one-point
    // rule gives laplace_deviance()).  Only for a single scalar term.
    double agq_deviance(const GaussHermiteRule& rule) const;
    // set_theta + set_beta + PIRLS for u + k-point AGQ deviance.
    double agq_deviance_at(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, int k);

    // --- agq_gradient.cpp ---
    // Whether agq_gradient is available: a single scalar term, a canonical
    // link and no dispersion.
    bool has_agq_gradient() const;
    // The exact gradient in (theta, beta) of the k-point AGQ deviance at the
    // current (converged) state.
    Eigen::VectorXd agq_gradient(int k) const;

    long evaluations() const { return n_eval_; }
    long pirls_iterations() const { return n_pirls_; }

private:
    static void check_finite(const Eigen::MatrixXd& a, const char* what);
    static void check_response(const Eigen::VectorXd& y, const Eigen::VectorXd& prior_weights);
    // Throws std::logic_error unless a factorisation and mu exist (the
    // results below read them).
    void require_state() const;
    void update_linear_predictor();
    // exact = false: Fisher-scoring weights; true: the observed information
    // (signs kept in wsign_ where negative).  See glmm_model.cpp.
    void update_weights(bool exact = false);
    // update_weights on the general observation path (observation_model.cpp).
    void update_general_weights(bool exact);
    // Forgets point_terms_ and point_kernel_ (whenever an input of observation_terms changes).
    void forget_point_terms() {
        point_terms_.reset();
        point_kernel_.reset();
    }
    // The family's loglik kernel (Family::loglik_kernel, a family with has_kernel) at the current
    // point, summed once per point: PIRLS's last penalised deviance and the Laplace deviance at the
    // mode both read it.
    double point_kernel() const;
    // The exact gradient's observation terms at the current eta for `family`
    // at dispersion phi (with the information's eta-derivative and the
    // zero-inflation derivatives when information_deriv), and the gradient
    // in the outer coordinates after beta (observation_gradient.cpp); without
    // with_log_density the terms' log density is left empty.
    ObservationTerms gradient_terms(const Family& family, double phi, bool information_deriv,
                                    Eigen::ArrayXd* structural_zero = nullptr, bool with_log_density = true) const;
    Eigen::VectorXd outer_parameter_gradient(const Eigen::ArrayXd& h, const Eigen::ArrayXd& Uz,
                                             const ObservationTerms& t,
                                             const std::vector<std::string>& log_parameters) const;
    // Whether moving `parameter` (as moved_parameter_terms names it) scales the rows' score and information
    // by 1 / phi and nothing else: the dispersion phi, scalar or per row, without zero inflation.
    bool moves_dispersion_only(const std::string& parameter) const;
    // -2 dl_i / dlog phi per row by central differences of the rows' log density with the dispersion moved
    // on its log scale by +-delta (the log_density of moved_parameter_terms, for a parameter
    // moves_dispersion_only accepts): -(l_i(+delta) - l_i(-delta)) / delta.
    Eigen::ArrayXd dispersion_log_density_slope(const std::string& parameter, double delta) const;
    // The rows' log density with a dispersion model's every phi_i moved on its log scale by log_step.
    Eigen::ArrayXd moved_dispersion_model_log_density(double log_step) const;
    void factor();
    // Each returns the Newton decrement g'd (g = (U'W r - u, X'W r)): the
    // decrease of pdev the full step promises.
    double solve_u_step(Eigen::VectorXd& du) const;
    double solve_joint_step(Eigen::VectorXd& du, Eigen::VectorXd& dbeta) const;
    // R_ZX and R_X at the current factor and weights (laplace.cpp).
    FixedEffectsElimination eliminate_fixed_effects() const;
    // Solves [A U'WX; X'WU X'WX] [du; dbeta] = [gu; gb] at the current factor.
    void solve_joint(const Eigen::VectorXd& gu, const Eigen::VectorXd& gb, Eigen::VectorXd& du,
                     Eigen::VectorXd& dbeta) const;

    Eigen::MatrixXd X_;
    SpMat Z_;
    Eigen::ArrayXd y_, pw_;  // arrays: see response_constants
    Eigen::VectorXd offset_;
    Family family_;
    PenalizedSystem sys_;
    Eigen::VectorXd theta_, beta_, u_;
    // Derived state at the current point.
    Eigen::ArrayXd eta_, mu_;
    Eigen::VectorXd sqrtw_, wres_;
    // Signs of W when some are negative (exact Hessian), else empty.
    Eigen::VectorXd wsign_;
    // With zero inflation, the whole observation terms (log density and eta-derivatives) that
    // penalised_deviance computed at the current point, for the weights PIRLS asks for next there
    // (update_general_weights reads them once): one pass over the rows per point instead of two.
    // Forgotten when eta or a parameter of the rows' terms changes.
    mutable std::optional<ObservationTerms> point_terms_;
    mutable std::optional<double> point_kernel_;  // point_kernel()'s, forgotten with point_terms_
    double phi_ = 1.0;
    // Data-only parts of the log-likelihood, fixed per response.
    ResponseConstants constants_;
    // Zero inflation (observation_model.cpp): design, offset, coefficients
    // and log p, log(1 - p) at them (all empty without).
    Eigen::MatrixXd X_zi_;
    Eigen::VectorXd offset_zi_, beta_zi_;
    Eigen::ArrayXd log_p_zi_, log1m_p_zi_;
    // Dispersion model (observation_model.cpp): design, offset, power,
    // coefficients and the parameter's values at them (name empty without).
    Eigen::MatrixXd X_disp_;
    Eigen::VectorXd offset_disp_, beta_disp_;
    double disp_power_ = 1.0;
    VaryingParameter varying_;
    void update_response_constants();
    long n_eval_ = 0, n_pirls_ = 0;
    GaussHermiteRule agq_rule_;  // the last rule agq_deviance_at used
    bool factored_ = false;
};

}  // namespace glmmfast
