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

// Distributions whose mean must be positive (R's validmu).
bool positive_mean(Dist d) {
    return d == Dist::Poisson || d == Dist::Gamma || d == Dist::InverseGaussian || d == Dist::NegativeBinomial;
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
        case Dist::Gamma:
            // R: -2 wt (log(ifelse(y == 0, 1, y/mu)) - (y - mu)/mu)
            for (Eigen::Index i = 0; i < n; ++i)
                d[i] = -2.0 * wt[i] * ((y[i] == 0 ? 0.0 : std::log(y[i] / mu[i])) - (y[i] - mu[i]) / mu[i]);
            break;
        case Dist::InverseGaussian:
            d = wt * (y - mu).square() / (y * mu.square());
            break;
        case Dist::NegativeBinomial:
            // MASS: 2 wt (y log(pmax(1, y)/mu) - (y + theta) log((y + theta)/(mu + theta)))
            for (Eigen::Index i = 0; i < n; ++i)
                d[i] = 2.0 * wt[i] *
                       (y[i] * std::log(std::max(1.0, y[i]) / mu[i]) -
                        (y[i] + theta) * std::log((y[i] + theta) / (mu[i] + theta)));
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
        case Dist::Gamma: {
            // R: Gamma()$aic, sum(wt * dgamma(y, 1/phi, scale = mu phi, log = TRUE)).
            const double shape = 1.0 / dispersion;
            for (Eigen::Index i = 0; i < n; ++i) {
                if (wt[i] == 0) continue;
                const double scale = mu[i] * dispersion;
                ll += wt[i] * (-std::lgamma(shape) - shape * std::log(scale) + (shape - 1.0) * std::log(y[i]) -
                               y[i] / scale);
            }
            break;
        }
        case Dist::InverseGaussian:
            // log density -1/2 log(2 pi phi y^3) - (y - mu)^2 / (2 phi mu^2 y), times wt
            // (at phi = dev/sum(wt) this is R's inverse.gaussian()$aic).
            for (Eigen::Index i = 0; i < n; ++i) {
                if (wt[i] == 0) continue;
                const double r = y[i] - mu[i];
                ll += wt[i] * (-0.5 * std::log(2 * M_PI * dispersion * y[i] * y[i] * y[i]) -
                               r * r / (2 * dispersion * mu[i] * mu[i] * y[i]));
            }
            break;
        case Dist::NegativeBinomial:
            // MASS negative.binomial()$aic, term by term.
            for (Eigen::Index i = 0; i < n; ++i) {
                if (wt[i] == 0) continue;
                const double yi = y[i];
                ll += wt[i] * (std::lgamma(theta + yi) - std::lgamma(theta) - std::lgamma(yi + 1) +
                               theta * std::log(theta) + yi * std::log(mu[i] + (yi == 0 ? 1.0 : 0.0)) -
                               (theta + yi) * std::log(theta + mu[i]));
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
