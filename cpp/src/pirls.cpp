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
// until pdev does not increase.
#include <cmath>
#include <string>

#include "glmm_model.hpp"

namespace glmmfast {

void GlmmModel::solve_u_step(Eigen::VectorXd& du) const {
    du = sys_.solve(sys_.WUt_times(sqrtw_.cwiseProduct(wres_)) - u_);
}

// Block elimination with L L' = P A P' (A = U'WU + I):
//   R_ZX = L^{-1} P U'WX,  R_X'R_X = X'WX - R_ZX'R_ZX,
//   c_u = L^{-1} P (U'W r - u),  db = (R_X'R_X)^{-1} (X'W r - R_ZX' c_u),
//   du = P' L^{-T} (c_u - R_ZX db).
void GlmmModel::solve_joint_step(Eigen::VectorXd& du, Eigen::VectorXd& dbeta) const {
    const Eigen::MatrixXd WX = sqrtw_.asDiagonal() * X_;
    const Eigen::VectorXd wr = sqrtw_.cwiseProduct(wres_);
    const Eigen::MatrixXd RZX = sys_.solve_L(sys_.WUt_times(WX));
    const Eigen::VectorXd cu = sys_.solve_L(sys_.WUt_times(wr) - u_);
    Eigen::MatrixXd XtX = WX.transpose() * WX;
    XtX.noalias() -= RZX.transpose() * RZX;
    Eigen::LLT<Eigen::MatrixXd> rx(XtX);
    if (rx.info() != Eigen::Success) throw PirlsError("the fixed-effects block is not positive definite");
    dbeta = rx.solve(WX.transpose() * wr - RZX.transpose() * cu);
    du = sys_.solve_Lt(cu - RZX * dbeta);
}

int GlmmModel::pirls(bool update_beta, const PirlsOptions& opt) {
    update_linear_predictor();
    if (!family_.valid_eta(eta_.array()) || !mu_.allFinite())
        throw PirlsError("invalid linear predictor at the start of PIRLS");
    double pdev = penalised_deviance();
    Eigen::VectorXd du, db;
    int it = 0, stalled = 0;
    for (; it < opt.max_iter; ++it) {
        update_weights(true);
        factor();
        if (update_beta) solve_joint_step(du, db);
        else solve_u_step(du);
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
            u_ = u0;
            beta_ = b0;
            update_linear_predictor();
            // No decrease at any step length: we are at the minimum to
            // rounding, unless the step was large.
            const double size = du.lpNorm<Eigen::Infinity>() + (update_beta ? db.lpNorm<Eigen::Infinity>() : 0.0);
            if (size < 1e-6 * (1.0 + u_.lpNorm<Eigen::Infinity>())) break;
            throw PirlsError("PIRLS step-halving failed to reduce the penalised deviance");
        }
        const double change = pdev - new_pdev;
        pdev = new_pdev;
        // Converged when pdev stalls and the step itself is negligible: where
        // the steps are not exact Newton steps (floored observed weights)
        // convergence is linear, and a small pdev change alone would leave u
        // short by ~sqrt(tol), which the Laplace log-determinant feels.
        // Three stalled iterations in a row end it regardless (rounding).
        const double moved = step * (du.lpNorm<Eigen::Infinity>() + (update_beta ? db.lpNorm<Eigen::Infinity>() : 0.0));
        const double size = 1.0 + u_.lpNorm<Eigen::Infinity>() + (update_beta ? beta_.lpNorm<Eigen::Infinity>() : 0.0);
        stalled = change < opt.tol * (1.0 + std::abs(pdev)) ? stalled + 1 : 0;
        if (stalled > 0 && (moved < 1e-10 * size || stalled >= 3)) {
            ++it;
            break;
        }
    }
    n_pirls_ += it;
    if (it >= opt.max_iter)
        throw PirlsError("PIRLS did not converge in " + std::to_string(opt.max_iter) + " iterations");
    // Refactor at the mode so the Laplace term uses W(u-hat): the expected
    // information (lme4) or the observed one (glmmTMB's families).
    if (family_.observed_information()) update_weights(true, false);
    else update_weights(false);
    factor();
    return it;
}

}  // namespace glmmfast
