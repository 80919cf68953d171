// cross_product_lmm.cpp — the profiled LMM criterion and its gradient from
// cross-products (see cross_product_lmm.hpp for the equations).
#include "model/cross_product_lmm.hpp"

#include <algorithm>
#include <stdexcept>

#include "linalg/small_block_size.hpp"
#include "model/conditional_variance.hpp"
#include "model/lmm_criterion.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

namespace {

// The symmetric q x q matrix whose lower triangle has `values` on `pattern` (sorted by (r, c), unique: as
// PenalizedSystem checks), filled column by column: scanning the pattern in order, column j receives its rows
// c < j from row j's entries (c increasing), then its diagonal, then its rows r > j (r increasing), so each
// column's rows arrive sorted and no triplet sort is needed.
SpMat symmetric_from_pattern(int q, const std::vector<std::pair<int, int>>& pattern, const Eigen::VectorXd& values) {
    SpMat M(q, q);
    int* outer = M.outerIndexPtr();
    std::fill(outer, outer + q + 1, 0);
    for (const auto& [r, c] : pattern) {
        ++outer[c + 1];
        if (r != c) ++outer[r + 1];
    }
    for (int j = 0; j < q; ++j) outer[j + 1] += outer[j];
    M.resizeNonZeros(outer[q]);
    std::vector<int> at(outer, outer + q);
    int* inner = M.innerIndexPtr();
    double* x = M.valuePtr();
    for (size_t k = 0; k < pattern.size(); ++k) {
        const auto [r, c] = pattern[k];
        const double v = values[static_cast<Eigen::Index>(k)];
        inner[at[c]] = r;
        x[at[c]++] = v;
        if (r != c) {
            inner[at[r]] = c;
            x[at[r]++] = v;
        }
    }
    return M;
}

}  // namespace

CrossProductLmm::CrossProductLmm(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pattern,
                                 LmmCrossProducts products, const std::string& factorization)
    : sys_(terms, pattern, factorization), pattern_(pattern), cp_(std::move(products)) {
    const Eigen::Index qq = q(), pp = cp_.XtWX.cols();
    if (cp_.ZtWZ.size() != static_cast<Eigen::Index>(pattern.size()) || cp_.ZtWX.rows() != qq ||
        cp_.ZtWX.cols() != pp || cp_.ZtWy.size() != qq || cp_.XtWX.rows() != pp || cp_.XtWy.size() != pp)
        throw std::invalid_argument("the cross-products do not match the terms, the pattern and p");
    if (pp >= cp_.n) throw std::invalid_argument("more fixed effects than observations");
    if (!cp_.ZtWZ.allFinite() || !cp_.ZtWX.allFinite() || !cp_.ZtWy.allFinite() || !cp_.XtWX.allFinite() ||
        !cp_.XtWy.allFinite() || !std::isfinite(cp_.ytWy) || !std::isfinite(cp_.log_w_sum))
        throw std::invalid_argument("the cross-products must be finite");
    if (cp_.beta_shift.size() == 0) cp_.beta_shift = Eigen::VectorXd::Zero(pp);
    if (cp_.beta_shift.size() != pp || !cp_.beta_shift.allFinite())
        throw std::invalid_argument("beta_shift must hold p finite values");
    ZtWZ_ = symmetric_from_pattern(static_cast<int>(qq), pattern_, cp_.ZtWZ);
    index_level_blocks();
    theta_ = sys_.lambda().initial_theta();
    beta_ = beta_response_ = Eigen::VectorXd::Zero(pp);
    u_ = Eigen::VectorXd::Zero(qq);
}

