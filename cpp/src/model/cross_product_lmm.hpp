// cross_product_lmm.hpp — a linear mixed model fitted from its data's
// cross-products alone (the rows stay elsewhere: partitions on Dask workers).
//
// Interface: `LmmCrossProducts` holds, for prior weights W, the sums over
// rows (each a sum over partitions, so partitions' products add):
//     ZtWZ   Z'WZ's values on the model's lower-triangle pattern (the
//            pattern of U'WU: level blocks of the terms, r >= c, sorted),
//     ZtWX, ZtWy, XtWX, XtWy, ytWy, n and sum log w_i.
// `CrossProductLmm` is built once from the terms, the pattern and those
// sums, and then evaluates the profiled criterion at any theta on one
// process, with no further pass over the rows.  At theta, with
// Lambda = Lambda(theta) (block diagonal, LambdaMap):
//     U'WU = Lambda' Z'WZ Lambda   (on the pattern),  A = U'WU + I,
//     U'WX = Lambda' Z'WX,  U'Wy = Lambda' Z'Wy,
// the fixed effects are eliminated as in memory (FixedEffectsElimination
// from products), u-hat and beta-hat solve the joint normal equations, and
//     r^2 = y'Wy - u-hat' U'Wy - beta-hat' X'Wy
// (at the solution of [A U'WX; X'WU X'WX][u; beta] = [U'Wy; X'Wy] the
// penalised residual sum of squares is y'Wy minus the right side's product
// with the solution).  The criterion is lmm_criterion.hpp's, so equal to
// LmmModel's on the same rows up to rounding (r^2 loses about
// log10(y'Wy / r^2) digits to cancellation).
// `gradient(reml)` is the criterion's exact gradient (lmm_gradient.cpp's
// derivation, with its sums over rows replaced by products), per entry
// (a, c) of T_t and level l of term t (u-indices st + a, st + c):
//     d log|A|:      2 [A^{-1} Lambda' Z'WZ]_{st+c, st+a}
//                    (A^{-1} only on the pattern: the selected inverse),
//     d df log r^2:  -2 (df / r^2) g_{st+a} u_{st+c},
//                    g = Z'W(y - X beta - U u) = Z'Wy - Z'WX beta - Z'WZ Lambda u,
//     REML log|R_X|^2: 2 (B - Z'WX)_{st+a} V G_{st+c}',
//                    G = A^{-1} U'WX, V = (R_X'R_X)^{-1}, B = Z'WZ Lambda G,
// summed over levels into G_t and mapped to theta by LambdaMap::chain_gradient.
// Estimates as LmmModel's: theta, beta, u, b, sigma, vcov and cond_var.
#pragma once

#include <Eigen/Core>
#include <string>
#include <utility>
#include <vector>

#include "linalg/fixed_effects_elimination.hpp"
#include "linalg/penalized_system.hpp"
#include "model/glmm_model.hpp"

namespace glmmfast {

struct LmmCrossProducts {
    Eigen::VectorXd ZtWZ;  // on the pattern
    Eigen::MatrixXd ZtWX;  // q x p
    Eigen::VectorXd ZtWy, XtWy;
    Eigen::MatrixXd XtWX;
    double ytWy = 0.0, log_w_sum = 0.0;
    long n = 0;
    double y_shift = 0.0;   // the products are of (response - offset) - y_shift
    int shift_column = -1;  // X's all-ones column (-1: none; y_shift must be 0)
};

class CrossProductLmm {
public:
    CrossProductLmm(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pattern,
                    LmmCrossProducts products, const std::string& factorization = "auto");

    int n() const { return static_cast<int>(cp_.n); }
    int p() const { return static_cast<int>(cp_.XtWX.cols()); }
    int q() const { return sys_.q(); }
    const LambdaMap& lambda() const { return sys_.lambda(); }
    const PenalizedSystem& system() const { return sys_; }

    void evaluate(const Eigen::VectorXd& theta);
    double criterion(bool reml) const;
    double deviance(const Eigen::VectorXd& theta, bool reml);
    Eigen::VectorXd gradient(bool reml) const;

    const Eigen::VectorXd& theta() const { return theta_; }
    // The response's fixed effects (the shift added back).
    const Eigen::VectorXd& beta() const { return beta_response_; }
    const Eigen::VectorXd& u() const { return u_; }
    Eigen::VectorXd b() const { return sys_.lambda().matrix() * u_; }
    double sigma(bool reml) const;
    double pwrss() const { return pwrss_; }
    double log_det_L2() const { return ldL2_; }
    double log_det_RX2() const { return ldRX2_; }
    Eigen::MatrixXd beta_unscaled_vcov() const;
    Eigen::MatrixXd cond_var(int t) const;
    long evaluations() const { return n_eval_; }

private:
    // A pair of level blocks (rows r0.., cols c0..; r0 >= c0) the pattern
    // holds, and where its kr x kc entries sit among the pattern's values
    // (positions_[first + a + b kr]; a diagonal block's upper entries at
    // their mirror's): U'WU's block is T_tr' (Z'WZ's block) T_tc.
    struct LevelBlockPair {
        int r0, kr, tr, c0, kc, tc;
        size_t first;
    };
    void index_level_blocks();
    // U'WU = Lambda' Z'WZ Lambda on the pattern, block by block (O(nnz k)).
    Eigen::VectorXd UtWU() const;
    void require_evaluated() const;
    PenalizedSystem sys_;
    std::vector<std::pair<int, int>> pattern_;
    LmmCrossProducts cp_;
    SpMat ZtWZ_;  // both triangles
    std::vector<LevelBlockPair> block_pairs_;
    std::vector<int> positions_;
    Eigen::VectorXd theta_, beta_, u_;  // beta_: of the shifted y
    Eigen::VectorXd beta_response_;
    FixedEffectsElimination elim_;
    double ldL2_ = 0.0, ldRX2_ = 0.0, pwrss_ = 0.0;
    bool evaluated_ = false;
    long n_eval_ = 0;
};

}  // namespace glmmfast
