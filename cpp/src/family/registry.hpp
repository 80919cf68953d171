// registry.hpp — the distributions by name: the one list of family names
// (and, through each distribution, of the links it takes).
//
// Interface:
//   family_names()            R's names: "gaussian", "binomial", "poisson",
//                             "Gamma", "inverse.gaussian", "negative.binomial"
//   link_names(family)        the links the family takes, its default first
//   make_distribution(name)   a new distribution object
// Unknown names throw std::invalid_argument("unknown family '<name>'").
// Adding a family: its own file defining make_<family>() and one line (with
// the factory's declaration) in registry.cpp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "family/distribution.hpp"

namespace glmmfast {

std::vector<std::string> family_names();
std::vector<std::string> link_names(const std::string& family);
std::unique_ptr<Distribution> make_distribution(const std::string& name);

}  // namespace glmmfast
