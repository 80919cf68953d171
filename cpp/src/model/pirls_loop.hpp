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
//
// pirls_to_mode(model, update_beta, opt, iterations, mode_pdev) is a model's
// whole PIRLS (pirls.cpp has the reasoning) and returns its number of steps
// (and, mode_pdev not null, the penalised deviance at the mode):
// where model.newton_finishes() (a non-canonical link, the general
// observation path) Newton steps with the exact Hessian from the start
// (newton_polish), and where they cannot finish Fisher steps to the looser
// kFisherTolBeforeNewton, then Newton to rounding (the Fisher steps resumed
// to the tolerance where they cannot finish); else the Fisher steps alone.  It ends on the
// exact Hessian's factor at the mode (the Laplace term's).  Beyond the
// loop's interface the model offers
//   void use_exact_weights(bool)   which weights move_to prepares (the
//                                  partitioned model asks its rows for one
//                                  kind; the in-memory one computes either);
//   bool factor_exact()            the exact Hessian's weights and factor at
//                                  the current point (false: not positive
//                                  definite);
//   void refresh_exact()           the same, throwing PirlsError on failure.
#pragma once

#include <Eigen/Core>
#include <algorithm>
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

// The Fisher steps' relative decrement before the Newton steps take over.
constexpr double kFisherTolBeforeNewton = 1e-7;

// Newton steps for u (and beta with update_beta) with the exact Hessian from
// a PIRLS (Fisher) mode; true when they converged (the last step below
// rounding), false where they stopped early (the exact Hessian not positive
// definite, no decrease, 8 steps).
template <class Model>
bool newton_polish(Model& m, double& pdev, const PirlsOptions& opt, bool update_beta, long& iterations) {
    Eigen::VectorXd du, dbeta;
    double previous = 0.0;  // the last full step's length (0: none yet, or it was halved)
    m.use_exact_weights(true);
    for (int k = 0; k < 8; ++k) {
        check_interrupt();
        // Exact Hessian not positive definite here: keep the Fisher mode.
        if (!m.factor_exact()) return false;
        try {
            m.step(update_beta, du, dbeta);
        } catch (const PirlsError&) {  // the fixed-effects block of the exact Hessian is not positive definite
            return false;
        }
        const Eigen::VectorXd u0 = m.u(), beta0 = m.beta();
        double step = 1.0;
        bool accepted = false;
        for (int h = 0; h <= opt.max_halvings; ++h, step *= 0.5) {
            if (m.move_to(u0 + step * du, update_beta ? Eigen::VectorXd(beta0 + step * dbeta) : beta0)) {
                const double new_pdev = m.penalised_deviance();
                if (std::isfinite(new_pdev) && new_pdev <= pdev + 1e-13 * (1.0 + std::abs(pdev))) {
                    pdev = new_pdev;
                    accepted = true;
                    break;
                }
            }
        }
        ++iterations;
        if (!accepted) {
            m.move_to(u0, beta0);
            return false;
        }
        const double moved =
            std::max(du.template lpNorm<Eigen::Infinity>(), update_beta ? dbeta.template lpNorm<Eigen::Infinity>() : 0.0);
        const double size = std::max(m.u().template lpNorm<Eigen::Infinity>(),
                                     update_beta ? m.beta().template lpNorm<Eigen::Infinity>() : 0.0);
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

// Newton steps from the model's current point (newton_polish, its own step halving): true where they
// reached the mode.
template <class Model>
bool newton_from_start(Model& m, double& pdev, const PirlsOptions& opt, bool update_beta, long& iterations) {
    m.use_exact_weights(true);
    if (!m.move_to(m.u(), m.beta())) return false;
    pdev = m.penalised_deviance();
    return newton_polish(m, pdev, opt, update_beta, iterations);
}

template <class Model>
int pirls_to_mode(Model& m, bool update_beta, const PirlsOptions& opt, long& iterations,
                  double* mode_pdev = nullptr) {
    const long before = iterations;
    double pdev = 0.0;
    if (m.newton_finishes()) {
        // Newton steps first (from the previous evaluation's mode they converge quadratically where the
        // Fisher steps, the zero part's EM-type weights above all, converge linearly); where they cannot
        // finish (the exact Hessian not positive definite, no decrease, 8 steps), Fisher steps from the
        // point they reached to the looser tolerance and Newton again, then, if need be, Fisher to the
        // tight tolerance and a last Newton polish.
        if (!newton_from_start(m, pdev, opt, update_beta, iterations)) {
            PirlsOptions fisher = opt;
            fisher.tol = std::max(opt.tol, kFisherTolBeforeNewton);
            m.use_exact_weights(false);
            pirls_loop(m, update_beta, fisher, iterations, pdev);
            if (!newton_polish(m, pdev, opt, update_beta, iterations) && fisher.tol > opt.tol) {
                m.use_exact_weights(false);
                pirls_loop(m, update_beta, opt, iterations, pdev);
                newton_polish(m, pdev, opt, update_beta, iterations);
            }
        }
    } else {
        m.use_exact_weights(false);
        pirls_loop(m, update_beta, opt, iterations, pdev);
    }
    // Refactor at the final point so the Laplace term uses the exact Hessian
    // at u-hat (the Fisher weights for canonical links).
    m.refresh_exact();
    if (mode_pdev) *mode_pdev = pdev;
    return static_cast<int>(iterations - before);
}

}  // namespace glmmfast
