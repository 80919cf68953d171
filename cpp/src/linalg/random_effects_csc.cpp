// random_effects_csc.cpp — Z's CSC arrays by a counting sort (random_effects_csc.hpp):
// one pass counts each column's entries (indptr by their running sum), a second
// puts each entry at its column's next free position.  O(entries), where a sort
// of the column numbers costs O(entries log entries).
#include "linalg/random_effects_csc.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace glmmfast {
namespace {

constexpr long kMaxIndex = std::numeric_limits<int32_t>::max();

long column_count(const std::vector<TermEntries>& terms) {
    long q = 0;
    for (const TermEntries& t : terms) {
        if (t.k < 0 || t.nlevels < 0) throw std::invalid_argument("a term's columns and levels must be non-negative");
        q += static_cast<long>(t.k) * t.nlevels;
        if (q > kMaxIndex) throw std::invalid_argument("Z has more columns than a 32-bit index holds");
    }
    return q;
}

void check_code(int64_t code, int nlevels) {
    if (code < 0 || code >= nlevels) throw std::invalid_argument("level code " + std::to_string(code) + " out of range");
}

}  // namespace

CscArrays random_effects_csc(long n, const std::vector<TermEntries>& terms) {
    CscArrays z;
    if (n < 0 || n > kMaxIndex) throw std::invalid_argument("Z has more rows than a 32-bit index holds");
    const long q = column_count(terms);
    z.cols = static_cast<int>(q);
    z.indptr.assign(static_cast<size_t>(q) + 1, 0);
    // counts of column c in indptr[c + 1]
    long offset = 0;
    for (const TermEntries& t : terms) {
        const int64_t* codes = t.codes;
        const long k = t.k;
        for (long j = 0; j < k; ++j) {
            const double* x = t.X + j * n;
            int32_t* count = z.indptr.data() + 1 + offset + j;
            // a run of rows of one level (data sorted by group) counts in a register: no chain of
            // increments of one memory cell
            int64_t level = -1;
            int32_t run = 0;
            for (long i = 0; i < n; ++i) {
                if (codes[i] != level) {
                    if (level >= 0) count[level * k] += run;
                    level = codes[i];
                    check_code(level, t.nlevels);
                    run = 0;
                }
                run += x[i] != 0.0;
            }
            if (level >= 0) count[level * k] += run;
        }
        offset += static_cast<long>(t.k) * t.nlevels;
    }
    long total = 0;
    for (long c = 1; c <= q; ++c) {
        total += z.indptr[static_cast<size_t>(c)];
        if (total > kMaxIndex) throw std::invalid_argument("Z has more entries than a 32-bit index holds");
        z.indptr[static_cast<size_t>(c)] = static_cast<int32_t>(total);
    }
    z.nnz = total;
    z.indices.reset(new int32_t[static_cast<size_t>(total)]);  // not zeroed: every entry is written below
    z.data.reset(new double[static_cast<size_t>(total)]);
    std::vector<int32_t> next(z.indptr.begin(), z.indptr.end() - 1);  // each column's next free position
    offset = 0;
    int32_t* indices = z.indices.get();
    double* data = z.data.get();
    for (const TermEntries& t : terms) {
        const int64_t* codes = t.codes;
        const long k = t.k;
        for (long j = 0; j < k; ++j) {
            const double* x = t.X + j * n;
            int32_t* pos = next.data() + offset + j;
            int64_t level = -1;  // the current run's level, and its next position in a register
            int32_t p = 0;
            for (long i = 0; i < n; ++i) {
                if (x[i] == 0.0) continue;
                if (codes[i] != level) {
                    if (level >= 0) pos[level * k] = p;
                    level = codes[i];
                    p = pos[level * k];
                }
                indices[p] = static_cast<int32_t>(i);
                data[p] = x[i];
                ++p;
            }
            if (level >= 0) pos[level * k] = p;
        }
        offset += static_cast<long>(t.k) * t.nlevels;
    }
    return z;
}

}  // namespace glmmfast
