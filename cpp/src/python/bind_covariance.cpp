// bind_covariance.cpp — one term's covariance structure (covariance.hpp) for
// the Python layer's structures (their parameters' count, bounds and start;
// T_t and dT_t/dtheta_j for printing, profiling, Satterthwaite's df) and tests.
#include "covariance/covariance.hpp"
#include "python/translate.hpp"

namespace glmmfast::python {
namespace {

// A structure whose parameter count theta matches.
std::unique_ptr<CovarianceStructure> covariance_at(const std::string& structure, int k, const Eigen::MatrixXd& coords,
                                                   const Eigen::VectorXd& theta) {
    auto cov = make_covariance({k, 1, structure, coords});
    if (theta.size() != cov->nparams())
        throw std::invalid_argument("structure '" + structure + "' with " + std::to_string(k) + " columns has " +
                                    std::to_string(cov->nparams()) + " parameters");
    return cov;
}

}  // namespace

void bind_covariance(py::module_& m) {
    // One term's covariance structure (covariance.hpp): its parameters'
    // count, lower bounds and start; T_t and dT_t/dtheta_j at theta_t.  For
    // the Python layer's structures (sd/cor for printing, profiling) and tests.
    m.def(
        "covariance_parameters",
        [](const std::string& structure, int k, const Eigen::MatrixXd& coords) {
            const auto cov = make_covariance({k, 1, structure, coords});
            py::dict d;
            d["nparams"] = cov->nparams();
            d["lower"] = cov->lower_bounds();
            d["initial"] = cov->initial();
            return d;
        },
        py::arg("structure"), py::arg("k"), py::arg("coords"));
    m.def(
        "covariance_factor",
        [](const std::string& structure, int k, const Eigen::MatrixXd& coords, const Eigen::VectorXd& theta) {
            return covariance_at(structure, k, coords, theta)->factor(theta);
        },
        py::arg("structure"), py::arg("k"), py::arg("coords"), py::arg("theta"));
    m.def(
        "covariance_factor_derivatives",
        [](const std::string& structure, int k, const Eigen::MatrixXd& coords, const Eigen::VectorXd& theta) {
            return covariance_at(structure, k, coords, theta)->factor_derivatives(theta);
        },
        py::arg("structure"), py::arg("k"), py::arg("coords"), py::arg("theta"));
}

}  // namespace glmmfast::python
