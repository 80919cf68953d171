// family.hpp — exponential-family distributions and link functions.
//
// Interface: `Family` (a distribution plus a link) evaluates, element-wise
// over Eigen arrays, everything PIRLS and the deviance need:
//   linkinv (mu = g^{-1}(eta)), mu_eta (dmu/deta), variance V(mu),
//   dev_resid (unit deviances times prior weights) and
//   loglik (the family's log density, with normalising constants, so that
//   -2 log L matches R's family$aic() and hence lme4's logLik).
// Nothing here knows about models, formulas or Python.
#pragma once

#include <Eigen/Core>
#include <string>

namespace glmmfast {

enum class Dist { Gaussian = 0, Binomial = 1, Poisson = 2 };
enum class Link { Identity = 0, Log = 1, Logit = 2, Probit = 3, Cloglog = 4 };

using ArrayXd = Eigen::ArrayXd;

struct Family {
    Dist dist;
    Link link;

    Family(Dist d, Link l);

    ArrayXd linkfun(const ArrayXd& mu) const;
    ArrayXd linkinv(const ArrayXd& eta) const;
    ArrayXd mu_eta(const ArrayXd& eta) const;
    ArrayXd variance(const ArrayXd& mu) const;
    // Prior-weighted unit deviances d_i = w_i * 2 [l(y;y) - l(y;mu)].
    ArrayXd dev_resid(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt) const;
    // Sum of prior-weighted log densities.  For the binomial, y is the
    // proportion and wt the number of trials (R's convention), so the
    // binomial coefficient enters; `dispersion` is sigma^2 for the gaussian.
    double loglik(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt,
                  double dispersion) const;
    // dmu/deta given mu as well: free for the log and logit links.
    ArrayXd mu_eta(const ArrayXd& eta, const ArrayXd& mu) const;

    // Fast path for the inner loop.  For families with a "kernel" (the
    // log density without its data-only constant), PIRLS needs per
    // evaluation only
    //   loglik = constant(y, wt) + kernel(y, mu, eta, wt),
    //   deviance = 2 [kernel(y, y) - kernel(y, mu)],
    // and the kernel costs at most one log per observation (none for
    // poisson-log, where log mu = eta).
    bool has_kernel() const { return dist == Dist::Poisson || dist == Dist::Binomial; }
    double loglik_kernel(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& eta, const ArrayXd& wt) const;
    double loglik_constant(const ArrayXd& y, const ArrayXd& wt) const;
    double saturated_kernel(const ArrayXd& y, const ArrayXd& wt) const;

    // Starting mu for IRLS, as R's family$initialize does.
    ArrayXd mustart(const ArrayXd& y, const ArrayXd& wt) const;
    // Whether eta is inside the link's domain for this distribution.
    bool valid_eta(const ArrayXd& eta) const;
    bool canonical() const;
};

}  // namespace glmmfast
