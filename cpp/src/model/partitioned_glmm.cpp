// partitioned_glmm.cpp — PIRLS and the Laplace deviance from partitions'
// sums (see partitioned_glmm.hpp).
#include "model/partitioned_glmm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "model/conditional_variance.hpp"
#include "model/pirls_loop.hpp"

namespace glmmfast {

PartitionedGlmm::PartitionedGlmm(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pattern,
                                 int p, Family family, GatherSums gather, const std::string& factorization,
                                 GatherTraces traces, GatherGradient gradient)
    : sys_(terms, pattern, factorization),
      p_(p),
      family_(std::move(family)),
      npattern_(static_cast<Eigen::Index>(pattern.size())),
      gather_(std::move(gather)),
      gather_traces_(std::move(traces)),
      gather_gradient_(std::move(gradient)) {
    if (p < 0) throw std::invalid_argument("p must be non-negative");
    theta_ = sys_.lambda().initial_theta();
    beta_ = Eigen::VectorXd::Zero(p);
    u_ = Eigen::VectorXd::Zero(q());
}

void PartitionedGlmm::set_theta(const Eigen::VectorXd& theta) {
    sys_.set_theta(theta);
    theta_ = theta;
    factored_ = false;
}

void PartitionedGlmm::set_beta(const Eigen::VectorXd& beta) {
    if (beta.size() != p_) throw std::invalid_argument("beta has the wrong length");
    beta_ = beta;
}

void PartitionedGlmm::set_u(const Eigen::VectorXd& u) {
    if (u.size() != q()) throw std::invalid_argument("u has the wrong length");
    u_ = u;
}

Eigen::VectorXd PartitionedGlmm::family_values() const {
    const std::vector<std::string> names = family_.parameters();
    Eigen::VectorXd v(static_cast<Eigen::Index>(names.size()));
    for (std::size_t k = 0; k < names.size(); ++k)
        v[static_cast<Eigen::Index>(k)] = names[k] == "dispersion" ? phi_ : family_.shape(names[k]);
    return v;
}

bool PartitionedGlmm::gather(bool exact) {
    factored_ = false;
    sums_ = gather_(theta_, beta_, u_, family_values(), exact);
    sums_exact_ = exact;
    ++n_gather_;
    // U'WU comes empty where Lambda = 0 (row_block.cpp): the factorisation does not read it.
    const bool utwu_sent = sums_.UtWU.size() == npattern_ || (sums_.UtWU.size() == 0 && sys_.lambda().is_zero());
    if (!utwu_sent || sums_.UtWr.size() != q() || sums_.XtWr.size() != p_ ||
        sums_.UtWX.rows() != q() || sums_.UtWX.cols() != p_ || sums_.XtWX.rows() != p_ || sums_.XtWX.cols() != p_)
        throw std::invalid_argument("the gathered sums do not match the model's sizes");
    return sums_.valid && std::isfinite(sums_.dev) && std::isfinite(sums_.loglik);
}

bool PartitionedGlmm::move_to(const Eigen::VectorXd& u, const Eigen::VectorXd& beta) {
    u_ = u;
    beta_ = beta;
    return gather(exact_);
}

void PartitionedGlmm::hold_weights(bool exact) {
    // A canonical link's Fisher weights are its exact Hessian: either sums serve.
    if (newton_finishes() && sums_exact_ != exact) gather(exact);
}

void PartitionedGlmm::refresh() {
    hold_weights(false);
    factored_ = sys_.factor_assembled(sums_.UtWU);
    if (!factored_) throw PirlsError("Cholesky factorisation of Lambda'Z'WZLambda + I failed");
}

bool PartitionedGlmm::factor_exact() {
    hold_weights(true);
    factored_ = sys_.factor_assembled(sums_.UtWU);
    return factored_;
}

void PartitionedGlmm::refresh_exact() {
    if (!factor_exact())
        throw PirlsError("Cholesky factorisation of Lambda'Z'WZLambda + I failed: the exact Hessian in the random "
                         "effects is not positive definite at this point");
}

FixedEffectsElimination PartitionedGlmm::eliminate_fixed_effects() const {
    FixedEffectsElimination elim;
    if (!elim.compute_from_products(sys_, sums_.UtWX, p_, sums_.XtWX))
        throw PirlsError("the fixed-effects block is not positive definite");
    return elim;
}

double PartitionedGlmm::step(bool update_beta, Eigen::VectorXd& du, Eigen::VectorXd& dbeta) const {
    const Eigen::VectorXd gu = sums_.UtWr - u_;
    if (!update_beta) {
        du = sys_.solve(gu);
        return gu.dot(du);
    }
    eliminate_fixed_effects().solve(sys_, sys_.solve_L(gu), sums_.XtWr, du, dbeta);
    return gu.dot(du) + sums_.XtWr.dot(dbeta);
}

int PartitionedGlmm::pirls(bool update_beta, const PirlsOptions& opt) {
    return pirls_to_mode(*this, update_beta, opt, n_pirls_);
}

void PartitionedGlmm::require_state() const {
    if (!factored_) throw std::logic_error("the model has no converged state yet: run pirls() first");
}

double PartitionedGlmm::laplace_deviance() const {
    require_state();
    return -2.0 * sums_.loglik + u_.squaredNorm() + sys_.log_det_L2();
}

double PartitionedGlmm::sum_dev_resid() const {
    require_state();
    return sums_.dev;
}

double PartitionedGlmm::deviance_at(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta) {
    ++n_eval_;
    set_theta(theta);
    set_beta(beta);
    pirls(false);
    return laplace_deviance();
}

double PartitionedGlmm::deviance_profiled_beta(const Eigen::VectorXd& theta) {
    ++n_eval_;
    set_theta(theta);
    pirls(true);
    return laplace_deviance();
}

Eigen::MatrixXd PartitionedGlmm::cond_var(int t) const {
    require_state();
    return conditional_variance(sys_, t);
}

Eigen::MatrixXd PartitionedGlmm::beta_unscaled_vcov() const {
    require_state();
    return eliminate_fixed_effects().RX().solve(Eigen::MatrixXd::Identity(p_, p_));
}

Eigen::VectorXd PartitionedGlmm::laplace_gradient(bool beta_profiled,
                                                  const std::vector<std::string>& log_parameters) const {
    require_state();
    if (!has_laplace_gradient()) throw std::logic_error("this partitioned model has no gradient callbacks");
    const std::vector<std::string> names = family_.parameters();
    for (const std::string& name : log_parameters)
        if (std::find(names.begin(), names.end(), name) == names.end())
            throw std::invalid_argument("the family has no parameter '" + name + "'");
    const VectorPair traces = gather_traces_(theta_, beta_, u_, family_values(), sys_.pattern_selected_inverse());
    ++n_gather_;
    if (traces.first.size() != q() || traces.second.size() != p_)
        throw std::invalid_argument("the gathered traces do not match the model's sizes");
    Eigen::VectorXd z, zb;
    if (beta_profiled) eliminate_fixed_effects().solve(sys_, sys_.solve_L(traces.first), traces.second, z, zb);
    else z = sys_.solve(traces.first);
    const GradientSums parts = gather_gradient_(z, zb, log_parameters);
    ++n_gather_;
    const int nt = static_cast<int>(sys_.lambda().ntheta());
    if (parts.theta.size() != nt || parts.beta.size() != p_ ||
        parts.family.size() != static_cast<Eigen::Index>(log_parameters.size()))
        throw std::invalid_argument("the gathered gradient does not match the model's sizes");
    const int nb = beta_profiled ? 0 : p_;
    Eigen::VectorXd grad(nt + nb + parts.family.size());
    grad.head(nt) = parts.theta;
    if (nb) grad.segment(nt, nb) = parts.beta;
    grad.tail(parts.family.size()) = parts.family;
    return grad;
}

}  // namespace glmmfast
