// family.hpp — exponential-family distributions and link functions.
//
// Interface: `Family` (a distribution plus a link) evaluates, element-wise
// over Eigen arrays, everything PIRLS and the deviance need:
//   linkinv (mu = g^{-1}(eta)), mu_eta (dmu/deta), variance V(mu),
//   dev_resid (unit deviances times prior weights) and
//   loglik (the family's log density, with normalising constants, so that
//   -2 log L matches R's family$aic() and hence lme4's and glmmTMB's logLik).
// linkinv and mu_eta clamp mu inside the range as R's families do: that
// only protects the IRLS weights.  What is summed into a log-likelihood or
// deviance the optimiser sees (log_density, dev_resid_eta, loglik_kernel)
// is computed from eta itself, with no clamp (e.g. logit log mu =
// -log1p(e^-eta)), so that it never exceeds the true log density: a clamped
// mu made log(1 - mu) = log mu - eta positive beyond eta = -30, rewarding
// separated fits for driving beta to infinity.
// Distributions: gaussian, binomial, poisson, Gamma, inverse Gaussian and
// the negative binomial (NB2, variance mu + mu^2/theta, with `theta` a
// member so the outer optimiser can move it).  The constructor rejects a
// link the distribution cannot take.
// Nothing here knows about models, formulas or Python.
#pragma once

#include <Eigen/Core>
#include <string>

namespace glmmfast {

enum class Dist { Gaussian = 0, Binomial = 1, Poisson = 2, Gamma = 3, InverseGaussian = 4, NegativeBinomial = 5 };
enum class Link { Identity = 0, Log = 1, Logit = 2, Probit = 3, Cloglog = 4, Cauchit = 5, Inverse = 6, Sqrt = 7, InverseSquare = 8 };

using ArrayXd = Eigen::ArrayXd;

// The mean at one observation in the forms the log densities use, each
// computed directly from eta (Family::mean_terms_at_eta) or from a given mu
// (Family::mean_terms_at_mu).  For the binomial only log_mu and log1m_mu
// (log(1 - mu)) are set; for the others mu, log_mu and inv_mu (1 / mu).
// `admissible` is false when the mean is outside the distribution's range
// (mu < 0, or mu <= 0 where the density needs mu > 0; mu > 1 for the
// binomial): the log density there is -inf.
struct MeanTerms {
    double mu = 0, log_mu = 0, inv_mu = 0, log1m_mu = 0;
    bool admissible = true;
};

struct Family {
    Dist dist;
    Link link;
    // Negative-binomial shape (unused by the other distributions).
    double theta = 1.0;

    Family(Dist d, Link l, double theta = 1.0);

    ArrayXd linkfun(const ArrayXd& mu) const;
    ArrayXd linkinv(const ArrayXd& eta) const;
    ArrayXd mu_eta(const ArrayXd& eta) const;
    ArrayXd variance(const ArrayXd& mu) const;
    // d^2 mu / d eta^2 and dV/dmu, for the observed information.
    ArrayXd mu_eta2(const ArrayXd& eta) const;
    ArrayXd variance_deriv(const ArrayXd& mu) const;
    // Observed information weights -d^2 log f / d eta^2 (times phi), i.e.
    // pw [mu_eta^2 / V - (y - mu)(mu_eta2 / V - mu_eta^2 V' / V^2)], since
    // d log f / d mu = pw (y - mu) / (phi V) for every family here.
    ArrayXd observed_weights(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt) const;
    // Prior-weighted unit deviances d_i = w_i * 2 [l(y;y) - l(y;mu)], from
    // a given mu (R's family$dev.resids) or computed from eta exactly.
    ArrayXd dev_resid(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt) const;
    ArrayXd dev_resid_eta(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt) const;
    // Prior-weighted log density of each observation (the terms `loglik`
    // sums), computed from eta exactly; -inf where eta gives no admissible mean.
    ArrayXd log_density(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt, double dispersion) const;
    MeanTerms mean_terms_at_eta(double eta) const;
    MeanTerms mean_terms_at_mu(double mu) const;
    // Sum of prior-weighted log densities.  For the binomial, y is the
    // proportion and wt the number of trials (R's convention), so the
    // binomial coefficient enters; `dispersion` is phi: sigma^2 for the
    // gaussian (variance phi / wt), the squared coefficient of variation for
    // the Gamma (log density times wt, as R's Gamma()$aic), phi in
    // Var = phi mu^3 for the inverse Gaussian (log density times wt).
    double loglik(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt,
                  double dispersion) const;
    // dmu/deta given mu as well: free for the log and logit links.
    ArrayXd mu_eta(const ArrayXd& eta, const ArrayXd& mu) const;

    // Fast path for the inner loop.  For families with a "kernel" (the
    // log density without its data-only constant), PIRLS needs per
    // evaluation only
    //   loglik = constant(y, wt) + kernel(y, mu, eta, wt),
    //   deviance = 2 [kernel(y, y) - kernel(y, mu)].
    // The kernel is computed from eta (mu = linkinv(eta) only saves work
    // where it is exact): one log per observation for the logit inside
    // |eta| <= 30 (R's clamp), none for poisson-log (log mu = eta, mu = e^eta).
    bool has_kernel() const { return dist == Dist::Poisson || dist == Dist::Binomial; }
    double loglik_kernel(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& eta, const ArrayXd& wt) const;
    double loglik_constant(const ArrayXd& y, const ArrayXd& wt) const;
    double saturated_kernel(const ArrayXd& y, const ArrayXd& wt) const;

    // Starting mu for IRLS, as R's family$initialize does.
    ArrayXd mustart(const ArrayXd& y, const ArrayXd& wt) const;
    // Whether eta is inside the link's domain for this distribution (mu > 0
    // where the distribution needs it).
    bool valid_eta(const ArrayXd& eta) const;
    bool canonical() const;
};

}  // namespace glmmfast
