// nbinom1_terms.hpp — what the negative binomial NB1 (nbinom1.cpp) and its
// zero-truncated form (truncated_nbinom1.cpp) share: the log density and its
// derivatives in mu and in phi for one observation, and `Nb1Shape`, the base
// holding phi (phi_shape.hpp) with V(mu) = mu (1 + phi), its derivative and
// R's mustart y + [y = 0] / 6, and phi's logs (Nb1Phi, set with phi; by row where a
// dispersion model sets phi per observation: row_values.hpp).
//
// NB1 (glmmTMB's nbinom1): Var y = mu (1 + phi), i.e. size k = mu / phi and
// success probability 1 / (1 + phi).  With unit weight and L = log(1 + phi):
//   log f = lgamma(y + k) - lgamma(k) - lgamma(y + 1) - k L + y log(phi / (1 + phi)).
// With A = psi(y + k) - psi(k) - L, A' = psi'(y + k) - psi'(k):
//   d log f / d mu = A / phi,   d^2 log f / d mu^2 = A' / phi^2,
//   d log f / d phi = -(k / phi) A - k / (1 + phi) + y / phi - y / (1 + phi),
//   d^2 log f / d phi^2 = (2k / phi^2) A + (k^2 / phi^2) A' + 2k / (phi (1 + phi))
//                         + k / (1 + phi)^2 - y / phi^2 + y / (1 + phi)^2.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "family/distribution.hpp"
#include "family/phi_shape.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

// phi with its logs, computed once per value of phi rather than per row and call.
struct Nb1Phi {
    double phi, log1p_phi, log_odds;  // log(1 + phi), log(phi / (1 + phi))
    explicit Nb1Phi(double value)
        : phi(value), log1p_phi(std::log1p(value)), log_odds(std::log(value) - std::log1p(value)) {}
};

// Whether y is a count whose differences in k are sums over its y shifts: an integer below
// kShiftSumLimit (special_functions.hpp: polygamma_differences, the same bound).
inline bool nb1_sums_over_shifts(double y) { return y < kShiftSumLimit && y == std::floor(y); }

// lgamma(y + k) - lgamma(k).  For an integer count y below kShiftSumLimit (and k below 1e30) as
// log prod_{i<y} (k + i), one log per stretch of the product that stays within 1e+-250 (of 1e+-280)
// instead of two lgamma.
inline double nb1_log_gamma_difference(double y, double k) {
    if (nb1_sums_over_shifts(y) && k < 1e30) {
        double log_product = 0.0, product = 1.0;
        for (double i = 0.0; i < y; i += 1.0) {
            product *= k + i;
            if (product > 1e250 || product < 1e-250) {
                log_product += std::log(product);
                product = 1.0;
            }
        }
        return log_product + std::log(product);
    }
    return std::lgamma(y + k) - std::lgamma(k);
}

// log f(y; mu, phi) of NB1 (unit weight).
inline double nb1_log_density(double y, double mu, const Nb1Phi& p) {
    if (y == 0 && mu == 0) return 0.0;
    const double k = mu / p.phi;
    return nb1_log_gamma_difference(y, k) - log_factorial(y) - k * p.log1p_phi + (y > 0 ? y * p.log_odds : 0.0);
}

// d log f / d mu and d^2 log f / d mu^2 (unit weight).
inline std::pair<double, double> nb1_mu_derivatives(double y, double mu, const Nb1Phi& p) {
    const Polygammas d = polygamma_differences(mu / p.phi, y, 1);  // psi(y + k) - psi(k), psi'(y + k) - psi'(k)
    return {(d.psi - p.log1p_phi) / p.phi, d.psi1 / (p.phi * p.phi)};
}

// d^3 log f / d mu^3 (unit weight): (psi''(y + k) - psi''(k)) / phi^3.
inline double nb1_mu_third_derivative(double y, double mu, const Nb1Phi& p) {
    return polygamma_differences(mu / p.phi, y, 2).psi2 / (p.phi * p.phi * p.phi);
}

// d log f / d phi and d^2 log f / d phi^2 (unit weight).
inline std::pair<double, double> nb1_phi_derivatives(double y, double mu, const Nb1Phi& p) {
    const double phi = p.phi, q = 1.0 + phi, k = mu / phi;
    const Polygammas differences = polygamma_differences(k, y, 1);
    const double a = differences.psi - p.log1p_phi, a1 = differences.psi1;
    const double d1 = -(k / phi) * a - k / q + y / phi - y / q;
    const double d2 = 2.0 * k / (phi * phi) * a + k * k / (phi * phi) * a1 + 2.0 * k / (phi * q) + k / (q * q) -
                      y / (phi * phi) + y / (q * q);
    return {d1, d2};
}

// The shape phi of an NB1 distribution (Derived: the distribution, for clone()), read by row
// (shape_by_row): nb1_phi(i), phi and its logs at observation i, is the scalar's where phi is
// one value and the row's (its logs computed once, by set_shape_rows) where a dispersion model sets it.
template <class Derived>
class Nb1Shape : public PhiShape<Derived> {
public:
    bool shape_by_row(const std::string& p) const override { return p == "phi"; }
    void set_shape(const std::string& p, double value) override {
        PhiShape<Derived>::set_shape(p, value);
        nb1_phi_ = Nb1Phi(value);
        nb1_phi_rows_.clear();
    }
    void set_shape_rows(const std::string& p, const ArrayXd& values) override {
        PhiShape<Derived>::set_shape_rows(p, values);
        nb1_phi_rows_.clear();
        nb1_phi_rows_.reserve(values.size());
        for (const double v : values) nb1_phi_rows_.emplace_back(v);
    }
    ArrayXd variance(const ArrayXd& mu) const override {
        return mu * (1.0 + this->phi_rows_.over(this->phi_, mu.size()));
    }
    ArrayXd variance_deriv(const ArrayXd& mu) const override {
        return 1.0 + this->phi_rows_.over(this->phi_, mu.size());
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y + (y == 0).cast<double>() / 6.0; }

protected:
    const Nb1Phi& nb1_phi(Eigen::Index i) const { return nb1_phi_rows_.empty() ? nb1_phi_ : nb1_phi_rows_[i]; }

private:
    Nb1Phi nb1_phi_{1.0};              // phi_ and its logs
    std::vector<Nb1Phi> nb1_phi_rows_;  // one per observation, or empty
};

}  // namespace glmmfast
