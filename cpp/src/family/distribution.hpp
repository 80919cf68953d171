// distribution.hpp — the response distribution of a GLM(M) as an object.
//
// Interface: `Distribution` (one subclass per family in its own file:
// poisson.cpp, binomial.cpp, gaussian.cpp, gamma.cpp, inverse_gaussian.cpp,
// negative_binomial.cpp; made by name in registry.cpp).  Everything works on
// whole vectors or on blocks of MeanTerms (mean_terms.hpp), so the hot loops
// pay one virtual call per block, not per observation:
//   name, links (R's names, the default first), canonical_link, mean_range
//   variance V(mu) and dV/dmu; mustart (R's family$initialize)
//   log_density   prior-weighted log density of each observation, with the
//                 normalising constants, so -2 log L matches R's family$aic()
//   unit_deviance prior-weighted unit deviances w 2 [l(y; y) - l(y; mu)]
//   eta_score, eta_information   d log f / d eta and -d^2 log f / d eta^2
//                 (times phi), through the link's dmu/deta and d^2 mu/deta^2
//   eta_information_deriv   d information / d eta = -d^3 log f / d eta^3
//                 (times phi), also through d^3 mu / d eta^3: what the exact
//                 Laplace gradient needs (model/observation_gradient.cpp).
//                 Closed forms from the derivatives in mu (l1, l2, l3 of
//                 log f): information' = -(me^3 l3 + 3 me me2 l2 + me3 l1);
//                 the default differences eta_information centrally in eta,
//                 so a family without the closed form still works
//   parameters    the family parameters: "dispersion" (phi, passed in by
//                 the caller; has_dispersion) and shape parameters the
//                 distribution holds (the negative binomial's "theta",
//                 set_shape); parameter_derivatives gives d log f / d p and
//                 d^2 log f / d p^2 per observation; shape_by_row: the
//                 parameters (shapes, or "dispersion": dispersion_by_row.hpp)
//                 a distribution reads per observation (row_values.hpp),
//                 which set_shape_rows gives one value per observation (a
//                 dispersion model: varying_parameter.hpp)
//   simulate      draws of y given mu, prior weights and phi from an RNG
//   fisher_weight positive weights wt me^2 / V(mu) for PIRLS's Fisher-type
//                 steps on the general observation path (a family whose
//                 expected information is not that overrides it)
//   eta_terms     score, information, Fisher weight (and the information's
//                 eta-derivative) together, as the general observation path needs them
//   weights_are_trials   whether wt is a number of trials the density
//                 depends on (binomial, betabinomial) rather than a
//                 multiplier of the log density
//   exponential_dispersion   whether the score is wt (y - mu) mu_eta / V and
//                 the unit deviance exists in closed form (false: nbinom1,
//                 the truncated counts: the models then work with the log
//                 density, eta_score and eta_information directly)
//   has_zero_mass whether f(0) can be positive (false: Gamma, truncated)
//   kernel        optional fast path for the inner loop (poisson, binomial):
//                 loglik = constant(y, wt) + kernel(y, mu, eta, wt),
//                 deviance = 2 [saturated(y, wt) - kernel(y, mu, eta, wt)].
// Block functions see only admissible means with positive prior weights in
// what they return: Family sets log density 0 / deviance 0 where the weight
// is 0 and -inf / +inf where the mean is not admissible.
// Weights follow R: binomial y is the proportion and wt the trials; the
// gaussian's variance is phi / wt; the others' log density is times wt.
// Nothing here knows about models, formulas or Python.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "family/link.hpp"
#include "family/mean_terms.hpp"
#include "family/response_terms.hpp"

namespace glmmfast {

using ArrayRef = Eigen::Ref<Eigen::ArrayXd>;

class Distribution {
public:
    virtual ~Distribution() = default;
    virtual std::unique_ptr<Distribution> clone() const = 0;

    virtual const char* name() const = 0;
    // The links R's constructor accepts (MASS's negative.binomial for NB), default first.
    virtual std::vector<std::string> links() const = 0;
    // The canonical link's name ("" when none is among links()).
    virtual const char* canonical_link() const = 0;
    virtual MeanRange mean_range() const = 0;
    // Which of MeanTerms' log_mu / inv_mu the block functions read (flags).
    virtual unsigned mean_terms_needed() const { return kLogMu | kInvMu; }
    // Which response terms (response_terms.hpp: log y, log(1 - y)) the block functions read from
    // MeanTerms (flags; Family computes them once per response).
    virtual unsigned response_terms_needed() const { return 0; }

    virtual ArrayXd variance(const ArrayXd& mu) const = 0;
    virtual ArrayXd variance_deriv(const ArrayXd& mu) const = 0;
    virtual ArrayXd mustart(const ArrayXd& y, const ArrayXd& wt) const = 0;

