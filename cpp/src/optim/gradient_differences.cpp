// gradient_differences.cpp — central differences of an exact gradient (see gradient_differences.hpp).
#include "optim/gradient_differences.hpp"

#include <stdexcept>

#include "optim/interrupt.hpp"

namespace glmmfast {

GradientHessian central_difference_hessian(Objective& obj, const Eigen::VectorXd& x, const Eigen::VectorXd& h) {
    if (!obj.has_gradient()) throw std::logic_error("central_difference_hessian needs an objective with a gradient");
    if (h.size() != x.size()) throw std::invalid_argument("h must have one step per coordinate of x");
    const Eigen::Index d = x.size();
    GradientHessian out;
    out.gradient = obj.gradient(x);
    Eigen::MatrixXd H(d, d);
    Eigen::VectorXd moved = x;
    for (Eigen::Index i = 0; i < d; ++i) {
        check_interrupt();
        moved[i] = x[i] + h[i];
        const Eigen::VectorXd plus = obj.gradient(moved);
        moved[i] = x[i] - h[i];
        const Eigen::VectorXd minus = obj.gradient(moved);
        moved[i] = x[i];
        H.col(i) = (plus - minus) / (2 * h[i]);
    }
    out.hessian = 0.5 * (H + H.transpose());
    return out;
}

}  // namespace glmmfast