void CrossProductLmm::index_level_blocks() {
    // Per u-index: its level block's first index, size and term.
    std::vector<int> start(q()), size(q()), term(q());
    const auto& terms = sys_.lambda().terms();
    const auto& offsets = sys_.lambda().term_offsets();
    for (size_t t = 0; t < terms.size(); ++t)
        for (int j = 0; j < terms[t].k * terms[t].nlevels; ++j) {
            const int at = offsets[t] + j;
            start[at] = offsets[t] + (j / terms[t].k) * terms[t].k;
            size[at] = terms[t].k;
            term[at] = static_cast<int>(t);
        }
    // Row r's entries are pattern_[row_begin[r], row_begin[r + 1]) (sorted by (r, c)): a position is a search
    // within its row, not the whole pattern.
    std::vector<int> row_begin(static_cast<size_t>(q()) + 1, 0);
    for (const auto& rc : pattern_) ++row_begin[static_cast<size_t>(rc.first) + 1];
    for (int r = 0; r < q(); ++r) row_begin[r + 1] += row_begin[r];
    const auto position = [&](int r, int c) {
        const std::pair<int, int> key = r >= c ? std::make_pair(r, c) : std::make_pair(c, r);
        const auto begin = pattern_.begin() + row_begin[key.first], end = pattern_.begin() + row_begin[key.first + 1];
        const auto it = std::lower_bound(begin, end, key);
        if (it == end || *it != key) throw std::invalid_argument("the pattern is not closed under the terms' level blocks");
        return static_cast<int>(it - pattern_.begin());
    };
    // Each block pair's first entry (r0, c0), both level starts, is in the pattern (closed under level
    // blocks), so the block pairs are those entries, met in sorted order.  Their positions are distinct
    // (a diagonal block's upper entries mirror its lower ones), so covering as many entries as the pattern
    // holds means every entry lies in a block pair.
    size_t covered = 0;
    for (size_t k = 0; k < pattern_.size(); ++k) {
        const auto [r0, c0] = pattern_[k];
        if (start[r0] != r0 || start[c0] != c0) continue;
        LevelBlockPair b{r0, size[r0], term[r0], c0, size[c0], term[c0], positions_.size()};
        max_block_ = std::max({max_block_, b.kr, b.kc});
        for (int bb = 0; bb < b.kc; ++bb)
            for (int a = 0; a < b.kr; ++a)
                positions_.push_back(a == 0 && bb == 0 ? static_cast<int>(k) : position(r0 + a, c0 + bb));
        covered += static_cast<size_t>(r0 == c0 ? b.kr * (b.kr + 1) / 2 : b.kr * b.kc);
        block_pairs_.push_back(b);
    }
    if (covered != pattern_.size()) throw std::invalid_argument("the pattern is not closed under the terms' level blocks");
}

Eigen::VectorXd CrossProductLmm::UtWU() const {
    Eigen::VectorXd values(static_cast<Eigen::Index>(pattern_.size()));
    const LambdaMap& lambda = sys_.lambda();
    std::vector<double> C(static_cast<size_t>(max_block_ * max_block_)), TrC(C.size());
    for (const LevelBlockPair& b : block_pairs_) {
        const int* pos = positions_.data() + b.first;
        if (b.kr == 1 && b.kc == 1) {
            values[pos[0]] = lambda.term_factor(b.tr)(0, 0) * cp_.ZtWZ[pos[0]] * lambda.term_factor(b.tc)(0, 0);
            continue;
        }
        // T_r' C T_c, entry by entry (blocks of a few entries: no allocation, no GEMM dispatch; square
        // blocks of 2 or 3 unrolled, small_block_size.hpp).
        with_block_size(b.kr == b.kc ? b.kr : 0, [&](auto K) {
            const int kr = block_size(K, b.kr), kc = block_size(K, b.kc);
            const double* Tr = lambda.term_factor(b.tr).data();  // kr x kr, column-major
            const double* Tc = lambda.term_factor(b.tc).data();  // kc x kc
            for (int k = 0; k < kr * kc; ++k) C[k] = cp_.ZtWZ[pos[k]];
            for (int j = 0; j < kc; ++j)
                for (int a = 0; a < kr; ++a) {
                    double v = 0.0;
                    for (int i = 0; i < kr; ++i) v += Tr[i + a * kr] * C[i + j * kr];
                    TrC[a + j * kr] = v;
                }
            for (int c = 0; c < kc; ++c)
                for (int a = 0; a < kr; ++a) {
                    double v = 0.0;
                    for (int j = 0; j < kc; ++j) v += TrC[a + j * kr] * Tc[j + c * kc];
                    values[pos[a + c * kr]] = v;
                }
        });
    }
    return values;
}

