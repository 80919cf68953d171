// dispersion_by_row.hpp — `DispersionByRow<Derived>`, the base of a
// distribution with a dispersion phi (has_dispersion: gaussian, Gamma,
// inverse Gaussian, Tweedie) that a dispersion model may give one value per
// observation: shape_by_row("dispersion") and set_shape_rows("dispersion",
// values) (varying_parameter.hpp).  The subclass reads phi at observation i
// as phi(dispersion, i): the caller's scalar, or the row's value where rows
// are set (row_values.hpp), one code path for both.  The log density and
// the draws read it so; the eta-derivatives of a varying phi are the unit-phi
// ones divided by phi_i (varying_parameter.hpp), and parameter_derivatives
// takes the scalar.
#pragma once

#include <string>

#include "family/distribution.hpp"
#include "family/row_values.hpp"

namespace glmmfast {

template <class Derived>
class DispersionByRow : public DistributionBase<Derived> {
public:
    bool has_dispersion() const override { return true; }
    bool shape_by_row(const std::string& p) const override { return p == "dispersion"; }
    void set_shape_rows(const std::string& p, const ArrayXd& values) override {
        if (p != "dispersion") Distribution::set_shape_rows(p, values);
        dispersion_rows_.values = values;
    }

protected:
    double phi(double dispersion, Eigen::Index i) const { return dispersion_rows_.at(dispersion, i); }
    bool dispersion_by_row() const { return dispersion_rows_.values.size() > 0; }

private:
    RowValues dispersion_rows_;
};

}  // namespace glmmfast
