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
// until pdev does not increase.  For a non-canonical link the Fisher steps
// converge only linearly, so with beta fixed a few Newton steps with the
// exact Hessian (newton_polish) finish the mode to rounding: the Laplace
// term, built from the exact Hessian at the mode, depends on u to first
// order.
#include <cmath>
#include <string>

#include "model/glmm_model.hpp"
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

int GlmmModel::pirls(bool update_beta, const PirlsOptions& opt) {
    update_linear_predictor();
    if (!family_.valid_eta(eta_.array()) || !mu_.allFinite())
        throw PirlsError("invalid linear predictor at the start of PIRLS");
    double pdev = penalised_deviance();
    Eigen::VectorXd du, db;
    int it = 0;
    bool converged = false;
    for (; it < opt.max_iter; ++it) {
        check_interrupt();  // u and beta are an accepted iterate here
        update_weights();
        factor();
        // Newton decrement: the decrease of pdev the full step would bring.
        // Stopping on it (not on the realised decrease, which a halved step
        // can make small far from the mode) after taking the step leaves u
        // with an error O(step^2): the Laplace term log det A(u) is
        // first-order sensitive to u, so u itself must be accurate, not
        // just pdev.
        const double decrement = update_beta ? solve_joint_step(du, db) : solve_u_step(du);
        if (decrement < opt.tol * (1.0 + std::abs(pdev))) {
            // At the mode to within the tolerance: the full Newton step is
            // taken unconditionally (the decrease it brings is below the
            // roundoff of pdev, so comparing pdev cannot judge it); W and
            // the factor are refreshed below for the Laplace term.
            u_ += du;
            if (update_beta) beta_ += db;
            update_linear_predictor();
            pdev = penalised_deviance();
            converged = true;
            ++it;
            break;
        }
        const Eigen::VectorXd u0 = u_, b0 = beta_;
        double step = 1.0, new_pdev = pdev;
        bool accepted = false;
        for (int h = 0; h <= opt.max_halvings; ++h, step *= 0.5) {
            u_ = u0 + step * du;
            if (update_beta) beta_ = b0 + step * db;
            update_linear_predictor();
            if (family_.valid_eta(eta_.array()) && mu_.allFinite()) {
                new_pdev = penalised_deviance();
                if (std::isfinite(new_pdev) && new_pdev <= pdev + 1e-13 * (1.0 + std::abs(pdev))) {
                    accepted = true;
                    break;
                }
            }
        }
        if (!accepted) {
            // With large deviances (huge counts, near-separation) the
            // decrease a small Newton step brings can sit below the
            // roundoff of pdev itself, so no step length "decreases" it.
            // Close to the mode the full Newton step is still right: take
            // it and stop, as at the tolerance above.
            if (decrement < 1e-6 * (1.0 + std::abs(pdev))) {
                u_ = u0 + du;
                if (update_beta) beta_ = b0 + db;
                update_linear_predictor();
                pdev = penalised_deviance();
                converged = true;
                ++it;
                break;
            }
            u_ = u0;
            beta_ = b0;
            update_linear_predictor();
            throw PirlsError("PIRLS step-halving failed to reduce the penalised deviance");
        }
        pdev = new_pdev;
    }
    n_pirls_ += it;
    if (!converged)
        throw PirlsError("PIRLS did not converge in " + std::to_string(opt.max_iter) + " iterations");
    if ((!family_.canonical() || general_observation()) && !update_beta) newton_polish(pdev, opt);
    // Refactor at the final point so the Laplace term uses the exact Hessian
    // at u-hat (the Fisher weights for canonical links).
    update_weights(true);
    factor();
    return it;
}

void GlmmModel::newton_polish(double& pdev, const PirlsOptions& opt) {
    Eigen::VectorXd du;
    for (int k = 0; k < 8; ++k) {
        check_interrupt();
        update_weights(true);
        // Exact Hessian not positive definite here: keep the Fisher mode.
        if (!sys_.factor(sqrtw_, wsign_.size() ? &wsign_ : nullptr)) return;
        solve_u_step(du);
        const Eigen::VectorXd u0 = u_;
        double step = 1.0;
        bool accepted = false;
        for (int h = 0; h <= opt.max_halvings; ++h, step *= 0.5) {
            u_ = u0 + step * du;
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
            update_linear_predictor();
            return;
        }
        if (step * du.lpNorm<Eigen::Infinity>() < 1e-13 * (1.0 + u_.lpNorm<Eigen::Infinity>())) return;
    }
}

}  // namespace glmmfast
