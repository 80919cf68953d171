// truncated_poisson.cpp — the zero-truncated Poisson (glmmTMB's
// truncated_poisson; links log, identity, sqrt), the count part of a
// Poisson hurdle model (with a ziformula, family/zero_inflation.hpp).
// mu is the untruncated mean lambda; for y >= 1, times the prior weight:
//   log f = y log mu - mu - log y! - log(1 - e^-mu).
// With c = 1 / (e^mu - 1) (so d/dmu -log(1 - e^-mu) = -c, d c / d mu = -c (1 + c)):
//   d log f / d mu = y / mu - 1 - c,   d^2 log f / d mu^2 = -y / mu^2 + c (1 + c),
//   score = me (y / mu - 1 - c),  information = -[me^2 (-y / mu^2 + c (1 + c)) + me2 (y / mu - 1 - c)].
//   d^3 log f / d mu^3 = 2 y / mu^3 - c (1 + c)(1 + 2c)   (information_deriv_from_mu).
// No mass at 0 (has_zero_mass false); V(mu) = mu, the untruncated Poisson's,
// serves only the GLM start and PIRLS's positive Fisher-type weights.
// Unit "deviance": 2 wt [log f(y; y) - log f(y; mu)] (differences in mu exact).
// Simulation: Poisson draws conditioned on y > 0 (by rejection for mu >= 1,
// by inversion of the truncated cdf below).
#include <cmath>
#include <memory>

#include "family/distribution.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

class TruncatedPoisson final : public DistributionBase<TruncatedPoisson> {
public:
    const char* name() const override { return "truncated_poisson"; }
    std::vector<std::string> links() const override { return {"log", "identity", "sqrt"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::Positive; }
    unsigned mean_terms_needed() const override { return kLogMu; }
    unsigned response_terms_needed() const override { return kLogY; }  // the saturated log density's log y
    bool exponential_dispersion() const override { return false; }
    bool has_zero_mass() const override { return false; }

    ArrayXd variance(const ArrayXd& mu) const override { return mu; }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return ArrayXd::Ones(mu.size()); }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y + 0.1; }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = wt[i] * unit_log_density(y[i], m.mu[i], m.log_mu[i]);
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = 2.0 * wt[i] *
                     (unit_log_density(y[i], y[i], m.log_y[i]) - unit_log_density(y[i], m.mu[i], m.log_mu[i]));
    }

    ArrayXd eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        const ArrayXd c = 1.0 / mu.unaryExpr([](double v) { return std::expm1(v); });
        return wt * me * (y / mu - 1.0 - c);
    }
    ArrayXd eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                            const ArrayXd& wt) const override {
        const ArrayXd c = 1.0 / mu.unaryExpr([](double v) { return std::expm1(v); });
        return -wt * (me.square() * (-y / mu.square() + c * (1.0 + c)) + me2 * (y / mu - 1.0 - c));
    }

    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        const ArrayXd c = 1.0 / mu.unaryExpr([](double v) { return std::expm1(v); });
        const ArrayXd l1 = wt * (y / mu - 1.0 - c), l2 = wt * (-y / mu.square() + c * (1.0 + c));
        const ArrayXd l3 = wt * (2.0 * y / mu.cube() - c * (1.0 + c) * (1.0 + 2.0 * c));
        return information_deriv_from_mu(l1, l2, l3, me, me2, me3);
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        std::uniform_real_distribution<double> unif(0.0, 1.0);
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double m = mu[i];
            if (m >= 1.0) {
                std::poisson_distribution<long long> pois(m);
                long long draw = 0;
                while (draw == 0) draw = pois(rng);
                y[i] = static_cast<double>(draw);
                continue;
            }
            // P(Y = k | Y > 0) = e^-m m^k / (k! (1 - e^-m)); invert its cdf from k = 1.
            const double u = unif(rng);
            double k = 1.0, pk = m * std::exp(-m) / -std::expm1(-m), cdf = pk;
            while (u > cdf && pk > 0) {
                pk *= m / (k + 1.0);
                cdf += pk;
                k += 1.0;
            }
            y[i] = k;
        }
        return y;
    }

private:
    static double unit_log_density(double y, double mu, double log_mu) {
        return y * log_mu - mu - log_factorial(y) - log1mexp(mu);
    }
};

}  // namespace

std::unique_ptr<Distribution> make_truncated_poisson() { return std::make_unique<TruncatedPoisson>(); }

}  // namespace glmmfast
