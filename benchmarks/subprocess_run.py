"""Run one tool in a child process with a timeout and read its peak RSS.

Interface
---------
run_json(cmd, timeout) -> dict : the child's last stdout line parsed as JSON, plus
    ``peak_rss_mb`` (ru_maxrss of the child and its descendants, from os.wait4),
    ``wall`` seconds; ``{"timeout": True}`` when killed after ``timeout`` seconds,
    ``{"error": ...}`` when it crashed or printed no JSON.

Peak RSS is that of the whole child process (interpreter, data and fit), so
it is an upper bound on what the fit itself needs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time

__all__ = ["run_json"]


def run_json(cmd: list[str], timeout: float) -> dict:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True)
        status, usage, timed_out = None, None, False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # the child's own session: R and its helpers
                _, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped; keep Popen quiet
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    res: dict = {"peak_rss_mb": usage.ru_maxrss / 1024.0, "wall": wall}
    if timed_out:
        res["timeout"] = True
        return res
    lines = [ln for ln in stdout.splitlines() if ln.strip().startswith("{")]
    if not lines:
        res["error"] = f"exit {proc.returncode}, no result: {stderr.strip()[-400:]}"
        return res
    res.update(json.loads(lines[-1]))
    return res
