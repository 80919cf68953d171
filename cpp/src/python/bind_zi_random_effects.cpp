// bind_zi_random_effects.cpp — ZiRandomEffectsModel for Python
// (model/zi_random_effects_model.hpp): built from the conditional GlmmModel
// (kept alive by the binding), Z = [Z_c Z_zi] as CSC parts, the terms of both
// parts, the number of conditional terms, X_zi and offset_zi.
#include "model/zi_random_effects_model.hpp"
#include "python/translate.hpp"

namespace glmmfast::python {

void bind_zi_random_effects(py::module_& m) {
    py::class_<ZiRandomEffectsModel>(m, "ZiRandomEffectsModel")
        .def(py::init([](GlmmModel& conditional, int z_rows, int z_cols, const IntArray& indptr,
                         const IntArray& indices, const DblArray& data, const std::vector<TermShape>& terms,
                         int n_cond_terms, const Eigen::MatrixXd& X_zi, const DblArray& offset_zi,
                         const std::string& factorization) {
                 EngineCall call;  // the pattern's analysis
                 return std::make_unique<ZiRandomEffectsModel>(
                     conditional, z_matrix(z_rows, z_cols, indptr, indices, data), terms, n_cond_terms, X_zi,
                     vec(offset_zi, conditional.n(), "offset_zi"), factorization);
             }),
             py::arg("conditional"), py::arg("z_rows"), py::arg("z_cols"), py::arg("indptr"), py::arg("indices"),
             py::arg("data"), py::arg("terms"), py::arg("n_cond_terms"), py::arg("X_zi"), py::arg("offset_zi"),
             py::arg("factorization") = "auto", py::keep_alive<1, 2>())
        .def_property_readonly("n", &ZiRandomEffectsModel::n)
        .def_property_readonly("q", &ZiRandomEffectsModel::q)
        .def_property_readonly("q_cond", &ZiRandomEffectsModel::q_cond)
        .def_property_readonly("n_zi", &ZiRandomEffectsModel::n_zi)
        .def_property_readonly("ntheta", [](const ZiRandomEffectsModel& m) { return m.lambda().ntheta(); })
        .def("lower_bounds", [](const ZiRandomEffectsModel& m) { return m.lambda().lower_bounds(); })
        .def("initial_theta", [](const ZiRandomEffectsModel& m) { return m.lambda().initial_theta(); })
        .def_property_readonly("u", &ZiRandomEffectsModel::u)
        .def_property_readonly("b", &ZiRandomEffectsModel::b)
        .def_property_readonly("beta_zi", &ZiRandomEffectsModel::beta_zi)
        .def_property_readonly("eta_zi", &ZiRandomEffectsModel::eta_zi)
        .def_property_readonly("evaluations", &ZiRandomEffectsModel::evaluations)
        .def_property_readonly("newton_iterations", &ZiRandomEffectsModel::newton_iterations)
        .def("set_beta_zi", &ZiRandomEffectsModel::set_beta_zi, py::arg("beta_zi"))
        .def("set_u", &ZiRandomEffectsModel::set_u, py::arg("u"))
        .def("cond_var", &ZiRandomEffectsModel::cond_var, py::arg("term"))
        .def("deviance_at",
             [](ZiRandomEffectsModel& m, const Eigen::VectorXd& theta, const Eigen::VectorXd& beta) {
                 EngineCall call;
                 return m.deviance_at(theta, beta);
             },
             py::arg("theta"), py::arg("beta"))
        .def("laplace_gradient",
             [](const ZiRandomEffectsModel& m, const std::vector<std::string>& log_parameters) {
                 EngineCall call;
                 return m.laplace_gradient(log_parameters);
             },
             py::arg("log_parameters") = std::vector<std::string>{},
             "The exact gradient in (theta, beta, beta_zi, beta_disp, the log of each named family parameter).");
}

}  // namespace glmmfast::python
