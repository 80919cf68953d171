// beta.cpp — the beta distribution for proportions in (0, 1) (glmmTMB's
// beta_family; links logit, probit, cloglog): mean mu, precision phi
// (glmmTMB's sigma() for this family), shape parameters a = mu phi and
// b = (1 - mu) phi, Var y = mu (1 - mu) / (1 + phi).  Times the prior weight:
//   log f = lgamma(phi) - lgamma(a) - lgamma(b) + (a - 1) log y + (b - 1) log(1 - y).
// With y* = log y - log(1 - y) and mu* = psi(a) - psi(b):
//   d log f / d mu = phi (y* - mu*),   d^2 log f / d mu^2 = -phi^2 [psi'(a) + psi'(b)],
// so in eta (me = dmu/deta, me2 = d^2 mu / d eta^2):
//   score = me phi (y* - mu*),   information = me^2 phi^2 [psi'(a) + psi'(b)] - me2 phi (y* - mu*).
// Parameter "phi":
//   d log f / d phi = psi(phi) - mu psi(a) - (1 - mu) psi(b) + mu log y + (1 - mu) log(1 - y),
//   d^2 log f / d phi^2 = psi'(phi) - mu^2 psi'(a) - (1 - mu)^2 psi'(b).
// PIRLS's Fisher-type weight is the expected information me^2 phi^2 [psi'(a) + psi'(b)].
// mu and 1 - mu come from the link's exact log mu and log(1 - mu), so b
// keeps its precision where mu is near 1.  Unit "deviance":
// 2 wt [log f(y; mu = y) - log f(y; mu)].  Simulation: G1 / (G1 + G2),
// G1 ~ Gamma(a), G2 ~ Gamma(b).  phi may vary by observation (phi(i), shape_by_row).
#include <cmath>
#include <memory>
#include <stdexcept>

#include "family/distribution.hpp"
#include "family/phi_shape.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

class Beta final : public PhiShape<Beta> {
public:
    const char* name() const override { return "beta"; }
    std::vector<std::string> links() const override { return {"logit", "probit", "cloglog"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::UnitInterval; }
    unsigned mean_terms_needed() const override { return kBothLogProbabilities; }
    bool exponential_dispersion() const override { return false; }
    bool shape_by_row(const std::string& p) const override { return p == "phi"; }

    ArrayXd variance(const ArrayXd& mu) const override {
        return mu * (1.0 - mu) / (1.0 + phi_rows_.over(phi_, mu.size()));
    }
    ArrayXd variance_deriv(const ArrayXd& mu) const override {
        return (1.0 - 2.0 * mu) / (1.0 + phi_rows_.over(phi_, mu.size()));
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y; }
    // The expected information in eta: wt me^2 phi^2 [psi'(a) + psi'(b)] (E y* = mu*).
    ArrayXd fisher_weight(const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        ArrayXd w(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double ph = phi(i);
            w[i] = wt[i] * me[i] * me[i] * ph * ph * (trigamma(mu[i] * ph) + trigamma((1.0 - mu[i]) * ph));
        }
        return w;
    }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = wt[i] * unit_log_density(y[i], std::exp(m.log_mu[i]), std::exp(m.log1m_mu[i]),
                                              phi(m.first_row + i));
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double ph = phi(m.first_row + i);
            out[i] = 2.0 * wt[i] * (unit_log_density(y[i], y[i], 1.0 - y[i], ph) -
                                    unit_log_density(y[i], std::exp(m.log_mu[i]), std::exp(m.log1m_mu[i]), ph));
        }
    }

    ArrayXd eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        ArrayXd s(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) s[i] = wt[i] * me[i] * phi(i) * mean_score(y[i], mu[i], phi(i));
        return s;
    }
    ArrayXd eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                            const ArrayXd& wt) const override {
        ArrayXd h(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double ph = phi(i), a = mu[i] * ph, b = (1.0 - mu[i]) * ph;
            h[i] = wt[i] * (me[i] * me[i] * ph * ph * (trigamma(a) + trigamma(b)) -
                            me2[i] * ph * mean_score(y[i], mu[i], ph));
        }
        return h;
    }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "phi") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double mu = std::exp(m.log_mu[i]), mu1 = std::exp(m.log1m_mu[i]);
            const double ph = phi(m.first_row + i), a = mu * ph, b = mu1 * ph;
            d1[i] = wt[i] * (digamma(ph) - mu * digamma(a) - mu1 * digamma(b) + mu * std::log(y[i]) +
                             mu1 * std::log1p(-y[i]));
            d2[i] = wt[i] * (trigamma(ph) - mu * mu * trigamma(a) - mu1 * mu1 * trigamma(b));
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double g1 = std::gamma_distribution<double>(mu[i] * phi(i), 1.0)(rng);
            const double g2 = std::gamma_distribution<double>((1.0 - mu[i]) * phi(i), 1.0)(rng);
            y[i] = g1 / (g1 + g2);
        }
        return y;
    }

private:
    // d log f / d mu / phi = y* - mu* at precision ph.
    static double mean_score(double y, double mu, double ph) {
        return std::log(y) - std::log1p(-y) - digamma(mu * ph) + digamma((1.0 - mu) * ph);
    }
    // log f(y) at mean mu, 1 - mu = mu1 and precision ph (unit weight).
    static double unit_log_density(double y, double mu, double mu1, double ph) {
        const double a = mu * ph, b = mu1 * ph;
        return std::lgamma(ph) - std::lgamma(a) - std::lgamma(b) + (a - 1.0) * std::log(y) +
               (b - 1.0) * std::log1p(-y);
    }

};

}  // namespace

std::unique_ptr<Distribution> make_beta() { return std::make_unique<Beta>(); }

}  // namespace glmmfast
