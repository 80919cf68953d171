// fixed_effects_elimination.cpp — see fixed_effects_elimination.hpp.
#include "linalg/fixed_effects_elimination.hpp"

#include "linalg/cross_product.hpp"

namespace glmmfast {

bool FixedEffectsElimination::compute(const PenalizedSystem& sys, const Eigen::MatrixXd& M, Eigen::Index p,
                                      const Eigen::MatrixXd& XtWX) {
    // One pass over U for [R_ZX, c] = L^{-1} P U' W^{1/2} M.
    return compute_from_products(sys, sys.WUt_times(M), p, XtWX);
}

bool FixedEffectsElimination::compute_from_products(const PenalizedSystem& sys, const Eigen::MatrixXd& UtWM,
                                                    Eigen::Index p, const Eigen::MatrixXd& XtWX) {
    p_ = p;
    RZXc_ = sys.solve_L(UtWM);
    const auto RZX = RZXc_.leftCols(p);
    Eigen::MatrixXd RXtRX = XtWX;
    subtract_cross_product(RXtRX, RZX);
    RX_.compute(RXtRX);
    return RX_.info() == Eigen::Success;
}

void FixedEffectsElimination::solve(const PenalizedSystem& sys, const Eigen::VectorXd& cu, const Eigen::VectorXd& gb,
                                    Eigen::VectorXd& du, Eigen::VectorXd& db) const {
    const auto RZX = RZXc_.leftCols(p_);
    Eigen::VectorXd cb = gb;
    cb.noalias() -= RZX.transpose() * cu;
    db = RX_.solve(cb);
    Eigen::VectorXd cu_b = cu;
    cu_b.noalias() -= RZX * db;
    du = sys.solve_Lt(cu_b);
}

}  // namespace glmmfast
