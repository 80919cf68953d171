// row_block.hpp — one partition of a GLMM's rows, answering with sums.
//
// Interface: `RowBlock` holds a partition's X (n_p x p), Z (n_p x q, the
// columns of the whole model: levels coded globally), response, prior
// weights, offset and family.  Built once where the partition lives (a Dask
// worker), it is asked at a point (theta, beta, u) for its `RowSums`:
//     valid        the linear predictor is valid on every row;
//     loglik       sum_i log f(y_i | eta_i), the family's constants included
//                  (the Laplace deviance's first term, laplace.cpp);
//     dev          sum_i d_i (the penalised deviance's, pirls.cpp);
//     UtWU         U'WU's values on the model's pattern (set_pattern: the
//                  sorted lower-triangle pairs every partition's rows touch),
//     UtWr, XtWr   U'W r and X'W r (W r the score in eta),
//     UtWX, XtWX   U'WX (q x p) and X'WX,
// with U = Z Lambda(theta), W the Fisher weights (= the observed information:
// only canonical links without a dispersion are accepted).  Every field is a
// sum over rows, so partitions' sums add (RowSums::add) and their size,
// O(nnz(pattern) + q p + p^2), does not grow with n.  PartitionedGlmm
// (partitioned_glmm.hpp) turns the summed RowSums into PIRLS steps and the
// Laplace deviance.
#pragma once

#include <Eigen/Core>
#include <utility>
#include <vector>

#include "family/family.hpp"
#include "linalg/row_layout.hpp"
#include "model/glmm_model.hpp"
#include "model/laplace_gradient_rows.hpp"

namespace glmmfast {

struct RowSums {
    bool valid = true;
    double loglik = 0.0, dev = 0.0;
    Eigen::VectorXd UtWU, UtWr, XtWr;
    Eigen::MatrixXd UtWX, XtWX;
    // Zero sums of a model with `npattern` pattern entries, q random and p fixed effects.
    static RowSums zero(Eigen::Index npattern, Eigen::Index q, Eigen::Index p);
    void add(const RowSums& other);
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
    RowSums sums(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u);
    std::pair<Eigen::VectorXd, Eigen::VectorXd> trace_sums(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta,
                                                           const Eigen::VectorXd& u, const Eigen::VectorXd& sel);
    // z_b empty: the gradient with beta fixed (no X z_b term).
    std::pair<Eigen::VectorXd, Eigen::VectorXd> gradient_sums(const Eigen::VectorXd& z_u, const Eigen::VectorXd& z_b);

private:
    Eigen::MatrixXd X_;
    Eigen::VectorXd y_, pw_, offset_;
    Family family_;
    RowLayout rows_;
    ResponseConstants constants_;
    Eigen::Index npattern_ = -1;
    std::vector<int> scatter_;
    // eta and mu at theta, beta, u (valid: false where eta is invalid).
    bool evaluate(const Eigen::VectorXd& theta, const Eigen::VectorXd& beta, const Eigen::VectorXd& u);
    Eigen::VectorXd eta_, mu_, u_;
    LaplaceTraceRows trace_;  // trace_sums' rows, for gradient_sums
};

}  // namespace glmmfast
