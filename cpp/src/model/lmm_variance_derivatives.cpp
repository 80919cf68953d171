// lmm_variance_derivatives.cpp — what Satterthwaite's degrees of freedom need
// from a linear mixed model at its estimates (LmmModel::variance_derivatives):
// Cov(beta-hat) / sigma^2, the inner matrices of its derivatives in theta and
// the theta-theta block of the Hessian of the criterion in (theta, sigma),
// all exactly, from the model's factor (lmerTest differentiates numerically).
//
// Notation (Searle, Casella & McCulloch 1992, ch. 6): V = s V0, s = sigma^2,
// V0 = W^{-1} + Z G Z', G = Lambda Lambda' = blockdiag_t(I (x) T_t T_t'),
// D_i = dG/dtheta_i = I (x) d_i, d_i = E_i T' + T E_i' (E_i = dT_t/dtheta_i,
// from the term's covariance structure), D_ij = I (x) d_ij,
// d_ij = E_i E_j' + E_j E_i' + T_ij T' + T T_ij' (T_ij the second derivatives,
// given by the caller; 0 for structures linear in theta; 0 across terms).
//   C = Z'V0^{-1}Z,  N = Z'V0^{-1}X,  u = Z'V0^{-1}(y - X beta-hat),
//   M^{-1} = (X'V0^{-1}X)^{-1} = (R_X'R_X)^{-1},  Q_P = C - N M^{-1} N',
//   Q = Q_P (REML) or C (ML), R = (y - X beta)'V0^{-1}(y - X beta) = pwrss;
// returned: M^{-1}, inner_i = N' D_i N (d Cov(beta)/d theta_i = s M^{-1} inner_i M^{-1}),
// u'D_i u, and
//   H_ij = -tr(Q D_i Q D_j) + tr(Q D_ij) + (2 u'D_i Q_P D_j u - u'D_ij u) / s.
// With V0^{-1} = W - W U A^{-1} U'W (U = Z Lambda, A = U'WU + I):
// N = Z'W(X - U G_X), G_X = A^{-1}U'WX (the REML gradient's G), and u = Z'W r,
// r = y - X beta - U u-hat.
//
// C without a dense q x q matrix.  Split the random effects into the largest term
// (block 1: q1 = k L effects; no two of its levels share a row, so everything
// about it is block diagonal by level) and the rest (block 2, q2 effects).
// With V_1 = W^{-1} + Z_1 G_1 Z_1' (block 1 alone) and C0 = Z'V_1^{-1}Z,
// Woodbury's identity on V0 = V_1 + Z_2 Lambda_2 Lambda_2' Z_2' gives
//   C = C0 - Y Phi Y',   Y = C0 L_2  (q x q2; L_2 = Lambda's block-2 columns),
//   Phi = (I + L_2' C0 L_2)^{-1}  (q2 x q2, dense),
// and C0's blocks are
//   C0_11 = blockdiag(K_l - K_l H_l K_l),  C0_12 = (I - K_l H_l) S_12 (level by level),
//   C0_22 = S_22 - S_12' blockdiag(H_l) S_12,
// with S = Z'WZ, K_l its level-l diagonal block of block 1 and
// H_l = T (I + T'K_l T)^{-1} T'.  C0 is kept as a sparse q x q matrix whose
// pattern is made of whole k_a x k_b blocks of pairs of levels that share a row
// (C0_12 has S_12's pattern; C0_22 is stored dense); Y is sparse in its block-1
// rows (each level's rows share their columns) and dense in its block-2 rows Y_2.
// The traces, with P = Y Phi Y' needed only on C0's pattern (P_ab = Y_a Phi Y_b':
// sparse-row dots with Phi Y_2' across the blocks, Y_l Phi_JJ Y_l' on each block-1
// level's columns J, the GEMM Y_2 Phi Y_2' in block 2) and M = C0 - 2P:
//   tr(C D_i C D_j) = tr(C0 D_i C0 D_j) - 2 tr(Y'D_j C0 D_i Y Phi) + tr(W_i W_j)
//                   = <C0 D_i, D_j M> + tr(W_i W_j),   W_i = Y'D_i Y Phi,
//   (<,> the entrywise inner product), and because D_i, D_j act within level blocks,
//   <C0 D_i, D_j M> = sum G_{tj,ti}[(a,e),(c,f)] d_j(a,c) d_i(e,f),
//   G_{ta,tb}[(a,e),(c,f)] = sum over the level blocks of C0(a,e) M(c,f)  (one pass over C0);
//   Y'D_i Y = sum_{a,c} d_i(a,c) Gamma_{t,ac},  Gamma_{t,ac} = Y_{t,a}'Y_{t,c};
//   tr(Q_P D_i Q_P D_j) = tr(C D_i C D_j) - 2 tr(M^{-1}(D_i N)'C D_j N)
//                         + tr(M^{-1} inner_i M^{-1} inner_j);
//   tr(C D_ij) from C's level-diagonal blocks (C0's minus P's).
// C0 is written straight into compressed columns from S_12's pattern (no triplets, no sort);
// each symmetric pair of its off-diagonal-block entries (and of P's) is computed once, and so is
// each symmetric pair of C0_22's, Gamma_big's and P's level-diagonal entries (one triangle
// per level, the other mirrored).  Y is read off C0's columns (no sparse product); P's block-1
// columns are filled in the same level loop as Gamma_big.  The REML and u-terms' bilinear forms
//   [D_i N, D_i u]' C [D_j N, D_j u] = V_i' C0 V_j - (Y'V_i)' Phi (Y'V_j)
// use only term t_i's rows of V_i (D_i is zero elsewhere): term t_j's columns of C0 and rows of Y.
// Cost: one pass over the rows for S's blocks and one for [N, u], no solve with the factor beyond
// the p of N, O(nnz(C0) k^2) for the traces, O(sum_l n_l^2 k^2) for block 1's
// pieces (n_l the block-2 effects sharing rows with level l) and a few q2 x q2
// dense products per theta_i (O(q2^3)); memory O(nnz(S_12) + q2^2), no q x q2
// dense matrix.  With one term (q2 = 0) everything is level by level, O(n + L k^3).
#include <algorithm>
#include <Eigen/Cholesky>
#include <Eigen/SparseCore>
#include <stdexcept>

