// compois.cpp — the Conway-Maxwell-Poisson (glmmTMB's compois; links log,
// sqrt, identity) in glmmTMB's mean parameterisation: the link models the
// MEAN mu = E y, and phi = 1 / nu (glmmTMB's sigma(), its dispersion model's
// exp(betad)) is held as the shape "phi".  With x = log lambda solving
// E_x Y = mu (compois_series.hpp: Newton) and K(x, s) = log Z(e^x, -s), the
// cumulant generating function of (Y, G = log Y!) in (x, s = -nu), times the
// prior weight:
//   log f = y x - nu log y! - log Z(lambda, nu).
// For fixed nu this is a natural exponential family in x: with V = Var Y and
// k3 = E (Y - mu)^3 at x,
//   d log f / d mu = (y - mu) / V,   d^2 log f / d mu^2 = -1 / V - (y - mu) k3 / V^3
// (dV/dmu = k3 / V), to eta by unit_density_family.hpp.  In s at fixed mu, with
// x_s = -K_xs / K_xx and x_ss = -(K_xxx x_s^2 + 2 K_xxs x_s + K_xss) / K_xx
// (differentiating K_x(x(s), s) = mu twice; K's derivatives are the joint
// cumulants of Y and G):
//   l_s = (y - mu) x_s + log y! - E G,   l_ss = (y - mu) x_ss - (K_xs x_s + K_ss),
// and in phi (s = -1 / phi): l_phi = l_s / phi^2, l_phiphi = l_ss / phi^4 - 2 l_s / phi^3.
// V(mu) = Var Y, dV/dmu = k3 / V; mustart y + [y = 0] / 6.  Unit "deviance":
// 2 wt [log f(y; y) - log f(y; mu)].  Simulation: inversion of the cdf from 0.
// phi may vary by observation (phi(i), shape_by_row; the per-observation
// functions take the row: unit_density_family.hpp).
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

#include "family/compois_series.hpp"
#include "family/distribution.hpp"
#include "family/phi_shape.hpp"
#include "family/special_functions.hpp"
#include "family/unit_density_family.hpp"

namespace glmmfast {

namespace {

class ConwayMaxwellPoisson final
    : public UnitDensityFamily<ConwayMaxwellPoisson, PhiShape<ConwayMaxwellPoisson>> {
public:
    const char* name() const override { return "compois"; }
    std::vector<std::string> links() const override { return {"log", "sqrt", "identity"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::Positive; }
    unsigned mean_terms_needed() const override { return 0u; }
    bool shape_by_row(const std::string& p) const override { return p == "phi"; }

    ArrayXd variance(const ArrayXd& mu) const override {
        ArrayXd v(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) v[i] = compois_at_mean(mu[i], nu(i)).k.var;
        return v;
    }
    ArrayXd variance_deriv(const ArrayXd& mu) const override {
        ArrayXd d(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const CompoisCumulants k = compois_at_mean(mu[i], nu(i)).k;
            d[i] = k.k3 / k.var;
        }
        return d;
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y + (y == 0).cast<double>() / 6.0; }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "phi") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double ph = phi(m.first_row + i);
            const CompoisCumulants k = compois_at_mean(m.mu[i], 1.0 / ph).k;
            const double r = y[i] - k.mean;
            const double xs = -k.c_yg / k.var;
            const double xss = -(k.k3 * xs * xs + 2.0 * k.c_yyg * xs + k.c_ygg) / k.var;
            const double ls = r * xs + log_factorial(y[i]) - k.mean_g;
            const double lss = r * xss - (k.c_yg * xs + k.c_gg);
            d1[i] = wt[i] * ls / (ph * ph);
            d2[i] = wt[i] * (lss / (ph * ph * ph * ph) - 2.0 * ls / (ph * ph * ph));
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        std::uniform_real_distribution<double> unif(0.0, 1.0);
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double nu_i = nu(i);
            const CompoisAtMean at = compois_at_mean(mu[i], nu_i);
            const double u = unif(rng), x = at.log_lambda, sd = std::sqrt(at.k.var);
            double k = 0.0, log_t = -at.k.log_z, cdf = std::exp(log_t);
            while (u > cdf && k < mu[i] + 40.0 * sd + 50.0) {
                k += 1.0;
                log_t += x - nu_i * std::log(k);
                cdf += std::exp(log_t);
            }
            y[i] = k;
        }
        return y;
    }

    double unit_log_density(double y, double mu, Eigen::Index row) const {
        const double nu_i = nu(row);
        const CompoisAtMean at = compois_at_mean(mu, nu_i);
        return y * at.log_lambda - nu_i * log_factorial(y) - at.k.log_z;  // log y! from the table
    }
    // log f(y; mu = y); y = 0 has no mean in range: its supremum over mu, 0 (mu -> 0)
    double saturated_log_density(double y, Eigen::Index row) const {
        return y > 0 ? unit_log_density(y, y, row) : 0.0;
    }
    std::pair<double, double> unit_mu_derivatives(double y, double mu, Eigen::Index row) const {
        const CompoisCumulants k = compois_at_mean(mu, nu(row)).k;
        const double r = y - k.mean;
        return {r / k.var, -1.0 / k.var - r * k.k3 / (k.var * k.var * k.var)};
    }

private:
    // nu = 1 / phi at observation i
    double nu(Eigen::Index i) const { return 1.0 / phi(i); }
};

}  // namespace

std::unique_ptr<Distribution> make_compois() { return std::make_unique<ConwayMaxwellPoisson>(); }

}  // namespace glmmfast
