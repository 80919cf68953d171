// truncated_nbinom2.cpp — the zero-truncated negative binomial NB2 (glmmTMB's
// truncated_nbinom2; links log, sqrt, identity), the count part of an NB
// hurdle model (with a ziformula, family/zero_inflation.hpp).  mu is the
// untruncated mean, theta the shape (set_shape("theta")).  For y >= 1,
// times the prior weight, with P0 = (theta / (theta + mu))^theta, the NB2
// probability of 0:
//   log f = log f_NB2(y; mu, theta) - log(1 - P0)      (nbinom2_terms.hpp),
//   log(1 - P0) = log1mexp(s),  s = -log P0 = theta log1p(mu / theta).
// With r = P0 / (1 - P0) = 1 / expm1(s), T = -log(1 - P0):
//   dT/dmu = -r theta / (theta + mu),
//   d^2T/dmu^2 = r (1 + r) theta^2 / (theta + mu)^2 + r theta / (theta + mu)^2,
// and with a = d log P0 / d theta = log theta + 1 - log(theta + mu) - theta / (theta + mu),
// a' = 1/theta - 1/(theta + mu) - mu / (theta + mu)^2:
//   dT/dtheta = r a,   d^2T/dtheta^2 = r (1 + r) a^2 + r a'   (ds/dtheta = -a, dr/ds = -r (1 + r)).
// The NB2 parts: d log f / d mu = y/mu - (theta + y)/(theta + mu),
// d^2 log f / d mu^2 = -y/mu^2 + (theta + y)/(theta + mu)^2; in eta through
// me, me2 as every family (score = me L1, information = -(me^2 L2 + me2 L1)).
// Third: with B = r (1 + r) theta^2 + r theta (L2's truncation term B / tm^2,
// tm = theta + mu) and dr/dmu = -r (1 + r) theta / tm,
//   L3 = 2y/mu^3 - 2(theta + y)/tm^3 + B'/tm^2 - 2B/tm^3,
//   B' = -r (1 + r) theta^2 [(1 + 2r) theta + 1] / tm   (information_deriv_from_mu).
// No mass at 0; V(mu) = mu + mu^2 / theta (the untruncated NB2's) serves only
// the GLM start and PIRLS's Fisher-type weights.  Unit "deviance":
// 2 wt [log f(y; y) - log f(y; mu)].  Simulation: NB2 draws conditioned on y > 0.
// theta may vary by observation (theta(i), shape_by_row: a dispersion model).
#include <cmath>
#include <memory>
#include <stdexcept>
#include <utility>

#include "family/distribution.hpp"
#include "family/nbinom2_terms.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

class TruncatedNegativeBinomial2 final : public Nb2Shape<TruncatedNegativeBinomial2> {
public:
    const char* name() const override { return "truncated_nbinom2"; }
    std::vector<std::string> links() const override { return {"log", "sqrt", "identity"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::Positive; }
    unsigned mean_terms_needed() const override { return kLogMu; }
    unsigned response_terms_needed() const override { return kLogY; }  // the saturated log density's log y
    bool exponential_dispersion() const override { return false; }
    bool has_zero_mass() const override { return false; }
    bool shape_by_row(const std::string& p) const override { return p == "theta"; }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = wt[i] * unit_log_density(y[i], m.mu[i], m.log_mu[i], theta(m.first_row + i));
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double th = theta(m.first_row + i);
            out[i] = 2.0 * wt[i] *
                     (unit_log_density(y[i], y[i], m.log_y[i], th) - unit_log_density(y[i], m.mu[i], m.log_mu[i], th));
        }
    }

    ArrayXd eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        ArrayXd s(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) s[i] = wt[i] * me[i] * mu_derivatives(y[i], mu[i], theta(i)).first;
        return s;
    }
    ArrayXd eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                            const ArrayXd& wt) const override {
        ArrayXd h(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const auto [l1, l2] = mu_derivatives(y[i], mu[i], theta(i));
            h[i] = -wt[i] * (me[i] * me[i] * l2 + me2[i] * l1);
        }
        return h;
    }

    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        ArrayXd l1(y.size()), l2(y.size()), l3(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double th = theta(i);
            const auto [d1, d2] = mu_derivatives(y[i], mu[i], th);
            const double m = mu[i], tm = th + m, r = zero_odds(m, th);
            const double B = r * (1.0 + r) * th * th + r * th;
            const double dB = -r * (1.0 + r) * th * th * ((1.0 + 2.0 * r) * th + 1.0) / tm;
            l1[i] = wt[i] * d1;
            l2[i] = wt[i] * d2;
            l3[i] = wt[i] * (2.0 * y[i] / (m * m * m) - 2.0 * (th + y[i]) / (tm * tm * tm) + dB / (tm * tm) -
                             2.0 * B / (tm * tm * tm));
        }
        return information_deriv_from_mu(l1, l2, l3, me, me2, me3);
    }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "theta") unknown_parameter(p);
        // the terms in theta alone: once, or per row where theta varies
        const auto common = [](double th) {
            return std::pair{-digamma(th) + std::log(th) + 1.0, -trigamma(th) + 1.0 / th};
        };
        const bool by_row = theta_rows_.values.size() > 0;
        const auto scalar_common = common(theta_);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const double th = theta(m.first_row + i);
            const auto [common1, common2] = by_row ? common(th) : scalar_common;
            const double mu = m.mu[i], ltm = nb2_log_theta_plus_mu(th, mu, m.log_mu[i]);
            double a1, a2;
            nb2_theta_derivatives(y[i], th, ltm, common1, common2, a1, a2);
            const double r = zero_odds(mu, th);
            const double a = std::log(th) + 1.0 - ltm - th / (th + mu);
            const double da = 1.0 / th - 1.0 / (th + mu) - mu / ((th + mu) * (th + mu));
            d1[i] = wt[i] * (a1 + r * a);
            d2[i] = wt[i] * (a2 + r * (1.0 + r) * a * a + r * da);
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double th = theta(i);
            double draw = 0.0;
            // P(y > 0) = 1 - P0: by rejection (a mean below 1e-8 draws 1, its limit)
            for (int tries = 0; draw == 0.0 && tries < 100000 && mu[i] > 1e-8; ++tries) {
                const double rate = std::gamma_distribution<double>(th, mu[i] / th)(rng);
                draw = rate > 0 ? static_cast<double>(std::poisson_distribution<long long>(rate)(rng)) : 0.0;
            }
            y[i] = draw > 0 ? draw : 1.0;
        }
        return y;
    }

private:
    // r = P0 / (1 - P0) = 1 / expm1(theta log1p(mu / theta)).
    static double zero_odds(double mu, double th) { return 1.0 / std::expm1(th * std::log1p(mu / th)); }

    static double unit_log_density(double y, double mu, double log_mu, double th) {
        return nb2_log_density(y, log_mu, th, std::log(th)) - log1mexp(th * std::log1p(mu / th));
    }

    // d log f / d mu and d^2 log f / d mu^2 at theta th.
    static std::pair<double, double> mu_derivatives(double y, double mu, double th) {
        const double tm = th + mu, r = zero_odds(mu, th);
        const double l1 = y / mu - (th + y) / tm - r * th / tm;
        const double l2 = -y / (mu * mu) + (th + y) / (tm * tm) + r * (1.0 + r) * th * th / (tm * tm) + r * th / (tm * tm);
        return {l1, l2};
    }
};

}  // namespace

std::unique_ptr<Distribution> make_truncated_nbinom2() { return std::make_unique<TruncatedNegativeBinomial2>(); }

}  // namespace glmmfast
