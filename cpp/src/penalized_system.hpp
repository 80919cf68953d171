// penalized_system.hpp — the sparse system at the heart of PIRLS and of the
// profiled LMM deviance.
//
// Interface: `PenalizedSystem` owns Z, Lambda(theta) and U = Z Lambda.  For
// weights W it forms and factorises
//     A = U' W U + I,        L L' = P A P'    (Bates et al. 2015, eq. 18)
// with a fill-reducing (AMD) ordering P that is analysed once: the pattern
// of A depends only on Z and Lambda's pattern, so later calls only
// refactorise numerically.  Callers combine the solves below into PIRLS
// steps, the Laplace term log det(L)^2 and conditional variances; nothing
// here knows about families or responses.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <vector>

#include "lambda_map.hpp"

namespace glmmfast {

class PenalizedSystem {
public:
    PenalizedSystem(SpMat Z, const std::vector<TermShape>& terms);

    int n() const { return static_cast<int>(Z_.rows()); }
    int q() const { return lambda_.q(); }
    const LambdaMap& lambda() const { return lambda_; }

    void set_theta(const Eigen::VectorXd& theta);
    // Factorise A = U' diag(sign * sqrtw^2) U + I (sign: +-1 per row, or
    // null for all +1: signed weights arise in the exact Hessian of a
    // non-canonical link); false if A is not positive definite.
    bool factor(const Eigen::VectorXd& sqrtw, const Eigen::VectorXd* sign = nullptr);

    // U u (the random-effects part of the linear predictor).
    Eigen::VectorXd U_times(const Eigen::VectorXd& u) const { return U_ * u; }
    // (W^{1/2} U)' M for the weights of the last factorisation.
    Eigen::MatrixXd WUt_times(const Eigen::MatrixXd& M) const { return WU_.transpose() * M; }
    // A^{-1} B.
    Eigen::MatrixXd solve(const Eigen::MatrixXd& B) const { return chol_.solve(B); }
    // L^{-1} P B  and  P' L^{-T} B.
    Eigen::MatrixXd solve_L(const Eigen::MatrixXd& B) const;
    Eigen::MatrixXd solve_Lt(const Eigen::MatrixXd& B) const;
    // log det(L)^2 = log det(A).
    double log_det_L2() const;
    // The diagonal block [A^{-1}]_{s:s+k, s:s+k}.
    Eigen::MatrixXd inverse_block(int start, int size) const;

private:
    SpMat Z_;
    LambdaMap lambda_;
    SpMat U_, WU_, A_, identity_;
    Eigen::SimplicialLLT<SpMat, Eigen::Lower, Eigen::AMDOrdering<int>> chol_;
    std::vector<int> analysed_outer_, analysed_inner_;
    bool analysed_ = false;
};

}  // namespace glmmfast
