#!/usr/bin/env bash
# Sanitizer job: build the C++ extension with AddressSanitizer and UBSan
# (CMake option GLMMFAST_SANITIZE) into build/asan, then run the engine fuzz,
# gradient, family and covariance-structure tests against it with libasan
# preloaded into Python.  Leak detection is
# off because CPython's allocator never frees some memory by design.
# Usage: .ci/sanitize.sh   (needs cmake, ninja or make, a C++17 gcc/clang,
# and the test extra installed: python3 -m pip install ".[test]")
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build/asan
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLMMFAST_SANITIZE=ON \
  -Dpybind11_DIR="$(python3 -c 'import pybind11; print(pybind11.get_cmake_dir())')" >/dev/null
cmake --build "$build" -j "${SANITIZE_JOBS:-2}"
# A package tree whose _core is the sanitized build, so the tests import it.
pkg=$build/pkg
rm -rf "$pkg" && mkdir -p "$pkg"
cp -r python/glmmfast "$pkg/"
rm -f "$pkg"/glmmfast/_core*.so
cp "$build"/_core*.so "$pkg/glmmfast/"
asan=$(${CXX:-c++} -print-file-name=libasan.so)
ubsan=$(${CXX:-c++} -print-file-name=libubsan.so)
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
cd "$pkg"   # keep the source tree's glmmfast off sys.path
LD_PRELOAD="$asan $ubsan" PYTHONPATH="$pkg" python3 -m pytest -q -p no:cacheprovider \
  "$root/tests/test_engine_fuzz.py" "$root/tests/test_design.py" "$root/tests/test_laplace_gradient.py" \
  "$root/tests/test_lmm_gradient.py" "$root/tests/test_family_extremes.py" "$root/tests/test_cancel.py" \
  "$root/tests/test_distributions.py" "$root/tests/test_covariance.py" "$@"