#include "model/lmm_model.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

namespace {

using SpMatR = Eigen::SparseMatrix<double, Eigen::RowMajor, int>;

// Where the random effects sit: term t's effects are u-indices
// [offset_t, offset_t + k_t L_t); block 1 is term `big`, block 2 the others
// in their order, with pos2[j] the index of u-index j in block 2 (-1 in block 1).
struct Blocks {
    int big = 0, q1 = 0, q2 = 0, off1 = 0;
    std::vector<int> pos2, idx2;
};

// blockdiag_l(B(l)) times rows [first, first + k L) of V (blocks of k rows,
// block l multiplied by the k x k matrix B(l)), indexed from 0.  Scalar
// blocks (most terms) as one diagonal scaling; small blocks by coefficient
// products (no matrix-product dispatch per level).
template <class BlockOf>
Eigen::MatrixXd blockdiag_times(BlockOf B, const Eigen::MatrixXd& V, int first, int k, int L) {
    Eigen::MatrixXd out(static_cast<long>(k) * L, V.cols());
    if (k == 1) {
        Eigen::VectorXd scale(L);
        for (int l = 0; l < L; ++l) scale[l] = B(l)(0, 0);
        out.noalias() = scale.asDiagonal() * V.middleRows(first, L);
        return out;
    }
    for (int l = 0; l < L; ++l) out.middleRows(l * k, k) = B(l).lazyProduct(V.middleRows(first + l * k, k));
    return out;
}

// (I_L (x) d) times rows [first, first + k L) of V.
Eigen::MatrixXd block_times(const Eigen::MatrixXd& d, const Eigen::MatrixXd& V, int first, int k, int L) {
    if (k == 1) return d(0, 0) * V.middleRows(first, L);
    return blockdiag_times([&](int) -> const Eigen::MatrixXd& { return d; }, V, first, k, L);
}

}  // namespace

