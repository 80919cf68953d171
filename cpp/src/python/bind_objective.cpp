// bind_objective.cpp — the engine's objectives (objective.hpp) as nlopt calls
// them, the quasi-Newton refit (quasi_newton.hpp) and the Hessian from
// differences of the gradient (gradient_differences.hpp, measured_newton.hpp).
#include "model/glmm_model.hpp"
#include "model/lmm_model.hpp"
#include "model/cross_product_lmm.hpp"
#include "optim/gradient_differences.hpp"
#include "optim/measured_newton.hpp"
#include "optim/objective.hpp"
#include "optim/quasi_newton.hpp"
#include "python/translate.hpp"

namespace glmmfast::python {
namespace {

FamilyParameter parse_parameter(const std::string& s) {
    if (s == "none") return FamilyParameter::None;
    if (s == "dispersion") return FamilyParameter::Dispersion;
    if (s == "nb_theta") return FamilyParameter::NbTheta;
    if (s.rfind("shape:", 0) == 0) return FamilyParameter::Shape;
    throw std::invalid_argument("unknown family parameter '" + s + "'");
}

JointCoordinates joint_coordinates(double theta_scale, const std::string& parameter, int nagq,
                                   const Eigen::VectorXd& beta_base, const Eigen::VectorXd& beta_scale,
                                   std::vector<std::pair<double, double>> bounds) {
    JointCoordinates c;
    c.bounds = std::move(bounds);
    c.theta_scale = theta_scale;
    c.parameter = parse_parameter(parameter);
    if (c.parameter == FamilyParameter::Shape) {  // "shape:name[,name...]"
        std::string names = parameter.substr(6);
        for (std::size_t start = 0, comma; start <= names.size(); start = comma + 1) {
            comma = names.find(',', start);
            if (comma == std::string::npos) comma = names.size();
            c.shape_names.push_back(names.substr(start, comma - start));
        }
    }
    c.nagq = nagq;
    c.beta_base = beta_base;
    c.beta_scale = beta_scale;
    return c;
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

// A start (f, gradient) the caller passes, or None, as the engine's optimisers take it (a pointer; null: none).
using StartPoint = std::optional<std::pair<double, Eigen::VectorXd>>;
StartPoint start_point(const py::object& start) {
    if (start.is_none()) return std::nullopt;
    return start.cast<std::pair<double, Eigen::VectorXd>>();
}
const std::pair<double, Eigen::VectorXd>* pointer(const StartPoint& start) { return start ? &*start : nullptr; }

}  // namespace

void bind_objective(py::module_& m) {
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
        .def_property_readonly("has_neighbour_gradient",
                               [](const NloptObjective& o) { return o.objective.has_neighbour_gradient(); })
        .def("evaluate", [](NloptObjective& o, const Eigen::VectorXd& x) { return o.objective.evaluate(x); },
             py::arg("x"), engine_call())
        .def("gradient", [](NloptObjective& o, const Eigen::VectorXd& x) { return o.objective.gradient(x); },
             py::arg("x"), engine_call())
        .def(
            "gradient_hessian",
            [](NloptObjective& o, const Eigen::VectorXd& x, const Eigen::VectorXd& h, const std::vector<int>& skip) {
                GradientHessian r = central_difference_hessian(o.objective, x, h, skip);  // without the GIL
                return std::make_pair(std::move(r.gradient), std::move(r.hessian));
            },
            py::arg("x"), py::arg("h"), py::arg("skip") = std::vector<int>(), engine_call(),
            "(gradient at x, Hessian by central differences of the gradient with steps h), symmetrised; the "
            "coordinates in skip are not differenced (their columns 0 before symmetrising).")
        .def(
            "forward_differences",
            [](NloptObjective& o, const Eigen::VectorXd& x, const Eigen::VectorXd& g, const std::vector<int>& columns,
               double h) -> std::optional<Eigen::MatrixXd> {
                return forward_difference_columns(o.objective, x, g, columns, h);  // without the GIL
            },
            py::arg("x"), py::arg("g"), py::arg("columns"), py::arg("h"), engine_call(),
            "The Hessian's columns (g(x + h e_i) - g) / h for i in columns (g: the gradient at x), one counted "
            "evaluation each; None where one fails.")
        .def(
            "measured_hessian",
            [](NloptObjective& o, const Eigen::VectorXd& x, double h, const py::object& start) -> py::object {
                const StartPoint fg = start_point(start);
                std::optional<MeasuredHessian> r;
                {
                    EngineCall call;
                    r = measured_hessian(o.objective, x, h, pointer(fg));
                }
                if (!r) return py::none();
                return py::make_tuple(r->f, std::move(r->gradient), std::move(r->hessian));
            },
            py::arg("x"), py::arg("h"), py::arg("start") = py::none(),
            "(f, gradient, Hessian) at x, the Hessian from forward differences of the gradient with step h, "
            "symmetrised (one counted evaluation per coordinate); start: (f, gradient) at x where known. None "
            "where an evaluation fails.")
        .def(
            "measured_newton",
            [](NloptObjective& o, const Eigen::VectorXd& x, double fx, const Eigen::VectorXd& lower, double h,
               double free_tol, double reach, const py::object& start) -> py::object {
                const StartPoint fg = start_point(start);
                std::optional<MeasuredNewton> r;
                {
                    EngineCall call;
                    r = measured_newton(o.objective, x, fx, lower, h, free_tol, reach, pointer(fg));
                }
                if (!r) return py::none();
                return py::make_tuple(std::move(r->x), r->f, std::move(r->gradient), std::move(r->hessian),
                                      r->decrease);
            },
            py::arg("x"), py::arg("fx"), py::arg("lower"), py::arg("h"), py::arg("free_tol"), py::arg("reach"),
            py::arg("start") = py::none(),
            "(x, f, gradient, Hessian, decrease): the Hessian measured at x (as measured_hessian) and its Newton "
            "step on the coordinates not within free_tol of their lower bound, kept where shorter than reach "
            "and below fx; decrease g'H^{-1}g / 2 predicted from the end (NaN: singular). None where an "
            "evaluation of the differences fails.")
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
        .def("return_to_best", [](NloptObjective& o) { return o.objective.return_to_best(); }, engine_call(),
             "The criterion at best_x again, PIRLS started from the state the best evaluation reached (not "
             "counted; raises PirlsError as evaluate).")
        .def(
            "quasi_newton",
            [](NloptObjective& o, const Eigen::VectorXd& x0, const Eigen::MatrixXd& hess0, const Eigen::VectorXd& lower,
               double ftol_abs, int max_iter, const py::object& start, const py::object& max_step,
               bool resumable, bool inverse) -> py::object {
                if (!o.objective.has_gradient()) throw std::logic_error("quasi_newton needs an objective with a gradient");
                const StartPoint fg = start_point(start);
                Eigen::VectorXd cap;
                if (!max_step.is_none()) cap = max_step.cast<Eigen::VectorXd>();
                QuasiNewtonResult r;
                {
                    EngineCall call;
                    r = quasi_newton(o.objective, x0, hess0, lower, ftol_abs, max_iter,
                                     pointer(fg), max_step.is_none() ? nullptr : &cap, inverse);
                }
                if (resumable) {  // (x, f, converged, gradient, inverse Hessian); None where it cannot go on
                    if (!r.done && !r.at_max_iter) return py::none();
                    return py::make_tuple(r.x, r.f, r.done, r.gradient, r.inverse_hessian);
                }
                if (!r.done) return py::none();
                return py::make_tuple(r.x, r.f);
            },
            py::arg("x0"), py::arg("hess0"), py::arg("lower"), py::arg("ftol_abs"), py::arg("max_iter") = 50,
            py::arg("start") = py::none(), py::arg("max_step") = py::none(), py::arg("resumable") = false,
            py::arg("inverse") = false);

    // The same objectives on a GlmmModel or on a model on partitioned rows
    // (bind_partitioned.cpp).
    using Bounds = std::vector<std::pair<double, double>>;
    auto glmm_objective = [](auto& model, const std::string& stage, double theta_scale, const std::string& parameter,
                             int nagq, const Eigen::VectorXd& beta_base, const Eigen::VectorXd& beta_scale,
                             Bounds bounds) {
        const JointCoordinates c =
            joint_coordinates(theta_scale, parameter, nagq, beta_base, beta_scale, std::move(bounds));
        if (stage == "profiled_beta") return NloptObjective(Objective::profiled_beta(model, c));
        if (stage == "joint") return NloptObjective(Objective::joint(model, c));
        throw std::invalid_argument("unknown stage '" + stage + "' (profiled_beta or joint)");
    };
    m.def(
        "glmm_objective",
        [glmm_objective](GlmmModel& model, const std::string& stage, double theta_scale, const std::string& parameter,
                         int nagq, const Eigen::VectorXd& beta_base, const Eigen::VectorXd& beta_scale,
                         Bounds bounds) {
            return glmm_objective(model, stage, theta_scale, parameter, nagq, beta_base, beta_scale, std::move(bounds));
        },
        py::arg("model"), py::arg("stage"), py::arg("theta_scale") = 1.0, py::arg("parameter") = "none",
        py::arg("nagq") = 1, py::arg("beta_base") = Eigen::VectorXd(), py::arg("beta_scale") = Eigen::VectorXd(),
        py::arg("bounds") = Bounds(), py::keep_alive<0, 1>());
    m.def(
        "partitioned_glmm_objective",
        [glmm_objective](PartitionedGlmm& model, const std::string& stage, double theta_scale,
                         const std::string& parameter, int nagq, const Eigen::VectorXd& beta_base,
                         const Eigen::VectorXd& beta_scale, Bounds bounds) {
            return glmm_objective(model, stage, theta_scale, parameter, nagq, beta_base, beta_scale, std::move(bounds));
        },
        py::arg("model"), py::arg("stage"), py::arg("theta_scale") = 1.0, py::arg("parameter") = "none",
        py::arg("nagq") = 1, py::arg("beta_base") = Eigen::VectorXd(), py::arg("beta_scale") = Eigen::VectorXd(),
        py::arg("bounds") = Bounds(), py::keep_alive<0, 1>());
    // A Python function as an engine Objective (same counting, failure
    // penalty, reset and best point as the models' objectives).  The engine
    // calls it with the GIL released, so it takes the GIL back; a Python
    // PirlsError becomes the engine's, the Objective's failure path.
    m.def(
        "function_objective",
        [pirls_error = py::object(m.attr("PirlsError"))](py::function f, int dim, py::object reset,
                                                          py::object gradient) {
            // A Python call with the GIL taken back, its result cast under it; its
            // PirlsError becomes the engine's.
            auto call = [pirls_error](const py::object& fun, auto&&... args) {
                py::gil_scoped_acquire gil;
                try {
                    return fun(std::forward<decltype(args)>(args)...);
                } catch (py::error_already_set& e) {
                    if (e.matches(pirls_error)) throw PirlsError(py::str(e.value()).cast<std::string>());
                    throw;
                }
            };
            auto eval = [f, call](const Eigen::VectorXd& x) -> double {
                py::gil_scoped_acquire gil;  // held while the result lives
                return call(f, x).template cast<double>();
            };
            std::function<void()> undo;
            if (!reset.is_none())
                undo = [reset] {
                    py::gil_scoped_acquire gil;
                    reset();
                };
            std::function<Eigen::VectorXd()> grad;
            if (!gradient.is_none())
                grad = [gradient, call]() -> Eigen::VectorXd {
                    py::gil_scoped_acquire gil;
                    return call(gradient).template cast<Eigen::VectorXd>();
                };
            return NloptObjective(Objective::function(dim, std::move(eval), std::move(undo), std::move(grad)));
        },
        py::arg("fun"), py::arg("dim"), py::arg("reset") = py::none(), py::arg("gradient") = py::none());
    m.def(
        "lmm_objective",
        [](const py::object& model, bool reml) {  // an LmmModel, or a CrossProductLmm (bind_partitioned.cpp)
            if (py::isinstance<CrossProductLmm>(model))
                return NloptObjective(Objective::lmm(model.cast<CrossProductLmm&>(), reml));
            return NloptObjective(Objective::lmm(static_cast<CrossProductLmm&>(model.cast<LmmModel&>()), reml));
        },
        py::arg("model"), py::arg("reml"), py::keep_alive<0, 1>());
}

}  // namespace glmmfast::python
