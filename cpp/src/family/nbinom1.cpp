// nbinom1.cpp — the negative binomial NB1 (glmmTMB's nbinom1; links log,
// sqrt, identity): Var y = mu (1 + phi), i.e. size k = mu / phi and success
// probability 1 / (1 + phi).  Times the prior weight:
//   log f = lgamma(y + k) - lgamma(k) - lgamma(y + 1) - k log(1 + phi) + y log(phi / (1 + phi)).
// The shape is a function of mu, so the exponential-dispersion score does
// not apply: the derivatives in mu and phi are nbinom1_terms.hpp's, taken
// to eta by unit_density_family.hpp.
// Parameter "phi" is glmmTMB's sigma() for nbinom1.
// With A = psi(y + k) - psi(k), A' and A'' its derivatives in k's argument
// (trigamma, tetragamma differences), d^j log f / d mu^j = A^(j-1) / phi^j
// for j = 2, 3 (and (A - log(1 + phi)) / phi for j = 1): the information's
// eta-derivative (the exact Laplace gradient's) is
//   information' = -[me^3 A'' / phi^3 + 3 me me2 A' / phi^2 + me3 (A - log(1 + phi)) / phi].
// Unit "deviance": 2 wt [log f(y; mu = y) - log f(y; mu)] (log f at mu = y
// is not NB1's maximum; differences in mu, all the models use, are exact).
// Simulation: Poisson(Gamma(shape k, scale phi)).  phi may vary by observation
// (nb1_phi(row), shape_by_row; the per-observation functions take the row:
// unit_density_family.hpp).
#include <cmath>
#include <memory>
#include <stdexcept>

#include "family/distribution.hpp"
#include "family/nbinom1_terms.hpp"
#include "family/unit_density_family.hpp"

namespace glmmfast {

namespace {

class NegativeBinomial1 final : public UnitDensityFamily<NegativeBinomial1, Nb1Shape<NegativeBinomial1>> {
public:
    const char* name() const override { return "nbinom1"; }
    std::vector<std::string> links() const override { return {"log", "sqrt", "identity"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::Positive; }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "phi") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const auto [a1, a2] = nb1_phi_derivatives(y[i], m.mu[i], nb1_phi(m.first_row + i));
            d1[i] = wt[i] * a1;
            d2[i] = wt[i] * a2;
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double ph = phi(i);
            const double rate = mu[i] > 0 ? std::gamma_distribution<double>(mu[i] / ph, ph)(rng) : 0.0;
            y[i] = rate > 0 ? static_cast<double>(std::poisson_distribution<long long>(rate)(rng)) : 0.0;
        }
        return y;
    }

    double unit_log_density(double y, double mu, Eigen::Index row) const {
        return nb1_log_density(y, mu, nb1_phi(row));
    }
    double saturated_log_density(double y, Eigen::Index row) const { return nb1_log_density(y, y, nb1_phi(row)); }
    std::pair<double, double> unit_mu_derivatives(double y, double mu, Eigen::Index row) const {
        return nb1_mu_derivatives(y, mu, nb1_phi(row));
    }
    double unit_mu_third_derivative(double y, double mu, Eigen::Index row) const {
        return nb1_mu_third_derivative(y, mu, nb1_phi(row));
    }
};
static_assert(HasUnitMuThirdDerivative<NegativeBinomial1>::value, "nbinom1's third derivative is analytic");

}  // namespace

std::unique_ptr<Distribution> make_nbinom1() { return std::make_unique<NegativeBinomial1>(); }

}  // namespace glmmfast
