// compois_series.hpp — the Conway-Maxwell-Poisson normalising constant and
// cumulants, and the mean-to-lambda inversion (compois.cpp's engine).
//
// With x = log lambda, nu > 0, g_j = log j! and T_j = exp(j x - nu g_j),
//   Z(lambda, nu) = sum_{j >= 0} T_j,
// and log Z is the cumulant generating function of (Y, G = log Y!) in the
// natural parameters (x, -nu): dlogZ/dx = E Y, d^2 logZ/dx^2 = Var Y, ...
//
// compois_cumulants(x, nu): log Z and the cumulants of (Y, G) up to third
// order, from one log-sum-exp pass around the mode m = floor(lambda^(1/nu))
// (T_j / T_{j-1} = lambda / j^nu is decreasing in j, so T_m is the largest
// term).  Each side stops once the rest is provably below 1e-17 of the sum:
// past term j the ratios keep falling, so the tail is at most
// T_j rho / (1 - rho) with rho the next ratio (a geometric bound).  Central
// moments are taken in a second pass over the stored terms (no cancellation
// of raw moments).  The work is O(sqrt(lambda^(1/nu) / nu)) terms.
//
// compois_at_mean(mu, nu): x with E Y = mu by Newton on log E Y(x) - log mu
// (derivative Var Y / E Y), started at nu log(mu + (nu - 1) / (2 nu)) (the
// large-mean approximation E Y ~ lambda^(1/nu) - (nu - 1) / (2 nu)) or
// log mu for small means; returns x and the cumulants there.  Solutions are
// cached per thread (8192 slots keyed on the exact (mu, nu)): the log
// density, score and information of an observation reuse one inversion.
#pragma once

namespace glmmfast {

struct CompoisCumulants {
    double log_z = 0.0;
    double mean = 0.0, var = 0.0, k3 = 0.0;  // of Y: E Y, Var Y, E (Y - E Y)^3
    double mean_g = 0.0;                      // E G, G = log Y!
    double c_yg = 0.0, c_gg = 0.0;            // Cov(Y, G), Var G
    double c_yyg = 0.0, c_ygg = 0.0, c_ggg = 0.0;  // third mixed central moments
};

CompoisCumulants compois_cumulants(double log_lambda, double nu);

struct CompoisAtMean {
    double log_lambda;
    CompoisCumulants k;
};

CompoisAtMean compois_at_mean(double mu, double nu);

}  // namespace glmmfast
