// registry.cpp — covariance structures by name (make_covariance, covariance.hpp).
//
// Adding a structure: its own file defining make_<structure>(spec), and one
// line in each table below.
#include <utility>

#include "covariance/covariance.hpp"

namespace glmmfast {

std::unique_ptr<CovarianceStructure> make_unstructured(const CovarianceSpec&);
std::unique_ptr<CovarianceStructure> make_diagonal(const CovarianceSpec&);
std::unique_ptr<CovarianceStructure> make_compound_symmetry(const CovarianceSpec&);
std::unique_ptr<CovarianceStructure> make_ar1(const CovarianceSpec&);
std::unique_ptr<CovarianceStructure> make_toeplitz(const CovarianceSpec&);
std::unique_ptr<CovarianceStructure> make_ornstein_uhlenbeck(const CovarianceSpec&);
std::unique_ptr<CovarianceStructure> make_exponential(const CovarianceSpec&);
std::unique_ptr<CovarianceStructure> make_gaussian_correlation(const CovarianceSpec&);
std::unique_ptr<CovarianceStructure> make_matern(const CovarianceSpec&);

std::unique_ptr<CovarianceStructure> make_covariance(const CovarianceSpec& spec) {
    using Factory = std::unique_ptr<CovarianceStructure> (*)(const CovarianceSpec&);
    static const std::pair<const char*, Factory> registry[] = {
        {"us", make_unstructured},   {"diag", make_diagonal},
        {"cs", make_compound_symmetry}, {"ar1", make_ar1},
        {"toep", make_toeplitz},      {"ou", make_ornstein_uhlenbeck},
        {"exp", make_exponential},    {"gau", make_gaussian_correlation},
        {"mat", make_matern},
    };
    for (const auto& [name, make] : registry)
        if (spec.structure == name) return make(spec);
    throw std::invalid_argument("unknown covariance structure '" + spec.structure + "'");
}

}  // namespace glmmfast
