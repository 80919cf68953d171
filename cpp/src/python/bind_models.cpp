// bind_models.cpp — the engine's models for Python: GlmmModel and LmmModel
// (glmm_model.hpp, lmm_model.hpp), built from
//   X, Z (a CscMatrix), y, weights, offset, [family,] terms (a list of Term:
//   k, nlevels, covariance structure and its columns' coordinates),
// the Gauss-Hermite rule of AGQ and glm_irls (glm_irls.hpp); random_effects_csc builds Z's CSC
// arrays from the terms' level codes and model matrices (random_effects_csc.hpp).
#include "linalg/random_effects_csc.hpp"
#include "model/glm_irls.hpp"
#include "model/glmm_model.hpp"
#include "model/lmm_model.hpp"
#include "python/translate.hpp"

namespace glmmfast::python {
namespace {

// scipy.sparse.csc_matrix's parts, validated once.
struct CscMatrix {
    SpMat matrix;
};

// X, Z, y, weights and offset, checked against X's rows.
struct ModelArrays {
    Eigen::MatrixXd X;
    SpMat Z;
    Eigen::VectorXd y, weights, offset;
};

// X by value: pybind11 moves its converted copy in, and it moves on into the model (no further n x p copies).
ModelArrays model_arrays(Eigen::MatrixXd X, const CscMatrix& Z, const DblArray& y, const DblArray& weights,
                         const DblArray& offset) {
    const long n = X.rows();
    if (!X.allFinite()) throw std::invalid_argument("X has non-finite values");
    return {std::move(X), Z.matrix, vec(y, n, "y"), vec(weights, n, "weights"), vec(offset, n, "offset")};
}

std::unique_ptr<GlmmModel> make_model(Eigen::MatrixXd X, const CscMatrix& Z, const DblArray& y,
                                      const DblArray& weights, const DblArray& offset, const Family& family,
                                      const std::vector<TermShape>& terms, const std::string& factorization) {
    ModelArrays a = model_arrays(std::move(X), Z, y, weights, offset);
    EngineCall call;  // the pattern's analysis: seconds on large data
    return std::make_unique<GlmmModel>(std::move(a.X), std::move(a.Z), std::move(a.y), std::move(a.weights),
                                       std::move(a.offset), family, terms, factorization);
}

std::unique_ptr<LmmModel> make_lmm(Eigen::MatrixXd X, const CscMatrix& Z, const DblArray& y,
                                   const DblArray& weights, const DblArray& offset, const std::vector<TermShape>& terms,
                                   const std::string& factorization) {
    ModelArrays a = model_arrays(std::move(X), Z, y, weights, offset);
    EngineCall call;  // the pattern's analysis: seconds on large data
    return std::make_unique<LmmModel>(std::move(a.X), std::move(a.Z), std::move(a.y), std::move(a.weights),
                                      std::move(a.offset), terms, factorization);
}

using CodeArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using FortranArray = py::array_t<double, py::array::f_style | py::array::forcecast>;

// An array handed to NumPy without a copy: the NumPy array owns it.
template <class T>
py::array_t<T> owned_array(std::vector<T>&& v) {
    auto* owned = new std::vector<T>(std::move(v));
    py::capsule release(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>(static_cast<py::ssize_t>(owned->size()), owned->data(), release);
}

template <class T>
py::array_t<T> owned_array(std::unique_ptr<T[]>&& a, long size) {
    T* owned = a.release();
    py::capsule release(owned, [](void* p) { delete[] static_cast<T*>(p); });
    return py::array_t<T>(static_cast<py::ssize_t>(size), owned, release);
}

// Z's CSC arrays (indptr, indices, data) from each term's codes (n), model matrix (n x k) and levels.
py::tuple random_effects_arrays(long n, const std::vector<CodeArray>& codes, const std::vector<FortranArray>& X,
                                const std::vector<int>& nlevels) {
    if (codes.size() != X.size() || codes.size() != nlevels.size())
        throw std::invalid_argument("codes, X and nlevels need one entry per term");
    std::vector<TermEntries> terms;
    for (size_t t = 0; t < codes.size(); ++t) {
        if (codes[t].ndim() != 1 || codes[t].shape(0) != n)
            throw std::invalid_argument("a term's codes must be a vector of length n");
        if (X[t].ndim() != 2 || X[t].shape(0) != n) throw std::invalid_argument("a term's X must have n rows");
        terms.push_back({codes[t].data(), X[t].data(), static_cast<int>(X[t].shape(1)), nlevels[t]});
    }
    CscArrays z = random_effects_csc(n, terms);
    return py::make_tuple(owned_array(std::move(z.indptr)), owned_array(std::move(z.indices), z.nnz),
                          owned_array(std::move(z.data), z.nnz));
}

}  // namespace

void bind_models(py::module_& m) {
    m.def("random_effects_csc", &random_effects_arrays, py::arg("n"), py::arg("codes"), py::arg("X"),
          py::arg("nlevels"),
          "Z's CSC arrays (indptr, indices, data; int32, int32, float64) by a counting sort: term t's entry "
          "X_t(i, j) in column offset_t + codes_t[i] * k_t + j, exact zeros left out, rows ascending.");

    py::class_<TermShape>(m, "Term")
        .def(py::init([](int k, int nlevels, const std::string& structure, const Eigen::MatrixXd& coords) {
                 return TermShape{k, nlevels, structure, coords};
             }),
             py::arg("k"), py::arg("nlevels"), py::arg("structure") = "us", py::arg("coords") = Eigen::MatrixXd())
        .def_readonly("k", &TermShape::k)
        .def_readonly("nlevels", &TermShape::nlevels)
        .def_readonly("structure", &TermShape::structure);

    py::class_<CscMatrix>(m, "CscMatrix")
        .def(py::init([](int rows, int cols, const IntArray& indptr, const IntArray& indices, const DblArray& data) {
                 return CscMatrix{z_matrix(rows, cols, indptr, indices, data)};
             }),
             py::arg("rows"), py::arg("cols"), py::arg("indptr"), py::arg("indices"), py::arg("data"))
        .def_property_readonly("shape", [](const CscMatrix& z) { return py::make_tuple(z.matrix.rows(), z.matrix.cols()); });

    py::class_<GlmmModel>(m, "GlmmModel")
        .def(py::init(&make_model), py::arg("X"), py::arg("Z"), py::arg("y"), py::arg("weights"), py::arg("offset"),
             py::arg("family"), py::arg("terms"), py::arg("factorization") = "auto")
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
        .def_property_readonly("factorization",
                               [](const GlmmModel& g) { return g.system().factor_kind(); })
        .def_property_readonly("schur_panels", [](const GlmmModel& g) { return g.system().schur_panels(); })
        .def_property_readonly("pirls_iterations", &GlmmModel::pirls_iterations)
        .def("lambda_csc",
             [](const GlmmModel& g) {
                 // Lambda(theta) as CSC arrays (indptr, indices, data) for inspection.
                 const SpMat& L = g.lambda().matrix();
                 Eigen::VectorXi outer = Eigen::Map<const Eigen::VectorXi>(L.outerIndexPtr(), L.cols() + 1);
                 Eigen::VectorXi inner = Eigen::Map<const Eigen::VectorXi>(L.innerIndexPtr(), L.nonZeros());
                 Eigen::VectorXd vals = Eigen::Map<const Eigen::VectorXd>(L.valuePtr(), L.nonZeros());
                 return py::make_tuple(outer, inner, vals);
             })
        .def("lower_bounds", [](const GlmmModel& g) { return g.lambda().lower_bounds(); })
        .def("initial_theta", [](const GlmmModel& g) { return g.lambda().initial_theta(); })
        .def("set_theta", &GlmmModel::set_theta)
        .def("set_beta", &GlmmModel::set_beta)
        .def("set_u", &GlmmModel::set_u)
        .def("set_dispersion", &GlmmModel::set_dispersion, py::arg("phi"))
        .def("set_nb_theta", &GlmmModel::set_nb_theta, py::arg("theta"))
        .def("set_shape", &GlmmModel::set_shape, py::arg("name"), py::arg("value"))
        .def("set_zero_inflation",
             [](GlmmModel& g, const Eigen::MatrixXd& X_zi, const DblArray& offset_zi) {
                 g.set_zero_inflation(X_zi, vec(offset_zi, g.n(), "offset_zi"));
             },
             py::arg("X_zi"), py::arg("offset_zi"))
        .def("set_beta_zi", &GlmmModel::set_beta_zi, py::arg("beta_zi"))
        .def_property_readonly("beta_zi", &GlmmModel::beta_zi)
        .def_property_readonly("n_zi", &GlmmModel::n_zi)
        .def("zi_probability", &GlmmModel::zi_probability)
        .def("set_dispersion_model",
             [](GlmmModel& g, const Eigen::MatrixXd& X_d, const DblArray& offset_d, const std::string& parameter,
                double power) { g.set_dispersion_model(X_d, vec(offset_d, g.n(), "offset_d"), parameter, power); },
             py::arg("X_d"), py::arg("offset_d"), py::arg("parameter"), py::arg("power"))
        .def("set_beta_disp", &GlmmModel::set_beta_disp, py::arg("beta_disp"))
        .def_property_readonly("beta_disp", &GlmmModel::beta_disp)
        .def_property_readonly("n_disp", &GlmmModel::n_disp)
        .def_property_readonly("has_dispersion_model", &GlmmModel::has_dispersion_model)
        .def("dispersion_values", &GlmmModel::dispersion_values)
        .def("observation_terms",
             [](const GlmmModel& g) {
                 // Per observation at the current state: log density, score,
                 // information, Fisher weight, P(structural zero | y).
                 Eigen::ArrayXd pz;
                 const ObservationTerms t = g.observation_terms(&pz);
                 return py::make_tuple(Eigen::VectorXd(t.log_density.matrix()), Eigen::VectorXd(t.score.matrix()),
                                       Eigen::VectorXd(t.information.matrix()), Eigen::VectorXd(t.fisher.matrix()),
                                       Eigen::VectorXd(pz.matrix()));
             })
        .def_property_readonly("dispersion", &GlmmModel::dispersion)
        .def("set_response", [](GlmmModel& g, const DblArray& y, const DblArray& w) {
            g.set_response(vec(y, g.n(), "y"), vec(w, g.n(), "weights"));
        })
        .def("pirls", [](GlmmModel& g, bool update_beta) { return g.pirls(update_beta); },
             py::arg("update_beta"), engine_call())
        .def("laplace_deviance", &GlmmModel::laplace_deviance)
        .def("sum_dev_resid", &GlmmModel::sum_dev_resid)
        .def("deviance_at", &GlmmModel::deviance_at, py::arg("theta"), py::arg("beta"),
             engine_call())
        .def("deviance_profiled_beta", &GlmmModel::deviance_profiled_beta, py::arg("theta"),
             engine_call())
        .def("agq_deviance_at", &GlmmModel::agq_deviance_at, py::arg("theta"), py::arg("beta"), py::arg("nAGQ"),
             engine_call())
        .def("agq_deviance", [](const GlmmModel& g, int k) { return g.agq_deviance(gauss_hermite_rule(k)); },
             py::arg("nAGQ"), engine_call())
        .def("cond_var", &GlmmModel::cond_var, py::arg("term"), engine_call())
        .def("beta_unscaled_vcov", &GlmmModel::beta_unscaled_vcov)
        .def_property_readonly("has_agq_gradient", &GlmmModel::has_agq_gradient)
        .def("agq_gradient", &GlmmModel::agq_gradient, py::arg("nAGQ"), engine_call())
        .def_property_readonly("has_laplace_gradient", &GlmmModel::has_laplace_gradient)
        .def("laplace_gradient", &GlmmModel::laplace_gradient, py::arg("beta_profiled") = false,
             py::arg("log_parameters") = std::vector<std::string>{}, engine_call())
        .def_property_readonly("has_fixed_effects_log_det_gradient", &GlmmModel::has_fixed_effects_log_det_gradient)
        .def("fixed_effects_log_det_gradient", &GlmmModel::fixed_effects_log_det_gradient, engine_call());

    py::class_<LmmModel>(m, "LmmModel")
        .def(py::init(&make_lmm), py::arg("X"), py::arg("Z"), py::arg("y"), py::arg("weights"), py::arg("offset"),
             py::arg("terms"), py::arg("factorization") = "auto")
        .def_property_readonly("n", &LmmModel::n)
        .def_property_readonly("p", &LmmModel::p)
        .def_property_readonly("q", &LmmModel::q)
        .def_property_readonly("pattern_size", &LmmModel::pattern_size)
        .def_property_readonly("theta", &LmmModel::theta)
        .def_property_readonly("beta", &LmmModel::beta)
        .def_property_readonly("u", &LmmModel::u)
        .def_property_readonly("b", &LmmModel::b)
        .def_property_readonly("eta", &LmmModel::eta)
        .def_property_readonly("mu", &LmmModel::eta)
        .def_property_readonly("pwrss", &LmmModel::pwrss)
        .def_property_readonly("log_det_L2", &LmmModel::log_det_L2)
        .def_property_readonly("log_det_RX2", &LmmModel::log_det_RX2)
        .def_property_readonly("evaluations", &LmmModel::evaluations)
        .def_property_readonly("factorization",
                               [](const LmmModel& g) { return g.system().factor_kind(); })
        .def_property_readonly("schur_panels", [](const LmmModel& g) { return g.system().schur_panels(); })
        .def("lower_bounds", [](const LmmModel& g) { return g.lambda().lower_bounds(); })
        .def("initial_theta", [](const LmmModel& g) { return g.lambda().initial_theta(); })
        .def("evaluate", &LmmModel::evaluate, py::arg("theta"), engine_call())
        .def("criterion", &LmmModel::criterion, py::arg("reml"))
        .def("gradient", &LmmModel::gradient, py::arg("reml"), engine_call())
        .def("deviance", &LmmModel::deviance, py::arg("theta"), py::arg("reml"),
             engine_call())
        .def("sigma", &LmmModel::sigma, py::arg("reml"))
        .def(
            "variance_derivatives",
            [](const LmmModel& g, bool reml, double s, const std::vector<Eigen::MatrixXd>& factor_second) {
                LmmVarianceDerivatives v;
                {
                    EngineCall call;
                    v = g.variance_derivatives(reml, s, factor_second);
                }
                return py::dict(py::arg("beta_unscaled_vcov") = v.beta_unscaled_vcov, py::arg("inner") = v.inner,
                                py::arg("u_D_u") = v.u_D_u, py::arg("hessian") = v.hessian);
            },
            py::arg("reml"), py::arg("s"), py::arg("factor_second") = std::vector<Eigen::MatrixXd>{})
        .def("beta_unscaled_vcov", &LmmModel::beta_unscaled_vcov)
        .def("cond_var", &LmmModel::cond_var, py::arg("term"), engine_call());

    m.def(
        "gauss_hermite_rule",
        [](int k) {
            GaussHermiteRule r = gauss_hermite_rule(k);
            return py::make_tuple(r.nodes, r.weights);
        },
        py::arg("k"));

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
                EngineCall call;
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

}  // namespace glmmfast::python
