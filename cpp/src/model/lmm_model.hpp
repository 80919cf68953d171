// lmm_model.hpp — a linear mixed model whose rows are in memory.
//
// Interface: `LmmModel` is a CrossProductLmm (cross_product_lmm.hpp: the
// profiled REML/ML criterion, its exact gradient and the estimates at any
// theta, from the data's cross-products alone) built from X (dense n x p),
// Z (CSC), y, the prior weights, the offset and the terms: the constructor
// forms the products once (one pass over the rows, see lmm_model.cpp), so an
// evaluation never touches the rows again.  What does need the rows stays
// here: `eta()` (offset + X beta + Z b) and `variance_derivatives(reml, s,
// ...)`, Satterthwaite's pieces at the last evaluated theta
// (lmm_variance_derivatives.cpp).  Criterion, gradient, beta-hat, u-hat, b,
// sigma-hat, (R_X'R_X)^{-1} and Var(b | y) / sigma^2 are CrossProductLmm's,
// with lme4's -sum log w_i for prior weights (lmerResp::Laplace), so both
// criteria equal lme4's.  A failed factorisation is thrown as `PirlsError`.
#pragma once

#include <Eigen/Core>
#include <string>
#include <utility>
#include <vector>

#include "linalg/row_layout.hpp"
#include "model/cross_product_lmm.hpp"

namespace glmmfast {

// At the estimates (lmm_variance_derivatives.cpp): (X'V0^{-1}X)^{-1}, the
// inner matrices N'D_iN of d Cov(beta-hat)/d theta_i, u'D_i u and the
// theta-theta Hessian of the criterion in (theta, sigma).
struct LmmVarianceDerivatives {
    Eigen::MatrixXd beta_unscaled_vcov;
    std::vector<Eigen::MatrixXd> inner;
    Eigen::VectorXd u_D_u;
    Eigen::MatrixXd hessian;
};

// The rows of an LMM and their cross-products (lmm_model.cpp).
struct LmmRows {
    Eigen::MatrixXd X;
    RowLayout rows;             // Z's rows, one short dense row each
    Eigen::VectorXd y, offset;  // y: response minus offset
    Eigen::VectorXd sqrtw;
    std::vector<std::pair<int, int>> pattern;  // U'WU's lower triangle
    LmmCrossProducts products;
};

class LmmModel : public CrossProductLmm {
public:
    LmmModel(Eigen::MatrixXd X, SpMat Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights, Eigen::VectorXd offset,
             std::vector<TermShape> terms, const std::string& factorization = "auto");

    // offset + X beta + Z b (= mu: identity link).
    Eigen::VectorXd eta() const;
    // Satterthwaite's pieces at the last evaluated theta with sigma^2 = s;
    // factor_second: d^2 T/dtheta_i dtheta_j (ntheta^2, row-major; empty when
    // every T_t is linear in theta).
    LmmVarianceDerivatives variance_derivatives(bool reml, double s,
                                                const std::vector<Eigen::MatrixXd>& factor_second) const;

private:
    LmmModel(LmmRows data, const std::vector<TermShape>& terms, const std::string& factorization);
    Eigen::MatrixXd X_;
    RowLayout rows_;
    Eigen::VectorXd y_;  // response minus offset
    Eigen::VectorXd offset_, sqrtw_;
};

}  // namespace glmmfast
