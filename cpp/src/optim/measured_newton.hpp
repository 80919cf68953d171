// measured_newton.hpp — the Hessian from forward differences of an exact gradient, and the Newton step on it
// that polishes a quasi-Newton optimum.
//
// Interface: `measured_hessian(obj, x, h, start)` returns {f, g, H} at x: f and g = the gradient
// (evaluated, or `start`'s where the caller has them), H the forward differences
// (g(x + h e_i) - g) / h of every coordinate (forward_difference_columns: one counted evaluation each),
// symmetrised, (H + H') / 2; std::nullopt where an evaluation fails (f at or above Objective::penalty).
// `measured_newton(obj, x, fx, lower, h, free_tol, reach, start)` measures H at x (step h) and takes
// one Newton step x - H_FF^{-1} g_F on the free coordinates F (not within free_tol of a finite lower
// bound), kept with the gradient there where it lowers the criterion below fx; a step not shorter than
// `reach` in every coordinate (beyond which the measured H no longer holds) or not finite, or an H_FF
// that is singular, leaves x.  With H_FF from differences of the exact gradient the step takes x from
// ~1e-6 to ~1e-9 of the optimum.  It returns the end point, its criterion and gradient, H (measured at
// x) and the decrease g_F' H_FF^{-1} g_F / 2 the Newton model still predicts from the end (its free
// coordinates; NaN where H_FF is singular), from which the caller judges whether to go on; std::nullopt
// where an evaluation of the differences fails.  One engine call for what an LMM fit does at its
// optimum (python/glmmfast/fit/_optimize.py, _polished_lmm_optimum): on a small model (sleepstudy)
// the interpreter's small-array calls around it cost more than its four evaluations.
#pragma once

#include <Eigen/Core>
#include <optional>
#include <utility>

#include "optim/objective.hpp"

namespace glmmfast {

struct MeasuredHessian {
    double f = 0.0;
    Eigen::VectorXd gradient;
    Eigen::MatrixXd hessian;
};

struct MeasuredNewton {
    Eigen::VectorXd x;
    double f = 0.0;
    Eigen::VectorXd gradient;  // at x
    Eigen::MatrixXd hessian;   // measured at the start point
    double decrease = 0.0;     // predicted from x over its free coordinates (NaN: singular H_FF)
};

// `start`: (f, gradient) at x, where already evaluated (else null: evaluated here).
std::optional<MeasuredHessian> measured_hessian(Objective& obj, const Eigen::VectorXd& x, double h,
                                                const std::pair<double, Eigen::VectorXd>* start = nullptr);

std::optional<MeasuredNewton> measured_newton(Objective& obj, const Eigen::VectorXd& x, double fx,
                                              const Eigen::VectorXd& lower, double h, double free_tol, double reach,
                                              const std::pair<double, Eigen::VectorXd>* start = nullptr);

}  // namespace glmmfast
