// conditional_variance.hpp — Var(b | y) blocks from a factorised
// PenalizedSystem, shared by the GLMM (Laplace) and LMM models.
//
// Interface: `conditional_variance(sys, t)` (Lambda the system's own) or
// `conditional_variance(lambda, sys, t)` (Lambda kept beside an assembled
// system, as the coupled system of linalg/coupled_penalized_system.hpp) returns, for every level l of
// random-effects term t, the k x k block T_t [A^{-1}]_{ll} T_t' stacked as a
// (nlevels*k) x k matrix: Var(b | y) = sigma^2 Lambda A^{-1} Lambda' up to
// the scale sigma^2 (Bates et al. 2015, sec. 5.1; exact for an LMM, the
// Laplace approximation's for a GLMM at the conditional mode).  Lambda is
// block diagonal by level, so only diagonal blocks of A^{-1} are needed.
#pragma once

#include <Eigen/Core>

#include "linalg/penalized_system.hpp"

namespace glmmfast {

Eigen::MatrixXd conditional_variance(const PenalizedSystem& sys, int t);
Eigen::MatrixXd conditional_variance(const LambdaMap& lambda, const PenalizedSystem& sys, int t);

}  // namespace glmmfast
