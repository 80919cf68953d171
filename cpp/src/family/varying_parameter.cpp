// varying_parameter.cpp — the observation terms of a family whose parameter
// varies by observation (see varying_parameter.hpp for the equations).
#include "family/varying_parameter.hpp"

#include <random>
#include <stdexcept>

namespace glmmfast {

namespace {

void check_values(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& wt,
                  const VaryingParameter& v) {
    if (v.values.size() != y.size() || wt.size() != y.size())
        throw std::invalid_argument("a varying family parameter needs one value per observation");
    if (v.name == "dispersion" ? !family.has_dispersion() : !family.has_shape(v.name))
        throw std::invalid_argument("the " + family.name() + " family has no parameter '" + v.name + "'");
}

// The family with the shape v.name at each observation's value: a copy that
// reads it by row (Distribution::shape_by_row), so the whole-array functions
// serve every row at once.
Family family_by_row(const Family& family, const VaryingParameter& v) {
    Family at = family;
    at.set_shape_rows(v.name, v.values);
    return at;
}

// f(i, family at observation i's parameter) for each observation of a
// parameter the family does not read by row: the dispersion is passed as
// phi, a shape is set on a copy of the family.
template <class F>
void for_each_observation(const Family& family, const VaryingParameter& v, F&& f) {
    if (v.name == "dispersion") {
        for (Eigen::Index i = 0; i < v.values.size(); ++i) f(i, family, v.values[i]);
        return;
    }
    Family at = family;
    for (Eigen::Index i = 0; i < v.values.size(); ++i) {
        at.set_shape(v.name, v.values[i]);
        f(i, at, v.dispersion);
    }
}

}  // namespace

Eigen::ArrayXd varying_unit_log_density(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                        const Eigen::ArrayXd& wt, const VaryingParameter& v) {
    check_values(family, y, wt, v);
    if (family.shape_by_row(v.name)) return family_by_row(family, v).log_density(y, eta, wt, v.dispersion);
    Eigen::ArrayXd ld(y.size()), yi(1), etai(1), wti(1);
    for_each_observation(family, v, [&](Eigen::Index i, const Family& f, double phi) {
        yi[0] = y[i];
        etai[0] = eta[i];
        wti[0] = wt[i];
        ld[i] = f.log_density(yi, etai, wti, phi)[0];
    });
    return ld;
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
        if (log_density) t.log_density = varying_unit_log_density(family, y, eta, wt, v);
        return;
    }
    if (family.shape_by_row(v.name)) {
        family_by_row(family, v).unit_observation_terms(y, eta, v.dispersion, wt, t, information_deriv, log_density);
        return;
    }
    t.log_density.resize(log_density ? y.size() : 0);
    t.score.resize(y.size());
    t.information.resize(y.size());
    t.fisher.resize(y.size());
    t.information_deriv.resize(information_deriv ? y.size() : 0);
    Eigen::ArrayXd yi(1), etai(1), wti(1);
    ObservationTerms ti;
    for_each_observation(family, v, [&](Eigen::Index i, const Family& f, double phi) {
        yi[0] = y[i];
        etai[0] = eta[i];
        wti[0] = wt[i];
        f.unit_observation_terms(yi, etai, phi, wti, ti, information_deriv, log_density);
        if (log_density) t.log_density[i] = ti.log_density[0];
        t.score[i] = ti.score[0];
        t.information[i] = ti.information[0];
        t.fisher[i] = ti.fisher[0];
        if (information_deriv) t.information_deriv[i] = ti.information_deriv[0];
    });
}

Eigen::ArrayXd varying_simulate(const Family& family, const Eigen::ArrayXd& mu, const Eigen::ArrayXd& wt,
                                const VaryingParameter& v, unsigned long long seed) {
    check_values(family, mu, wt, v);
    if (family.shape_by_row(v.name)) return family_by_row(family, v).simulate(mu, wt, v.dispersion, seed);
    std::mt19937_64 rng(seed);
    Eigen::ArrayXd y(mu.size()), mui(1), wti(1);
    for_each_observation(family, v, [&](Eigen::Index i, const Family& f, double phi) {
        mui[0] = mu[i];
        wti[0] = wt[i];
        y[i] = f.distribution().simulate(mui, wti, phi, rng)[0];
    });
    return y;
}

}  // namespace glmmfast
