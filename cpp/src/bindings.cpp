// bindings.cpp — the only translation unit that knows Python exists.
//
// Translates numpy arrays and Python strings to the engine's types and
// back; all numerical work happens in the engine, with the GIL released.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "csc.hpp"
#include "family.hpp"
#include "glm_irls.hpp"
#include "glmm_model.hpp"

namespace py = pybind11;
using namespace glmmfast;

namespace {

using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using DblArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

Dist parse_dist(const std::string& s) {
    if (s == "gaussian") return Dist::Gaussian;
    if (s == "binomial") return Dist::Binomial;
    if (s == "poisson") return Dist::Poisson;
    throw std::invalid_argument("unknown family '" + s + "'");
}

Link parse_link(const std::string& s) {
    if (s == "identity") return Link::Identity;
    if (s == "log") return Link::Log;
    if (s == "logit") return Link::Logit;
    if (s == "probit") return Link::Probit;
    if (s == "cloglog") return Link::Cloglog;
    throw std::invalid_argument("unknown link '" + s + "'");
}

Family make_family(const std::string& dist, const std::string& link) {
    return Family(parse_dist(dist), parse_link(link));
}

Eigen::VectorXd vec(const DblArray& a, long n, const char* what) {
    if (a.ndim() != 1 || a.shape(0) != n)
        throw std::invalid_argument(std::string(what) + " must be a vector of length " + std::to_string(n));
    return Eigen::Map<const Eigen::VectorXd>(a.data(), n);
}

std::unique_ptr<GlmmModel> make_model(const Eigen::MatrixXd& X, int z_rows, int z_cols, const IntArray& indptr,
                     const IntArray& indices, const DblArray& data, const DblArray& y, const DblArray& weights,
                     const DblArray& offset, const std::string& dist, const std::string& link,
                     const std::vector<int>& term_k, const std::vector<int>& term_nlevels) {
    if (indices.size() != data.size()) throw std::invalid_argument("Z indices and data differ in length");
    if (term_k.size() != term_nlevels.size()) throw std::invalid_argument("term_k and term_nlevels differ in length");
    if (indptr.ndim() != 1 || indices.ndim() != 1 || data.ndim() != 1)
        throw std::invalid_argument("Z indptr, indices and data must be vectors");
    const long n = X.rows();
    if (!X.allFinite()) throw std::invalid_argument("X has non-finite values");
    SpMat Z = csc_matrix(z_rows, z_cols, indptr.data(), indptr.size(), indices.data(), data.data(), data.size());
    std::vector<TermShape> terms;
    for (size_t t = 0; t < term_k.size(); ++t) terms.push_back({term_k[t], term_nlevels[t]});
    return std::make_unique<GlmmModel>(X, std::move(Z), vec(y, n, "y"), vec(weights, n, "weights"), vec(offset, n, "offset"),
                     make_family(dist, link), terms);
}

// Element-wise family functions need arrays of one length (Eigen does not
// check sizes in release builds).
void same_length(const Eigen::ArrayXd& a, const Eigen::ArrayXd& b, const char* what) {
    if (a.size() != b.size()) throw std::invalid_argument(std::string(what) + " must have the same length as y");
}

void all_finite(const Eigen::VectorXd& a, const char* what) {
    if (!a.allFinite()) throw std::invalid_argument(std::string(what) + " has non-finite values");
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "glmmfast's C++ engine (private: use the glmmfast package).";
    static py::exception<PirlsError> pirls_error(m, "PirlsError", PyExc_RuntimeError);

    py::class_<Family>(m, "Family")
        .def(py::init(&make_family), py::arg("dist"), py::arg("link"))
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
        .def("valid_eta", &Family::valid_eta);

    py::class_<GlmmModel>(m, "GlmmModel")
        .def(py::init(&make_model), py::arg("X"), py::arg("z_rows"), py::arg("z_cols"), py::arg("z_indptr"),
             py::arg("z_indices"), py::arg("z_data"), py::arg("y"), py::arg("weights"), py::arg("offset"),
             py::arg("dist"), py::arg("link"), py::arg("term_k"), py::arg("term_nlevels"))
        .def_property_readonly("n", &GlmmModel::n)
        .def_property_readonly("p", &GlmmModel::p)
        .def_property_readonly("q", &GlmmModel::q)
        .def_property_readonly("theta", &GlmmModel::theta)
        .def_property_readonly("beta", &GlmmModel::beta)
        .def_property_readonly("u", &GlmmModel::u)
        .def_property_readonly("b", &GlmmModel::b)
        .def_property_readonly("eta", &GlmmModel::eta)
        .def_property_readonly("mu", &GlmmModel::mu)
        .def_property_readonly("evaluations", &GlmmModel::evaluations)
        .def_property_readonly("pirls_iterations", &GlmmModel::pirls_iterations)
        .def("lower_bounds", [](const GlmmModel& g) { return g.lambda().lower_bounds(); })
        .def("initial_theta", [](const GlmmModel& g) { return g.lambda().initial_theta(); })
        .def("set_theta", &GlmmModel::set_theta)
        .def("set_beta", &GlmmModel::set_beta)
        .def("set_u", &GlmmModel::set_u)
        .def("set_response", [](GlmmModel& g, const DblArray& y, const DblArray& w) {
            g.set_response(vec(y, g.n(), "y"), vec(w, g.n(), "weights"));
        })
        .def("pirls", [](GlmmModel& g, bool update_beta) { return g.pirls(update_beta); },
             py::arg("update_beta"), py::call_guard<py::gil_scoped_release>())
        .def("laplace_deviance", &GlmmModel::laplace_deviance)
        .def("sum_dev_resid", &GlmmModel::sum_dev_resid)
        .def("deviance_at", &GlmmModel::deviance_at, py::arg("theta"), py::arg("beta"),
             py::call_guard<py::gil_scoped_release>())
        .def("deviance_profiled_beta", &GlmmModel::deviance_profiled_beta, py::arg("theta"),
             py::call_guard<py::gil_scoped_release>())
        .def("cond_var", &GlmmModel::cond_var, py::arg("term"), py::call_guard<py::gil_scoped_release>())
        .def("beta_unscaled_vcov", &GlmmModel::beta_unscaled_vcov);

    m.def(
        "glm_irls",
        [](const Eigen::MatrixXd& X, const DblArray& y, const DblArray& w, const DblArray& offset,
           const Family& fam) {
            const long n = X.rows();
            if (!X.allFinite()) throw std::invalid_argument("X has non-finite values");
            GlmFit fit;
            {
                Eigen::VectorXd yy = vec(y, n, "y"), ww = vec(w, n, "weights"), oo = vec(offset, n, "offset");
                all_finite(yy, "y");
                all_finite(ww, "weights");
                all_finite(oo, "offset");
                py::gil_scoped_release release;
                fit = glm_irls(X, yy, ww, oo, fam);
            }
            py::dict d;
            d["beta"] = fit.beta;
            d["eta"] = fit.eta;
            d["mu"] = fit.mu;
            d["working_weights"] = fit.working_weights;
            d["unscaled_vcov"] = fit.unscaled_vcov;
            d["deviance"] = fit.deviance;
            d["iterations"] = fit.iterations;
            d["converged"] = fit.converged;
            return d;
        },
        py::arg("X"), py::arg("y"), py::arg("weights"), py::arg("offset"), py::arg("family"));
}
