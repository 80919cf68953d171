// penalized_system.cpp — forming and factorising A = U'WU + I by per-row
// scatter, or from assembled values (see penalized_system.hpp).
#include "linalg/penalized_system.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "linalg/block_diagonal_factor.hpp"
#include "linalg/diagonal_factor.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

PenalizedSystem::PenalizedSystem(const SpMat& Z, const std::vector<TermShape>& terms,
                                 const std::string& factorization)
    : rows_(Z, terms) {
    // Building the pattern and its analysis takes seconds on large data:
    // interruptible between the phases.
    check_interrupt();
    make_factor(terms, rows_.pairs(), factorization);
    check_interrupt();
    scatter_ = rows_.scatter_table([&](int r, int c) { return factor_->position(r, c); });
    diag_pos_.resize(q());
    for (int j = 0; j < q(); ++j) diag_pos_[j] = factor_->position(j, j);
}

PenalizedSystem::PenalizedSystem(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pattern,
                                 const std::string& factorization)
    : rows_(SpMat(0, LambdaMap::q_of(terms)), terms) {
    for (size_t k = 0; k < pattern.size(); ++k) {
        const auto& rc = pattern[k];
        if (rc.first < rc.second || rc.second < 0 || rc.first >= q() || (k > 0 && !(pattern[k - 1] < rc)))
            throw std::invalid_argument("the pattern must be sorted, unique pairs (r >= c) of u-indices");
    }
    make_factor(terms, pattern, factorization);
    pattern_pos_.resize(pattern.size());
    for (size_t k = 0; k < pattern.size(); ++k) pattern_pos_[k] = factor_->position(pattern[k].first, pattern[k].second);
    diag_pos_.resize(q());
    for (int j = 0; j < q(); ++j) diag_pos_[j] = factor_->position(j, j);
}

void PenalizedSystem::make_factor(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pairs,
                                  const std::string& factorization) {
    const int nt = static_cast<int>(terms.size());
    if (factorization != "auto" && factorization != "sparse" && factorization != "blocked")
        throw std::invalid_argument("factorization must be 'auto', 'sparse' or 'blocked'");
    // "auto": the blocked layout where the Schur complement S is large
    // enough for dense kernels to pay and fills in (crossed terms); the
    // sparse factor for small systems and where the other terms nest in
    // the first (S stays sparse).  Beyond the blocked layout's size limit
    // (BlockedFactor::suitable, 2,500) a Schur complement at least a quarter
    // filled (schur_density >= 0.25) and no larger than the first term still
    // takes it: the sparse factor of that fill holds as many entries and
    // runs its flops ~14x slower (3·10^5 rows, 30,000 x 3,000 crossed
    // levels, schur_density 0.33: 1.9 against 27 s per factorisation; 10^4
    // levels in the second term make S 800 MB either way).  Within the
    // limit, S of 200 columns or more takes it when a tenth filled, and S of
    // 50 to 200 columns when filled over (density >= 1, crossed terms: each
    // first-term level meets most second-term levels).  Measured CPU per LMM
    // evaluation with its gradient, sparse against blocked: 10^5 rows,
    // (x | g1) + (1 | g2), 1000 x 100 levels (density 400): 24 against 13 ms;
    // 1000 x 50: 11 against 8 ms; 10^4 rows, 100 x 50 (density 74): 0.59
    // against 0.64 (break-even); nested Chem97 (2410 schools in 131 leas,
    // density 0.14): 0.2 against 1.1 ms; ScotsSec (148 x 19 crossed): 0.03
    // against 0.07 ms (S too small for dense kernels to pay).
    const int q2 = q() - (nt > 0 ? terms[0].k * terms[0].nlevels : 0);
    const auto density = [&] { return BlockedFactor::schur_density(q(), terms[0].k, terms[0].nlevels, pairs); };
    const auto auto_blocked = [&] {
        if (q2 < 50 || q2 > terms[0].k * terms[0].nlevels) return false;
        if (!BlockedFactor::suitable(q(), terms[0].k, terms[0].nlevels)) return density() >= 0.25;
        return q2 >= 200 ? density() > 0.1 : density() >= 1.0;
    };
    blocked_ = nt > 0 && (factorization == "blocked" || (factorization == "auto" && auto_blocked()));
    // A diagonal pattern ((1 | g) alone) and a block-diagonal one ((x | g)
    // alone: k x k blocks per level) are their own factors: the sparse
    // factor's numbers without its ordering and symbolic analysis.
    if (blocked_) factor_ = std::make_unique<BlockedFactor>(q(), terms[0].k, terms[0].nlevels, pairs);
    else if (DiagonalFactor::fits(pairs)) factor_ = std::make_unique<DiagonalFactor>(q());
    else if (nt == 1 && BlockDiagonalFactor::fits(terms[0].k, pairs))
        factor_ = std::make_unique<BlockDiagonalFactor>(terms[0].k, terms[0].nlevels);
    else factor_ = std::make_unique<SparseFactor>(q(), pairs);
}

