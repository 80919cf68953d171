// special_functions.hpp — scalar special functions the distributions and
// links need, each accurate to a few ulps over the whole real line where
// the naive formula is not (tails of log cdfs, log(1 - e^-a), ...).
//
// Interface (all free functions of double):
//   norm_cdf, norm_pdf, norm_quantile   the standard normal
//   log_norm_cdf(x)      log Phi(x), full relative precision for every x
//   log_cauchy_cdf(x)    log F(x) of the standard Cauchy
//   log_add_exp(a, b)    log(e^a + e^b) without overflow
//   log1mexp(a)          log(1 - e^-a), a >= 0 (Maechler 2012)
//   digamma, trigamma, tetragamma   psi(x), psi'(x) and psi''(x) for x > 0
//                        (the NB and Gamma parameter derivatives, nbinom1's
//                        third derivative in mu)
//   polygammas(x, order) psi(x), psi'(x) and (order 2) psi''(x) together, by one
//                        shared recurrence loop (one division per step): a
//                        family needing several orders at one x (the beta's
//                        score, information and its eta-derivative)
//   polygamma_differences(x, count, order)   psi^(m)(x + count) - psi^(m)(x),
//                        m = 0, 1 (and 2): for an integer count below
//                        kShiftSumLimit the recurrences' sums over the shifts
//                        (count divisions, no cancellation), else polygammas'
//                        differences (the beta-binomial's successes and failures)
//   log_gamma_ratio(x, a, b)   log Gamma(x + a) - log Gamma(x + b) for
//                        x + a, x + b > 0, accurate when x is large (the
//                        beta-binomial's many trials): with z = x + b >= 10
//                        and d = a - b, Stirling's series gives
//                        (z + d - 1/2) log1p(d / z) + d (log z - 1) + S(z + d) - S(z),
//                        S(z) = sum_k B_2k / (2k (2k - 1) z^(2k - 1)), no
//                        cancellation between two huge lgamma values
//   log_factorial(y)     log y! = lgamma(y + 1), the count densities' term of
//                        y alone, which every PIRLS iteration recomputed, and
//                        the Tweedie series' j! at every term: for integer
//                        0 <= y < kLogFactorialTableSize a table of
//                        std::lgamma's own values (filled once at load, so
//                        bitwise the same), std::lgamma elsewhere
// Nothing here knows about families.
#pragma once

#include <array>
#include <cmath>

namespace glmmfast {

constexpr int kLogFactorialTableSize = 1024;
// lgamma(k + 1) for k = 0 .. kLogFactorialTableSize - 1 (special_functions.cpp).
extern const std::array<double, kLogFactorialTableSize> kLogFactorialTable;

inline double log_factorial(double y) {
    if (y >= 0 && y < kLogFactorialTableSize) {
        const int k = static_cast<int>(y);
        if (k == y) return kLogFactorialTable[k];
    }
    return std::lgamma(y + 1.0);
}

double norm_cdf(double x);
double norm_pdf(double x);
double norm_quantile(double p);
double log_norm_cdf(double x);
double log_cauchy_cdf(double x);
double log_add_exp(double a, double b);
double log1mexp(double a);
double digamma(double x);
double trigamma(double x);
double log_gamma_ratio(double x, double a, double b);
double tetragamma(double x);
struct Polygammas {
    double psi, psi1, psi2;  // psi(x), psi'(x), psi''(x) (0 below highest_order 2)
};
Polygammas polygammas(double x, int highest_order);
// Below this integer count polygamma_differences sums over the shifts.
constexpr double kShiftSumLimit = 40.0;
Polygammas polygamma_differences(double x, double count, int highest_order);

}  // namespace glmmfast
