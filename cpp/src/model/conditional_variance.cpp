// conditional_variance.cpp — Var(b | y) blocks (see conditional_variance.hpp).
#include "model/conditional_variance.hpp"

#include <stdexcept>

#include "optim/interrupt.hpp"

namespace glmmfast {

Eigen::MatrixXd conditional_variance(const PenalizedSystem& sys, int t) {
    return conditional_variance(sys.lambda(), sys, t);
}

Eigen::MatrixXd conditional_variance(const LambdaMap& lam, const PenalizedSystem& sys, int t) {
    const auto& terms = lam.terms();
    if (t < 0 || t >= static_cast<int>(terms.size())) throw std::out_of_range("term index");
    const int k = terms[t].k, nl = terms[t].nlevels, off = lam.term_offsets()[t];
    const Eigen::MatrixXd T = lam.term_factor(t);
    Eigen::MatrixXd out(nl * k, k);
    for (int l = 0; l < nl; ++l) {
        if ((l & 63) == 0) check_interrupt();  // each block is a solve with A on a sparse factor
        out.block(l * k, 0, k, k) = T * sys.inverse_block(off + l * k, k) * T.transpose();
    }
    return out;
}

}  // namespace glmmfast
