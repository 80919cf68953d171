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
// C without a q x q matrix.  Split the random effects into the largest term
// (block 1: q1 = k L effects; no two of its levels share a row, so everything
// about it is block diagonal by level) and the rest (block 2, q2 effects).
// With V_1 = W^{-1} + Z_1 G_1 Z_1' (block 1 alone) and C0 = Z'V_1^{-1}Z,
// Woodbury's identity on V0 = V_1 + Z_2 Lambda_2 Lambda_2' Z_2' gives
//   C = C0 - Yc Phi Yc',   Yc = C0_{:,2} Lambda_2  (q x q2),
//   Phi = (I + Lambda_2' C0_22 Lambda_2)^{-1}  (q2 x q2, dense),
// and C0's blocks are
//   C0_11 = blockdiag(K_l - K_l H_l K_l),  C0_12 = (I - K_l H_l) S_12 (level by level),
//   C0_22 = S_22 - S_12' blockdiag(H_l) S_12,
// with S = Z'WZ, K_l its level-l diagonal block of block 1 and
// H_l = T (I + T'K_l T)^{-1} T'.  The traces:
//   tr(C D_i C D_j) = tr(C0 D_i C0 D_j) - 2 tr(Yc'D_j C0 D_i Zm) + tr(W_i W_j),
//   Zm = Yc Phi, W_i = Yc'D_i Zm;
//   tr(C0 D_i C0 D_j) = sum((D_i C0_[ti,tj]) .* (C0_[ti,tj] D_j)) over the
//   blocks of the two terms (level by level when both are block 1);
//   tr(Q_P D_i Q_P D_j) = tr(C D_i C D_j) - 2 tr(M^{-1}(D_i N)'C D_j N)
//                         + tr(M^{-1} inner_i M^{-1} inner_j);
//   tr(C D_ij) from C's level-diagonal blocks.
// Cost: one pass over the rows for S's blocks (S_12 sparse), no solve with the
// factor beyond the p of N, O(q q2^2) dense products per theta_i; memory
// O(q q2) (a few q x q2 matrices at a time).  With one term (q2 = 0) everything is level by level, O(n + L k^3).
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
    if (!evaluated_) throw PirlsError("the model has not been evaluated at a valid theta");
    if (!(s > 0.0)) throw std::invalid_argument("sigma^2 must be positive");
    const LambdaMap& lam = sys_.lambda();
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
    // Z' M for an n-row M (rows of Z from the system's per-row table), and D_i on a q-row matrix.
    auto Zt_times = [&](const Eigen::MatrixXd& M) {
        Eigen::MatrixXd out = Eigen::MatrixXd::Zero(qq, M.cols());
        for (int i = 0; i < nobs; ++i)
            for (int t = 0; t < nterm; ++t) {
                const int st = sys_.level_start(i, t), tc = sys_.term_column(t);
                if (st < 0) continue;
                for (int c = 0; c < terms[t].k; ++c) out.row(st + c) += sys_.z_value(i, tc + c) * M.row(i);
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
    // N = Z'W(X - U G_X), u = Z'W r.
    Eigen::MatrixXd N(qq, pp);
    {
        const Eigen::MatrixXd G = sys_.solve_Lt(elim_.RZX());
        Eigen::MatrixXd VX = X_;
        for (int j = 0; j < pp; ++j) VX.col(j) -= sys_.U_times(G.col(j));
        N = Zt_times(w.matrix().asDiagonal() * VX);
    }
    Eigen::VectorXd r = y_;
    r.noalias() -= X_ * beta_;
    r -= sys_.U_times(u_);
    const Eigen::VectorXd u = Zt_times((w * r.array()).matrix());
    check_interrupt();

    // Blocks: the largest term is block 1.
    Blocks bl;
    for (int t = 1; t < nterm; ++t)
        if (terms[t].k * terms[t].nlevels > terms[bl.big].k * terms[bl.big].nlevels) bl.big = t;
    const int kb = terms[bl.big].k, Lb = terms[bl.big].nlevels, tcb = sys_.term_column(bl.big);
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
    for (int i = 0; i < nobs; ++i) {
        const int sb = sys_.level_start(i, bl.big);
        Eigen::VectorXd zb(kb);
        for (int a = 0; a < kb; ++a) zb[a] = sb >= 0 ? sys_.z_value(i, tcb + a) : 0.0;
        if (sb >= 0) K[(sb - bl.off1) / kb].noalias() += w[i] * zb * zb.transpose();
        for (int t = 0; t < nterm; ++t) {
            const int st = sys_.level_start(i, t), tc = sys_.term_column(t);
            if (t == bl.big || st < 0) continue;
            for (int c = 0; c < terms[t].k; ++c) {
                const double wz = w[i] * sys_.z_value(i, tc + c);
                const int col = bl.pos2[st + c];
                if (sb >= 0)
                    for (int a = 0; a < kb; ++a) s12.emplace_back(sb - bl.off1 + a, col, wz * zb[a]);
                for (int t2 = 0; t2 < nterm; ++t2) {
                    const int st2 = sys_.level_start(i, t2), tc2 = sys_.term_column(t2);
                    if (t2 == bl.big || st2 < 0) continue;
                    for (int c2 = 0; c2 < terms[t2].k; ++c2) S22(bl.pos2[st2 + c2], col) += wz * sys_.z_value(i, tc2 + c2);
                }
            }
        }
    }
    // C0's blocks.
    const Eigen::MatrixXd& Tb = lam.term_factor(bl.big);
    // S_12 and C0_12 = (I - blockdiag(K_l H_l)) S_12 sparse (S_12's pattern: the pairs of levels sharing rows).
    SpMatR S12(q1, q2);
    S12.setFromTriplets(s12.begin(), s12.end());
    std::vector<Eigen::MatrixXd> C011(Lb);
    std::vector<Eigen::Triplet<double>> kh, hh;
    for (int l = 0; l < Lb; ++l) {
        const Eigen::MatrixXd Dl = Eigen::MatrixXd::Identity(kb, kb) + Tb.transpose() * K[l] * Tb;
        const Eigen::MatrixXd H = Tb * Dl.llt().solve(Tb.transpose());
        const Eigen::MatrixXd KH = K[l] * H;
        C011[l] = K[l] - KH * K[l];
        for (int a = 0; a < kb; ++a)
            for (int c = 0; c < kb; ++c) {
                kh.emplace_back(l * kb + a, l * kb + c, KH(a, c));
                hh.emplace_back(l * kb + a, l * kb + c, H(a, c));
            }
    }
    SpMatR KHb(q1, q1), Hb(q1, q1);
    KHb.setFromTriplets(kh.begin(), kh.end());
    Hb.setFromTriplets(hh.begin(), hh.end());
    const SpMatR C012 = S12 - SpMatR(KHb * S12);
    const Eigen::MatrixXd C012d = C012;  // dense too: products with many columns run as GEMMs
    Eigen::MatrixXd C022 = S22;
    if (q2 > 0) C022 -= Eigen::MatrixXd(SpMatR(S12.transpose()) * SpMatR(Hb * S12));
    // Rows of block 2 of a q-row V, and back.
    auto rows2 = [&](const Eigen::MatrixXd& V) {
        Eigen::MatrixXd V2(q2, V.cols());
        for (int j = 0; j < q2; ++j) V2.row(j) = V.row(bl.idx2[j]);
        return V2;
    };
    // C0 V for a q-row V.
    auto C0_times = [&](const Eigen::MatrixXd& V) {
        Eigen::MatrixXd out(qq, V.cols());
        const Eigen::MatrixXd V2 = rows2(V);
        out.middleRows(bl.off1, q1) =
            blockdiag_times([&](int l) -> const Eigen::MatrixXd& { return C011[l]; }, V, bl.off1, kb, Lb);
        if (q2 > 0) {
            out.middleRows(bl.off1, q1).noalias() += C012d * V2;
            Eigen::MatrixXd o2 = C022 * V2;
            o2.noalias() += C012d.transpose() * V.middleRows(bl.off1, q1);
            for (int j = 0; j < q2; ++j) out.row(bl.idx2[j]) = o2.row(j);
        }
        return out;
    };
    check_interrupt();

    // The low-rank part (Woodbury on block 2 after block 1): V0 = V_1 + Z_2 Lambda_2 Lambda_2' Z_2', so
    // C = C0 - Yc Phi Yc',  Yc = C0_{:,2} Lambda_2,  Phi = (I + Lambda_2' C0_22 Lambda_2)^{-1};  Zm = Yc Phi.
    Eigen::MatrixXd Yc(qq, q2), Zm(qq, q2);
    if (q2 > 0) {
        // Lambda_2' M for a q2-row M (each block-2 term's rows are contiguous in block 2's order).
        auto Lambda2t_times = [&](const Eigen::MatrixXd& M) {
            Eigen::MatrixXd out(q2, M.cols());
            for (int t = 0; t < nterm; ++t) {
                if (t == bl.big) continue;
                const int first = bl.pos2[offsets[t]], rows = terms[t].k * terms[t].nlevels;
                out.middleRows(first, rows) =
                    block_times(lam.term_factor(t).transpose(), M, first, terms[t].k, terms[t].nlevels);
            }
            return out;
        };
        const Eigen::MatrixXd Y1t = Lambda2t_times(C012d.transpose());  // (C0_12 Lambda_2)'
        const Eigen::MatrixXd Y2t = Lambda2t_times(C022);                // (C0_22 Lambda_2)'
        Eigen::MatrixXd Shat = Lambda2t_times(Y2t.transpose());         // Lambda_2' C0_22 Lambda_2
        Shat = 0.5 * (Shat + Shat.transpose()).eval();
        Shat.diagonal().array() += 1.0;
        const Eigen::MatrixXd Phi = Shat.llt().solve(Eigen::MatrixXd::Identity(q2, q2));
        Yc.middleRows(bl.off1, q1) = Y1t.transpose();
        for (int j = 0; j < q2; ++j) Yc.row(bl.idx2[j]) = Y2t.col(j).transpose();
        Zm.noalias() = Yc * Phi;
    }
    auto C_times = [&](const Eigen::MatrixXd& V) {
        Eigen::MatrixXd out = C0_times(V);
        if (q2 > 0) out.noalias() -= Yc * (Zm.transpose() * V);
        return out;
    };
    check_interrupt();

    // Per theta_i: D_i N, D_i u, C D_i N, C D_i u, inner_i, u'D_i u, W_i, and
    // cross(i, j) = tr(Yc'D_j C0 D_i Zm) (C0 D_i Zm is q x q2: one at a time).
    std::vector<Eigen::MatrixXd> DN(nt), CDN(nt), Wm(nt);
    Eigen::MatrixXd cross = Eigen::MatrixXd::Zero(nt, nt);
    std::vector<Eigen::VectorXd> Du(nt), CDu(nt);
    out.inner.resize(nt);
    out.u_D_u = Eigen::VectorXd(nt);
    for (int i = 0; i < nt; ++i) {
        DN[i] = D_times(i, N);
        Du[i] = D_times(i, u);
        out.inner[i] = N.transpose() * DN[i];
        out.inner[i] = 0.5 * (out.inner[i] + out.inner[i].transpose()).eval();
        out.u_D_u[i] = u.dot(Du[i]);
        Eigen::MatrixXd NU(qq, pp + 1);
        NU << DN[i], Du[i];
        const Eigen::MatrixXd CNU = C_times(NU);
        CDN[i] = CNU.leftCols(pp);
        CDu[i] = CNU.col(pp);
        if (q2 > 0) {
            const Eigen::MatrixXd DZm = D_times(i, Zm);
            const Eigen::MatrixXd C0DZm = C0_times(DZm);
            const int t = term_of[i], rows = terms[t].k * terms[t].nlevels;  // D_i Zm: term t's rows only
            Wm[i].noalias() = Yc.middleRows(offsets[t], rows).transpose() * DZm.middleRows(offsets[t], rows);
            for (int j = 0; j < nt; ++j) {
                const int tj = term_of[j], rj = terms[tj].k * terms[tj].nlevels;
                cross(i, j) = (block_times(d[j], Yc, offsets[tj], terms[tj].k, terms[tj].nlevels).array() *
                               C0DZm.middleRows(offsets[tj], rj).array()).sum();
            }
        }
        check_interrupt();
    }
    // C0's block between the rows of term ti and the columns of term tj (ti, tj not both block 1).
    auto C0_block = [&](int ti, int tj) {
        const int ri = terms[ti].k * terms[ti].nlevels, rj = terms[tj].k * terms[tj].nlevels;
        Eigen::MatrixXd blk(ri, rj);
        if (ti == bl.big || tj == bl.big) {  // C0_12's columns of the other term (block-2 terms are contiguous)
            const int other = ti == bl.big ? tj : ti;
            const auto cols = C012d.middleCols(bl.pos2[offsets[other]], ti == bl.big ? rj : ri);
            if (ti == bl.big) blk = cols; else blk = cols.transpose();
        } else {
            for (int c = 0; c < rj; ++c)
                for (int rr = 0; rr < ri; ++rr)
                    blk(rr, c) = C022(bl.pos2[offsets[ti] + rr], bl.pos2[offsets[tj] + c]);
        }
        return blk;
    };
    // tr(C0 D_i C0 D_j).
    auto trace_C0 = [&](int i, int j) {
        const int ti = term_of[i], tj = term_of[j];
        if (ti == bl.big && tj == bl.big) {
            double tr = 0.0;
            for (int l = 0; l < Lb; ++l) tr += ((d[i] * C011[l]).array() * (C011[l] * d[j]).array()).sum();
            return tr;
        }
        const Eigen::MatrixXd blk = C0_block(ti, tj);
        const Eigen::MatrixXd left = block_times(d[i], blk, 0, terms[ti].k, terms[ti].nlevels);
        const Eigen::MatrixXd right =
            block_times(d[j], blk.transpose(), 0, terms[tj].k, terms[tj].nlevels).transpose();  // blk D_j
        return (left.array() * right.array()).sum();
    };
    // Level-diagonal blocks of C (each term's levels), for tr(C D_ij).
    std::vector<std::vector<Eigen::MatrixXd>> diagC(nterm);
    for (int t = 0; t < nterm; ++t) {
        const int k = terms[t].k, L = terms[t].nlevels;
        diagC[t].resize(L);
        for (int l = 0; l < L; ++l) {
            const int first = offsets[t] + l * k;
            Eigen::MatrixXd& Cl = diagC[t][l];
            if (t == bl.big) {
                Cl = C011[l];
            } else {
                Cl.resize(k, k);
                for (int a = 0; a < k; ++a)
                    for (int c = 0; c < k; ++c) Cl(a, c) = C022(bl.pos2[first + a], bl.pos2[first + c]);
            }
            if (q2 > 0) Cl -= Yc.middleRows(first, k).lazyProduct(Zm.middleRows(first, k).transpose());
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
            double trCC = trace_C0(i, j);
            if (q2 > 0) trCC += -2.0 * cross(i, j) + (Wm[i].array() * Wm[j].transpose().array()).sum();
            double trQQ = trCC;
            if (reml)
                trQQ += -2.0 * (Minv.array() * (DN[i].transpose() * CDN[j]).array()).sum() +
                        (Minv * out.inner[i]).cwiseProduct((Minv * out.inner[j]).transpose()).sum();
            const Eigen::VectorXd NDu_i = N.transpose() * Du[i], NDu_j = N.transpose() * Du[j];
            const double uQu = Du[i].dot(CDu[j]) - NDu_i.dot(Minv * NDu_j);
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
