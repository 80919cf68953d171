// pirls_loop.hpp — the penalised IRLS iteration, written once for every
// model that can evaluate its rows at a point.
//
// Interface: pirls_loop(model, update_beta, opt) minimises the penalised
// deviance pdev(u, beta) = sum_i d_i + ||u||^2 (Bates et al. 2015, eq. 38;
// see pirls.cpp for the step) from the model's current (u, beta) and returns
// the number of iterations (also added to `iterations`, the model's count;
// `pdev` is left at the final point's).  The model offers
//   bool move_to(u, beta)          set the point and evaluate its rows (eta,
//                                  mu, and whatever the step needs); false
//                                  where the linear predictor is invalid;
//   double penalised_deviance()    pdev at the current point;
//   void refresh()                 Fisher weights and the factor of
//                                  A = U'WU + I at the current point;
//   double step(update_beta, du, db)  the Newton step from the factor and
//                                  its decrement g'd;
//   u(), beta()                    the current point.
// GlmmModel (pirls.cpp: rows in memory) and PartitionedGlmm
// (partitioned_glmm.cpp: rows in partitions that return sums) both run it.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <string>

#include "model/glmm_model.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

template <class Model>
int pirls_loop(Model& m, bool update_beta, const PirlsOptions& opt, long& iterations, double& pdev) {
    if (!m.move_to(m.u(), m.beta())) throw PirlsError("invalid linear predictor at the start of PIRLS");
    pdev = m.penalised_deviance();
    Eigen::VectorXd du, db;
    int it = 0;
    for (; it < opt.max_iter; ++it) {
        check_interrupt();  // u and beta are an accepted iterate here
        m.refresh();
        // Newton decrement: the decrease of pdev the full step would bring.
        // Stopping on it (not on the realised decrease, which a halved step
        // can make small far from the mode) after taking the step leaves u
        // with an error O(step^2): the Laplace term log det A(u) is
        // first-order sensitive to u, so u itself must be accurate, not
        // just pdev.
        const double decrement = m.step(update_beta, du, db);
        const Eigen::VectorXd u0 = m.u(), b0 = m.beta();
        if (decrement < opt.tol * (1.0 + std::abs(pdev))) {
            // At the mode to within the tolerance: the full Newton step is
            // taken unconditionally (the decrease it brings is below the
            // roundoff of pdev, so comparing pdev cannot judge it).
            m.move_to(u0 + du, update_beta ? Eigen::VectorXd(b0 + db) : b0);
            pdev = m.penalised_deviance();
            iterations += it + 1;
            return it + 1;
        }
        double step = 1.0, new_pdev = pdev;
        bool accepted = false;
        for (int h = 0; h <= opt.max_halvings; ++h, step *= 0.5) {
            if (m.move_to(u0 + step * du, update_beta ? Eigen::VectorXd(b0 + step * db) : b0)) {
                new_pdev = m.penalised_deviance();
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
                m.move_to(u0 + du, update_beta ? Eigen::VectorXd(b0 + db) : b0);
                pdev = m.penalised_deviance();
                iterations += it + 1;
                return it + 1;
            }
            m.move_to(u0, b0);
            throw PirlsError("PIRLS step-halving failed to reduce the penalised deviance");
        }
        pdev = new_pdev;
    }
    iterations += it;
    throw PirlsError("PIRLS did not converge in " + std::to_string(opt.max_iter) + " iterations");
}

}  // namespace glmmfast
