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
// D2 = psi'(k + a) - psi'(a) + psi'(n - k + b) - psi'(b) (<= 0):
//   d log f / d mu = phi D1,   d^2 log f / d mu^2 = phi^2 D2,
//   score = me phi D1,   information = -(me^2 phi^2 D2 + me2 phi D1);
// the Fisher weight of PIRLS is n me^2 / (mu (1 - mu) (1 + (n - 1) / (1 + phi))).
// Parameter "phi", with A = psi(k + a) - psi(a), B = psi(n - k + b) - psi(b),
// C = psi(n + phi) - psi(phi) and A', B', C' the same in psi':
//   d log f / d phi = mu A + (1 - mu) B - C,
//   d^2 log f / d phi^2 = mu^2 A' + (1 - mu)^2 B' - C'.
// Unit "deviance": 2 [log f(y; mu = y) - log f(y; mu)] (differences in mu
// are exact; y = 0 or 1 takes mu = y as the limit 0 of its deviance).
// Simulation: Binomial(n, Beta(a, b)) / n.  phi may vary by observation
// (phi(i), shape_by_row: a dispersion model).
#include <cmath>
#include <memory>
#include <stdexcept>

#include "family/distribution.hpp"
#include "family/phi_shape.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

class BetaBinomial final : public PhiShape<BetaBinomial> {
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
    ArrayXd fisher_weight(const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        const ArrayXd precision = phi_rows_.over(phi_, mu.size());
        return wt * me.square() / (mu * (1.0 - mu) * (1.0 + (wt - 1.0).max(0.0) / (1.0 + precision)));
    }

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

    ArrayXd eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        ArrayXd s(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const Terms t = terms(y[i], wt[i], mu[i], 1.0 - mu[i], phi(i), false);
            s[i] = me[i] * phi(i) * (t.A - t.B);
        }
        return s;
    }
    ArrayXd eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                            const ArrayXd& wt) const override {
        ArrayXd h(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double ph = phi(i);
            const Terms t = terms(y[i], wt[i], mu[i], 1.0 - mu[i], ph);
            h[i] = -(me[i] * me[i] * ph * ph * (t.A1 + t.B1) + me2[i] * ph * (t.A - t.B));
        }
        return h;
    }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "phi") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double mu = std::exp(m.log_mu[i]), mu1 = std::exp(m.log1m_mu[i]), n = std::round(wt[i]);
            const double ph = phi(m.first_row + i);
            const Terms t = terms(y[i], wt[i], mu, mu1, ph);
            const double c = digamma(n + ph) - digamma(ph), c1 = trigamma(n + ph) - trigamma(ph);
            d1[i] = mu * t.A + mu1 * t.B - c;
            d2[i] = mu * mu * t.A1 + mu1 * mu1 * t.B1 - c1;
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
    // A = psi(k + a) - psi(a), B = psi(n - k + b) - psi(b) and (with `second`) their psi' forms A1, B1,
    // at precision ph.
    struct Terms {
        double A, B, A1 = 0.0, B1 = 0.0;
    };
    static Terms terms(double y, double wt, double mu, double mu1, double ph, bool second = true) {
        const double n = std::round(wt), k = std::round(n * y), a = mu * ph, b = mu1 * ph;
        Terms t{digamma(k + a) - digamma(a), digamma(n - k + b) - digamma(b)};
        if (second) {
            t.A1 = trigamma(k + a) - trigamma(a);
            t.B1 = trigamma(n - k + b) - trigamma(b);
        }
        return t;
    }
    // log f of k = round(n y) successes of n = round(wt) trials at mean mu, 1 - mu = mu1, precision ph.
    static double unit_log_density(double y, double wt, double mu, double mu1, double ph) {
        const double n = std::round(wt);
        if (n <= 0) return 0.0;
        const double k = std::round(n * y), a = mu * ph, b = mu1 * ph;
        return log_gamma_ratio(n, 1.0, ph) + log_gamma_ratio(k, a, 1.0) + log_gamma_ratio(n - k, b, 1.0) +
               std::lgamma(ph) - std::lgamma(a) - std::lgamma(b);
    }

};

}  // namespace

std::unique_ptr<Distribution> make_betabinomial() { return std::make_unique<BetaBinomial>(); }

}  // namespace glmmfast
