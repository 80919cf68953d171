// beta.cpp — the beta distribution for proportions in (0, 1) (glmmTMB's
// beta_family; links logit, probit, cloglog): mean mu, precision phi
// (glmmTMB's sigma() for this family), shape parameters a = mu phi and
// b = (1 - mu) phi, Var y = mu (1 - mu) / (1 + phi).  Times the prior weight:
//   log f = lgamma(phi) - lgamma(a) - lgamma(b) + (a - 1) log y + (b - 1) log(1 - y).
// With y* = log y - log(1 - y) and mu* = psi(a) - psi(b):
//   d log f / d mu = phi (y* - mu*),   d^2 log f / d mu^2 = -phi^2 [psi'(a) + psi'(b)],
//   d^3 log f / d mu^3 = -phi^3 [psi''(a) - psi''(b)],
// which mu_derivative_rows.hpp takes to eta; each polygamma value is
// computed once per observation (polygammas: psi, psi', psi'' of a and of b).
// Parameter "phi":
//   d log f / d phi = psi(phi) - mu psi(a) - (1 - mu) psi(b) + mu log y + (1 - mu) log(1 - y),
//   d^2 log f / d phi^2 = psi'(phi) - mu^2 psi'(a) - (1 - mu)^2 psi'(b).
// PIRLS's Fisher-type weight is the expected information me^2 phi^2 [psi'(a) + psi'(b)].
// mu and 1 - mu come from the link's exact log mu and log(1 - mu), so b
// keeps its precision where mu is near 1.  Unit "deviance":
// 2 wt [log f(y; mu = y) - log f(y; mu)].  Simulation: G1 / (G1 + G2),
// G1 ~ Gamma(a), G2 ~ Gamma(b).  phi may vary by observation (phi(i), shape_by_row).
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "family/distribution.hpp"
#include "family/mu_derivative_rows.hpp"
#include "family/phi_shape.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

class Beta final : public MuDerivativeRows<Beta, PhiShape<Beta>> {
public:
    const char* name() const override { return "beta"; }
    std::vector<std::string> links() const override { return {"logit", "probit", "cloglog"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::UnitInterval; }
    unsigned mean_terms_needed() const override { return kBothLogProbabilities; }
    unsigned response_terms_needed() const override { return kLogY | kLog1mY; }
    bool exponential_dispersion() const override { return false; }
    bool shape_by_row(const std::string& p) const override { return p == "phi"; }

    ArrayXd variance(const ArrayXd& mu) const override {
        return mu * (1.0 - mu) / (1.0 + phi_rows_.over(phi_, mu.size()));
    }
    ArrayXd variance_deriv(const ArrayXd& mu) const override {
        return (1.0 - 2.0 * mu) / (1.0 + phi_rows_.over(phi_, mu.size()));
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y; }
    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        // lgamma(phi) once per run of equal phi (every row, without a dispersion model)
        double ph = std::numeric_limits<double>::quiet_NaN(), lgamma_phi = 0.0;
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            if (phi(m.first_row + i) != ph) {
                ph = phi(m.first_row + i);
                lgamma_phi = std::lgamma(ph);
            }
            out[i] = wt[i] * (lgamma_phi + log_density_in_mu(m, i, std::exp(m.log_mu[i]), std::exp(m.log1m_mu[i]), ph));
        }
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double ph = phi(m.first_row + i);
            out[i] = 2.0 * wt[i] * (log_density_in_mu(m, i, y[i], 1.0 - y[i], ph) -
                                    log_density_in_mu(m, i, std::exp(m.log_mu[i]), std::exp(m.log1m_mu[i]), ph));
        }
    }

    // l1 = wt phi (y* - mu*), l2 = -wt phi^2 [psi'(a) + psi'(b)] (free of y: the expected
    // information is -l2), l3 = -wt phi^3 [psi''(a) - psi''(b)] (mu_derivative_rows.hpp).
    MuDerivatives mu_derivatives(double y, double wt, double mu, Eigen::Index row, int order) const {
        const double ph = phi(row);
        const Polygammas pa = polygammas(mu * ph, order - 1), pb = polygammas((1.0 - mu) * ph, order - 1);
        MuDerivatives d;
        d.l1 = wt * ph * (std::log(y / (1.0 - y)) - pa.psi + pb.psi);  // y* in one log: y / (1 - y) to 2 ulps
        if (order >= 2) {
            d.l2 = -wt * ph * ph * (pa.psi1 + pb.psi1);
            d.expected = -d.l2;
        }
        if (order >= 3) d.l3 = -wt * ph * ph * ph * (pa.psi2 - pb.psi2);
        return d;
    }
    double expected_information(double wt, double mu, Eigen::Index row) const {
        const double ph = phi(row);
        return wt * ph * ph * (trigamma(mu * ph) + trigamma((1.0 - mu) * ph));
    }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "phi") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double mu = std::exp(m.log_mu[i]), mu1 = std::exp(m.log1m_mu[i]);
            const double ph = phi(m.first_row + i);
            const Polygammas pp = polygammas(ph, 1), pa = polygammas(mu * ph, 1), pb = polygammas(mu1 * ph, 1);
            d1[i] = wt[i] * (pp.psi - mu * pa.psi - mu1 * pb.psi + mu * m.log_y[i] + mu1 * m.log1m_y[i]);
            d2[i] = wt[i] * (pp.psi1 - mu * mu * pa.psi1 - mu1 * mu1 * pb.psi1);
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
    // log f(y) - lgamma(ph) of the block's observation i (its log y and log(1 - y) from m) at mean mu,
    // 1 - mu = mu1 and precision ph (unit weight): the terms that depend on mu (the unit deviance's
    // difference cancels lgamma(ph)).
    static double log_density_in_mu(const MeanTerms& m, Eigen::Index i, double mu, double mu1, double ph) {
        const double a = mu * ph, b = mu1 * ph;
        return -std::lgamma(a) - std::lgamma(b) + (a - 1.0) * m.log_y[i] + (b - 1.0) * m.log1m_y[i];
    }

};

}  // namespace

std::unique_ptr<Distribution> make_beta() { return std::make_unique<Beta>(); }

}  // namespace glmmfast
