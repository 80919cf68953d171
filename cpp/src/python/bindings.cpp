// bindings.cpp — the only translation unit that knows Python exists.
//
// Translates numpy arrays and Python strings to the engine's types and
// back; all numerical work happens in the engine, with the GIL released
// (EngineCall), where Ctrl-C and cancelled jobs still reach it
// (interrupt.hpp).
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "linalg/csc.hpp"
#include "family/family.hpp"
#include "family/registry.hpp"
#include "model/glm_irls.hpp"
#include "model/glmm_model.hpp"
#include "optim/interrupt.hpp"
#include "model/lmm_model.hpp"
#include "optim/objective.hpp"
#include "optim/quasi_newton.hpp"

namespace py = pybind11;
using namespace glmmfast;

namespace {

using IntArray = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using DblArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Names are checked by the registry (family/registry.hpp).
Family make_family(const std::string& dist, const std::string& link, double theta) {
    return Family(dist, link, theta);
}

Eigen::VectorXd vec(const DblArray& a, long n, const char* what) {
    if (a.ndim() != 1 || a.shape(0) != n)
        throw std::invalid_argument(std::string(what) + " must be a vector of length " + std::to_string(n));
    return Eigen::Map<const Eigen::VectorXd>(a.data(), n);
}

SpMat z_matrix(int z_rows, int z_cols, const IntArray& indptr, const IntArray& indices, const DblArray& data) {
    if (indptr.ndim() != 1 || indices.ndim() != 1 || data.ndim() != 1)
        throw std::invalid_argument("Z indptr, indices and data must be vectors");
    if (indices.size() != data.size()) throw std::invalid_argument("Z indices and data differ in length");
    return csc_matrix(z_rows, z_cols, indptr.data(), indptr.size(), indices.data(), data.data(), data.size());
}

std::vector<TermShape> term_shapes(const std::vector<int>& term_k, const std::vector<int>& term_nlevels) {
    if (term_k.size() != term_nlevels.size()) throw std::invalid_argument("term_k and term_nlevels differ in length");
    std::vector<TermShape> terms;
    for (size_t t = 0; t < term_k.size(); ++t) terms.push_back({term_k[t], term_nlevels[t]});
    return terms;
}

// Element-wise family functions need arrays of one length (Eigen does not
// check sizes in release builds).
void same_length(const Eigen::ArrayXd& a, const Eigen::ArrayXd& b, const char* what) {
    if (a.size() != b.size()) throw std::invalid_argument(std::string(what) + " must have the same length as y");
}

FamilyParameter parse_parameter(const std::string& s) {
    if (s == "none") return FamilyParameter::None;
    if (s == "dispersion") return FamilyParameter::Dispersion;
    if (s == "nb_theta") return FamilyParameter::NbTheta;
    throw std::invalid_argument("unknown family parameter '" + s + "'");
}

JointCoordinates joint_coordinates(double theta_scale, const std::string& parameter, int nagq,
                                   const Eigen::VectorXd& beta_base, const Eigen::VectorXd& beta_scale) {
    JointCoordinates c;
    c.theta_scale = theta_scale;
    c.parameter = parse_parameter(parameter);
    c.nagq = nagq;
    c.beta_base = beta_base;
    c.beta_scale = beta_scale;
    return c;
}

void all_finite(const Eigen::VectorXd& a, const char* what) {
    if (!a.allFinite()) throw std::invalid_argument(std::string(what) + " has non-finite values");
}

// ---- interruption -------------------------------------------------------
// Signals reach Python only on the main thread (PyErr_CheckSignals does
// nothing elsewhere), so only there does an engine call take the GIL, at
// the InterruptScope's rate, to run Python's signal handlers; other
// threads obey the CancelFlag bound to them (`with flag:`), which whoever
// runs them sets.  No engine thread other than the caller's ever touches
// Python (parallel_for's helpers only follow the scope).

unsigned long main_thread_ident = 0;  // set at import

bool on_main_thread() { return PyThread_get_thread_ident() == main_thread_ident; }

// CancelFlags bound to this thread, innermost last.
std::vector<const CancelFlag*>& bound_flags() {
    thread_local std::vector<const CancelFlag*> flags;
    return flags;
}

const CancelFlag* bound_flag() { return bound_flags().empty() ? nullptr : bound_flags().back(); }

// The exception a signal handler raised inside an engine call, kept (with
// Python's error indicator cleared) until the engine has unwound and the
// translator below hands it back to Python.
std::optional<py::error_already_set>& pending_error() {
    thread_local std::optional<py::error_already_set> error;
    return error;
}

// What an Interrupted becomes in Python (the GIL held): the exception a
// signal handler raised, or KeyboardInterrupt where a CancelFlag fired.
py::error_already_set take_interruption() {
    auto& pending = pending_error();
    if (!pending) {
        PyErr_SetString(PyExc_KeyboardInterrupt, "engine work interrupted");
        return py::error_already_set();
    }
    py::error_already_set e = std::move(*pending);
    pending.reset();
    return e;
}

// InterruptScope callback on the main thread: true when a handler raised.
bool python_signal_raised() {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() == 0) return false;
    pending_error().emplace();  // fetches the exception (usually KeyboardInterrupt)
    return true;
}

