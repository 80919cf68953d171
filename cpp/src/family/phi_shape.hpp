// phi_shape.hpp — the one positive shape parameter "phi" a distribution
// holds (the beta's and beta-binomial's precision; nbinom1's phi has the
// same form): its name, validation, storage and access.
//
// Interface: `PhiShape<Derived>`, a DistributionBase<Derived> that answers
// shape_parameters() = {"phi"}, set_shape("phi", v) (v positive and finite,
// else std::invalid_argument naming the family) and shape("phi"); the
// subclass reads phi_.
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
