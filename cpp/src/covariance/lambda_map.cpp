// lambda_map.cpp — Lambda(theta) construction (see lambda_map.hpp).
#include "covariance/lambda_map.hpp"

#include <limits>
#include <stdexcept>

namespace glmmfast {

LambdaMap::LambdaMap(const std::vector<TermShape>& terms) : terms_(terms) {
    // Sizes are summed in 64 bits first so absurd shapes are refused
    // instead of overflowing int.
    long long q_total = 0, theta_total = 0;
    for (const auto& t : terms_) {
        if (t.k < 1 || t.nlevels < 1) throw std::invalid_argument("term with no columns or no levels");
        q_total += static_cast<long long>(t.k) * t.nlevels;
        theta_total += static_cast<long long>(t.k) * (t.k + 1) / 2;
        if (q_total > std::numeric_limits<int>::max() / 4 || theta_total > 100000)
            throw std::invalid_argument("random-effects terms too large");
    }
    for (const auto& t : terms_) {
        offsets_.push_back(q_);
        theta_offsets_.push_back(ntheta_);
        q_ += t.k * t.nlevels;
        ntheta_ += t.k * (t.k + 1) / 2;
    }
    // Column-major pattern: column (level l, coef j) of term t holds rows
    // (l, i) for i >= j, i.e. the j-th column of T_t's lower triangle.
    std::vector<Eigen::Triplet<double, int>> trip;
    for (size_t t = 0; t < terms_.size(); ++t) {
        const int k = terms_[t].k;
        for (int l = 0; l < terms_[t].nlevels; ++l) {
            const int base = offsets_[t] + l * k;
            for (int j = 0; j < k; ++j)
                for (int i = j; i < k; ++i) trip.emplace_back(base + i, base + j, 1.0);
        }
    }
    lambda_.resize(q_, q_);
    lambda_.setFromTriplets(trip.begin(), trip.end());
    lambda_.makeCompressed();
    // Map each stored entry to its theta: within a term block, entry (i, j)
    // of T_t is theta_off + (position of (i, j) in the column-major lower triangle).
    theta_of_nz_.resize(lambda_.nonZeros());
    for (size_t t = 0; t < terms_.size(); ++t) {
        const int k = terms_[t].k;
        for (int l = 0; l < terms_[t].nlevels; ++l) {
            const int base = offsets_[t] + l * k;
            for (int j = 0; j < k; ++j) {
                const int col = base + j;
                for (int p = lambda_.outerIndexPtr()[col]; p < lambda_.outerIndexPtr()[col + 1]; ++p) {
                    const int i = lambda_.innerIndexPtr()[p] - base;
                    // entries before column j: sum_{c<j} (k - c)
                    const int pos = j * k - j * (j - 1) / 2 + (i - j);
                    theta_of_nz_[p] = theta_offsets_[t] + pos;
                }
            }
        }
    }
    update(initial_theta());
}

std::vector<double> LambdaMap::lower_bounds() const {
    std::vector<double> lb(ntheta_, -std::numeric_limits<double>::infinity());
    for (size_t t = 0; t < terms_.size(); ++t) {
        const int k = terms_[t].k;
        int th = theta_offsets_[t];
        for (int j = 0; j < k; ++j)
            for (int i = j; i < k; ++i, ++th)
                if (i == j) lb[th] = 0.0;
    }
    return lb;
}

Eigen::VectorXd LambdaMap::initial_theta() const {
    Eigen::VectorXd th(ntheta_);
    auto lb = lower_bounds();
    for (int i = 0; i < ntheta_; ++i) th[i] = lb[i] == 0.0 ? 1.0 : 0.0;
    return th;
}

void LambdaMap::update(const Eigen::VectorXd& theta) {
    if (theta.size() != ntheta_) throw std::invalid_argument("theta has the wrong length");
    if (!theta.allFinite()) throw std::invalid_argument("theta has non-finite values");
    theta_ = theta;
    double* x = lambda_.valuePtr();
    for (size_t p = 0; p < theta_of_nz_.size(); ++p) x[p] = theta[theta_of_nz_[p]];
}

Eigen::MatrixXd LambdaMap::term_factor(int t) const {
    const int k = terms_[t].k;
    Eigen::MatrixXd T = Eigen::MatrixXd::Zero(k, k);
    int th = theta_offsets_[t];
    for (int j = 0; j < k; ++j)
        for (int i = j; i < k; ++i, ++th) T(i, j) = theta_[th];
    return T;
}

}  // namespace glmmfast