// Guard for every engine call that releases the GIL: checks for a signal
// or a cancelled flag first (cheap with the GIL held), then installs the
// InterruptScope the engine's loops poll and releases the GIL.  Members are
// destroyed in reverse: the GIL is back before the scope goes.
class EngineCall {
public:
    EngineCall()
        : scope_(bound_flag(), on_main_thread() ? std::function<bool()>(python_signal_raised) : nullptr) {
        if (on_main_thread() && PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (const CancelFlag* flag = bound_flag(); flag && flag->cancelled()) throw Interrupted();
        release_.emplace();
    }

private:
    InterruptScope scope_;
    std::optional<py::gil_scoped_release> release_;
};

using engine_call = py::call_guard<EngineCall>;

std::unique_ptr<GlmmModel> make_model(const Eigen::MatrixXd& X, int z_rows, int z_cols, const IntArray& indptr,
                     const IntArray& indices, const DblArray& data, const DblArray& y, const DblArray& weights,
                     const DblArray& offset, const std::string& dist, const std::string& link,
                     const std::vector<int>& term_k, const std::vector<int>& term_nlevels,
                     const std::string& factorization, double nb_theta) {
    const long n = X.rows();
    if (!X.allFinite()) throw std::invalid_argument("X has non-finite values");
    SpMat Z = z_matrix(z_rows, z_cols, indptr, indices, data);
    Eigen::VectorXd yy = vec(y, n, "y"), ww = vec(weights, n, "weights"), oo = vec(offset, n, "offset");
    const Family family = make_family(dist, link, nb_theta);
    EngineCall call;  // the pattern's analysis: seconds on large data
    return std::make_unique<GlmmModel>(X, std::move(Z), std::move(yy), std::move(ww), std::move(oo), family,
                                       term_shapes(term_k, term_nlevels), factorization);
}

std::unique_ptr<LmmModel> make_lmm(const Eigen::MatrixXd& X, int z_rows, int z_cols, const IntArray& indptr,
                     const IntArray& indices, const DblArray& data, const DblArray& y, const DblArray& weights,
                     const DblArray& offset, const std::vector<int>& term_k, const std::vector<int>& term_nlevels) {
    const long n = X.rows();
    if (!X.allFinite()) throw std::invalid_argument("X has non-finite values");
    SpMat Z = z_matrix(z_rows, z_cols, indptr, indices, data);
    Eigen::VectorXd yy = vec(y, n, "y"), ww = vec(weights, n, "weights"), oo = vec(offset, n, "offset");
    EngineCall call;  // the pattern's analysis: seconds on large data
    return std::make_unique<LmmModel>(X, std::move(Z), std::move(yy), std::move(ww), std::move(oo),
                                      term_shapes(term_k, term_nlevels));
}

// The engine's Objective as nlopt calls it.  An evaluation interrupted
// under nlopt must not raise into it: its L-BFGS goes on calling the
// objective with Python's error indicator set (which the next call's
// argument conversion may clear) and reports an error of its own.  So the
// exception is kept, nlopt is asked to stop (`stop`: opt.force_stop) and
// every further call returns the penalty at once; the runner re-raises it
// (raise_interrupt) when nlopt returns (python/glmmfast/_optimize.py).
struct NloptObjective {
    explicit NloptObjective(Objective o) : objective(std::move(o)) {}
    Objective objective;
    py::object stop = py::none();
    std::optional<py::error_already_set> interrupted;

