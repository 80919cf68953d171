// node_log_sum_exp.hpp — the running log-sum-exp over quadrature nodes that
// the AGQ deviance (agq.cpp) and its exact gradient (agq_gradient.cpp) share,
// one accumulator per level j.
//
// Interface: NodeLogSumExp(nq); add(j, t, fac, e) after each node's term t;
// log_total() = sum_j log sum_k e^{t_jk}.
//
// After nodes t_1..t_K of level j it holds top_j = max_k t_k and
// sum_j = sum_k e^{t_k - top_j}, so log sum_k e^{t_k} = top_j + log sum_j
// without overflow.  When a new node raises top_j, everything accumulated so
// far is rescaled by fac = e^{top_old - top_new}; add() returns fac and the new
// node's weight e = e^{t - top_new}, so a caller's own accumulators (the
// gradient's expectations) follow the same rescaling.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

namespace glmmfast {

struct NodeLogSumExp {
    Eigen::ArrayXd top, sum;

    explicit NodeLogSumExp(Eigen::Index nq)
        : top(Eigen::ArrayXd::Constant(nq, -std::numeric_limits<double>::infinity())),
          sum(Eigen::ArrayXd::Zero(nq)) {}

    // A non-finite t is a node where the integrand vanishes (eta outside the
    // family's domain): it leaves level j unchanged (fac 1, e 0).
    void add(Eigen::Index j, double t, double& fac, double& e) {
        if (!std::isfinite(t)) {
            fac = 1.0;
            e = 0.0;
            return;
        }
        const double new_top = std::max(top[j], t);
        fac = std::exp(top[j] - new_top);
        e = std::exp(t - new_top);
        top[j] = new_top;
        sum[j] = sum[j] * fac + e;
    }

    double log_total() const { return (top + sum.log()).sum(); }
};

}  // namespace glmmfast
