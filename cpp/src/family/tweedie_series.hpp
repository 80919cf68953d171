// tweedie_series.hpp — the normalising term of the Tweedie density with
// power 1 < p < 2 (compound Poisson-Gamma), by the series of Dunn & Smyth
// (2005, Statistics and Computing 15, 267-280), and its derivatives in the
// dispersion phi and the power p.
//
// For y > 0 the density is f(y) = a(y, phi, p) exp[(y theta - kappa) / phi]
// (theta = mu^(1-p) / (1-p), kappa = mu^(2-p) / (2-p)) with
//   a = (1 / y) sum_{j >= 1} W_j,
//   log W_j = j log z - lgamma(j + 1) - lgamma(j r),
//   r = (2 - p) / (p - 1),
//   log z = r log y - r log(p - 1) - (1 + r) log phi - log(2 - p),
// which does not depend on mu.  log W_j is concave in j, so the sum is
// taken outward from j* = y^(2-p) / (phi (2 - p)) (the largest term to O(1))
// in both directions until a term is below the largest by kTweedieCutoff
// (e^-40: below double rounding of the sum), in log space.  The window's
// work is bounded whatever j* (Dunn & Smyth's e^-37 window around j_max):
// the terms' width there is sigma = [psi'(j* + 1) + r^2 psi'(j* r)]^(-1/2)
// (-d^2 log W / dj^2 = 1 / sigma^2), so up to sigma = 16 the window holds
// at most ~2 sqrt(80) sigma ~ 290 terms, summed one by one; a wider peak
// is summed as the integral of W(j) over real j by the trapezoid rule of
// step h = sigma / 4,
//   sum_j W_j = integral W(j) dj (1 + O(e^(-2 pi^2 sigma^2)))   (Poisson summation),
//   integral W(j) dj = h sum_k W(j* + k h) (1 + O(e^(-2 pi^2 (sigma / h)^2))),
// ~70 nodes at any j* (the sum over the integers is the same rule with h = 1),
// the moments below likewise, with log W(j* + d) - log W(j*) from
// log_gamma_ratio (accurate where log W(j*) itself is ~ j* (1 + r)).
// (glmmTMB's dtweedie, TMB's port of cplm's, sums the integer terms of the
// e^-37 window capped at 20,000 of them.)
//
// Derivatives, as moments of j under the weights W_j / sum W:
//   d log a / d phi   = -(1 + r) E[j] / phi,
//   d^2 log a / d phi^2 = (1 + r) E[j] / phi^2 + (1 + r)^2 Var[j] / phi^2,
// and with g_j = d log W_j / dp, h_j = d^2 log W_j / dp^2
// (r' = -1 / (p-1)^2, r'' = 2 / (p-1)^3, L = log y - log(p-1) - log phi,
//  c' = r' L - r / (p-1) + 1 / (2-p),
//  c'' = r'' L - 2 r' / (p-1) + r / (p-1)^2 + 1 / (2-p)^2):
//   g_j = j c' - j r' psi(j r),   h_j = j c'' - j r'' psi(j r) - j^2 r'^2 psi'(j r),
//   d log a / dp = E[g],   d^2 log a / dp^2 = E[h] + Var[g].
// All analytic; nothing here knows about means, links or models.
//
// Interface:
//   tweedie_log_a_phi(y, phi, p)           log a(y, phi, p) for y > 0 (the
//                                          -log y included) with the mean and
//                                          variance of j (its phi-derivatives)
//   tweedie_log_a_derivatives(y, phi, p)   log a and its first and second
//                                          derivatives in phi and in p
#pragma once

namespace glmmfast {

struct TweedieLogA {
    double value = 0.0;
    double d_phi = 0.0, d2_phi = 0.0;
    double d_power = 0.0, d2_power = 0.0;
};

struct TweedieLogAPhi {
    double value = 0.0;
    double mean_j = 0.0, var_j = 0.0;  // E[j], Var[j] under the weights W_j / sum W
};

TweedieLogAPhi tweedie_log_a_phi(double y, double phi, double p);
TweedieLogA tweedie_log_a_derivatives(double y, double phi, double p);

}  // namespace glmmfast