    void interrupt(py::error_already_set e) {
        interrupted.emplace(std::move(e));
        stop();
    }
};

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "glmmfast's C++ engine (private: use the glmmfast package).";
    py::register_exception<PirlsError>(m, "PirlsError", PyExc_RuntimeError);
    main_thread_ident = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Interrupted&) {
            take_interruption().restore();
        }
    });

    // A flag that stops the engine calls of the threads it is bound to
    // (`with flag:` binds it to the calling thread); cancel() from any thread.
    py::class_<CancelFlag>(m, "CancelFlag")
        .def(py::init<>())
        .def("cancel", &CancelFlag::cancel)
        .def_property_readonly("cancelled", &CancelFlag::cancelled)
        .def("__enter__",
             [](py::object self) {
                 bound_flags().push_back(self.cast<const CancelFlag*>());
                 return self;
             })
        .def("__exit__", [](const CancelFlag& f, const py::args&) {
            auto& flags = bound_flags();
            if (flags.empty() || flags.back() != &f) throw std::logic_error("CancelFlag bindings must nest");
            flags.pop_back();
            return false;
        });

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
        .def_property_readonly("parameters", &Family::parameters)
        .def("log_density_derivatives", [](const Family& f, const Eigen::ArrayXd& y, const Eigen::ArrayXd& eta,
                                           const Eigen::ArrayXd& wt, double dispersion) {
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            Eigen::ArrayXd d1, d2;
            f.log_density_derivatives(y, eta, wt, dispersion, d1, d2);
            return py::make_tuple(d1, d2);
        }, py::arg("y"), py::arg("eta"), py::arg("wt"), py::arg("dispersion") = 1.0)
        .def("parameter_derivatives", [](const Family& f, const std::string& parameter, const Eigen::ArrayXd& y,
                                         const Eigen::ArrayXd& eta, const Eigen::ArrayXd& wt, double dispersion) {
            same_length(y, eta, "eta");
            same_length(y, wt, "wt");
            Eigen::ArrayXd d1, d2;
            f.parameter_derivatives(parameter, y, eta, wt, dispersion, d1, d2);
            return py::make_tuple(d1, d2);
        }, py::arg("parameter"), py::arg("y"), py::arg("eta"), py::arg("wt"), py::arg("dispersion") = 1.0)
        .def("simulate", [](const Family& f, const Eigen::ArrayXd& mu, const Eigen::ArrayXd& wt, double dispersion,
                            unsigned long long seed) {
            same_length(mu, wt, "wt");
            return Eigen::ArrayXd(f.simulate(mu, wt, dispersion, seed));
        }, py::arg("mu"), py::arg("wt"), py::arg("dispersion"), py::arg("seed"));

    m.def("family_names", &family_names, "The engine's families by R's names.");
    m.def("link_names", &link_names, py::arg("family"), "The links a family takes, its default first.");

    py::class_<GlmmModel>(m, "GlmmModel")
        .def(py::init(&make_model), py::arg("X"), py::arg("z_rows"), py::arg("z_cols"), py::arg("z_indptr"),
             py::arg("z_indices"), py::arg("z_data"), py::arg("y"), py::arg("weights"), py::arg("offset"),
             py::arg("dist"), py::arg("link"), py::arg("term_k"), py::arg("term_nlevels"),
             py::arg("factorization") = "auto", py::arg("nb_theta") = 1.0)
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
                               [](const GlmmModel& g) { return g.system().blocked() ? "blocked" : "sparse"; })
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
        .def_property_readonly("has_laplace_gradient", &GlmmModel::has_laplace_gradient)
        .def("laplace_gradient", &GlmmModel::laplace_gradient, py::arg("beta_profiled") = false,
             engine_call());

    py::class_<LmmModel>(m, "LmmModel")
        .def(py::init(&make_lmm), py::arg("X"), py::arg("z_rows"), py::arg("z_cols"), py::arg("z_indptr"),
             py::arg("z_indices"), py::arg("z_data"), py::arg("y"), py::arg("weights"), py::arg("offset"),
             py::arg("term_k"), py::arg("term_nlevels"))
        .def_property_readonly("n", &LmmModel::n)
        .def_property_readonly("p", &LmmModel::p)
        .def_property_readonly("q", &LmmModel::q)
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
                               [](const LmmModel& g) { return g.system().blocked() ? "blocked" : "sparse"; })
        .def_property_readonly("schur_panels", [](const LmmModel& g) { return g.system().schur_panels(); })
        .def("lower_bounds", [](const LmmModel& g) { return g.lambda().lower_bounds(); })
        .def("initial_theta", [](const LmmModel& g) { return g.lambda().initial_theta(); })
        .def("evaluate", &LmmModel::evaluate, py::arg("theta"), engine_call())
        .def("criterion", &LmmModel::criterion, py::arg("reml"))
        .def("gradient", &LmmModel::gradient, py::arg("reml"), engine_call())
        .def("deviance", &LmmModel::deviance, py::arg("theta"), py::arg("reml"),
             engine_call())
        .def("sigma", &LmmModel::sigma, py::arg("reml"))
        .def("beta_unscaled_vcov", &LmmModel::beta_unscaled_vcov)
        .def("cond_var", &LmmModel::cond_var, py::arg("term"), engine_call());

    // nlopt calls an Objective directly as f(x, grad); grad (where the
    // objective has a gradient) is filled in place.  An evaluation that is
    // interrupted while nlopt runs it does not raise (see NloptObjective).
    py::class_<NloptObjective>(m, "Objective")
        .def("__call__",
             [](NloptObjective& o, const Eigen::VectorXd& x, const py::object& grad) {
                 if (o.interrupted) return Objective::penalty;  // nlopt winding down
                 const bool with_grad = !grad.is_none() && py::len(grad) > 0;
                 py::array_t<double, py::array::c_style> out;
                 if (with_grad) {
                     // nlopt's gradient-based algorithms pass a float64 array to fill.
                     out = py::array_t<double, py::array::c_style>::ensure(grad);
                     if (!out || out.ndim() != 1 || out.shape(0) != o.objective.dim() || !out.writeable() ||
                         out.ptr() != grad.ptr())
                         throw std::invalid_argument("grad must be a writable float64 vector of length " +
                                                     std::to_string(o.objective.dim()));
                 }
                 Eigen::VectorXd g;
                 double f;
                 try {
                     EngineCall call;
                     f = o.objective(x, with_grad ? &g : nullptr);
                 } catch (const Interrupted&) {
                     if (o.stop.is_none()) throw;  // not under nlopt: raise it here
                     o.interrupt(take_interruption());
                     return Objective::penalty;
                 } catch (const py::error_already_set& e) {  // a signal handler raised on entry
                     if (o.stop.is_none()) throw;
                     o.interrupt(e);
                     return Objective::penalty;
                 }
                 if (with_grad) std::copy(g.data(), g.data() + g.size(), out.mutable_data());
                 return f;
             },
             py::arg("x"), py::arg("grad") = py::none())
        .def("set_stop", [](NloptObjective& o, py::object stop) { o.stop = std::move(stop); }, py::arg("stop"),
             "Called (nlopt's opt.force_stop) when an evaluation is interrupted; None: raise at once.")
        .def("raise_interrupt",
             [](NloptObjective& o) {
                 if (!o.interrupted) return;
                 py::error_already_set e = std::move(*o.interrupted);
                 o.interrupted.reset();
                 throw e;
             },
             "Raise the exception (KeyboardInterrupt) that interrupted an evaluation under nlopt, if any.")
        .def_property_readonly("has_gradient", [](const NloptObjective& o) { return o.objective.has_gradient(); })
        .def("evaluate", [](NloptObjective& o, const Eigen::VectorXd& x) { return o.objective.evaluate(x); },
             py::arg("x"), engine_call())
        .def("gradient", [](NloptObjective& o, const Eigen::VectorXd& x) { return o.objective.gradient(x); },
             py::arg("x"), engine_call())
        .def_property_readonly("dim", [](const NloptObjective& o) { return o.objective.dim(); })
        .def_property_readonly("evaluations", [](const NloptObjective& o) { return o.objective.evaluations(); })
        .def_property_readonly("gradient_evaluations",
                               [](const NloptObjective& o) { return o.objective.gradient_evaluations(); })
        .def_property_readonly("failures", [](const NloptObjective& o) { return o.objective.failures(); })
        .def_property_readonly("best_x",
                               [](const NloptObjective& o) -> py::object {
                                   if (!o.objective.has_best()) return py::none();
                                   return py::cast(o.objective.best_x());
                               })
        .def_property_readonly("best_f", [](const NloptObjective& o) {
            return o.objective.has_best() ? o.objective.best_f() : std::numeric_limits<double>::infinity();
        })
        .def_property_readonly("last_error", [](const NloptObjective& o) { return o.objective.last_error(); })
        .def("clear_best", [](NloptObjective& o) { o.objective.clear_best(); })
        .def(
            "quasi_newton",
            [](NloptObjective& o, const Eigen::VectorXd& x0, const Eigen::MatrixXd& hess0, const Eigen::VectorXd& lower,
               double ftol_abs, int max_iter, const py::object& start) -> py::object {
                if (!o.objective.has_gradient()) throw std::logic_error("quasi_newton needs an objective with a gradient");
                std::pair<double, Eigen::VectorXd> fg;
                if (!start.is_none()) fg = start.cast<std::pair<double, Eigen::VectorXd>>();
                QuasiNewtonResult r;
                {
                    EngineCall call;
                    r = quasi_newton(o.objective, x0, hess0, lower, ftol_abs, max_iter,
                                     start.is_none() ? nullptr : &fg);
                }
                if (!r.done) return py::none();
                return py::make_tuple(r.x, r.f);
            },
            py::arg("x0"), py::arg("hess0"), py::arg("lower"), py::arg("ftol_abs"), py::arg("max_iter") = 50,
            py::arg("start") = py::none());

    m.def(
        "glmm_objective",
        [](GlmmModel& model, const std::string& stage, double theta_scale, const std::string& parameter, int nagq,
           const Eigen::VectorXd& beta_base, const Eigen::VectorXd& beta_scale) {
            const JointCoordinates c = joint_coordinates(theta_scale, parameter, nagq, beta_base, beta_scale);
            if (stage == "profiled_beta") return NloptObjective(Objective::profiled_beta(model, c));
            if (stage == "joint") return NloptObjective(Objective::joint(model, c));
            throw std::invalid_argument("unknown stage '" + stage + "' (profiled_beta or joint)");
        },
        py::arg("model"), py::arg("stage"), py::arg("theta_scale") = 1.0, py::arg("parameter") = "none",
        py::arg("nagq") = 1, py::arg("beta_base") = Eigen::VectorXd(), py::arg("beta_scale") = Eigen::VectorXd(),
        py::keep_alive<0, 1>());
    m.def(
        "lmm_objective", [](LmmModel& model, bool reml) { return NloptObjective(Objective::lmm(model, reml)); },
        py::arg("model"), py::arg("reml"), py::keep_alive<0, 1>());

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
