// family.hpp — a GLM family: a distribution (distribution.hpp) with a link
// (link.hpp), both chosen by name from the registry.
//
// Interface: `Family` evaluates, over whole Eigen arrays, everything PIRLS,
// IRLS and the deviance need:
//   linkfun, linkinv, mu_eta, mu_eta2   the link's (clamped as R's)
//   variance V(mu), variance_deriv, mustart   the distribution's
//   observed_weights  -d^2 log f / d eta^2 (times phi)
//   unit_observation_terms   log f, its eta-derivatives (to the third) per
//                     observation, for the general observation path and the
//                     exact Laplace gradient
//   dev_resid         prior-weighted unit deviances from a given mu (R's
//                     family$dev.resids), dev_resid_eta from eta exactly
//   log_density       prior-weighted log density of each observation, from
//                     eta exactly; loglik sums them from a given mu
//   log_density_derivatives, parameter_derivatives   first and second
//                     derivatives of the log density in eta and in each
//                     family parameter (parameters(): "dispersion", "theta")
//   simulate          draws of y given mu from a seeded RNG
//   has_kernel, loglik_kernel, loglik_constant, saturated_kernel   the
//                     inner loop's fast path (distribution.hpp)
//   set_response      the model's response, whose y-only terms (log y, ...:
//                     response_terms.hpp) every later call at that y reuses;
//                     a call at another y computes its own
// linkinv and mu_eta clamp mu inside the range as R's families do: that only
// protects the IRLS weights.  What is summed into a log-likelihood or
// deviance the optimiser sees (log_density, dev_resid_eta, loglik_kernel) is
// computed from eta itself, with no clamp (e.g. logit log mu =
// -log1p(e^-eta)), so that it never exceeds the true log density: a clamped
// mu made log(1 - mu) = log mu - eta positive beyond eta = -30, rewarding
// separated fits for driving beta to infinity.
// The element-wise work runs in blocks (mean_terms.hpp): the link fills a
// block's MeanTerms, the distribution consumes them; zero prior weights give
// log density 0 and deviance 0, means outside the range -inf and +inf.
// The constructor throws std::invalid_argument for an unknown family or
// link ("unknown family 'x'", "unknown link 'x'") and for a link the
// family does not take ("link not supported for this family").
// Nothing here knows about models, formulas or Python.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <string>
#include <vector>

#include "family/distribution.hpp"
#include "family/link.hpp"
#include "family/zero_inflation.hpp"

namespace glmmfast {

class Family {
public:
    // `theta` sets the negative binomial's shape (ignored by the others).
    Family(const std::string& distribution, const std::string& link, double theta = 1.0);
    Family(const Family& other);
    Family& operator=(const Family& other);
    Family(Family&&) noexcept = default;
    Family& operator=(Family&&) noexcept = default;

    const Distribution& distribution() const { return *dist_; }
    const Link& link() const { return *link_; }
    std::string name() const { return dist_->name(); }
    std::string link_name() const { return link_->name(); }
    // Whether the link is the distribution's canonical link (fixed at construction).
    bool canonical() const { return canonical_; }
    // Computes the y-only terms of response y once (response_terms.hpp); calls at another y still
    // compute theirs, so this only saves work.  A model calls it whenever its response changes.
    void set_response(const ArrayXd& y);
    bool has_dispersion() const { return dist_->has_dispersion(); }
    std::vector<std::string> parameters() const { return dist_->parameters(); }
    bool has_shape(const std::string& name) const;
    void set_shape(const std::string& name, double value) { dist_->set_shape(name, value); }
    double shape(const std::string& name) const { return dist_->shape(name); }
    // A shape with one value per observation (Distribution::shape_by_row, set_shape_rows).
    bool shape_by_row(const std::string& name) const { return dist_->shape_by_row(name); }
    void set_shape_rows(const std::string& name, const ArrayXd& values) { dist_->set_shape_rows(name, values); }

