// coupled_penalized_system.hpp — the penalized system of a model with two
// linear predictors per observation (glmmTMB's conditional eta and
// zero-inflation eta_zi, each with its own random-effects terms),
// integrated jointly by one Laplace approximation.
//
// Math.  The random effects are one vector u = [u_1; u_2] (q = q_1 + q_2),
// b = Lambda(theta) u with Lambda = blockdiag(Lambda_1, Lambda_2); U_1 =
// Z_1 Lambda_1 acts on the first predictor, U_2 = Z_2 Lambda_2 on the
// second:  eta_1 = ... + U_1 u_1,  eta_2 = ... + U_2 u_2.  Observation i's
// negative log density has, in (eta_1,i, eta_2,i), the 2 x 2 Hessian
//     H_i = [h11_i  h12_i; h12_i  h22_i],
// so the Hessian of -log f(y | u) + ||u||^2 / 2 in u is
//     A = sum_i [U_1,i'  0; 0  U_2,i'] H_i [U_1,i  0; 0  U_2,i] + I
//       = [U_1' H11 U_1   U_1' H12 U_2;  U_2' H12 U_1   U_2' H22 U_2] + I
// (H11 = diag(h11_i), ...): the usual A = U'WU + I on the stacked 2n
// pseudo-rows, whose W couples rows i and n + i.  Because every row of Z =
// [Z_1 Z_2] touches one level of each term of both parts, row i of the
// combined U = [U_1 U_2] is one short dense row (RowLayout over the combined
// terms), and A's lower triangle is a scatter of
//     h(a, b) u_ia u_ib  over the row's column pairs (a, b),
// h(a, b) = h11 (both columns in part 1), h22 (both in part 2) or h12
// (one in each): the same pattern as U'WU of the combined layout, factorised
// by PenalizedSystem in its assembled mode (the existing sparse/blocked
// factor, its solves and log det).
//
// Interface: `CoupledPenalizedSystem(Z, terms, n_first)` with Z = [Z_1 Z_2]
// (CSC) and the terms of both parts, the first n_first belonging to part 1;
// set_theta (both parts' parameters, in term order), the products with U_1,
// U_2 and U', `factor(h11, h22, h12)` (false: A not positive definite),
// `solve`, `log_det`, b = Lambda u, the selected inverse's products
// with each part's rows (`selected_part_products`, for the exact gradient
// of model/zi_random_effects_gradient.cpp) and the factorisation itself
// (`factorisation`, for A^{-1}'s blocks).  Nothing here knows families.
#pragma once

#include <Eigen/Core>
#include <vector>

#include "covariance/lambda_map.hpp"
#include "linalg/penalized_system.hpp"
#include "linalg/row_layout.hpp"

namespace glmmfast {

class CoupledPenalizedSystem {
public:
    CoupledPenalizedSystem(const SpMat& Z, const std::vector<TermShape>& terms, int n_first,
                           const std::string& factorization = "auto");

    int n() const { return rows_.n(); }
    int q() const { return rows_.q(); }
    // u-indices [0, q_first) belong to part 1, [q_first, q) to part 2.
    int q_first() const { return q_first_; }
    const LambdaMap& lambda() const { return rows_.lambda(); }
    void set_theta(const Eigen::VectorXd& theta) { rows_.set_theta(theta); }

    // U_1 u_1 and U_2 u_2 (u the whole vector; each n long).
    Eigen::VectorXd U_first_times(const Eigen::VectorXd& u) const { return part_times(u, 0, K_first_); }
    Eigen::VectorXd U_second_times(const Eigen::VectorXd& u) const { return part_times(u, K_first_, rows_.K()); }
    // U_1' v_1 + U_2' v_2 (the gradient of sum log f in u, v the scores in each predictor).
    Eigen::VectorXd Ut_times(const Eigen::VectorXd& v1, const Eigen::VectorXd& v2) const;
    // Factorise A (see above); false if it is not positive definite.
    bool factor(const Eigen::VectorXd& h11, const Eigen::VectorXd& h22, const Eigen::VectorXd& h12);
    Eigen::VectorXd solve(const Eigen::VectorXd& g) const { return sys_.solve(g); }
    // log det A at the last factorisation.
    double log_det() const { return sys_.log_det_L2(); }
    Eigen::VectorXd b(const Eigen::VectorXd& u) const { return rows_.lambda().matrix() * u; }
    // The combined rows of U (for factor_gradient.hpp's theta_gradient) and
    // how many of a row's K columns belong to part 1.
    const RowLayout& rows() const { return rows_; }
    int K_first() const { return K_first_; }
    // For traces tr(A^{-1} dA) by part, at the last factorisation: row i of
    // Y_1 (n x K) is U_1,i [A^{-1}]_{c_i, c_i} and of Y_2 U_2,i [A^{-1}]_{c_i, c_i}
    // (U_k,i row i of U_k, zero outside part k's columns; c_i the K
    // u-indices row i touches), so that u_k,i' A^{-1} u_m,i = sum over part
    // m's columns c of Y_k(i, c) U(i, c).  From A's selected inverse.
    void selected_part_products(RowLayout::RowMajor& Y1, RowLayout::RowMajor& Y2) const;
    // The factorised A (its inverse's blocks); its Lambda is lambda() above.
    const PenalizedSystem& factorisation() const { return sys_; }

private:
    Eigen::VectorXd part_times(const Eigen::VectorXd& u, int first_col, int end_col) const;
    RowLayout rows_;
    int K_first_ = 0, q_first_ = 0;
    PenalizedSystem sys_;         // assembled mode on the combined pattern
    std::vector<int> scatter_;    // n x K(K+1)/2 indices into the pattern (-1: none)
    Eigen::VectorXd values_;      // U'HU on the pattern
};

}  // namespace glmmfast
