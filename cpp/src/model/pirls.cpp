// pirls.cpp — penalised iteratively reweighted least squares.
//
// Minimises the penalised deviance (Bates et al. 2015, eq. 38 / lme4's
// pwrssUpdate)
//     pdev(u, beta) = sum_i d_i(y_i, mu_i) + ||u||^2,
//     mu = g^{-1}(offset + X beta + Z Lambda u),
// by Fisher scoring: with W and the working residual r at the current
// point, the step solves
//     [U'WU + I   U'WX] [du]   [U'W r - u]
//     [X'WU       X'WX] [db] = [X'W r    ]        (U = Z Lambda)
// (only the first block row when beta is held fixed), halving the step
// until pdev does not increase (the loop itself: pirls_loop.hpp, shared with
// the partitioned model).  For a non-canonical link the Fisher steps
// converge only linearly, so a few Newton steps with the exact Hessian
// (newton_polish, pirls_loop.hpp; in (u, beta) jointly when beta moves too) finish the mode
// to rounding (stopping where the last two steps' quadratic convergence puts
// the next below it): the Laplace term, built from the exact Hessian at the mode,
// depends on u to first order, and the exact gradient assumes a stationary
// mode.  The Newton steps (with step halving) go first: an optimiser's
// next evaluation starts at the previous one's mode, from where they
// converge quadratically (a quarter fewer steps than Fisher steps to
// kFisherTolBeforeNewton and Newton from there, a third fewer on
// zero-inflated genpois).  Where they cannot finish (the exact Hessian not
// positive definite far from the mode), the Fisher steps run from the point
// reached to the looser decrement kFisherTolBeforeNewton, Newton finishes
// from there, and where it still cannot, the Fisher steps continue to the
// tight tolerance and the Newton steps are tried once more, as if Fisher
// had run to the tolerance from the start.
#include <algorithm>
#include <cmath>
#include <string>

#include "linalg/all_finite.hpp"
#include "model/glmm_model.hpp"
#include "model/pirls_loop.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

double GlmmModel::solve_u_step(Eigen::VectorXd& du) const {
    const Eigen::VectorXd g = sys_.WUt_times(Eigen::VectorXd(sqrtw_.cwiseProduct(wres_))) - u_;
    du = sys_.solve(g);
    return g.dot(du);
}

// The joint system [A U'WX; X'WU X'WX] [du; db] = [g_u; g_b] (solve_joint)
// by block elimination (linalg/fixed_effects_elimination.hpp); the PIRLS
// step has g_u = U'W r - u, g_b = X'W r.
double GlmmModel::solve_joint_step(Eigen::VectorXd& du, Eigen::VectorXd& dbeta) const {
    const Eigen::VectorXd wr = sqrtw_.cwiseProduct(wres_);
    const Eigen::VectorXd gu = sys_.WUt_times(wr) - u_;
    const Eigen::VectorXd gb = X_.transpose() * sqrtw_.cwiseProduct(wr);
    solve_joint(gu, gb, du, dbeta);
    return gu.dot(du) + gb.dot(dbeta);
}

void GlmmModel::solve_joint(const Eigen::VectorXd& gu, const Eigen::VectorXd& gb, Eigen::VectorXd& du,
                            Eigen::VectorXd& dbeta) const {
    const FixedEffectsElimination elim = eliminate_fixed_effects();
    elim.solve(sys_, sys_.solve_L(gu), gb, du, dbeta);
}

bool GlmmModel::move_to(const Eigen::VectorXd& u, const Eigen::VectorXd& beta) {
    u_ = u;
    beta_ = beta;
    update_linear_predictor();
    return family_.valid_eta(eta_) && all_finite(mu_);
}

void GlmmModel::refresh() {
    update_weights();
    factor();
}

double GlmmModel::step(bool update_beta, Eigen::VectorXd& du, Eigen::VectorXd& db) const {
    return update_beta ? solve_joint_step(du, db) : solve_u_step(du);
}

bool GlmmModel::newton_finishes() const { return !family_.canonical() || general_observation(); }

bool GlmmModel::factor_exact() {
    update_weights(true);
    return sys_.factor(sqrtw_, wsign_.size() ? &wsign_ : nullptr);
}

void GlmmModel::refresh_exact() {
    update_weights(true);
    factor();
}

int GlmmModel::pirls(bool update_beta, const PirlsOptions& opt) { return pirls_to_mode(*this, update_beta, opt, n_pirls_); }

// On the general observation path the Laplace deviance's -2 sum log f + ||u||^2 is PIRLS's last
// penalised deviance (penalised_deviance: the same sums at the same point), not summed again.
double GlmmModel::pirls_laplace_deviance(bool update_beta) {
    double pdev = 0.0;
    pirls_to_mode(*this, update_beta, PirlsOptions(), n_pirls_, &pdev);
    return general_observation() ? pdev + sys_.log_det_L2() : laplace_deviance();
}

// Each step u <- u + A^{-1} (U's - u), A = U'WU + I with W the exact
// information (solve_u_step on the exact factor).  From a start within a
// finite-difference step h of the mode the error O(h) shrinks to O(h^2),
// then O(h^4) (rounding): no step-halving, so no penalised deviance to
// compare (a row pass each).
bool GlmmModel::newton_modes(int steps) {
    factored_ = false;  // until the last factor completes
    if (!move_to(u_, beta_)) return false;
    Eigen::VectorXd du;
    for (int k = 0; k < steps; ++k) {
        check_interrupt();
        if (!factor_exact()) return false;
        solve_u_step(du);
        ++n_pirls_;
        if (!move_to(u_ + du, beta_)) return false;
    }
    factored_ = factor_exact();
    return factored_;
}

// U'WX = (W^{1/2} U)' S W^{1/2} X with the signs S of the exact information (as eliminate_fixed_effects).
Eigen::MatrixXd GlmmModel::mode_beta_slopes() const {
    require_state();
    const Eigen::MatrixXd WX = sqrtw_.asDiagonal() * X_;
    const Eigen::MatrixXd UtWX = sys_.WUt_times(wsign_.size() ? Eigen::MatrixXd(wsign_.asDiagonal() * WX) : WX);
    return -sys_.solve(UtWX);
}

void GlmmModel::return_to_mode(const Eigen::VectorXd& u) {
    set_u(u);
    if (!move_to(u_, beta_)) throw PirlsError("invalid linear predictor at the modes returned to");
    refresh_exact();
}

}  // namespace glmmfast
