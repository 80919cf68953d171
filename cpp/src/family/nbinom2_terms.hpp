// nbinom2_terms.hpp — what the negative binomial NB2 (negative_binomial.cpp)
// and its zero-truncated form (truncated_nbinom2.cpp) share: the log density
// and its theta derivatives for one observation, and `Nb2Shape`, the base
// holding theta (set_shape / shape, V(mu) = mu + mu^2 / theta, its
// derivative, R's mustart y + [y = 0] / 6; theta(i) at observation i where
// the distribution reads theta by row: shape_by_row, row_values.hpp).
//
// With log(theta + mu) = max + log1p(e^-|log mu - log theta|) the large
// terms of log f cancel analytically, so neither mu -> 0 nor mu -> inf
// overflows (see negative_binomial.cpp for the formulas).
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "family/distribution.hpp"
#include "family/row_values.hpp"
#include "family/special_functions.hpp"

namespace glmmfast {

// log f(y; mu, theta) of NB2 (unit weight); lt = log theta.
inline double nb2_log_density(double y, double log_mu, double theta, double lt) {
    const double lm = log_mu;
    const double main = lm > lt ? theta * (lt - lm) - (theta + y) * std::log1p(std::exp(lt - lm))
                                : (y > 0 ? y * (lm - lt) : 0.0) - (theta + y) * std::log1p(std::exp(lm - lt));
    return std::lgamma(theta + y) - std::lgamma(theta) - log_factorial(y) + main;
}

// log(theta + mu): one log where mu is finite, log-add-exp of the logs where mu overflowed.
inline double nb2_log_theta_plus_mu(double theta, double mu, double log_mu) {
    return std::isfinite(mu) ? std::log(theta + mu) : log_add_exp(std::log(theta), log_mu);
}

// d log f / d theta and d^2 log f / d theta^2 (unit weight); common1 = -psi(theta) + log theta + 1,
// common2 = -psi'(theta) + 1 / theta, ltm = log(theta + mu).
inline void nb2_theta_derivatives(double y, double theta, double ltm, double common1, double common2, double& d1,
                                  double& d2) {
    const double ratio = (theta + y) * std::exp(-ltm);  // (theta + y) / (theta + mu) from logs
    d1 = digamma(theta + y) + common1 - ltm - ratio;
    d2 = trigamma(theta + y) + common2 - 2.0 * std::exp(-ltm) + ratio * std::exp(-ltm);
}

// The shape theta of an NB2 distribution (Derived: the distribution, for clone()).
template <class Derived>
class Nb2Shape : public DistributionBase<Derived> {
public:
    std::vector<std::string> shape_parameters() const override { return {"theta"}; }
    void set_shape(const std::string& p, double value) override {
        if (p != "theta") this->unknown_parameter(p);
        if (!(value > 0 && std::isfinite(value)))
            throw std::invalid_argument("negative binomial theta must be positive and finite");
        theta_ = value;
        theta_rows_.values.resize(0);
    }
    void set_shape_rows(const std::string& p, const ArrayXd& values) override {
        if (p != "theta" || !this->shape_by_row(p)) Distribution::set_shape_rows(p, values);
        theta_rows_.values = values;
    }
    double shape(const std::string& p) const override {
        if (p != "theta") this->unknown_parameter(p);
        return theta_;
    }
    ArrayXd variance(const ArrayXd& mu) const override {
        return mu + mu.square() / theta_rows_.over(theta_, mu.size());
    }
    ArrayXd variance_deriv(const ArrayXd& mu) const override {
        return 1.0 + 2.0 * mu / theta_rows_.over(theta_, mu.size());
    }
    ArrayXd mustart(const ArrayXd& y, const ArrayXd&) const override { return y + (y == 0).cast<double>() / 6.0; }

protected:
    double theta(Eigen::Index i) const { return theta_rows_.at(theta_, i); }
    double theta_ = 1.0;
    RowValues theta_rows_;
};

}  // namespace glmmfast
