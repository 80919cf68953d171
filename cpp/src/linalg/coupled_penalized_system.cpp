// coupled_penalized_system.cpp — A = U'HU + I with the 2 x 2 coupling of two
// linear predictors per observation (see coupled_penalized_system.hpp).
#include "linalg/coupled_penalized_system.hpp"

#include <algorithm>
#include <stdexcept>

namespace glmmfast {

namespace {

int first_part_columns(const std::vector<TermShape>& terms, int n_first, bool u_indices) {
    if (n_first < 0 || n_first > static_cast<int>(terms.size()))
        throw std::invalid_argument("n_first must count some of the terms");
    int k = 0;
    for (int t = 0; t < n_first; ++t) k += u_indices ? terms[t].k * terms[t].nlevels : terms[t].k;
    return k;
}

}  // namespace

CoupledPenalizedSystem::CoupledPenalizedSystem(const SpMat& Z, const std::vector<TermShape>& terms, int n_first,
                                               const std::string& factorization)
    : rows_(Z, terms),
      K_first_(first_part_columns(terms, n_first, false)),
      q_first_(first_part_columns(terms, n_first, true)),
      sys_(terms, rows_.pairs(), factorization) {
    const std::vector<std::pair<int, int>> pattern = rows_.pairs();
    scatter_ = rows_.scatter_table([&](int r, int c) {
        const auto it = std::lower_bound(pattern.begin(), pattern.end(), std::make_pair(r, c));
        return static_cast<int>(it - pattern.begin());
    });
    values_.resize(static_cast<Eigen::Index>(pattern.size()));
}

Eigen::VectorXd CoupledPenalizedSystem::part_times(const Eigen::VectorXd& u, int first_col, int end_col) const {
    if (u.size() != q()) throw std::invalid_argument("u has the wrong length");
    Eigen::VectorXd out(n());
    for (int i = 0; i < n(); ++i) {
        const int* cols = rows_.columns(i);
        const double* ur = rows_.u_row(i);
        double s = 0.0;
        for (int a = first_col; a < end_col; ++a)
            if (cols[a] >= 0) s += ur[a] * u[cols[a]];
        out[i] = s;
    }
    return out;
}

Eigen::VectorXd CoupledPenalizedSystem::Ut_times(const Eigen::VectorXd& v1, const Eigen::VectorXd& v2) const {
    if (v1.size() != n() || v2.size() != n()) throw std::invalid_argument("U' needs one value per observation");
    Eigen::VectorXd out = Eigen::VectorXd::Zero(q());
    const int K = rows_.K();
    for (int i = 0; i < n(); ++i) {
        const int* cols = rows_.columns(i);
        const double* ur = rows_.u_row(i);
        for (int a = 0; a < K; ++a)
            if (cols[a] >= 0) out[cols[a]] += ur[a] * (a < K_first_ ? v1[i] : v2[i]);
    }
    return out;
}

bool CoupledPenalizedSystem::factor(const Eigen::VectorXd& h11, const Eigen::VectorXd& h22,
                                    const Eigen::VectorXd& h12) {
    if (h11.size() != n() || h22.size() != n() || h12.size() != n())
        throw std::invalid_argument("the Hessian blocks need one value per observation");
    values_.setZero();
    const int K = rows_.K();
    const int P = K * (K + 1) / 2;
    for (int i = 0; i < n(); ++i) {
        const double* ur = rows_.u_row(i);
        const int* sc = scatter_.data() + static_cast<size_t>(i) * P;
        int p = 0;
        for (int a = 0; a < K; ++a) {
            for (int b = 0; b <= a; ++b, ++p) {
                if (sc[p] < 0) continue;
                const bool a1 = a < K_first_, b1 = b < K_first_;
                const double h = a1 && b1 ? h11[i] : (!a1 && !b1 ? h22[i] : h12[i]);
                values_[sc[p]] += h * ur[a] * ur[b];
            }
        }
    }
    return sys_.factor_assembled(values_);
}

void CoupledPenalizedSystem::selected_part_products(RowLayout::RowMajor& Y1, RowLayout::RowMajor& Y2) const {
    const Eigen::VectorXd sel = sys_.pattern_selected_inverse();
    const int K = rows_.K();
    const int P = K * (K + 1) / 2;
    Y1 = RowLayout::RowMajor::Zero(n(), K);
    Y2 = RowLayout::RowMajor::Zero(n(), K);
    for (int i = 0; i < n(); ++i) {
        const double* ur = rows_.u_row(i);
        const int* sc = scatter_.data() + static_cast<size_t>(i) * P;
        double* y1 = Y1.data() + static_cast<size_t>(i) * K;
        double* y2 = Y2.data() + static_cast<size_t>(i) * K;
        int p = 0;
        for (int a = 0; a < K; ++a) {
            for (int b = 0; b <= a; ++b, ++p) {
                if (sc[p] < 0) continue;
                const double z = sel[sc[p]];
                // A^{-1}[c_a, c_b] u_b adds to column a of part(b)'s products, and symmetrically.
                (b < K_first_ ? y1 : y2)[a] += z * ur[b];
                if (b != a) (a < K_first_ ? y1 : y2)[b] += z * ur[a];
            }
        }
    }
}

}  // namespace glmmfast
