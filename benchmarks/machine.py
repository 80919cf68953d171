"""What the benchmark ran on: CPU, cores, RAM, load, OS and software versions.

Interface: machine_info() -> dict (JSON-serialisable); load_average() -> str.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

__all__ = ["machine_info", "load_average"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return None


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(Path(__file__).parent), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _r_version() -> str | None:
    try:
        r = subprocess.run(["Rscript", "-e", "cat(R.version.string)"], capture_output=True, text=True, timeout=60)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict:
    import numpy
    import pandas

    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "git": _git_commit(),
        "R": _r_version(),
        "load_at_start": load_average(),
    }
    try:
        import glmmfast

        info["glmmfast"] = glmmfast.__version__
        # The commit above says what was measured only if the package
        # imported is this checkout's (PYTHONPATH=python, or installed from it
        # since the last change): the location makes a stale install visible.
        info["glmmfast_from"] = str(Path(glmmfast.__file__).resolve().parent)
    except ImportError:
        info["glmmfast"] = None
    return info
