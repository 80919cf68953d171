// translate.hpp — what every binding file shares: NumPy array types, checked
// conversions to the engine's vectors and sparse Z, and EngineCall, the guard
// of every engine call that releases the GIL (interrupt.hpp: Ctrl-C on the
// main thread, CancelFlags elsewhere).  Each bind_*.cpp only translates;
// module.cpp assembles the extension module from them.
#pragma once

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "linalg/csc.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast::python {

namespace py = pybind11;

using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using DblArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// A vector of length n, or invalid_argument naming `what`.
Eigen::VectorXd vec(const DblArray& a, long n, const char* what);
// Z from scipy.sparse.csc_matrix's arrays, validated (csc.hpp).
SpMat z_matrix(int z_rows, int z_cols, const IntArray& indptr, const IntArray& indices, const DblArray& data);
void all_finite(const Eigen::VectorXd& a, const char* what);
// Element-wise family functions need arrays of one length (Eigen does not
// check sizes in release builds).
void same_length(const Eigen::ArrayXd& a, const Eigen::ArrayXd& b, const char* what);

// ---- interruption (engine_call.cpp) ----------------------------------------
void set_main_thread(unsigned long ident);
bool on_main_thread();
std::vector<const CancelFlag*>& bound_flags();
const CancelFlag* bound_flag();
py::error_already_set take_interruption();
bool python_signal_raised();

// Guard for every engine call that releases the GIL: checks for a signal
// or a cancelled flag first (cheap with the GIL held), then installs the
// InterruptScope the engine's loops poll and releases the GIL.  Members are
// destroyed in reverse: the GIL is back before the scope goes.
class EngineCall {
public:
    EngineCall();

private:
    InterruptScope scope_;
    std::optional<py::gil_scoped_release> release_;
};

using engine_call = py::call_guard<EngineCall>;

// ---- the module's parts -------------------------------------------------------
void bind_interrupt(py::module_& m);   // engine_call.cpp: CancelFlag, Interrupted's translation
void bind_family(py::module_& m);      // bind_family.cpp: Family
void bind_covariance(py::module_& m);  // bind_covariance.cpp: one term's covariance structure
void bind_models(py::module_& m);      // bind_models.cpp: Term, CscMatrix, GlmmModel, LmmModel, glm_irls
void bind_objective(py::module_& m);   // bind_objective.cpp: Objective, glmm_objective, lmm_objective
void bind_partitioned(py::module_& m); // bind_partitioned.cpp: RowBlock, PartitionedGlmm
void bind_zi_random_effects(py::module_& m);  // bind_zi_random_effects.cpp: ZiRandomEffectsModel
void bind_lapack(py::module_& m);      // bind_lapack.cpp: scipy's LAPACK for the engine's dense blocks
void bind_factor(py::module_& m);      // bind_factor.cpp: the block-diagonal factor alone (tests)

}  // namespace glmmfast::python
