// objective.hpp — the deviance as a function of the outer optimiser's coordinates.
//
// Interface: an `Objective` maps the optimiser's vector x to the criterion
// it minimises, counts evaluations, remembers the best point, and turns a
// PIRLS failure (or a non-finite value) into a large penalty after
// resetting the conditional modes, so a derivative-free optimiser backs off
// instead of stopping.  `evaluate(x)` is the raw map (it throws).
// Keeping this map in C++ means an optimiser evaluation costs no
// interpreter work beyond the optimiser's own call: on small models that
// overhead was larger than PIRLS itself.
//
// Coordinates (the stages of lme4's optimizeGlmer):
//   GLMM, beta in PIRLS (stage 1):   x = (theta / s, beta_zi, beta_disp, [log par])
//   GLMM, joint (stage 2):           x = (theta / s, gamma, beta_zi, beta_disp, [log par]),
//                                    beta = beta_base + beta_scale .* gamma
//   LMM:                             x = theta (beta, sigma profiled)
//   function:                        x as the caller's function takes it
// s is theta_scale; beta_zi the zero-inflation coefficients of a
// zero-inflated model (GlmmModel::n_zi() of them, none otherwise); beta_disp
// the dispersion model's (GlmmModel::n_disp(), none otherwise); "par" is
// the estimated family parameter (dispersion phi, the negative-binomial
// shape, or parameters by name: the t's sigma and df, the Tweedie's
// "dispersion" and power), each optimised on the log scale, or, bounded on
// both sides (JointCoordinates::bounds), on the logit scale between them:
//   value = lower + (upper - lower) / (1 + e^-x)   (glmmTMB's Tweedie power: logit(p - 1)),
// its gradient from the model's in log value by d log value / dx = (value - lower) (upper - value) /
// ((upper - lower) value).
#pragma once

#include <Eigen/Core>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/cross_product_lmm.hpp"
#include "model/glmm_model.hpp"
#include "model/partitioned_glmm.hpp"

namespace glmmfast {

enum class FamilyParameter { None, Dispersion, NbTheta, Shape };

struct JointCoordinates {
    double theta_scale = 1.0;
    Eigen::VectorXd beta_base, beta_scale;  // joint stage only
    FamilyParameter parameter = FamilyParameter::None;
    std::vector<std::string> shape_names;   // the shape parameters' names (Shape), one coordinate each
                                            // ("dispersion" among them: phi, set_dispersion)
    // (lower, upper) per family-parameter coordinate, in order (empty: every one on the log scale);
    // an infinite upper bound: the log scale, a finite one: the logit scale between the two.
    std::vector<std::pair<double, double>> bounds;
    int nagq = 1;                           // joint stage: 1 Laplace, k > 1 AGQ
};

class Objective {
public:
    // Value returned where PIRLS fails or the deviance is not finite.
    static constexpr double penalty = 1e15;

    // Stage 1: theta (and the family parameter); beta moves inside PIRLS.
    // Model: GlmmModel, or PartitionedGlmm (Laplace; no zero inflation or dispersion model).
    template <class Model>
    static Objective profiled_beta(Model& model, const JointCoordinates& c);
    // Stage 2: theta, beta (and the family parameter) on the Laplace or AGQ deviance.
    template <class Model>
    static Objective joint(Model& model, const JointCoordinates& c);
    // The profiled LMM criterion: -2 log L (reml = false) or REML.
    // model: a CrossProductLmm, or an LmmModel (one with its rows in memory).
    static Objective lmm(CrossProductLmm& model, bool reml);
    // Any criterion the models do not spell (the profile deviance on the
    // standard-deviation/correlation scale; the zi-random-effects model's
    // deviance): `eval` may throw PirlsError, `reset` restores a safe PIRLS
    // start after a failure; `gradient` (may be empty: none) the gradient at
    // the point `eval` last evaluated.
    static Objective function(int dim, std::function<double(const Eigen::VectorXd&)> eval,
                              std::function<void()> reset,
                              std::function<Eigen::VectorXd()> gradient = {});