LmmVarianceDerivatives LmmModel::variance_derivatives(bool reml, double s,
                                                      const std::vector<Eigen::MatrixXd>& factor_second) const {
    require_evaluated();
    if (!(s > 0.0)) throw std::invalid_argument("sigma^2 must be positive");
    const LambdaMap& lam = lambda();
    const auto& terms = lam.terms();
    const auto& offsets = lam.term_offsets();
    const int nobs = n(), pp = p(), qq = q(), nterm = static_cast<int>(terms.size());
    const int nt = lam.ntheta();
    if (!factor_second.empty() && static_cast<int>(factor_second.size()) != nt * nt)
        throw std::invalid_argument("factor_second must hold ntheta^2 matrices (or none)");
    const Eigen::ArrayXd w = sqrtw_.array().square();

    // theta_i -> term, d_i, E_i; T_t per term.
    std::vector<int> term_of;
    std::vector<Eigen::MatrixXd> E, d;
    for (int t = 0; t < nterm; ++t) {
        const Eigen::MatrixXd& T = lam.term_factor(t);
        for (Eigen::MatrixXd& Et : lam.term_factor_derivatives(t)) {
            term_of.push_back(t);
            d.push_back(Et * T.transpose() + T * Et.transpose());
            E.push_back(std::move(Et));
        }
    }
    // M'Z for an n-column Mt = M' (rows of Z from the system's per-row table: row i adds
    // z_{i,c} times column i of Mt to column st + c), and D_i on a q-row matrix.
    auto times_Z = [&](const Eigen::MatrixXd& Mt) {
        const int m = static_cast<int>(Mt.rows());
        Eigen::MatrixXd out = Eigen::MatrixXd::Zero(m, qq);
        for (int i = 0; i < nobs; ++i) {
            const double* mi = Mt.data() + static_cast<long>(i) * m;
            for (int t = 0; t < nterm; ++t) {
                const int st = rows_.level_start(i, t), tc = rows_.term_column(t);
                if (st < 0) continue;
                for (int c = 0; c < terms[t].k; ++c) {
                    const double z = rows_.z_value(i, tc + c);
                    double* o = out.data() + static_cast<long>(st + c) * m;
                    for (int r = 0; r < m; ++r) o[r] += z * mi[r];
                }
            }
        }
        return out;
    };
    auto D_times = [&](int i, const Eigen::MatrixXd& V) {
        const int t = term_of[i];
        Eigen::MatrixXd out = Eigen::MatrixXd::Zero(qq, V.cols());
        out.middleRows(offsets[t], terms[t].k * terms[t].nlevels) =
            block_times(d[i], V, offsets[t], terms[t].k, terms[t].nlevels);
        return out;
    };
    auto dsecond = [&](int i, int j) -> Eigen::MatrixXd {  // d_ij (same term)
        Eigen::MatrixXd out = E[i] * E[j].transpose() + E[j] * E[i].transpose();
        if (!factor_second.empty()) {
            const Eigen::MatrixXd& T2 = factor_second[static_cast<size_t>(i) * nt + j];
            const Eigen::MatrixXd& T = lam.term_factor(term_of[i]);
            out += T2 * T.transpose() + T * T2.transpose();
        }
        return out;
    };

    LmmVarianceDerivatives out;
    out.beta_unscaled_vcov = beta_unscaled_vcov();
    const Eigen::MatrixXd& Minv = out.beta_unscaled_vcov;
    // N = Z'W(X - U G_X) and u = Z'W r in one pass over Z's rows: [N, u]' = [W(X - U G_X), W r]'Z.
    Eigen::MatrixXd N;
    Eigen::VectorXd u;
    {
        const Eigen::MatrixXd LG = lam.matrix() * system().solve_Lt(elimination().RZX());  // Lambda G_X
        Eigen::MatrixXd WVt(pp + 1, nobs);
        for (int j = 0; j < pp; ++j)
            WVt.row(j) = (w * (X_.col(j) - rows_.Z_times(LG.col(j))).array()).matrix().transpose();
        Eigen::VectorXd r = y_;
        r.noalias() -= X_ * beta();
        r -= rows_.Z_times(b());
        WVt.row(pp) = (w * r.array()).matrix().transpose();
        const Eigen::MatrixXd NUt = times_Z(WVt);
        N = NUt.topRows(pp).transpose();
        u = NUt.row(pp).transpose();
    }
    check_interrupt();

    // Blocks: the largest term is block 1.
    Blocks bl;
    for (int t = 1; t < nterm; ++t)
        if (terms[t].k * terms[t].nlevels > terms[bl.big].k * terms[bl.big].nlevels) bl.big = t;
    const int kb = terms[bl.big].k, Lb = terms[bl.big].nlevels, tcb = rows_.term_column(bl.big);
    bl.q1 = kb * Lb;
    bl.off1 = offsets[bl.big];
    bl.q2 = qq - bl.q1;
    bl.pos2.assign(qq, -1);
    for (int j = 0; j < qq; ++j)
        if (j < bl.off1 || j >= bl.off1 + bl.q1) {
            bl.pos2[j] = static_cast<int>(bl.idx2.size());
            bl.idx2.push_back(j);
        }
    const int q1 = bl.q1, q2 = bl.q2;

    // S = Z'WZ: block 1's level blocks K_l, S_12 (q1 x q2) and S_22 (q2 x q2), dense.
    std::vector<Eigen::MatrixXd> K(Lb, Eigen::MatrixXd::Zero(kb, kb));
    Eigen::MatrixXd S22 = Eigen::MatrixXd::Zero(q2, q2);
    std::vector<Eigen::Triplet<double>> s12;
    Eigen::VectorXd zb(kb);
    for (int i = 0; i < nobs; ++i) {
        const int sb = rows_.level_start(i, bl.big);
        for (int a = 0; a < kb; ++a) zb[a] = sb >= 0 ? rows_.z_value(i, tcb + a) : 0.0;
        if (sb >= 0) {
            Eigen::MatrixXd& Kl = K[(sb - bl.off1) / kb];
            for (int c = 0; c < kb; ++c)
                for (int a = 0; a < kb; ++a) Kl(a, c) += w[i] * zb[a] * zb[c];
        }
        for (int t = 0; t < nterm; ++t) {
            const int st = rows_.level_start(i, t), tc = rows_.term_column(t);
            if (t == bl.big || st < 0) continue;
            for (int c = 0; c < terms[t].k; ++c) {
                const double wz = w[i] * rows_.z_value(i, tc + c);
                const int col = bl.pos2[st + c];
                if (sb >= 0)
                    for (int a = 0; a < kb; ++a) s12.emplace_back(sb - bl.off1 + a, col, wz * zb[a]);
                for (int t2 = 0; t2 < nterm; ++t2) {
                    const int st2 = rows_.level_start(i, t2), tc2 = rows_.term_column(t2);
                    if (t2 == bl.big || st2 < 0) continue;
                    for (int c2 = 0; c2 < terms[t2].k; ++c2) S22(bl.pos2[st2 + c2], col) += wz * rows_.z_value(i, tc2 + c2);
                }
            }
        }
    }
    // C0 as a sparse q x q matrix in u-index order: C0_11's level blocks
    // K_l - K_l H_l K_l, C0_12 = (I - blockdiag(K_l H_l)) S_12 and its transpose,
    // C0_22 = S_22 - S_12' blockdiag(H_l) S_12 (a dense block).  Its pattern is made
    // of whole k x k blocks of pairs of levels (zeros kept), which the traces below rely on.
    const Eigen::MatrixXd& Tb = lam.term_factor(bl.big);
    SpMatR S12(q1, q2);
    S12.setFromTriplets(s12.begin(), s12.end());
    // C0 is written straight into compressed columns (rows ascending), its pattern known from S_12's:
    // block-1 column (level l, coefficient c): level l's S_12 row pattern in block 2, the block-2 rows
    // before block 1 first, then the level's own k rows, then the block-2 rows after block 1; block-2
    // column b: every block-2 row (dense: the off1 rows before block 1, then, after S_12's column
    // pattern in block 1, the rest).  mirror[pos] gives, for an entry of a block-2 column in a block-1
    // row, the position of its transpose (in the block-1 column), so symmetric values are computed once.
    // Level by level (S_12's rows of one level share their columns): C0_11's block, that
    // level's rows of C0_12 and its share S_12,l' H_l S_12,l of C0_22.
    const int* s12_outer = S12.outerIndexPtr();
    const int* s12_inner = S12.innerIndexPtr();
    std::vector<int> count2(q2, 0), cursor2(q2);
    for (int e = 0; e < S12.nonZeros(); ++e) ++count2[s12_inner[e]];
    SpMat C0(qq, qq);
    C0.resizeNonZeros(q1 * kb + 2 * static_cast<int>(S12.nonZeros()) + q2 * q2);
    int* c0_outer = C0.outerIndexPtr();
    int* c0_inner = C0.innerIndexPtr();
    double* c0_value = C0.valuePtr();
    c0_outer[0] = 0;
    for (int j = 0; j < qq; ++j) {
        const int j2 = bl.pos2[j];
        const int nj = j2 < 0 ? kb + s12_outer[(j - bl.off1) / kb * kb + 1] - s12_outer[(j - bl.off1) / kb * kb]
                              : q2 + count2[j2];
        c0_outer[j + 1] = c0_outer[j] + nj;
        if (j2 >= 0) cursor2[j2] = c0_outer[j] + bl.off1;
    }
    std::vector<int> mirror(C0.nonZeros(), -1);
    Eigen::MatrixXd C022 = S22;
    Eigen::MatrixXd H(kb, kb), KH(kb, kb), C011(kb, kb), TK(kb, kb), Dl(kb, kb), TtD(kb, kb);
    Eigen::LLT<Eigen::MatrixXd> llt(kb);
    Eigen::VectorXd hs(kb);
    for (int l = 0; l < Lb; ++l) {
        if (kb == 1) {  // scalar terms (most of them): no small-matrix algebra
            const double t2 = Tb(0, 0) * Tb(0, 0), k = K[l](0, 0);
            H(0, 0) = t2 / (1.0 + t2 * k);
            KH(0, 0) = k * H(0, 0);
            C011(0, 0) = k - KH(0, 0) * k;
        } else {  // preallocated: no heap traffic per level
            TK.noalias() = Tb.transpose() * K[l];
            Dl.noalias() = TK * Tb;
            Dl.diagonal().array() += 1.0;
            llt.compute(Dl);
            TtD = Tb.transpose();
            llt.solveInPlace(TtD);
            H.noalias() = Tb * TtD;
            KH.noalias() = K[l] * H;
            C011 = K[l];
            C011.noalias() -= KH * K[l];
        }
        const int first = bl.off1 + l * kb;
        const int r0 = l * kb, nl = s12_outer[r0 + 1] - s12_outer[r0];
        const int* cols = s12_inner + s12_outer[r0];
        for (int a = 1; a < kb; ++a)
            if (s12_outer[r0 + a + 1] - s12_outer[r0 + a] != nl)
                throw std::logic_error("variance_derivatives: the rows of one level of S_12 differ in pattern");
        const int below = static_cast<int>(std::lower_bound(cols, cols + nl, bl.off1) - cols);  // block-2 rows before block 1
        auto s12 = [&](int a, int e) { return S12.valuePtr()[s12_outer[r0 + a] + e]; };
        for (int a = 0; a < kb; ++a) {
            const int base = c0_outer[first + a];
            for (int c = 0; c < kb; ++c) {
                c0_inner[base + below + c] = first + c;
                c0_value[base + below + c] = C011(c, a);
            }
            for (int e = 0; e < nl; ++e) {
                double v = s12(a, e);
                for (int c = 0; c < kb; ++c) v -= KH(a, c) * s12(c, e);
                const int pos = base + e + (e < below ? 0 : kb), pos_t = cursor2[cols[e]]++;
                c0_inner[pos] = bl.idx2[cols[e]];
                c0_value[pos] = v;
                c0_inner[pos_t] = first + a;
                c0_value[pos_t] = v;
                mirror[pos_t] = pos;
            }
        }
        if (q2 == 0) continue;
        // C0_22's upper triangle only (cols ascending: e1 <= e2 is row <= column); read from it below.
        for (int e2 = 0; e2 < nl; ++e2) {
            double* c022 = C022.data() + static_cast<long>(cols[e2]) * q2;
            if (kb == 1) {
                const double hs0 = H(0, 0) * s12(0, e2);
                for (int e1 = 0; e1 <= e2; ++e1) c022[cols[e1]] -= s12(0, e1) * hs0;
                continue;
            }
            for (int a = 0; a < kb; ++a) {
                hs[a] = 0.0;
                for (int c = 0; c < kb; ++c) hs[a] += H(a, c) * s12(c, e2);
            }
            for (int e1 = 0; e1 <= e2; ++e1) {
                double v = 0.0;
                for (int a = 0; a < kb; ++a) v += s12(a, e1) * hs[a];
                c022[cols[e1]] -= v;
            }
        }
    }
    for (int b = 0; b < q2; ++b) {
        const int start = c0_outer[bl.idx2[b]];
        for (int a = 0; a < q2; ++a) {
            const int pos = start + (a < bl.off1 ? a : count2[b] + a);
            c0_inner[pos] = bl.idx2[a];
            c0_value[pos] = a <= b ? C022(a, b) : C022(b, a);
        }
    }
    check_interrupt();

    // The low-rank part (Woodbury on block 2 after block 1): V0 = V_1 + Z_2 Lambda_2 Lambda_2' Z_2', so
    // C = C0 - Y Phi Y',  Y = C0 L_2 (sparse, q x q2; L_2: Lambda's block-2 columns; its block-2
    // rows Y_2 dense), Phi = (I + L_2' C0 L_2)^{-1} (dense q2 x q2), Zm' = Phi Y' (dense q2 x q),
    // and P = Y Phi Y' on C0's pattern only: P_ab = Y_a . Zm_b (rows a, b of Y and Zm; P is
    // symmetric, so a block-1 row a gives both P_ab and P_ba from Y's sparse row a; the
    // block-2 x block-2 part is the GEMM Y_2 Zm_2').
    // Stored with C0's layout (P's and C0's value arrays align entry by entry).
    std::vector<int> term_at(qq), local_at(qq);
    for (int t = 0; t < nterm; ++t)
        for (int j = 0; j < terms[t].k * terms[t].nlevels; ++j) {
            term_at[offsets[t] + j] = t;
            local_at[offsets[t] + j] = j % terms[t].k;
        }
    // Y = C0 L_2 straight from C0's columns (C0 is symmetric, its pattern whole level blocks): row a of Y
    // at block-2 level l of term t, coefficient c, is sum_{c'} C0((l, c'), a) T_t(c', c).
    const double* C0v0 = C0.valuePtr();
    const SpMatR YR = [&] {
        SpMatR Y(qq, q2);
        if (q2 == 0) return Y;
        int* y_outer = Y.outerIndexPtr();
        y_outer[0] = 0;
        for (int a = 0; a < qq; ++a)
            y_outer[a + 1] = y_outer[a] + (bl.pos2[a] < 0 ? C0.outerIndexPtr()[a + 1] - C0.outerIndexPtr()[a] - kb : q2);
        Y.resizeNonZeros(y_outer[qq]);
        int* y_inner = Y.innerIndexPtr();
        double* y_value = Y.valuePtr();
        for (int a = 0; a < qq; ++a) {
            int out_pos = y_outer[a];
            for (int pos = C0.outerIndexPtr()[a]; pos < C0.outerIndexPtr()[a + 1];) {
                const int r = C0.innerIndexPtr()[pos], t = term_at[r];
                if (bl.pos2[r] < 0) {  // block 1's rows: not in L_2
                    ++pos;
                    continue;
                }
                const int k = terms[t].k;
                const Eigen::MatrixXd& T = lam.term_factor(t);
                for (int c = 0; c < k; ++c) {
                    double v = 0.0;
                    for (int c1 = 0; c1 < k; ++c1) v += C0v0[pos + c1] * T(c1, c);
                    y_inner[out_pos] = bl.pos2[r + c];
                    y_value[out_pos++] = v;
                }
                pos += k;
            }
            if (out_pos != y_outer[a + 1]) throw std::logic_error("variance_derivatives: Y's pattern is not C0's");
        }
        return Y;
    }();
    Eigen::MatrixXd Y2(q2, q2), Phi;
    std::vector<std::vector<Eigen::MatrixXd>> Gamma(nterm);  // see Y'D_i Y below
    Eigen::VectorXd P(C0.nonZeros());
    P.setZero();
    if (q2 > 0) {
        Y2.setZero();
        for (int j = 0; j < q2; ++j)
            for (SpMatR::InnerIterator it(YR, bl.idx2[j]); it; ++it) Y2(j, it.col()) = it.value();
        // L_2' C0 L_2 = L_2' Y: block 2's rows of Y times Lambda_2, i.e. Lambda_2' Y_2.
        Eigen::MatrixXd Shat(q2, q2);
        for (int t = 0; t < nterm; ++t) {
            if (t == bl.big) continue;
            const int first = bl.pos2[offsets[t]];
            Shat.middleRows(first, terms[t].k * terms[t].nlevels) =
                block_times(lam.term_factor(t).transpose(), Y2, first, terms[t].k, terms[t].nlevels);
        }
        Shat = 0.5 * (Shat + Shat.transpose()).eval();
        Shat.diagonal().array() += 1.0;
        Phi = Shat.llt().solve(Eigen::MatrixXd::Identity(q2, q2));
        // Zm_2' = Phi Y_2' (block 2's rows of Zm); block 1's rows of Zm are never formed.
        const Eigen::MatrixXd ZmT2 = Phi * Y2.transpose();
        const Eigen::MatrixXd P22 = Y2 * ZmT2;
        // Block 1, level by level (the level's rows Y_l of Y share their columns J_l, which are the
        // level's block-2 rows in C0's columns): Y_l Phi_{J_l J_l} Y_l' (P's level-diagonal blocks),
        // Gamma_{big,ac} += y_{l,a}' y_{l,c}, and P's block-2 rows in the level's columns,
        // P_ab = Y_a . Zm_b = sum_{e in J_l} Y_a(e) Zm_2'(e, b).
        Gamma[bl.big].assign(static_cast<size_t>(kb) * kb, Eigen::MatrixXd::Zero(q2, q2));
        std::vector<double*> gamma_big(static_cast<size_t>(kb) * kb);
        for (int ac = 0; ac < kb * kb; ++ac) gamma_big[ac] = Gamma[bl.big][ac].data();
        const int* c0_outer_c = C0.outerIndexPtr();
        Eigen::MatrixXd Yl, Pl(kb, kb);
        for (int l = 0; l < Lb; ++l) {
            const int first = bl.off1 + l * kb;
            const int r0 = first, nl = YR.outerIndexPtr()[r0 + 1] - YR.outerIndexPtr()[r0];
            const int* cols = YR.innerIndexPtr() + YR.outerIndexPtr()[r0];
            if (c0_outer_c[first + 1] - c0_outer_c[first] != nl + kb)
                throw std::logic_error("variance_derivatives: Y's and C0's patterns differ");
            const int below = static_cast<int>(std::lower_bound(cols, cols + nl, bl.off1) - cols);
            Yl.resize(kb, nl);
            for (int a = 0; a < kb; ++a) {
                if (YR.outerIndexPtr()[r0 + a + 1] - YR.outerIndexPtr()[r0 + a] != nl)
                    throw std::logic_error("variance_derivatives: the rows of one level of Y differ in pattern");
                for (int e = 0; e < nl; ++e) Yl(a, e) = YR.valuePtr()[YR.outerIndexPtr()[r0 + a] + e];
            }
            for (int a = 0; a < kb; ++a) {  // P_ab, b in the level's block-2 rows, into column first + a
                double* pcol = P.data() + c0_outer_c[first + a];
                for (int e = 0; e < nl; ++e) {
                    const double* zm = ZmT2.data() + static_cast<long>(cols[e]) * q2;
                    double v = 0.0;
                    for (int e1 = 0; e1 < nl; ++e1) v += Yl(a, e1) * zm[cols[e1]];
                    pcol[e < below ? e : e + kb] = v;
                }
            }
            // One pass over the level's pairs of columns (cols[e1], cols[e2]), e1 <= e2 (cols ascending),
            // for both: Gamma's upper triangles (the lower ones mirrored below: Gamma_ac' = Gamma_ca),
            // and half of P_l with its diagonal pairs halved (P_l = half + half').
            Pl.setZero();
            for (int e2 = 0; e2 < nl; ++e2) {
                const long c2 = cols[e2];
                const double* phi = Phi.data() + c2 * q2;
                if (kb == 1) {
                    const double y2 = Yl(0, e2);
                    double* g = gamma_big[0] + c2 * q2;
                    double pl = 0.5 * y2 * y2 * phi[c2];
                    g[c2] += y2 * y2;
                    for (int e1 = 0; e1 < e2; ++e1) {
                        const double yy = Yl(0, e1) * y2;
                        pl += yy * phi[cols[e1]];
                        g[cols[e1]] += yy;
                    }
                    Pl(0, 0) += pl;
                    continue;
                }
                for (int e1 = 0; e1 <= e2; ++e1) {
                    const double ph = e1 == e2 ? 0.5 * phi[cols[e1]] : phi[cols[e1]];
                    for (int a = 0; a < kb; ++a)
                        for (int c = 0; c < kb; ++c) {
                            const double yy = Yl(a, e1) * Yl(c, e2);
                            Pl(a, c) += yy * ph;
                            gamma_big[a * kb + c][c2 * q2 + cols[e1]] += yy;
                        }
                }
            }
            for (int a = 0; a < kb; ++a)  // the level-diagonal block: P_l + P_l' (rows below..below+kb)
                for (int c = 0; c < kb; ++c) P[c0_outer_c[first + a] + below + c] = Pl(c, a) + Pl(a, c);
        }
        for (int a = 0; a < kb; ++a)  // the lower triangles: Gamma_ac(c1, c2) = Gamma_ca(c2, c1), c1 > c2
            for (int c = 0; c < kb; ++c) {
                Eigen::MatrixXd& Gac = Gamma[bl.big][static_cast<size_t>(a) * kb + c];
                const Eigen::MatrixXd& Gca = Gamma[bl.big][static_cast<size_t>(c) * kb + a];
                for (int c2 = 0; c2 < q2; ++c2)
                    for (int c1 = c2 + 1; c1 < q2; ++c1) Gac(c1, c2) = Gca(c2, c1);
            }
        for (int b2 = 0; b2 < q2; ++b2) {  // block-2 columns: block-2 rows from P22, block-1 rows mirror the above
            const int b = bl.idx2[b2];
            for (int pos = c0_outer_c[b]; pos < c0_outer_c[b + 1]; ++pos) {
                const int a2 = bl.pos2[C0.innerIndexPtr()[pos]];
                P[pos] = a2 >= 0 ? P22(a2, b2) : P[mirror[pos]];
            }
        }
    }
    const Eigen::Map<const Eigen::VectorXd> C0v(C0.valuePtr(), C0.nonZeros());
    const Eigen::VectorXd M = C0v - 2.0 * P;  // C0 - 2P, in C0's layout
    check_interrupt();

    // The traces, term pair by term pair (rows of term ta, columns of term tb):
    //   tr(C D_i C D_j) = tr(C0 D_i C0 D_j) - 2 tr(Y'D_j C0 D_i Y Phi) + tr(W_i W_j)
    //                   = <C0 D_i, D_j M> + tr(W_i W_j),   M = C0 - 2P,  W_i = Y'D_i Y Phi
    // (<,> the entrywise inner product; D_j M needs M only on C0's pattern: whole level blocks).
    // Within the k_a x k_b blocks of two levels, <C0 D_i, D_j M> = sum over the blocks of
    // sum_{a,e,c,f} C0(a,e) M(c,f) d_j(a,c) d_i(e,f), so one pass over C0 gives, per term pair,
    //   G_{ta,tb}[(a,e),(c,f)] = sum over level blocks of C0(a,e) M(c,f),
    // and tr(C0 D_i C0 D_j) - 2 cross = sum G_{tj,ti}[(a,e),(c,f)] d_j(a,c) d_i(e,f).
    std::vector<Eigen::MatrixXd> G(static_cast<size_t>(nterm) * nterm);
    for (int ta = 0; ta < nterm; ++ta)
        for (int tb = 0; tb < nterm; ++tb) {
            const int kk = terms[ta].k * terms[tb].k;
            G[static_cast<size_t>(ta) * nterm + tb] = Eigen::MatrixXd::Zero(kk, kk);
        }
    {
        const int* outer = C0.outerIndexPtr();
        std::vector<double> G_scalar(static_cast<size_t>(nterm) * nterm, 0.0);  // pairs of scalar terms
        for (int b = 0; b < qq; ++b) {
            const int tb = term_at[b], e = local_at[b], kb_ = terms[tb].k, fb = b - e;
            for (int pos = outer[b]; pos < outer[b + 1]; ++pos) {
                const int a = C0.innerIndexPtr()[pos], ta = term_at[a], a0 = local_at[a], ka = terms[ta].k;
                const double v = C0v[pos];
                if (ka == 1 && kb_ == 1) {  // scalar terms: the level block is the entry itself
                    G_scalar[static_cast<size_t>(ta) * nterm + tb] += v * M[pos];
                    continue;
                }
                Eigen::MatrixXd& Gab = G[static_cast<size_t>(ta) * nterm + tb];
                const int base = pos - a0 - outer[b];  // the level block's first row, within the column
                for (int f = 0; f < kb_; ++f) {
                    const int col = outer[fb + f] + base;
                    if (C0.innerIndexPtr()[col] != a - a0)
                        throw std::logic_error("variance_derivatives: C0's pattern is not made of whole level blocks");
                    for (int c = 0; c < ka; ++c) Gab(a0 * kb_ + e, c * kb_ + f) += v * M[col + c];
                }
            }
        }
        for (size_t tab = 0; tab < G_scalar.size(); ++tab)
            if (G[tab].size() == 1) G[tab](0, 0) += G_scalar[tab];
    }
    auto trace_C0_M = [&](int i, int j) {
        const int ti = term_of[i], tj = term_of[j], ka = terms[tj].k, kb_ = terms[ti].k;
        const Eigen::MatrixXd& Gab = G[static_cast<size_t>(tj) * nterm + ti];
        double tr = 0.0;
        for (int a = 0; a < ka; ++a)
            for (int e = 0; e < kb_; ++e)
                for (int c = 0; c < ka; ++c)
                    for (int f = 0; f < kb_; ++f) tr += Gab(a * kb_ + e, c * kb_ + f) * d[j](a, c) * d[i](e, f);
        return tr;
    };
    // Y'D_i Y = sum_{a,c} d_i(a,c) Gamma_{t,ac},  Gamma_{t,ac} = Y_{t,a}' Y_{t,c} (Y_{t,a}: the rows of
    // coefficient a of term t's levels): sparse rows for block 1, a GEMM on Y_2 for block 2.
    if (q2 > 0)
        for (int t = 0; t < nterm; ++t) {
            const int k = terms[t].k, L = terms[t].nlevels;
            if (t == bl.big) continue;  // block 1's: above, with P's level-diagonal blocks
            Gamma[t].assign(static_cast<size_t>(k) * k, Eigen::MatrixXd::Zero(q2, q2));
            {
                const int first = bl.pos2[offsets[t]];
                std::vector<Eigen::MatrixXd> Yt(k, Eigen::MatrixXd(L, q2));  // Y_{t,a}, dense
                for (int a = 0; a < k; ++a)
                    for (int l = 0; l < L; ++l) Yt[a].row(l) = Y2.row(first + l * k + a);
                for (int a = 0; a < k; ++a)
                    for (int c = 0; c < k; ++c) Gamma[t][static_cast<size_t>(a) * k + c].noalias() = Yt[a].transpose() * Yt[c];
            }
            check_interrupt();
        }

    // Per theta_i: D_i N, D_i u, inner_i, u'D_i u, W_i; then C D_i N, C D_i u for all theta_i at once.
    std::vector<Eigen::MatrixXd> DN(nt), Wm(nt);
    std::vector<Eigen::VectorXd> Du(nt);
    out.inner.resize(nt);
    out.u_D_u = Eigen::VectorXd(nt);
    Eigen::MatrixXd NU(qq, static_cast<long>(nt) * (pp + 1));  // [D_i N, D_i u] for every theta_i
    for (int i = 0; i < nt; ++i) {
        DN[i] = D_times(i, N);
        Du[i] = D_times(i, u);
        out.inner[i] = N.transpose() * DN[i];
        out.inner[i] = 0.5 * (out.inner[i] + out.inner[i].transpose()).eval();
        out.u_D_u[i] = u.dot(Du[i]);
        NU.middleCols(i * (pp + 1), pp) = DN[i];
        NU.col(i * (pp + 1) + pp) = Du[i];
        if (q2 > 0) {
            const int t = term_of[i], k = terms[t].k;
            if (k == 1) {  // Y'D_i Y = d_i Gamma_t
                Wm[i].noalias() = Gamma[t][0] * Phi;
                Wm[i] *= d[i](0, 0);
            } else {
                Eigen::MatrixXd YDY = Eigen::MatrixXd::Zero(q2, q2);
                for (int a = 0; a < k; ++a)
                    for (int c = 0; c < k; ++c)
                        if (d[i](a, c) != 0.0) YDY += d[i](a, c) * Gamma[t][static_cast<size_t>(a) * k + c];
                Wm[i].noalias() = YDY * Phi;
            }
        }
        check_interrupt();
    }
    // V_i' C V_j for V_i = [D_i N, D_i u], which is zero outside term t_i's rows (R_i): with C = C0 - Y Phi Y',
    //   V_i' C V_j = V_i,R_i' (C0_{:,R_j} V_j,R_j)_{R_i} - (Y_{R_i}' V_i,R_i)' Phi (Y_{R_j}' V_j,R_j),
    // from term t_j's columns of C0 and term t's rows of Y only.
    auto term_rows = [&](int i) { return std::make_pair(offsets[term_of[i]], terms[term_of[i]].k * terms[term_of[i]].nlevels); };
    std::vector<Eigen::MatrixXd> C0V(nt), YtV(nt), PhiYtV(nt);
    for (int i = 0; i < nt; ++i) {
        const auto [off, size] = term_rows(i);
        const auto Vi = NU.block(off, static_cast<long>(i) * (pp + 1), size, pp + 1);
        C0V[i].noalias() = C0.middleCols(off, size) * Vi;
        if (q2 > 0) {
            YtV[i].noalias() = YR.middleRows(off, size).transpose() * Vi;
            PhiYtV[i].noalias() = Phi * YtV[i];
        }
    }
    auto V_C_V = [&](int i, int j) {
        const auto [off, size] = term_rows(i);
        Eigen::MatrixXd out = NU.block(off, static_cast<long>(i) * (pp + 1), size, pp + 1).transpose() *
                              C0V[j].middleRows(off, size);
        if (q2 > 0) out.noalias() -= YtV[i].transpose() * PhiYtV[j];
        return out;
    };
    // Level-diagonal blocks of C = C0 - P (each term's levels), for tr(C D_ij).
    std::vector<std::vector<Eigen::MatrixXd>> diagC(nterm);
    for (int t = 0; t < nterm; ++t) {
        const int k = terms[t].k, L = terms[t].nlevels;
        diagC[t].assign(L, Eigen::MatrixXd::Zero(k, k));
        for (int l = 0; l < L; ++l) {
            const int first = offsets[t] + l * k;
            for (int c = 0; c < k; ++c)
                for (int pos = C0.outerIndexPtr()[first + c]; pos < C0.outerIndexPtr()[first + c + 1]; ++pos) {
                    const int a = C0.innerIndexPtr()[pos];
                    if (a >= first && a < first + k) diagC[t][l](a - first, c) = C0v[pos] - P[pos];
                }
        }
    }
    auto trace_C_diag = [&](int t, const Eigen::MatrixXd& dij) {
        double tr = 0.0;
        for (const Eigen::MatrixXd& Cl : diagC[t]) tr += (Cl.array() * dij.array()).sum();
        return tr;
    };
    out.hessian = Eigen::MatrixXd::Zero(nt, nt);
    for (int i = 0; i < nt; ++i) {
        for (int j = i; j < nt; ++j) {
            double trCC = trace_C0_M(i, j);
            if (q2 > 0) trCC += (Wm[i].array() * Wm[j].transpose().array()).sum();
            double trQQ = trCC;
            const Eigen::MatrixXd VCV = V_C_V(i, j);  // [D_i N, D_i u]' C [D_j N, D_j u]
            if (reml)
                trQQ += -2.0 * (Minv.array() * VCV.topLeftCorner(pp, pp).array()).sum() +
                        (Minv * out.inner[i]).cwiseProduct((Minv * out.inner[j]).transpose()).sum();
            const Eigen::VectorXd NDu_i = N.transpose() * Du[i], NDu_j = N.transpose() * Du[j];
            const double uQu = VCV(pp, pp) - NDu_i.dot(Minv * NDu_j);
            double h = -trQQ + 2.0 * uQu / s;
            if (term_of[i] == term_of[j]) {
                const int t = term_of[i];
                const Eigen::MatrixXd dij = dsecond(i, j);
                double trQD = trace_C_diag(t, dij);
                const Eigen::MatrixXd DijN = block_times(dij, N, offsets[t], terms[t].k, terms[t].nlevels);
                if (reml)
                    trQD -= (Minv.array() * (N.middleRows(offsets[t], DijN.rows()).transpose() * DijN).array()).sum();
                const Eigen::VectorXd Diju = block_times(dij, u, offsets[t], terms[t].k, terms[t].nlevels);
                h += trQD - u.segment(offsets[t], Diju.size()).dot(Diju) / s;
            }
            out.hessian(i, j) = out.hessian(j, i) = h;
        }
    }
    return out;
}

}  // namespace glmmfast
