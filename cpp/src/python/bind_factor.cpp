// bind_factor.cpp — the block-diagonal factor (linalg/block_diagonal_factor.hpp)
// on its own, for tests against a dense reference: A from its stacked
// level blocks, and every result a caller of a SymmetricFactor uses.
#include <stdexcept>

#include "linalg/block_diagonal_factor.hpp"
#include "python/translate.hpp"

namespace glmmfast::python {

void bind_factor(py::module_& m) {
    m.def(
        "block_diagonal_factor",
        [](const Eigen::MatrixXd& blocks, const Eigen::MatrixXd& B, int start, int size) -> py::object {
            const int k = static_cast<int>(blocks.cols());
            if (k < 1 || blocks.rows() % k != 0) throw std::invalid_argument("blocks must be (nlevels k) x k");
            const int nlevels = static_cast<int>(blocks.rows() / k);
            if (B.rows() != blocks.rows()) throw std::invalid_argument("B must have one row per row of blocks");
            if (start < 0 || size < 0 || start + size > blocks.rows())
                throw std::invalid_argument("inverse_block's rows start .. start + size must lie within A");
            BlockDiagonalFactor f(k, nlevels);
            for (int l = 0; l < nlevels; ++l)
                for (int c = 0; c < k; ++c)
                    for (int r = c; r < k; ++r) f.values()[f.position(l * k + r, l * k + c)] = blocks(l * k + r, c);
            if (!f.factorize()) return py::none();
            py::dict out;
            out["log_det"] = f.log_det();
            out["solve_L"] = Eigen::MatrixXd(f.solve_L(B));
            out["solve_Lt"] = Eigen::MatrixXd(f.solve_Lt(B));
            out["solve"] = Eigen::MatrixXd(f.solve(B));
            out["inverse_block"] = Eigen::MatrixXd(f.inverse_block(start, size));
            const Eigen::VectorXd sel = f.selected_inverse();
            Eigen::MatrixXd sel_blocks(static_cast<Eigen::Index>(nlevels) * k, k);  // A^{-1} at (r, c), r >= c, per level
            sel_blocks.setZero();
            for (int l = 0; l < nlevels; ++l)
                for (int c = 0; c < k; ++c)
                    for (int r = c; r < k; ++r) sel_blocks(l * k + r, c) = sel[f.position(l * k + r, l * k + c)];
            out["selected_inverse"] = sel_blocks;
            return std::move(out);
        },
        py::arg("blocks"), py::arg("B"), py::arg("start"), py::arg("size"),
        "Factor A = diag(A_l) (A_l: rows l k .. l k + k - 1 of blocks, lower triangle read): None if not positive "
        "definite, else a dict of log_det, solve_L(B), solve_Lt(B), solve(B), inverse_block(start, size) and "
        "selected_inverse (A^{-1}'s lower triangle per level, stacked like blocks).");
}

}  // namespace glmmfast::python
