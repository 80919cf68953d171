// row_layout.cpp — the rows of U = Z Lambda (see row_layout.hpp).
#include "linalg/row_layout.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "optim/interrupt.hpp"

namespace glmmfast {

RowLayout::RowLayout(const SpMat& Z, const std::vector<TermShape>& terms)
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
    // Row by row (both arrays row-major: sequential reads and writes), each term's k u-indices from its
    // level's start (-1: no level).  The widths are copied out first: writes through an int pointer may
    // alias terms[t].k, which the compiler would otherwise load again for every entry (Chem97: 31,022 rows).
    ucol_.resize(n_, K_);
    std::vector<int> widths(static_cast<size_t>(nt));
    for (int t = 0; t < nt; ++t) widths[static_cast<size_t>(t)] = terms[t].k;
    const int* starts = start_.data();
    int* out = ucol_.data();
    for (int i = 0; i < n_; ++i, starts += nt)
        for (int t = 0; t < nt; ++t) {
            const int s = starts[t], k = widths[static_cast<size_t>(t)];
            for (int a = 0; a < k; ++a) *out++ = s < 0 ? -1 : s + a;
        }
    urows_.resize(n_, K_);
    set_theta(lambda_.initial_theta());
}

// Row i of U, term t: z_it' T_t (T_t lower triangular).
void RowLayout::set_theta(const Eigen::VectorXd& theta) {
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

std::vector<std::pair<int, int>> RowLayout::pairs(std::vector<int>* run_positions) const {
    // Each run of rows in the same levels emits its pairs (r >= c) once, in row order: a row in the same
    // levels as the row before adds none (on data sorted by group, Chem97: 31,022 rows in 2,410 schools,
    // most rows).
    const auto for_each_pair = [&](auto&& emit) {
        for (int i = 0; i < n_; ++i) {
            if (i > 0 && same_levels_as_previous(i)) continue;
            const int* cols = columns(i);
            for (int a = 0; a < K_; ++a)
                for (int b = 0; b <= a; ++b)
                    if (cols[a] >= 0 && cols[b] >= 0) emit(std::max(cols[a], cols[b]), std::min(cols[a], cols[b]));
        }
    };
    std::vector<std::pair<int, int>> out;
    if (K_ == 1) {
        // One scalar term: a run's only pair is (c, c), so the pattern is the diagonal of the levels taken
        // (what the buckets below give, without them); a run's position is its level's place on it.
        std::vector<int> at(static_cast<size_t>(q()), -1);
        for_each_pair([&](int, int c) { at[static_cast<size_t>(c)] = 0; });
        for (int c = 0; c < q(); ++c)
            if (at[static_cast<size_t>(c)] == 0) {
                at[static_cast<size_t>(c)] = static_cast<int>(out.size());
                out.emplace_back(c, c);
            }
        if (run_positions) {
            run_positions->clear();
            for_each_pair([&](int, int c) { run_positions->push_back(at[static_cast<size_t>(c)]); });
        }
        return out;
    }
    // Bucketed by r (a counting sort: two passes over the rows), then each
    // bucket's c made unique and sorted: the whole list's comparison sort
    // was most of the pattern's cost (InstEval: 4.4e5 pairs).
    std::vector<size_t> first(static_cast<size_t>(q()) + 1, 0);  // bucket r: [first[r], first[r + 1])
    for_each_pair([&](int r, int) { ++first[static_cast<size_t>(r) + 1]; });
    for (int r = 0; r < q(); ++r) first[r + 1] += first[r];
    std::vector<int> cs(first[q()]);
    std::vector<size_t> fill(first.begin(), first.end() - 1);
    // slot[e]: where the e-th pair emitted (in row order) went among the buckets' entries.
    std::vector<size_t> slot(run_positions ? cs.size() : 0);
    size_t emitted = 0;
    for_each_pair([&](int r, int c) {
        if (run_positions) slot[emitted++] = fill[r];
        cs[fill[r]++] = c;
    });
    check_interrupt();
    // Duplicates dropped before the sort, by a mark per column (the last bucket it was seen in): on crossed
    // terms most of a bucket repeats (sim_lmm_slope_1e5: 6e5 entries, 1.3e5 pairs), and sorting them all was
    // most of the pattern's cost.
    out.reserve(cs.size());
    std::vector<int> seen(static_cast<size_t>(q()), -1), at(run_positions ? q() : 0), unique;
    for (int r = 0; r < q(); ++r) {
        unique.clear();
        for (size_t e = first[r]; e < first[r + 1]; ++e)
            if (seen[cs[e]] != r) {
                seen[cs[e]] = r;
                unique.push_back(cs[e]);
            }
        std::sort(unique.begin(), unique.end());
        if (run_positions) {  // each entry's position, through its column's (cs is overwritten with it)
            for (size_t k = 0; k < unique.size(); ++k) at[unique[k]] = static_cast<int>(out.size() + k);
            for (size_t e = first[r]; e < first[r + 1]; ++e) cs[e] = at[cs[e]];
        }
        for (const int c : unique) out.emplace_back(r, c);
    }
    if (run_positions) {
        run_positions->resize(slot.size());
        for (size_t e = 0; e < slot.size(); ++e) (*run_positions)[e] = cs[slot[e]];
    }
    return out;
}

void RowLayout::scatter_UtWU(const double* sw, const double* sg, const int* pos, double* x) const {
    for_each_K([&](auto k_static) {
        const int K = row_width(k_static), P = K * (K + 1) / 2;
        const double* u = urows_.data();
        for (int i = 0; i < n_; ++i, u += K, pos += P) {
            const double w = sw[i] * sw[i] * (sg ? sg[i] : 1.0);
            int p = 0;
            for (int a = 0; a < K; ++a) {
                const double wa = w * u[a];
                for (int b = 0; b <= a; ++b, ++p)
                    if (pos[p] >= 0) x[pos[p]] += wa * u[b];
            }
        }
    });
}

RowLayout::RowMajor RowLayout::selected_row_products(const double* sel, const int* scatter) const {
    RowMajor Y = RowMajor::Zero(n_, K_);
    for_each_K([&](auto k_static) {
        const int K = row_width(k_static), P = K * (K + 1) / 2;
        for (int i = 0; i < n_; ++i) {
            const double* u = u_row(i);
            const int* pos = scatter + static_cast<size_t>(i) * P;
            double* y = Y.data() + static_cast<size_t>(i) * K;
            int p = 0;
            for (int a = 0; a < K; ++a)
                for (int b = 0; b <= a; ++b, ++p) {
                    if (pos[p] < 0) continue;
                    const double z = sel[pos[p]];
                    y[a] += z * u[b];
                    if (b != a) y[b] += z * u[a];
                }
        }
    });
    return Y;
}

// out[i] = store(out[i], values_i . v[cols_i]) over the rows: one body for
// every K (K = 1, the PIRLS inner loop of (1 | g) models, without the inner
// loop's overhead).
template <class Store>
void RowLayout::rows_times(const RowMajor& values, const Eigen::VectorXd& v, double* out, Store store) const {
    for_each_K([&](auto k_static) {
        const int K = row_width(k_static);
        const int* col = ucol_.data();
        const double *val = values.data(), *vv = v.data();
        for (int i = 0; i < n_; ++i) {
            double s = 0.0;
            for (int c = 0; c < K; ++c) {
                const size_t e = static_cast<size_t>(i) * K + c;
                if (col[e] >= 0) s += val[e] * vv[col[e]];
            }
            out[i] = store(out[i], s);
        }
    });
}

Eigen::VectorXd RowLayout::U_times(const Eigen::VectorXd& u) const {
    Eigen::VectorXd out(n_);
    rows_times(urows_, u, out.data(), [](double, double s) { return s; });
    return out;
}

void RowLayout::add_U_times(const Eigen::VectorXd& u, Eigen::Ref<Eigen::VectorXd> out) const {
    rows_times(urows_, u, out.data(), [](double o, double s) { return o + s; });
}

Eigen::VectorXd RowLayout::Z_times(const Eigen::VectorXd& v) const {
    Eigen::VectorXd out(n_);
    rows_times(zrows_, v, out.data(), [](double, double s) { return s; });
    return out;
}

// Column by column, contiguous in M and out; every entry of out sums its rows
// in row order (a row touches a u-index at most once).
Eigen::MatrixXd RowLayout::WUt_times(const Eigen::MatrixXd& M, const Eigen::VectorXd& sqrtw) const {
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(q(), M.cols());
    for_each_K([&](auto k_static) {
        const int K = row_width(k_static);
        const int* col = ucol_.data();
        const double *val = urows_.data(), *sw = sqrtw.data();
        for (Eigen::Index j = 0; j < M.cols(); ++j) {
            const double* m = M.col(j).data();
            double* o = out.col(j).data();
            for (int i = 0; i < n_; ++i)
                for (int c = 0; c < K; ++c) {
                    const size_t e = static_cast<size_t>(i) * K + c;
                    if (col[e] >= 0) o[col[e]] += (sw[i] * val[e]) * m[i];
                }
        }
    });
    return out;
}

Eigen::VectorXd RowLayout::Ut_times(const Eigen::VectorXd& v) const {
    Eigen::VectorXd out = Eigen::VectorXd::Zero(q());
    for_each_K([&](auto k_static) {
        const int K = row_width(k_static);
        const int* col = ucol_.data();
        const double *val = urows_.data(), *vv = v.data();
        double* o = out.data();
        for (int i = 0; i < n_; ++i)
            for (int c = 0; c < K; ++c) {
                const size_t e = static_cast<size_t>(i) * K + c;
                if (col[e] >= 0) o[col[e]] += vv[i] * val[e];
            }
    });
    return out;
}

}  // namespace glmmfast
