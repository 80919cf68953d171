// gaussian.cpp — the normal distribution (R's gaussian(); links identity, log, inverse).
//
// Variance phi / wt (the prior weight divides it):
//   log f = (1/2) log wt - (1/2) log(2 pi phi) - wt (y - mu)^2 / (2 phi),
//   V(mu) = 1, unit deviance wt (y - mu)^2.
// Parameter: the dispersion phi = sigma^2, with
//   d log f / d phi = -1/(2 phi) + wt r^2 / (2 phi^2),
//   d^2 log f / d phi^2 = 1/(2 phi^2) - wt r^2 / phi^3   (r = y - mu).
// Simulation: mu + sqrt(phi / wt) N(0, 1).  phi may vary by observation
// (phi(dispersion, i), a dispersion model: dispersion_by_row.hpp).
#include <cmath>
#include <memory>

#include "family/dispersion_by_row.hpp"
#include "family/distribution.hpp"

namespace glmmfast {

namespace {

class Gaussian final : public DispersionByRow<Gaussian> {
public:
    const char* name() const override { return "gaussian"; }
    std::vector<std::string> links() const override { return {"identity", "log", "inverse"}; }
    const char* canonical_link() const override { return "identity"; }
    MeanRange mean_range() const override { return MeanRange::Real; }
    unsigned mean_terms_needed() const override { return 0; }

    ArrayXd variance(const ArrayXd& mu) const override { return ArrayXd::Ones(mu.size()); }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return ArrayXd::Zero(mu.size()); }
    // V''(mu) = 0, in the exponential-dispersion third derivative.
    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        return exponential_dispersion_information_deriv(y, mu, me, me2, me3, wt, ArrayXd::Zero(mu.size()));
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y; }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double dispersion,
                     ArrayRef out) const override {
        // log(2 pi phi) once where phi is one value
        const bool by_row = dispersion_by_row();
        const double log_2pi_phi = std::log(2 * M_PI * dispersion);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double r = y[i] - m.mu[i], phi_i = phi(dispersion, m.first_row + i);
            out[i] = 0.5 * std::log(wt[i]) - 0.5 * (by_row ? std::log(2 * M_PI * phi_i) : log_2pi_phi) -
                     0.5 * wt[i] * r * r / phi_i;
        }
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) out[i] = wt[i] * (y[i] - m.mu[i]) * (y[i] - m.mu[i]);
    }
    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double phi, ArrayRef d1, ArrayRef d2) const override {
        if (p != "dispersion") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double wr2 = wt[i] * (y[i] - m.mu[i]) * (y[i] - m.mu[i]);
            d1[i] = -0.5 / phi + 0.5 * wr2 / (phi * phi);
            d2[i] = 0.5 / (phi * phi) - wr2 / (phi * phi * phi);
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd& wt, double dispersion, std::mt19937_64& rng) const override {
        std::normal_distribution<double> z;
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) y[i] = mu[i] + std::sqrt(phi(dispersion, i) / wt[i]) * z(rng);
        return y;
    }
};

}  // namespace

std::unique_ptr<Distribution> make_gaussian() { return std::make_unique<Gaussian>(); }

}  // namespace glmmfast
