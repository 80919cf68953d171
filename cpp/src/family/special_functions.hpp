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
double tetragamma(double x);

}  // namespace glmmfast
