// gradient_differences.cpp — forward and central differences of an exact gradient (see gradient_differences.hpp).
#include "optim/gradient_differences.hpp"

#include <stdexcept>

#include "optim/interrupt.hpp"

namespace glmmfast {

namespace {

// Newton steps from the modes at x to those at x +- h e_i: the error O(h)
// of the start becomes O(h^2), then O(h^4), below rounding at h ~ 1e-4.
constexpr int kNeighbourNewtonSteps = 2;

// The gradient at `moved`: from the modes at x by Newton steps where the
// objective offers it, else (or where a step fails) by a full evaluation.
Eigen::VectorXd moved_gradient(Objective& obj, const Eigen::VectorXd& moved, const Eigen::VectorXd& modes) {
    if (modes.size()) {
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
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(d, d);
    Eigen::VectorXd moved = x;
    for (Eigen::Index i = 0; i < d; ++i) {
        if (!differenced[static_cast<std::size_t>(i)]) continue;
        check_interrupt();
        moved[i] = x[i] + h[i];
        const Eigen::VectorXd plus = moved_gradient(obj, moved, modes);
        moved[i] = x[i] - h[i];
        const Eigen::VectorXd minus = moved_gradient(obj, moved, modes);
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
