// betabinomial.cpp — the beta-binomial distribution (glmmTMB's betabinomial;
// links logit, probit, cloglog): k successes of n trials with success
// probability p ~ Beta(a = mu phi, b = (1 - mu) phi), so E k = n mu and
// Var k = n mu (1 - mu) (1 + (n - 1) / (1 + phi)); phi is glmmTMB's sigma().
// As the binomial, y is the proportion k / n and the prior weight wt the
// number of trials n (weights_are_trials):
//   log f = log C(n, k) + lbeta(k + a, n - k + b) - lbeta(a, b)
//         = [lgamma(n + 1) - lgamma(n + phi)] + [lgamma(k + a) - lgamma(k + 1)]
//           + [lgamma(n - k + b) - lgamma(n - k + 1)] + lgamma(phi) - lgamma(a) - lgamma(b),
// each bracket a log_gamma_ratio (special_functions.hpp), so many trials
// cost no cancellation between huge lgamma values.  With
// D1 = psi(k + a) - psi(a) - psi(n - k + b) + psi(b) and
// D2 = psi'(k + a) - psi'(a) + psi'(n - k + b) - psi'(b) (<= 0) and
// D3 = psi''(k + a) - psi''(a) - psi''(n - k + b) + psi''(b):
//   d log f / d mu = phi D1,   d^2 log f / d mu^2 = phi^2 D2,   d^3 log f / d mu^3 = phi^3 D3,
// which mu_derivative_rows.hpp takes to eta; each difference is a sum over
// the k (n - k) shifts for counts below kShiftSumLimit (polygamma_differences).
// The Fisher weight of PIRLS is n me^2 / (mu (1 - mu) (1 + (n - 1) / (1 + phi))).
// Parameter "phi", with A = psi(k + a) - psi(a), B = psi(n - k + b) - psi(b),
// C = psi(n + phi) - psi(phi) and A', B', C' the same in psi':
//   d log f / d phi = mu A + (1 - mu) B - C,
//   d^2 log f / d phi^2 = mu^2 A' + (1 - mu)^2 B' - C'.
// Unit "deviance": 2 [log f(y; mu = y) - log f(y; mu)] (differences in mu
// are exact; y = 0 or 1 takes mu = y as the limit 0 of its deviance).
// Simulation: Binomial(n, Beta(a, b)) / n.  phi may vary by observation
// (phi(i), shape_by_row: a dispersion model).
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "family/distribution.hpp"
#include "family/mu_derivative_rows.hpp"
#include "family/phi_shape.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

class BetaBinomial final : public MuDerivativeRows<BetaBinomial, PhiShape<BetaBinomial>> {
public:
    const char* name() const override { return "betabinomial"; }
    std::vector<std::string> links() const override { return {"logit", "probit", "cloglog"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::UnitInterval; }
    unsigned mean_terms_needed() const override { return kBothLogProbabilities; }
    bool exponential_dispersion() const override { return false; }
    bool weights_are_trials() const override { return true; }
    bool shape_by_row(const std::string& p) const override { return p == "phi"; }

    // Per trial, as the binomial's (the trials enter through fisher_weight).
    ArrayXd variance(const ArrayXd& mu) const override { return mu * (1.0 - mu); }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return 1.0 - 2.0 * mu; }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd& wt) const override { return (wt * y + 0.5) / (wt + 1.0); }
    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = unit_log_density(y[i], wt[i], std::exp(m.log_mu[i]), std::exp(m.log1m_mu[i]), phi(m.first_row + i));
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double k = std::round(wt[i] * y[i]), n = std::round(wt[i]), ph = phi(m.first_row + i);
            const double saturated = k <= 0 || k >= n ? 0.0 : unit_log_density(y[i], wt[i], k / n, (n - k) / n, ph);
            out[i] = 2.0 * (saturated - unit_log_density(y[i], wt[i], std::exp(m.log_mu[i]),
                                                         std::exp(m.log1m_mu[i]), ph));
        }
    }

    MuDerivatives mu_derivatives(double y, double wt, double mu, Eigen::Index row, int order) const {
        const double ph = phi(row);
        const Counts c = counts(y, wt);
        const Polygammas A = polygamma_differences(mu * ph, c.k, order - 1);
        const Polygammas B = polygamma_differences((1.0 - mu) * ph, c.n - c.k, order - 1);
        MuDerivatives d;
        d.l1 = ph * (A.psi - B.psi);
        if (order >= 2) {
            d.l2 = ph * ph * (A.psi1 + B.psi1);
            d.expected = expected_information(wt, mu, row);
        }
        if (order >= 3) d.l3 = ph * ph * ph * (A.psi2 - B.psi2);
        return d;
    }
    // Per trial as the binomial's, inflated by 1 + (n - 1) / (1 + phi).
    double expected_information(double wt, double mu, Eigen::Index row) const {
        return wt / (mu * (1.0 - mu) * (1.0 + std::max(wt - 1.0, 0.0) / (1.0 + phi(row))));
    }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "phi") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double mu = std::exp(m.log_mu[i]), mu1 = std::exp(m.log1m_mu[i]), ph = phi(m.first_row + i);
            const Counts c = counts(y[i], wt[i]);
            const Polygammas A = polygamma_differences(mu * ph, c.k, 1);
            const Polygammas B = polygamma_differences(mu1 * ph, c.n - c.k, 1);
            const Polygammas C = polygamma_differences(ph, c.n, 1);
            d1[i] = mu * A.psi + mu1 * B.psi - C.psi;
            d2[i] = mu * mu * A.psi1 + mu1 * mu1 * B.psi1 - C.psi1;
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd& wt, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const long long n = std::llround(wt[i]);
            if (n <= 0) {
                y[i] = 0.0;
                continue;
            }
            const double g1 = std::gamma_distribution<double>(mu[i] * phi(i), 1.0)(rng);
            const double g2 = std::gamma_distribution<double>((1.0 - mu[i]) * phi(i), 1.0)(rng);
            const double p = g1 + g2 > 0 ? g1 / (g1 + g2) : mu[i];
            y[i] = static_cast<double>(std::binomial_distribution<long long>(n, p)(rng)) / static_cast<double>(n);
        }
        return y;
    }

private:
    // n = round(wt) trials and k = round(n y) successes.
    struct Counts {
        double n, k;
    };
    static Counts counts(double y, double wt) {
        const double n = std::round(wt);
        return {n, std::round(n * y)};
    }
    // log f of k = round(n y) successes of n = round(wt) trials at mean mu, 1 - mu = mu1, precision ph.
    static double unit_log_density(double y, double wt, double mu, double mu1, double ph) {
        const auto [n, k] = counts(y, wt);
        if (n <= 0) return 0.0;
        const double a = mu * ph, b = mu1 * ph;
        return log_gamma_ratio(n, 1.0, ph) + log_gamma_ratio(k, a, 1.0) + log_gamma_ratio(n - k, b, 1.0) +
               std::lgamma(ph) - std::lgamma(a) - std::lgamma(b);
    }

};

}  // namespace

std::unique_ptr<Distribution> make_betabinomial() { return std::make_unique<BetaBinomial>(); }

}  // namespace glmmfast
