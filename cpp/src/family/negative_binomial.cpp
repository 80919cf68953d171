// negative_binomial.cpp — the negative binomial NB2 (MASS's
// negative.binomial(theta); glmmTMB's nbinom2; links log, sqrt, identity).
//
// Shape theta (held here, set_shape("theta")), variance mu + mu^2 / theta;
// times the prior weight (MASS's negative.binomial()$aic):
//   log f = lgamma(theta + y) - lgamma(theta) - lgamma(y + 1) + theta log theta
//           + y log mu - (theta + y) log(theta + mu),
//   unit deviance 2 [y log(max(1, y) / mu) - (y + theta) log((y + theta) / (mu + theta))].
// With log(theta + mu) = max + log1p(e^-|log mu - log theta|) the large
// terms of log f cancel analytically, so neither mu -> 0 nor mu -> inf
// overflows.  Parameter theta:
//   d log f / d theta = psi(theta + y) - psi(theta) + log theta + 1 - log(theta + mu) - (theta + y) / (theta + mu),
//   d^2 log f / d theta^2 = psi'(theta + y) - psi'(theta) + 1/theta - 2 / (theta + mu) + (theta + y) / (theta + mu)^2.
// Simulation: Poisson(Gamma(shape theta, scale mu / theta)) (R's rnbinom(mu, size)).
// theta may vary by observation (theta(i), shape_by_row: a dispersion
// model); its own terms (log theta, psi(theta)) are then per row, else once.
#include <cmath>
#include <memory>
#include <stdexcept>
#include <utility>

#include "family/distribution.hpp"
#include "family/nbinom2_terms.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

class NegativeBinomial final : public Nb2Shape<NegativeBinomial> {
public:
    const char* name() const override { return "negative.binomial"; }
    std::vector<std::string> links() const override { return {"log", "sqrt", "identity"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::NonNegative; }
    // V''(mu) = 2 / theta, in the exponential-dispersion third derivative.
    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        return exponential_dispersion_information_deriv(y, mu, me, me2, me3, wt,
                                                        2.0 / theta_rows_.over(theta_, mu.size()));
    }
    unsigned mean_terms_needed() const override { return kLogMu; }
    bool shape_by_row(const std::string& p) const override { return p == "theta"; }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        const bool by_row = theta_rows_.values.size() > 0;
        const double lt = std::log(theta_);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double th = theta(m.first_row + i);
            out[i] = wt[i] * nb2_log_density(y[i], m.log_mu[i], th, by_row ? std::log(th) : lt);
        }
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double th = theta(m.first_row + i);
            out[i] = 2.0 * wt[i] *
                     ((y[i] > 0 ? y[i] * (std::log(std::max(1.0, y[i])) - m.log_mu[i]) : 0.0) -
                      (y[i] + th) * (std::log(y[i] + th) - nb2_log_theta_plus_mu(th, m.mu[i], m.log_mu[i])));
        }
    }
    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "theta") unknown_parameter(p);
        // the terms in theta alone: once, or per row where theta varies
        const auto common = [](double th) {
            return std::pair{-digamma(th) + std::log(th) + 1.0, -trigamma(th) + 1.0 / th};
        };
        const bool by_row = theta_rows_.values.size() > 0;
        const auto scalar_common = common(theta_);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double th = theta(m.first_row + i);
            const auto [common1, common2] = by_row ? common(th) : scalar_common;
            double a, b;
            nb2_theta_derivatives(y[i], th, nb2_log_theta_plus_mu(th, m.mu[i], m.log_mu[i]), common1, common2, a, b);
            d1[i] = wt[i] * a;
            d2[i] = wt[i] * b;
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double th = theta(i);
            const double rate = mu[i] > 0 ? std::gamma_distribution<double>(th, mu[i] / th)(rng) : 0.0;
            y[i] = rate > 0 ? static_cast<double>(std::poisson_distribution<long long>(rate)(rng)) : 0.0;
        }
        return y;
    }
};

}  // namespace

std::unique_ptr<Distribution> make_negative_binomial() { return std::make_unique<NegativeBinomial>(); }

}  // namespace glmmfast
