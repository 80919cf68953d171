// unit_density_family.hpp — the block functions of a family outside the
// exponential-dispersion form, from three per-observation functions of its
// Derived class (nbinom1, truncated_nbinom1, genpois, compois):
//   unit_log_density(y, mu)      log f(y; mu) with unit weight,
//   saturated_log_density(y)     its supremum over mu (the unit deviance's reference),
//   unit_mu_derivatives(y, mu)   (l1, l2) = (d log f / d mu, d^2 log f / d mu^2),
// and optionally
//   unit_mu_third_derivative(y, mu)   l3 = d^3 log f / d mu^3
// (without it the information's eta-derivative is Distribution's central
// difference).  A Derived that reads its shape by row (shape_by_row,
// row_values.hpp) gives each of these with the observation's row as a last
// argument instead (unit_log_density(y, mu, row), ...; ReadsRows).
// `UnitDensityFamily<Derived, Base>` (Base: the class holding the family's
// parameters, itself a DistributionBase<Derived>) gives, times the prior weight wt:
//   log_density = wt log f,   unit_deviance = 2 wt [saturated - log f],
// and by the chain rule through the link's me = dmu/deta, me2 = d^2 mu / d eta^2:
//   eta_score = wt me l1,   eta_information = -wt (me^2 l2 + me2 l1),
//   eta_information_deriv = -wt (me^3 l3 + 3 me me2 l2 + me3 l1);
// eta_terms gives the first two (and Base's Fisher weight) from one call per observation.
#pragma once

#include <Eigen/Core>
#include <tuple>
#include <type_traits>
#include <utility>

#include "family/distribution.hpp"

namespace glmmfast {

// Whether D gives unit_mu_third_derivative(y, mu) (or (y, mu, row)).
template <class D, class = void>
struct HasUnitMuThirdDerivative : std::false_type {};
template <class D>
struct HasUnitMuThirdDerivative<D, std::void_t<decltype(std::declval<const D&>().unit_mu_third_derivative(0.0, 0.0))>>
    : std::true_type {};
template <class D>
struct HasUnitMuThirdDerivative<
    D, std::void_t<decltype(std::declval<const D&>().unit_mu_third_derivative(0.0, 0.0, Eigen::Index{0}))>>
    : std::true_type {};

// Whether D's per-observation functions take the observation's row.
template <class D, class = void>
struct ReadsRows : std::false_type {};
template <class D>
struct ReadsRows<D, std::void_t<decltype(std::declval<const D&>().unit_log_density(0.0, 0.0, Eigen::Index{0}))>>
    : std::true_type {};

template <class Derived, class Base>
class UnitDensityFamily : public Base {
public:
    bool exponential_dispersion() const override { return false; }

    void log_density(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt, double,
                     ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i) out[i] = wt[i] * log_f(y[i], m.mu[i], m.first_row + i);
    }
    void unit_deviance(const ConstArrayRef& y, const MeanTerms& m, const ConstArrayRef& wt,
                       ArrayRef out) const override {
        for (Eigen::Index i = 0; i < y.size(); ++i)
            out[i] = 2.0 * wt[i] * (saturated(y[i], m.first_row + i) - log_f(y[i], m.mu[i], m.first_row + i));
    }
    ArrayXd eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const override {
        ArrayXd s(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) s[i] = wt[i] * me[i] * mu_derivatives(y[i], mu[i], i).first;
        return s;
    }
    ArrayXd eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                            const ArrayXd& wt) const override {
        ArrayXd h(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const auto [l1, l2] = mu_derivatives(y[i], mu[i], i);
            h[i] = -wt[i] * (me[i] * me[i] * l2 + me2[i] * l1);
        }
        return h;
    }
    // score, information and the Fisher weight from one unit_mu_derivatives per row (eta_score and
    // eta_information would each take one: every PIRLS step of the general path comes here).
    void eta_terms(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2, const ArrayXd* me3,
                   const ArrayXd& wt, ArrayXd& score, ArrayXd& information, ArrayXd& fisher,
                   ArrayXd& information_deriv) const override {
        score.resize(y.size());
        information.resize(y.size());
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const auto [l1, l2] = mu_derivatives(y[i], mu[i], i);
            score[i] = wt[i] * me[i] * l1;
            information[i] = -wt[i] * (me[i] * me[i] * l2 + me2[i] * l1);
        }
        fisher = this->fisher_weight(mu, me, wt);
        if (me3) information_deriv = eta_information_deriv(y, mu, me, me2, *me3, wt);
    }
    ArrayXd eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                  const ArrayXd& me3, const ArrayXd& wt) const override {
        if constexpr (HasUnitMuThirdDerivative<Derived>::value) {
            ArrayXd l1(y.size()), l2(y.size()), l3(y.size());
            for (Eigen::Index i = 0; i < y.size(); ++i) {
                std::tie(l1[i], l2[i]) = mu_derivatives(y[i], mu[i], i);
                if constexpr (ReadsRows<Derived>::value) l3[i] = self().unit_mu_third_derivative(y[i], mu[i], i);
                else l3[i] = self().unit_mu_third_derivative(y[i], mu[i]);
            }
            return wt * information_deriv_from_mu(l1, l2, l3, me, me2, me3);
        } else {
            return Base::eta_information_deriv(y, mu, me, me2, me3, wt);
        }
    }

private:
    const Derived& self() const { return static_cast<const Derived&>(*this); }
    // Derived's per-observation functions at observation `row` (ReadsRows) or at its one shape.
    double log_f(double y, double mu, Eigen::Index row) const {
        if constexpr (ReadsRows<Derived>::value) return self().unit_log_density(y, mu, row);
        else return self().unit_log_density(y, mu);
    }
    double saturated(double y, Eigen::Index row) const {
        if constexpr (ReadsRows<Derived>::value) return self().saturated_log_density(y, row);
        else return self().saturated_log_density(y);
    }
    std::pair<double, double> mu_derivatives(double y, double mu, Eigen::Index row) const {
        if constexpr (ReadsRows<Derived>::value) return self().unit_mu_derivatives(y, mu, row);
        else return self().unit_mu_derivatives(y, mu);
    }
};

}  // namespace glmmfast