void PenalizedSystem::set_theta(const Eigen::VectorXd& theta) { rows_.set_theta(theta); }

bool PenalizedSystem::lambda_is_zero() const { return rows_.lambda().is_zero(); }

Eigen::VectorXd PenalizedSystem::identity_values() const {
    Eigen::VectorXd x = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(factor_->nvalues()));
    for (int j = 0; j < q(); ++j) x[diag_pos_[j]] = 1.0;
    return x;
}

Eigen::VectorXd PenalizedSystem::selected_inverse() const {
    return identity_ ? identity_values() : factor_->selected_inverse();
}

bool PenalizedSystem::factor(const Eigen::VectorXd& sqrtw, const Eigen::VectorXd* sign) {
    check_interrupt();
    sqrtw_ = sqrtw;
    identity_ = lambda_is_zero();
    if (identity_) return true;
    double* x = factor_->values();
    std::fill(x, x + factor_->nvalues(), 0.0);
    for (int j = 0; j < q(); ++j) x[diag_pos_[j]] = 1.0;
    rows_.scatter_UtWU(sqrtw.data(), sign ? sign->data() : nullptr, scatter_.data(), x);
    ++factorizations_;
    return factor_->factorize();
}

bool PenalizedSystem::factor_assembled(const Eigen::VectorXd& values) {
    check_interrupt();
    identity_ = lambda_is_zero();  // U'WU = 0: values unread (the partitioned rows send none)
    if (identity_) return true;
    if (values.size() != static_cast<Eigen::Index>(pattern_pos_.size()))
        throw std::invalid_argument("assembled values do not match the pattern");
    double* x = factor_->values();
    std::fill(x, x + factor_->nvalues(), 0.0);
    for (int j = 0; j < q(); ++j) x[diag_pos_[j]] = 1.0;
    for (size_t k = 0; k < pattern_pos_.size(); ++k) x[pattern_pos_[k]] += values[static_cast<Eigen::Index>(k)];
    ++factorizations_;
    return factor_->factorize();
}

Eigen::VectorXd PenalizedSystem::U_times(const Eigen::VectorXd& u) const { return rows_.U_times(u); }

Eigen::MatrixXd PenalizedSystem::WUt_times(const Eigen::MatrixXd& M) const { return rows_.WUt_times(M, sqrtw_); }

Eigen::VectorXd PenalizedSystem::WUt_times(const Eigen::VectorXd& v) const {
    return Ut_times(sqrtw_.cwiseProduct(v));
}

Eigen::VectorXd PenalizedSystem::Ut_times(const Eigen::VectorXd& v) const { return rows_.Ut_times(v); }

Eigen::MatrixXd PenalizedSystem::inverse_diagonal_blocks(int start, int k, int nblocks) const {
    if (start < 0 || k < 0 || nblocks < 0 || start + k * nblocks > q())
        throw std::out_of_range("inverse_diagonal_blocks out of range");
    Eigen::MatrixXd out(k * nblocks, k);
    if (identity_) {
        for (int l = 0; l < nblocks; ++l) out.block(l * k, 0, k, k).setIdentity();
        return out;
    }
    if (blocked_) {  // the blocked layout's own blocks (from D^{-1} and S^{-1})
        for (int l = 0; l < nblocks; ++l) {
            if ((l & 63) == 0) check_interrupt();
            out.block(l * k, 0, k, k) = factor_->inverse_block(start + l * k, k);
        }
        return out;
    }
    // The sparse factor: one selected inverse (A^{-1} on L's pattern, which
    // holds every level block) rather than a solve with q right-hand-side
    // entries per block (Chem97, 2,410 school blocks of q = 4,951: ~80 ms).
    const Eigen::VectorXd sel = selected_inverse();
    for (int l = 0; l < nblocks; ++l)
        for (int b = 0; b < k; ++b)
            for (int a = 0; a < k; ++a) {
                const int s = start + l * k;
                out(l * k + a, b) = sel[factor_->position(s + a, s + b)];
            }
    return out;
}

RowLayout::RowMajor PenalizedSystem::selected_row_products() const {
    const Eigen::VectorXd sel = selected_inverse();
    return rows_.selected_row_products(sel.data(), scatter_.data());
}

Eigen::VectorXd PenalizedSystem::pattern_selected_inverse() const {
    if (identity_) {
        const Eigen::VectorXd x = identity_values();
        Eigen::VectorXd out(static_cast<Eigen::Index>(pattern_pos_.size()));
        for (size_t k = 0; k < pattern_pos_.size(); ++k) out[static_cast<Eigen::Index>(k)] = x[pattern_pos_[k]];
        return out;
    }
    return factor_->selected_inverse_at(pattern_pos_);
}

}  // namespace glmmfast
