// phi_shape.hpp — `PhiShape<Derived>`, the base of a distribution holding
// one positive shape parameter named "phi" (the beta's and beta-binomial's
// precision; glmmTMB's sigma() for nbinom1, truncated_nbinom1, genpois and
// compois): shape_parameters, set_shape (std::invalid_argument unless
// positive and finite) and shape; the subclass reads phi_, or phi(i) at
// observation i where it reads phi by row (shape_by_row: then
// set_shape_rows gives phi one value per observation, row_values.hpp).
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "family/distribution.hpp"
#include "family/row_values.hpp"

namespace glmmfast {

template <class Derived>
class PhiShape : public DistributionBase<Derived> {
public:
    std::vector<std::string> shape_parameters() const override { return {"phi"}; }
    void set_shape(const std::string& p, double value) override {
        if (p != "phi") this->unknown_parameter(p);
        if (!(value > 0 && std::isfinite(value)))
            throw std::invalid_argument(std::string(this->name()) + " phi must be positive and finite");
        phi_ = value;
        phi_rows_.values.resize(0);
    }
    void set_shape_rows(const std::string& p, const ArrayXd& values) override {
        if (p != "phi" || !this->shape_by_row(p)) Distribution::set_shape_rows(p, values);
        phi_rows_.values = values;
    }
    double shape(const std::string& p) const override {
        if (p != "phi") this->unknown_parameter(p);
        return phi_;
    }

protected:
    double phi(Eigen::Index i) const { return phi_rows_.at(phi_, i); }
    double phi_ = 1.0;
    RowValues phi_rows_;
};

}  // namespace glmmfast
