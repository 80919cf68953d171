// genpois.cpp — the generalised Poisson (Consul's; glmmTMB's genpois, links
// log, sqrt, identity) in glmmTMB's mean parameterisation: mean mu and
// Var y = phi mu, with phi = glmmTMB's sigma() (its dispersion model's
// exp(betad)) held as the shape "phi".  Consul's (theta, lambda) are
// theta = mu / s, lambda = 1 - 1 / s with s = sqrt(phi); with a = s - 1 and
// D = mu + a y (= s (theta + lambda y)), times the prior weight:
//   log f = log mu + (y - 1) log D - y log s - D / s - lgamma(y + 1),
// (-inf where D <= 0 with y >= 1: phi < 1 truncates the support, as
// Consul's lambda < 0).  Derivatives in mu (to eta by unit_density_family.hpp):
//   d log f / d mu = 1 / mu + (y - 1) / D - 1 / s,
//   d^2 log f / d mu^2 = -1 / mu^2 - (y - 1) / D^2,
//   d^3 log f / d mu^3 = 2 / mu^3 + 2 (y - 1) / D^3   (the exact Laplace gradient's);
// in s (dD/ds = y), then in phi = s^2 (ds/dphi = 1 / (2 s)):
//   l_s = (y - 1) y / D - 2 y / s + D / s^2,
//   l_ss = -(y - 1) y^2 / D^2 + 3 y / s^2 - 2 D / s^3,
//   d log f / d phi = l_s / (2 s),   d^2 log f / d phi^2 = l_ss / (4 s^2) - l_s / (4 s^3).
// V(mu) = phi mu (dV/dmu = phi); mustart y + [y = 0] / 6.  Unit "deviance":
// 2 wt [log f(y; y) - log f(y; mu)] (log f(0; mu) = -mu / s has supremum 0).  Simulation: inversion of the cdf,
// summed from 0 (the pmf from log f).  phi may vary by observation (phi(i),
// shape_by_row; the per-observation functions take the row: unit_density_family.hpp).
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

#include "family/distribution.hpp"
#include "family/phi_shape.hpp"
#include "family/special_functions.hpp"
#include "family/unit_density_family.hpp"

namespace glmmfast {

namespace {

class GeneralizedPoisson final : public UnitDensityFamily<GeneralizedPoisson, PhiShape<GeneralizedPoisson>> {
public:
    const char* name() const override { return "genpois"; }
    std::vector<std::string> links() const override { return {"log", "sqrt", "identity"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::Positive; }
    unsigned mean_terms_needed() const override { return kLogMu; }
    bool shape_by_row(const std::string& p) const override { return p == "phi"; }

    ArrayXd variance(const ArrayXd& mu) const override { return phi_rows_.over(phi_, mu.size()) * mu; }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return phi_rows_.over(phi_, mu.size()); }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y + (y == 0).cast<double>() / 6.0; }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "phi") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double s = std::sqrt(phi(m.first_row + i)), yi = y[i], D = m.mu[i] + (s - 1.0) * yi;
            const double ls = (yi > 1 ? (yi - 1.0) * yi / D : 0.0) - 2.0 * yi / s + D / (s * s);
            const double lss = (yi > 1 ? -(yi - 1.0) * yi * yi / (D * D) : 0.0) + 3.0 * yi / (s * s) - 2.0 * D / (s * s * s);
            d1[i] = wt[i] * ls / (2.0 * s);
            d2[i] = wt[i] * (lss / (4.0 * s * s) - ls / (4.0 * s * s * s));
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        std::uniform_real_distribution<double> unif(0.0, 1.0);
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double u = unif(rng), sd = std::sqrt(phi(i) * mu[i]);
            double k = 0.0, cdf = std::exp(unit_log_density(0.0, mu[i], i));
            // beyond mu + 40 sd + 50 the remaining mass is negligible (and past the support's end it is 0)
            while (u > cdf && k < mu[i] + 40.0 * sd + 50.0) {
                const double lp = unit_log_density(k + 1.0, mu[i], i);
                if (lp == -std::numeric_limits<double>::infinity()) break;
                k += 1.0;
                cdf += std::exp(lp);
            }
            y[i] = k;
        }
        return y;
    }

    // The log density of every row: s = sqrt(phi) and log s once per run of equal phi (every row, without
    // a dispersion model), where unit_log_density takes a square root and a log per row; log mu from the
    // link's terms (the log link's is eta itself: no log per row).
    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        double ph = std::numeric_limits<double>::quiet_NaN(), s = 0.0, log_s = 0.0;
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double p = phi(m.first_row + i);
            if (p != ph) {
                ph = p;
                s = std::sqrt(p);
                log_s = std::log(s);
            }
            out[i] = wt[i] * log_density_at_shape(y[i], m.mu[i], m.log_mu[i], s, log_s);
        }
    }

    double unit_log_density(double y, double mu, Eigen::Index row) const {
        const double s = std::sqrt(phi(row));
        return log_density_at_shape(y, mu, std::log(mu), s, std::log(s));
    }
    std::pair<double, double> unit_mu_derivatives(double y, double mu, Eigen::Index row) const {
        const double s = std::sqrt(phi(row)), D = mu + (s - 1.0) * y, c = y != 1 ? (y - 1.0) / D : 0.0;
        return {1.0 / mu + c - 1.0 / s, -1.0 / (mu * mu) - c / D};
    }
    double unit_mu_third_derivative(double y, double mu, Eigen::Index row) const {
        const double D = mu + (std::sqrt(phi(row)) - 1.0) * y, c = y != 1 ? (y - 1.0) / D : 0.0;
        return 2.0 / (mu * mu * mu) + 2.0 * c / (D * D);
    }
    // log f(y; mu = y); y = 0 has no mean in range: its supremum over mu, 0 (mu -> 0)
    double saturated_log_density(double y, Eigen::Index row) const { return y > 0 ? unit_log_density(y, y, row) : 0.0; }

private:
    // log f(y; mu) at s = sqrt(phi) (unit weight; log_mu = log mu); log y! from log_factorial's table.
    // At y = 0, D = mu: log f(0) = log mu - log mu - mu / s = -mu / s, without the two logs that cancel
    // (most rows of a zero-inflated count).
    static double log_density_at_shape(double y, double mu, double log_mu, double s, double log_s) {
        if (y == 0) return -mu / s;
        const double D = mu + (s - 1.0) * y;
        if (!(D > 0)) return -std::numeric_limits<double>::infinity();
        return log_mu + (y != 1 ? (y - 1.0) * std::log(D) : 0.0) - y * log_s - D / s - log_factorial(y);
    }
};

static_assert(HasUnitMuThirdDerivative<GeneralizedPoisson>::value, "genpois's third derivative is analytic");

}  // namespace

std::unique_ptr<Distribution> make_genpois() { return std::make_unique<GeneralizedPoisson>(); }

}  // namespace glmmfast