void CrossProductLmm::evaluate(const Eigen::VectorXd& theta) {
    ++n_eval_;
    evaluated_ = false;
    sys_.set_theta(theta);
    theta_ = theta;
    const SpMat& Lambda = sys_.lambda().matrix();
    if (!sys_.factor_assembled(UtWU())) throw PirlsError("Cholesky factorisation of Lambda'Z'WZLambda + I failed");
    Eigen::MatrixXd UtWM(q(), p() + 1);
    UtWM.leftCols(p()) = Lambda.transpose() * cp_.ZtWX;
    UtWM.col(p()) = Lambda.transpose() * cp_.ZtWy;
    if (!elim_.compute_from_products(sys_, UtWM, p(), cp_.XtWX))
        throw PirlsError("the fixed-effects block R_X'R_X is not positive definite");
    elim_.solve(sys_, elim_.extra().col(0), cp_.XtWy, u_, beta_);
    beta_response_ = beta_ + cp_.beta_shift;
    pwrss_ = cp_.ytWy - u_.dot(UtWM.col(p())) - beta_.dot(cp_.XtWy);
    ldL2_ = sys_.log_det_L2();
    ldRX2_ = elim_.log_det_RX2();
    if (!std::isfinite(pwrss_) || !std::isfinite(ldL2_) || !std::isfinite(ldRX2_) || !(pwrss_ > 0.0))
        throw PirlsError("non-finite or zero penalised residual sum of squares");
    evaluated_ = true;
}

void CrossProductLmm::require_evaluated() const {
    if (!evaluated_) throw PirlsError("the model has not been evaluated at a valid theta");
}

double CrossProductLmm::criterion(bool reml) const {
    require_evaluated();
    return lmm_criterion(reml, n(), p(), pwrss_, ldL2_, ldRX2_, cp_.log_w_sum);
}

double CrossProductLmm::deviance(const Eigen::VectorXd& theta, bool reml) {
    evaluate(theta);
    return criterion(reml);
}

double CrossProductLmm::sigma(bool reml) const {
    require_evaluated();
    return lmm_sigma(reml, n(), p(), pwrss_);
}

Eigen::MatrixXd CrossProductLmm::beta_unscaled_vcov() const {
    require_evaluated();
    return elim_.RX().solve(Eigen::MatrixXd::Identity(p(), p()));
}

Eigen::MatrixXd CrossProductLmm::cond_var(int t) const {
    require_evaluated();
    return conditional_variance(sys_, t);
}

