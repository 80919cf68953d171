// varying_parameter.cpp — the observation terms of a family whose parameter
// varies by observation (see varying_parameter.hpp for the equations).
#include "family/varying_parameter.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace glmmfast {

void check_varying_parameter(const Family& family, const std::string& name) {
    if (family.shape_by_row(name)) return;
    const std::vector<std::string> parameters = family.parameters();
    if (std::find(parameters.begin(), parameters.end(), name) == parameters.end())
        throw std::invalid_argument("the " + family.name() + " family has no parameter '" + name + "'");
    throw std::invalid_argument("the " + family.name() + " family's " + name + " does not vary by observation");
}

namespace {

void check_values(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& wt,
                  const VaryingParameter& v) {
    if (v.values.size() != y.size() || wt.size() != y.size())
        throw std::invalid_argument("a varying family parameter needs one value per observation");
    check_varying_parameter(family, v.name);
}

// The family with the parameter v.name at each observation's value: a copy that reads it by row
// (Distribution::shape_by_row), so the whole-array functions serve every row at once.
Family family_by_row(const Family& family, const VaryingParameter& v) {
    Family at = family;
    at.set_shape_rows(v.name, v.values);
    return at;
}

}  // namespace

Eigen::ArrayXd varying_unit_log_density(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                        const Eigen::ArrayXd& wt, const VaryingParameter& v) {
    check_values(family, y, wt, v);
    return family_by_row(family, v).log_density(y, eta, wt, v.dispersion);
}

void varying_unit_observation_terms(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                    const Eigen::ArrayXd& wt, const VaryingParameter& v, ObservationTerms& t,
                                    bool information_deriv, bool log_density) {
    check_values(family, y, wt, v);
    if (v.name == "dispersion") {
        // Derivatives at phi = 1 divided by phi_i; the log density at each phi_i.
        family.unit_observation_terms(y, eta, 1.0, wt, t, information_deriv, false);
        t.score /= v.values;
        t.information /= v.values;
        t.fisher /= v.values;
        if (information_deriv) t.information_deriv /= v.values;
        if (log_density) t.log_density = family_by_row(family, v).log_density(y, eta, wt, v.dispersion);
        return;
    }
    family_by_row(family, v).unit_observation_terms(y, eta, v.dispersion, wt, t, information_deriv, log_density);
}

Eigen::ArrayXd varying_simulate(const Family& family, const Eigen::ArrayXd& mu, const Eigen::ArrayXd& wt,
                                const VaryingParameter& v, unsigned long long seed) {
    check_values(family, mu, wt, v);
    return family_by_row(family, v).simulate(mu, wt, v.dispersion, seed);
}

}  // namespace glmmfast
