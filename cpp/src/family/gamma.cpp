// gamma.cpp — the Gamma distribution (R's Gamma(); links inverse, identity, log).
//
// With shape 1/phi and scale mu phi (phi the squared coefficient of
// variation), times the prior weight (R's Gamma()$aic):
//   log f = -lgamma(1/phi) - (1/phi)(log phi + log mu) + (1/phi - 1) log y - y / (mu phi),
//   V(mu) = mu^2, unit deviance -2 [log(y / mu) - (y - mu) / mu].
// Parameter: the dispersion phi; with s = 1/phi and
// g = psi(s) + log phi - 1 + log mu - log y + y / mu,
//   d log f / d phi = g / phi^2,
//   d^2 log f / d phi^2 = -2 g / phi^3 + (1 / phi^2)(1 / phi - psi'(s) / phi^2).
// Simulation: Gamma(shape wt / phi, scale mu phi / wt) (R's Gamma()$simulate).
// phi may vary by observation (phi(dispersion, i), a dispersion model:
// dispersion_by_row.hpp).
#include <cmath>
#include <memory>
#include <tuple>

#include "family/dispersion_by_row.hpp"
#include "family/distribution.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

class Gamma final : public DispersionByRow<Gamma> {
public:
    const char* name() const override { return "Gamma"; }
    std::vector<std::string> links() const override { return {"inverse", "identity", "log"}; }
    const char* canonical_link() const override { return "inverse"; }
    MeanRange mean_range() const override { return MeanRange::Positive; }
    bool has_zero_mass() const override { return false; }
    unsigned response_terms_needed() const override { return kLogY; }

    ArrayXd variance(const ArrayXd& mu) const override { return mu.square(); }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return 2.0 * mu; }
    // V''(mu) = 2.0, in the exponential-dispersion third derivative.
    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        return exponential_dispersion_information_deriv(y, mu, me, me2, me3, wt, ArrayXd::Constant(mu.size(), 2.0));
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y; }

    // dgamma(y, 1/phi, scale = mu phi, log = TRUE), times wt.
    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double dispersion,
                     ArrayRef out) const override {
        // the terms in phi alone (shape, lgamma(shape), log phi): once, or per row where phi varies
        const auto in_phi = [](double phi) {
            const double shape = 1.0 / phi;
            return std::tuple{shape, std::lgamma(shape), std::log(phi)};
        };
        const bool by_row = dispersion_by_row();
        const auto scalar_terms = in_phi(dispersion);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double phi_i = phi(dispersion, m.first_row + i);
            const auto [shape, lgamma_shape, log_phi] = by_row ? in_phi(phi_i) : scalar_terms;
            out[i] = wt[i] * (-lgamma_shape - shape * (log_phi + m.log_mu[i]) + (shape - 1.0) * m.log_y[i] -
                              y[i] * m.inv_mu[i] / phi_i);
        }
    }
    // R: -2 wt (log(ifelse(y == 0, 1, y/mu)) - (y - mu)/mu)
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = -2.0 * wt[i] * ((y[i] == 0 ? 0.0 : m.log_y[i] - m.log_mu[i]) - (y[i] * m.inv_mu[i] - 1.0));
    }
    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double phi, ArrayRef d1, ArrayRef d2) const override {
        if (p != "dispersion") unknown_parameter(p);
        const double s = 1.0 / phi, phi2 = phi * phi, common = digamma(s) + std::log(phi) - 1.0;
        const double curvature = (1.0 / phi - trigamma(s) / phi2) / phi2;
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double g = common + m.log_mu[i] - m.log_y[i] + y[i] * m.inv_mu[i];
            d1[i] = wt[i] * g / phi2;
            d2[i] = wt[i] * (-2.0 * g / (phi2 * phi) + curvature);
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd& wt, double dispersion, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double phi_i = phi(dispersion, i);
            y[i] = std::gamma_distribution<double>(wt[i] / phi_i, mu[i] * phi_i / wt[i])(rng);
        }
        return y;
    }
};

}  // namespace

std::unique_ptr<Distribution> make_gamma() { return std::make_unique<Gamma>(); }

}  // namespace glmmfast
