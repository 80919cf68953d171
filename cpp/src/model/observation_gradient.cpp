// observation_gradient.cpp — the per-observation derivatives the exact
// Laplace gradient (laplace_gradient.cpp, which has the derivation) needs
// beyond the canonical links': the score s, exact information w and its
// eta-derivative w' of any family (Distribution::eta_information_deriv) with
// or without zero inflation (family/zero_inflation.hpp), and the gradient in
// the outer coordinates after beta,
//     dD/dpsi = sum_i [-2 dl_i/dpsi + h_i dw_i/dpsi + (U z)_i ds_i/dpsi],
// h_i = u_i' A^{-1} u_i and U z the trace's solve (U z_u + X z_b with beta
// profiled):
//  * zero-inflation coefficient k (eta_zi = offset_zi + X_zi beta_zi): the
//    eta_zi-derivatives of l, s and w (zero_inflation.hpp) times X_zi[i, k];
//  * the log of each family parameter p ("dispersion" phi, or shapes by name):
//    the derivatives of l, s and w in log p by central differences of the
//    observation terms at p e^{+-delta} (delta = 1e-5: truncation ~1e-10,
//    rounding ~1e-11 relative), the mode held fixed.
#include <cmath>
#include <stdexcept>

#include "model/glmm_model.hpp"

namespace glmmfast {

ObservationTerms GlmmModel::gradient_terms(const Family& family, double phi, bool information_deriv) const {
    const WeightRoles w = weight_roles(family, pw_.array());
    ObservationTerms t;
    family.unit_observation_terms(y_.array(), eta_.array(), phi, w.distribution, t, information_deriv);
    zero_inflate(y_.array(), w.multiplier, log_p_zi_, log1m_p_zi_, family.has_zero_mass(), t);
    // Off the general path the log density is the family's own with prior
    // weights (the gaussian's variance is phi / wt, not a weighted unit density).
    if (!general_observation()) t.log_density = family.log_density(y_.array(), eta_.array(), pw_.array(), phi);
    return t;
}

Eigen::VectorXd GlmmModel::outer_parameter_gradient(const Eigen::ArrayXd& h, const Eigen::ArrayXd& Uz,
                                                    const ObservationTerms& t,
                                                    const std::vector<std::string>& log_parameters) const {
    const Eigen::Index npar = static_cast<Eigen::Index>(log_parameters.size());
    Eigen::VectorXd g(n_zi() + npar);
    if (zero_inflated())
        g.head(n_zi()) =
            X_zi_.transpose() * (-2.0 * t.zi_log_density + h * t.zi_information + Uz * t.zi_score).matrix();
    constexpr double delta = 1e-5;
    const double c = 1.0 / (2.0 * delta);
    for (Eigen::Index j = 0; j < npar; ++j) {
        const std::string& name = log_parameters[static_cast<std::size_t>(j)];
        const bool dispersion = name == "dispersion";
        if (!dispersion && !family_.has_shape(name))
            throw std::invalid_argument("the family has no parameter '" + name + "'");
        const double value = dispersion ? phi_ : family_.shape(name);
        ObservationTerms at[2];
        for (int k = 0; k < 2; ++k) {
            const double moved = value * std::exp(k == 0 ? delta : -delta);
            Family f = family_;
            if (!dispersion) f.set_shape(name, moved);
            at[k] = gradient_terms(f, dispersion ? moved : phi_, false);
        }
        g[n_zi() + j] = ((-2.0 * (at[0].log_density - at[1].log_density) +
                          h * (at[0].information - at[1].information) + Uz * (at[0].score - at[1].score)) * c).sum();
    }
    return g;
}

}  // namespace glmmfast
