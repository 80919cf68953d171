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
// The distribution reads the parameter by row (Distribution::shape_by_row:
// the dispersion of gaussian, Gamma, inverse Gaussian and Tweedie
// (dispersion_by_row.hpp); the shapes of beta, betabinomial, nbinom1,
// truncated_nbinom1, genpois and compois (phi), of NB2 and truncated_nbinom2
// (theta) and the t's sigma): the functions run over all rows at once, on one
// copy of the family holding the values (set_shape_rows, row_values.hpp), the
// same code as a constant parameter, which is the broadcast.  For
// "dispersion" the eta derivatives of an exponential-dispersion family are
// the unit-phi ones divided by phi_i (exactly a change of prior weights,
// w_i / phi_i); the log density, whose normalising constant depends on
// phi_i, is the by-row copy's.  A shape parameter (the NB2's theta_i,
// nbinom1's phi_i) enters V(mu) and the log density.
// check_varying_parameter: std::invalid_argument naming the family and the
// parameter, for a parameter it does not have or does not read by row (the
// Tweedie power, the t's df).
// Nothing here knows about models or Python.
#pragma once

#include <Eigen/Core>
#include <string>

#include "family/family.hpp"

namespace glmmfast {

// Throws std::invalid_argument unless `family` reads the parameter `name` by row.
void check_varying_parameter(const Family& family, const std::string& name);

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
