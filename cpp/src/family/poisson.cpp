// poisson.cpp — the Poisson distribution (R's poisson(); links log, identity, sqrt).
//
//   log f(y; mu) = y log mu - mu - log y!,   V(mu) = mu,
//   unit deviance 2 [y log(y / mu) - (y - mu)],
// times the prior weight.  Kernel (the inner loop's fast path): y log mu -
// mu, with log mu = eta and no exp at all for the log link above its clamp.
// No parameters.  Simulation: y ~ Poisson(mu) (R's poisson()$simulate).
#include <cmath>
#include <limits>
#include <memory>

#include "family/distribution.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// The kernel for the log link in one fused loop (the grouseticks inner
// loop): log mu = eta, and mu = linkinv(eta) is e^eta itself above its eps
// floor.  Not inlined: inside the virtual member GCC kept the sum in memory
// across the loop (2.5x slower); on its own it stays in a register.
#if defined(__GNUC__)
__attribute__((noinline))
#elif defined(_MSC_VER)
__declspec(noinline)
#endif
double log_link_kernel(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& eta, const ArrayXd& wt) {
    double k = 0.0;
    for (Eigen::Index i = 0; i < y.size(); ++i)
        if (wt[i] != 0) k += wt[i] * (y[i] * eta[i] - (mu[i] > kEps ? mu[i] : std::exp(eta[i])));
    return k;
}

class Poisson final : public DistributionBase<Poisson> {
public:
    const char* name() const override { return "poisson"; }
    std::vector<std::string> links() const override { return {"log", "identity", "sqrt"}; }
    const char* canonical_link() const override { return "log"; }
    MeanRange mean_range() const override { return MeanRange::NonNegative; }
    unsigned mean_terms_needed() const override { return kLogMu; }

    ArrayXd variance(const ArrayXd& mu) const override { return mu; }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return ArrayXd::Ones(mu.size()); }
    // V''(mu) = 0, in the exponential-dispersion third derivative.
    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        return exponential_dispersion_information_deriv(y, mu, me, me2, me3, wt, ArrayXd::Zero(mu.size()));
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y + 0.1; }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = wt[i] * ((y[i] > 0 ? y[i] * m.log_mu[i] : 0.0) - m.mu[i] - log_factorial(y[i]));
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = 2.0 * wt[i] * ((y[i] > 0 ? y[i] * (std::log(y[i]) - m.log_mu[i]) : 0.0) - (y[i] - m.mu[i]));
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) y[i] = mu[i] > 0 ? std::poisson_distribution<long long>(mu[i])(rng) : 0.0;
        return y;
    }

    bool has_kernel() const override { return true; }
    double loglik_kernel(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& eta, const ArrayXd& wt,
                         const Link& link) const override {
        if (link.log_mean_is_eta()) return log_link_kernel(y, mu, eta, wt);
        double k = 0.0;
        MeanTerms m;
        for_each_block(y.size(), [&](Eigen::Index s, Eigen::Index len) {
            link.scale_means(eta.segment(s, len), mu.data() + s, mean_range(), kLogMu, m);
            for (Eigen::Index j = 0; j < len; ++j) {
                const Eigen::Index i = s + j;
                if (wt[i] == 0) continue;
                k += m.admissible[j] ? wt[i] * ((y[i] > 0 ? y[i] * m.log_mu[j] : 0.0) - m.mu[j])
                                     : -std::numeric_limits<double>::infinity();
            }
        });
        return k;
    }
    double loglik_constant(const ArrayXd& y, const ArrayXd& wt) const override {
        double c = 0.0;
        for (Eigen::Index i = 0; i < y.size(); ++i) c -= wt[i] * log_factorial(y[i]);
        return c;
    }
    double saturated_kernel(const ArrayXd& y, const ArrayXd& wt) const override {
        double k = 0.0;
        for (Eigen::Index i = 0; i < y.size(); ++i) k += wt[i] * ((y[i] > 0 ? y[i] * std::log(y[i]) : 0.0) - y[i]);
        return k;
    }
};

}  // namespace

std::unique_ptr<Distribution> make_poisson() { return std::make_unique<Poisson>(); }

}  // namespace glmmfast
