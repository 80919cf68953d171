// link.hpp — link functions as objects.
//
// Interface: `Link` (stateless; one class per link in links.cpp, made by
// name in registry.cpp) works on whole vectors:
//   linkfun  eta = g(mu)                      (R's family$linkfun)
//   linkinv  mu = g^{-1}(eta), clamped inside the range as R's families
//            clamp it (only to protect the IRLS weights)
//   mu_eta   dmu/deta (R's mu.eta, floored as R's), and given mu as well,
//            free for the log and logit links
//   mu_eta2  d^2 mu / d eta^2 (for the observed information)
//   mu_eta3  d^3 mu / d eta^3 (for the information's eta-derivative, which
//            the exact Laplace gradient needs); both given mu as well, free
//            for the log link above its clamp
//   mu_eta_derivatives  mu_eta, mu_eta2 and (optionally) mu_eta3 given mu in
//            one pass, bit-identical to the three calls: the cloglog and
//            probit links share their transcendental functions between them
//   valid_eta  eta finite and inside the link's domain for a mean range
//   scale_means / probabilities   the exact MeanTerms of a block from eta
//            (no clamp: mean_terms.hpp), for means on a scale (mu, log mu,
//            1/mu) or for probabilities (log mu, log(1 - mu)).
// Links that give no probability (identity, inverse, sqrt, 1/mu^2) or no
// scale mean (logit, probit, cloglog, cauchit) throw std::logic_error there;
// a Family only pairs a distribution with a link it lists.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <string>

#include "family/mean_terms.hpp"

namespace glmmfast {

using ArrayXd = Eigen::ArrayXd;
using ConstArrayRef = Eigen::Ref<const Eigen::ArrayXd>;

class Link {
public:
    virtual ~Link() = default;
    virtual const char* name() const = 0;

    virtual ArrayXd linkfun(const ArrayXd& mu) const = 0;
    virtual ArrayXd linkinv(const ArrayXd& eta) const = 0;
    virtual ArrayXd mu_eta(const ArrayXd& eta) const = 0;
    virtual ArrayXd mu_eta(const ArrayXd& eta, const ArrayXd& mu) const { (void)mu; return mu_eta(eta); }
    virtual ArrayXd mu_eta2(const ArrayXd& eta) const = 0;
    virtual ArrayXd mu_eta2(const ArrayXd& eta, const ArrayXd& mu) const { (void)mu; return mu_eta2(eta); }
    virtual ArrayXd mu_eta3(const ArrayXd& eta) const = 0;
    virtual ArrayXd mu_eta3(const ArrayXd& eta, const ArrayXd& mu) const { (void)mu; return mu_eta3(eta); }
    // me = mu_eta(eta, mu), me2 = mu_eta2(eta, mu) and, where me3 is not null,
    // *me3 = mu_eta3(eta, mu) (mu = linkinv(eta)); the default makes the three calls.
    virtual void mu_eta_derivatives(const ArrayXd& eta, const ArrayXd& mu, ArrayXd& me, ArrayXd& me2,
                                    ArrayXd* me3) const;
    // eta is finite (checked by Family::valid_eta) and inside the domain
    // where the mean lies in range r.
    virtual bool valid_eta(const ArrayXd& eta, MeanRange r) const = 0;
    // Whether log mu = eta exactly and linkinv(eta) = max(e^eta, eps) (the
    // log link): a kernel may then skip the MeanTerms and fuse its loop.
    virtual bool log_mean_is_eta() const { return false; }

    // Block of eta -> mu (always), log mu (kLogMu), 1/mu (kInvMu) and
    // admissible_mean(r, mu).  `mu` (null or the block of linkinv(eta))
    // may be reused where it is exact (the log link above its clamp).
    virtual void scale_means(const ConstArrayRef& eta, const double* mu, MeanRange r, unsigned needed,
                             MeanTerms& out) const;
    // Block of eta -> log mu and log(1 - mu) of a probability, log mu only
    // where y (null: everywhere) is > 0 and log(1 - mu) only where y < 1;
    // admissible where eta gives a probability (the log link: eta <= 0).
    // `mu` (null or linkinv(eta)) may be reused where exact (the logit
    // inside R's clamp |eta| <= 30).
    virtual void probabilities(const ConstArrayRef& eta, const double* mu, const double* y, MeanTerms& out) const;
};

}  // namespace glmmfast

namespace glmmfast {

// The links by R's names ("identity", "log", "logit", "probit", "cloglog",
// "cauchit", "inverse", "sqrt", "1/mu^2"): the table is in links.cpp.
// make_link throws std::invalid_argument("unknown link '<name>'").
std::shared_ptr<const Link> make_link(const std::string& name);

}  // namespace glmmfast
