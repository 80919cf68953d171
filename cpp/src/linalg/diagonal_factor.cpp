// diagonal_factor.cpp — the factor of a diagonal A (see diagonal_factor.hpp).
#include "linalg/diagonal_factor.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace glmmfast {

bool DiagonalFactor::fits(const std::vector<std::pair<int, int>>& pairs) {
    return std::all_of(pairs.begin(), pairs.end(), [](const std::pair<int, int>& rc) { return rc.first == rc.second; });
}

int DiagonalFactor::position(int r, int c) const {
    if (r != c || r < 0 || r >= dim()) throw std::logic_error("pair outside the analysed pattern");
    return r;
}

bool DiagonalFactor::factorize() {
    // As the simplicial LLT: a pivot that is not positive fails.
    for (Eigen::Index j = 0; j < A_.size(); ++j) {
        if (!(A_[j] > 0.0)) return false;
        L_[j] = std::sqrt(A_[j]);
    }
    return true;
}

Eigen::MatrixXd DiagonalFactor::solve_L(const Eigen::MatrixXd& B) const {
    if (B.rows() != A_.size()) throw std::invalid_argument("solve_L: B has the wrong number of rows");
    return (B.array().colwise() / L_.array()).matrix();  // divisions, as the triangular solve's
}

double DiagonalFactor::log_det() const { return 2.0 * L_.array().log().sum(); }

Eigen::MatrixXd DiagonalFactor::inverse_block(int start, int size) const {
    if (start < 0 || size < 0 || start + size > dim()) throw std::out_of_range("inverse_block out of range");
    return A_.segment(start, size).cwiseInverse().asDiagonal();
}

Eigen::VectorXd DiagonalFactor::selected_inverse() const { return A_.cwiseInverse(); }

}  // namespace glmmfast
