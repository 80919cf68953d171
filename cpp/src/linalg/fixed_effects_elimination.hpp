// fixed_effects_elimination.hpp — the fixed effects' block of the penalized
// system after the random effects are eliminated (lme4's merPredD: RZX, RX).
//
// With A = U'WU + I factored as L L' = P A P' (PenalizedSystem, U = Z Lambda),
// the blocked Cholesky factor of the joint system (Bates et al. 2015,
// eqs. 18-19 and 34-42)
//     [A     U'WX]   [L P      0  ]' [L P      0  ]
//     [X'WU  X'WX] = [R_ZX'    R_X']  [R_ZX'    R_X']   (up to the layout)
// has
//     R_ZX = L^{-1} P U'WX,        R_X'R_X = X'WX - R_ZX'R_ZX,
// and the joint system [A U'WX; X'WU X'WX] [du; db] = [g_u; g_b] is solved by
//     c_u = L^{-1} P g_u,   db = (R_X'R_X)^{-1} (g_b - R_ZX' c_u),
//     du = P' L^{-T} (c_u - R_ZX db).
// Interface: `FixedEffectsElimination::compute(sys, M, p, XtWX)` takes
// M = [S W^{1/2} X | W^{1/2} B] (S the signs of W where the exact Hessian has
// negative weights, else I; B any extra columns whose c = L^{-1} P U'W B a
// caller wants from the same pass over U, e.g. the LMM's y) and X'WX;
// returns false if R_X'R_X is not positive definite
// (compute_from_products: the same from U'W^{1/2}M already formed).  Then RZX(), extra()
// (the c of B's columns), RX() (the Cholesky of R_X'R_X), solve(...) for the
// back-substitution above, and log_det_RX2() = log det(R_X'R_X).
// Used by PIRLS's joint step, the GLMM's vcov(beta) and the LMM's profiled
// deviance (pirls.cpp, laplace.cpp, lmm_model.cpp).
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "linalg/penalized_system.hpp"

namespace glmmfast {

class FixedEffectsElimination {
public:
    // sys must be factored at the weights W that M carries.
    bool compute(const PenalizedSystem& sys, const Eigen::MatrixXd& M, Eigen::Index p, const Eigen::MatrixXd& XtWX);
    // The same from UtWM = (W^{1/2} U)' M summed elsewhere (a system in
    // assembled mode, whose rows live in partitions: model/partitioned_glmm.hpp).
    bool compute_from_products(const PenalizedSystem& sys, const Eigen::MatrixXd& UtWM, Eigen::Index p,
                               const Eigen::MatrixXd& XtWX);

    // R_ZX = L^{-1} P U'WX (q x p) and c = L^{-1} P U'W B for the extra columns.
    auto RZX() const { return RZXc_.leftCols(p_); }
    auto extra() const { return RZXc_.rightCols(RZXc_.cols() - p_); }
    // The Cholesky factorisation of R_X'R_X (vcov(beta) = sigma^2 (R_X'R_X)^{-1}).
    const Eigen::LLT<Eigen::MatrixXd>& RX() const { return RX_; }
    double log_det_RX2() const { return 2.0 * RX_.matrixLLT().diagonal().array().log().sum(); }

    // Given c_u = L^{-1} P g_u and g_b: db = (R_X'R_X)^{-1}(g_b - R_ZX' c_u)
    // and du = P' L^{-T} (c_u - R_ZX db).
    void solve(const PenalizedSystem& sys, const Eigen::VectorXd& cu, const Eigen::VectorXd& gb, Eigen::VectorXd& du,
               Eigen::VectorXd& db) const;

private:
    Eigen::Index p_ = 0;
    Eigen::MatrixXd RZXc_;  // [R_ZX, c]
    Eigen::LLT<Eigen::MatrixXd> RX_;
};

}  // namespace glmmfast
