// special_functions.cpp — see special_functions.hpp.
#include "family/special_functions.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace glmmfast {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

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
}  // namespace

const std::array<double, kLogFactorialTableSize> kLogFactorialTable = [] {
    std::array<double, kLogFactorialTableSize> table{};
    for (int k = 0; k < kLogFactorialTableSize; ++k) table[k] = std::lgamma(k + 1.0);
    return table;
}();

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
    if (p <= 0) return -kInf;
    if (p >= 1) return kInf;
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

double log_add_exp(double a, double b) {
    const double m = std::max(a, b);
    if (m == -kInf) return -kInf;
    return m + std::log1p(std::exp(-std::abs(a - b)));
}

// expm1 while e^-a is near 1, log1p once it is below 1/2.
double log1mexp(double a) { return a <= M_LN2 ? std::log(-std::expm1(-a)) : std::log1p(-std::exp(-a)); }

// log1p(-Q(x)) in the upper tail, log Q(-x) while Phi(x) is a normal
// number, and below x = -30 the asymptotic expansion (Abramowitz & Stegun
// 26.2.12)
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

// F(x) = 1/2 + atan(x)/pi; since atan(x) + atan(1/x) = sgn(x) pi/2,
// F(x) = atan(-1/x)/pi for x < 0 and 1 - atan(1/x)/pi for x > 0: no
// cancellation in either tail.
double log_cauchy_cdf(double x) {
    if (x < -1) return std::log(std::atan(-1.0 / x)) - std::log(M_PI);
    if (x > 1) return std::log1p(-std::atan(1.0 / x) / M_PI);
    return std::log(0.5 + std::atan(x) / M_PI);
}

namespace {

// The asymptotic series of psi, psi' and psi'' for x >= 10, each accurate to ~1e-16 there
// (Abramowitz & Stegun 6.3.18, 6.4.12 and the latter's derivative):
//     psi(x)   ~ log x - 1/(2x) - 1/(12x^2) + 1/(120x^4) - 1/(252x^6) + 1/(240x^8) - 1/(132x^10),
//     psi'(x)  ~ 1/x + 1/(2x^2) + 1/(6x^3) - 1/(30x^5) + 1/(42x^7) - 1/(30x^9) + 5/(66x^11),
//     psi''(x) ~ -1/x^2 - 1/x^3 - 1/(2x^4) + 1/(6x^6) - 1/(6x^8) + 3/(10x^10) - 5/(6x^12).
double digamma_series(double x) {
    const double r = 1.0 / (x * x);
    return std::log(x) - 0.5 / x - r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r / 132))));
}
double trigamma_series(double x) {
    const double r = 1.0 / (x * x);
    return 1.0 / x + 0.5 * r + r / x * (1.0 / 6 - r * (1.0 / 30 - r * (1.0 / 42 - r * (1.0 / 30 - r * 5.0 / 66))));
}
double tetragamma_series(double x) {
    const double r = 1.0 / (x * x);
    return -r - r / x - r * r * (0.5 - r * (1.0 / 6 - r * (1.0 / 6 - r * (3.0 / 10 - r * 5.0 / 6))));
}

}  // namespace

// Below 10 the recurrences psi(x) = psi(x + 1) - 1/x, psi'(x) = psi'(x + 1) + 1/x^2 and
// psi''(x) = psi''(x + 1) - 2/x^3 move x to the series.
double digamma(double x) {
    if (!(x > 0)) return std::numeric_limits<double>::quiet_NaN();
    double shift = 0.0;
    while (x < 10) shift -= 1.0 / x++;
    return shift + digamma_series(x);
}

double trigamma(double x) {
    if (!(x > 0)) return std::numeric_limits<double>::quiet_NaN();
    double shift = 0.0;
    while (x < 10) {
        shift += 1.0 / (x * x);
        x += 1.0;
    }
    return shift + trigamma_series(x);
}

double tetragamma(double x) {
    if (!(x > 0)) return std::numeric_limits<double>::quiet_NaN();
    double shift = 0.0;
    while (x < 10) {
        shift -= 2.0 / (x * x * x);
        x += 1.0;
    }
    return shift + tetragamma_series(x);
}

Polygammas polygammas(double x, int highest_order) {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    if (!(x > 0)) return {nan, nan, nan};
    double shift0 = 0.0, shift1 = 0.0, shift2 = 0.0;
    while (x < 10) {
        const double inv = 1.0 / x, inv2 = inv * inv;
        shift0 -= inv;
        shift1 += inv2;
        shift2 -= 2.0 * inv2 * inv;
        x += 1.0;
    }
    return {shift0 + digamma_series(x), shift1 + trigamma_series(x),
            highest_order >= 2 ? shift2 + tetragamma_series(x) : 0.0};
}

// By psi(x + 1) = psi(x) + 1/x, psi'(x + 1) = psi'(x) - 1/x^2, psi''(x + 1) = psi''(x) + 2/x^3:
//   psi(x + c) - psi(x) = sum_{j<c} 1/(x + j),   psi'(x + c) - psi'(x) = -sum_{j<c} 1/(x + j)^2,
//   psi''(x + c) - psi''(x) = sum_{j<c} 2/(x + j)^3.
Polygammas polygamma_differences(double x, double count, int highest_order) {
    if (count < kShiftSumLimit && count == std::floor(count) && x > 0) {
        double s0 = 0.0, s1 = 0.0, s2 = 0.0;
        for (double j = 0.0; j < count; j += 1.0) {
            const double inv = 1.0 / (x + j), inv2 = inv * inv;
            s0 += inv;
            s1 -= inv2;
            s2 += 2.0 * inv2 * inv;
        }
        return {s0, s1, highest_order >= 2 ? s2 : 0.0};
    }
    const Polygammas up = polygammas(x + count, highest_order), at = polygammas(x, highest_order);
    return {up.psi - at.psi, up.psi1 - at.psi1, up.psi2 - at.psi2};
}

namespace {

// Stirling's correction log Gamma(z) - [(z - 1/2) log z - z + log(2 pi) / 2]
// for z >= 10 (terms to B_12: error below 1e-17 there).
double stirling_correction(double z) {
    const double r = 1.0 / z, r2 = r * r;
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 * (1.0 / 1188 -
                r2 * (691.0 / 360360))))));
}

}  // namespace

double log_gamma_ratio(double x, double a, double b) {
    const double za = x + a, zb = x + b;
    if (!(za > 0 && zb > 0)) return std::numeric_limits<double>::quiet_NaN();
    if (std::min(za, zb) < 10) return std::lgamma(za) - std::lgamma(zb);
    // (za - 1/2) log za - za - [(zb - 1/2) log zb - zb] with za = zb + d
    const double d = a - b;
    return (za - 0.5) * std::log1p(d / zb) + d * (std::log(zb) - 1.0) + stirling_correction(za) -
           stirling_correction(zb);
}

}  // namespace glmmfast
