// tweedie.cpp — the Tweedie distribution with power 1 < p < 2 (glmmTMB's
// tweedie; link log): the compound Poisson-Gamma, y = sum of N Gamma draws,
// N ~ Poisson(lambda), with exact zeros when N = 0.  E y = mu,
// Var y = phi mu^p.  With theta = mu^(1-p) / (1-p), kappa = mu^(2-p) / (2-p),
// times the prior weight (glmmTMB's weights multiply the log density):
//   log f(0) = -kappa / phi                       (P(y = 0) = e^-lambda,
//                                                  lambda = kappa / phi)
//   log f(y) = log a(y, phi, p) + (y theta - kappa) / phi,   y > 0,
// a(y, phi, p) by the Dunn-Smyth series (tweedie_series.hpp).
// V(mu) = mu^p: the score and information in eta are the exponential-
// dispersion defaults (distribution.hpp), exact, and so is the information's
// eta-derivative, from V''(mu) = p (p - 1) mu^(p-2) (not the default's
// central differences).  exponential_dispersion()
// is false all the same: there is no lme4 counterpart, and glmmTMB's
// Laplace term uses the exact (observed) information, which the general
// observation path (model/observation_model.cpp) uses too.
// Unit deviance (the exponential-dispersion one):
//   2 wt [y^(2-p) / ((1-p)(2-p)) - y mu^(1-p) / (1-p) + mu^(2-p) / (2-p)].
// Parameters: "dispersion" phi and the shape "power" p.  With
// E = y theta - kappa and L = log mu (s = 1 - p, t = 2 - p):
//   d log f / d phi = d log a / d phi - E / phi^2,
//   d^2 log f / d phi^2 = d^2 log a / d phi^2 + 2 E / phi^3,
//   d theta / dp = -theta (L - 1/s),  d^2 theta / dp^2 = theta [(L - 1/s)^2 + 1/s^2],
//   d kappa / dp = -kappa (L - 1/t),  d^2 kappa / dp^2 = kappa [(L - 1/t)^2 + 1/t^2],
//   d log f / dp = d log a / dp + (y theta' - kappa') / phi   (and likewise the second),
// the series' derivatives analytic (tweedie_series.hpp).
// log a is remembered per thread by (y, phi, p) (memoized_log_a), with the
// mean and variance of the series' j that give its phi-derivatives (so the
// dispersion's derivatives cost no series of their own): it does not depend
// on mu, which is all PIRLS moves.  Keyed by p too, not cleared when p
// moves: the power's gradient differences the log density at p e^{+-delta}
// (observation_gradient.cpp), and a Hessian's differences in theta and beta
// then find both powers' terms, and the base's, remembered.
// Simulation: N ~ Poisson(lambda), y | N ~ Gamma(shape N r, scale phi (p-1) mu^(p-1)),
// r = (2-p)/(p-1) (the prior weights are not used).  phi may vary by
// observation in the log density and draws (phi(dispersion, i), a dispersion
// model: dispersion_by_row.hpp).
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <unordered_map>

#include "family/dispersion_by_row.hpp"
#include "family/distribution.hpp"
#include "family/tweedie_series.hpp"

