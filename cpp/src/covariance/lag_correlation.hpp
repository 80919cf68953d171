// lag_correlation.hpp — glmmTMB's unconstrained transform of a correlation,
// rho = t / sqrt(1 + t^2) (ar1, toep), and its derivative (1 + t^2)^(-3/2).
#pragma once

#include <cmath>

namespace glmmfast {

inline double lag_rho(double t) { return t / std::sqrt(1.0 + t * t); }
inline double lag_rho_derivative(double t) { return std::pow(1.0 + t * t, -1.5); }

}  // namespace glmmfast
