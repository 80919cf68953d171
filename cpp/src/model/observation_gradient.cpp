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
//    rounding ~1e-11 relative), the mode held fixed;
//  * dispersion-model coefficient k (log p_i = power eta_d,i, eta_d =
//    offset_d + X_d beta_d): p_i enters only row i's terms, so one pair of
//    central differences at every p_i e^{+-delta} gives each row's
//    derivatives in log p_i, times power X_d[i, k].
//  * where p is the dispersion phi (scalar, or every row's phi_i) and no
//    zero inflation mixes the rows' terms: s and w are phi-free terms
//    divided by phi (Family::unit_observation_terms,
//    varying_unit_observation_terms) for every family with a dispersion,
//    so ds_i/dlog phi = -s_i and dw_i/dlog phi = -w_i exactly, and only the
//    log density is differenced:
//      dD/dlog phi_i = -2 dl_i/dlog phi_i - h_i w_i - (U z)_i s_i.
//    That holds for the Tweedie too: its density a(y, phi, p) exp[(y theta -
//    kappa) / phi] is of the exponential-dispersion form in phi (only a,
//    which does not depend on mu, is not closed-form); its
//    exponential_dispersion() is false for its weights and observed
//    information, and its weights' role (a multiplier of the unit log
//    density) makes Family::log_density's value the general path's.  With a
//    scalar phi its dl_i/dlog phi is not differenced but its own exact
//    phi * parameter_derivatives("dispersion") (the series' mean of j, held
//    with log a by tweedie.cpp's memo: no series at phi e^{+-delta}).
// With a dispersion model the rows' terms are varying_parameter.hpp's, and
// w' = dw/deta the family's own at each row's parameter (the unit-phi
// family's divided by phi_i for a varying dispersion), as with a scalar one.
#include <cmath>
#include <functional>
#include <stdexcept>

#include "model/glmm_model.hpp"
#include "model/laplace_gradient_rows.hpp"

