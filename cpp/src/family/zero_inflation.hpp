// zero_inflation.hpp — a zero-inflated (or hurdle) observation model on top
// of any distribution's log density (glmmTMB's ziformula).
//
// With the zero-inflation probability p_i = logistic(eta_zi,i) and the base
// (conditional) density f with unit prior weight,
//     f_ZI(y) = p 1[y = 0] + (1 - p) f(y).
// Hurdle models are a zero-truncated f (f(0) = 0) with the same mixture; a
// base with no mass at 0 (Gamma: glmmTMB's ziGamma, the truncated counts) has
// f_ZI(0) = p.  With pi = P(structural zero | y) = p 1[y = 0] / f_ZI(y),
// s = d log f / d eta and h = -d^2 log f / d eta^2 (the base's score and
// observed information), the exact derivatives in the conditional eta are
//     d log f_ZI / d eta     = (1 - pi) s,
//     -d^2 log f_ZI / d eta^2 = (1 - pi) h - pi (1 - pi) s^2,
// which can be negative (the mixture is not log-concave); a positive weight
// for the Fisher-scoring steps of PIRLS is (1 - pi) times the base's Fisher
// weight (the EM-type complete-data information).  In eta_zi:
//     d log f_ZI / d eta_zi = pi - p.
// The exact Laplace gradient (model/observation_gradient.cpp) also needs the
// information's derivative in eta and the eta_zi-derivatives of the score and
// information.  With h' = dh / d eta (the base's), d pi / d eta = -pi (1 - pi) s
// and d pi / d eta_zi = pi (1 - pi):
//     d/d eta  [(1 - pi) h - pi (1 - pi) s^2] = (1 - pi) h' + pi (1 - pi) [3 s h + (1 - 2 pi) s^3],
//     d/d eta_zi of the score       = -pi (1 - pi) s,
//     d/d eta_zi of the information = -pi (1 - pi) [h + (1 - 2 pi) s^2].
// (A hurdle has pi = 0 or 1: the base's terms for y > 0, none at y = 0.)
// Prior weights multiply the log density (glmmTMB's weights).
//
// Interface: `ZeroInflatedTerms` (arrays per observation) and
// `zero_inflate(...)`, which overwrites base terms with the mixture's.
// Nothing here knows about models or Python.
#pragma once

#include <Eigen/Core>

namespace glmmfast {

// Per observation: the prior-weighted log density, its score and observed
// information in eta, and a positive Fisher-type weight in eta; for the
// exact gradient (filled where information_deriv is, empty otherwise) the
// information's eta-derivative and, with zero inflation, the eta_zi
// derivatives of the log density, score and information.
struct ObservationTerms {
    Eigen::ArrayXd log_density, score, information, fisher;
    Eigen::ArrayXd information_deriv;
    Eigen::ArrayXd zi_log_density, zi_score, zi_information;
};

// `t` holds the base's unit-weight terms on entry and the prior-weighted
// mixture's on return; log_p = log p, log1m_p = log(1 - p) per observation
// (empty: no zero inflation, only the weights are applied); zero_mass:
// whether the base puts mass at y = 0.  Also returns pi (may be null).
// Without with_log_density the log density is left empty: PIRLS's weights
// need only pi of the zero rows, not log f_ZI(0)'s log1p (nor, without zero
// inflation, the base's log density: `t` may then come without it).
void zero_inflate(const Eigen::ArrayXd& y, const Eigen::ArrayXd& wt, const Eigen::ArrayXd& log_p,
                  const Eigen::ArrayXd& log1m_p, bool zero_mass, ObservationTerms& t,
                  Eigen::ArrayXd* structural_zero = nullptr, bool with_log_density = true);

// The mixture's prior-weighted log density only (overwrites `log_density`,
// the base's unit-weight one on entry).
void zero_inflate_log_density(const Eigen::ArrayXd& y, const Eigen::ArrayXd& wt, const Eigen::ArrayXd& log_p,
                              const Eigen::ArrayXd& log1m_p, bool zero_mass, Eigen::ArrayXd& log_density);

// log p and log(1 - p) for p = logistic(eta), without cancellation.
void log_logistic(const Eigen::ArrayXd& eta, Eigen::ArrayXd& log_p, Eigen::ArrayXd& log1m_p);

}  // namespace glmmfast
