"""The documentation cannot rot: every example in it runs here.

- doctests of every glmmfast module (the numpydoc ``Examples`` sections);
- the fenced blocks of README.md and docs/*.md: each ```python block is executed
  (one namespace per file, in a temporary directory); when a ```text block follows
  it, the block's printed output must equal that text (``...`` matches anything, as
  in doctest).  Each ```console block's ``$ glmmfast ...`` commands run through
  :func:`glmmfast.cli.main` and their output must equal the lines under them.
  every shell command shown (```bash blocks, and commands in inline code outside
  tables) is classified in SHELL_COMMANDS and runs as written after the set-up
  (the slow ones under ``-m slow``; installs are what CI's .ci/run does);
- docs/api.md is what ``python docs/build.py`` generates from the docstrings now.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import os
import pkgutil
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import glmmfast
from conftest import _same_at_printed_precision
from glmmfast import cli

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOC_FILES = [p for p in DOC_FILES if p.name != "api.md"]  # generated; its examples are the doctests
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
_CHECKER = doctest.OutputChecker()


@pytest.fixture(autouse=True)
def headless(monkeypatch, tmp_path):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    monkeypatch.chdir(tmp_path)
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


def fenced_blocks(text: str) -> list[tuple[str, str, int]]:
    """(language, body, line number) of each fenced block, in order."""
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def _same(expected: str, got: str) -> bool:
    """Doctest-equal (with ELLIPSIS), or line by line equal with numbers
    allowed one unit apart in the last printed digit: the optimiser's last
    digits may differ between machines, the layout may not."""
    want = "\n".join(ln.rstrip() for ln in expected.strip("\n").splitlines()) + "\n"
    have = "\n".join(ln.rstrip() for ln in got.strip("\n").splitlines()) + "\n"
    if _CHECKER.check_output(want, have, doctest.ELLIPSIS):
        return True
    a, b = want.splitlines(), have.splitlines()
    return len(a) == len(b) and all(_same_at_printed_precision(y, x) for x, y in zip(a, b))


def run_python_blocks(path: Path) -> list[tuple[int, str, str | None]]:
    """Execute a file's python blocks; (line, printed output, expected output or None) for each."""
    blocks = fenced_blocks(path.read_text())
    namespace: dict = {"__name__": f"doc:{path.name}"}
    results = []
    for i, (lang, body, line) in enumerate(blocks):
        if lang != "python":
            continue
        expected = blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == "text" else None
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(body, f"{path.name}:{line}", "exec"), namespace)
        results.append((line, out.getvalue(), expected))
    return results


def console_commands(path: Path) -> list[tuple[int, list[str], str]]:
    """(line, argv, expected output) of each ``$ glmmfast`` command in the file's console blocks."""
    cmds = []
    for lang, body, line in fenced_blocks(path.read_text()):
        if lang != "console":
            continue
        current = None
        for ln in body.splitlines():
            if ln.startswith("$ "):
                argv = shlex.split(ln[2:])
                assert argv[0] == "glmmfast", f"{path.name}:{line}: console blocks may only run glmmfast"
                current = [line, argv[1:], []]
                cmds.append(current)
            elif current is not None:
                current[2].append(ln)
    return [(ln, argv, "\n".join(out)) for ln, argv, out in cmds]


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_python_examples_run_and_print_what_the_doc_shows(path):
    results = run_python_blocks(path)
    if path.name != "README.md":
        assert results, f"{path.name} has no python examples"
    for line, got, expected in results:
        if expected is not None:
            assert _same(expected, got), f"{path.name}:{line}: output differs\n--- doc\n{expected}\n--- got\n{got}"


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_console_examples(path, capsys):
    for line, argv, expected in console_commands(path):
        status = cli.main(argv)
        got = capsys.readouterr().out
        assert status == 0, f"{path.name}:{line}: glmmfast {' '.join(argv)} exited {status}"
        assert _same(expected, got), f"{path.name}:{line}: output differs\n--- doc\n{expected}\n--- got\n{got}"


def _modules():
    return ["glmmfast"] + [m.name for m in pkgutil.walk_packages(glmmfast.__path__, "glmmfast.")
                           if m.name.rsplit(".", 1)[-1] not in ("_core", "__main__")]


