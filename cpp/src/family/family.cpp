// family.cpp — element-wise link and distribution functions (see family.hpp).
#include "family/family.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace glmmfast {

namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
// Same thresholds as R's binomial links: keep mu strictly inside (0, 1).
constexpr double kThresh = 30.0;
constexpr double kMuMin = 2.220446e-16;

double norm_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double norm_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI); }

// Inverse of the standard normal cdf (Acklam's rational approximation,
// refined by one Halley step to full double precision).
double norm_quantile(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    if (p <= 0) return -std::numeric_limits<double>::infinity();
    if (p >= 1) return std::numeric_limits<double>::infinity();
    double x;
    if (p < 0.02425) {
        double q = std::sqrt(-2 * std::log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p > 1 - 0.02425) {
        double q = std::sqrt(-2 * std::log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    double e = norm_cdf(x) - p;
    double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

// Distributions whose mean must be positive (R's validmu).
bool positive_mean(Dist d) {
    return d == Dist::Poisson || d == Dist::Gamma || d == Dist::InverseGaussian || d == Dist::NegativeBinomial;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(e^a + e^b) without overflow.
double log_add_exp(double a, double b) {
    const double m = std::max(a, b);
    if (m == -kInf) return -kInf;
    return m + std::log1p(std::exp(-std::abs(a - b)));
}

// log(1 - e^-a) for a >= 0 to full relative precision (Maechler 2012,
// "Accurately computing log(1 - exp(-|a|))"): expm1 while e^-a is near 1,
// log1p once it is below 1/2.
double log1mexp(double a) { return a <= M_LN2 ? std::log(-std::expm1(-a)) : std::log1p(-std::exp(-a)); }

// Q(x) = 1 - Phi(x) = erfc(x / sqrt 2) / 2 for x >= 0, to a few ulps.  The
// rounding delta = x / sqrt 2 - t of t = fl(x / sqrt 2) (up to t eps) would
// cost a relative error 2 t delta (~1e-13 at x = 30), so it is corrected to
// first order: erfc(t + delta) = erfc(t) - (2 / sqrt pi) e^{-t^2} delta,
// with delta from an fma against sqrt 2 = s + s_lo (the next term is ~(t delta)^2).
double norm_upper_tail(double x) {
    constexpr double s = 1.4142135623730951, s_lo = -9.667293313452913e-17;  // sqrt 2 = s + s_lo
    const double t = x / s;
    const double delta = (std::fma(-t, s, x) - t * s_lo) / s;
    return 0.5 * (std::erfc(t) - M_2_SQRTPI * std::exp(-t * t) * delta);
}

// log Phi(x) to full relative precision for every x: log1p(-Q(x)) in the
// upper tail, log Q(-x) while Phi(x) is a normal number, and below x = -30 the
// asymptotic expansion (Abramowitz & Stegun 26.2.12)
//     Phi(x) = phi(x) / |x| (1 - 1/x^2 + 3/x^4 - 15/x^6 + ...),
// whose terms (2k-1)!!/x^{2k} are below 1e-20 by k = 10 when |x| >= 30.
double log_norm_cdf(double x) {
    if (x > 0) return std::log1p(-norm_upper_tail(x));
    if (x > -30) return std::log(norm_upper_tail(-x));
    const double r = 1.0 / (x * x);
    double term = 1.0, series = 0.0;
    for (int k = 1; k <= 12; ++k) {
        term *= -(2 * k - 1) * r;
        series += term;
    }
    return -0.5 * x * x - std::log(-x) - 0.5 * std::log(2 * M_PI) + std::log1p(series);
}

// log F(x) for the standard Cauchy cdf F(x) = 1/2 + atan(x)/pi.  Since
// atan(x) + atan(1/x) = sgn(x) pi/2, F(x) = atan(-1/x)/pi for x < 0 and
// 1 - atan(1/x)/pi for x > 0: no cancellation in either tail.
double log_cauchy_cdf(double x) {
    if (x < -1) return std::log(std::atan(-1.0 / x)) - std::log(M_PI);
    if (x > 1) return std::log1p(-std::atan(1.0 / x) / M_PI);
    return std::log(0.5 + std::atan(x) / M_PI);
}

// log mu and log(1 - mu) of a binomial link at eta, from eta itself (no
// clamp), each only where its pointer is non-null (a 0/1 response needs one).
// Returns false if eta gives no probability (the log link at eta > 0).
//   logit:   log mu = -log1p(e^-eta), log(1 - mu) = -log1p(e^eta), as
//            min(eta, 0) - s and -max(eta, 0) - s with s = log1p(e^-|eta|);
//   probit:  log Phi(eta), log Phi(-eta);
//   cloglog: log(1 - mu) = -e^eta exactly, log mu = log1mexp(e^eta), or
//            eta - e^eta / 2 + O(e^{2 eta}) below eta = -30 (e^eta may underflow);
//   cauchit: log F(eta), log F(-eta);
//   log:     log mu = eta, log(1 - mu) = log1mexp(-eta).
bool binomial_log_probs(Link link, double eta, double* lmu, double* l1mu) {
    switch (link) {
        case Link::Logit: {
            const double s = std::log1p(std::exp(-std::abs(eta)));
            if (lmu) *lmu = std::min(eta, 0.0) - s;
            if (l1mu) *l1mu = -std::max(eta, 0.0) - s;
            return true;
        }
        case Link::Probit:
            if (lmu) *lmu = log_norm_cdf(eta);
            if (l1mu) *l1mu = log_norm_cdf(-eta);
            return true;
        case Link::Cloglog: {
            const double ee = std::exp(eta);
            // Above e^eta = log 2, log mu = log1p(-exp(-e^eta)) has condition
            // number e^eta in e^eta (up to e^6.6 before it rounds to 0):
            // e^eta in long double (64-bit mantissa on x86) keeps it to an ulp.
            if (!lmu) {
            } else if (eta < -30) {
                *lmu = eta - 0.5 * ee;
            } else if (ee <= M_LN2) {
                *lmu = log1mexp(ee);
            } else {
                *lmu = std::log1p(-static_cast<double>(std::exp(-std::exp(static_cast<long double>(eta)))));
            }
            if (l1mu) *l1mu = -ee;
            return true;
        }
        case Link::Cauchit:
            if (lmu) *lmu = log_cauchy_cdf(eta);
            if (l1mu) *l1mu = log_cauchy_cdf(-eta);
            return true;
        case Link::Log:
            if (lmu) *lmu = eta;
            if (l1mu) *l1mu = log1mexp(-eta);
            return eta <= 0;
        default: throw std::logic_error("not a binomial link");
    }
}

// Prior-weighted log density of one observation (see Family::loglik for
// the weight conventions); -inf where the mean is not admissible.
double unit_log_density(const Family& f, double y, const MeanTerms& m, double wt, double phi) {
    if (wt <= 0) return 0.0;
    if (!m.admissible) return -kInf;
    switch (f.dist) {
        case Dist::Gaussian: {
            const double r = y - m.mu;
            return 0.5 * std::log(wt) - 0.5 * std::log(2 * M_PI * phi) - 0.5 * wt * r * r / phi;
        }
        case Dist::Poisson: return wt * ((y > 0 ? y * m.log_mu : 0.0) - m.mu - std::lgamma(y + 1.0));
        case Dist::Binomial: {
            // wt = number of trials n, y = proportion: dbinom(round(n y), round(n), mu).
            const double n = std::round(wt);
            if (n <= 0) return 0.0;
            const double k = std::round(n * y);
            double term = std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
            if (k > 0) term += k * m.log_mu;
            if (n - k > 0) term += (n - k) * m.log1m_mu;
            return term;
        }
        case Dist::Gamma: {
            // R's Gamma()$aic: dgamma(y, 1/phi, scale = mu phi, log = TRUE), times wt.
            const double shape = 1.0 / phi;
            return wt * (-std::lgamma(shape) - shape * (std::log(phi) + m.log_mu) + (shape - 1.0) * std::log(y) -
                         y * m.inv_mu / phi);
        }
        case Dist::InverseGaussian: {
            // -1/2 log(2 pi phi y^3) - (y - mu)^2 / (2 phi mu^2 y), with (y - mu)/mu = y/mu - 1.
            const double r = y * m.inv_mu - 1.0;
            return wt * (-0.5 * std::log(2 * M_PI * phi * y * y * y) - r * r / (2 * phi * y));
        }
        case Dist::NegativeBinomial: {
            // MASS negative.binomial()$aic: theta log theta + y log mu - (theta + y) log(theta + mu)
            // plus the lgammas; with log(theta + mu) = max + log1p(e^-|log mu - log theta|)
            // the large terms cancel analytically, so neither mu -> 0 nor mu -> inf overflows.
            const double th = f.theta, lt = std::log(th), lm = m.log_mu;
            const double main = lm > lt ? th * (lt - lm) - (th + y) * std::log1p(std::exp(lt - lm))
                                        : (y > 0 ? y * (lm - lt) : 0.0) - (th + y) * std::log1p(std::exp(lm - lt));
            return wt * (std::lgamma(th + y) - std::lgamma(th) - std::lgamma(y + 1) + main);
        }
    }
    return 0.0;
}

// log(theta + mu): one log where mu is finite (the usual case, and the NB
// inner loop's cost), log-add-exp of the logs where mu overflowed.
double log_theta_plus_mu(double theta, const MeanTerms& m) {
    return std::isfinite(m.mu) ? std::log(theta + m.mu) : log_add_exp(std::log(theta), m.log_mu);
}

// Prior-weighted unit deviance 2 wt [l(y; y) - l(y; mu)] of one observation
// (R's family$dev.resids); +inf where the mean is not admissible.
double unit_deviance(const Family& f, double y, const MeanTerms& m, double wt) {
    if (wt == 0) return 0.0;
    if (!m.admissible) return kInf;
    switch (f.dist) {
        case Dist::Gaussian: return wt * (y - m.mu) * (y - m.mu);
        case Dist::Poisson: return 2.0 * wt * ((y > 0 ? y * (std::log(y) - m.log_mu) : 0.0) - (y - m.mu));
        case Dist::Binomial:
            return 2.0 * wt * ((y > 0 ? y * (std::log(y) - m.log_mu) : 0.0) +
                               (y < 1 ? (1.0 - y) * (std::log1p(-y) - m.log1m_mu) : 0.0));
        case Dist::Gamma:
            // R: -2 wt (log(ifelse(y == 0, 1, y/mu)) - (y - mu)/mu)
            return -2.0 * wt * ((y == 0 ? 0.0 : std::log(y) - m.log_mu) - (y * m.inv_mu - 1.0));
        case Dist::InverseGaussian: {
            const double r = y * m.inv_mu - 1.0;  // (y - mu)/mu
            return wt * r * r / y;
        }
        case Dist::NegativeBinomial: {
            // MASS: 2 wt (y log(pmax(1, y)/mu) - (y + theta) log((y + theta)/(mu + theta)))
            const double th = f.theta;
            return 2.0 * wt *
                   ((y > 0 ? y * (std::log(std::max(1.0, y)) - m.log_mu) : 0.0) -
                    (y + th) * (std::log(y + th) - log_theta_plus_mu(th, m)));
        }
    }
    return 0.0;
}

}  // namespace

// The links R's family constructors accept (MASS's negative.binomial for NB).
Family::Family(Dist d, Link l, double th) : dist(d), link(l), theta(th) {
    bool ok = false;
    switch (d) {
        case Dist::Gaussian: ok = l == Link::Identity || l == Link::Log || l == Link::Inverse; break;
        case Dist::Poisson: ok = l == Link::Log || l == Link::Identity || l == Link::Sqrt; break;
        case Dist::Binomial:
            ok = l == Link::Logit || l == Link::Probit || l == Link::Cloglog || l == Link::Cauchit || l == Link::Log;
            break;
        case Dist::Gamma: ok = l == Link::Inverse || l == Link::Identity || l == Link::Log; break;
        case Dist::InverseGaussian:
            ok = l == Link::InverseSquare || l == Link::Inverse || l == Link::Identity || l == Link::Log;
            break;
        case Dist::NegativeBinomial: ok = l == Link::Log || l == Link::Sqrt || l == Link::Identity; break;
    }
    if (!ok) throw std::invalid_argument("link not supported for this family");
    if (d == Dist::NegativeBinomial && !(th > 0 && std::isfinite(th)))
        throw std::invalid_argument("negative binomial theta must be positive and finite");
}

bool Family::canonical() const {
    return (dist == Dist::Gaussian && link == Link::Identity) ||
           (dist == Dist::Poisson && link == Link::Log) ||
           (dist == Dist::Binomial && link == Link::Logit) ||
           (dist == Dist::Gamma && link == Link::Inverse) ||
           (dist == Dist::InverseGaussian && link == Link::InverseSquare);
}

ArrayXd Family::linkfun(const ArrayXd& mu) const {
    switch (link) {
        case Link::Identity: return mu;
        case Link::Log: return mu.log();
        case Link::Logit: return (mu / (1.0 - mu)).log();
        case Link::Probit: return mu.unaryExpr([](double m) { return norm_quantile(m); });
        case Link::Cloglog: return (-(1.0 - mu).log()).log();
        case Link::Cauchit: return (M_PI * (mu - 0.5)).tan();
        case Link::Inverse: return mu.inverse();
        case Link::Sqrt: return mu.sqrt();
        case Link::InverseSquare: return mu.square().inverse();
    }
    return mu;
}

ArrayXd Family::linkinv(const ArrayXd& eta) const {
    switch (link) {
        case Link::Identity: return eta;
        case Link::Log: return eta.exp().max(kEps);
        case Link::Logit:
            return eta.unaryExpr([](double e) {
                double t = e < -kThresh ? std::exp(-kThresh) : e > kThresh ? std::exp(kThresh) : std::exp(e);
                return t / (1.0 + t);
            });
        case Link::Probit:
            return eta.unaryExpr([](double e) {
                const double th = -norm_quantile(kEps);
                return norm_cdf(std::min(std::max(e, -th), th));
            });
        case Link::Cloglog:
            return eta.unaryExpr([](double e) {
                return std::max(std::min(-std::expm1(-std::exp(e)), 1.0 - kEps), kEps);
            });
        case Link::Cauchit:
            // R: eta clamped to +-(-qcauchy(eps)) so mu stays inside (0, 1).
            return eta.unaryExpr([](double e) {
                const double th = std::tan(M_PI * (0.5 - kEps));
                return 0.5 + std::atan(std::min(std::max(e, -th), th)) / M_PI;
            });
        case Link::Inverse: return eta.inverse();
        case Link::Sqrt: return eta.square();
        case Link::InverseSquare: return eta.rsqrt();
    }
    return eta;
}

ArrayXd Family::mu_eta(const ArrayXd& eta) const {
    switch (link) {
        case Link::Identity: return ArrayXd::Ones(eta.size());
        case Link::Log: return eta.exp().max(kEps);
        case Link::Logit:
            return eta.unaryExpr([](double e) {
                double a = std::abs(e);
                return a > kThresh ? kEps : std::exp(e) / ((1 + std::exp(e)) * (1 + std::exp(e)));
            });
        case Link::Probit:
            return eta.unaryExpr([](double e) { return std::max(norm_pdf(e), kEps); });
        case Link::Cloglog:
            return eta.unaryExpr([](double e) {
                double ee = std::min(e, 700.0);
                return std::max(std::exp(ee) * std::exp(-std::exp(ee)), kEps);
            });
        case Link::Cauchit:
            return eta.unaryExpr([](double e) { return std::max(1.0 / (M_PI * (1.0 + e * e)), kEps); });
        case Link::Inverse: return -eta.square().inverse();
        case Link::Sqrt: return 2.0 * eta;
        case Link::InverseSquare: return -0.5 * eta.pow(-1.5);
    }
    return eta;
}

ArrayXd Family::mu_eta(const ArrayXd& eta, const ArrayXd& mu) const {
    if (link == Link::Log) return mu;  // linkinv already floors mu at eps
    if (link == Link::Logit)
        return (eta.abs() > kThresh).select(ArrayXd::Constant(eta.size(), kEps), mu * (1.0 - mu));
    return mu_eta(eta);
}

double Family::loglik_kernel(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& eta, const ArrayXd& wt) const {
    const Eigen::Index n = y.size();
    double k = 0.0;
    if (dist == Dist::Poisson) {
        if (link == Link::Log) {
            // linkinv gives max(e^eta, eps): mu is e^eta itself above eps.
            for (Eigen::Index i = 0; i < n; ++i)
                if (wt[i] != 0) k += wt[i] * (y[i] * eta[i] - (mu[i] > kEps ? mu[i] : std::exp(eta[i])));
        } else {
            for (Eigen::Index i = 0; i < n; ++i) {
                if (wt[i] == 0) continue;
                const MeanTerms m = mean_terms_at_eta(eta[i]);
                k += m.admissible ? wt[i] * ((y[i] > 0 ? y[i] * m.log_mu : 0.0) - m.mu) : -kInf;
            }
        }
    } else if (dist == Dist::Binomial) {
        // y is the proportion and wt the trials.  For the logit inside its
        // clamp, mu = e^eta / (1 + e^eta) is unclamped and one log gives both
        // log mu and log(1 - mu) = log mu - eta (rounding ~ulp(eta) <= 4e-15,
        // far below |log(1 - mu)| >= 9e-14 there, so never of the wrong sign);
        // beyond it (and for the other links) the exact forms.
        const bool logit = link == Link::Logit;
        for (Eigen::Index i = 0; i < n; ++i) {
            if (wt[i] == 0) continue;
            double lmu = 0.0, l1mu = 0.0;
            if (logit && std::abs(eta[i]) <= kThresh) {
                lmu = std::log(mu[i]);
                l1mu = lmu - eta[i];
            } else if (!binomial_log_probs(link, eta[i], y[i] > 0 ? &lmu : nullptr, y[i] < 1 ? &l1mu : nullptr)) {
                return -kInf;
            }
            k += wt[i] * ((y[i] > 0 ? y[i] * lmu : 0.0) + (y[i] < 1 ? (1.0 - y[i]) * l1mu : 0.0));
        }
    } else {
        throw std::logic_error("loglik_kernel: family has no kernel");
    }
    return k;
}

double Family::loglik_constant(const ArrayXd& y, const ArrayXd& wt) const {
    const Eigen::Index n = y.size();
    double c = 0.0;
    if (dist == Dist::Poisson) {
        for (Eigen::Index i = 0; i < n; ++i) c -= wt[i] * std::lgamma(y[i] + 1.0);
    } else if (dist == Dist::Binomial) {
        for (Eigen::Index i = 0; i < n; ++i) {
            const double m = std::round(wt[i]);
            if (m <= 0) continue;
            const double k = std::round(m * y[i]);
            c += std::lgamma(m + 1) - std::lgamma(k + 1) - std::lgamma(m - k + 1);
        }
    }
    return c;
}

double Family::saturated_kernel(const ArrayXd& y, const ArrayXd& wt) const {
    const Eigen::Index n = y.size();
    double k = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
        const double yi = y[i];
        if (dist == Dist::Poisson) k += wt[i] * ((yi > 0 ? yi * std::log(yi) : 0.0) - yi);
        else if (dist == Dist::Binomial)
            k += wt[i] * ((yi > 0 ? yi * std::log(yi) : 0.0) + (yi < 1 ? (1.0 - yi) * std::log1p(-yi) : 0.0));
    }
    return k;
}

ArrayXd Family::variance(const ArrayXd& mu) const {
    switch (dist) {
        case Dist::Gaussian: return ArrayXd::Ones(mu.size());
        case Dist::Poisson: return mu;
        case Dist::Binomial: return mu * (1.0 - mu);
        case Dist::Gamma: return mu.square();
        case Dist::InverseGaussian: return mu.cube();
        case Dist::NegativeBinomial: return mu + mu.square() / theta;
    }
    return mu;
}

ArrayXd Family::mu_eta2(const ArrayXd& eta) const {
    switch (link) {
        case Link::Identity: return ArrayXd::Zero(eta.size());
        case Link::Log: return eta.exp();
        case Link::Logit: {
            const ArrayXd mu = linkinv(eta);
            return mu * (1.0 - mu) * (1.0 - 2.0 * mu);
        }
        case Link::Probit: return eta.unaryExpr([](double e) { return -e * norm_pdf(e); });
        case Link::Cloglog:
            return eta.unaryExpr([](double e) {
                const double ee = std::exp(std::min(e, 700.0));
                return ee * std::exp(-ee) * (1.0 - ee);
            });
        case Link::Cauchit:
            return eta.unaryExpr([](double e) { return -2.0 * e / (M_PI * (1 + e * e) * (1 + e * e)); });
        case Link::Inverse: return 2.0 * eta.cube().inverse();
        case Link::Sqrt: return ArrayXd::Constant(eta.size(), 2.0);
        case Link::InverseSquare: return 0.75 * eta.pow(-2.5);
    }
    return eta;
}

ArrayXd Family::variance_deriv(const ArrayXd& mu) const {
    switch (dist) {
        case Dist::Gaussian: return ArrayXd::Zero(mu.size());
        case Dist::Poisson: return ArrayXd::Ones(mu.size());
        case Dist::Binomial: return 1.0 - 2.0 * mu;
        case Dist::Gamma: return 2.0 * mu;
        case Dist::InverseGaussian: return 3.0 * mu.square();
        case Dist::NegativeBinomial: return 1.0 + 2.0 * mu / theta;
    }
    return mu;
}

ArrayXd Family::observed_weights(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt) const {
    const ArrayXd mu = linkinv(eta), me = mu_eta(eta), v = variance(mu);
    return wt * (me.square() / v - (y - mu) * (mu_eta2(eta) / v - me.square() * variance_deriv(mu) / v.square()));
}

MeanTerms Family::mean_terms_at_eta(double eta) const {
    MeanTerms m;
    if (dist == Dist::Binomial) {
        m.admissible = binomial_log_probs(link, eta, &m.log_mu, &m.log1m_mu);
        return m;
    }
    switch (link) {
        case Link::Identity: m.mu = eta; m.log_mu = std::log(eta); m.inv_mu = 1.0 / eta; break;
        case Link::Log:
            // 1/mu by a division where mu is a normal number (cheaper than a second exp, within an ulp)
            m.mu = std::exp(eta); m.log_mu = eta;
            m.inv_mu = std::isnormal(m.mu) ? 1.0 / m.mu : std::exp(-eta);
            break;
        case Link::Inverse: m.mu = 1.0 / eta; m.log_mu = -std::log(eta); m.inv_mu = eta; break;
        case Link::Sqrt: m.mu = eta * eta; m.log_mu = 2.0 * std::log(std::abs(eta)); m.inv_mu = 1.0 / (eta * eta); break;
        case Link::InverseSquare:
            m.mu = 1.0 / std::sqrt(eta); m.log_mu = -0.5 * std::log(eta); m.inv_mu = std::sqrt(eta);
            break;
        default: throw std::logic_error("not a link of this distribution");
    }
    // NaN (e.g. 1/mu^2 at eta < 0) fails both comparisons: not admissible.
    if (dist == Dist::Poisson || dist == Dist::NegativeBinomial) m.admissible = m.mu >= 0;
    else if (positive_mean(dist)) m.admissible = m.mu > 0;
    return m;
}

MeanTerms Family::mean_terms_at_mu(double mu) const {
    MeanTerms m;
    m.mu = mu;
    m.log_mu = std::log(mu);
    if (dist == Dist::Binomial) {
        m.log1m_mu = std::log1p(-mu);
        m.admissible = mu >= 0 && mu <= 1;
        return m;
    }
    m.inv_mu = 1.0 / mu;
    if (dist == Dist::Poisson || dist == Dist::NegativeBinomial) m.admissible = mu >= 0;
    else if (positive_mean(dist)) m.admissible = mu > 0;
    return m;
}

ArrayXd Family::dev_resid(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt) const {
    ArrayXd d(y.size());
    for (Eigen::Index i = 0; i < y.size(); ++i) d[i] = unit_deviance(*this, y[i], mean_terms_at_mu(mu[i]), wt[i]);
    return d;
}

ArrayXd Family::dev_resid_eta(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt) const {
    ArrayXd d(y.size());
    for (Eigen::Index i = 0; i < y.size(); ++i)
        d[i] = unit_deviance(*this, y[i], mean_terms_at_eta(eta[i]), wt[i]);
    return d;
}

double Family::loglik(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt, double dispersion) const {
    double ll = 0.0;
    for (Eigen::Index i = 0; i < y.size(); ++i)
        ll += unit_log_density(*this, y[i], mean_terms_at_mu(mu[i]), wt[i], dispersion);
    return ll;
}

ArrayXd Family::log_density(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt, double dispersion) const {
    ArrayXd ld(y.size());
    for (Eigen::Index i = 0; i < y.size(); ++i)
        ld[i] = unit_log_density(*this, y[i], mean_terms_at_eta(eta[i]), wt[i], dispersion);
    return ld;
}

ArrayXd Family::mustart(const ArrayXd& y, const ArrayXd& wt) const {
    switch (dist) {
        case Dist::Gaussian: return y;
        case Dist::Poisson: return y + 0.1;
        case Dist::Binomial: return (wt * y + 0.5) / (wt + 1.0);
        case Dist::Gamma:
        case Dist::InverseGaussian: return y;
        case Dist::NegativeBinomial: return y + (y == 0).cast<double>() / 6.0;
    }
    return y;
}

bool Family::valid_eta(const ArrayXd& eta) const {
    if (!eta.allFinite()) return false;
    if (dist == Dist::Binomial && link == Link::Log) return (eta < 0).all();
    if (link == Link::Log || link == Link::Logit || link == Link::Probit || link == Link::Cloglog ||
        link == Link::Cauchit)
        return true;
    // sqrt: mu = eta^2 is a valid mean for any eta (lme4's PIRLS does not
    // restrict it either; R's glm.fit does, via valideta).
    if (link == Link::Sqrt) return (eta != 0).all();
    // identity, inverse, 1/mu^2: mu > 0 needs eta > 0 where the mean
    // must be positive (and 1/mu^2 always); the gaussian inverse link only eta != 0.
    if (positive_mean(dist) || link == Link::InverseSquare) return (eta > 0).all();
    if (link == Link::Inverse) return (eta != 0).all();
    return true;
}

}  // namespace glmmfast
