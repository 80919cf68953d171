// row_block.hpp — one partition of a GLMM's rows, answering with sums.
//
// Interface: `RowBlock` holds a partition's X (n_p x p), Z (n_p x q, the
// columns of the whole model: levels coded globally), response, prior
// weights, offset and family (an exponential-dispersion family: poisson,
// binomial, Gamma, inverse Gaussian, gaussian, negative binomial, any of
// their links).  Built once where the partition lives (a Dask worker), it is
// asked at a point (theta, beta, u) and the family's parameters `values`
// (one per Family::parameters(): the dispersion phi, the negative
// binomial's theta; empty for poisson and binomial) for its `RowSums`:
//     valid        the linear predictor is valid on every row;
//     loglik       sum_i log f(y_i | eta_i), the family's constants included
//                  (the Laplace deviance's first term, laplace.cpp);
//     dev          sum_i d_i (the penalised deviance's, pirls.cpp: sum d_i / phi);
//     pearson      sum_i pw_i (y_i - mu_i)^2 / V(mu_i) (families with a
//                  dispersion, else 0: the dispersion's moment estimate);
//     eta_abs      sum_i |eta_i - offset_i| (the scale of theta's start);
//     UtWU         U'WU's values on the model's pattern (set_pattern: the
//                  sorted lower-triangle pairs every partition's rows touch;
//                  empty where Lambda = 0, U'WU = 0 then),
//     UtWr, XtWr   U'W r and X'W r (W r the score in eta),
//     UtWX, XtWX   U'WX (q x p) and X'WX,
// with U = Z Lambda(theta) and W GlmmModel's PIRLS weights
// (exponential_dispersion_weights, glmm_model.hpp): the Fisher weights, or
// with `exact` the observed information with its signs (the Newton steps'
// and the Laplace term's Hessian; the same for a canonical link).  Every
// field is a sum over rows, so partitions' sums add (RowSums::add) and their
// size, O(nnz(pattern) + q p + p^2), does not grow with n.  PartitionedGlmm
// (partitioned_glmm.hpp) turns the summed RowSums into PIRLS steps and the
// Laplace deviance.
// The exact gradient's per-row parts (laplace_gradient_rows.hpp):
// trace_sums at the mode (the rows' s, w, w' from canonical_row_derivatives
// or observation_gradient_terms, as GlmmModel::laplace_gradient chooses),
// then gradient_sums: d D / d theta, X'r and d D / d log p for the family
// parameters named (log_parameter_gradient: central differences in log p, two
// passes over the rows each; none for a parameter the optimiser holds fixed,
// which is not named; moved_parameter_passes counts them).
// start_sums(values): the GLM's first IRLS step from R's mustart (X'WX, X'Wz
// with mu = mustart(y), z = eta - offset + (y - mu) / mu_eta), the
// partitioned fit's start; glm_means(beta): the GLM's means at beta
// (linkinv(offset + X beta)), with y and prior_weights the rows of glmer_nb's
// moment start (fit/_moment_start.py).
#pragma once

#include <Eigen/Core>
#include <string>
#include <utility>
#include <vector>

#include "family/family.hpp"
#include "linalg/row_layout.hpp"
#include "model/glmm_model.hpp"
#include "model/laplace_gradient_rows.hpp"

namespace glmmfast {

struct RowSums {
    bool valid = true;
    double loglik = 0.0, dev = 0.0, pearson = 0.0, eta_abs = 0.0;
    Eigen::VectorXd UtWU, UtWr, XtWr;
    Eigen::MatrixXd UtWX, XtWX;
    // Zero sums of a model with `npattern` pattern entries, q random and p fixed effects.
    static RowSums zero(Eigen::Index npattern, Eigen::Index q, Eigen::Index p);
    void add(const RowSums& other);
};

// The gradient's second round trip: d D / d theta, X'r (d D / d beta) and
// d D / d log p per family parameter asked for (in the order asked).
struct GradientSums {
    Eigen::VectorXd theta, beta, family;
};

class RowBlock {
public:
    RowBlock(Eigen::MatrixXd X, const SpMat& Z, Eigen::VectorXd y, Eigen::VectorXd prior_weights,
             Eigen::VectorXd offset, Family family, const std::vector<TermShape>& terms);

    int n() const { return rows_.n(); }
    int p() const { return static_cast<int>(X_.cols()); }
    int q() const { return rows_.q(); }
    // The lower-triangle pairs of U'WU this partition's rows touch (sorted).
    std::vector<std::pair<int, int>> pattern() const { return rows_.pairs(); }
    // The model's pattern (the union of the partitions'): UtWU's layout.
    void set_pattern(const std::vector<std::pair<int, int>>& pattern);
    RowSums sums(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u,
                 const Eigen::VectorXd& values, bool exact);
    std::pair<Eigen::VectorXd, Eigen::VectorXd> trace_sums(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta,
                                                           const Eigen::VectorXd& u, const Eigen::VectorXd& values,
                                                           const Eigen::VectorXd& sel);
    // z_b empty: the gradient with beta fixed (no X z_b term); log_parameters: the family parameters
    // (Family::parameters()' names) whose d D / d log p is wanted, the optimiser's coordinates.
    GradientSums gradient_sums(const Eigen::VectorXd& z_u, const Eigen::VectorXd& z_b,
                               const std::vector<std::string>& log_parameters);
    // Passes over the rows at a moved family parameter so far (two per d D / d log p).
    long moved_parameter_passes() const { return moved_parameter_passes_; }
    std::pair<Eigen::MatrixXd, Eigen::VectorXd> start_sums(const Eigen::VectorXd& values);
    Eigen::VectorXd glm_means(const Eigen::VectorXd& beta) const;
    const Eigen::ArrayXd& y() const { return y_; }
    const Eigen::ArrayXd& prior_weights() const { return pw_; }

private:
    Eigen::MatrixXd X_;
    Eigen::ArrayXd y_, pw_;  // arrays, as the families take them (glmm_model.hpp)
    Eigen::VectorXd offset_;
    Family family_;
    double phi_ = 1.0;
    RowLayout rows_;
    ResponseConstants constants_;
    Eigen::Index npattern_ = -1;
    std::vector<int> scatter_;
    // The family's parameters (phi, shapes) at `values`.
    void set_family_values(const Eigen::VectorXd& values);
    // eta and mu at theta, beta, u (valid: false where eta is invalid).
    bool evaluate(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u);
    Eigen::ArrayXd eta_, mu_;
    Eigen::VectorXd u_;
    LaplaceTraceRows trace_;  // trace_sums' rows, for gradient_sums
    long moved_parameter_passes_ = 0;
};

}  // namespace glmmfast
