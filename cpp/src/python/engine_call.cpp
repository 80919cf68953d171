// engine_call.cpp — Ctrl-C and cancelled jobs reach the engine (interrupt.hpp):
// EngineCall, the CancelFlag class and the translation of Interrupted back
// into the Python exception that caused it.
#include "python/translate.hpp"

namespace glmmfast::python {

// ---- interruption -------------------------------------------------------
// Signals reach Python only on the main thread (PyErr_CheckSignals does
// nothing elsewhere), so only there does an engine call take the GIL, at
// the InterruptScope's rate, to run Python's signal handlers; other
// threads obey the CancelFlag bound to them (`with flag:`), which whoever
// runs them sets.  No engine thread other than the caller's ever touches
// Python (parallel_for's helpers only follow the scope).

namespace {
unsigned long main_thread_ident = 0;  // set at import (module.cpp)
}  // namespace

void set_main_thread(unsigned long ident) { main_thread_ident = ident; }

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
namespace {
std::optional<py::error_already_set>& pending_error() {
    thread_local std::optional<py::error_already_set> error;
    return error;
}
}  // namespace

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

EngineCall::EngineCall()
    : scope_(bound_flag(), on_main_thread() ? std::function<bool()>(python_signal_raised) : nullptr) {
    if (on_main_thread() && PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (const CancelFlag* flag = bound_flag(); flag && flag->cancelled()) throw Interrupted();
    release_.emplace();
}

void bind_interrupt(py::module_& m) {
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
}

}  // namespace glmmfast::python
