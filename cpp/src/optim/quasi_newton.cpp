// quasi_newton.cpp — BFGS from a known Hessian (see quasi_newton.hpp).
//
// Steps are Newton steps on the current inverse-Hessian approximation H
// (shortened to the caller's largest move per coordinate, where given),
// with Armijo backtracking (halving also a step that leaves the bounds);
// it stops when the predicted decrease g'Hg / 2 is below ftol_abs.  H is
// updated by the BFGS formula for the inverse (Nocedal and Wright 2006,
// eq. 6.17).
#include "optim/quasi_newton.hpp"

#include <Eigen/LU>
#include <cmath>

#include "optim/interrupt.hpp"

namespace glmmfast {

namespace {
bool feasible(const Eigen::VectorXd& x, const Eigen::VectorXd& lower) {
    for (Eigen::Index i = 0; i < x.size(); ++i)
        if (std::isfinite(lower[i]) && x[i] < lower[i]) return false;
    return true;
}
}  // namespace

QuasiNewtonResult quasi_newton(Objective& obj, const Eigen::VectorXd& x0, const Eigen::MatrixXd& hess0,
                               const Eigen::VectorXd& lower, double ftol_abs, int max_iter,
                               const std::pair<double, Eigen::VectorXd>* start, const Eigen::VectorXd* max_step,
                               bool hess0_is_inverse) {
    const Eigen::Index n = x0.size();
    if (hess0.rows() != n || hess0.cols() != n || lower.size() != n)
        throw std::invalid_argument("quasi_newton: x0, hess0 and lower must have matching sizes");
    if (max_step && max_step->size() != n) throw std::invalid_argument("quasi_newton: max_step has the wrong size");
    QuasiNewtonResult out;
    Eigen::VectorXd x = x0, g;
    double f;
    if (start) {
        f = start->first;
        g = start->second;
        if (g.size() != n) throw std::invalid_argument("quasi_newton: start gradient has the wrong size");
    } else {
        f = obj(x, &g);
    }
    if (!(f < Objective::penalty)) return out;
    Eigen::MatrixXd H;
    if (hess0_is_inverse) {
        H = hess0;  // as the interrupted iteration left it: resuming repeats its steps exactly
    } else {
        const Eigen::MatrixXd sym = 0.5 * (hess0 + hess0.transpose());
        Eigen::FullPivLU<Eigen::MatrixXd> lu(sym);
        if (!lu.isInvertible()) return out;
        H = lu.inverse();
    }
    if (!H.allFinite()) return out;
    Eigen::VectorXd xn(n), gn(n);
    int bounded_steps = 0;  // consecutive iterations whose full step left the bounds
    for (int it = 0; it < max_iter; ++it) {
        check_interrupt();
        const Eigen::VectorXd step = -(H * g);
        const double slope = g.dot(step);
        if (!(slope < 0)) return out;  // H not positive definite here (or NaN)
        if (-0.5 * slope < ftol_abs) {
            out.done = true;
            out.x = x;
            out.f = f;
            out.gradient = g;
            out.inverse_hessian = H;
            return out;
        }
        double t = 1.0, fn = 0.0;
        if (max_step)
            for (Eigen::Index i = 0; i < n; ++i)
                if (std::abs(step[i]) * t > (*max_step)[i]) t = (*max_step)[i] / std::abs(step[i]);
        bool accepted = false;
        for (int h = 0; h < 10; ++h, t *= 0.5) {
            xn = x + t * step;
            if (!feasible(xn, lower)) {
                // Halve back inside (a Newton step from far away overshoots
                // into theta < 0: InstEval's LMM from theta = 1 does so 4
                // or more times running), but 10 times in a row means a bound is
                // probably active at the optimum: the caller's L-BFGS/BOBYQA
                // handle that.
                if (h == 0 && ++bounded_steps == 10) return out;
                continue;
            }
            if (h == 0) bounded_steps = 0;
            fn = obj(xn, &gn);
            if (fn <= f + 1e-4 * t * slope) {
                accepted = true;
                break;
            }
        }
        if (!accepted) return out;
        const Eigen::VectorXd s = xn - x, y = gn - g;
        const double sy = s.dot(y);
        if (sy > 0) {
            const Eigen::VectorXd Hy = H * y;
            H += ((sy + y.dot(Hy)) / (sy * sy)) * (s * s.transpose()) - (Hy * s.transpose() + s * Hy.transpose()) / sy;
        }
        x = xn;
        f = fn;
        g = gn;
    }
    out.at_max_iter = true;
    out.x = x;
    out.f = f;
    out.gradient = g;
    out.inverse_hessian = H;
    return out;
}

}  // namespace glmmfast
