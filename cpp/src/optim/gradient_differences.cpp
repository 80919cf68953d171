// gradient_differences.cpp — forward and central differences of an exact gradient (see gradient_differences.hpp).
#include "optim/gradient_differences.hpp"

#include <stdexcept>

#include "optim/interrupt.hpp"

namespace glmmfast {

namespace {

// Newton steps from the modes at x to those at x +- h e_i: the error O(h)
// of the start becomes O(h^2), then O(h^4), below rounding at h ~ 1e-4.
constexpr int kNeighbourNewtonSteps = 2;
// Largest move h |d modes / dx_i| of the modes predicted to first order (an error O(move^2) at the start)
// after which one Newton step (error O(move^4) < 1e-12) replaces two; a longer move (beta of a predictor on
// a scale of 500: 0.05) keeps two, from the predicted modes.
constexpr double kOneStepMove = 1e-3;
// Largest predicted move taken as a start at all (beyond it the first-order prediction means nothing).
constexpr double kPredictedMove = 1.0;

// The gradient at `moved`: by `steps` Newton steps from `predicted` (the modes predicted there; empty:
// none), else by two from the modes at x, where the objective offers it; else (or where those steps
// fail) by a full evaluation, PIRLS starting from the modes at x.
Eigen::VectorXd moved_gradient(Objective& obj, const Eigen::VectorXd& moved, const Eigen::VectorXd& modes,
                               const Eigen::VectorXd& predicted = Eigen::VectorXd(), int steps = 1) {
    if (modes.size()) {
        if (predicted.size()) {
            Eigen::VectorXd g = obj.neighbour_gradient(moved, predicted, steps);
            if (g.size()) return g;
        }
        Eigen::VectorXd g = obj.neighbour_gradient(moved, modes, kNeighbourNewtonSteps);
        if (g.size()) return g;
    }
    return obj.gradient(moved);
}

}  // namespace

std::optional<Eigen::MatrixXd> forward_difference_columns(Objective& obj, const Eigen::VectorXd& x,
                                                          const Eigen::VectorXd& g, const std::vector<int>& columns,
                                                          double h) {
    if (!obj.has_gradient()) throw std::logic_error("forward_difference_columns needs an objective with a gradient");
    const Eigen::Index d = x.size();
    if (g.size() != d) throw std::invalid_argument("g must have one entry per coordinate of x");
    for (int i : columns)
        if (i < 0 || i >= d) throw std::invalid_argument("columns names a coordinate outside x");
    Eigen::MatrixXd out(d, static_cast<Eigen::Index>(columns.size()));
    Eigen::VectorXd moved = x, gi(d);
    for (std::size_t k = 0; k < columns.size(); ++k) {
        const int i = columns[k];
        moved[i] = x[i] + h;
        if (!(obj(moved, &gi) < Objective::penalty)) return std::nullopt;
        moved[i] = x[i];
        out.col(static_cast<Eigen::Index>(k)) = (gi - g) / h;
    }
    return out;
}

GradientHessian central_difference_hessian(Objective& obj, const Eigen::VectorXd& x, const Eigen::VectorXd& h,
                                           const std::vector<int>& skip) {
    if (!obj.has_gradient()) throw std::logic_error("central_difference_hessian needs an objective with a gradient");
    if (h.size() != x.size()) throw std::invalid_argument("h must have one step per coordinate of x");
    const Eigen::Index d = x.size();
    std::vector<bool> differenced(static_cast<std::size_t>(d), true);
    for (int i : skip) {
        if (i < 0 || i >= d) throw std::invalid_argument("skip names a coordinate outside x");
        differenced[static_cast<std::size_t>(i)] = false;
    }
    GradientHessian out;
    out.gradient = obj.gradient(x);
    const Eigen::VectorXd modes = obj.has_neighbour_gradient() ? obj.modes() : Eigen::VectorXd();
    // Where the modes' slope in coordinate i is known (beta's), x +- h_i e_i start from the modes
    // predicted to first order, an error O(h^2): one Newton step takes it to O(h^4), as two from x's
    // (two where the predicted move is not short, kOneStepMove).
    const Eigen::MatrixXd slopes = modes.size() ? obj.mode_slopes() : Eigen::MatrixXd();
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(d, d);
    Eigen::VectorXd moved = x;
    for (Eigen::Index i = 0; i < d; ++i) {
        if (!differenced[static_cast<std::size_t>(i)]) continue;
        check_interrupt();
        const double move = slopes.cols() == d ? h[i] * slopes.col(i).lpNorm<Eigen::Infinity>() : NAN;
        const bool predicted = move <= kPredictedMove;  // (NaN: no slope known)
        const int steps = move < kOneStepMove ? 1 : kNeighbourNewtonSteps;
        moved[i] = x[i] + h[i];
        const Eigen::VectorXd plus =
            moved_gradient(obj, moved, modes, predicted ? Eigen::VectorXd(modes + h[i] * slopes.col(i)) : Eigen::VectorXd(), steps);
        moved[i] = x[i] - h[i];
        const Eigen::VectorXd minus =
            moved_gradient(obj, moved, modes, predicted ? Eigen::VectorXd(modes - h[i] * slopes.col(i)) : Eigen::VectorXd(), steps);
        moved[i] = x[i];
        H.col(i) = (plus - minus) / (2 * h[i]);
    }
    // Back in the state the evaluation at x left (one factorisation): the engine stays at the
    // optimum, with no PIRLS from the last neighbour's modes to restore it.
    if (modes.size()) obj.return_to(x, modes);
    out.hessian = 0.5 * (H + H.transpose());
    return out;
}

}  // namespace glmmfast
