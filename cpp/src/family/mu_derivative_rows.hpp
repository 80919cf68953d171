// mu_derivative_rows.hpp — `MuDerivativeRows<Derived, Base>`, the eta-derivative
// block functions of a distribution whose derivatives in mu share costly
// per-observation values (the beta's and beta-binomial's polygamma values),
// from one per-observation function of Derived that gives them together:
//   MuDerivatives mu_derivatives(y, wt, mu, row, order)
// l1 = d log f / d mu always, with order >= 2 also l2 = d^2 log f / d mu^2 and
// the expected information -E l2, with order 3 also l3 = d^3 log f / d mu^3
// (prior weights applied as the family takes them; row: the observation, for
// a parameter read by row), and
//   double expected_information(wt, mu, row)   -E l2 alone (fisher_weight, which has no y).  By the chain rule through me = dmu/deta,
// me2 = d^2 mu / d eta^2 and me3 = d^3 mu / d eta^3:
//   eta_score = me l1,   eta_information = -(me^2 l2 + me2 l1),
//   eta_information_deriv = -(me^3 l3 + 3 me me2 l2 + me3 l1),   Fisher weight = me^2 (-E l2),
// and eta_terms gives all of them from one call per observation.
// Base: the class holding the family's parameters (a DistributionBase<Derived>).
#pragma once

#include <Eigen/Core>

#include "family/distribution.hpp"

namespace glmmfast {

struct MuDerivatives {
    double l1 = 0.0, l2 = 0.0, l3 = 0.0, expected = 0.0;
};

template <class Derived, class Base>
class MuDerivativeRows : public Base {
public:
    ArrayXd eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        return me * in_mu(y, mu, wt, 1).l1;
    }
    ArrayXd eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                            const ArrayXd& wt) const override {
        const Columns l = in_mu(y, mu, wt, 2);
        return -(me.square() * l.l2 + me2 * l.l1);
    }
    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        const Columns l = in_mu(y, mu, wt, 3);
        return information_deriv_from_mu(l.l1, l.l2, l.l3, me, me2, me3);
    }
    ArrayXd fisher_weight(const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        ArrayXd expected(mu.size());
        const Derived& self = static_cast<const Derived&>(*this);
        for (Eigen::Index i = 0; i < mu.size(); ++i) expected[i] = self.expected_information(wt[i], mu[i], i);
        return me.square() * expected;
    }
    void eta_terms(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2, const ArrayXd* me3,
                   const ArrayXd& wt, ArrayXd& score, ArrayXd& information, ArrayXd& fisher,
                   ArrayXd& information_deriv) const override {
        const Columns l = in_mu(y, mu, wt, me3 ? 3 : 2);
        score = me * l.l1;
        information = -(me.square() * l.l2 + me2 * l.l1);
        fisher = me.square() * l.expected;
        if (me3) information_deriv = information_deriv_from_mu(l.l1, l.l2, l.l3, me, me2, *me3);
    }

private:
    // Derived's mu_derivatives of every observation, as arrays (l2, expected from order 2, l3 at order 3).
    struct Columns {
        ArrayXd l1, l2, l3, expected;
    };
    Columns in_mu(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& wt, int order) const {
        const Eigen::Index n = y.size();
        Columns c{ArrayXd(n), ArrayXd(order >= 2 ? n : 0), ArrayXd(order >= 3 ? n : 0), ArrayXd(order >= 2 ? n : 0)};
        const Derived& self = static_cast<const Derived&>(*this);
        for (Eigen::Index i = 0; i < n; ++i) {
            const MuDerivatives d = self.mu_derivatives(y[i], wt[i], mu[i], i, order);
            c.l1[i] = d.l1;
            if (order >= 2) {
                c.l2[i] = d.l2;
                c.expected[i] = d.expected;
            }
            if (order >= 3) c.l3[i] = d.l3;
        }
        return c;
    }
};

}  // namespace glmmfast
