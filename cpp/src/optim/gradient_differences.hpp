// gradient_differences.hpp — the Hessian of an Objective by central differences of its exact gradient.
//
// Interface: `central_difference_hessian(obj, x, h)` returns {g, H} with
//   g = gradient at x,
//   H[:, i] = (g(x + h_i e_i) - g(x - h_i e_i)) / (2 h_i),  then H <- (H + H') / 2,
// O(h^2) accurate, 1 + 2d gradient evaluations in this order (each PIRLS
// starts from where the previous one left the conditional modes), all in one
// engine call: the Hessian of -2 log L behind a GLMM's standard errors and
// lme4's convergence checks, and a refit's warm start.  Throws where an
// evaluation does (PirlsError); leaves the model at the last point evaluated
// (callers re-evaluate at x).
#pragma once

#include <Eigen/Core>

#include "optim/objective.hpp"

namespace glmmfast {

struct GradientHessian {
    Eigen::VectorXd gradient;
    Eigen::MatrixXd hessian;
};

// `h`: the step of each coordinate (h.size() == x.size()); `obj` must have a gradient.
GradientHessian central_difference_hessian(Objective& obj, const Eigen::VectorXd& x, const Eigen::VectorXd& h);

}  // namespace glmmfast
