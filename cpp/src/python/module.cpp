// module.cpp — the extension module glmmfast._core, assembled from the
// binding files (translate.hpp lists them); nothing here but registration.
#include "covariance/covariance.hpp"
#include "model/glmm_model.hpp"
#include "python/translate.hpp"

using namespace glmmfast::python;

PYBIND11_MODULE(_core, m) {
    m.doc() = "glmmfast's C++ engine (private: use the glmmfast package).";
    py::register_exception<glmmfast::PirlsError>(m, "PirlsError", PyExc_RuntimeError);
    py::register_exception<glmmfast::InvalidCovariance>(m, "InvalidCovariance", PyExc_ValueError);
    set_main_thread(py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>());
    bind_interrupt(m);
    bind_family(m);
    bind_covariance(m);
    bind_models(m);
    bind_objective(m);
    bind_partitioned(m);
    bind_zi_random_effects(m);
    bind_lapack(m);
    bind_factor(m);
}
