// lmm_model.hpp — a linear mixed model set up once and evaluated at many theta.
//
// Interface: `LmmModel` holds X (dense n x p), y - offset, the prior weights
// and the PenalizedSystem (Z, Lambda(theta), A = U'WU + I with W the prior
// weights, fixed for the life of the model, so its pattern is analysed once).
// `evaluate(theta)` profiles out beta, u and sigma (Bates et al. 2015,
// eqs. 34-42) and keeps the pieces; `criterion(reml)` is then the profiled
// deviance (ML) or REML criterion at that theta, with lme4's -sum log w_i
// for prior weights (lmerResp::Laplace), so both equal lme4's exactly.
// Estimates at the last theta: beta-hat, u-hat, b = Lambda u-hat, eta, sigma-hat,
// (R_X'R_X)^{-1} (vcov(beta) = sigma^2 times it) and Var(b | y) / sigma^2 blocks.
// `gradient(reml)` is the criterion's exact gradient in theta there;
// `variance_derivatives(reml, s, ...)` what Satterthwaite's df need there
// (lmm_variance_derivatives.cpp).
// A failed factorisation is thrown as `PirlsError` (the optimiser backs off).
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <vector>

#include "model/glmm_model.hpp"
#include "linalg/fixed_effects_elimination.hpp"
#include "linalg/penalized_system.hpp"

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

class LmmModel {
public:
    LmmModel(Eigen::MatrixXd X, SpMat Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights, Eigen::VectorXd offset,
             std::vector<TermShape> terms);

    int n() const { return static_cast<int>(y_.size()); }
    int p() const { return static_cast<int>(X_.cols()); }
    int q() const { return sys_.q(); }
    const LambdaMap& lambda() const { return sys_.lambda(); }
    const PenalizedSystem& system() const { return sys_; }

    // Factorise at theta and profile out beta, u (and sigma).
    void evaluate(const Eigen::VectorXd& theta);
    // At the last evaluated theta: -2 log L profiled over beta and sigma
    // (reml = false) or the REML criterion (reml = true).
    double criterion(bool reml) const;
    // evaluate + criterion.
    double deviance(const Eigen::VectorXd& theta, bool reml);
    // d criterion(reml) / d theta at the last evaluated theta (lmm_gradient.cpp).
    Eigen::VectorXd gradient(bool reml) const;
    // Satterthwaite's pieces at the last evaluated theta with sigma^2 = s;
    // factor_second: d^2 T/dtheta_i dtheta_j (ntheta^2, row-major; empty when
    // every T_t is linear in theta).
    LmmVarianceDerivatives variance_derivatives(bool reml, double s,
                                                const std::vector<Eigen::MatrixXd>& factor_second) const;

    const Eigen::VectorXd& theta() const { return theta_; }
    const Eigen::VectorXd& beta() const { return beta_; }
    const Eigen::VectorXd& u() const { return u_; }
    Eigen::VectorXd b() const { return sys_.lambda().matrix() * u_; }
    // offset + X beta + Z b (= mu: identity link).
    Eigen::VectorXd eta() const;
    // sqrt(pwrss / (n - p)) for REML, sqrt(pwrss / n) for ML.
    double sigma(bool reml) const;
    double pwrss() const { return pwrss_; }
    double log_det_L2() const { return ldL2_; }
    double log_det_RX2() const { return ldRX2_; }
    // (R_X'R_X)^{-1}: vcov(beta-hat) = sigma^2 times this.
    Eigen::MatrixXd beta_unscaled_vcov() const;
    // Var(b | y) / sigma^2 blocks of term t (see conditional_variance.hpp).
    Eigen::MatrixXd cond_var(int t) const;

    long evaluations() const { return n_eval_; }

private:
    Eigen::MatrixXd X_;
    Eigen::VectorXd y_;  // response minus offset
    Eigen::VectorXd offset_, sqrtw_;
    double log_w_sum_ = 0.0;  // sum log w_i (lme4's ldW)
    PenalizedSystem sys_;
    // Fixed by the data: [W^{1/2} X, W^{1/2} y], X'WX, X'Wy.
    Eigen::MatrixXd WXy_, XtWX_;
    Eigen::VectorXd XtWy_;
    // State at the last theta.
    Eigen::VectorXd theta_, beta_, u_;
    FixedEffectsElimination elim_;  // R_ZX, c_u = L^{-1} P U'Wy and R_X
    double ldL2_ = 0.0, ldRX2_ = 0.0, pwrss_ = 0.0;
    bool evaluated_ = false;
    long n_eval_ = 0;
};

}  // namespace glmmfast
