// all_finite.hpp — whether every entry of an array is finite, in one
// vectorised pass.
//
// x - x is 0 for a finite x and NaN for +-inf or NaN, so the sum of x - x is
// exactly 0 when every entry is finite and NaN otherwise.  Eigen's
// allFinite() compares entry by entry with a branch each (not vectorised);
// PIRLS checks eta and mu at every point it moves to (GlmmModel::move_to,
// Family::valid_eta), on small models a tenth of the engine's instructions
// that were not the rows' arithmetic itself.
#pragma once

#include <Eigen/Core>

namespace glmmfast {

inline bool all_finite(const Eigen::ArrayXd& a) { return (a - a).sum() == 0.0; }

}  // namespace glmmfast