namespace glmmfast {

namespace {

class Tweedie final : public DispersionByRow<Tweedie> {
public:
    const char* name() const override { return "tweedie"; }
    std::vector<std::string> links() const override { return {"log"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::Positive; }
    unsigned mean_terms_needed() const override { return kLogMu; }
    bool exponential_dispersion() const override { return false; }

    std::vector<std::string> shape_parameters() const override { return {"power"}; }
    void set_shape(const std::string& name, double value) override {
        if (name != "power") unknown_parameter(name);
        if (!(value > 1.0 && value < 2.0)) throw std::invalid_argument("tweedie power must lie in (1, 2)");
        power_ = value;
    }
    double shape(const std::string& name) const override {
        if (name != "power") unknown_parameter(name);
        return power_;
    }

    ArrayXd variance(const ArrayXd& mu) const override { return mu.pow(power_); }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return power_ * mu.pow(power_ - 1.0); }
    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        return exponential_dispersion_information_deriv(y, mu, me, me2, me3, wt,
                                                        power_ * (power_ - 1.0) * mu.pow(power_ - 2.0));
    }
    // statmod's tweedie()$initialize for 1 < p < 2
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override {
        return y + 0.1 * (y == 0).cast<double>();
    }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double dispersion,
                     ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double phi = this->phi(dispersion, m.first_row + i);
            const double log_a = y[i] > 0 ? memoized_log_a(y[i], phi).value : 0.0;
            out[i] = wt[i] * (log_a + exponent(y[i], m.log_mu[i]) / phi);
        }
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        const double s = 1.0 - power_, t = 2.0 - power_;
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double saturated = y[i] > 0 ? std::pow(y[i], t) / (s * t) : 0.0;
            out[i] = 2.0 * wt[i] * (saturated - exponent(y[i], m.log_mu[i]));
        }
    }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double phi, ArrayRef d1, ArrayRef d2) const override {
        const bool dispersion = p == "dispersion";
        if (!dispersion && p != "power") unknown_parameter(p);
        const double s = 1.0 - power_, t = 2.0 - power_, r = t / (power_ - 1.0);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double L = m.log_mu[i], yi = y[i];
            if (dispersion) {  // from the memo's moments of j (tweedie_series.hpp's d log a / d phi)
                const TweedieLogAPhi a = yi > 0 ? memoized_log_a(yi, phi) : TweedieLogAPhi{};
                const double d_phi = -(1.0 + r) * a.mean_j / phi;
                const double d2_phi = ((1.0 + r) * a.mean_j + (1.0 + r) * (1.0 + r) * a.var_j) / (phi * phi);
                const double e = exponent(yi, L);
                d1[i] = wt[i] * (d_phi - e / (phi * phi));
                d2[i] = wt[i] * (d2_phi + 2.0 * e / (phi * phi * phi));
            } else {
                const TweedieLogA a = yi > 0 ? tweedie_log_a_derivatives(yi, phi, power_) : TweedieLogA{};
                const double theta = std::exp(s * L) / s, kappa = std::exp(t * L) / t;
                const double us = L - 1.0 / s, ut = L - 1.0 / t;
                const double e1 = -yi * theta * us + kappa * ut;
                const double e2 = yi * theta * (us * us + 1.0 / (s * s)) - kappa * (ut * ut + 1.0 / (t * t));
                d1[i] = wt[i] * (a.d_power + e1 / phi);
                d2[i] = wt[i] * (a.d2_power + e2 / phi);
            }
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double dispersion, std::mt19937_64& rng) const override {
        const double q = power_ - 1.0, t = 2.0 - power_, r = t / q;
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double phi = this->phi(dispersion, i);
            const double lambda = std::pow(mu[i], t) / (phi * t);
            const long long n = lambda > 0 ? std::poisson_distribution<long long>(lambda)(rng) : 0;
            y[i] = n > 0 ? std::gamma_distribution<double>(static_cast<double>(n) * r,
                                                           phi * q * std::pow(mu[i], q))(rng)
                         : 0.0;
        }
        return y;
    }

private:
    // tweedie_log_a_phi(y, phi, power_) (log a and the moments of j that give its phi-derivatives),
    // remembered per thread by (y, phi, power): a(y) does not depend on mu, and PIRLS and the Laplace
    // term evaluate the log density many times at one phi (one per observation with a dispersion
    // model) and power.  A memo of a pure function, so it is shared by every Tweedie object of the
    // thread; cleared when full.
    TweedieLogAPhi memoized_log_a(double y, double phi) const {
        using Key = std::array<double, 3>;  // (y, phi, power)
        struct KeyHash {
            // the doubles' bits combined and mixed by splitmix64's finaliser (std::hash<double> hashes
            // the bytes, murmur-style: a sixth of the fit's engine instructions went to it)
            std::size_t operator()(const Key& k) const {
                std::uint64_t a, b, c;
                std::memcpy(&a, &k[0], sizeof a);
                std::memcpy(&b, &k[1], sizeof b);
                std::memcpy(&c, &k[2], sizeof c);
                std::uint64_t x = a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (c * 0xc2b2ae3d27d4eb4fULL);
                x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
                x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
                return static_cast<std::size_t>(x ^ (x >> 31));
            }
        };
        thread_local std::unordered_map<Key, TweedieLogAPhi, KeyHash> memo;
        if (memo.size() > kMemoLimit) memo.clear();
        const auto [it, inserted] = memo.try_emplace(Key{y, phi, power_});
        if (inserted) it->second = tweedie_log_a_phi(y, phi, power_);
        return it->second;
    }
    static constexpr std::size_t kMemoLimit = 1u << 18;

    // y theta - kappa from log mu.
    double exponent(double y, double log_mu) const {
        const double s = 1.0 - power_, t = 2.0 - power_;
        return (y > 0 ? y * std::exp(s * log_mu) / s : 0.0) - std::exp(t * log_mu) / t;
    }

    double power_ = 1.5;
};

}  // namespace

std::unique_ptr<Distribution> make_tweedie() { return std::make_unique<Tweedie>(); }

}  // namespace glmmfast
