// factor_gradient.hpp — the gradient in theta of a criterion whose derivative
// in an entry of a relative covariance factor is a sum over observations.
//
// Interface: theta_gradient(sys, row_value), sys a PenalizedSystem or a
// RowLayout (a partition's rows: the result is then that partition's share,
// and shares add, the map from G_t to theta being linear).  For both exact gradients
// (laplace_gradient.cpp, zi_random_effects_gradient.cpp) the derivative of the criterion F
// in entry (a, c) of T_t has the form
//     dF/dT_t(a, c) = sum_i z_{i,a} f_i(c),
// where z_{i,a} is Z's value for coefficient a of term t in row i and
// f_i(c) = row_value(i, j, col) with j = st + c the u-index of coefficient c
// at row i's level of term t (rows with no level are skipped) and
// col = (term t's first column) + c the column in the per-row arrays
// (PenalizedSystem::z_value, selected_row_products).  One pass over the rows per term gives
// the k x k matrix G_t (its lower triangle), and the term's covariance
// structure turns G_t into the gradient in its parameters,
//     dF/dtheta_j = sum_{a>=c} dT_t(a,c)/dtheta_j G_t(a,c)
// (LambdaMap::chain_gradient), which for "us" is G_t's lower triangle.
#pragma once

#include <Eigen/Core>
#include <vector>

#include "linalg/penalized_system.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

template <class System, class RowValue>
Eigen::VectorXd theta_gradient(const System& sys, RowValue row_value) {
    const auto& terms = sys.lambda().terms();
    const int nobs = sys.n();
    std::vector<Eigen::MatrixXd> G;
    for (int t = 0; t < static_cast<int>(terms.size()); ++t) {
        check_interrupt();  // each term is a pass over the rows
        const int k = terms[t].k, tc = sys.term_column(t);
        Eigen::MatrixXd Gt = Eigen::MatrixXd::Zero(k, k);
        if (k == 1) {  // scalar terms (most of them): the sum stays in a register
            double g = 0.0;
            for (int i = 0; i < nobs; ++i) {
                const int st = sys.level_start(i, t);
                if (st >= 0) g += sys.z_value(i, tc) * row_value(i, st, tc);
            }
            Gt(0, 0) = g;
        } else {
            double* g = Gt.data();  // column-major: entry (a, c) at a + c k
            for (int i = 0; i < nobs; ++i) {
                const int st = sys.level_start(i, t);
                if (st < 0) continue;
                for (int c = 0; c < k; ++c) {
                    const double f = row_value(i, st + c, tc + c);
                    double* gc = g + c * k;
                    for (int a = c; a < k; ++a) gc[a] += sys.z_value(i, tc + a) * f;
                }
            }
        }
        G.push_back(std::move(Gt));
    }
    return sys.lambda().chain_gradient(G);
}

}  // namespace glmmfast
