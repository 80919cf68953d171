// truncated_nbinom1.cpp — the zero-truncated negative binomial NB1 (glmmTMB's
// truncated_nbinom1; links log, sqrt, identity), the count part of an NB1
// hurdle model (with a ziformula, family/zero_inflation.hpp).  mu is the
// untruncated mean, phi the NB1 shape (Var = mu (1 + phi) before truncation;
// set_shape("phi"), glmmTMB's sigma()).  For y >= 1, times the prior weight,
// with P0 = (1 + phi)^(-mu / phi), the NB1 probability of 0:
//   log f = log f_NB1(y; mu, phi) - log(1 - P0)      (nbinom1_terms.hpp),
//   log(1 - P0) = log1mexp(s),  s = -log P0 = mu L / phi,  L = log(1 + phi).
// With r = P0 / (1 - P0) = 1 / expm1(s), T = -log(1 - P0) and dr/ds = -r (1 + r):
//   dT/dmu = -r L / phi,   d^2T/dmu^2 = r (1 + r) (L / phi)^2,
// and with b = ds/dphi = mu [1 / (phi (1 + phi)) - L / phi^2],
// b' = d^2s/dphi^2 = mu [-(1 + 2 phi) / (phi (1 + phi))^2 - 1 / (phi^2 (1 + phi)) + 2 L / phi^3]:
//   dT/dphi = -r b,   d^2T/dphi^2 = r (1 + r) b^2 - r b'.
// The derivatives in eta follow from those in mu (unit_density_family.hpp).  No
// mass at 0; V(mu) = mu (1 + phi), the untruncated NB1's, serves only the GLM
// start and PIRLS's Fisher-type weights.  Unit "deviance":
// 2 wt [log f(y; y) - log f(y; mu)].  Simulation: NB1 draws conditioned on y > 0.
// phi may vary by observation (nb1_phi(row), shape_by_row; the per-observation
// functions take the row: unit_density_family.hpp).
#include <cmath>
#include <memory>
#include <utility>

#include "family/distribution.hpp"
#include "family/nbinom1_terms.hpp"
#include "family/special_functions.hpp"
#include "family/unit_density_family.hpp"

namespace glmmfast {

namespace {

class TruncatedNegativeBinomial1 final
    : public UnitDensityFamily<TruncatedNegativeBinomial1, Nb1Shape<TruncatedNegativeBinomial1>> {
public:
    const char* name() const override { return "truncated_nbinom1"; }
    std::vector<std::string> links() const override { return {"log", "sqrt", "identity"}; }
    const char* canonical_link() const override { return ""; }
    MeanRange mean_range() const override { return MeanRange::Positive; }
    unsigned mean_terms_needed() const override { return 0u; }
    bool has_zero_mass() const override { return false; }

    void parameter_derivatives(const std::string& p, const ConstArrayRef& y, const MeanTerms& m,
                               const ConstArrayRef& wt, double, ArrayRef d1, ArrayRef d2) const override {
        if (p != "phi") unknown_parameter(p);
        for (Eigen::Index i = 0; i < y.size(); ++i) {
            const Nb1Phi& p_i = nb1_phi(m.first_row + i);
            const double ph = p_i.phi, q = 1.0 + ph, L = p_i.log1p_phi;
            const double mu = m.mu[i], r = zero_odds(mu, p_i);
            const double b = mu * (1.0 / (ph * q) - L / (ph * ph));
            const double db = mu * (-(1.0 + 2.0 * ph) / (ph * q * ph * q) - 1.0 / (ph * ph * q) + 2.0 * L / (ph * ph * ph));
            const auto [a1, a2] = nb1_phi_derivatives(y[i], mu, p_i);
            d1[i] = wt[i] * (a1 - r * b);
            d2[i] = wt[i] * (a2 + r * (1.0 + r) * b * b - r * db);
        }
    }

    ArrayXd simulate(const ArrayXd& mu, const ArrayXd&, double, std::mt19937_64& rng) const override {
        ArrayXd y(mu.size());
        for (Eigen::Index i = 0; i < mu.size(); ++i) {
            const double ph = phi(i);
            double draw = 0.0;
            // P(y > 0) = 1 - P0: by rejection (a mean below 1e-8 draws 1, its limit)
            for (int tries = 0; draw == 0.0 && tries < 100000 && mu[i] > 1e-8; ++tries) {
                const double rate = std::gamma_distribution<double>(mu[i] / ph, ph)(rng);
                draw = rate > 0 ? static_cast<double>(std::poisson_distribution<long long>(rate)(rng)) : 0.0;
            }
            y[i] = draw > 0 ? draw : 1.0;
        }
        return y;
    }

    double unit_log_density(double y, double mu, Eigen::Index row) const {
        const Nb1Phi& p = nb1_phi(row);
        return nb1_log_density(y, mu, p) - log1mexp(mu * p.log1p_phi / p.phi);
    }
    double saturated_log_density(double y, Eigen::Index row) const { return unit_log_density(y, y, row); }
    std::pair<double, double> unit_mu_derivatives(double y, double mu, Eigen::Index row) const {
        const Nb1Phi& p = nb1_phi(row);
        const auto [l1, l2] = nb1_mu_derivatives(y, mu, p);
        const double c = p.log1p_phi / p.phi, r = zero_odds(mu, p);
        return {l1 - r * c, l2 + r * (1.0 + r) * c * c};
    }

private:
    // r = P0 / (1 - P0) = 1 / expm1(mu L / phi).
    static double zero_odds(double mu, const Nb1Phi& p) { return 1.0 / std::expm1(mu * p.log1p_phi / p.phi); }

};

}  // namespace

std::unique_ptr<Distribution> make_truncated_nbinom1() { return std::make_unique<TruncatedNegativeBinomial1>(); }

}  // namespace glmmfast
