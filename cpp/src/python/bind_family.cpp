// bind_family.cpp — the engine's Family (family.hpp) for Python: a family by
// its registry names (family/registry.hpp), the element-wise family
// functions, and the registry's lists of names.
#include "family/family.hpp"
#include "family/registry.hpp"
#include "family/varying_parameter.hpp"
#include "python/translate.hpp"

namespace glmmfast::python {
namespace {

// Names are checked by the registry (family/registry.hpp).
Family make_family(const std::string& dist, const std::string& link, double theta) {
    return Family(dist, link, theta);
}

py::tuple terms_tuple(const ObservationTerms& t) {
    return py::make_tuple(t.log_density, t.score, t.information, t.fisher, t.information_deriv);
}

}  // namespace

void bind_family(py::module_& m) {
    py::class_<Family>(m, "Family")
        .def(py::init(&make_family), py::arg("dist"), py::arg("link"), py::arg("theta") = 1.0)
        .def("linkfun", [](const Family& f, const Eigen::ArrayXd& mu) { return Eigen::ArrayXd(f.linkfun(mu)); })
        .def("linkinv", [](const Family& f, const Eigen::ArrayXd& eta) { return Eigen::ArrayXd(f.linkinv(eta)); })
        .def("mu_eta", [](const Family& f, const Eigen::ArrayXd& eta) { return Eigen::ArrayXd(f.mu_eta(eta)); })
        .def("variance", [](const Family& f, const Eigen::ArrayXd& mu) { return Eigen::ArrayXd(f.variance(mu)); })
        .def("dev_resid", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& mu,
                             const Eigen::ArrayXd& wt) {
            same_length(y, mu, "mu");
            same_length(y, wt, "wt");
            return Eigen::ArrayXd(f.dev_resid(y, mu, wt));
        })
        .def("loglik", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& mu, const Eigen::ArrayXd& wt,
                          double dispersion) {
            same_length(y, mu, "mu");
            same_length(y, wt, "wt");
            return f.loglik(y, mu, wt, dispersion);
        }, py::arg("y"), py::arg("mu"), py::arg("wt"), py::arg("dispersion") = 1.0)
        .def("dev_resid_eta", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                 const Eigen::ArrayXd& wt) {
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            return Eigen::ArrayXd(f.dev_resid_eta(y, eta, wt));
        })
        .def("log_density", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                               const Eigen::ArrayXd& wt, double dispersion) {
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            return Eigen::ArrayXd(f.log_density(y, eta, wt, dispersion));
        }, py::arg("y"), py::arg("eta"), py::arg("wt"), py::arg("dispersion") = 1.0)
        .def("kernel_loglik", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                 const Eigen::ArrayXd& wt) {
            // The inner loop's log-likelihood (constant + kernel), as laplace.cpp sums it.
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            if (!f.has_kernel()) throw std::invalid_argument("this family has no log-likelihood kernel");
            return f.loglik_constant(y, wt) + f.loglik_kernel(y, f.linkinv(eta), eta, wt);
        })
        .def("valid_eta", &Family::valid_eta)
        .def("set_shape", &Family::set_shape, py::arg("name"), py::arg("value"))
        .def("shape", &Family::shape, py::arg("name"))
        .def_property_readonly("parameters", &Family::parameters)
        .def("log_density_derivatives", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                           const Eigen::ArrayXd& wt, double dispersion) {
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            Eigen::ArrayXd d1, d2;
            f.log_density_derivatives(y, eta, wt, dispersion, d1, d2);
            return py::make_tuple(d1, d2);
        }, py::arg("y"), py::arg("eta"), py::arg("wt"), py::arg("dispersion") = 1.0)
        .def("log_density_third_derivative", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                                const Eigen::ArrayXd& wt, double dispersion) {
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            return f.log_density_third_derivative(y, eta, wt, dispersion);
        }, py::arg("y"), py::arg("eta"), py::arg("wt"), py::arg("dispersion") = 1.0)
        .def("parameter_derivatives", [](const Family& f, const std::string& parameter, const Eigen::ArrayXd& y,
                                         const Eigen::ArrayXd& eta, const Eigen::ArrayXd& wt, double dispersion) {
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            Eigen::ArrayXd d1, d2;
            f.parameter_derivatives(parameter, y, eta, wt, dispersion, d1, d2);
            return py::make_tuple(d1, d2);
        }, py::arg("parameter"), py::arg("y"), py::arg("eta"), py::arg("wt"), py::arg("dispersion") = 1.0)
        .def("observation_terms", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                     const Eigen::ArrayXd& wt, double dispersion) {
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            ObservationTerms t;
            f.unit_observation_terms(y, eta, dispersion, wt, t, true);
            return terms_tuple(t);
        }, py::arg("y"), py::arg("eta"), py::arg("wt"), py::arg("dispersion") = 1.0,
           "(log density, score, information, Fisher weight, information's eta-derivative) per observation.")
        .def("observation_terms_varying", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                             const Eigen::ArrayXd& wt, const std::string& parameter,
                                             const Eigen::ArrayXd& values, double dispersion) {
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            same_length(y, values, "values");
            ObservationTerms t;
            varying_unit_observation_terms(f, y, eta, wt, VaryingParameter{parameter, values, dispersion}, t, true);
            return terms_tuple(t);
        }, py::arg("y"), py::arg("eta"), py::arg("wt"), py::arg("parameter"), py::arg("values"),
           py::arg("dispersion"),
           "observation_terms with the family parameter `parameter` (\"dispersion\" or a shape's name) per "
           "observation (a dispersion model's values).")
        .def("simulate", [](const Family& f, const Eigen::ArrayXd& mu, const Eigen::ArrayXd& wt, double dispersion,
                            unsigned long long seed) {
            same_length(mu, wt, "wt");
            return Eigen::ArrayXd(f.simulate(mu, wt, dispersion, seed));
        }, py::arg("mu"), py::arg("wt"), py::arg("dispersion"), py::arg("seed"))
        .def("simulate_varying", [](const Family& f, const Eigen::ArrayXd& mu, const Eigen::ArrayXd& wt,
                                    const std::string& parameter, const Eigen::ArrayXd& values, double dispersion,
                                    unsigned long long seed) {
            same_length(mu, wt, "wt");
            same_length(mu, values, "values");
            return Eigen::ArrayXd(varying_simulate(f, mu, wt, VaryingParameter{parameter, values, dispersion}, seed));
        }, py::arg("mu"), py::arg("wt"), py::arg("parameter"), py::arg("values"), py::arg("dispersion"),
           py::arg("seed"),
           "Draws at means mu with the family parameter `parameter` (\"dispersion\" or a shape's name) per "
           "observation (a dispersion model's values).");

    m.def("family_names", &family_names, "The engine's families by R's names.");
    m.def("link_names", &link_names, py::arg("family"), "The links a family takes, its default first.");
}

}  // namespace glmmfast::python
