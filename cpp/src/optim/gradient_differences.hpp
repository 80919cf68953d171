// gradient_differences.hpp — Hessians of an Objective from differences of its exact gradient.
//
// Interface: `forward_difference_columns(obj, x, g, columns, h)` returns the columns
//   C[:, k] = (g(x + h e_i) - g) / h,   i = columns[k],
// of the Hessian at x (g: the gradient there, already evaluated), O(h) accurate, one counted,
// failure-tolerant evaluation each (Objective::operator()), in one engine call: the start Hessians
// of the optimiser's BFGS stages (python/glmmfast/fit/_optimize.py), stepping into the feasible side;
// std::nullopt where an evaluation fails (returns the penalty), the model left where it failed.
//
// `central_difference_hessian(obj, x, h, skip)` returns {g, H} with
//   g = gradient at x,
//   H[:, i] = (g(x + h_i e_i) - g(x - h_i e_i)) / (2 h_i)  (0 for i in skip),  then H <- (H + H') / 2,
// O(h^2) accurate, 1 + 2d gradient evaluations (d - |skip| differenced
// coordinates), all in one engine call: the Hessian of -2 log L behind a
// GLMM's standard errors and lme4's convergence checks, and a refit's warm
// start.  `skip`: coordinates whose rows and columns the caller fills
// itself (a separable zero part's exact block).  Where the objective has a
// neighbour gradient (objective.hpp: the joint Laplace objective) each
// x +- h_i e_i takes its conditional modes by two Newton steps from those at
// x (an error O(h) -> O(h^2) -> O(h^4), rounding at h ~ 1e-4), or where the
// modes' slope in x_i is known (beta's: Objective::mode_slopes) by one step
// from the modes predicted to first order (O(h^2) -> O(h^4); two where the
// predicted move exceeds 1e-3), instead of a
// PIRLS with its step-halving and deviance; elsewhere (or where such a step
// fails) each PIRLS starts from where the previous one left the modes.
// Throws where an evaluation does (PirlsError).  With neighbour gradients it
// leaves the model in the state its evaluation at x left
// (Objective::return_to: one factorisation, no PIRLS); otherwise at the
// last point evaluated (callers re-evaluate at x).
#pragma once

#include <Eigen/Core>
#include <optional>
#include <vector>

#include "optim/objective.hpp"

namespace glmmfast {

struct GradientHessian {
    Eigen::VectorXd gradient;
    Eigen::MatrixXd hessian;
};

// `columns`: coordinates of x to difference, in order; `obj` must have a gradient.
std::optional<Eigen::MatrixXd> forward_difference_columns(Objective& obj, const Eigen::VectorXd& x,
                                                          const Eigen::VectorXd& g, const std::vector<int>& columns,
                                                          double h);

// `h`: the step of each coordinate (h.size() == x.size()); `obj` must have a gradient.
GradientHessian central_difference_hessian(Objective& obj, const Eigen::VectorXd& x, const Eigen::VectorXd& h,
                                           const std::vector<int>& skip = {});

}  // namespace glmmfast
