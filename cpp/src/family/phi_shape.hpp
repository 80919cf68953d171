// phi_shape.hpp — `PhiShape<Derived>`, the base of a distribution holding
// one positive shape parameter named "phi" (the beta's and beta-binomial's
// precision; glmmTMB's sigma() for nbinom1, truncated_nbinom1, genpois and
// compois): shape_parameters, set_shape (std::invalid_argument unless
// positive and finite) and shape; the subclass reads phi_.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "family/distribution.hpp"

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
    }
    double shape(const std::string& p) const override {
        if (p != "phi") this->unknown_parameter(p);
        return phi_;
    }

protected:
    double phi_ = 1.0;
};

}  // namespace glmmfast
