// binomial.cpp — the binomial distribution (R's binomial(); links logit,
// probit, cloglog, cauchit, log).
//
// y is the proportion of successes and the prior weight n the number of
// trials (R's convention):
//   log f = log C(n, k) + k log mu + (n - k) log(1 - mu),  k = round(n y),
//   V(mu) = mu (1 - mu),
//   unit deviance 2 n [y log(y / mu) + (1 - y) log((1 - y) / (1 - mu))],
// with log mu and log(1 - mu) exact from eta (the link's probabilities), so
// the log density never exceeds its true value however large |eta| is.
// Kernel: n [y log mu + (1 - y) log(1 - mu)], the binomial coefficients
// being the constant.  No parameters.  Simulation: Binomial(n, mu) / n
// (R's binomial()$simulate).
#include <cmath>
#include <limits>
#include <memory>

#include "family/distribution.hpp"

namespace glmmfast {

namespace {

// log C(n, k) for n = round(wt) trials and k = round(n y) successes (0 if n <= 0).
double log_choose(double y, double wt) {
    const double n = std::round(wt);
    if (n <= 0) return 0.0;
    const double k = std::round(n * y);
    return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
}

class Binomial final : public DistributionBase<Binomial> {
public:
    const char* name() const override { return "binomial"; }
    bool weights_are_trials() const override { return true; }
    std::vector<std::string> links() const override { return {"logit", "probit", "cloglog", "cauchit", "log"}; }
    const char* canonical_link() const override { return "logit"; }
    MeanRange mean_range() const override { return MeanRange::UnitInterval; }

    ArrayXd variance(const ArrayXd& mu) const override { return mu * (1.0 - mu); }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return 1.0 - 2.0 * mu; }
    // V''(mu) = -2.0, in the exponential-dispersion third derivative.
    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        return exponential_dispersion_information_deriv(y, mu, me, me2, me3, wt, ArrayXd::Constant(mu.size(), -2.0));
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd& wt) const override { return (wt * y + 0.5) / (wt + 1.0); }

    // dbinom(round(n y), round(n), mu).
    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double n = std::round(wt[i]);
            if (n <= 0) {
                out[i] = 0.0;
                continue;
            }
            const double k = std::round(n * y[i]);
            double term = log_choose(y[i], wt[i]);
            if (k > 0) term += k * m.log_mu[i];
            if (n - k > 0) term += (n - k) * m.log1m_mu[i];
            out[i] = term;
        }
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = 2.0 * wt[i] *
                     ((y[i] > 0 ? y[i] * (std::log(y[i]) - m.log_mu[i]) : 0.0) +
                      (y[i] < 1 ? (1.0 - y[i]) * (std::log1p(-y[i]) - m.log1m_mu[i]) : 0.0));
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd& wt, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const long long n = std::llround(wt[i]);
            y[i] = n > 0 ? static_cast<double>(std::binomial_distribution<long long>(n, mu[i])(rng)) / n : 0.0;
        }
        return y;
    }

    bool has_kernel() const override { return true; }
    double loglik_kernel(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& eta, const ArrayXd& wt,
                         const Link& link) const override {
        double k = 0.0;
        bool admissible = true;
        MeanTerms m;
        for_each_block(y.size(), [&](Eigen::Index s, Eigen::Index len) {
            if (!admissible) return;
            link.probabilities(eta.segment(s, len), mu.data() + s, y.data() + s, m);
            for (Eigen::Index j = 0; j < len; ++j) {
                const Eigen::Index i = s + j;
                if (wt[i] == 0) continue;
                if (!m.admissible[j]) {
                    admissible = false;
                    return;
                }
                k += wt[i] * ((y[i] > 0 ? y[i] * m.log_mu[j] : 0.0) + (y[i] < 1 ? (1.0 - y[i]) * m.log1m_mu[j] : 0.0));
            }
        });
        return admissible ? k : -std::numeric_limits<double>::infinity();
    }
    double loglik_constant(const ArrayXd& y, const ArrayXd& wt) const override {
        double c = 0.0;
        for (Eigen::Index i = 0; i < y.size(); ++i) c += log_choose(y[i], wt[i]);
        return c;
    }
    double saturated_kernel(const ArrayXd& y, const ArrayXd& wt) const override {
        double k = 0.0;
        for (Eigen::Index i = 0; i < y.size(); ++i)
            k += wt[i] * ((y[i] > 0 ? y[i] * std::log(y[i]) : 0.0) + (y[i] < 1 ? (1.0 - y[i]) * std::log1p(-y[i]) : 0.0));
        return k;
    }
};

}  // namespace

std::unique_ptr<Distribution> make_binomial() { return std::make_unique<Binomial>(); }

}  // namespace glmmfast
