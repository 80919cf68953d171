// varying_parameter.hpp — a family parameter that varies by observation:
// glmmTMB's dispersion model (dispformula), p_i = exp(power * eta_d,i) with
// eta_d = offset_d + X_d beta_d (the model sets the values; see
// model/glmm_model.hpp).
//
// Interface: `VaryingParameter` (the parameter's name from
// Distribution::parameters() and its value per observation) and the
// observation terms of the general observation path (zero_inflation.hpp's
// ObservationTerms) at those values, at the weights the distribution sees
// (ones, or the trials of a family whose weights are trials: weight_roles
// in family.hpp):
//   varying_unit_observation_terms   log density, score, information and
//                                    Fisher weight in eta (and the
//                                    information's eta-derivative w', the
//                                    family's own, where information_deriv;
//                                    without log_density the log density is
//                                    left empty, as Family's)
//   varying_unit_log_density         the log density only
//   varying_simulate                 draws of y at each observation's value
//                                    (simulate and the parametric bootstrap)
// For "dispersion" (gaussian sigma^2, the Gamma's phi = 1 / shape) the
// eta derivatives of an exponential-dispersion family are the unit-phi ones
// divided by phi_i (exactly a change of prior weights, w_i / phi_i); the
// log density, whose normalising constant depends on phi_i, is evaluated at
// each phi_i.  A shape parameter (the NB2's theta_i, nbinom1's phi_i) enters
// V(mu) and the log density.  A distribution that reads the shape by row
// (Distribution::shape_by_row: beta, betabinomial, NB2's theta, the t's
// sigma) is evaluated over all rows at once, on one copy whose shape holds
// the values (set_shape_rows, family/row_values.hpp): the same code as a
// constant shape, which is the broadcast.  The others are evaluated
// observation by observation on a copy with that one value set.
// Nothing here knows about models or Python.
#pragma once

#include <Eigen/Core>
#include <string>

#include "family/family.hpp"

namespace glmmfast {

struct VaryingParameter {
    std::string name;       // "dispersion" or a shape parameter's name
    Eigen::ArrayXd values;  // one positive value per observation
    double dispersion = 1.0;  // the family's scalar dispersion, where a shape varies
};

// Terms at each observation's parameter value and distribution weight wt
// (throws std::invalid_argument for a name the family does not have).
void varying_unit_observation_terms(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                    const Eigen::ArrayXd& wt, const VaryingParameter& v, ObservationTerms& t,
                                    bool information_deriv = false, bool log_density = true);
Eigen::ArrayXd varying_unit_log_density(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                        const Eigen::ArrayXd& wt, const VaryingParameter& v);
// Draws of y at means mu, each with its observation's parameter value and
// distribution weight wt, from one generator seeded with `seed`.
Eigen::ArrayXd varying_simulate(const Family& family, const Eigen::ArrayXd& mu, const Eigen::ArrayXd& wt,
                                const VaryingParameter& v, unsigned long long seed);

}  // namespace glmmfast
