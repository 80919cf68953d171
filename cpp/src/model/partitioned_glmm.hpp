// partitioned_glmm.hpp — a GLMM whose rows live in partitions elsewhere (Dask
// workers), fitted from the partitions' sums.
//
// Interface: `PartitionedGlmm` is built from the random-effects terms, the
// lower-triangle pattern of U'WU (the union of the partitions' patterns,
// RowBlock::pattern), p, and a `GatherSums` callback that returns the
// partitions' RowSums (row_block.hpp) summed, at (theta, beta, u).  It holds
// what one process needs and nothing of size n: a PenalizedSystem in
// assembled mode (the factor of A = U'WU + I, q x q), theta, beta, u and the
// last sums.  PIRLS is the engine's loop (pirls_loop.hpp), one gather per
// point it visits:
//     move_to(u, beta)   gather the sums at (theta, beta, u);
//     refresh()          A = sums.UtWU + I, factorised on this process;
//     step()             du = A^{-1}(U'Wr - u), or the joint step through
//                        FixedEffectsElimination from sums.UtWX, sums.XtWX;
// and the Laplace deviance is -2 sums.loglik + ||u||^2 + log det A, as
// laplace.cpp's.  Canonical links without a dispersion (Poisson, binomial):
// there the Fisher weights are the exact Hessian, so the factor PIRLS ends on
// is the Laplace term's.
// The exact gradient (laplace_gradient.cpp's, laplace_gradient_rows.hpp) takes
// two more round trips at the mode, when the two gradient callbacks are given:
//     GatherTraces(theta, beta, u, sel)  sel = A^{-1} on the pattern (the
//                        selected inverse of the driver's factor) -> the
//                        summed (U'v, X'v);
//     the driver solves z = A^{-1} U'v (with beta profiled: the joint system
//                        with X'v);
//     GatherGradient(z_u, z_b) -> the summed (dD/dtheta, X'r).
//
// Communication per gather: theta, beta, u out (O(q)); nnz(pattern) + q + q p
// + p^2 + p + 3 numbers back per worker after summing its partitions; the
// gradient's: nnz(pattern) + q out, q + p back, then q + p out, ntheta + p back.
#pragma once

#include <Eigen/Core>
#include <functional>
#include <utility>
#include <vector>

#include "linalg/fixed_effects_elimination.hpp"
#include "linalg/penalized_system.hpp"
#include "model/glmm_model.hpp"
#include "model/row_block.hpp"

namespace glmmfast {

using GatherSums =
    std::function<RowSums(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u)>;
using VectorPair = std::pair<Eigen::VectorXd, Eigen::VectorXd>;
using GatherTraces = std::function<VectorPair(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta,
                                              const Eigen::VectorXd& u, const Eigen::VectorXd& sel)>;
using GatherGradient = std::function<VectorPair(const Eigen::VectorXd& z_u, const Eigen::VectorXd& z_b)>;

class PartitionedGlmm {
public:
    PartitionedGlmm(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pattern, int p,
                    GatherSums gather, const std::string& factorization = "auto", GatherTraces traces = nullptr,
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
    Eigen::VectorXd laplace_gradient(bool beta_profiled = false) const;

    long evaluations() const { return n_eval_; }
    long pirls_iterations() const { return n_pirls_; }
    long gathers() const { return n_gather_; }

    // pirls_loop's steps (pirls_loop.hpp).
    bool move_to(const Eigen::VectorXd& u, const Eigen::VectorXd& beta);
    double penalised_deviance() const { return sums_.dev + u_.squaredNorm(); }
    void refresh();
    double step(bool update_beta, Eigen::VectorXd& du, Eigen::VectorXd& dbeta) const;

private:
    void require_state() const;
    FixedEffectsElimination eliminate_fixed_effects() const;

    PenalizedSystem sys_;
    int p_;
    Eigen::Index npattern_;
    GatherSums gather_;
    GatherTraces gather_traces_;
    GatherGradient gather_gradient_;
    Eigen::VectorXd theta_, beta_, u_;
    RowSums sums_;
    bool factored_ = false;
    long n_eval_ = 0, n_pirls_ = 0;
    mutable long n_gather_ = 0;
};

}  // namespace glmmfast
