// cross_product.hpp — A'B for tall, thin A and B (n x p, p small): the
// fixed effects' X'WX and R_ZX'R_ZX that every PIRLS step and elimination forms.
//
// Interface: cross_product(A, B) = A'B; cross_product(A) = A'A (its lower
// triangle computed, mirrored: exactly symmetric); subtract_cross_product(C, A)
// does C -= A'A.  Where A and B fit in cache (kSmallCrossProduct entries) each
// entry is one dot product of two columns: Eigen's GEMM packs both operands
// into panels first, which for a 3 x 3 result from 403 rows (grouseticks)
// took three times the instructions of the dots.  Larger operands take the
// GEMM, whose panels read each column once instead of p times.  The two
// orders of summation differ by rounding only.
#pragma once

#include <Eigen/Core>

namespace glmmfast {

// Entries of A and B together up to which the dot products beat the GEMM
// (32k doubles: 256 kB, a core's L2).
constexpr Eigen::Index kSmallCrossProduct = 32768;

inline bool small_cross_product(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B) {
    return A.size() + B.size() <= kSmallCrossProduct;
}

inline Eigen::MatrixXd cross_product(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B) {
    if (!small_cross_product(A, B)) return A.transpose() * B;
    Eigen::MatrixXd C(A.cols(), B.cols());
    for (Eigen::Index j = 0; j < B.cols(); ++j)
        for (Eigen::Index i = 0; i < A.cols(); ++i) C(i, j) = A.col(i).dot(B.col(j));
    return C;
}

inline Eigen::MatrixXd cross_product(const Eigen::MatrixXd& A) {
    if (!small_cross_product(A, A)) return A.transpose() * A;
    Eigen::MatrixXd C(A.cols(), A.cols());
    for (Eigen::Index j = 0; j < A.cols(); ++j)
        for (Eigen::Index i = j; i < A.cols(); ++i) C(i, j) = C(j, i) = A.col(i).dot(A.col(j));
    return C;
}

template <class Block>
void subtract_cross_product(Eigen::MatrixXd& C, const Block& A) {
    if (A.size() * 2 > kSmallCrossProduct) {
        C.noalias() -= A.transpose() * A;
        return;
    }
    for (Eigen::Index j = 0; j < A.cols(); ++j)
        for (Eigen::Index i = j; i < A.cols(); ++i) {
            const double d = A.col(i).dot(A.col(j));
            C(i, j) -= d;
            if (i != j) C(j, i) -= d;
        }
}

}  // namespace glmmfast
