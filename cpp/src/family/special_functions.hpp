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
//   log_gamma_ratio(x, a, b)   log Gamma(x + a) - log Gamma(x + b) for
//                        x + a, x + b > 0, accurate when x is large (the
//                        beta-binomial's many trials): with z = x + b >= 10
//                        and d = a - b, Stirling's series gives
//                        (z + d - 1/2) log1p(d / z) + d (log z - 1) + S(z + d) - S(z),
//                        S(z) = sum_k B_2k / (2k (2k - 1) z^(2k - 1)), no
//                        cancellation between two huge lgamma values
//   log_factorial(n)     log n! = lgamma(n + 1) for an integer n >= 0, from a
//                        table (std::lgamma's own values) below 1024: the
//                        Tweedie series' j! at every term
// Nothing here knows about families.
#pragma once

namespace glmmfast {

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
double log_factorial(double n);

}  // namespace glmmfast
