// dense_lapack.cpp — the LAPACK table and the blocked kernels built on it
// (see dense_lapack.hpp).
#include "linalg/dense_lapack.hpp"

#include <algorithm>

#include "optim/interrupt.hpp"

namespace glmmfast {

DenseLapack& dense_lapack() {
    static DenseLapack table;
    return table;
}

namespace {

// OpenBLAS on the table's `threads` while it lives (dense_lapack.hpp: why; 0: its own count, untouched).
class BlasThreads {
public:
    BlasThreads() : set_(dense_lapack().threads > 0 ? dense_lapack().set_threads_local : nullptr) {
        if (set_) previous_ = set_(dense_lapack().threads);
    }
    ~BlasThreads() {
        if (set_) set_(previous_);
    }
    BlasThreads(const BlasThreads&) = delete;
    BlasThreads& operator=(const BlasThreads&) = delete;

private:
    DenseLapack::SetThreads set_;
    int previous_ = 0;
};

}  // namespace

// Right-looking by blocks of kLapackBlock columns: with the block's
// diagonal A11, the rows below it A21 and the trailing matrix A22,
//     A11 = L11 L11',  L21 = A21 L11^{-T},  A22 -= L21 L21'
// (dpotrf, dtrsm, dsyrk), nearly all the flops in the rank-kLapackBlock
// update, which runs at the kernels' peak.
namespace {
constexpr int kLapackBlock = 1024;
}

bool lapack_llt(double* A, long ld, int n) {
    const DenseLapack& t = dense_lapack();
    const BlasThreads threads;
    char L = 'L', N = 'N', R = 'R', T = 'T';
    int lda = static_cast<int>(ld), info = 0;
    double one = 1.0, minus_one = -1.0;
    for (int k0 = 0; k0 < n; k0 += kLapackBlock) {
        check_interrupt();
        int w = std::min(kLapackBlock, n - k0), m = n - k0 - w;
        double* A11 = A + k0 * ld + k0;
        t.dpotrf(&L, &w, A11, &lda, &info);
        if (info != 0) return false;
        if (m == 0) break;
        double* A21 = A11 + w;
        t.dtrsm(&R, &L, &T, &N, &m, &w, &one, A11, &lda, A21, &lda);
        t.dsyrk(&L, &N, &m, &w, &minus_one, A21, &lda, &one, A21 + w * ld, &lda);
    }
    return true;
}

void lapack_cholesky_inverse(double* A, long ld, int n, bool upper) {
    check_interrupt();
    char uplo = upper ? 'U' : 'L';
    int nn = n, lda = static_cast<int>(ld), info = 0;
    // info > 0 only for a zero diagonal of the factor, which a successful
    // factorisation does not leave.
    {
        const BlasThreads threads;
        dense_lapack().dpotri(&uplo, &nn, A, &lda, &info);
    }
    check_interrupt();
}

}  // namespace glmmfast
