// csc.hpp — build a validated Eigen sparse matrix from compressed sparse
// column arrays (indptr, indices, data), as scipy.sparse.csc_matrix stores
// them.  Every index is checked, so no caller can make the engine read out
// of bounds.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "covariance/lambda_map.hpp"

namespace glmmfast {

inline SpMat csc_matrix(int rows, int cols, const int32_t* indptr, long n_indptr, const int32_t* indices,
                        const double* data, long nnz) {
    if (rows < 0 || cols < 0) throw std::invalid_argument("negative matrix dimension");
    if (n_indptr != static_cast<long>(cols) + 1) throw std::invalid_argument("indptr must have cols + 1 entries");
    if (nnz < 0) throw std::invalid_argument("negative number of stored entries");
    if (indptr[0] != 0 || indptr[cols] != nnz) throw std::invalid_argument("indptr must start at 0 and end at nnz");
    // Check the whole of indptr before reading any column, so a decreasing
    // entry further on cannot let an earlier column run past nnz.
    for (int j = 0; j < cols; ++j)
        if (indptr[j + 1] < indptr[j]) throw std::invalid_argument("indptr must be non-decreasing");
    SpMat m(rows, cols);
    m.reserve(nnz);
    for (int j = 0; j < cols; ++j) {
        m.startVec(j);
        int last = -1;
        for (int p = indptr[j]; p < indptr[j + 1]; ++p) {
            const int i = indices[p];
            if (i < 0 || i >= rows) throw std::invalid_argument("row index " + std::to_string(i) + " out of range");
            if (i <= last) throw std::invalid_argument("row indices must be sorted and unique within a column");
            if (!std::isfinite(data[p])) throw std::invalid_argument("non-finite value in sparse matrix");
            last = i;
            m.insertBack(i, j) = data[p];
        }
    }
    m.finalize();
    return m;
}

}  // namespace glmmfast
