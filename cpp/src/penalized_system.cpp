// penalized_system.cpp — forming and factorising A = U'WU + I (see
// penalized_system.hpp).
#include "penalized_system.hpp"

#include <algorithm>
#include <stdexcept>

namespace glmmfast {

PenalizedSystem::PenalizedSystem(SpMat Z, const std::vector<TermShape>& terms)
    : Z_(std::move(Z)), lambda_(terms) {
    if (Z_.cols() != lambda_.q()) throw std::invalid_argument("Z's columns do not match the random-effects terms");
    Z_.makeCompressed();
    identity_.resize(q(), q());
    identity_.setIdentity();
    set_theta(lambda_.initial_theta());
}

void PenalizedSystem::set_theta(const Eigen::VectorXd& theta) {
    lambda_.update(theta);
    U_ = Z_ * lambda_.matrix();
}

bool PenalizedSystem::factor(const Eigen::VectorXd& sqrtw, const Eigen::VectorXd* sign) {
    WU_ = sqrtw.asDiagonal() * U_;
    if (sign) {
        const SpMat sWU = sign->asDiagonal() * WU_;
        A_ = SpMat(WU_.transpose()) * sWU + identity_;
    } else {
        A_ = SpMat(WU_.transpose()) * WU_ + identity_;
    }
    A_.makeCompressed();
    // The pattern of A is fixed by Z and Lambda's pattern; check rather than
    // trust it, and re-analyse only if it ever changed.
    const bool same =
        analysed_ && static_cast<size_t>(A_.nonZeros()) == analysed_inner_.size() &&
        std::equal(analysed_outer_.begin(), analysed_outer_.end(), A_.outerIndexPtr()) &&
        std::equal(analysed_inner_.begin(), analysed_inner_.end(), A_.innerIndexPtr());
    if (!same) {
        chol_.analyzePattern(A_);
        analysed_outer_.assign(A_.outerIndexPtr(), A_.outerIndexPtr() + A_.cols() + 1);
        analysed_inner_.assign(A_.innerIndexPtr(), A_.innerIndexPtr() + A_.nonZeros());
        analysed_ = true;
    }
    chol_.factorize(A_);
    return chol_.info() == Eigen::Success;
}

Eigen::MatrixXd PenalizedSystem::solve_L(const Eigen::MatrixXd& B) const {
    return chol_.matrixL().solve(chol_.permutationP() * B);
}

Eigen::MatrixXd PenalizedSystem::solve_Lt(const Eigen::MatrixXd& B) const {
    return chol_.permutationPinv() * chol_.matrixU().solve(B);
}

double PenalizedSystem::log_det_L2() const {
    const auto& L = chol_.matrixL().nestedExpression();
    return 2.0 * L.diagonal().array().log().sum();
}

Eigen::MatrixXd PenalizedSystem::inverse_block(int start, int size) const {
    if (start < 0 || size < 0 || start + size > q()) throw std::out_of_range("inverse_block out of range");
    Eigen::MatrixXd E = Eigen::MatrixXd::Zero(q(), size);
    for (int j = 0; j < size; ++j) E(start + j, j) = 1.0;
    return chol_.solve(E).block(start, 0, size, size);
}

}  // namespace glmmfast