    int dim() const { return dim_; }
    // The criterion at x; throws PirlsError where it cannot be computed.
    double evaluate(const Eigen::VectorXd& x);
    // Its gradient at x (where has_gradient()); throws as evaluate.  Counted
    // as an evaluation with its gradient (as operator() with `grad` counts),
    // not failure-tolerant.
    Eigen::VectorXd gradient(const Eigen::VectorXd& x);
    // Counted, failure-tolerant evaluation (what the optimiser calls); with
    // `grad` (only where has_gradient()) also the gradient in x (zero where
    // the value is the failure penalty).
    double operator()(const Eigen::VectorXd& x, Eigen::VectorXd* grad = nullptr);
    // The exact gradient exists: the LMM criteria, and the Laplace
    // objectives (joint, or beta in PIRLS) of a model with
    // has_laplace_gradient(), in every coordinate (theta, beta, beta_zi,
    // the log family parameter); AGQ's where has_agq_gradient() (theta, beta).
    bool has_gradient() const { return static_cast<bool>(grad_); }

    // The gradient at x with the conditional modes taken by `steps` plain
    // Newton steps from `modes` (modes() at a point a finite-difference step
    // from x; GlmmModel::newton_modes): no PIRLS and no deviance.  Empty
    // where a step fails (evaluate x in full then).  Counted as gradient().
    // Only the joint Laplace objective of an in-memory GlmmModel has it.
    bool has_neighbour_gradient() const { return static_cast<bool>(neighbour_grad_); }
    // The conditional modes at the point last evaluated (where has_neighbour_gradient()).
    Eigen::VectorXd modes() const;
    // Puts the model back in the state an evaluation at x left, from the modes it reached (`modes()`
    // then; GlmmModel::return_to_mode: one factorisation, no PIRLS) (where has_neighbour_gradient()).
    void return_to(const Eigen::VectorXd& x, const Eigen::VectorXd& modes);
    Eigen::VectorXd neighbour_gradient(const Eigen::VectorXd& x, const Eigen::VectorXd& modes, int steps);
    // d modes / dx at the point last evaluated, q x dim, NaN in the columns not known (where
    // has_neighbour_gradient(): beta's, GlmmModel::mode_beta_slopes; empty matrix elsewhere).
    Eigen::MatrixXd mode_slopes() const { return mode_slopes_ ? mode_slopes_() : Eigen::MatrixXd(); }

    long evaluations() const { return evaluations_; }
    // Evaluations that also computed the gradient (counted in evaluations()
    // too: gradient_evaluations() <= evaluations() always).
    long gradient_evaluations() const { return gradient_evaluations_; }
    long failures() const { return failures_; }
    bool has_best() const { return best_x_.size() > 0; }
    const Eigen::VectorXd& best_x() const { return best_x_; }
    double best_f() const { return best_f_; }
    const std::string& last_error() const { return last_error_; }
    // Forget the best point (a new optimisation on the same objective).
    void clear_best();
    // The criterion at best_x() again, PIRLS started from the conditional modes (and, with beta in
    // PIRLS, the beta) that the best evaluation reached (the GLMM objectives remember them; elsewhere
    // a plain evaluate(best_x())).  Where the conditional-mode problem has several modes (a Student-t
    // GLMM), PIRLS from another start can end in another one at the same x: its criterion then
    // differs from best_f() by far more than PIRLS's tolerance.  Throws as evaluate; not counted.
    double return_to_best();

private:
    Objective(int dim, std::function<double(const Eigen::VectorXd&)> eval, std::function<void()> reset)
        : dim_(dim), eval_(std::move(eval)), reset_(std::move(reset)) {}
    int dim_;
    std::function<double(const Eigen::VectorXd&)> eval_;
    std::function<void()> reset_;  // back to a safe PIRLS start after a failure
    // Gradient in x at the point just evaluated (empty: none).
    std::function<Eigen::VectorXd()> grad_;
    // neighbour_gradient's and modes()'s (empty: none).
    std::function<Eigen::VectorXd(const Eigen::VectorXd&, const Eigen::VectorXd&, int)> neighbour_grad_;
    std::function<Eigen::VectorXd()> modes_;
    std::function<void(const Eigen::VectorXd&, const Eigen::VectorXd&)> return_to_;
    std::function<Eigen::MatrixXd()> mode_slopes_;
    // The model's PIRLS state after an evaluation, and its restoration (empty: none; return_to_best).
    std::function<Eigen::VectorXd()> state_;
    std::function<void(const Eigen::VectorXd&)> restore_state_;
    Eigen::VectorXd best_state_;
    long evaluations_ = 0, gradient_evaluations_ = 0, failures_ = 0;
    Eigen::VectorXd best_x_;
    double best_f_ = 0.0;
    std::string last_error_;
};

}  // namespace glmmfast
