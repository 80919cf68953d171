// bind_lapack.cpp — hands the engine scipy's LAPACK/BLAS (dense_lapack.hpp):
// the function pointers scipy.linalg.cython_lapack / cython_blas export as
// PyCapsules, fetched once at import; without scipy's capsules the table
// stays empty and the Eigen kernels run.  Also OpenBLAS's per-thread count
// from the loaded library that implements them, the switch tests use to
// force the Eigen path, and the kernels' thread count.
#if defined(__linux__)
#include <dlfcn.h>
#include <link.h>
#endif

#include <stdexcept>
#include <string>
#include <vector>

#include "linalg/dense_lapack.hpp"
#include "python/translate.hpp"

namespace glmmfast::python {

namespace {

// The pointer in capsule `name` of module `module`'s __pyx_capi__, or null.
void* capsule_pointer(const char* module, const char* name) {
    try {
        py::dict capi = py::module_::import(module).attr("__pyx_capi__");
        if (!capi.contains(name)) return nullptr;
        py::object cap = capi[name];
        void* p = PyCapsule_GetPointer(cap.ptr(), PyCapsule_GetName(cap.ptr()));
        if (!p) PyErr_Clear();
        return p;
    } catch (const py::error_already_set&) {
        return nullptr;
    }
}

// openblas_set_num_threads_local from the loaded OpenBLAS that exports the
// 32-bit-int dpotrf (scipy's wheel names it scipy_dpotrf_, a system build
// dpotrf_; numpy's 64-bit-int copy has neither), or null.  Found through
// the dynamic loader's list of loaded objects (dl_iterate_phdr, Linux);
// elsewhere null: OpenBLAS's global thread count applies.
DenseLapack::SetThreads openblas_thread_setter() {
#if defined(__linux__)
    std::vector<std::string> paths;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* out) {
            const std::string path = info->dlpi_name ? info->dlpi_name : "";
            if (path.find("openblas") != std::string::npos)
                static_cast<std::vector<std::string>*>(out)->push_back(path);
            return 0;
        },
        &paths);
    for (const std::string& path : paths) {
        void* lib = dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
        if (!lib) continue;
        void* set = dlsym(lib, "openblas_set_num_threads_local");
        const bool lp64 = dlsym(lib, "scipy_dpotrf_") || dlsym(lib, "dpotrf_");
        dlclose(lib);  // RTLD_NOLOAD took a reference to a library that stays loaded
        if (set && lp64) return reinterpret_cast<DenseLapack::SetThreads>(set);
    }
#endif
    return nullptr;
}

}  // namespace

void bind_lapack(py::module_& m) {
    DenseLapack& t = dense_lapack();
    t.dpotrf = reinterpret_cast<DenseLapack::Potrf>(capsule_pointer("scipy.linalg.cython_lapack", "dpotrf"));
    t.dpotri = reinterpret_cast<DenseLapack::Potri>(capsule_pointer("scipy.linalg.cython_lapack", "dpotri"));
    t.dtrsm = reinterpret_cast<DenseLapack::Trsm>(capsule_pointer("scipy.linalg.cython_blas", "dtrsm"));
    t.dsyrk = reinterpret_cast<DenseLapack::Syrk>(capsule_pointer("scipy.linalg.cython_blas", "dsyrk"));
    if (t.complete()) t.set_threads_local = openblas_thread_setter();
    m.def("dense_lapack_available", [] { return dense_lapack().complete(); },
          "Whether scipy's LAPACK/BLAS kernels were found for the large dense blocks.");
    m.def(
        "set_dense_lapack",
        [](bool enabled, int min_size) {
            if (min_size < 0) throw std::invalid_argument("min_size must be non-negative");
            dense_lapack().enabled = enabled;
            dense_lapack().min_size = min_size;
        },
        py::arg("enabled"), py::arg("min_size") = DenseLapack{}.min_size,
        "Send dense blocks of at least min_size columns to LAPACK (enabled) or keep Eigen's kernels "
        "for all (tests compare the two).");
    m.def(
        "set_dense_lapack_threads",
        [](int threads) {
            if (threads < 0) throw std::invalid_argument("threads must be non-negative");
            const int previous = dense_lapack().threads;
            dense_lapack().threads = threads;
            return previous;
        },
        py::arg("threads"),
        "OpenBLAS threads for the dense kernels (1 by default; 0: OpenBLAS's own count, its pool as "
        "OPENBLAS_NUM_THREADS or threadpoolctl left it); returns the previous setting.");
}

}  // namespace glmmfast::python
