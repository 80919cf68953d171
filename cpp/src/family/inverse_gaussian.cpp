// inverse_gaussian.cpp — the inverse Gaussian distribution (R's
// inverse.gaussian(); links 1/mu^2, inverse, identity, log).
//
// Var y = phi mu^3; times the prior weight (R's inverse.gaussian()$aic):
//   log f = -(1/2) [log(2 pi phi) + 3 log y] - (y - mu)^2 / (2 phi mu^2 y),
// log y once per response (response_terms.hpp), log(2 pi phi) once per call
// (per row under a dispersion model).
// with (y - mu) / mu = y / mu - 1 = r;  V(mu) = mu^3, unit deviance wt r^2 / y.
// Parameter: the dispersion phi,
//   d log f / d phi = wt [-1/(2 phi) + r^2 / (2 phi^2 y)],
//   d^2 log f / d phi^2 = wt [1/(2 phi^2) - r^2 / (phi^3 y)].
// Simulation: IG(mu, lambda = wt / phi) by Michael, Schucany & Haas (1976):
// nu = N(0,1)^2, x = mu + mu^2 nu / (2 lambda) - mu / (2 lambda) sqrt(4 mu
// lambda nu + mu^2 nu^2); y = x with probability mu / (mu + x), else mu^2 / x.
// phi may vary by observation (phi(dispersion, i): dispersion_by_row.hpp).
#include <cmath>
#include <memory>

#include "family/dispersion_by_row.hpp"
#include "family/distribution.hpp"

namespace glmmfast {

namespace {

class InverseGaussian final : public DispersionByRow<InverseGaussian> {
public:
    const char* name() const override { return "inverse.gaussian"; }
    std::vector<std::string> links() const override { return {"1/mu^2", "inverse", "identity", "log"}; }
    const char* canonical_link() const override { return "1/mu^2"; }
    MeanRange mean_range() const override { return MeanRange::Positive; }
    unsigned mean_terms_needed() const override { return kInvMu; }
    bool has_zero_mass() const override { return false; }
    unsigned response_terms_needed() const override { return kLogY; }

    ArrayXd variance(const ArrayXd& mu) const override { return mu.cube(); }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return 3.0 * mu.square(); }
    // V''(mu) = 6.0 * mu, in the exponential-dispersion third derivative.
    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        return exponential_dispersion_information_deriv(y, mu, me, me2, me3, wt, 6.0 * mu);
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y; }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double dispersion,
                     ArrayRef out) const override {
        const bool by_row = dispersion_by_row();
        const double log_2pi_phi_scalar = std::log(2 * M_PI * dispersion);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double r = y[i] * m.inv_mu[i] - 1.0, phi = this->phi(dispersion, m.first_row + i);
            const double log_2pi_phi = by_row ? std::log(2 * M_PI * phi) : log_2pi_phi_scalar;
            out[i] = wt[i] * (-0.5 * (log_2pi_phi + 3.0 * m.log_y[i]) - r * r / (2 * phi * y[i]));
        }
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double r = y[i] * m.inv_mu[i] - 1.0;
            out[i] = wt[i] * r * r / y[i];
        }
    }
    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double phi, ArrayRef d1, ArrayRef d2) const override {
        if (p != "dispersion") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double r = y[i] * m.inv_mu[i] - 1.0, q = r * r / y[i];
            d1[i] = wt[i] * (-0.5 / phi + 0.5 * q / (phi * phi));
            d2[i] = wt[i] * (0.5 / (phi * phi) - q / (phi * phi * phi));
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd& wt, double dispersion, std::mt19937_64& rng) const override {
        std::normal_distribution<double> z;
        std::uniform_real_distribution<double> u;
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double m = mu[i], lambda = wt[i] / phi(dispersion, i), zz = z(rng), nu = zz * zz;
            const double x = m + m * m * nu / (2 * lambda) - m / (2 * lambda) * std::sqrt(4 * m * lambda * nu + m * m * nu * nu);
            y[i] = u(rng) <= m / (m + x) ? x : m * m / x;
        }
        return y;
    }
};

}  // namespace

std::unique_ptr<Distribution> make_inverse_gaussian() { return std::make_unique<InverseGaussian>(); }

}  // namespace glmmfast
