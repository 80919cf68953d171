// nbinom1_terms.hpp — what the negative binomial NB1 (nbinom1.cpp) and its
// zero-truncated form (truncated_nbinom1.cpp) share: the log density and its
// derivatives in mu and in phi for one observation, and `Nb1Shape`, the base
// holding phi (phi_shape.hpp) with V(mu) = mu (1 + phi), its derivative and
// R's mustart y + [y = 0] / 6.
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

// log f(y; mu, phi) of NB1 (unit weight).
inline double nb1_log_density(double y, double mu, double phi) {
    if (y == 0 && mu == 0) return 0.0;
    const double k = mu / phi;
    return std::lgamma(y + k) - std::lgamma(k) - log_factorial(y) - k * std::log1p(phi) +
           (y > 0 ? y * (std::log(phi) - std::log1p(phi)) : 0.0);
}

// d log f / d mu and d^2 log f / d mu^2 (unit weight).
inline std::pair<double, double> nb1_mu_derivatives(double y, double mu, double phi) {
    const double k = mu / phi;
    const double a = digamma(y + k) - digamma(k) - std::log1p(phi), a1 = trigamma(y + k) - trigamma(k);
    return {a / phi, a1 / (phi * phi)};
}

// d^3 log f / d mu^3 (unit weight): (psi''(y + k) - psi''(k)) / phi^3.
inline double nb1_mu_third_derivative(double y, double mu, double phi) {
    const double k = mu / phi;
    return (tetragamma(y + k) - tetragamma(k)) / (phi * phi * phi);
}

// d log f / d phi and d^2 log f / d phi^2 (unit weight).
inline std::pair<double, double> nb1_phi_derivatives(double y, double mu, double phi) {
    const double q = 1.0 + phi, k = mu / phi;
    const double a = digamma(y + k) - digamma(k) - std::log1p(phi), a1 = trigamma(y + k) - trigamma(k);
    const double d1 = -(k / phi) * a - k / q + y / phi - y / q;
    const double d2 = 2.0 * k / (phi * phi) * a + k * k / (phi * phi) * a1 + 2.0 * k / (phi * q) + k / (q * q) -
                      y / (phi * phi) + y / (q * q);
    return {d1, d2};
}

// The shape phi of an NB1 distribution (Derived: the distribution, for clone()).
template <class Derived>
class Nb1Shape : public PhiShape<Derived> {
public:
    ArrayXd variance(const ArrayXd& mu) const override { return mu * (1.0 + this->phi_); }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return ArrayXd::Constant(mu.size(), 1.0 + this->phi_); }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y + (y == 0).cast<double>() / 6.0; }
};

}  // namespace glmmfast
