// distribution.cpp — the defaults of the Distribution interface
// (distribution.hpp): the exponential-dispersion eta derivatives (and the
// information's eta-derivative by differences), and errors
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

void Distribution::eta_terms(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me, const ArrayXd& me2,
                             const ArrayXd* me3, const ArrayXd& wt, ArrayXd& score, ArrayXd& information,
                             ArrayXd& fisher, ArrayXd& information_deriv) const {
    score = eta_score(y, mu, me, wt);
    information = eta_information(y, mu, me, me2, wt);
    fisher = fisher_weight(mu, me, wt);
    if (me3) information_deriv = eta_information_deriv(y, mu, me, me2, *me3, wt);
}

ArrayXd Distribution::eta_information_deriv(const ArrayXd& y, const ArrayXd& mu, const ArrayXd& me,
                                            const ArrayXd& me2, const ArrayXd& me3, const ArrayXd& wt) const {
    constexpr double h = 1e-4;
    const ArrayXd dmu = me * h + me3 * (h * h * h / 6.0), dmu_even = me2 * (h * h / 2.0);
    const ArrayXd dme = me2 * h, dme_even = me3 * (h * h / 2.0), dme2 = me3 * h;
    const ArrayXd up = eta_information(y, mu + dmu + dmu_even, me + dme + dme_even, me2 + dme2, wt);
    const ArrayXd down = eta_information(y, mu - dmu + dmu_even, me - dme + dme_even, me2 - dme2, wt);
    return (up - down) / (2.0 * h);
}

ArrayXd Distribution::exponential_dispersion_information_deriv(const ArrayXd& y, const ArrayXd& mu,
                                                               const ArrayXd& me, const ArrayXd& me2,
                                                               const ArrayXd& me3, const ArrayXd& wt,
                                                               const ArrayXd& variance_deriv2) const {
    const ArrayXd v = variance(mu), v1 = variance_deriv(mu), r = y - mu;
    const ArrayXd l1 = wt * r / v;
    const ArrayXd l2 = -wt * (1.0 / v + r * v1 / v.square());
    const ArrayXd l3 = wt * (2.0 * v1 / v.square() - r * (variance_deriv2 / v.square() - 2.0 * v1.square() / v.cube()));
    return information_deriv_from_mu(l1, l2, l3, me, me2, me3);
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
void Distribution::set_shape_rows(const std::string& p, const ArrayXd&) {
    throw std::logic_error(std::string("the ") + name() + " family's " + p + " does not vary by observation");
}

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