    // Per observation of a block (see the note above on zero weights and
    // inadmissible means).
    virtual void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double phi,
                             ArrayRef out) const = 0;
    virtual void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                               ArrayRef out) const = 0;

    // The score phi d log f / d eta and the observed information
    // -phi d^2 log f / d eta^2 given mu, me = dmu/deta and me2 = d^2 mu / d eta^2.
    // The defaults are the exponential-dispersion forms, from
    // d log f / d mu = wt (y - mu) / (phi V(mu)):
    //   score = wt (y - mu) me / V,
    //   information = wt [me^2 / V - (y - mu)(me2 / V - me^2 V' / V^2)].
    virtual ArrayXd eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const;
    virtual ArrayXd eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                    const ArrayXd& wt) const;
    // d eta_information / d eta given also me3 = d^3 mu / d eta^3.  The
    // default: central differences of eta_information at eta +- h, with mu,
    // me, me2 moved along their Taylor expansions in eta (error O(h^2)).
    virtual ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me,
                                          const ArrayXd& me2, const ArrayXd& me3, const ArrayXd& wt) const;

    // wt me^2 / V(mu): the Fisher information in eta of the exponential-dispersion families (times phi).
    virtual ArrayXd fisher_weight(const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const;
    // eta_score, eta_information, fisher_weight and, given me3 (not null), eta_information_deriv in
    // one call (else information_deriv is left as it is).  The default calls each; a family whose
    // four share per-observation work (the beta's polygamma values) does that work once per observation.
    virtual void eta_terms(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                           const ArrayXd* me3, const ArrayXd& wt, ArrayXd& score, ArrayXd& information,
                           ArrayXd& fisher, ArrayXd& information_deriv) const;
    virtual bool weights_are_trials() const { return false; }

    virtual bool exponential_dispersion() const { return true; }
    virtual bool has_zero_mass() const { return true; }
    virtual bool has_dispersion() const { return false; }
    virtual std::vector<std::string> shape_parameters() const { return {}; }
    // Throws std::invalid_argument for a name not in shape_parameters() or
    // a value outside its domain.
    virtual void set_shape(const std::string& name, double value);
    virtual double shape(const std::string& name) const;
    // Whether the parameter `name` (a shape, or "dispersion") may take one value per observation
    // (set_shape_rows; set_shape returns a shape to one value); set_shape_rows throws
    // std::logic_error for a parameter that may not.
    virtual bool shape_by_row(const std::string&) const { return false; }
    virtual void set_shape_rows(const std::string& name, const ArrayXd& values);
    // "dispersion" (if has_dispersion) followed by the shape parameters.
    std::vector<std::string> parameters() const;
    // d log f / d p and d^2 log f / d p^2 per observation of a block for the
    // parameter named p (from parameters()).
    virtual void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                                       const ConstArrayRef& wt, double phi, ArrayRef d1, ArrayRef d2) const;

    virtual ArrayXd simulate(const ArrayXd& mu, const ArrayXd& wt, double phi, std::mt19937_64& rng) const = 0;

    virtual bool has_kernel() const { return false; }
    virtual double loglik_kernel(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& eta, const ArrayXd& wt,
                                 const Link& link) const;
    virtual double loglik_constant(const ArrayXd& y, const ArrayXd& wt) const;
    virtual double saturated_kernel(const ArrayXd& y, const ArrayXd& wt) const;

protected:
    [[noreturn]] void unknown_parameter(const std::string& p) const;
    // eta_information_deriv of the exponential-dispersion form (the default
    // eta_score / eta_information), given V''(mu) (variance_deriv2):
    //   l1 = wt (y - mu) / V,  l2 = -wt [1 / V + (y - mu) V' / V^2],
    //   l3 = wt [2 V' / V^2 - (y - mu)(V'' / V^2 - 2 V'^2 / V^3)].
    ArrayXd exponential_dispersion_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me,
                                                     const ArrayXd& me2, const ArrayXd& me3, const ArrayXd& wt,
                                                     const ArrayXd& variance_deriv2) const;
};

// -d^3 log f / d eta^3 from the derivatives l1, l2, l3 of log f in mu and
// those of mu in eta (me, me2, me3): -(me^3 l3 + 3 me me2 l2 + me3 l1).
inline ArrayXd information_deriv_from_mu(const ArrayXd& l1, const ArrayXd& l2, const ArrayXd& l3,
                                         const ArrayXd& me, const ArrayXd& me2, const ArrayXd& me3) {
    return -(me.cube() * l3 + 3.0 * me * me2 * l2 + me3 * l1);
}

// The CRTP base every distribution derives from: clone() by copy.
template <class Derived>
class DistributionBase : public Distribution {
public:
    std::unique_ptr<Distribution> clone() const override {
        return std::make_unique<Derived>(static_cast<const Derived&>(*this));
    }
};

}  // namespace glmmfast