namespace glmmfast {

namespace {

// The step in log p of the family parameters' derivatives (see the file comment).
constexpr double kLogParameterStep = 1e-5;

}  // namespace

ObservationTerms observation_gradient_terms(const Family& family, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                            const Eigen::ArrayXd& pw, double phi, const VaryingParameter* varying,
                                            const Eigen::ArrayXd& log_p_zi, const Eigen::ArrayXd& log1m_p_zi,
                                            bool information_deriv, Eigen::ArrayXd* structural_zero,
                                            bool with_log_density, const Eigen::ArrayXd* mu) {
    const WeightRoles w = weight_roles(family, pw);
    const bool zi = log_p_zi.size() > 0;
    // Off the general path the log density is the family's own with prior
    // weights (the gaussian's variance is phi / wt, not a weighted unit
    // density): the unit terms' own is not computed there.  On it the unit
    // log density is the value, and the zero part's posterior needs it.
    const bool general = zi || varying || !family.exponential_dispersion();
    const bool unit_log_density = general && (with_log_density || zi);
    ObservationTerms t;
    if (varying)
        varying_unit_observation_terms(family, y, eta, w.distribution, *varying, t, information_deriv,
                                       unit_log_density);
    else
        family.unit_observation_terms(y, eta, phi, w.distribution, t, information_deriv, unit_log_density, mu);
    zero_inflate(y, w.multiplier, log_p_zi, log1m_p_zi, family.has_zero_mass(), t, structural_zero,
                 general && with_log_density);
    if (!general && with_log_density) t.log_density = family.log_density(y, eta, pw, phi);
    return t;
}

ObservationTerms GlmmModel::gradient_terms(const Family& family, double phi, bool information_deriv,
                                           Eigen::ArrayXd* structural_zero, bool with_log_density) const {
    return observation_gradient_terms(family, y_.array(), eta_.array(), pw_.array(), phi,
                                      has_dispersion_model() ? &varying_ : nullptr, log_p_zi_, log1m_p_zi_,
                                      information_deriv, structural_zero, with_log_density, &mu_);
}

MovedParameter moved_parameter(const Family& family, double phi, const std::string& name, double log_step) {
    const bool dispersion = name == "dispersion";
    if (!dispersion && !family.has_shape(name))
        throw std::invalid_argument("the family has no parameter '" + name + "'");
    MovedParameter m{family, phi};
    if (dispersion)
        m.phi = phi * std::exp(log_step);
    else
        m.family.set_shape(name, family.shape(name) * std::exp(log_step));
    return m;
}

Eigen::ArrayXd log_parameter_row_derivative(const ObservationTerms& up, const ObservationTerms& down,
                                            const Eigen::ArrayXd& h, const Eigen::ArrayXd& Uz, double delta) {
    return (-2.0 * (up.log_density - down.log_density) + h * (up.information - down.information) +
            Uz * (up.score - down.score)) /
           (2.0 * delta);
}

double log_parameter_gradient(const Family& family, double phi, const std::string& name, const Eigen::ArrayXd& h,
                              const Eigen::ArrayXd& Uz,
                              const std::function<ObservationTerms(const Family&, double)>& terms_at) {
    constexpr double delta = kLogParameterStep;
    const MovedParameter up = moved_parameter(family, phi, name, delta), down = moved_parameter(family, phi, name, -delta);
    return log_parameter_row_derivative(terms_at(up.family, up.phi), terms_at(down.family, down.phi), h, Uz, delta)
        .sum();
}

ObservationTerms GlmmModel::moved_parameter_terms(const std::string& parameter, double log_step,
                                                  Eigen::ArrayXd* structural_zero) const {
    if (parameter.empty()) {  // the dispersion model: every row's parameter moved
        if (!has_dispersion_model()) throw std::logic_error("the model has no dispersion model");
        const WeightRoles w = weight_roles(family_, pw_.array());
        VaryingParameter moved = varying_;
        moved.values = varying_.values * std::exp(log_step);
        ObservationTerms t;
        varying_unit_observation_terms(family_, y_.array(), eta_.array(), w.distribution, moved, t);
        zero_inflate(y_.array(), w.multiplier, log_p_zi_, log1m_p_zi_, family_.has_zero_mass(), t, structural_zero);
        return t;
    }
    const MovedParameter m = moved_parameter(family_, phi_, parameter, log_step);
    return gradient_terms(m.family, m.phi, false, structural_zero);
}

bool GlmmModel::moves_dispersion_only(const std::string& parameter) const {
    if (log_p_zi_.size() > 0) return false;  // zero inflation mixes s and w with the zero part
    return parameter.empty() ? varying_.name == "dispersion" : parameter == "dispersion" && !has_dispersion_model();
}

Eigen::ArrayXd GlmmModel::dispersion_log_density_slope(const std::string& parameter, double delta) const {
    // Reached only where moves_dispersion_only holds: a family with a dispersion, no zero part.
    if (parameter.empty())
        return -(moved_dispersion_model_log_density(delta) - moved_dispersion_model_log_density(-delta)) / delta;
    // A scalar phi: observation_gradient_terms' log density takes the prior weights itself; both sides from
    // one pass of the rows' mean terms, at the model's own mu (every other sum at this point reads it: no
    // inverse link per row, the log link's exp).
    Eigen::ArrayXd up, down;
    family_.log_density_pair(y_.array(), eta_.array(), pw_.array(), phi_ * std::exp(delta), phi_ * std::exp(-delta),
                             up, down, mu_.data());
    return -(up - down) / delta;
}

Eigen::ArrayXd GlmmModel::moved_dispersion_model_log_density(double log_step) const {
    const WeightRoles w = weight_roles(family_, pw_.array());
    VaryingParameter moved = varying_;
    moved.values = varying_.values * std::exp(log_step);
    Eigen::ArrayXd ld = varying_unit_log_density(family_, y_.array(), eta_.array(), w.distribution, moved);
    zero_inflate_log_density(y_.array(), w.multiplier, log_p_zi_, log1m_p_zi_, family_.has_zero_mass(), ld);  // the weights
    return ld;
}

Eigen::VectorXd GlmmModel::outer_parameter_gradient(const Eigen::ArrayXd& h, const Eigen::ArrayXd& Uz,
                                                    const ObservationTerms& t,
                                                    const std::vector<std::string>& log_parameters) const {
    const Eigen::Index npar = static_cast<Eigen::Index>(log_parameters.size());
    Eigen::VectorXd g(n_zi() + n_disp() + npar);
    if (zero_inflated())
        g.head(n_zi()) =
            X_zi_.transpose() * (-2.0 * t.zi_log_density + h * t.zi_information + Uz * t.zi_score).matrix();
    constexpr double delta = kLogParameterStep;
    auto per_row = [&](const std::string& parameter) -> Eigen::ArrayXd {
        if (moves_dispersion_only(parameter)) {  // see the file comment
            Eigen::ArrayXd log_density_slope;  // -2 dl_i / dlog phi
            if (!parameter.empty() && !family_.exponential_dispersion()) {  // the Tweedie's own, exact
                Eigen::ArrayXd d1, d2;
                family_.parameter_derivatives("dispersion", y_.array(), eta_.array(), pw_.array(), phi_, d1, d2);
                log_density_slope = -2.0 * phi_ * d1;
            } else {
                log_density_slope = dispersion_log_density_slope(parameter, delta);
            }
            return log_density_slope - h * t.information - Uz * t.score;
        }
        return log_parameter_row_derivative(moved_parameter_terms(parameter, delta),
                                            moved_parameter_terms(parameter, -delta), h, Uz, delta);
    };
    if (has_dispersion_model()) g.segment(n_zi(), n_disp()) = dispersion_model_chain(per_row(""));
    for (Eigen::Index j = 0; j < npar; ++j)
        g[n_zi() + n_disp() + j] = per_row(log_parameters[static_cast<std::size_t>(j)]).sum();
    return g;
}

}  // namespace glmmfast
