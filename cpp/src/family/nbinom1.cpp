// nbinom1.cpp — the negative binomial NB1 (glmmTMB's nbinom1; links log,
// sqrt, identity): Var y = mu (1 + phi), i.e. size k = mu / phi and success
// probability 1 / (1 + phi).  Times the prior weight:
//   log f = lgamma(y + k) - lgamma(k) - lgamma(y + 1) - k log(1 + phi) + y log(phi / (1 + phi)).
// The shape is a function of mu, so the exponential-dispersion score does
// not apply: with A = psi(y + k) - psi(k), A' = psi'(y + k) - psi'(k),
//   d log f / d mu = (A - log(1 + phi)) / phi,   d^2 log f / d mu^2 = A' / phi^2,
// and in eta through me = dmu/deta, me2 = d^2 mu / d eta^2:
//   score = me (A - log(1 + phi)) / phi,
//   information = -[me^2 A' / phi^2 + me2 (A - log(1 + phi)) / phi].
// With A'' = psi''(y + k) - psi''(k), d^3 log f / d mu^3 = A'' / phi^3, and
//   information' = -[me^3 A'' / phi^3 + 3 me me2 A' / phi^2 + me3 (A - log(1 + phi)) / phi].
// Parameter "phi" (glmmTMB's sigma() for nbinom1), with k = mu / phi, L = log(1 + phi):
//   d log f / d phi = -(k / phi)(A - L) - k / (1 + phi) + y / phi - y / (1 + phi),
//   d^2 log f / d phi^2 = (2k / phi^2)(A - L) + (k^2 / phi^2) A' + 2k / (phi (1 + phi))
//                         + k / (1 + phi)^2 - y / phi^2 + y / (1 + phi)^2.
// Unit "deviance": 2 wt [log f(y; mu = y) - log f(y; mu)] (log f at mu = y
// is not NB1's maximum; differences in mu, all the models use, are exact).
// Simulation: Poisson(Gamma(shape k, scale phi)).
#include <cmath>
#include <memory>
#include <stdexcept>

#include "family/distribution.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

class NegativeBinomial1 final : public DistributionBase<NegativeBinomial1> {
public:
    const char* name() const override { return "nbinom1"; }
    std::vector<std::string> links() const override { return {"log", "sqrt", "identity"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::Positive; }
    bool exponential_dispersion() const override { return false; }

    std::vector<std::string> shape_parameters() const override { return {"phi"}; }
    void set_shape(const std::string& p, double value) override {
        if (p != "phi") unknown_parameter(p);
        if (!(value > 0 && std::isfinite(value))) throw std::invalid_argument("nbinom1 phi must be positive and finite");
        phi_ = value;
    }
    double shape(const std::string& p) const override {
        if (p != "phi") unknown_parameter(p);
        return phi_;
    }

    ArrayXd variance(const ArrayXd& mu) const override { return mu * (1.0 + phi_); }
    ArrayXd variance_deriv(const ArrayXd& mu) const override { return ArrayXd::Constant(mu.size(), 1.0 + phi_); }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y + (y == 0).cast<double>() / 6.0; }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) out[i] = wt[i] * unit_log_density(y[i], m.mu[i]);
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = 2.0 * wt[i] * (unit_log_density(y[i], y[i]) - unit_log_density(y[i], m.mu[i]));
    }

    ArrayXd eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        ArrayXd s(y.size());
        const double L = std::log1p(phi_);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double k = mu[i] / phi_;
            s[i] = wt[i] * me[i] * (digamma(y[i] + k) - digamma(k) - L) / phi_;
        }
        return s;
    }
    ArrayXd eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                            const ArrayXd& wt) const override {
        ArrayXd h(y.size());
        const double L = std::log1p(phi_);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double k = mu[i] / phi_;
            const double a = digamma(y[i] + k) - digamma(k) - L, a1 = trigamma(y[i] + k) - trigamma(k);
            h[i] = -wt[i] * (me[i] * me[i] * a1 / (phi_ * phi_) + me2[i] * a / phi_);
        }
        return h;
    }

    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        ArrayXd l1(y.size()), l2(y.size()), l3(y.size());
        const double L = std::log1p(phi_);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double k = mu[i] / phi_;
            l1[i] = wt[i] * (digamma(y[i] + k) - digamma(k) - L) / phi_;
            l2[i] = wt[i] * (trigamma(y[i] + k) - trigamma(k)) / (phi_ * phi_);
            l3[i] = wt[i] * (tetragamma(y[i] + k) - tetragamma(k)) / (phi_ * phi_ * phi_);
        }
        return information_deriv_from_mu(l1, l2, l3, me, me2, me3);
    }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "phi") unknown_parameter(p);
        const double ph = phi_, L = std::log1p(ph), q = 1.0 + ph;
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double k = m.mu[i] / ph, yi = y[i];
            const double a = digamma(yi + k) - digamma(k) - L, a1 = trigamma(yi + k) - trigamma(k);
            d1[i] = wt[i] * (-(k / ph) * a - k / q + yi / ph - yi / q);
            d2[i] = wt[i] * (2.0 * k / (ph * ph) * a + k * k / (ph * ph) * a1 + 2.0 * k / (ph * q) + k / (q * q) -
                             yi / (ph * ph) + yi / (q * q));
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double rate = mu[i] > 0 ? std::gamma_distribution<double>(mu[i] / phi_, phi_)(rng) : 0.0;
            y[i] = rate > 0 ? static_cast<double>(std::poisson_distribution<long long>(rate)(rng)) : 0.0;
        }
        return y;
    }

private:
    double unit_log_density(double y, double mu) const {
        if (y == 0 && mu == 0) return 0.0;
        const double k = mu / phi_;
        return std::lgamma(y + k) - std::lgamma(k) - std::lgamma(y + 1.0) - k * std::log1p(phi_) +
               (y > 0 ? y * (std::log(phi_) - std::log1p(phi_)) : 0.0);
    }

    double phi_ = 1.0;
};

}  // namespace

std::unique_ptr<Distribution> make_nbinom1() { return std::make_unique<NegativeBinomial1>(); }

}  // namespace glmmfast
