// mu_derivatives.hpp — the score and observed information in eta of a
// family that gives its log density's derivatives in mu per observation
// (the families outside the exponential-dispersion form: nbinom1,
// truncated_nbinom1, genpois, compois).
//
// With l1 = d log f / d mu, l2 = d^2 log f / d mu^2 (unit weight) and the
// link's me = dmu/deta, me2 = d^2 mu / d eta^2, by the chain rule:
//   score = wt me l1,   information = -wt (me^2 l2 + me2 l1).
// Interface: eta_score_from_mu(y, mu, me, wt, d) and
// eta_information_from_mu(y, mu, me, me2, wt, d), where d(y_i, mu_i)
// returns the pair (l1, l2).
#pragma once

#include <Eigen/Core>
#include <utility>

namespace glmmfast {

template <class MuDerivatives>
Eigen::ArrayXd eta_score_from_mu(const Eigen::ArrayXd& y, const Eigen::ArrayXd& mu, const Eigen::ArrayXd& me,
                                 const Eigen::ArrayXd& wt, MuDerivatives&& d) {
    Eigen::ArrayXd s(y.size());
    for (Eigen::Index i = 0; i < y.size(); ++i) s[i] = wt[i] * me[i] * d(y[i], mu[i]).first;
    return s;
}

template <class MuDerivatives>
Eigen::ArrayXd eta_information_from_mu(const Eigen::ArrayXd& y, const Eigen::ArrayXd& mu, const Eigen::ArrayXd& me,
                                       const Eigen::ArrayXd& me2, const Eigen::ArrayXd& wt, MuDerivatives&& d) {
    Eigen::ArrayXd h(y.size());
    for (Eigen::Index i = 0; i < y.size(); ++i) {
        const auto [l1, l2] = d(y[i], mu[i]);
        h[i] = -wt[i] * (me[i] * me[i] * l2 + me2[i] * l1);
    }
    return h;
}

}  // namespace glmmfast
