// quasi_newton.hpp — BFGS on an Objective with an exact gradient, started
// from a known Hessian.
//
// Interface: `quasi_newton(obj, x0, hess0, lower, ftol_abs, max_iter, start)`
// returns {true, x, f} at convergence, leaving the objective's model at x,
// or {false, ...} where it cannot finish (the full step crosses a bound
// in 10 successive iterations, a PIRLS failure, a Hessian approximation
// that is not positive definite, no decrease after 10 halvings): the caller falls back to L-BFGS / BOBYQA.
// After max_iter iterations without converging it returns {false, at_max_iter
// = true}; then and at convergence with the iteration's state (x, f, gradient,
// inverse Hessian approximation), from which a caller may resume: the joint
// stage does, in rounds, to take diverging zero-inflation coefficients out of
// the search (fit/_optimize.py).
// Used where a good Hessian is at hand: a refit (the Hessian at the
// original optimum) and the joint stage of a fit (one measured at its
// start).  In C++ so that the loop runs without the GIL: bootstrap threads
// then overlap whole refits, not just deviance evaluations.
#pragma once

#include <Eigen/Core>

#include "optim/objective.hpp"

namespace glmmfast {

struct QuasiNewtonResult {
    bool done = false;
    Eigen::VectorXd x;
    double f = 0.0;
    bool at_max_iter = false;          // stopped after max_iter iterations, not converged: the state below is set
    Eigen::VectorXd gradient;          // at x (with done or at_max_iter)
    Eigen::MatrixXd inverse_hessian;   // BFGS's approximation at x (with done or at_max_iter)
};

// `start` (optional): f and its gradient at x0, already evaluated.
// `max_step` (optional, one entry per coordinate, +inf: none): the largest
// move of each coordinate in one iteration; a longer step is shortened as a
// whole (its direction kept) before the backtracking.  For coordinates on a
// log scale, where one BFGS step of 20 (a t's df from 10 to 1e-8) lands where
// PIRLS grinds through all its iterations and fails.
// `hess0_is_inverse`: hess0 is the inverse Hessian approximation (a resumed
// iteration's, at_max_iter's inverse_hessian), taken as it is.
QuasiNewtonResult quasi_newton(Objective& obj, const Eigen::VectorXd& x0, const Eigen::MatrixXd& hess0,
                               const Eigen::VectorXd& lower, double ftol_abs, int max_iter,
                               const std::pair<double, Eigen::VectorXd>* start = nullptr,
                               const Eigen::VectorXd* max_step = nullptr, bool hess0_is_inverse = false);

}  // namespace glmmfast
