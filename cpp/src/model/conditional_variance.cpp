// conditional_variance.cpp — Var(b | y) blocks (see conditional_variance.hpp).
#include "model/conditional_variance.hpp"

#include <stdexcept>

namespace glmmfast {

Eigen::MatrixXd conditional_variance(const PenalizedSystem& sys, int t) {
    return conditional_variance(sys.lambda(), sys, t);
}

Eigen::MatrixXd conditional_variance(const LambdaMap& lam, const PenalizedSystem& sys, int t) {
    const auto& terms = lam.terms();
    if (t < 0 || t >= static_cast<int>(terms.size())) throw std::out_of_range("term index");
    const int k = terms[t].k, nl = terms[t].nlevels, off = lam.term_offsets()[t];
    const Eigen::MatrixXd T = lam.term_factor(t);
    Eigen::MatrixXd out = sys.inverse_diagonal_blocks(off, k, nl);
    for (int l = 0; l < nl; ++l) out.block(l * k, 0, k, k) = T * out.block(l * k, 0, k, k) * T.transpose();
    return out;
}

}  // namespace glmmfast
