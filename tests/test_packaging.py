"""What a user installs: licence and third-party notices in the sdist and the wheel,
type information (py.typed, a complete _core.pyi), and an import that stays light."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import glmmfast
from glmmfast import _core

ROOT = Path(__file__).resolve().parent.parent
NOTICES = ["LICENSE", "THIRD_PARTY_NOTICES.md", "COPYING.MPL2", "COPYING.LGPL", "COPYING.BSD"]


def test_licence_and_notices_exist_and_name_what_is_compiled_in():
    assert "MIT License" in (ROOT / "LICENSE").read_text() and "Copyright (c)" in (ROOT / "LICENSE").read_text()
    notices = (ROOT / "THIRD_PARTY_NOTICES.md").read_text()
    for needle in ("Eigen 3.4.0", "Mozilla Public License 2.0", "pybind11", "BSD-3-Clause"):
        assert needle in notices
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")


def test_package_ships_type_information():
    pkg = Path(glmmfast.__file__).parent
    assert (pkg / "py.typed").is_file()
    stub = ast.parse((pkg / "_core.pyi").read_text())
    declared = {n.name: n for n in stub.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    public = [n for n in dir(_core) if not n.startswith("_")]
    assert sorted(declared) == sorted(public), "_core.pyi out of date with the extension"
    for name, node in declared.items():
        if isinstance(node, ast.ClassDef):
            members = {m.name for m in node.body if isinstance(m, ast.FunctionDef)}
            wanted = {m for m in vars(getattr(_core, name)) if not m.startswith("_")}
            assert wanted <= members, f"_core.pyi lacks {sorted(wanted - members)} of {name}"


def _import_seconds() -> tuple[float, float, list[str]]:
    """In a fresh interpreter: seconds for `import numpy, pandas`, seconds `import glmmfast`
    takes beyond them, and which heavy modules that import pulled in."""
    r = subprocess.run([sys.executable, "-c", _MEASURE], capture_output=True, text=True, check=True)
    return tuple(json.loads(r.stdout))


_MEASURE = """
import json, sys, time
t0 = time.perf_counter()
import numpy, pandas
t1 = time.perf_counter()
import glmmfast
t2 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, sorted(m for m in ("scipy.stats", "matplotlib", "glmmfast.plots")
                                           if m in sys.modules)]))
"""


def test_import_is_light():
    # Deterministic part: nothing heavy is imported until it is used.
    runs = [_import_seconds() for _ in range(5)]
    assert runs[0][2] == []



def test_plots_still_load_on_first_use():
    code = "import glmmfast, sys; f = glmmfast.plots.caterpillar; print('scipy.stats' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "True"
    from glmmfast import plots
    assert plots.__name__ == "glmmfast.plots"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        glmmfast.nope


def _build_tools():
    if importlib.util.find_spec("scikit_build_core") is None:
        pytest.skip("scikit-build-core is not installed (pip install '.[test]' installs it)")


def test_sdist_contains_licence_notices_and_eigen(tmp_path, monkeypatch):
    _build_tools()
    from scikit_build_core.build import build_sdist
    monkeypatch.chdir(ROOT)
    name = build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / name) as tar:
        names = tar.getnames()
    for wanted in NOTICES:
        assert any(n.endswith("/" + wanted) for n in names), f"sdist lacks {wanted}"
    assert any(n.endswith("cpp/third_party/eigen/Eigen/Core") for n in names)
    assert not any(n.endswith(".so") for n in names)


@pytest.mark.slow
def test_wheel_contains_licence_notices_and_types(tmp_path):
    """Builds the wheel (in the project's stable build directory: seconds when `pip install .`
    has built there before, a first build of the C++ otherwise)."""
    _build_tools()
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                        "-w", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (wheel,) = tmp_path.glob("glmmfast-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    licences = [n for n in names if ".dist-info/licenses/" in n]
    for wanted in NOTICES:
        assert any(n.endswith("/" + wanted) for n in licences), f"wheel lacks {wanted}"
    assert "glmmfast/py.typed" in names and "glmmfast/_core.pyi" in names
    assert any(n.startswith("glmmfast/_core") and n.endswith((".so", ".pyd")) for n in names)
    for field in ("Author: The glmmfast developers", "Classifier: Programming Language :: Python :: 3.13",
                  "Project-URL: Source", "Requires-Python: >=3.9"):
        assert field in metadata
