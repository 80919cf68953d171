// lambda_map.cpp — Lambda(theta) construction (see lambda_map.hpp).
#include "covariance/lambda_map.hpp"

#include <limits>
#include <stdexcept>

namespace glmmfast {

int LambdaMap::q_of(const std::vector<TermShape>& terms) {
    // Sizes are summed in 64 bits first so absurd shapes are refused
    // instead of overflowing int.
    long long q_total = 0, pattern_total = 0;
    for (const auto& t : terms) {
        if (t.k < 1 || t.nlevels < 1) throw std::invalid_argument("term with no columns or no levels");
        q_total += static_cast<long long>(t.k) * t.nlevels;
        pattern_total += static_cast<long long>(t.k) * (t.k + 1) / 2;
        if (q_total > std::numeric_limits<int>::max() / 4 || pattern_total > 100000)
            throw std::invalid_argument("random-effects terms too large");
    }
    return static_cast<int>(q_total);
}

LambdaMap::LambdaMap(const std::vector<TermShape>& terms) : terms_(terms) {
    q_of(terms_);
    for (const auto& t : terms_) {
        structures_.push_back(make_covariance(t));
        offsets_.push_back(q_);
        theta_offsets_.push_back(ntheta_);
        q_ += t.k * t.nlevels;
        ntheta_ += structures_.back()->nparams();
    }
    // Column-major pattern: column (level l, coef j) of term t holds rows
    // (l, i) for i >= j, i.e. the j-th column of T_t's lower triangle;
    // columns and rows come in increasing order, so the pattern is written
    // directly, with each stored entry's term and its entry (i, j) of T_t,
    // as i + j k.
    long long nnz = 0;
    for (const auto& t : terms_) nnz += static_cast<long long>(t.nlevels) * t.k * (t.k + 1) / 2;
    lambda_.resize(q_, q_);
    lambda_.resizeNonZeros(static_cast<Eigen::Index>(nnz));
    term_of_nz_.resize(static_cast<size_t>(nnz));
    entry_of_nz_.resize(static_cast<size_t>(nnz));
    int *outer = lambda_.outerIndexPtr(), *inner = lambda_.innerIndexPtr();
    int p = 0;
    for (size_t t = 0; t < terms_.size(); ++t) {
        const int k = terms_[t].k;
        for (int l = 0; l < terms_[t].nlevels; ++l) {
            const int base = offsets_[t] + l * k;
            for (int j = 0; j < k; ++j) {
                *outer++ = p;
                for (int i = j; i < k; ++i, ++p) {
                    inner[p] = base + i;
                    term_of_nz_[p] = static_cast<int>(t);
                    entry_of_nz_[p] = i + j * k;
                }
            }
        }
    }
    *outer = p;
    std::fill(lambda_.valuePtr(), lambda_.valuePtr() + p, 1.0);
    for (size_t t = 0; t < terms_.size(); ++t) {
        theta_parts_.emplace_back(structures_[t]->nparams());
        factors_.emplace_back(terms_[t].k, terms_[t].k);
        next_factors_.emplace_back(terms_[t].k, terms_[t].k);
    }
    update(initial_theta());
}

std::vector<double> LambdaMap::lower_bounds() const {
    std::vector<double> lb;
    for (const auto& s : structures_) {
        const auto b = s->lower_bounds();
        lb.insert(lb.end(), b.begin(), b.end());
    }
    return lb;
}

Eigen::VectorXd LambdaMap::initial_theta() const {
    Eigen::VectorXd th(ntheta_);
    for (size_t t = 0; t < structures_.size(); ++t)
        th.segment(theta_offsets_[t], structures_[t]->nparams()) = structures_[t]->initial();
    return th;
}

void LambdaMap::update(const Eigen::VectorXd& theta) {
    if (theta.size() != ntheta_) throw std::invalid_argument("theta has the wrong length");
    if (!theta.allFinite()) throw std::invalid_argument("theta has non-finite values");
    // Every T_t first (a structure may refuse its theta), then commit.
    for (size_t t = 0; t < structures_.size(); ++t) {
        theta_parts_[t] = theta.segment(theta_offsets_[t], structures_[t]->nparams());
        structures_[t]->write_factor(theta_parts_[t], next_factors_[t]);
    }
    theta_ = theta;
    factors_.swap(next_factors_);
    double* x = lambda_.valuePtr();
    for (size_t p = 0; p < term_of_nz_.size(); ++p) x[p] = factors_[term_of_nz_[p]].data()[entry_of_nz_[p]];
}

std::vector<Eigen::MatrixXd> LambdaMap::term_factor_derivatives(int t) const {
    return structures_[t]->factor_derivatives(theta_.segment(theta_offsets_[t], structures_[t]->nparams()));
}

Eigen::VectorXd LambdaMap::chain_gradient(const std::vector<Eigen::MatrixXd>& G) const {
    Eigen::VectorXd g(ntheta_);
    for (size_t t = 0; t < structures_.size(); ++t) {
        const int np = structures_[t]->nparams();
        g.segment(theta_offsets_[t], np) = structures_[t]->chain_gradient(theta_.segment(theta_offsets_[t], np), G[t]);
    }
    return g;
}

}  // namespace glmmfast
