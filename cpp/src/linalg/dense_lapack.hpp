// dense_lapack.hpp — optional LAPACK/BLAS kernels for the large dense
// blocks of the Schur complement (its LLT and its inverse).
//
// Why: the dense Schur complement of a large crossed model (10^4 columns:
// 3.3e11 flops per factorisation) dominates a fit, and an optimised
// LAPACK (scipy's OpenBLAS: blocked kernels for the machine's vector
// width, its own thread pool) runs it 2-4x faster than Eigen's LLT as we
// build it (portable SSE2).  No build dependency: the binding layer fills
// this table once at import with the function pointers scipy exports
// (scipy.linalg.cython_lapack / cython_blas, 32-bit int Fortran
// interface); while a pointer is null the Eigen code runs.
//
// Interface: `dense_lapack()` is the process-wide table;
// `lapack_for(n)` says whether an n x n block takes the LAPACK path (the
// table filled, the path enabled and n >= min_size: below it Eigen's
// kernels are as fast).
//
// Threads: the kernels run on `threads` OpenBLAS threads (its thread-local
// count set for the call, when the library offers
// openblas_set_num_threads_local), never inside parallel_for.  By default
// 1, the calling thread alone: OpenBLAS's own pool spins at its barriers,
// and on 2 cores shared with other processes (load 10) its 2-thread LLT ran
// 10x slower than its 1-thread one at n = 500-1,100, and no faster than
// Eigen's 2 threads at 4,000.  0: OpenBLAS's own count (its pool, as
// OPENBLAS_NUM_THREADS or threadpoolctl left it): the partitioned fit's
// driver, whose workers wait while it factorises (fit/_partitioned.py).
#pragma once

namespace glmmfast {

struct DenseLapack {
    // Fortran LAPACK/BLAS: every argument by pointer, matrices column-major.
    using Potrf = void (*)(char* uplo, int* n, double* a, int* lda, int* info);
    using Potri = void (*)(char* uplo, int* n, double* a, int* lda, int* info);
    using Trsm = void (*)(char* side, char* uplo, char* transa, char* diag, int* m, int* n, double* alpha,
                          double* a, int* lda, double* b, int* ldb);
    using Syrk = void (*)(char* uplo, char* trans, int* n, int* k, double* alpha, double* a, int* lda,
                          double* beta, double* c, int* ldc);
    Potrf dpotrf = nullptr;
    Potri dpotri = nullptr;
    Trsm dtrsm = nullptr;
    Syrk dsyrk = nullptr;
    // OpenBLAS's openblas_set_num_threads_local (returns the previous
    // count), or null: then its global thread count applies.
    using SetThreads = int (*)(int num_threads);
    SetThreads set_threads_local = nullptr;
    // OpenBLAS threads for the kernels (see Threads above; 0: OpenBLAS's own count).
    int threads = 1;
    // The engine switch (tests force the Eigen path with it) and the
    // least dimension sent to LAPACK.
    bool enabled = true;
    int min_size = 500;
    bool complete() const { return dpotrf && dpotri && dtrsm && dsyrk; }
};

DenseLapack& dense_lapack();

inline bool lapack_for(int n) {
    const DenseLapack& t = dense_lapack();
    return t.enabled && t.complete() && n >= t.min_size;
}

// Cholesky factor of the n x n block at A (leading dimension ld) in place,
// lower triangle (dpotrf by blocks of columns, so that an interrupt is
// polled between them); false if it is not positive definite.
bool lapack_llt(double* A, long ld, int n);
// S^{-1} from its Cholesky factor in place (dpotri): `upper` as
// cholesky_inverse_in_place (panel_cholesky.hpp).
void lapack_cholesky_inverse(double* A, long ld, int n, bool upper);

}  // namespace glmmfast
