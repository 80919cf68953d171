// measured_newton.cpp — the measured Hessian and its Newton step (see measured_newton.hpp).
#include "optim/measured_newton.hpp"

#include <Eigen/LU>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "optim/gradient_differences.hpp"

namespace glmmfast {

namespace {

// The coordinates of x not within free_tol of a finite lower bound.
std::vector<int> free_coordinates(const Eigen::VectorXd& x, const Eigen::VectorXd& lower, double free_tol) {
    std::vector<int> free;
    for (Eigen::Index i = 0; i < x.size(); ++i)
        if (!(std::isfinite(lower[i]) && x[i] - lower[i] < free_tol)) free.push_back(static_cast<int>(i));
    return free;
}

// H_FF^{-1} g_F by LU with partial pivoting (LAPACK's gesv, numpy's solve); std::nullopt where a pivot
// is exactly zero (singular, gesv's info > 0).
std::optional<Eigen::VectorXd> free_solve(const Eigen::MatrixXd& H, const Eigen::VectorXd& g,
                                          const std::vector<int>& free) {
    const auto nf = static_cast<Eigen::Index>(free.size());
    Eigen::MatrixXd Hf(nf, nf);
    Eigen::VectorXd gf(nf);
    for (Eigen::Index a = 0; a < nf; ++a) {
        gf[a] = g[free[a]];
        for (Eigen::Index b = 0; b < nf; ++b) Hf(a, b) = H(free[a], free[b]);
    }
    const Eigen::PartialPivLU<Eigen::MatrixXd> lu(Hf);
    for (Eigen::Index i = 0; i < nf; ++i)
        if (lu.matrixLU()(i, i) == 0.0) return std::nullopt;
    return Eigen::VectorXd(lu.solve(gf));
}

}  // namespace

std::optional<MeasuredHessian> measured_hessian(Objective& obj, const Eigen::VectorXd& x, double h,
                                                const std::pair<double, Eigen::VectorXd>* start) {
    if (!obj.has_gradient()) throw std::logic_error("measured_hessian needs an objective with a gradient");
    MeasuredHessian out;
    if (start) {
        out.f = start->first;
        out.gradient = start->second;
    } else {
        out.f = obj(x, &out.gradient);
    }
    if (!(out.f < Objective::penalty)) return std::nullopt;
    std::vector<int> all(static_cast<size_t>(x.size()));
    std::iota(all.begin(), all.end(), 0);
    std::optional<Eigen::MatrixXd> H = forward_difference_columns(obj, x, out.gradient, all, h);
    if (!H) return std::nullopt;
    out.hessian = 0.5 * (*H + H->transpose());
    return out;
}

std::optional<MeasuredNewton> measured_newton(Objective& obj, const Eigen::VectorXd& x, double fx,
                                              const Eigen::VectorXd& lower, double h, double free_tol, double reach,
                                              const std::pair<double, Eigen::VectorXd>* start) {
    if (lower.size() != x.size()) throw std::invalid_argument("lower must have one bound per coordinate of x");
    std::optional<MeasuredHessian> measured = measured_hessian(obj, x, h, start);
    if (!measured) return std::nullopt;
    MeasuredNewton out{x, fx, measured->gradient, std::move(measured->hessian), 0.0};
    const std::vector<int> free = free_coordinates(x, lower, free_tol);
    if (!free.empty()) {
        const std::optional<Eigen::VectorXd> step = free_solve(out.hessian, out.gradient, free);
        if (step && step->allFinite() && step->cwiseAbs().maxCoeff() < reach) {
            Eigen::VectorXd moved = x;
            for (size_t a = 0; a < free.size(); ++a) moved[free[a]] -= (*step)[static_cast<Eigen::Index>(a)];
            moved = moved.cwiseMax(lower);
            Eigen::VectorXd g;
            const double f = obj(moved, &g);
            if (f < fx) {
                out.x = std::move(moved);
                out.f = f;
                out.gradient = std::move(g);
            }
        }
    }
    // The decrease the model predicts from the end, over the end's free coordinates.
    const std::vector<int> end_free = free_coordinates(out.x, lower, free_tol);
    if (!end_free.empty()) {
        const std::optional<Eigen::VectorXd> step = free_solve(out.hessian, out.gradient, end_free);
        double decrease = std::numeric_limits<double>::quiet_NaN();
        if (step) {
            decrease = 0.0;
            for (size_t a = 0; a < end_free.size(); ++a)
                decrease += out.gradient[end_free[a]] * (*step)[static_cast<Eigen::Index>(a)];
            decrease *= 0.5;
        }
        out.decrease = decrease;
    }
    return out;
}

}  // namespace glmmfast
