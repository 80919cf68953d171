// lmm_criterion.hpp — the profiled LMM criterion from its pieces, shared by
// the model on rows (lmm_model.cpp) and the model on cross-products
// (cross_product_lmm.cpp).
//
// Interface: lmm_criterion(...) is, with df = n (ML) or n - p (REML) and
// r^2 the penalised weighted residual sum of squares,
//     log|L|^2 - sum log w + df (1 + log(2 pi r^2 / df))  [+ log|R_X|^2 for REML]
// (Bates et al. 2015, eqs. 34 and 41, with lme4's -sum log w for prior
// weights); lmm_sigma(...) = sqrt(r^2 / df).
#pragma once

#include <cmath>

namespace glmmfast {

inline double lmm_criterion(bool reml, double n, double p, double pwrss, double log_det_L2, double log_det_RX2,
                            double log_w_sum) {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    const double df = reml ? n - p : n;
    double crit = log_det_L2 - log_w_sum + df * (1.0 + std::log(kTwoPi * pwrss / df));
    if (reml) crit += log_det_RX2;
    return crit;
}

inline double lmm_sigma(bool reml, double n, double p, double pwrss) { return std::sqrt(pwrss / (reml ? n - p : n)); }

}  // namespace glmmfast