    ArrayXd linkfun(const ArrayXd& mu) const { return link_->linkfun(mu); }
    ArrayXd linkinv(const ArrayXd& eta) const { return link_->linkinv(eta); }
    ArrayXd mu_eta(const ArrayXd& eta) const { return link_->mu_eta(eta); }
    // dmu/deta given mu as well: free for the log and logit links.
    ArrayXd mu_eta(const ArrayXd& eta, const ArrayXd& mu) const { return link_->mu_eta(eta, mu); }
    ArrayXd mu_eta2(const ArrayXd& eta) const { return link_->mu_eta2(eta); }
    ArrayXd mu_eta3(const ArrayXd& eta) const { return link_->mu_eta3(eta); }
    // mu_eta, mu_eta2 and (me3 not null) mu_eta3 given mu = linkinv(eta), in one pass (Link::mu_eta_derivatives).
    void mu_eta_derivatives(const ArrayXd& eta, const ArrayXd& mu, ArrayXd& me, ArrayXd& me2, ArrayXd* me3) const {
        link_->mu_eta_derivatives(eta, mu, me, me2, me3);
    }
    ArrayXd variance(const ArrayXd& mu) const { return dist_->variance(mu); }
    ArrayXd variance_deriv(const ArrayXd& mu) const { return dist_->variance_deriv(mu); }
    // Starting mu for IRLS, as R's family$initialize does.
    ArrayXd mustart(const ArrayXd& y, const ArrayXd& wt) const { return dist_->mustart(y, wt); }
    // Whether eta is finite and inside the link's domain for this
    // distribution (mu > 0 where the distribution needs it).
    bool valid_eta(const ArrayXd& eta) const;

    // Observed information weights -d^2 log f / d eta^2 (times phi) at mu =
    // linkinv(eta), me = mu_eta and me2 = mu_eta2 there; for the
    // exponential-dispersion families
    // pw [mu_eta^2 / V - (y - mu)(mu_eta2 / V - mu_eta^2 V' / V^2)].
    ArrayXd observed_weights(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                             const ArrayXd& wt) const;
    // d log f / d eta and d^2 log f / d eta^2 per observation at phi (the
    // dispersion, for the families that have one).
    void log_density_derivatives(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt, double dispersion,
                                 ArrayXd& d1, ArrayXd& d2) const;
    // d^3 log f / d eta^3 per observation at phi (Distribution::eta_information_deriv).
    ArrayXd log_density_third_derivative(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt,
                                         double dispersion) const;
    // The general observation path (zero_inflation.hpp): log density, score,
    // observed information and the Fisher weight (mu_eta^2 / (phi V) for
    // most) in eta, per observation at weights wt (ones, or the trials of a
    // family whose weights_are_trials; phi: the dispersion, for the families
    // that have one); with information_deriv also the information's
    // eta-derivative (the exact Laplace gradient's); without log_density
    // t.log_density is left empty (PIRLS's weights need only the derivatives);
    // mu_at_eta: null or linkinv(eta) (a model's own mu: no inverse link per row).
    void unit_observation_terms(const ArrayXd& y, const ArrayXd& eta, double dispersion, const ArrayXd& wt,
                                ObservationTerms& t, bool information_deriv = false, bool log_density = true,
                                const ArrayXd* mu_at_eta = nullptr) const;
    bool exponential_dispersion() const { return dist_->exponential_dispersion(); }
    bool weights_are_trials() const { return dist_->weights_are_trials(); }
    bool has_zero_mass() const { return dist_->has_zero_mass(); }
    // d log f / d p and d^2 log f / d p^2 per observation, p from parameters().
    void parameter_derivatives(const std::string& p, const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt,
                               double dispersion, ArrayXd& d1, ArrayXd& d2) const;

