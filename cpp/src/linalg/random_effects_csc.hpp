// random_effects_csc.hpp — Z (n x q) in CSC form from each random-effects
// term's level codes and model matrix, by a counting sort (no comparison sort).
//
// Term t with k_t columns and nlevels_t levels owns Z's columns
// offset_t .. offset_t + k_t * nlevels_t - 1: row i's entry X_t(i, j) goes to
// column offset_t + code_t(i) * k_t + j.  Exact zeros are left out; within a
// column the rows ascend (each column belongs to one term, and a term's rows
// are read in order), as scipy's canonical CSC has them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace glmmfast {

// One term: n level codes (0 .. nlevels - 1) and its n x k model matrix, column-major.
struct TermEntries {
    const int64_t* codes;
    const double* X;
    int k;
    int nlevels;
};

// Z's CSC arrays: indptr (cols + 1), and each of the nnz entries' row and value.
struct CscArrays {
    int cols = 0;
    long nnz = 0;
    std::vector<int32_t> indptr;
    std::unique_ptr<int32_t[]> indices;
    std::unique_ptr<double[]> data;
};

// Z of n rows; invalid_argument for a code out of range, or more columns or entries than int32 holds.
CscArrays random_effects_csc(long n, const std::vector<TermEntries>& terms);

}  // namespace glmmfast
