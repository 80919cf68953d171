// bind_family.cpp — the engine's Family (family.hpp) for Python: names to
// enums and the element-wise family functions.
#include "family/family.hpp"
#include "python/translate.hpp"

namespace glmmfast::python {
namespace {

Dist parse_dist(const std::string& s) {
    if (s == "gaussian") return Dist::Gaussian;
    if (s == "binomial") return Dist::Binomial;
    if (s == "poisson") return Dist::Poisson;
    if (s == "Gamma") return Dist::Gamma;
    if (s == "inverse.gaussian") return Dist::InverseGaussian;
    if (s == "negative.binomial") return Dist::NegativeBinomial;
    throw std::invalid_argument("unknown family '" + s + "'");
}

Link parse_link(const std::string& s) {
    if (s == "identity") return Link::Identity;
    if (s == "log") return Link::Log;
    if (s == "logit") return Link::Logit;
    if (s == "probit") return Link::Probit;
    if (s == "cloglog") return Link::Cloglog;
    if (s == "cauchit") return Link::Cauchit;
    if (s == "inverse") return Link::Inverse;
    if (s == "sqrt") return Link::Sqrt;
    if (s == "1/mu^2") return Link::InverseSquare;
    throw std::invalid_argument("unknown link '" + s + "'");
}

Family make_family(const std::string& dist, const std::string& link, double theta) {
    return Family(parse_dist(dist), parse_link(link), theta);
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
        .def("valid_eta", &Family::valid_eta);
}

}  // namespace glmmfast::python