    // Prior-weighted unit deviances d_i = w_i * 2 [l(y;y) - l(y;mu)], from
    // a given mu (R's family$dev.resids) or computed from eta exactly
    // (mu_at_eta: null or linkinv(eta), which the link reuses where exact:
    // the log link's mean above its clamp, no exp per row).
    ArrayXd dev_resid(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt) const;
    ArrayXd dev_resid_eta(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt,
                          const double* mu_at_eta = nullptr) const;
    // Prior-weighted log density of each observation (the terms `loglik`
    // sums), computed from eta exactly; -inf where eta gives no admissible
    // mean (mu_at_eta as for dev_resid_eta).
    ArrayXd log_density(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt, double dispersion,
                        const double* mu_at_eta = nullptr) const;
    // log_density at two dispersions, phi_a into ld_a and phi_b into ld_b, the rows' mean terms
    // computed once for both (a central difference in phi reads the pair).
    void log_density_pair(const ArrayXd& y, const ArrayXd& eta, const ArrayXd& wt, double phi_a, double phi_b,
                          ArrayXd& ld_a, ArrayXd& ld_b, const double* mu_at_eta = nullptr) const;
    // Sum of prior-weighted log densities at given means.  For the binomial,
    // y is the proportion and wt the number of trials (R's convention), so
    // the binomial coefficient enters; `dispersion` is phi: sigma^2 for the
    // gaussian (variance phi / wt), the squared coefficient of variation for
    // the Gamma (log density times wt, as R's Gamma()$aic), phi in
    // Var = phi mu^3 for the inverse Gaussian (log density times wt).
    double loglik(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt, double dispersion) const;

    // Draws of y at means mu (binomial: proportions of wt trials).
    ArrayXd simulate(const ArrayXd& mu, const ArrayXd& wt, double dispersion, unsigned long long seed) const;

    // Fast path for the inner loop (poisson, binomial): per evaluation only
    //   loglik = constant(y, wt) + kernel(y, mu, eta, wt),
    //   deviance = 2 [kernel(y, y) - kernel(y, mu)].
    // The kernel is computed from eta (mu = linkinv(eta) only saves work
    // where it is exact): one log per observation for the logit inside
    // |eta| <= 30 (R's clamp), none for poisson-log (log mu = eta, mu = e^eta).
    bool has_kernel() const { return dist_->has_kernel(); }
    double loglik_kernel(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& eta, const ArrayXd& wt) const {
        return dist_->loglik_kernel(y, mu, eta, wt, *link_);
    }
    double loglik_constant(const ArrayXd& y, const ArrayXd& wt) const { return dist_->loglik_constant(y, wt); }
    double saturated_kernel(const ArrayXd& y, const ArrayXd& wt) const { return dist_->saturated_kernel(y, wt); }

private:
    // The MeanTerms of the block of rows [start, start + len) of eta (y: the
    // responses, which a probability needs only one of log mu, log(1 - mu)
    // for; mu: null or linkinv(eta), which the link reuses where exact).
    void terms_at_eta(const ArrayXd& eta, const ArrayXd& y, Eigen::Index start, Eigen::Index len, MeanTerms& m,
                      const double* mu = nullptr) const;
    // The response terms of y that the distribution reads: those set_response stored when they
    // describe y, else computed now (null when the distribution reads none).
    std::shared_ptr<const ResponseTerms> response_terms(const ArrayXd& y) const;
    // each(start, len, m) for every block of rows with its MeanTerms at eta and y's response terms
    // (log_density's and log_density_pair's loop; family.cpp).
    template <class Each>
    void for_each_mean_block(const ArrayXd& y, const ArrayXd& eta, const double* mu_at_eta, Each each) const;
    // The block [start, start + len) of out: the distribution's log densities at phi, masked.
    void block_log_density(const ArrayXd& y, const MeanTerms& m, const ArrayXd& wt, double dispersion,
                           Eigen::Index start, Eigen::Index len, ArrayXd& out) const;

    std::unique_ptr<Distribution> dist_;
    std::shared_ptr<const Link> link_;
    bool canonical_ = false;
    std::shared_ptr<const ResponseTerms> response_;  // of the last set_response, shared by copies
};

// The prior weights as the distribution sees them (ones, or the numbers of
// trials of a family whose weights are trials) and as zero_inflate then
// multiplies the log density by (the weights, or 1 where they are positive).
struct WeightRoles {
    ArrayXd distribution, multiplier;
};
WeightRoles weight_roles(const Family& family, const ArrayXd& pw);

}  // namespace glmmfast
