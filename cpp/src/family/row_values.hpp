// row_values.hpp — `RowValues`, the per-observation values of a family
// parameter that a dispersion model sets (varying_parameter.hpp), beside the
// distribution's scalar: every function of the distribution reads the
// parameter at observation i through at(scalar, i), so one code path serves
// the constant parameter (no row values: the scalar broadcast) and the
// varying one.  Block functions read row m.first_row + j (mean_terms.hpp).
// Nothing here knows about models or Python.
#pragma once

#include <Eigen/Core>

namespace glmmfast {

struct RowValues {
    Eigen::ArrayXd values;  // one per observation, or empty: the scalar at every row

    double at(double scalar, Eigen::Index i) const { return values.size() ? values[i] : scalar; }
    // The parameter at rows 0..n-1 as an array.
    Eigen::ArrayXd over(double scalar, Eigen::Index n) const {
        return values.size() ? values : Eigen::ArrayXd::Constant(n, scalar);
    }
};

}  // namespace glmmfast
