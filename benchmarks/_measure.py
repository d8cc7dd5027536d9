"""Run a command as a child process and report its wall time and peak RSS (from wait4)."""

from __future__ import annotations

import os
import subprocess
import time


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall and CPU seconds and peak resident memory (MiB) of one child process, its exit code too."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "rc": proc.returncode, "stderr": err[-400:]}


def demo_checkpoint_built_apart() -> "Path":
    """The cached demo checkpoint, built (when missing) by a child process: a child forked later from
    a process that built it in memory would start with that resident set, and wait4's peak RSS (the
    maximum over the process's life, fork included) would report it for every command measured."""
    import sys
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", "from f5lab.synthetic.demo import demo_checkpoint; "
                          "print(demo_checkpoint())"], capture_output=True, text=True, check=True).stdout
    return Path(out.strip().splitlines()[-1])
