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
// with the solution).  The criterion is lmm_criterion.hpp's; r^2 loses about
// log10(y'Wy / r^2) digits to cancellation, so the products are of
// y - X beta_shift with beta_shift near the fixed effects' fit (the OLS fit
// for rows in memory, LmmModel; the response's rough mean for partitions),
// and beta_shift is added back to beta-hat.
// `gradient(reml)` is the criterion's exact gradient in theta.  With
// M = [A, U'WX; X'WU, X'WX] (so log|M| = log|L|^2 + log|R_X|^2) and, for a
// theta_m, dU = Z dLambda/dtheta_m (Bates et al. 2015, eqs. 34 and 41):
//  * r^2 is the minimum over (u, beta) of ||W^{1/2}(y - X beta - U u)||^2 + ||u||^2,
//    so (envelope theorem) dr^2 = -2 s' dU u-hat, s = W (y - X beta-hat - U u-hat);
//  * d log|A| = tr(A^{-1} dA), dA = dU'WU + U'W dU;
//  * d log|R_X|^2 = tr(M^{-1} dM) - tr(A^{-1} dA); with G = A^{-1} U'WX and
//    V = (R_X'R_X)^{-1}, M^{-1} = [A^{-1} + G V G', -G V; -V G', V] and
//    dM = [dA, dU'WX; X'W dU, 0], so d log|R_X|^2 = 2 tr((U G - X) V G' dU' W ...)
//    = 2 tr(V G' dU' W (U G - X)).
// dU for entry (a, c) of T_t has, in each row, Z's coefficient-a value at
// u-index st + c, so each trace is a sum over rows of Z'W times something,
// i.e. a product of Z'WZ, Z'WX, Z'Wy with vectors: per entry (a, c) of T_t
// and level l of term t (u-indices st + a, st + c):
//     d log|A|:      2 [A^{-1} Lambda' Z'WZ]_{st+c, st+a}
//                    (A^{-1} only on the pattern: the selected inverse; summed
//                    block pair by block pair of the pattern: a pair (R, C),
//                    R >= C, adds A^{-1}_RC' T_R' S_RC to level C's k x k block
//                    and, R != C, A^{-1}_RC (S_RC T_C)' to level R's, with
//                    S_RC Z'WZ's block; O(nnz k), no q x q product),
//     d df log r^2:  -2 (df / r^2) g_{st+a} u_{st+c},
//                    g = Z'W(y - X beta - U u) = Z'Wy - Z'WX beta - Z'WZ Lambda u,
//     REML log|R_X|^2: 2 (B - Z'WX)_{st+a} V G_{st+c}',
//                    G = A^{-1} U'WX, V = (R_X'R_X)^{-1}, B = Z'WZ Lambda G,
// summed over levels into G_t and mapped to theta by LambdaMap::chain_gradient.
// Estimates at the last theta: theta, beta, u, b, sigma, vcov and cond_var;
// elimination() the fixed-effects block (R_ZX, R_X) there.
// LmmModel (lmm_model.hpp) is this model with its rows in memory.
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
    // The products are of (response - offset) - X beta_shift (empty: none).
    Eigen::VectorXd beta_shift;
};

class CrossProductLmm {
public:
    CrossProductLmm(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pattern,
                    LmmCrossProducts products, const std::string& factorization = "auto");

    int n() const { return static_cast<int>(cp_.n); }
    int p() const { return static_cast<int>(cp_.XtWX.cols()); }
    int q() const { return sys_.q(); }
    // Entries of Z'WZ's lower-triangle pattern: an evaluation's cost grows with it (the factorisation).
    long pattern_size() const { return static_cast<long>(pattern_.size()); }
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
    const FixedEffectsElimination& elimination() const { return elim_; }

protected:
    // Throws PirlsError unless the last evaluation succeeded.
    void require_evaluated() const;

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
    PenalizedSystem sys_;
    std::vector<std::pair<int, int>> pattern_;
    LmmCrossProducts cp_;
    SpMat ZtWZ_;  // both triangles
    std::vector<LevelBlockPair> block_pairs_;
    int max_block_ = 1;  // the largest k of a block
    std::vector<int> positions_;
    Eigen::VectorXd theta_, beta_, u_;  // beta_: of the shifted y
    Eigen::VectorXd beta_response_;
    FixedEffectsElimination elim_;
    double ldL2_ = 0.0, ldRX2_ = 0.0, pwrss_ = 0.0;
    bool evaluated_ = false;
    long n_eval_ = 0;
};

}  // namespace glmmfast
