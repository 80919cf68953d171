// partitioned_glmm.hpp — a GLMM whose rows live in partitions elsewhere (Dask
// workers), fitted from the partitions' sums.
//
// Interface: `PartitionedGlmm` is built from the random-effects terms, the
// lower-triangle pattern of U'WU (the union of the partitions' patterns,
// RowBlock::pattern), p, the family and a `GatherSums` callback that returns
// the partitions' RowSums (row_block.hpp) summed, at (theta, beta, u, the
// family's parameter values, which weights).  It holds what one process
// needs and nothing of size n: a PenalizedSystem in assembled mode (the
// factor of A = U'WU + I, q x q), theta, beta, u, the family's parameters
// (the dispersion phi, the negative binomial's theta: set_dispersion,
// set_nb_theta, set_shape, as GlmmModel's; they travel with every round
// trip) and the last sums.  PIRLS is the engine's (pirls_loop.hpp's
// pirls_to_mode, GlmmModel's too), one gather per point it visits:
//     move_to(u, beta)   gather the sums at (theta, beta, u) with the weights
//                        use_exact_weights chose: Fisher's during the Fisher
//                        steps, the exact Hessian's during the Newton steps;
//     refresh()          A = sums.UtWU + I from Fisher sums, factorised here;
//     factor_exact()     the same from the exact Hessian's sums (one more
//                        gather at the point where the held sums are
//                        Fisher's: at the switch to Newton steps);
//     step()             du = A^{-1}(U'Wr - u), or the joint step through
//                        FixedEffectsElimination from sums.UtWX, sums.XtWX;
// and the Laplace deviance is -2 sums.loglik + ||u||^2 + log det A, as
// laplace.cpp's, with A the exact Hessian's (signed weights where the
// observed information is negative: RowSums carry the signs in their sums).
// A canonical link needs no Newton steps (its Fisher weights are the exact
// Hessian), so no extra gather.
// The exact gradient (laplace_gradient.cpp's, laplace_gradient_rows.hpp) takes
// two more round trips at the mode, when the two gradient callbacks are given:
//     GatherTraces(theta, beta, u, values, sel)  sel = A^{-1} on the pattern
//                        (the selected inverse of the driver's factor) -> the
//                        summed (U'v, X'v);
//     the driver solves z = A^{-1} U'v (with beta profiled: the joint system
//                        with X'v);
//     GatherGradient(z_u, z_b, log_parameters) -> the summed GradientSums:
//                        dD/dtheta, X'r and dD/dlog p for the family
//                        parameters named (central differences on the rows,
//                        observation_gradient.cpp: two row passes each, so a
//                        parameter the optimiser holds fixed is not named).
//
// Communication per gather: theta, beta, u and the family's parameters out
// (O(q)); nnz(pattern) + q + q p + p^2 + p + 5 numbers back per worker after
// summing its partitions; the gradient's: nnz(pattern) + q out, q + p back,
// then q + p out, ntheta + p + (family parameters) back.
#pragma once

#include <Eigen/Core>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "linalg/fixed_effects_elimination.hpp"
#include "linalg/penalized_system.hpp"
#include "model/glmm_model.hpp"
#include "model/row_block.hpp"

namespace glmmfast {

using GatherSums = std::function<RowSums(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta,
                                         const Eigen::VectorXd& u, const Eigen::VectorXd& values, bool exact)>;
using VectorPair = std::pair<Eigen::VectorXd, Eigen::VectorXd>;
using GatherTraces = std::function<VectorPair(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta,
                                              const Eigen::VectorXd& u, const Eigen::VectorXd& values,
                                              const Eigen::VectorXd& sel)>;
using GatherGradient = std::function<GradientSums(const Eigen::VectorXd& z_u, const Eigen::VectorXd& z_b,
                                                  const std::vector<std::string>& log_parameters)>;

class PartitionedGlmm {
public:
    PartitionedGlmm(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pattern, int p,
                    Family family, GatherSums gather, const std::string& factorization = "auto", GatherTraces traces = nullptr,
                    GatherGradient gradient = nullptr);

