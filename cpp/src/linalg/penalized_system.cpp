// penalized_system.cpp — forming and factorising A = U'WU + I by per-row
// scatter (see penalized_system.hpp).
#include "linalg/penalized_system.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "optim/interrupt.hpp"

namespace glmmfast {

PenalizedSystem::PenalizedSystem(const SpMat& Z, const std::vector<TermShape>& terms,
                                 const std::string& factorization)
    : n_(static_cast<int>(Z.rows())), lambda_(terms) {
    if (Z.cols() != lambda_.q()) throw std::invalid_argument("Z's columns do not match the random-effects terms");
    const int nt = static_cast<int>(terms.size());
    for (int t = 0; t < nt; ++t) {
        term_col_.push_back(K_);
        K_ += terms[t].k;
    }
    const auto& off = lambda_.term_offsets();
    start_.setConstant(n_, nt, -1);
    zrows_.setZero(n_, K_);
    // Read Z column by column: column c of term t is (level l, coefficient a).
    std::vector<int> term_of_col(q());
    for (int t = 0; t < nt; ++t)
        for (int c = off[t]; c < off[t] + terms[t].k * terms[t].nlevels; ++c) term_of_col[c] = t;
    for (int c = 0; c < q(); ++c) {
        const int t = term_of_col[c], k = terms[t].k;
        const int level_start = off[t] + ((c - off[t]) / k) * k, a = (c - off[t]) % k;
        for (SpMat::InnerIterator it(Z, c); it; ++it) {
            const int i = static_cast<int>(it.row());
            if (start_(i, t) >= 0 && start_(i, t) != level_start)
                throw std::invalid_argument("row " + std::to_string(i) + " of Z has entries in two levels of term " +
                                            std::to_string(t));
            start_(i, t) = level_start;
            zrows_(i, term_col_[t] + a) = it.value();
        }
    }
    // Pattern of the lower triangle of A: the identity plus, for every
    // observation, all pairs of the u-indices its row of U touches.
    const int P = K_ * (K_ + 1) / 2;
    std::vector<int> cols(K_);
    auto row_columns = [&](int i) {
        for (int t = 0; t < nt; ++t)
            for (int a = 0; a < terms[t].k; ++a)
                cols[term_col_[t] + a] = start_(i, t) < 0 ? -1 : start_(i, t) + a;
    };
    // Building the pattern and its analysis takes seconds on large data:
    // interruptible between the phases.
    check_interrupt();
    std::vector<std::pair<int, int>> pairs;
    pairs.reserve(static_cast<size_t>(n_) * P);
    for (int i = 0; i < n_; ++i) {
        row_columns(i);
        for (int a = 0; a < K_; ++a)
            for (int b = 0; b <= a; ++b)
                if (cols[a] >= 0 && cols[b] >= 0) pairs.emplace_back(std::max(cols[a], cols[b]), std::min(cols[a], cols[b]));
    }
    check_interrupt();
    std::sort(pairs.begin(), pairs.end());
    check_interrupt();
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    if (factorization != "auto" && factorization != "sparse" && factorization != "blocked")
        throw std::invalid_argument("factorization must be 'auto', 'sparse' or 'blocked'");
    // "auto": the blocked layout where the Schur complement S is large
    // enough for dense kernels to pay and fills in (crossed terms); the
    // sparse factor for small systems and where the other terms nest in
    // the first (S stays sparse).
    const int q2 = q() - (nt > 0 ? terms[0].k * terms[0].nlevels : 0);
    blocked_ = nt > 0 && (factorization == "blocked" ||
                          (factorization == "auto" && q2 >= 200 &&
                           BlockedFactor::suitable(q(), terms[0].k, terms[0].nlevels) &&
                           BlockedFactor::schur_density(q(), terms[0].k, terms[0].nlevels, pairs) > 0.1));
    if (blocked_) factor_ = std::make_unique<BlockedFactor>(q(), terms[0].k, terms[0].nlevels, pairs);
    else factor_ = std::make_unique<SparseFactor>(q(), pairs);
    pairs.clear();
    pairs.shrink_to_fit();
    check_interrupt();
    auto position = [&](int r, int c) { return factor_->position(std::max(r, c), std::min(r, c)); };
    diag_pos_.resize(q());
    for (int j = 0; j < q(); ++j) diag_pos_[j] = position(j, j);
    scatter_.assign(static_cast<size_t>(n_) * P, -1);
    for (int i = 0; i < n_; ++i) {
        row_columns(i);
        int p = 0;
        for (int a = 0; a < K_; ++a)
            for (int b = 0; b <= a; ++b, ++p)
                if (cols[a] >= 0 && cols[b] >= 0) scatter_[static_cast<size_t>(i) * P + p] = position(cols[a], cols[b]);
    }
    ucol_.resize(n_, K_);
    for (int i = 0; i < n_; ++i) {
        row_columns(i);
        for (int c = 0; c < K_; ++c) ucol_(i, c) = cols[c];
    }
    urows_.resize(n_, K_);
    set_theta(lambda_.initial_theta());
}

// Row i of U, term t: z_it' T_t (T_t lower triangular).
void PenalizedSystem::set_theta(const Eigen::VectorXd& theta) {
    lambda_.update(theta);
    const int nt = static_cast<int>(lambda_.terms().size());
    for (int t = 0; t < nt; ++t) {
        const int k = lambda_.terms()[t].k, c0 = term_col_[t];
        const Eigen::MatrixXd& T = lambda_.term_factor(t);
        if (k == 1) {
            urows_.col(c0) = zrows_.col(c0) * T(0, 0);
        } else {
            urows_.middleCols(c0, k).noalias() = zrows_.middleCols(c0, k) * T;
        }
    }
}

bool PenalizedSystem::factor(const Eigen::VectorXd& sqrtw, const Eigen::VectorXd* sign) {
    check_interrupt();
    sqrtw_ = sqrtw;
    double* x = factor_->values();
    std::fill(x, x + factor_->nvalues(), 0.0);
    for (int j = 0; j < q(); ++j) x[diag_pos_[j]] = 1.0;
    const int P = K_ * (K_ + 1) / 2;
    const double* sw = sqrtw.data();
    const double* sg = sign ? sign->data() : nullptr;
    const double* u = urows_.data();
    const int* pos = scatter_.data();
    if (K_ == 1) {  // one scalar term: one entry per observation
        for (int i = 0; i < n_; ++i)
            if (pos[i] >= 0) x[pos[i]] += sw[i] * sw[i] * (sg ? sg[i] : 1.0) * u[i] * u[i];
        return factor_->factorize();
    }
    for (int i = 0; i < n_; ++i, u += K_, pos += P) {
        const double w = sw[i] * sw[i] * (sg ? sg[i] : 1.0);
        int p = 0;
        for (int a = 0; a < K_; ++a) {
            const double wa = w * u[a];
            for (int b = 0; b <= a; ++b, ++p)
                if (pos[p] >= 0) x[pos[p]] += wa * u[b];
        }
    }
    return factor_->factorize();
}

Eigen::VectorXd PenalizedSystem::U_times(const Eigen::VectorXd& u) const {
    Eigen::VectorXd out(n_);
    const int* col = ucol_.data();
    const double* val = urows_.data();
    for (int i = 0; i < n_; ++i, col += K_, val += K_) {
        double s = 0.0;
        for (int c = 0; c < K_; ++c)
            if (col[c] >= 0) s += val[c] * u[col[c]];
        out[i] = s;
    }
    return out;
}

Eigen::MatrixXd PenalizedSystem::WUt_times(const Eigen::MatrixXd& M) const {
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(q(), M.cols());
    const int* col = ucol_.data();
    const double* val = urows_.data();
    for (int i = 0; i < n_; ++i, col += K_, val += K_)
        for (int c = 0; c < K_; ++c)
            if (col[c] >= 0) out.row(col[c]) += (sqrtw_[i] * val[c]) * M.row(i);
    return out;
}

Eigen::VectorXd PenalizedSystem::WUt_times(const Eigen::VectorXd& v) const {
    return Ut_times(sqrtw_.cwiseProduct(v));
}

Eigen::VectorXd PenalizedSystem::Ut_times(const Eigen::VectorXd& v) const {
    Eigen::VectorXd out = Eigen::VectorXd::Zero(q());
    const int* col = ucol_.data();
    const double* val = urows_.data();
    for (int i = 0; i < n_; ++i, col += K_, val += K_)
        for (int c = 0; c < K_; ++c)
            if (col[c] >= 0) out[col[c]] += v[i] * val[c];
    return out;
}

Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> PenalizedSystem::selected_row_products() const {
    const Eigen::VectorXd sel = factor_->selected_inverse();
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> Y =
        Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>::Zero(n_, K_);
    const int P = K_ * (K_ + 1) / 2;
    for (int i = 0; i < n_; ++i) {
        const double* u = urows_.data() + static_cast<size_t>(i) * K_;
        const int* pos = scatter_.data() + static_cast<size_t>(i) * P;
        double* y = Y.data() + static_cast<size_t>(i) * K_;
        int p = 0;
        for (int a = 0; a < K_; ++a)
            for (int b = 0; b <= a; ++b, ++p) {
                if (pos[p] < 0) continue;
                const double z = sel[pos[p]];
                y[a] += z * u[b];
                if (b != a) y[b] += z * u[a];
            }
    }
    return Y;
}

}  // namespace glmmfast
