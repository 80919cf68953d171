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
// (newton_polish; in (u, beta) jointly when beta moves too) finish the mode
// to rounding (stopping where the last two steps' quadratic convergence puts
// the next below it): the Laplace term, built from the exact Hessian at the mode,
// depends on u to first order, and the exact gradient assumes a stationary
// mode.  There the Fisher steps stop at the looser decrement
// kFisherTolBeforeNewton (the Newton steps converge quadratically from
// there: zero-inflated counts take about half the iterations); where the
// Newton steps cannot finish, the Fisher steps continue to the tight
// tolerance and the Newton steps are tried once more, as if Fisher had
// run to the tolerance from the start.
#include <algorithm>
#include <cmath>
#include <string>

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
    return family_.valid_eta(eta_.array()) && mu_.allFinite();
}

void GlmmModel::refresh() {
    update_weights();
    factor();
}

double GlmmModel::step(bool update_beta, Eigen::VectorXd& du, Eigen::VectorXd& db) const {
    return update_beta ? solve_joint_step(du, db) : solve_u_step(du);
}

namespace {
// The Fisher steps' relative decrement before the Newton steps take over.
constexpr double kFisherTolBeforeNewton = 1e-7;
}  // namespace

int GlmmModel::pirls(bool update_beta, const PirlsOptions& opt) {
    double pdev = 0.0;
    int it = 0;
    if (!family_.canonical() || general_observation()) {
        PirlsOptions fisher = opt;
        fisher.tol = std::max(opt.tol, kFisherTolBeforeNewton);
        it = pirls_loop(*this, update_beta, fisher, n_pirls_, pdev);
        if (!newton_polish(pdev, opt, update_beta) && fisher.tol > opt.tol) {
            it += pirls_loop(*this, update_beta, opt, n_pirls_, pdev);
            newton_polish(pdev, opt, update_beta);
        }
    } else {
        it = pirls_loop(*this, update_beta, opt, n_pirls_, pdev);
    }
    // Refactor at the final point so the Laplace term uses the exact Hessian
    // at u-hat (the Fisher weights for canonical links).
    update_weights(true);
    factor();
    return it;
}

bool GlmmModel::newton_polish(double& pdev, const PirlsOptions& opt, bool update_beta) {
    Eigen::VectorXd du, dbeta;
    double previous = 0.0;  // the last full step's length (0: none yet, or it was halved)
    for (int k = 0; k < 8; ++k) {
        check_interrupt();
        update_weights(true);
        // Exact Hessian not positive definite here: keep the Fisher mode.
        if (!sys_.factor(sqrtw_, wsign_.size() ? &wsign_ : nullptr)) return false;
        try {
            step(update_beta, du, dbeta);
        } catch (const PirlsError&) {  // the fixed-effects block of the exact Hessian is not positive definite
            return false;
        }
        const Eigen::VectorXd u0 = u_, beta0 = beta_;
        double step = 1.0;
        bool accepted = false;
        for (int h = 0; h <= opt.max_halvings; ++h, step *= 0.5) {
            u_ = u0 + step * du;
            if (update_beta) beta_ = beta0 + step * dbeta;
            update_linear_predictor();
            if (family_.valid_eta(eta_.array()) && mu_.allFinite()) {
                const double new_pdev = penalised_deviance();
                if (std::isfinite(new_pdev) && new_pdev <= pdev + 1e-13 * (1.0 + std::abs(pdev))) {
                    pdev = new_pdev;
                    accepted = true;
                    break;
                }
            }
        }
        ++n_pirls_;
        if (!accepted) {
            u_ = u0;
            beta_ = beta0;
            update_linear_predictor();
            return false;
        }
        const double moved =
            std::max(du.lpNorm<Eigen::Infinity>(), update_beta ? dbeta.lpNorm<Eigen::Infinity>() : 0.0);
        const double size = std::max(u_.lpNorm<Eigen::Infinity>(), update_beta ? beta_.lpNorm<Eigen::Infinity>() : 0.0);
        const double taken = step * moved, converged = 1e-13 * (1.0 + size);
        if (taken < converged) return true;
        // Full Newton steps shrink quadratically, s_{k+1} ~ C s_k^2 with C ~ s_k / s_{k-1}^2 from the
        // last two: where the next step s_k^3 / s_{k-1}^2 would be below the threshold too, the mode is
        // reached to it now and the iteration that would only confirm it (weights, factor, solve) is
        // skipped: a warm-started evaluation takes one Fisher and two Newton steps instead of three.
        if (step == 1.0 && previous > 0.0 && taken * (taken / previous) * (taken / previous) < converged) return true;
        previous = step == 1.0 ? taken : 0.0;
    }
    return false;
}

}  // namespace glmmfast