@pytest.mark.parametrize("name", _modules())
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def test_api_reference_is_current():
    """docs/api.md equals what docs/build.py makes from today's docstrings (rebuild: python docs/build.py)."""
    # The same glmmfast this test imported (the installed one in CI, the source tree in development).
    pkg_parent = str(Path(glmmfast.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([pkg_parent, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "build.py"), "--stdout"], capture_output=True,
                       text=True, env=env, check=True)
    assert r.stdout == (ROOT / "docs" / "api.md").read_text(), "docs/api.md is stale: run python docs/build.py"


def test_face_functions_are_fully_documented():
    """The command-line and plotting API documents parameters, returns and an example."""
    from glmmfast import plots
    funcs = [getattr(plots, n) for n in plots.__all__] + [cli.main, cli.read_data, cli.fit_document,
                                                         glmmfast.dispersion_check]
    for f in funcs:
        doc = f.__doc__ or ""
        for section in ("Parameters\n", "Returns\n", "Examples\n"):
            assert section in doc, f"{f.__module__}.{f.__name__} lacks a {section.strip()} section"


# -- shell commands ------------------------------------------------------------------
# Every shell command README.md and docs/ show, and how this test treats it.  A command
# the docs show but this table does not know fails test_every_shell_command_is_known.
SETUP, INSTALL, SUITE, FAST, SLOW, LONG = "setup", "install", "suite", "fast", "slow", "long"
SHELL_COMMANDS = {
    "python3 -m pip install .": SETUP,  # the README's set-up commands: .ci/run runs them
    'python3 -m pip install ".[test]"': SETUP,
    "python3 -m pip install -v .": SETUP,  # the same, showing the compiler's progress
    ". .venv/bin/activate": SETUP,  # a shell builtin, before the set-up
    "python3 -m venv .venv": FAST,
    "python3 -m pytest tests -q": SUITE,  # this very run
    'python3 -m pip install ".[plot]"': INSTALL,  # extras: not installed from a test
    'python3 -m pip install ".[bench]"': INSTALL,
    "python3 examples/grouseticks.py": FAST,
    "python3 docs/build.py": FAST,
    "python3 -m glmmfast datasets": FAST,
    "glmmfast datasets": FAST,
    "glmmfast --version": FAST,
    "python3 -m pytest tests/test_glmer_families.py": SLOW,
    "python3 benchmarks/bench_bootstrap.py 1000": SLOW,
    "python3 benchmarks/bench_inference.py 3": SLOW,
    "python3 benchmarks/bench_dask_rows.py 20000 500 50": SLOW,
    "python3 benchmarks/bench_dask_rows.py 20000 500 50 --lmm": SLOW,
    "python3 benchmarks/bench_dask_rows.py 20000 500 50 --one-evaluation": SLOW,
    "python3 benchmarks/bench_dense_kernels.py 1000 40 3": SLOW,
    "python3 benchmarks/bench_fit_many.py --responses 1000": SLOW,
    "python3 benchmarks/bench_fit_many.py --responses 1000 --rounds 3": SLOW,
    "python3 benchmarks/run.py --quick": SLOW,
    # hours with R's lme4 on InstEval and 10^6 rows: only its options are checked
    "python3 benchmarks/run.py --out results.json --markdown results.md": LONG,
    # 10^7 rows, glmmfast alone: ~15 minutes and 5 GB on 2 cores
    "python3 benchmarks/run.py --problems sim_pois_1e7 --tools glmmfast --reps 1": LONG,
    # 10^6 rows in and out of a LocalCluster, and in memory: minutes on 2 cores
    "python3 benchmarks/bench_dask_rows.py 1000000 10000 1000 --lmm": LONG,
    "python3 benchmarks/bench_dask_rows.py 1000000 100000 1000 --one-evaluation": LONG,
    "python3 benchmarks/bench_dask_rows.py 1e7 1e5 1e4 --one-evaluation --no-memory --trace": LONG,
    "python3 benchmarks/bench_dask_rows.py 1e7 1e5 1e4 --trace --no-memory": LONG,
    # 20,000 fits twice: minutes on 2 cores
    "python3 benchmarks/bench_fit_many.py": LONG,
}
_INLINE = re.compile(r"`((?:python3?|pip|glmmfast|PYTHONPATH=\S*) [^`]*)`")


def shell_commands(path: Path) -> list[str]:
    """Commands in the file's bash blocks (split at &&, comments dropped) and in inline code
    outside fenced blocks and tables."""
    text = path.read_text()
    cmds = []
    for lang, body, _ in fenced_blocks(text):
        if lang in ("bash", "sh", "shell"):
            for line in body.splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip()
                cmds += [c.strip() for c in line.split("&&") if c.strip()]
    for line in FENCE.sub("", text).splitlines():
        if not line.lstrip().startswith("|"):
            cmds += [c.strip() for span in _INLINE.findall(line) for c in span.split("&&")]
            cmds += re.findall(r"&& (\. \S+)`", line)  # sourcing a venv's activate script
    return cmds


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    if argv[0] == "python3":
        return [sys.executable, *argv[1:]]
    if argv[0] == "glmmfast":  # the console script is `python -m glmmfast`
        return [sys.executable, "-m", "glmmfast", *argv[1:]]
    raise AssertionError(f"no way to run {command!r}")


def _run_shell(command: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    pkg_parent = str(Path(glmmfast.__file__).resolve().parent.parent)  # the glmmfast under test
    # R stays out of tests: the benchmark scripts compare with lme4 only when Rscript is on the PATH.
    path = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep) if not (Path(d) / "Rscript").exists())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([pkg_parent, os.environ.get("PYTHONPATH", "")]),
           "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_ADDOPTS": "-p no:cacheprovider", "MPLBACKEND": "Agg", "PATH": path}
    return subprocess.run(_argv(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _all_commands() -> list[str]:
    return sorted({c for p in DOC_FILES for c in shell_commands(p)})


def test_every_shell_command_is_known():
    unknown = [c for c in _all_commands() if c not in SHELL_COMMANDS]
    assert not unknown, f"commands shown in the docs but not classified in SHELL_COMMANDS: {unknown}"
    assert not [c for c in _all_commands() if "PYTHONPATH" in c], "commands must work after the set-up as written"


def test_setup_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = [body.strip() for lang, body, _ in fenced_blocks(readme) if lang == "bash"][:2]
    assert blocks == ["python3 -m pip install . && python3 examples/grouseticks.py",
                      'python3 -m pip install ".[test]" && python3 -m pytest tests -q']
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'python3 -m pip install ".[test]"' in ci and "\npython3 -m pytest tests -q\n" in ci
    extras = (ROOT / "pyproject.toml").read_text()
    for cmd, kind in SHELL_COMMANDS.items():
        if kind == INSTALL:
            assert f"\n{cmd.split('[')[1].split(']')[0]} = [" in extras, cmd


def _fast_and_slow(kind):
    return [c for c in _all_commands() if SHELL_COMMANDS.get(c) == kind]


def _check_runs(command: str, tmp_path: Path, timeout: float) -> None:
    if command == "python3 docs/build.py":  # writes docs/api.md: run on a copy, compare
        (tmp_path / "docs").mkdir()
        (tmp_path / "docs" / "build.py").write_text((ROOT / "docs" / "build.py").read_text())
        r = _run_shell(command, tmp_path, timeout)
        assert r.returncode == 0, r.stderr[-2000:]
        assert (tmp_path / "docs" / "api.md").read_text() == (ROOT / "docs" / "api.md").read_text()
        return
    if command.startswith("python3 -m venv"):  # creates .venv where it runs: a scratch directory
        r = _run_shell(command, tmp_path, timeout)
        assert r.returncode == 0 and (tmp_path / ".venv" / "bin" / "activate").is_file(), r.stderr[-2000:]
        return
    r = _run_shell(command, ROOT, timeout)
    assert r.returncode == 0, f"{command} exited {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    assert r.stdout.strip(), f"{command} printed nothing"


@pytest.mark.parametrize("command", _fast_and_slow(FAST))
def test_shell_command_runs(command, tmp_path):
    _check_runs(command, tmp_path, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("command", _fast_and_slow(SLOW))
def test_slow_shell_command_runs(command, tmp_path):
    _check_runs(command, tmp_path, timeout=1800)


@pytest.mark.parametrize("command", _fast_and_slow(LONG))
def test_long_shell_command_accepts_its_options(command):
    r = _run_shell(command + " --help", ROOT, timeout=120)
    assert r.returncode == 0 and "usage:" in r.stdout, r.stderr[-2000:]


def test_every_documented_entry_has_an_example():
    """Every function, class and public method (inherited ones included) in the API reference
    has a runnable Examples section (they run as the doctests above)."""
    pkg_parent = str(Path(glmmfast.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([pkg_parent, os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "build.py"), "--check"], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0, r.stdout
    api = (ROOT / "docs" / "api.md").read_text()
    for inherited in ("predict", "ranef", "coef", "fitted", "residuals", "ranef_frame", "summary"):
        assert f"### `glmmfast.LmerResult.{inherited}`" in api and f"### `glmmfast.GlmerResult.{inherited}`" in api
    assert "_predict" not in api.split("### `glmmfast.GlmerResult.predict`")[1].split("\n### ")[0]
