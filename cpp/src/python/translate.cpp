// translate.cpp — conversions shared by the binding files (see translate.hpp).
#include "python/translate.hpp"

namespace glmmfast::python {

Eigen::VectorXd vec(const DblArray& a, long n, const char* what) {
    if (a.ndim() != 1 || a.shape(0) != n)
        throw std::invalid_argument(std::string(what) + " must be a vector of length " + std::to_string(n));
    return Eigen::Map<const Eigen::VectorXd>(a.data(), n);
}

SpMat z_matrix(int z_rows, int z_cols, const IntArray& indptr, const IntArray& indices, const DblArray& data) {
    if (indptr.ndim() != 1 || indices.ndim() != 1 || data.ndim() != 1)
        throw std::invalid_argument("Z indptr, indices and data must be vectors");
    if (indices.size() != data.size()) throw std::invalid_argument("Z indices and data differ in length");
    return csc_matrix(z_rows, z_cols, indptr.data(), indptr.size(), indices.data(), data.data(), data.size());
}

void same_length(const Eigen::ArrayXd& a, const Eigen::ArrayXd& b, const char* what) {
    if (a.size() != b.size()) throw std::invalid_argument(std::string(what) + " must have the same length as y");
}

void all_finite(const Eigen::VectorXd& a, const char* what) {
    if (!a.allFinite()) throw std::invalid_argument(std::string(what) + " has non-finite values");
}


}  // namespace glmmfast::python
