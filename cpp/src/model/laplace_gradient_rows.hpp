// laplace_gradient_rows.hpp — the per-row parts of the exact Laplace
// gradient (laplace_gradient.cpp has the derivation), for rows held in one
// model (GlmmModel) or in a partition (RowBlock).
//
// Interface, with U's rows from `sys` (PenalizedSystem or RowLayout) and Y
// its selected_row_products (row i: U_i [A^{-1}]_{c_i, c_i}):
//   laplace_trace_rows(family, y, mu, pw, sys, Y) -> s = pw (y - mu),
//       w = pw V(mu), v = w' h with h_i = U_i . Y_i (w' = w V'(mu));
//       the caller solves z = A^{-1} U'v (or the joint system with X'v);
//   laplace_residual(rows, W-free Uz) -> r = -2 s + v - w (U z_u + X z_b);
//   laplace_theta_gradient(sys, rows, r, u, z) -> d D / d theta (X'r is
//       d D / d beta), a sum over the rows: partitions' shares add.
#pragma once

#include <Eigen/Core>

#include "family/family.hpp"
#include "linalg/row_layout.hpp"
#include "model/factor_gradient.hpp"

namespace glmmfast {

struct LaplaceTraceRows {
    Eigen::ArrayXd s, w, v;
    RowLayout::RowMajor Y;
};

template <class System>
LaplaceTraceRows laplace_trace_rows(const Family& family, const Eigen::VectorXd& y, const Eigen::VectorXd& mu,
                                    const Eigen::VectorXd& pw, const System& sys, RowLayout::RowMajor Y) {
    LaplaceTraceRows rows;
    const Eigen::ArrayXd var = family.variance(mu.array());
    rows.s = pw.array() * (y.array() - mu.array());
    rows.w = pw.array() * var;
    const Eigen::ArrayXd dw = rows.w * family.variance_deriv(mu.array());
    const int nobs = static_cast<int>(y.size());
    const int K = static_cast<int>(Y.cols());
    Eigen::ArrayXd h(nobs);
    for (int i = 0; i < nobs; ++i) {
        double acc = 0.0;
        for (int c = 0; c < K; ++c) acc += sys.u_value(i, c) * Y(i, c);
        h[i] = acc;
    }
    rows.v = dw * h;
    rows.Y = std::move(Y);
    return rows;
}

inline Eigen::ArrayXd laplace_residual(const LaplaceTraceRows& rows, const Eigen::ArrayXd& Uz) {
    return -2.0 * rows.s + rows.v - rows.w * Uz;
}

template <class System>
Eigen::VectorXd laplace_theta_gradient(const System& sys, const LaplaceTraceRows& rows, const Eigen::ArrayXd& r,
                                       const Eigen::VectorXd& u, const Eigen::VectorXd& z) {
    return theta_gradient(sys, [&](int i, int j, int col) {
        return u[j] * r[i] + 2.0 * rows.w[i] * rows.Y(i, col) + rows.s[i] * z[j];
    });
}

}  // namespace glmmfast
