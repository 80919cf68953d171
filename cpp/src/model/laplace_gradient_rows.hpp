// laplace_gradient_rows.hpp — the per-row parts of the exact Laplace
// gradient (laplace_gradient.cpp has the derivation), for rows held in one
// model (GlmmModel) or in a partition (RowBlock).
//
// Interface, with U's rows from `sys` (PenalizedSystem or RowLayout) and Y
// its selected_row_products (row i: U_i [A^{-1}]_{c_i, c_i}):
//   RowDerivatives {s, w, dw}: per row the score s = d log f / d eta, the
//       weight w = -d^2 log f / d eta^2 in A = U'WU + I and dw / d eta;
//       canonical_row_derivatives(family, y, mu, pw) gives them for a
//       canonical link without dispersion (s = pw (y - mu), w = pw V(mu),
//       dw = w V'(mu)); model/observation_gradient.cpp for every other model;
//   laplace_trace_rows(derivatives, sys, Y) -> s, w, h with
//       h_i = U_i . Y_i = u_i' A^{-1} u_i and v = dw h;
//       the caller solves z = A^{-1} U'v (or the joint system with X'v);
//   laplace_residual(rows, W-free Uz) -> r = -2 s + v - w (U z_u + X z_b);
//   laplace_theta_gradient(sys, rows, r, u, z) -> d D / d theta (X'r is
//       d D / d beta), a sum over the rows: partitions' shares add;
//   observation_gradient_terms(family, y, eta, pw, phi, varying, log p_zi,
//       log(1 - p_zi), information_deriv) -> the rows' log density, s, w
//       (and w') of any family, with zero inflation (log p_zi non-empty) or
//       a dispersion model (varying non-null) or neither (a partition's);
//       without with_log_density the log density is left empty (the
//       gradient's rows at the mode need only s, w and w': one log density
//       per row fewer, lgamma's for the binomial and Gamma); mu: null or
//       linkinv(eta) (a model's own: no inverse link per row);
//   log_parameter_gradient(family, phi, name, h, Uz, terms_at) -> d D / d log p
//       for the family parameter `name` ("dispersion" or a shape), central
//       differences of terms_at(family moved, phi moved) (both in
//       observation_gradient.cpp, which has the formula), a sum over rows.
#pragma once

#include <Eigen/Core>
#include <functional>
#include <string>

#include "family/family.hpp"
#include "family/varying_parameter.hpp"
#include "linalg/row_layout.hpp"
#include "model/factor_gradient.hpp"

namespace glmmfast {

struct RowDerivatives {
    Eigen::ArrayXd s, w, dw;
};

inline RowDerivatives canonical_row_derivatives(const Family& family, const Eigen::ArrayXd& y,
                                                const Eigen::ArrayXd& mu, const Eigen::ArrayXd& pw) {
    RowDerivatives d;
    d.s = pw * (y - mu);
    d.w = pw * family.variance(mu);
    d.dw = d.w * family.variance_deriv(mu);
    return d;
}

struct LaplaceTraceRows {
    Eigen::ArrayXd s, w, v, h;
    RowLayout::RowMajor Y;
};

template <class System>
LaplaceTraceRows laplace_trace_rows(RowDerivatives d, const System& sys, RowLayout::RowMajor Y) {
    LaplaceTraceRows rows;
    rows.s = std::move(d.s);
    rows.w = std::move(d.w);
    const int nobs = static_cast<int>(rows.s.size());
    const int K = static_cast<int>(Y.cols());
    Eigen::ArrayXd h(nobs);
    for (int i = 0; i < nobs; ++i) {
        double acc = 0.0;
        for (int c = 0; c < K; ++c) acc += sys.u_value(i, c) * Y(i, c);
        h[i] = acc;
    }
    rows.v = d.dw * h;
    rows.h = std::move(h);
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

ObservationTerms observation_gradient_terms(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                            const Eigen::ArrayXd& pw, double phi, const VaryingParameter* varying,
                                            const Eigen::ArrayXd& log_p_zi, const Eigen::ArrayXd& log1m_p_zi,
                                            bool information_deriv, Eigen::ArrayXd* structural_zero = nullptr,
                                            bool with_log_density = true, const Eigen::ArrayXd* mu = nullptr);

// A family and its dispersion with the log of one parameter ("dispersion" or a shape by name) moved by log_step.
struct MovedParameter {
    Family family;
    double phi;
};
MovedParameter moved_parameter(const Family& family, double phi, const std::string& name, double log_step);

// Each row's d D / d log p from its observation terms at log p +- delta (the mode held):
// [-2 (l+ - l-) + h (w+ - w-) + (U z) (s+ - s-)] / (2 delta) (observation_gradient.cpp's file comment).
Eigen::ArrayXd log_parameter_row_derivative(const ObservationTerms& up, const ObservationTerms& down,
                                            const Eigen::ArrayXd& h, const Eigen::ArrayXd& Uz, double delta);

double log_parameter_gradient(const Family& family, double phi, const std::string& name, const Eigen::ArrayXd& h,
                              const Eigen::ArrayXd& Uz,
                              const std::function<ObservationTerms(const Family&, double)>& terms_at);

}  // namespace glmmfast