    int p() const { return p_; }
    int q() const { return sys_.q(); }
    const LambdaMap& lambda() const { return sys_.lambda(); }
    const PenalizedSystem& system() const { return sys_; }
    const Eigen::VectorXd& theta() const { return theta_; }
    const Eigen::VectorXd& beta() const { return beta_; }
    const Eigen::VectorXd& u() const { return u_; }
    Eigen::VectorXd b() const { return sys_.lambda().matrix() * u_; }
    void set_theta(const Eigen::VectorXd& theta);
    void set_beta(const Eigen::VectorXd& beta);
    void set_u(const Eigen::VectorXd& u);
    // The family's parameters (GlmmModel's setters; checked_dispersion, set_family_shape).
    void set_dispersion(double phi) { phi_ = checked_dispersion(phi); }
    void set_nb_theta(double theta) { set_family_shape(family_, "theta", theta); }
    void set_shape(const std::string& name, double value) { set_family_shape(family_, name, value); }
    double dispersion() const { return phi_; }
    const Family& family() const { return family_; }
    // The values sent with each round trip, one per Family::parameters().
    Eigen::VectorXd family_values() const;
    // The last sums' sum_i pw_i (y_i - mu_i)^2 / V(mu_i) and sum_i |eta_i - offset_i|.
    double pearson_chi2() const { return sums_.pearson; }
    double eta_abs_sum() const { return sums_.eta_abs; }

    int pirls(bool update_beta, const PirlsOptions& opt = PirlsOptions());
    double laplace_deviance() const;
    double deviance_at(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta);
    double deviance_profiled_beta(const Eigen::VectorXd& theta);
    Eigen::MatrixXd cond_var(int t) const;
    Eigen::MatrixXd beta_unscaled_vcov() const;
    double sum_dev_resid() const;
    // The exact gradient (as GlmmModel's) where the gradient callbacks were given.
    bool has_laplace_gradient() const { return gather_traces_ && gather_gradient_; }
    // No zero inflation on partitioned rows: the optimiser's coordinates are
    // GlmmModel's with n_zi = 0 (optim/objective.cpp, fit/_optimize.py).
    int n_zi() const { return 0; }
    int n_disp() const { return 0; }  // no dispersion model either
    Eigen::VectorXd beta_zi() const { return Eigen::VectorXd(); }
    // d D / d(theta, [beta], log p): log_parameters as GlmmModel::laplace_gradient's.
    Eigen::VectorXd laplace_gradient(bool beta_profiled = false,
                                     const std::vector<std::string>& log_parameters = {}) const;

    long evaluations() const { return n_eval_; }
    long pirls_iterations() const { return n_pirls_; }
    long gathers() const { return n_gather_; }
    // The driver's factorisations of A so far (none where A = I: theta = 0, the GLM start).
    long factorizations() const { return sys_.factorizations(); }

    // pirls_loop's steps (pirls_loop.hpp).
    bool move_to(const Eigen::VectorXd& u, const Eigen::VectorXd& beta);
    double penalised_deviance() const { return sums_.dev / phi_ + u_.squaredNorm(); }
    void refresh();
    double step(bool update_beta, Eigen::VectorXd& du, Eigen::VectorXd& dbeta) const;
    // pirls_to_mode's (pirls_loop.hpp).
    bool newton_finishes() const { return !family_.canonical(); }
    void use_exact_weights(bool exact) { exact_ = exact; }
    bool factor_exact();
    void refresh_exact();

private:
    void require_state() const;
    FixedEffectsElimination eliminate_fixed_effects() const;
    // One gather at the current point with the given weights (sums_).
    bool gather(bool exact);
    // The held sums with the given weights (a gather where they are the other kind).
    void hold_weights(bool exact);

    PenalizedSystem sys_;
    int p_;
    Family family_;
    double phi_ = 1.0;
    Eigen::Index npattern_;
    GatherSums gather_;
    GatherTraces gather_traces_;
    GatherGradient gather_gradient_;
    Eigen::VectorXd theta_, beta_, u_;
    RowSums sums_;
    // exact_: the weights move_to gathers; sums_exact_: those of sums_.
    bool exact_ = false, sums_exact_ = false;
    bool factored_ = false;
    long n_eval_ = 0, n_pirls_ = 0;
    mutable long n_gather_ = 0;
};

}  // namespace glmmfast