Eigen::VectorXd CrossProductLmm::gradient(bool reml) const {
    require_evaluated();
    check_interrupt();
    const int pp = p();
    const LambdaMap& lambda = sys_.lambda();
    const SpMat& Lambda = lambda.matrix();
    const Eigen::VectorXd sel = sys_.pattern_selected_inverse();  // A^{-1} on the pattern
    const auto& terms = lambda.terms();
    const auto& offsets = lambda.term_offsets();
    // M_t = sum over term t's levels of [A^{-1} Lambda' Z'WZ] on the level's
    // block (M_t(c, a) = [...]_{st+c, st+a}), block pair by block pair.
    std::vector<Eigen::MatrixXd> M;
    for (const TermShape& t : terms) M.push_back(Eigen::MatrixXd::Zero(t.k, t.k));
    std::vector<double> S(static_cast<size_t>(max_block_ * max_block_)), Ainv(S.size()), TS(S.size());
    for (const LevelBlockPair& b : block_pairs_) {
        const int* pos = positions_.data() + b.first;
        const Eigen::MatrixXd& Tr = lambda.term_factor(b.tr);
        const Eigen::MatrixXd& Tc = lambda.term_factor(b.tc);
        if (b.kr == 1 && b.kc == 1) {
            const double sa = cp_.ZtWZ[pos[0]] * sel[pos[0]];
            M[b.tc](0, 0) += sa * Tr(0, 0);
            if (b.r0 != b.c0) M[b.tr](0, 0) += sa * Tc(0, 0);
            continue;
        }
        with_block_size(b.kr == b.kc ? b.kr : 0, [&](auto K) {  // square blocks of 2 or 3 unrolled
            const int kr = block_size(K, b.kr), kc = block_size(K, b.kc);
            const double* tr = Tr.data();  // kr x kr, column-major
            const double* tc = Tc.data();  // kc x kc
            for (int k = 0; k < kr * kc; ++k) {
                S[k] = cp_.ZtWZ[pos[k]];
                Ainv[k] = sel[pos[k]];
            }
            // Level C: M_C(c, a) += sum_m A^{-1}_RC(m, c) [T_r' S](m, a).
            for (int a = 0; a < kc; ++a)
                for (int m = 0; m < kr; ++m) {
                    double v = 0.0;
                    for (int i = 0; i < kr; ++i) v += tr[i + m * kr] * S[i + a * kr];
                    TS[m + a * kr] = v;
                }
            double* Mc = M[b.tc].data();  // kc x kc
            for (int a = 0; a < kc; ++a)
                for (int c = 0; c < kc; ++c) {
                    double v = 0.0;
                    for (int m = 0; m < kr; ++m) v += Ainv[m + c * kr] * TS[m + a * kr];
                    Mc[c + a * kc] += v;
                }
            if (b.r0 == b.c0) return;
            // Level R: M_R(c, a) += sum_m A^{-1}_RC(c, m) [S T_c](a, m).
            for (int m = 0; m < kc; ++m)
                for (int a = 0; a < kr; ++a) {
                    double v = 0.0;
                    for (int j = 0; j < kc; ++j) v += S[a + j * kr] * tc[j + m * kc];
                    TS[a + m * kr] = v;
                }
            double* Mr = M[b.tr].data();  // kr x kr
            for (int a = 0; a < kr; ++a)
                for (int c = 0; c < kr; ++c) {
                    double v = 0.0;
                    for (int m = 0; m < kc; ++m) v += Ainv[c + m * kr] * TS[a + m * kr];
                    Mr[c + a * kr] += v;
                }
        });
    }
    const double df = reml ? n() - pp : n();
    const Eigen::VectorXd Lu = Lambda * u_;
    Eigen::VectorXd g = cp_.ZtWy - ZtWZ_ * Lu;
    g.noalias() -= cp_.ZtWX * beta_;
    const double coef = -2.0 * df / pwrss_;
    // REML: G = A^{-1} U'WX (q x p) and (B - Z'WX) V.
    Eigen::MatrixXd G, BV;
    const bool with_rx = reml && pp > 0;
    if (with_rx) {
        G = sys_.solve_Lt(elim_.RZX());
        const Eigen::MatrixXd LG = Lambda * G;
        Eigen::MatrixXd B = ZtWZ_ * LG;
        B -= cp_.ZtWX;
        BV = B * elim_.RX().solve(Eigen::MatrixXd::Identity(pp, pp));
    }
    std::vector<Eigen::MatrixXd> Gt;
    for (size_t t = 0; t < terms.size(); ++t) {
        const int k = terms[t].k, start = offsets[t];
        Eigen::MatrixXd Gterm = Eigen::MatrixXd::Zero(k, k);
        for (int c = 0; c < k; ++c)
            for (int a = c; a < k; ++a) {
                double v = 2.0 * M[t](c, a);
                double gu = 0.0, rx = 0.0;
                for (int l = 0; l < terms[t].nlevels; ++l) {
                    const int st = start + l * k;
                    gu += g[st + a] * u_[st + c];
                    if (with_rx) rx += BV.row(st + a).dot(G.row(st + c));
                }
                Gterm(a, c) = v + coef * gu + 2.0 * rx;
            }
        Gt.push_back(std::move(Gterm));
    }
    return lambda.chain_gradient(Gt);
}

}  // namespace glmmfast
