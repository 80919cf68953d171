// distribution.cpp — the defaults of the Distribution interface
// (distribution.hpp): the exponential-dispersion eta derivatives, and errors
// for what a distribution does not have.
#include "family/distribution.hpp"

#include <stdexcept>

namespace glmmfast {

ArrayXd Distribution::eta_score(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const {
    return wt * (y - mu) * me / variance(mu);
}

ArrayXd Distribution::eta_information(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                                      const ArrayXd& wt) const {
    const ArrayXd v = variance(mu);
    return wt * (me.square() / v - (y - mu) * (me2 / v - me.square() * variance_deriv(mu) / v.square()));
}

ArrayXd Distribution::fisher_weight(const ArrayXd& mu, const ArrayXd& me, const ArrayXd& wt) const {
    return wt * me.square() / variance(mu);
}

std::vector<std::string> Distribution::parameters() const {
    std::vector<std::string> p;
    if (has_dispersion()) p.push_back("dispersion");
    for (const auto& s : shape_parameters()) p.push_back(s);
    return p;
}

void Distribution::unknown_parameter(const std::string& p) const {
    throw std::invalid_argument("the " + std::string(name()) + " family has no parameter '" + p + "'");
}

void Distribution::set_shape(const std::string& p, double) { unknown_parameter(p); }
double Distribution::shape(const std::string& p) const { unknown_parameter(p); }

void Distribution::parameter_derivatives(const std::string& p, const ConstArrayRef&, const MeanTerms&,
                                         const ConstArrayRef&, double, ArrayRef, ArrayRef) const {
    unknown_parameter(p);
}

double Distribution::loglik_kernel(const ArrayXd&, const ArrayXd&, const ArrayXd&, const ArrayXd&,
                                   const Link&) const {
    throw std::logic_error("loglik_kernel: family has no kernel");
}
double Distribution::loglik_constant(const ArrayXd&, const ArrayXd&) const { return 0.0; }
double Distribution::saturated_kernel(const ArrayXd&, const ArrayXd&) const { return 0.0; }

}  // namespace glmmfast
