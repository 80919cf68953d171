// family.cpp — element-wise link and distribution functions (see family.hpp).
#include "family.hpp"

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

// y log(y/mu) with the convention 0 log 0 = 0.
double ylogy_over(double y, double mu) { return y > 0 ? y * std::log(y / mu) : 0.0; }

}  // namespace

Family::Family(Dist d, Link l) : dist(d), link(l) {
    const bool ok =
        (d == Dist::Gaussian && (l == Link::Identity || l == Link::Log)) ||
        (d == Dist::Poisson && (l == Link::Log || l == Link::Identity)) ||
        (d == Dist::Binomial &&
         (l == Link::Logit || l == Link::Probit || l == Link::Cloglog || l == Link::Log));
    if (!ok) throw std::invalid_argument("link not supported for this family");
}

bool Family::canonical() const {
    return (dist == Dist::Gaussian && link == Link::Identity) ||
           (dist == Dist::Poisson && link == Link::Log) ||
           (dist == Dist::Binomial && link == Link::Logit);
}

ArrayXd Family::linkfun(const ArrayXd& mu) const {
    switch (link) {
        case Link::Identity: return mu;
        case Link::Log: return mu.log();
        case Link::Logit: return (mu / (1.0 - mu)).log();
        case Link::Probit: return mu.unaryExpr([](double m) { return norm_quantile(m); });
        case Link::Cloglog: return (-(1.0 - mu).log()).log();
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
            for (Eigen::Index i = 0; i < n; ++i) k += wt[i] * (y[i] * eta[i] - mu[i]);
        } else {
            for (Eigen::Index i = 0; i < n; ++i) k += wt[i] * ((y[i] > 0 ? y[i] * std::log(mu[i]) : 0.0) - mu[i]);
        }
    } else if (dist == Dist::Binomial) {
        // y is the proportion and wt the trials; log(1 - mu) = log(mu) - eta for the logit.
        for (Eigen::Index i = 0; i < n; ++i) {
            if (wt[i] == 0) continue;
            const double lmu = std::log(mu[i]);
            const double l1mu = link == Link::Logit ? lmu - eta[i] : std::log1p(-mu[i]);
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
    }
    return mu;
}

ArrayXd Family::dev_resid(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt) const {
    const Eigen::Index n = y.size();
    ArrayXd d(n);
    switch (dist) {
        case Dist::Gaussian:
            d = wt * (y - mu).square();
            break;
        case Dist::Poisson:
            for (Eigen::Index i = 0; i < n; ++i)
                d[i] = 2.0 * wt[i] * (ylogy_over(y[i], mu[i]) - (y[i] - mu[i]));
            break;
        case Dist::Binomial:
            for (Eigen::Index i = 0; i < n; ++i)
                d[i] = 2.0 * wt[i] *
                       (ylogy_over(y[i], mu[i]) + ylogy_over(1.0 - y[i], 1.0 - mu[i]));
            break;
    }
    return d;
}

double Family::loglik(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt,
                      double dispersion) const {
    const Eigen::Index n = y.size();
    double ll = 0.0;
    switch (dist) {
        case Dist::Gaussian: {
            // R: gaussian()$aic uses the ML dispersion; caller passes it.
            const double s2 = dispersion;
            for (Eigen::Index i = 0; i < n; ++i) {
                if (wt[i] <= 0) continue;
                const double r = y[i] - mu[i];
                ll += 0.5 * std::log(wt[i]) - 0.5 * std::log(2 * M_PI * s2) - 0.5 * wt[i] * r * r / s2;
            }
            break;
        }
        case Dist::Poisson:
            for (Eigen::Index i = 0; i < n; ++i) {
                if (wt[i] == 0) continue;
                const double yi = y[i];
                const double term = (yi > 0 ? yi * std::log(mu[i]) : 0.0) - mu[i] - std::lgamma(yi + 1.0);
                ll += wt[i] * term;
            }
            break;
        case Dist::Binomial:
            // wt = number of trials m, y = proportion: dbinom(round(m y), round(m), mu).
            for (Eigen::Index i = 0; i < n; ++i) {
                const double m = std::round(wt[i]);
                if (m <= 0) continue;
                const double k = std::round(m * y[i]);
                double term = std::lgamma(m + 1) - std::lgamma(k + 1) - std::lgamma(m - k + 1);
                if (k > 0) term += k * std::log(mu[i]);
                if (m - k > 0) term += (m - k) * std::log1p(-mu[i]);
                ll += term;
            }
            break;
    }
    return ll;
}

ArrayXd Family::mustart(const ArrayXd& y, const ArrayXd& wt) const {
    switch (dist) {
        case Dist::Gaussian: return y;
        case Dist::Poisson: return y + 0.1;
        case Dist::Binomial: return (wt * y + 0.5) / (wt + 1.0);
    }
    return y;
}

bool Family::valid_eta(const ArrayXd& eta) const {
    if (!eta.allFinite()) return false;
    if (dist == Dist::Poisson && link == Link::Identity) return (eta > 0).all();
    if (dist == Dist::Binomial && link == Link::Log) return (eta < 0).all();
    return true;
}

}  // namespace glmmfast
